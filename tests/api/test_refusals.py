"""The services decide what a write may do; the API only maps their refusal to a 409 naming
the field the client sent. Each test checks the service's own words reach the client, so a
rule the API re-implemented in its own words would show."""

import pytest

from accounts.models import Membership, Role
from engagements.delivery.models import Deliverable
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client, url, data, headers):
    return client.post(url, data, content_type=JSON, headers=headers)


def test_accepting_planned_work_is_refused_in_the_life_cycles_own_words(
    client, manager, write_token
):
    deliverable = DeliverableFactory(
        milestone=MilestoneFactory(engagement__org=manager.org), title="Invoice module"
    )
    response = post(client, f"/api/v1/deliverables/{deliverable.pk}/accept", {}, write_token)
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "“Invoice module” cannot go from planned to accepted.",
        "fields": {},
    }
    assert Deliverable.objects.get().status == "planned"


def test_submitting_accepted_work_again_is_a_409_and_changes_nothing(client, manager, write_token):
    deliverable = DeliverableFactory(
        milestone=MilestoneFactory(engagement__org=manager.org), status="accepted"
    )
    response = post(client, f"/api/v1/deliverables/{deliverable.pk}/submit", {}, write_token)
    assert response.status_code == 409
    assert "cannot go from accepted to submitted" in response.json()["error"]["message"]
    assert not deliverable.transitions.exists()


def test_a_reviewer_who_lost_the_race_hears_it_from_the_service(client, manager, write_token):
    deliverable = DeliverableFactory(
        milestone=MilestoneFactory(engagement__org=manager.org), status="submitted"
    )
    Deliverable.objects.filter(pk=deliverable.pk).update(version=2)  # someone moved it on
    response = post(
        client,
        f"/api/v1/deliverables/{deliverable.pk}/accept",
        {"expected_version": 1},
        write_token,
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"].startswith("Someone else just reviewed")


def test_a_deliverable_under_another_engagements_milestone_is_refused_on_milestone_id(
    client, manager, write_token
):
    engagement = EngagementFactory(org=manager.org)
    elsewhere = MilestoneFactory(engagement__org=manager.org)
    response = post(
        client,
        f"/api/v1/engagements/{engagement.pk}/deliverables",
        {"milestone_id": elsewhere.pk, "title": "Logo", "due_date": "2100-01-01"},
        write_token,
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "milestone_id": ["Choose a milestone of this engagement."]
    }
    assert not Deliverable.objects.exists()


def test_a_viewer_made_owner_through_the_api_is_refused_under_owner_id(
    client, manager, write_token
):
    viewer = UserFactory()
    Membership.objects.create(org=manager.org, user=viewer, role=Role.VIEWER)
    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    response = client.patch(
        f"/api/v1/engagements/{engagement.pk}",
        {"owner_id": viewer.pk},
        content_type=JSON,
        headers=write_token,
    )
    assert response.status_code == 409
    assert response.json()["error"]["fields"] == {
        "owner_id": ["The owner must be an owner or manager of this organization."]
    }


def test_a_finished_engagement_is_refused_in_the_services_words(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org, status="completed")
    response = post(
        client, f"/api/v1/engagements/{engagement.pk}/status", {"to": "active"}, write_token
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        "The engagement is completed; it cannot become active."
    )
