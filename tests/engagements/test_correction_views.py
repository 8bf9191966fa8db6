"""Correcting and removing records from the engagement page: who may, what the page answers
(htmx in place, a plain post redirects), the message next to the field, confirm first, and
the change in the audit trail in words."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements.delivery import hooks, services
from engagements.models import (
    Deliverable,
    Engagement,
    ExitCriterion,
    Interaction,
    Milestone,
    ReadinessCheck,
    Risk,
    ScopeChange,
    SpendEntry,
)
from engagements.postmortems import services as postmortems
from outsourcing.validation import FUTURE_MESSAGE
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    SpendEntryFactory,
)

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def url(name: str, *args) -> str:
    return reverse(f"engagements:{name}", args=args)


@pytest.fixture
def engagement(manager):
    return EngagementFactory(org=manager.org, owner=manager.user, currency="EUR", title="Checkout")


@pytest.fixture
def reevaluated(monkeypatch) -> list[int]:
    calls: list[int] = []
    monkeypatch.setattr(
        hooks.engagement_changed, "receivers", [lambda engagement: calls.append(engagement.pk)]
    )
    return calls


def _audit(owner) -> str:
    return owner.client().get(reverse("accounts:audit_list")).text


# --- one table of record kinds: (edit url, valid post, a bad post and its field, region) ------


def _spend(engagement):
    entry = SpendEntryFactory(engagement=engagement, description="Deposit")
    good = {
        "date": entry.date.isoformat(),
        "amount": "1250.00",
        "currency": "EUR",
        "description": "Deposit, corrected",
    }
    future = (timezone.localdate() + dt.timedelta(days=31)).isoformat()
    return entry, "spend", good, good | {"date": future}, "date", FUTURE_MESSAGE


def _interaction(engagement):
    interaction = InteractionFactory(engagement=engagement, notes="Kick-off")
    when = timezone.localtime(timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    good = {
        "channel": "meeting",
        "direction": "we_to_vendor",
        "outcome": "held",
        "comfort": "2",
        "occurred_at": when,
        "notes": "Kick-off, they were late",
    }
    ahead = (timezone.localtime() + dt.timedelta(days=5 * 365)).strftime("%Y-%m-%dT%H:%M")
    return (
        interaction,
        "interaction",
        good,
        good | {"occurred_at": ahead},
        "occurred_at",
        FUTURE_MESSAGE,
    )


def _milestone(engagement):
    milestone = MilestoneFactory(engagement=engagement, title="Beta")
    good = {
        "title": "Public beta",
        "due_date": (engagement.start_date + dt.timedelta(40)).isoformat(),
    }
    early = (engagement.start_date - dt.timedelta(days=3)).isoformat()
    return milestone, "milestone", good, good | {"due_date": early}, "due_date", "Due before"


def _criterion(engagement):
    criterion = services.add_exit_criterion(
        engagement=engagement,
        by=engagement.owner,
        criterion={
            "label": "Silent vendor",
            "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
        },
    )
    good = {
        "label": "Silent for two weeks",
        "combinator": "all",
        "metric_1": "days_since_held_contact",
        "op_1": ">=",
        "value_1": "14",
    }
    return criterion, "exit_criterion", good, good | {"value_1": "-3"}, "value_1", "greater than"


def _risk(engagement):
    risk = services.add_risk(
        engagement=engagement, description="Lead developer leaves", likelihood="low", impact="high"
    )
    good = {
        "description": "Lead developer may leave in spring",
        "likelihood": "medium",
        "impact": "high",
        "mitigation": "Pair on the payment module",
        "owner": "",
    }
    return risk, "risk", good, good | {"description": "  "}, "description", "required"


def _scope_change(engagement):
    change = services.record_scope_change(
        engagement=engagement, by=engagement.owner, what_changed="CSV export", why="Finance"
    )
    good = {"what_changed": "CSV and PDF export", "why": "Finance asked twice"}
    return change, "scope_change", good, good | {"why": ""}, "why", "required"


KINDS = {
    "spend": _spend,
    "interaction": _interaction,
    "milestone": _milestone,
    "criterion": _criterion,
    "risk": _risk,
    "scope change": _scope_change,
}
MODELS = {
    "spend": SpendEntry,
    "interaction": Interaction,
    "milestone": Milestone,
    "exit_criterion": ExitCriterion,
    "risk": Risk,
    "scope_change": ScopeChange,
}
REGIONS = {
    "spend": "spend",
    "interaction": "interactions",
    "milestone": "delivery-timeline",
    "exit_criterion": "exit-criteria",
    "risk": "risks",
    "scope_change": "scope-changes",
}
NOT_WATCHED = {"risk"}  # the watcher does not read risks: a change costs no evaluation


@pytest.fixture(params=list(KINDS))
def record(request, engagement):
    return KINDS[request.param](engagement)


def test_a_manager_opens_the_edit_form_filled_with_what_is_saved(manager, record):
    obj, kind, *_ = record
    response = manager.client().get(url(f"{kind}_update", obj.pk))
    assert response.status_code == 200
    assert 'class="card record-edit"' in response.text
    assert "<html" in response.text  # a page of its own without htmx


def test_htmx_gets_only_the_editor(manager, record):
    obj, kind, *_ = record
    response = manager.client().get(url(f"{kind}_update", obj.pk), headers=HX)
    assert response.text.lstrip().startswith('<div class="card record-edit"')


def test_a_viewer_may_not_edit_or_remove(viewer, record):
    obj, kind, good, *_ = record
    client = viewer.client()
    assert client.get(url(f"{kind}_update", obj.pk)).status_code == 403
    assert client.post(url(f"{kind}_update", obj.pk), good).status_code == 403
    assert client.post(url(f"{kind}_delete", obj.pk), {"confirm": "yes"}).status_code == 403
    assert MODELS[kind].objects.filter(pk=obj.pk).exists()


def test_another_organizations_record_is_a_404(outsider, record):
    obj, kind, _good, *_ = record
    client = outsider.client()
    assert client.get(url(f"{kind}_update", obj.pk)).status_code == 404
    assert client.post(url(f"{kind}_delete", obj.pk), {"confirm": "yes"}).status_code == 404


def test_removing_is_a_post(manager, record):
    obj, kind, *_ = record
    assert manager.client().get(url(f"{kind}_delete", obj.pk)).status_code == 405


def test_a_plain_post_saves_redirects_to_the_region_and_re_evaluates(
    manager, record, engagement, reevaluated
):
    obj, kind, good, *_ = record
    response = manager.client().post(url(f"{kind}_update", obj.pk), good)
    assert response.status_code == 302
    assert response["Location"].endswith(f"/engagements/{engagement.pk}/#{REGIONS[kind]}")
    assert reevaluated == ([] if kind in NOT_WATCHED else [engagement.pk])


def test_htmx_saves_and_swaps_the_whole_region(manager, record, engagement):
    obj, kind, good, *_ = record
    response = manager.client().post(url(f"{kind}_update", obj.pk), good, headers=HX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#{REGIONS[kind]}"
    assert f'id="{REGIONS[kind]}"' in response.text


def test_bad_input_shows_the_message_next_to_its_field_and_saves_nothing(manager, record):
    obj, kind, _good, bad, field, message = record
    before = MODELS[kind].objects.filter(pk=obj.pk).values().get()
    response = manager.client().post(url(f"{kind}_update", obj.pk), bad)
    assert response.status_code == 422
    text = response.text
    error_at = text.index(f'_{field}_error"')
    assert message in text[error_at : error_at + 400]
    assert MODELS[kind].objects.filter(pk=obj.pk).values().get() == before


def test_bad_input_over_htmx_keeps_the_editor_open_with_the_message(manager, record):
    obj, kind, _good, bad, _field, message = record
    response = manager.client().post(url(f"{kind}_update", obj.pk), bad, headers=HX)
    assert response.status_code == 200
    assert "HX-Retarget" not in response
    assert response.text.lstrip().startswith('<div class="card record-edit"')
    assert message in response.text


def test_removing_without_confirming_asks_first_and_removes_nothing(manager, record):
    obj, kind, *_ = record
    response = manager.client().post(url(f"{kind}_delete", obj.pk))
    assert response.status_code == 200
    assert 'name="confirm" value="yes"' in response.text
    assert "Remove" in response.text and "Cancel" in response.text
    assert MODELS[kind].objects.filter(pk=obj.pk).exists()


def test_removing_once_confirmed_removes_and_re_evaluates(manager, record, engagement, reevaluated):
    obj, kind, *_ = record
    response = manager.client().post(url(f"{kind}_delete", obj.pk), {"confirm": "yes"})
    assert response.status_code == 302
    assert not MODELS[kind].objects.filter(pk=obj.pk).exists()
    assert reevaluated == ([] if kind in NOT_WATCHED else [engagement.pk])


def test_htmx_removal_swaps_the_region(manager, record):
    obj, kind, *_ = record
    response = manager.client().post(url(f"{kind}_delete", obj.pk), {"confirm": "yes"}, headers=HX)
    assert response["HX-Retarget"] == f"#{REGIONS[kind]}"


def test_an_owner_reads_the_correction_and_the_removal_in_words(owner, manager, record):
    obj, kind, good, *_ = record
    client = manager.client()
    client.post(url(f"{kind}_update", obj.pk), good)
    client.post(url(f"{kind}_delete", obj.pk), {"confirm": "yes"})
    trail = _audit(owner)
    changed, deleted = IN_WORDS[kind]
    assert changed in trail and deleted in trail
    assert "object (" not in trail
    assert manager.user.display_name in trail


IN_WORDS = {
    "spend": (
        "Changed spend entry “Deposit, corrected”",
        "Deleted spend entry “Deposit, corrected”",
    ),
    "interaction": (
        "Changed interaction “Kick-off, they were late”",
        "Deleted interaction “Kick-off, they were late”",
    ),
    "milestone": ("Changed milestone “Public beta”", "Deleted milestone “Public beta”"),
    "exit_criterion": (
        "Changed exit criterion “Silent for two weeks”",
        "Deleted exit criterion “Silent for two weeks”",
    ),
    "risk": (
        "Changed risk “Lead developer may leave in spring”",
        "Deleted risk “Lead developer may leave in spring”",
    ),
    "scope_change": (
        "Changed scope change “CSV and PDF export”",
        "Deleted scope change “CSV and PDF export”",
    ),
}


# --- the engagement itself and its readiness ----------------------------------------------------


def test_the_engagement_is_corrected_in_place_with_its_title(manager, engagement):
    data = {
        "title": "Checkout rebuild",
        "goal": "Halve drop-off.",
        "definition_of_done": "Below 20% for a month.",
        "budget": "42000",
        "start_date": engagement.start_date.isoformat(),
        "target_end_date": engagement.target_end_date.isoformat(),
        "owner": str(manager.user.pk),
    }
    response = manager.client().post(url("engagement_update", engagement.pk), data, headers=HX)
    assert response["HX-Retarget"] == "#engagement-header"
    assert '<h1 id="engagement-title" hx-swap-oob="true">Checkout rebuild</h1>' in response.text
    engagement.refresh_from_db()
    assert (engagement.title, engagement.budget) == ("Checkout rebuild", Decimal("42000"))


def test_an_end_before_the_start_is_refused_and_nothing_changes(manager, engagement):
    data = {
        "title": "X",
        "goal": "G",
        "definition_of_done": "D",
        "budget": "1",
        "start_date": engagement.start_date.isoformat(),
        "target_end_date": (engagement.start_date - dt.timedelta(days=1)).isoformat(),
        "owner": str(manager.user.pk),
    }
    response = manager.client().post(url("engagement_update", engagement.pk), data)
    assert response.status_code == 422
    assert "The target end date is before the start." in response.text
    assert Engagement.objects.get(pk=engagement.pk).title == "Checkout"


def test_readiness_is_answered_again_from_the_page_and_audited(owner, manager, engagement):
    data = {
        "has_concrete_target": "no",
        "need_is_specific": "yes",
        "money_alternative": "Marketing.",
        "internal_owner": "Max",
        "owner_hours_per_week": "3",
    }
    response = manager.client().post(url("readiness_update", engagement.pk), data)
    assert response.status_code == 302
    assert ReadinessCheck.objects.get(engagement=engagement).verdict == "too_soon"
    data["has_concrete_target"] = "yes"
    manager.client().post(url("readiness_update", engagement.pk), data)
    trail = _audit(owner)
    assert "Changed readiness check “readiness of Checkout”" in trail
    assert "Verdict: Too soon → Ready" in trail


def test_the_engagement_page_offers_the_corrections_to_managers_only(manager, viewer, engagement):
    SpendEntryFactory(engagement=engagement)
    page = manager.client().get(url("engagement_detail", engagement.pk)).text
    assert url("engagement_update", engagement.pk) in page
    assert url("readiness_update", engagement.pk) in page
    assert "spend-editor" in page
    assert url("spend_update", engagement.spend.get().pk) in page
    page = viewer.client().get(url("engagement_detail", engagement.pk)).text
    assert url("engagement_update", engagement.pk) not in page
    assert url("spend_update", engagement.spend.get().pk) not in page


def test_a_frozen_engagement_says_why_instead_of_offering_edits(owner, manager, engagement):
    entry = SpendEntryFactory(engagement=engagement)
    engagement.status = "completed"
    engagement.save()
    pm = postmortems.open_postmortem(engagement=engagement)
    postmortems.publish_postmortem(postmortem=pm, by=owner.user)
    client = manager.client()
    page = client.get(url("engagement_detail", engagement.pk)).text
    assert "Read-only." in page and "post-mortem" in page
    assert url("spend_update", entry.pk) not in page
    edit = client.get(url("spend_update", entry.pk)).text
    assert "frozen" in edit and 'name="amount"' not in edit


def test_a_deliverable_is_removed_with_its_reason_after_confirming(manager, engagement):
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Card form")
    client = manager.client()
    asked = client.post(url("deliverable_delete", deliverable.pk), {"why": "Provider does it."})
    assert 'name="why" value="Provider does it."' in asked.text  # sent again when confirmed
    assert Deliverable.objects.filter(pk=deliverable.pk).exists()
    response = client.post(url("deliverable_delete", deliverable.pk), {"why": "", "confirm": "yes"})
    assert response.status_code == 422
    assert "Say why it is no longer needed" in response.text
    client.post(url("deliverable_delete", deliverable.pk), {"why": "Provider.", "confirm": "yes"})
    assert not Deliverable.objects.filter(pk=deliverable.pk).exists()


def test_a_milestone_with_work_under_it_says_why_it_stays(manager, engagement):
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Card form")
    client = manager.client()
    edit = client.get(url("milestone_update", deliverable.milestone_id)).text
    assert "Cannot be removed." in edit and "“Card form”" in edit
    response = client.post(url("milestone_delete", deliverable.milestone_id), {"confirm": "yes"})
    assert response.status_code == 409
    assert "“Card form”" in response.text
    assert Milestone.objects.filter(pk=deliverable.milestone_id).exists()


# --- query counts stay flat -----------------------------------------------------------------


def _queries(client, path: str, **kw) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, **kw).status_code == 200
    return len(captured)


def test_an_ended_engagements_page_costs_the_same_with_many_records(owner, manager):
    engagement = EngagementFactory(org=manager.org, owner=manager.user, status="completed")
    postmortems.open_postmortem(engagement=engagement)
    client = manager.client()
    SpendEntryFactory(engagement=engagement)
    InteractionFactory(engagement=engagement)
    MilestoneFactory(engagement=engagement)
    client.get(url("engagement_detail", engagement.pk))  # warm the session
    one = _queries(client, url("engagement_detail", engagement.pk))
    SpendEntryFactory.create_batch(19, engagement=engagement)
    InteractionFactory.create_batch(19, engagement=engagement)
    MilestoneFactory.create_batch(9, engagement=engagement)
    assert _queries(client, url("engagement_detail", engagement.pk)) == one


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_edit_page_costs_the_same_however_many_records_there_are(manager, engagement, kind):
    obj, name, *_ = KINDS[kind](engagement)
    client = manager.client()
    client.get(url(f"{name}_update", obj.pk))
    one = _queries(client, url(f"{name}_update", obj.pk))
    for make in KINDS.values():
        for _ in range(5):
            make(engagement)
    assert _queries(client, url(f"{name}_update", obj.pk)) == one
    assert _queries(client, url(f"{name}_update", obj.pk), headers=HX) <= one


def test_a_scope_change_a_deliverable_edit_wrote_is_corrected_but_not_removed(manager, engagement):
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Export")
    services.update_deliverable(
        deliverable=deliverable,
        by=manager.user,
        why="Finance wants PDF",
        title="Export to PDF",
    )
    change = ScopeChange.objects.get(deliverable=deliverable)
    client = manager.client()
    page = client.get(url("scope_change_update", change.pk)).text
    assert "It records a change made to the deliverable “Export to PDF”" in page
    response = client.post(url("scope_change_delete", change.pk), {"confirm": "yes"})
    assert ScopeChange.objects.filter(pk=change.pk).exists()
    assert response.status_code in (200, 409)
    saved = client.post(
        url("scope_change_update", change.pk),
        {"what_changed": change.what_changed, "why": "Finance wants PDF for the auditors"},
    )
    assert saved.status_code == 302
    change.refresh_from_db()
    assert change.why == "Finance wants PDF for the auditors"


def test_a_scope_change_removed_by_mistake_no_longer_counts_for_blurry_scope(manager, engagement):
    from engagements.watch import facts

    change = services.record_scope_change(
        engagement=engagement, by=manager.user, what_changed="Typo entry", why="Oops"
    )
    before = facts.collect(at=timezone.now(), engagement_ids=[engagement.pk])[engagement.pk]
    manager.client().post(url("scope_change_delete", change.pk), {"confirm": "yes"})
    after = facts.collect(at=timezone.now(), engagement_ids=[engagement.pk])[engagement.pk]
    assert len(before.scope_changes) == len(after.scope_changes) + 1


def test_a_vendor_check_in_says_why_it_stays_instead_of_offering_a_form(manager, engagement):
    checkin = InteractionFactory(engagement=engagement, source="portal", notes="On track")
    page = manager.client().get(url("interaction_update", checkin.pk)).text
    assert "The vendor wrote this check-in in the portal" in page
    assert 'name="notes"' not in page and ">Remove</button>" not in page
    assert "Back to the engagement" in page
