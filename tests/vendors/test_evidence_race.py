"""Two people edit the same evidence entry: the one who saves second loses the race, but not
what they typed. They see the version saved meanwhile beside their own, and can save again."""

import pytest
from django.urls import reverse

from tests.factories import EvidenceFactory, VendorFactory
from tests.html_forms import form_values
from vendors import services
from vendors.models import Evidence

pytestmark = pytest.mark.django_db


def _saved_section(html: str) -> str:
    start = html.index('id="evidence-saved-version"')
    return html[start : html.index("</section>", start)]


def _edit(member, evidence, **changes) -> dict:
    """What a person has in the edit form after opening it and typing ``changes``."""
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    values = form_values(member.client().get(url).text, has="summary")
    values.pop("csrfmiddlewaretoken", None)
    return values | changes


def test_the_loser_of_an_evidence_edit_race_sees_both_versions_and_keeps_their_text(manager, owner):
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="First call notes")
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    # Both open the edit form on version 1; the owner saves first.
    mine = _edit(manager, evidence, summary="Called twice: slow answers.", score_expertise="2")
    theirs = _edit(owner, evidence, summary="Owner's rewrite of the notes.", score_fit="5")
    assert owner.client().post(url, theirs).status_code == 302

    lost = manager.client().post(url, mine)

    assert lost.status_code == 422
    assert "Someone else changed this entry" in lost.text
    saved = _saved_section(lost.text)
    assert "Saved now (version 2)" in saved and "Owner&#x27;s rewrite of the notes." in saved
    assert "fit 5/5" in saved
    assert "Your version (not saved)" in lost.text
    typed = form_values(lost.text, has="summary")
    assert typed["summary"] == "Called twice: slow answers."
    assert typed["score_expertise"] == "2"
    assert typed["version"] == "2"  # re-based: saving again is a deliberate overwrite
    evidence.refresh_from_db()
    assert (evidence.summary, evidence.version) == ("Owner's rewrite of the notes.", 2)

    # The manager reads both, keeps their text and saves again: it goes through.
    again = manager.client().post(url, typed)
    assert again.status_code == 302
    evidence.refresh_from_db()
    assert (evidence.summary, evidence.score_expertise, evidence.version) == (
        "Called twice: slow answers.",
        2,
        3,
    )
    assert evidence.revisions.count() == 2  # both earlier versions are kept


def test_an_edit_of_evidence_deleted_meanwhile_keeps_the_text_to_copy_elsewhere(
    manager, owner, monkeypatch
):
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="Old notes")
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    mine = _edit(manager, evidence, summary="My long careful write-up.")
    real = services.update_evidence

    def deleted_first(**kwargs):
        services.delete_evidence(evidence=evidence, by=owner.user)
        return real(**kwargs)

    monkeypatch.setattr(services, "update_evidence", deleted_first)
    lost = manager.client().post(url, mine)
    assert lost.status_code == 422
    assert "The entry was deleted meanwhile" in lost.text
    assert form_values(lost.text, has="summary")["summary"] == "My long careful write-up."
    assert Evidence.unscoped.get(pk=evidence.pk).summary == "Old notes"


def test_a_race_lost_inside_the_service_also_keeps_the_typed_text(manager, monkeypatch):
    """The version check passes in the view, but another save lands before ours commits."""
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="Before")
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    mine = _edit(manager, evidence, summary="My text that must survive.")
    real = services.update_evidence

    def someone_else_first(**kwargs):
        Evidence.unscoped.filter(pk=evidence.pk).update(summary="Sneaked in", version=2)
        return real(**kwargs)

    monkeypatch.setattr(services, "update_evidence", someone_else_first)
    lost = manager.client().post(url, mine)
    assert lost.status_code == 422
    assert "Sneaked in" in _saved_section(lost.text)
    assert form_values(lost.text, has="summary")["summary"] == "My text that must survive."
