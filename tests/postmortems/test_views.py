import csv
import io

import pytest
from django.urls import reverse

from engagements.models import (
    Alert,
    ChecklistItem,
    EngagementStatus,
    FailureItem,
    Lesson,
    LessonRead,
    PostMortem,
)
from engagements.postmortems import services
from tests.factories import EngagementFactory, VendorFactory
from vendors.models import VendorStatus

from .conftest import ended_engagement, published_lesson

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def htmx(target: str) -> dict:
    return {**HTMX, "HX-Target": target}


def test_terminating_from_the_cut_losses_alert_lands_on_the_prefilled_post_mortem(manager):
    engagement = EngagementFactory(org=manager.org)
    Alert.objects.create(org=manager.org, engagement=engagement, level="cut_losses")
    response = manager.client().post(
        reverse("engagements:engagement_terminate", args=[engagement.pk]),
        {"reason": "Nothing delivered for two months."},
    )
    pm = PostMortem.objects.get(engagement=engagement)
    assert response.status_code == 302
    assert response["Location"] == reverse("engagements:postmortem_detail", args=[pm.pk])
    page = manager.client().get(response["Location"])
    assert b"The facts" in page.content and b"Cut losses" in page.content


def test_adding_what_went_wrong_with_htmx_returns_only_the_list(manager, postmortem):
    response = manager.client().post(
        reverse("engagements:failure_create", args=[postmortem.pk]),
        {"text": "We held on a month too long.", "category": "held_on"},
        headers=htmx("pm-failures"),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="pm-failures"')
    assert "We held on a month too long." in body and "<html" not in body


def test_an_empty_lesson_is_refused_next_to_the_field(manager, postmortem):
    url = reverse("engagements:lesson_create", args=[postmortem.pk])
    response = manager.client().post(
        url, {"text": "", "category": "other"}, headers=htmx("pm-lessons")
    )
    assert response.status_code == 200 and b"field-error" in response.content
    assert manager.client().post(url, {"text": "", "category": "other"}).status_code == 422
    assert not Lesson.objects.exists()


def test_a_manager_cannot_publish_and_an_owner_can(owner, manager, postmortem):
    services.add_failure(postmortem=postmortem, text="x", category="other")
    services.add_lesson(postmortem=postmortem, text="Do y.", category="other")
    url = reverse("engagements:postmortem_publish", args=[postmortem.pk])
    assert manager.client().post(url).status_code == 403
    response = owner.client().post(url, headers=htmx("pm-header"))
    assert response.status_code == 200 and b"read-only" in response.content
    assert PostMortem.objects.get(pk=postmortem.pk).is_published


def test_publishing_a_cut_losses_post_mortem_with_nothing_learned_shows_why(owner, postmortem):
    response = owner.client().post(
        reverse("engagements:postmortem_publish", args=[postmortem.pk]), headers=htmx("pm-header")
    )
    assert response.status_code == 200 and b"always something to learn" in response.content
    assert not PostMortem.objects.get(pk=postmortem.pk).is_published


def test_editing_a_published_post_mortem_is_refused(owner, manager):
    lesson = published_lesson(owner.org, owner.user)
    response = manager.client().post(
        reverse("engagements:lesson_update", args=[lesson.pk]),
        {"text": "Rewritten history.", "category": "other"},
        headers=htmx("pm-lessons"),
    )
    assert response.status_code == 200 and b"read-only" in response.content
    assert Lesson.objects.get(pk=lesson.pk).text == "Check two references."


@pytest.mark.parametrize(
    "name", ["failure_create", "lesson_create", "postmortem_summary", "postmortem_refresh"]
)
def test_viewers_cannot_edit_a_post_mortem(viewer, postmortem, name):
    response = viewer.client().post(reverse(f"engagements:{name}", args=[postmortem.pk]), {})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "name",
    ["postmortem_detail", "postmortem_markdown", "failure_create", "postmortem_publish"],
)
def test_another_organizations_post_mortem_is_a_404(outsider, postmortem, name):
    client = outsider.client()
    assert client.get(reverse(f"engagements:{name}", args=[postmortem.pk])).status_code in (
        404,
        405,
    )
    assert client.post(reverse(f"engagements:{name}", args=[postmortem.pk])).status_code in (
        404,
        405,
    )
    assert (
        client.get(reverse("engagements:postmortem_detail", args=[postmortem.pk])).status_code
        == 404
    )


def test_wrong_methods_are_refused(manager, postmortem):
    client = manager.client()
    assert (
        client.get(reverse("engagements:failure_create", args=[postmortem.pk])).status_code == 405
    )
    assert (
        client.post(reverse("engagements:postmortem_detail", args=[postmortem.pk])).status_code
        == 405
    )
    assert client.post(reverse("engagements:lesson_list")).status_code == 405


def test_other_organizations_lessons_never_appear_not_even_in_counts(owner, outsider):
    published_lesson(owner.org, owner.user, text="Check two references before signing.")
    published_lesson(outsider.org, outsider.user, text="Check the references twice.")
    response = outsider.client().get(reverse("engagements:lesson_list"), {"q": "references"})
    assert b"Check the references twice." in response.content
    assert b"before signing" not in response.content
    assert response.context["total"] == 1
    csv_text = outsider.client().get(reverse("engagements:lesson_export")).content.decode()
    assert "before signing" not in csv_text


def test_lessons_filter_by_category_vendor_and_tag(owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    published_lesson(owner.org, owner.user, vendor=vendor, text="Ours.", tags="trial")
    published_lesson(owner.org, owner.user, text="Other.", category="neglected")
    client = owner.client()
    assert (
        client.get(reverse("engagements:lesson_list"), {"vendor": vendor.pk}).context["total"] == 1
    )
    assert client.get(reverse("engagements:lesson_list"), {"tag": "trial"}).context["total"] == 1
    assert (
        client.get(reverse("engagements:lesson_list"), {"category": "neglected"}).context["total"]
        == 1
    )


@pytest.mark.parametrize("n", [1, 15])
def test_the_lessons_list_has_a_flat_query_count(owner, n, django_assert_num_queries):
    for i in range(n):
        published_lesson(owner.org, owner.user, text=f"Lesson {i}.")
    client = owner.client()
    client.get(reverse("engagements:lesson_list"))
    # the same at 1 and at many lessons: auth and nav, count, newest, members, reads, page
    with django_assert_num_queries(9):
        client.get(reverse("engagements:lesson_list"))


@pytest.mark.parametrize("n", [1, 8])
def test_the_post_mortem_page_has_a_flat_query_count(owner, n, django_assert_num_queries):
    pm = services.open_postmortem(engagement=ended_engagement(owner.org))
    for i in range(n):
        services.add_failure(postmortem=pm, text=f"F{i}", category="other")
        services.add_lesson(postmortem=pm, text=f"L{i}.", category="other")
        services.add_comment(postmortem=pm, by=owner.user, text=f"C{i}")
    client = owner.client()
    client.get(reverse("engagements:postmortem_detail", args=[pm.pk]))
    # the same at 1 and at many items: auth and nav, post-mortem, each list once
    with django_assert_num_queries(8):
        client.get(reverse("engagements:postmortem_detail", args=[pm.pk]))


def test_a_viewer_marks_a_lesson_read_and_leaves_the_unread_list(owner, viewer):
    lesson = published_lesson(owner.org, owner.user)
    page = viewer.client().get(reverse("engagements:lesson_list"))
    assert viewer.user in [user for user, _ in page.context["behind"]]
    response = viewer.client().post(
        reverse("engagements:lesson_read", args=[lesson.pk]), headers=HTMX
    )
    assert response.status_code == 200 and b"read" in response.content
    assert LessonRead.objects.filter(lesson=lesson, user=viewer.user).exists()
    page = viewer.client().get(reverse("engagements:lesson_list"))
    assert viewer.user not in [user for user, _ in page.context["behind"]]


def test_the_vendor_page_panel_shows_the_vendors_lessons(owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    published_lesson(owner.org, owner.user, vendor=vendor, text="Ask for a paid trial.")
    page = owner.client().get(reverse("vendors:vendor_detail", args=[vendor.pk]))
    assert reverse("engagements:vendor_lessons", args=[vendor.pk]).encode() in page.content
    response = owner.client().get(
        reverse("engagements:vendor_lessons", args=[vendor.pk]), headers=htmx("vendor-lessons")
    )
    assert response.content.decode().lstrip().startswith('<div id="vendor-lessons"')
    assert b"Ask for a paid trial." in response.content and b"same vendor" in response.content


def test_the_set_up_page_shows_the_lessons_for_the_chosen_vendor(manager, owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    published_lesson(owner.org, owner.user, vendor=vendor, text="Ask for a paid trial.")
    response = manager.client().get(
        reverse("engagements:setup_lessons"), {"vendor": vendor.pk}, headers=htmx("setup-lessons")
    )
    assert b"Ask for a paid trial." in response.content
    assert b"<html" not in response.content


def test_a_lesson_becomes_a_checklist_item_toggled_in_place(manager, owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    lesson = published_lesson(owner.org, owner.user, vendor=vendor)
    draft = EngagementFactory(org=owner.org, vendor=vendor, status=EngagementStatus.DRAFT)
    client = manager.client()
    response = client.post(
        reverse("engagements:lesson_checklist", args=[draft.pk, lesson.pk]),
        headers=htmx("engagement-lessons"),
    )
    assert response.content.decode().lstrip().startswith('<section id="engagement-lessons"')
    item = ChecklistItem.objects.get(engagement=draft, lesson=lesson)
    client.post(
        reverse("engagements:checklist_toggle", args=[item.pk]),
        {"done": "on"},
        headers=htmx("engagement-lessons"),
    )
    assert ChecklistItem.objects.get(pk=item.pk).done
    client.post(reverse("engagements:checklist_toggle", args=[item.pk]), {"done": ""})
    assert not ChecklistItem.objects.get(pk=item.pk).done


def test_the_post_mortem_says_whether_we_followed_the_lessons_we_had(owner, manager):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    lesson = published_lesson(owner.org, owner.user, vendor=vendor, text="Check two references.")
    engagement = ended_engagement(owner.org, vendor=vendor)
    services.lesson_to_checklist(lesson=lesson, engagement=engagement, by=manager.user)
    pm = services.open_postmortem(engagement=engagement)
    page = owner.client().get(reverse("engagements:postmortem_detail", args=[pm.pk]))
    assert b"did not follow it" in page.content


def test_exports_markdown_and_csv(owner):
    lesson = published_lesson(owner.org, owner.user, text="=HYPERLINK(evil)")
    md = owner.client().get(reverse("engagements:postmortem_markdown", args=[lesson.postmortem_id]))
    assert md["Content-Type"].startswith("text/markdown")
    assert "## Lessons" in md.content.decode() and "=HYPERLINK(evil)" in md.content.decode()
    rows = list(
        csv.reader(
            io.StringIO(owner.client().get(reverse("engagements:lesson_export")).content.decode())
        )
    )
    assert rows[0][0] == "lesson" and rows[1][0] == "'=HYPERLINK(evil)"


def test_the_dashboard_to_do_and_the_patterns_page_render(owner):
    from django.utils import timezone

    ended_engagement(
        owner.org, ended_at=timezone.now() - timezone.timedelta(days=20), title="Old one"
    )
    due = owner.client().get(
        reverse("engagements:postmortems_due"), headers=htmx("postmortems-due")
    )
    assert b"Old one" in due.content
    assert b"postmortems-due" in owner.client().get(reverse("engagements:dashboard")).content
    published_lesson(owner.org, owner.user)
    patterns = owner.client().get(reverse("engagements:lesson_patterns"))
    assert patterns.status_code == 200 and b"<svg" in patterns.content
    assert b"style=" not in patterns.content.split(b"<svg", 1)[1].split(b"</svg>", 1)[0]


def test_failure_items_move_and_delete_in_place(manager, postmortem):
    a = services.add_failure(postmortem=postmortem, text="A", category="other")
    b = services.add_failure(postmortem=postmortem, text="B", category="other")
    client = manager.client()
    client.post(
        reverse("engagements:failure_move", args=[b.pk]),
        {"direction": "up"},
        headers=htmx("pm-failures"),
    )
    assert list(FailureItem.objects.values_list("text", flat=True)) == ["B", "A"]
    client.post(reverse("engagements:failure_delete", args=[a.pk]), {"confirm": "yes"})
    assert list(FailureItem.objects.values_list("text", flat=True)) == ["B"]
