"""/api/v1/engagements and /api/v1/deliverables: what a script does with a write token."""

import datetime as dt

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from engagements.models import (
    Deliverable,
    DeliverableStatus,
    DeliverableTransition,
    Engagement,
    Interaction,
    Source,
)
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    VendorFactory,
)

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client, url, data, headers):
    return client.post(url, data, content_type=JSON, headers=headers)


def test_a_script_sets_up_an_engagement_and_logs_a_call_that_appears_on_the_engagement_page(
    client, manager, write_token
):
    vendor = post(client, "/api/v1/vendors", {"name": "Acme Dev"}, write_token)
    assert vendor.status_code == 201, vendor.json()
    today = dt.date.today()
    created = post(
        client,
        "/api/v1/engagements",
        {
            "vendor_id": vendor.json()["id"],
            "vendor_override_reason": "Trial engagement before full vetting.",
            "title": "Onboarding revamp",
            "goal": "Self-service onboarding",
            "definition_of_done": "90% finish alone",
            "budget": "20000.00",
            "start_date": today.isoformat(),
            "target_end_date": (today + dt.timedelta(days=60)).isoformat(),
        },
        write_token,
    )
    assert created.status_code == 201, created.json()
    engagement = created.json()
    assert engagement["status"] == "draft" and engagement["currency"] == "EUR"
    eid = engagement["id"]
    milestone = post(
        client,
        f"/api/v1/engagements/{eid}/milestones",
        {"title": "Design", "due_date": (today + dt.timedelta(days=20)).isoformat()},
        write_token,
    )
    assert milestone.status_code == 201, milestone.json()
    deliverable = post(
        client,
        f"/api/v1/engagements/{eid}/deliverables",
        {
            "milestone_id": milestone.json()["id"],
            "title": "Wireframes",
            "due_date": (today + dt.timedelta(days=15)).isoformat(),
            "acceptance_criteria": "Reviewed by product",
            "value": "5000",
        },
        write_token,
    )
    assert deliverable.status_code == 201, deliverable.json()
    call = post(
        client,
        f"/api/v1/engagements/{eid}/interactions",
        {
            "channel": "call",
            "direction": "we_to_vendor",
            "outcome": "held",
            "comfort": 2,
            "notes": "CRM-LOGGED weekly call",
        },
        write_token,
    )
    assert call.status_code == 201, call.json()
    assert call.json()["source"] == "api"

    listed = client.get(f"/api/v1/engagements/{eid}/interactions", headers=write_token).json()
    assert [i["notes"] for i in listed["items"]] == ["CRM-LOGGED weekly call"]
    page = manager.client().get(reverse("engagements:engagement_detail", args=[eid]))
    assert "CRM-LOGGED weekly call" in page.text and "Wireframes" in page.text
    # The audit trail says it came through the API, with the token's name.
    entry = AuditEntry.objects.get_for_object(Interaction.objects.get()).get()
    assert entry.via == "api" and "CRM" in entry.actor_label and entry.actor == manager.user


def test_engagement_create_names_each_bad_field(client, manager, write_token):
    vendor = VendorFactory(org=manager.org, status="active")
    response = post(
        client,
        "/api/v1/engagements",
        {
            "vendor_id": vendor.pk,
            "title": "x",
            "goal": "g",
            "definition_of_done": "d",
            "budget": "-5",
            "start_date": "2026-05-01",
            "target_end_date": "2026-04-01",
        },
        write_token,
    )
    assert response.status_code == 422
    assert "budget" in response.json()["error"]["fields"]
    later = post(
        client,
        "/api/v1/engagements",
        {
            "vendor_id": vendor.pk,
            "title": "x",
            "goal": "g",
            "definition_of_done": "d",
            "budget": "5",
            "start_date": "2026-05-01",
            "target_end_date": "2026-04-01",
        },
        write_token,
    )
    # Each date is well-formed; together they contradict each other: a conflict, not a 422.
    assert later.status_code == 409
    assert "target_end_date" in later.json()["error"]["fields"]
    assert not Engagement.objects.exists()


def test_an_engagement_cannot_be_given_to_another_organizations_vendor_or_owner(
    client, manager, outsider, write_token
):
    theirs = VendorFactory(org=outsider.org, status="active")
    body = {
        "vendor_id": theirs.pk,
        "title": "x",
        "goal": "g",
        "definition_of_done": "d",
        "budget": "5",
        "start_date": "2026-05-01",
        "target_end_date": "2026-06-01",
    }
    assert (
        "vendor_id"
        in post(client, "/api/v1/engagements", body, write_token).json()["error"]["fields"]
    )
    ours = VendorFactory(org=manager.org, status="active")
    refused = post(
        client,
        "/api/v1/engagements",
        {**body, "vendor_id": ours.pk, "owner_id": outsider.user.pk},
        write_token,
    )
    assert refused.status_code == 409 and "owner_id" in refused.json()["error"]["fields"]


def test_a_viewer_cannot_be_made_an_engagements_owner(client, manager, viewer, write_token):
    """The set-up form offers owners and managers only; the API keeps the same rule."""
    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    refused = client.patch(
        f"/api/v1/engagements/{engagement.pk}",
        {"owner_id": viewer.user.pk},
        content_type=JSON,
        headers=write_token,
    )
    assert refused.status_code == 409
    assert "owner or manager" in refused.json()["error"]["fields"]["owner_id"][0]
    engagement.refresh_from_db()
    assert engagement.owner == manager.user


def test_patch_changes_only_what_is_sent(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org, title="Old")
    response = client.patch(
        f"/api/v1/engagements/{engagement.pk}",
        {"title": "New", "budget": "1234.50"},
        content_type=JSON,
        headers=write_token,
    )
    assert response.status_code == 200, response.json()
    engagement.refresh_from_db()
    assert engagement.title == "New" and str(engagement.budget) == "1234.50"
    assert engagement.goal.startswith("Launch")


def test_engagement_list_filters_by_status_vendor_and_updated_since(client, manager, write_token):
    vendor = VendorFactory(org=manager.org, status="active")
    old = EngagementFactory(org=manager.org, vendor=vendor, status="active")
    Engagement.objects.filter(pk=old.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    fresh = EngagementFactory(org=manager.org, status="paused")
    ids = lambda q: [  # noqa: E731
        e["id"] for e in client.get(f"/api/v1/engagements?{q}", headers=write_token).json()["items"]
    ]
    assert ids("status=paused") == [fresh.pk]
    assert ids(f"vendor={vendor.pk}") == [old.pk]
    assert ids("updated_since=2024-01-01T00:00:00Z") == [fresh.pk]


def test_another_organizations_engagement_is_a_404_for_reads_and_writes(
    client, manager, outsider_token
):
    engagement = EngagementFactory(org=manager.org, title="Ours")
    deliverable = DeliverableFactory(milestone=MilestoneFactory(engagement=engagement))
    assert (
        client.get(f"/api/v1/engagements/{engagement.pk}", headers=outsider_token).status_code
        == 404
    )
    call = {"channel": "call", "direction": "we_to_vendor", "outcome": "held"}
    refused = post(
        client, f"/api/v1/engagements/{engagement.pk}/interactions", call, outsider_token
    )
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert (
        post(
            client, f"/api/v1/deliverables/{deliverable.pk}/submit", {}, outsider_token
        ).status_code
        == 404
    )
    assert not Interaction.objects.exists()
    assert Deliverable.objects.get().status == DeliverableStatus.PLANNED


def test_a_viewers_read_token_cannot_log_an_interaction(client, viewer, read_headers):
    engagement = EngagementFactory(org=viewer.org)
    response = post(
        client,
        f"/api/v1/engagements/{engagement.pk}/interactions",
        {"channel": "call", "direction": "we_to_vendor", "outcome": "held"},
        read_headers,
    )
    assert response.status_code == 403
    assert not Interaction.objects.exists()


def test_wrong_method_is_a_405(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org)
    assert (
        client.delete(f"/api/v1/engagements/{engagement.pk}", headers=write_token).status_code
        == 405
    )


# --- deliverables ----------------------------------------------------------------------------
def test_a_planned_deliverable_is_submitted_then_accepted_by_the_api(client, manager, write_token):
    deliverable = DeliverableFactory(milestone=MilestoneFactory(engagement__org=manager.org))
    submitted = post(
        client, f"/api/v1/deliverables/{deliverable.pk}/submit", {"note": "v1"}, write_token
    )
    assert submitted.status_code == 200, submitted.json()
    assert submitted.json()["status"] == "submitted"
    accepted = post(client, f"/api/v1/deliverables/{deliverable.pk}/accept", {}, write_token)
    assert accepted.json()["status"] == "accepted"
    steps = list(DeliverableTransition.objects.values_list("to_status", flat=True))
    assert steps == ["in_progress", "submitted", "accepted"]


def test_rejecting_needs_a_reason_named_in_the_error(client, manager, write_token):
    deliverable = DeliverableFactory(
        milestone=MilestoneFactory(engagement__org=manager.org), status="submitted"
    )
    response = post(client, f"/api/v1/deliverables/{deliverable.pk}/reject", {}, write_token)
    assert response.status_code == 422
    assert "note" in response.json()["error"]["fields"]
    ok = post(
        client,
        f"/api/v1/deliverables/{deliverable.pk}/reject",
        {"note": "Fails on mobile"},
        write_token,
    )
    assert ok.json()["status"] == "rejected" and ok.json()["times_rejected"] == 1


def test_accepting_work_that_is_not_submitted_is_a_409(client, manager, write_token):
    deliverable = DeliverableFactory(milestone=MilestoneFactory(engagement__org=manager.org))
    response = post(client, f"/api/v1/deliverables/{deliverable.pk}/accept", {}, write_token)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_the_second_of_two_reviewers_gets_a_409(client, manager, write_token):
    deliverable = DeliverableFactory(
        milestone=MilestoneFactory(engagement__org=manager.org), status="submitted"
    )
    seen = client.get(f"/api/v1/deliverables/{deliverable.pk}", headers=write_token).json()
    first = post(
        client,
        f"/api/v1/deliverables/{deliverable.pk}/accept",
        {"expected_version": seen["version"]},
        write_token,
    )
    assert first.status_code == 200
    Deliverable.objects.filter(pk=deliverable.pk).update(status="submitted")  # reopened meanwhile
    second = post(
        client,
        f"/api/v1/deliverables/{deliverable.pk}/reject",
        {"note": "no", "expected_version": seen["version"]},
        write_token,
    )
    assert second.status_code == 409


def test_spend_in_another_currency_is_refused_with_the_field(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org, currency="EUR")
    response = post(
        client,
        f"/api/v1/engagements/{engagement.pk}/spend",
        {"date": "2026-01-01", "amount": "100", "currency": "USD", "description": "Invoice"},
        write_token,
    )
    assert response.status_code == 409 and "currency" in response.json()["error"]["fields"]


def test_risks_are_listed_and_added(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org)
    created = post(
        client,
        f"/api/v1/engagements/{engagement.pk}/risks",
        {"description": "Key developer leaves", "likelihood": "high", "owner_id": manager.user.pk},
        write_token,
    )
    assert created.status_code == 201, created.json()
    listed = client.get(f"/api/v1/engagements/{engagement.pk}/risks", headers=write_token)
    assert [r["description"] for r in listed.json()["items"]] == ["Key developer leaves"]


def test_text_with_a_nul_byte_is_a_422_not_a_500(client, manager, write_token):
    engagement = EngagementFactory(org=manager.org)
    response = post(
        client,
        f"/api/v1/engagements/{engagement.pk}/interactions",
        {"channel": "call", "direction": "we_to_vendor", "outcome": "held", "notes": "a\x00b"},
        write_token,
    )
    assert response.status_code == 422 and "notes" in response.json()["error"]["fields"]


def test_a_body_that_is_not_json_is_a_422(client, manager, write_token):
    response = client.post("/api/v1/vendors", "{not json", content_type=JSON, headers=write_token)
    assert response.status_code == 422


# --- query counts at 10,000 rows -------------------------------------------------------------
@pytest.mark.parametrize("n", [1, pytest.param(10_000, marks=pytest.mark.slow)])
def test_interaction_list_has_a_flat_query_count(
    client, manager, write_token, n, django_assert_num_queries
):
    engagement = EngagementFactory(org=manager.org)
    Interaction.objects.bulk_create(
        Interaction(
            org=manager.org,
            engagement=engagement,
            channel="call",
            direction="we_to_vendor",
            outcome="held",
            source=Source.API,
        )
        for _ in range(n)
    )
    url = f"/api/v1/engagements/{engagement.pk}/interactions?limit=200"
    client.get(url, headers=write_token)  # last_used_at written once, not per request
    with django_assert_num_queries(3):  # token with membership, engagement, page
        page = client.get(url, headers=write_token).json()
    assert len(page["items"]) == min(n, 200)
    if n > 200:
        with django_assert_num_queries(3):  # a deep page costs the same: keyset, not offset
            client.get(url + f"&cursor={page['next_cursor']}", headers=write_token)


@pytest.mark.parametrize("n", [1, pytest.param(10_000, marks=pytest.mark.slow)])
def test_engagement_list_has_a_flat_query_count(
    client, manager, write_token, n, django_assert_num_queries
):
    vendor = VendorFactory(org=manager.org, status="active")
    template = EngagementFactory.build(org=manager.org, vendor=vendor, owner=manager.user)
    fields = {
        f.attname: getattr(template, f.attname)
        for f in Engagement._meta.concrete_fields
        if f.attname != "id"
    }
    Engagement.objects.bulk_create(Engagement(**fields) for _ in range(n))
    client.get("/api/v1/me", headers=write_token)
    with django_assert_num_queries(2):  # token with membership, page (burn figures as subqueries)
        page = client.get("/api/v1/engagements?limit=200", headers=write_token).json()
    assert len(page["items"]) == min(n, 200)


@pytest.mark.parametrize("n", [1, pytest.param(10_000, marks=pytest.mark.slow)])
def test_deliverable_list_has_a_flat_query_count(
    client, manager, write_token, n, django_assert_num_queries
):
    milestone = MilestoneFactory(engagement__org=manager.org)
    Deliverable.objects.bulk_create(
        Deliverable(
            org=manager.org,
            engagement=milestone.engagement,
            milestone=milestone,
            title=f"D{i}",
            due_date=milestone.due_date,
        )
        for i in range(n)
    )
    url = f"/api/v1/engagements/{milestone.engagement_id}/deliverables?limit=200"
    client.get(url, headers=write_token)
    with django_assert_num_queries(3):  # token with membership, engagement, page
        page = client.get(url, headers=write_token).json()
    assert len(page["items"]) == min(n, 200)


READY = {
    "has_concrete_target": True,
    "need_is_specific": True,
    "money_alternative": "Hire a second in-house developer",
    "internal_owner": "Dana",
    "owner_hours_per_week": 4,
}


def test_a_script_answers_the_readiness_check_then_activates_and_later_pauses_the_engagement(
    client, manager, write_token
):
    engagement = EngagementFactory(org=manager.org, status="draft")
    url = f"/api/v1/engagements/{engagement.pk}"
    too_early = post(client, f"{url}/status", {"to": "active"}, write_token)
    assert too_early.status_code == 409
    assert "readiness check" in too_early.json()["error"]["message"]
    answered = client.put(f"{url}/readiness", READY, content_type=JSON, headers=write_token)
    assert answered.status_code == 200, answered.json()
    assert answered.json()["verdict"] == "ready"
    active = post(client, f"{url}/status", {"to": "active"}, write_token)
    assert active.status_code == 200 and active.json()["status"] == "active"
    no_reason = post(client, f"{url}/status", {"to": "paused"}, write_token)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["fields"]
    paused = post(
        client, f"{url}/status", {"to": "paused", "reason": "Vendor on holiday"}, write_token
    )
    assert paused.json()["status"] == "paused"
    engagement.refresh_from_db()
    assert engagement.status_changes.filter(to_status="paused", by=manager.user).exists()


def test_too_soon_activates_only_with_a_recorded_override_and_a_finished_one_never_moves(
    client, manager, write_token
):
    engagement = EngagementFactory(org=manager.org, status="draft")
    url = f"/api/v1/engagements/{engagement.pk}"
    vague = READY | {"need_is_specific": False}
    answered = client.put(f"{url}/readiness", vague, content_type=JSON, headers=write_token)
    assert answered.json()["verdict"] == "too_soon"
    assert post(client, f"{url}/status", {"to": "active"}, write_token).status_code == 409
    overridden = client.put(
        f"{url}/readiness",
        vague | {"override_reason": "A fixed-price pilot; we learn what we need."},
        content_type=JSON,
        headers=write_token,
    )
    assert overridden.json()["override_reason"].startswith("A fixed-price pilot")
    assert post(client, f"{url}/status", {"to": "active"}, write_token).status_code == 200
    done = post(client, f"{url}/status", {"to": "completed"}, write_token)
    assert done.json()["status"] == "completed"
    again = post(client, f"{url}/status", {"to": "active"}, write_token)
    assert again.status_code == 409
    assert "completed; it cannot become active" in again.json()["error"]["message"]
    bad = client.put(
        f"{url}/readiness",
        READY | {"owner_hours_per_week": -1, "money_alternative": ""},
        content_type=JSON,
        headers=write_token,
    )
    assert bad.status_code == 422
    assert {"owner_hours_per_week", "money_alternative"} <= set(bad.json()["error"]["fields"])
