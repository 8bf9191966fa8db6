"""Editing a "what went wrong" item or a lesson of a draft: a refused edit comes back with the
text the person typed, not the saved one."""

import pytest
from django.urls import reverse

from engagements.postmortems import services

pytestmark = pytest.mark.django_db

PANEL = {"HX-Request": "true"}


@pytest.mark.parametrize("headers", [PANEL, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize("kind", ["failure", "lesson"])
def test_a_refused_item_edit_keeps_what_was_typed(manager, postmortem, kind, headers):
    add = services.add_failure if kind == "failure" else services.add_lesson
    item = add(postmortem=postmortem, text="Saved text.", category="wrong_vendor")
    url = reverse(f"engagements:{kind}_update", args=[item.pk])
    typed = "A long rewrite " + "x" * 2000  # past the 2000-character limit
    region = {"failure": "pm-failures", "lesson": "pm-lessons"}[kind]
    data = {"text": typed, "category": "held_on", "tags": "scope, money"}

    response = manager.client().post(
        url, data, headers=headers | ({"HX-Target": region} if headers else {})
    )

    assert response.status_code == (200 if headers else 422)
    assert "Ensure this value has at most 2000 characters" in response.text
    start = response.text.index(f'id="{kind}-text-{item.pk}"')
    textarea = response.text[start : response.text.index("</textarea>", start)]
    assert typed in textarea and "Saved text." not in textarea
    assert '<option value="held_on" selected>' in response.text[start:]
    item.refresh_from_db()
    assert item.text == "Saved text."
