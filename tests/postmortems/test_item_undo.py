"""Removing a "what went wrong" item or a lesson from a draft confirms first and can be
undone: the item comes back in its place."""

import pytest
from django.urls import reverse

from engagements.models import FailureItem, Lesson
from engagements.postmortems import services

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true", "HX-Target": "pm-failures"}


@pytest.fixture
def items(postmortem):
    return [
        services.add_failure(postmortem=postmortem, text=text, category="poor_needs")
        for text in ("A", "B", "C")
    ]


def test_removing_an_item_asks_first(manager, items):
    response = manager.client().post(reverse("engagements:failure_delete", args=[items[1].pk]))
    assert response.status_code == 200
    assert "Remove “B”?" in response.text and 'name="confirm" value="yes"' in response.text
    assert FailureItem.objects.count() == 3


def test_an_item_removed_is_restored_in_its_place_by_undo(manager, postmortem, items):
    client = manager.client()
    removed = client.post(
        reverse("engagements:failure_delete", args=[items[1].pk]), {"confirm": "yes"}, headers=HX
    )
    assert "Removed: “B”" in removed.text and ">Undo</button>" in removed.text
    assert list(FailureItem.objects.values_list("text", flat=True)) == ["A", "C"]
    undo = {"kind": "failure", "text": "B", "category": "poor_needs", "tags": "", "position": 2}
    client.post(reverse("engagements:item_restore", args=[postmortem.pk]), undo, headers=HX)
    assert list(FailureItem.objects.values_list("text", flat=True)) == ["A", "B", "C"]


def test_undo_works_without_script_too(manager, postmortem, items):
    client = manager.client()
    page = client.post(
        reverse("engagements:failure_delete", args=[items[0].pk]), {"confirm": "yes"}
    )
    assert page.status_code == 200 and "<html" in page.text  # the page with the undo button
    assert 'name="text" value="A"' in page.text
    undo = {"kind": "failure", "text": "A", "category": "poor_needs", "tags": "", "position": 1}
    response = client.post(reverse("engagements:item_restore", args=[postmortem.pk]), undo)
    assert response.status_code == 302
    assert list(FailureItem.objects.values_list("text", flat=True)) == ["A", "B", "C"]


def test_a_lesson_comes_back_with_its_tags(manager, postmortem):
    lesson = services.add_lesson(
        postmortem=postmortem, text="Ask for references.", category="wrong_vendor", tags="vetting"
    )
    removed = services.delete_item(item=lesson)
    services.restore_item(postmortem=postmortem, **removed)
    assert Lesson.objects.get().tags == "vetting"


def test_nothing_is_restored_into_a_published_post_mortem(owner, postmortem, items):
    removed = services.delete_item(item=items[0])
    services.add_lesson(postmortem=postmortem, text="Check.", category="poor_needs")
    services.publish_postmortem(postmortem=postmortem, by=owner.user)
    with pytest.raises(Exception, match="published"):
        services.restore_item(postmortem=postmortem, **removed)


def test_a_viewer_cannot_undo(viewer, postmortem):
    undo = {"kind": "failure", "text": "A", "category": "poor_needs", "position": 1}
    response = viewer.client().post(reverse("engagements:item_restore", args=[postmortem.pk]), undo)
    assert response.status_code == 403
