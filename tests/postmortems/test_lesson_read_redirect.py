"""Marking a lesson read without JavaScript brings the reader back to the list they came from,
and never to another site, whatever a crafted link puts in ``next``."""

import pytest
from django.urls import reverse

from engagements.models import LessonRead

from .conftest import published_lesson

pytestmark = pytest.mark.django_db

ELSEWHERE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    "/\t/evil.example",
    " //evil.example",
    "/lessons/\r\nSet-Cookie: x=1",
    "https://testserver.evil.example/",
]


@pytest.mark.parametrize("next_url", ELSEWHERE)
def test_marking_a_lesson_read_never_sends_the_reader_to_another_site(owner, viewer, next_url):
    lesson = published_lesson(owner.org, owner.user)
    response = viewer.client().post(
        reverse("engagements:lesson_read", args=[lesson.pk]), {"next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("engagements:lesson_list")
    assert LessonRead.objects.filter(lesson=lesson, user=viewer.user).exists()


def test_marking_a_lesson_read_returns_to_the_filtered_list_it_came_from(owner, viewer):
    lesson = published_lesson(owner.org, owner.user)
    back = reverse("engagements:lesson_list") + "?q=references&category=wrong_vendor"
    response = viewer.client().post(
        reverse("engagements:lesson_read", args=[lesson.pk]), {"next": back}
    )
    assert response["Location"] == back
