"""Lessons leave the app as CSV and post-mortems as Markdown: text someone typed stays text."""

import csv
import io
import re

import pytest
from django.urls import reverse

from engagements.models import Lesson
from engagements.postmortems import services

from .conftest import ended_engagement, published_lesson

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("text", ["\t=1+1 check it", "\r+cmd", " @SUM(A1)", "  -2+3"])
def test_a_lesson_that_is_a_formula_is_exported_as_text(owner, text):
    lesson = published_lesson(owner.org, owner.user, text="placeholder", tags="x")
    # The form strips what it saves; an import or the API may not: export what is stored.
    Lesson.objects.filter(pk=lesson.pk).update(text=text, tags=" =tag")
    response = owner.client().get(reverse("engagements:lesson_export"))
    header, row = list(csv.reader(io.StringIO(response.content.decode(), newline="")))
    record = dict(zip(header, row, strict=True))
    assert record["lesson"] == "'" + text
    assert record["tags"].startswith("'")


def test_the_markdown_export_shows_typed_markup_as_text(owner):
    engagement = ended_engagement(owner.org, title="# Redesign <img src=x onerror=alert(1)>")
    pm = services.open_postmortem(engagement=engagement)
    services.add_failure(
        postmortem=pm, text="[Invoice](javascript:alert(1))\n## not a heading", category="held_on"
    )
    services.add_lesson(postmortem=pm, text="**Always** check | twice", category="held_on")
    services.update_summary(postmortem=pm, outcome=pm.outcome, went_well="<script>x</script>")

    md = owner.client().get(reverse("engagements:postmortem_markdown", args=[pm.pk])).text

    assert md.startswith(r"# Post-mortem: # Redesign \<img src=x onerror=alert(1)\>" + "\n")
    assert r"\[Invoice\](javascript:alert(1)) ## not a heading" in md  # one line, no link
    assert r"**\*\*Always\*\* check \| twice**" in md
    assert r"\<script\>x\</script\>" in md
    assert not re.search(r"(?<!\\)<", md), "every < someone typed is escaped"
    assert not re.search(r"(?<!\\)\]\(", md), "no [text](url) link survives"
