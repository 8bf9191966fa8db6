"""Two reviewers on one deliverable: whoever loses the race keeps the reason and the scope
change they typed, beside the deliverable as it is saved now."""

import pytest
from django.urls import reverse

from engagements.models import Deliverable, EngagementStatus
from tests.factories import DeliverableFactory, EngagementFactory
from tests.html_forms import form_values

pytestmark = pytest.mark.django_db

TIMELINE = {"HX-Request": "true", "HX-Target": "delivery-timeline"}
REASON = "Totals do not add up on pages 3 & 4: see the attached sheet."


@pytest.fixture
def submitted(manager) -> Deliverable:
    engagement = EngagementFactory(
        org=manager.org, owner=manager.user, status=EngagementStatus.ACTIVE
    )
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Invoice module")
    Deliverable.objects.filter(pk=deliverable.pk).update(status="submitted")
    return Deliverable.objects.get(pk=deliverable.pk)


@pytest.mark.parametrize("headers", [TIMELINE, {}], ids=["htmx", "plain"])
def test_a_rejection_that_lost_the_race_keeps_the_reason_typed(manager, owner, submitted, headers):
    url = reverse("engagements:deliverable_transition", args=[submitted.pk])
    # While the manager writes a reason, the owner rejects it and it comes back resubmitted.
    owner.client().post(url, {"to": "rejected", "note": "First look: no.", "version": 1})
    owner.client().post(url, {"to": "submitted", "version": 2})
    response = manager.client().post(
        url, {"to": "rejected", "note": REASON, "version": 1}, headers=headers
    )
    assert response.status_code == (200 if headers else 409)
    assert "Someone else just reviewed this deliverable" in response.text
    assert form_values(response.text, url)["note"] == REASON


def test_a_scope_change_that_lost_the_race_keeps_the_change_beside_the_saved_one(
    manager, owner, submitted
):
    url = reverse("engagements:deliverable_update", args=[submitted.pk])
    page = manager.client().get(
        reverse("engagements:engagement_detail", args=[submitted.engagement_id])
    )
    mine = form_values(page.text, url) | {"title": "Invoice module v2", "why": "Client asked"}
    theirs = form_values(page.text, url) | {"title": "Invoicing (owner)", "why": "Renamed"}
    assert owner.client().post(url, theirs, headers=TIMELINE).status_code == 200

    response = manager.client().post(url, mine, headers=TIMELINE)

    assert "Someone else just changed this deliverable" in response.text
    assert "<strong>Invoicing (owner)</strong>" in response.text  # saved now
    assert "Below: your change, not saved yet." in response.text
    typed = form_values(response.text, url)
    assert (typed["title"], typed["why"]) == ("Invoice module v2", "Client asked")
    assert typed["version"] == "2"  # saving again is a deliberate overwrite
