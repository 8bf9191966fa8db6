"""Lessons search speaks the web-search syntax people type: a "quoted phrase" finds the
lesson that contains it, on PostgreSQL (full text, websearch) and on SQLite (substrings)."""

import pytest

from engagements.models import Lesson
from engagements.postmortems import services
from engagements.postmortems.models import websearch_terms
from tests.postmortems.conftest import published_lesson

pytestmark = pytest.mark.django_db


@pytest.fixture
def lessons(owner):
    return {
        "rejection": published_lesson(
            owner.org, owner.user, text="Stop paying after the second rejection of a deliverable."
        ),
        "scattered": published_lesson(
            owner.org, owner.user, text="A rejection on the second milestone is a warning."
        ),
        "trial": published_lesson(
            owner.org, owner.user, text="Run a paid trial before the second contract.", tags="trial"
        ),
        "cadence": published_lesson(
            owner.org, owner.user, text="Keep a weekly call.", tags="cadence"
        ),
    }


def found(q: str) -> set[str]:
    texts = {lesson.text for lesson in services.search_lessons(Lesson.objects.published(), q)}
    return texts


def test_a_quoted_phrase_finds_the_lesson_that_contains_it_and_not_the_words_apart(lessons):
    assert found('"second rejection"') == {lessons["rejection"].text}
    assert found("second rejection") == {lessons["rejection"].text, lessons["scattered"].text}


def test_minus_leaves_a_word_out_and_or_widens(lessons):
    assert found("second -trial") == {lessons["rejection"].text, lessons["scattered"].text}
    assert found('"second rejection" or cadence') == {
        lessons["rejection"].text,
        lessons["cadence"].text,
    }
    assert found("cadence") == {lessons["cadence"].text}  # a tag counts


def test_the_lessons_page_finds_a_quoted_phrase(owner, lessons):
    from django.urls import reverse

    page = owner.client().get(reverse("engagements:lesson_list"), {"q": '"second rejection"'})
    assert lessons["rejection"].text in page.text
    assert lessons["scattered"].text not in page.text


@pytest.mark.postgres
def test_on_postgresql_a_quoted_phrase_uses_full_text_search(postgres, lessons):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert found('"second rejection"') == {lessons["rejection"].text}
    assert "websearch_to_tsquery" in queries.captured_queries[-1]["sql"]
    assert found('"second rejections"') == {lessons["rejection"].text}  # stemmed, in order
    assert found('"rejection second"') == set()


def test_the_web_search_terms_are_read_like_postgresql_reads_them():
    assert websearch_terms('"second  rejection" -trial or cadence') == [
        [(False, "second rejection"), (True, "trial")],
        [(False, "cadence")],
    ]
    assert websearch_terms('-"paid trial" "unclosed') == [
        [(True, "paid trial"), (False, "unclosed")]
    ]
    assert websearch_terms('or "" -') == []
