"""PATCH and DELETE of milestones, spend and interactions call the services the engagement
page calls: the same refusals (409 naming the field), the same audit trail, and a request
the schema admits is never a 422."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import AuditEntry
from engagements.models import Interaction, Milestone, Source, SpendEntry
from outsourcing.validation import FUTURE_MESSAGE
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    SpendEntryFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagement(manager):
    return EngagementFactory(org=manager.org, owner=manager.user, currency="EUR")


def patch(client, url, data, headers):
    return client.patch(url, json.dumps(data), content_type="application/json", headers=headers)


def base(engagement) -> str:
    return f"/api/v1/engagements/{engagement.pk}"


def test_spend_is_corrected_by_patch_and_audited(client, engagement, write_token):
    entry = SpendEntryFactory(engagement=engagement, amount=Decimal("100"))
    response = patch(
        client, f"{base(engagement)}/spend/{entry.pk}", {"amount": "250.00"}, write_token
    )
    assert response.status_code == 200, response.content
    assert response.json()["amount"] == "250.00"
    assert response.json()["description"] == entry.description  # unsent fields stay
    audit = AuditEntry.objects.filter(object_pk=str(entry.pk), action=1).get()
    assert audit.changes["amount"] == ["100.00", "250.00"]


def test_future_dated_spend_is_refused_by_the_api_with_the_forms_words(
    client, engagement, write_token
):
    entry = SpendEntryFactory(engagement=engagement)
    next_month = (timezone.localdate() + dt.timedelta(days=31)).isoformat()
    response = patch(
        client, f"{base(engagement)}/spend/{entry.pk}", {"date": next_month}, write_token
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"]["date"] == [FUTURE_MESSAGE]
    created = client.post(
        f"{base(engagement)}/spend",
        json.dumps({"date": next_month, "amount": "5", "description": "Deposit"}),
        content_type="application/json",
        headers=write_token,
    )
    assert created.status_code == 409
    assert created.json()["error"]["fields"]["date"] == [FUTURE_MESSAGE]
    assert SpendEntry.objects.get(pk=entry.pk).date == entry.date


def test_spend_is_deleted(client, engagement, write_token):
    entry = SpendEntryFactory(engagement=engagement)
    response = client.delete(f"{base(engagement)}/spend/{entry.pk}", headers=write_token)
    assert response.status_code == 204
    assert not SpendEntry.objects.exists()


def test_a_spend_entry_under_another_engagement_is_a_404(client, engagement, write_token):
    entry = SpendEntryFactory(engagement=EngagementFactory(org=engagement.org))
    response = client.delete(f"{base(engagement)}/spend/{entry.pk}", headers=write_token)
    assert response.status_code == 404


def test_another_organizations_spend_is_a_404(client, engagement, outsider_token):
    entry = SpendEntryFactory(engagement=engagement)
    assert (
        client.delete(f"{base(engagement)}/spend/{entry.pk}", headers=outsider_token).status_code
        == 404
    )


def test_a_read_token_cannot_delete(client, engagement, read_headers):
    entry = SpendEntryFactory(engagement=engagement)
    assert (
        client.delete(f"{base(engagement)}/spend/{entry.pk}", headers=read_headers).status_code
        == 403
    )
    assert SpendEntry.objects.filter(pk=entry.pk).exists()


def test_a_milestone_is_patched_and_one_with_work_is_not_deleted(client, engagement, write_token):
    milestone = MilestoneFactory(engagement=engagement, title="Beta")
    response = patch(
        client,
        f"{base(engagement)}/milestones/{milestone.pk}",
        {"title": "Public beta"},
        write_token,
    )
    assert response.status_code == 200 and response.json()["title"] == "Public beta"
    DeliverableFactory(milestone=milestone, title="Card form")
    response = client.delete(f"{base(engagement)}/milestones/{milestone.pk}", headers=write_token)
    assert response.status_code == 409
    assert "“Card form”" in response.json()["error"]["message"]
    assert Milestone.objects.filter(pk=milestone.pk).exists()


def test_a_milestone_due_before_the_start_is_a_409_naming_due_date(client, engagement, write_token):
    milestone = MilestoneFactory(engagement=engagement)
    early = (engagement.start_date - dt.timedelta(days=1)).isoformat()
    response = patch(
        client, f"{base(engagement)}/milestones/{milestone.pk}", {"due_date": early}, write_token
    )
    assert response.status_code == 409
    assert "due_date" in response.json()["error"]["fields"]


def test_an_interaction_is_patched_and_deleted(client, engagement, write_token):
    interaction = InteractionFactory(engagement=engagement, comfort=4)
    url = f"{base(engagement)}/interactions/{interaction.pk}"
    response = patch(client, url, {"comfort": 2, "notes": "Tense"}, write_token)
    assert response.status_code == 200
    assert (response.json()["comfort"], response.json()["notes"]) == (2, "Tense")
    assert client.delete(url, headers=write_token).status_code == 204
    assert not Interaction.objects.exists()


def test_an_interaction_moved_into_the_future_is_a_409(client, engagement, write_token):
    interaction = InteractionFactory(engagement=engagement)
    ahead = (timezone.now() + dt.timedelta(days=5 * 365)).isoformat()
    response = patch(
        client,
        f"{base(engagement)}/interactions/{interaction.pk}",
        {"occurred_at": ahead},
        write_token,
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"]["occurred_at"] == [FUTURE_MESSAGE]


def test_a_vendor_check_in_cannot_be_patched_or_deleted(client, engagement, write_token):
    checkin = InteractionFactory(engagement=engagement, source=Source.PORTAL)
    url = f"{base(engagement)}/interactions/{checkin.pk}"
    assert patch(client, url, {"notes": "x"}, write_token).status_code == 409
    assert client.delete(url, headers=write_token).status_code == 409


def test_a_patch_outside_the_schema_is_a_422(client, engagement, write_token):
    entry = SpendEntryFactory(engagement=engagement)
    response = patch(client, f"{base(engagement)}/spend/{entry.pk}", {"amount": "-5"}, write_token)
    assert response.status_code == 422


def test_a_risk_is_corrected_marked_and_removed_by_the_api_and_audited(
    client, engagement, manager, write_token
):
    from engagements.delivery import services
    from engagements.models import Risk

    risk = services.add_risk(
        engagement=engagement, description="Lead leaves", likelihood="low", impact="high"
    )
    url = f"{base(engagement)}/risks/{risk.pk}"
    response = patch(
        client,
        url,
        {"likelihood": "high", "owner_id": manager.user.pk, "status": "occurred"},
        write_token,
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["likelihood"], body["owner_id"], body["status"]) == (
        "high",
        manager.user.pk,
        "occurred",
    )
    assert body["description"] == "Lead leaves"  # unsent fields stay
    changes = [e.changes for e in AuditEntry.objects.filter(object_pk=str(risk.pk), action=1)]
    assert any("likelihood" in c for c in changes) and any("status" in c for c in changes)
    # An explicit null takes the owner away; an unknown member is a 409 naming the field.
    assert patch(client, url, {"owner_id": None}, write_token).json()["owner_id"] is None
    refused = patch(client, url, {"owner_id": 999999}, write_token)
    assert refused.status_code == 409 and "owner_id" in refused.json()["error"]["fields"]
    assert client.delete(url, headers=write_token).status_code == 204
    assert not Risk.objects.filter(pk=risk.pk).exists()


def test_another_organizations_risk_is_a_404(client, engagement, outsider_token):
    from engagements.delivery import services

    risk = services.add_risk(
        engagement=engagement, description="Lead leaves", likelihood="low", impact="high"
    )
    url = f"{base(engagement)}/risks/{risk.pk}"
    assert patch(client, url, {"impact": "low"}, outsider_token).status_code == 404
    assert client.delete(url, headers=outsider_token).status_code == 404


def test_a_scope_change_is_recorded_listed_corrected_and_removed_by_the_api(
    client, engagement, write_token
):
    url = f"{base(engagement)}/scope-changes"
    created = client.post(
        url,
        json.dumps({"what_changed": "CSV export too", "why": "Finance asked"}),
        content_type="application/json",
        headers=write_token,
    )
    assert created.status_code == 201, created.content
    change_id = created.json()["id"]
    assert [c["id"] for c in client.get(url, headers=write_token).json()["items"]] == [change_id]
    corrected = patch(client, f"{url}/{change_id}", {"why": "Finance asked twice"}, write_token)
    assert corrected.status_code == 200
    assert corrected.json()["what_changed"] == "CSV export too"  # unsent fields stay
    assert corrected.json()["why"] == "Finance asked twice"
    assert AuditEntry.objects.filter(object_pk=str(change_id), action=1).exists()
    assert client.delete(f"{url}/{change_id}", headers=write_token).status_code == 204
    assert client.get(url, headers=write_token).json()["items"] == []


def test_a_scope_change_a_deliverable_wrote_stays_with_a_409_saying_why(
    client, engagement, manager, write_token
):
    from engagements.delivery import services
    from engagements.models import ScopeChange

    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Export")
    services.update_deliverable(
        deliverable=deliverable, by=manager.user, why="PDF too", title="Export to PDF"
    )
    change = ScopeChange.objects.get(deliverable=deliverable)
    refused = client.delete(f"{base(engagement)}/scope-changes/{change.pk}", headers=write_token)
    assert refused.status_code == 409
    assert "Export to PDF" in refused.json()["error"]["message"]
    assert ScopeChange.objects.filter(pk=change.pk).exists()
