"""Delivery services: set-up, readiness, status, deliverable life cycle, spend, interactions."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from engagements.delivery import hooks, services
from engagements.models import (
    Deliverable,
    DeliverableTransition,
    Engagement,
    EngagementDefaults,
    EngagementStatusChange,
    ExitCriterion,
    Interaction,
    OpenQuestion,
    ReadinessVerdict,
    Risk,
    SpendEntry,
)
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    UserFactory,
    VendorFactory,
)
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db


def _setup(org, user, vendor, **overrides):
    data = {
        "org": org,
        "by": user,
        "vendor": vendor,
        "title": "Checkout rebuild",
        "goal": "Cut checkout drop-off in half.",
        "definition_of_done": "Drop-off below 20% for a month.",
        "budget": Decimal("30000"),
        "currency": "EUR",
        "start_date": dt.date(2026, 1, 1),
        "target_end_date": dt.date(2026, 6, 30),
        "owner": user,
    }
    return services.create_engagement(**(data | overrides))


@pytest.fixture
def changed(monkeypatch):
    """Engagement ids the health watcher was asked to re-evaluate."""
    calls = []
    monkeypatch.setattr(
        hooks.engagement_changed, "receivers", [lambda engagement: calls.append(engagement.pk)]
    )
    return calls


# --- set-up ---------------------------------------------------------------------------------


def test_engagement_with_an_approved_vendor_starts_as_a_draft_with_org_watch_defaults(manager):
    EngagementDefaults.objects.create(org=manager.org, contact_cadence_days=14)
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    engagement = _setup(manager.org, manager.user, vendor, presets=["rejected_twice"])
    assert engagement.status == "draft"
    assert engagement.contact_cadence_days == 14
    assert engagement.status_changes.get().to_status == "draft"
    criterion = ExitCriterion.objects.get(engagement=engagement)
    assert criterion.conditions == [
        {"metric": "deliverables_rejected_twice", "op": ">=", "value": 2.0}
    ]


def test_watch_defaults_are_created_on_first_use(manager):
    defaults = services.engagement_defaults(org=manager.org)
    assert defaults.contact_cadence_days == 7
    assert services.engagement_defaults(org=manager.org).pk == defaults.pk


def test_engaging_a_vendor_still_in_vetting_needs_a_recorded_reason(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.VETTING)
    with pytest.raises(ValidationError) as exc:
        _setup(manager.org, manager.user, vendor)
    assert "vendor_override_reason" in exc.value.error_dict
    assert not Engagement.objects.exists()

    engagement = _setup(
        manager.org, manager.user, vendor, vendor_override_reason="Only firm with the skill."
    )
    assert engagement.vendor_override_reason == "Only firm with the skill."
    assert engagement.vendor_override_by == manager.user


def test_another_organizations_vendor_is_refused(manager, outsider):
    vendor = VendorFactory(org=outsider.org, status=VendorStatus.APPROVED)
    with pytest.raises(ValidationError):
        _setup(manager.org, manager.user, vendor)


def test_an_unknown_preset_leaves_nothing_half_saved(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    with pytest.raises(ValidationError):
        _setup(manager.org, manager.user, vendor, presets=["rejected_twice", "nonsense"])
    assert not Engagement.objects.exists()
    assert not ExitCriterion.objects.exists()


# --- readiness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "specific", "alternative", "hours", "verdict"),
    [
        (True, True, "Hire a designer", 4, ReadinessVerdict.READY),
        (False, True, "Hire a designer", 4, ReadinessVerdict.TOO_SOON),
        (True, False, "Hire a designer", 4, ReadinessVerdict.TOO_SOON),
        (True, True, "Hire a designer", 1, ReadinessVerdict.RISKY),
        (True, True, "nothing", 6, ReadinessVerdict.RISKY),
    ],
)
def test_readiness_verdict_rule(target, specific, alternative, hours, verdict):
    assert (
        services.readiness_verdict(
            has_concrete_target=target,
            need_is_specific=specific,
            money_alternative=alternative,
            owner_hours_per_week=hours,
        )
        == verdict
    )


def _readiness(engagement, user, **overrides):
    answers = {
        "has_concrete_target": True,
        "need_is_specific": True,
        "money_alternative": "A hire",
        "internal_owner": "Max",
        "owner_hours_per_week": 4,
    }
    return services.record_readiness(engagement=engagement, by=user, **(answers | overrides))


def test_too_soon_engagement_activates_only_after_a_recorded_override(manager):
    engagement = EngagementFactory(org=manager.org, status="draft")
    check = _readiness(engagement, manager.user, has_concrete_target=False)
    assert check.verdict == "too_soon"
    with pytest.raises(ValidationError, match="too soon"):
        services.change_engagement_status(engagement=engagement, to="active", by=manager.user)
    services.override_readiness(check=check, by=manager.user, reason="Board deadline.")
    services.change_engagement_status(engagement=engagement, to="active", by=manager.user)
    engagement.refresh_from_db()
    assert engagement.status == "active"
    assert engagement.activated_at is not None
    check.refresh_from_db()
    assert (check.override_by, check.override_reason) == (manager.user, "Board deadline.")


def test_a_draft_without_a_readiness_check_cannot_be_activated(manager):
    engagement = EngagementFactory(org=manager.org, status="draft")
    with pytest.raises(ValidationError, match="readiness"):
        services.change_engagement_status(engagement=engagement, to="active", by=manager.user)


# --- engagement status ----------------------------------------------------------------------


def test_cutting_losses_records_who_when_and_why(manager, changed):
    engagement = EngagementFactory(org=manager.org, status="active")
    with pytest.raises(ValidationError):
        services.change_engagement_status(engagement=engagement, to="terminated", by=manager.user)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        services.change_engagement_status(
            engagement=engagement, to="terminated", by=manager.user, reason="Two months late."
        )
    change = EngagementStatusChange.objects.get(engagement=engagement)
    assert (change.from_status, change.to_status, change.by, change.reason) == (
        "active",
        "terminated",
        manager.user,
        "Two months late.",
    )
    assert change.at == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert Engagement.objects.get().ended_at == change.at
    assert changed == [engagement.pk]


def test_a_completed_engagement_cannot_be_reopened(manager):
    engagement = EngagementFactory(org=manager.org, status="completed")
    with pytest.raises(ValidationError, match="completed; it cannot become active"):
        services.change_engagement_status(engagement=engagement, to="active", by=manager.user)


def test_status_change_from_a_stale_copy_loses(manager):
    engagement = EngagementFactory(org=manager.org, status="active")
    stale = Engagement.objects.get(pk=engagement.pk)
    services.change_engagement_status(
        engagement=engagement, to="paused", by=manager.user, reason="x"
    )
    with pytest.raises(services.Conflict):
        services.change_engagement_status(engagement=stale, to="completed", by=manager.user)
    assert Engagement.objects.get().status == "paused"


# --- milestones and deliverables ------------------------------------------------------------


def test_milestone_due_before_the_engagement_starts_is_refused(manager):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError) as exc:
        services.add_milestone(
            engagement=engagement,
            title="Too early",
            due_date=engagement.start_date - dt.timedelta(days=1),
        )
    assert "due_date" in exc.value.error_dict


def test_milestones_are_appended_in_order(manager):
    engagement = EngagementFactory(org=manager.org)
    day = engagement.start_date + dt.timedelta(days=10)
    a = services.add_milestone(engagement=engagement, title="A", due_date=day)
    b = services.add_milestone(engagement=engagement, title="B", due_date=day)
    assert b.position == a.position + 1


def test_deliverable_under_another_organizations_milestone_is_refused(manager, outsider):
    engagement = EngagementFactory(org=manager.org)
    foreign = MilestoneFactory(engagement=EngagementFactory(org=outsider.org))
    with pytest.raises(ValidationError) as exc:
        services.add_deliverable(
            engagement=engagement,
            milestone=foreign,
            by=manager.user,
            title="Smuggled",
            due_date=engagement.start_date + dt.timedelta(days=5),
        )
    assert "milestone" in exc.value.error_dict
    assert not Deliverable.objects.filter(title="Smuggled").exists()


def _walk(deliverable, user, *steps):
    for to, note in steps:
        deliverable.refresh_from_db()
        services.transition_deliverable(deliverable=deliverable, to=to, by=user, note=note)
    deliverable.refresh_from_db()
    return deliverable


def test_deliverable_rejected_then_resubmitted_and_accepted_keeps_its_counters(manager, changed):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    with time_machine.travel(dt.datetime(2026, 2, 1, 9, tzinfo=dt.UTC), tick=False):
        _walk(deliverable, manager.user, ("in_progress", ""), ("submitted", ""))
    with time_machine.travel(dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC), tick=False):
        _walk(deliverable, manager.user, ("rejected", "Totals are wrong."))
    with time_machine.travel(dt.datetime(2026, 2, 5, 9, tzinfo=dt.UTC), tick=False):
        _walk(deliverable, manager.user, ("submitted", ""))
    with time_machine.travel(dt.datetime(2026, 2, 6, 9, tzinfo=dt.UTC), tick=False):
        d = _walk(deliverable, manager.user, ("accepted", ""))
    assert d.status == "accepted"
    assert d.times_rejected == 1
    assert d.submitted_at == dt.datetime(2026, 2, 5, 9, tzinfo=dt.UTC)
    assert d.accepted_at == d.status_changed_at == dt.datetime(2026, 2, 6, 9, tzinfo=dt.UTC)
    assert d.version == 6
    transitions = list(
        DeliverableTransition.objects.filter(deliverable=d).values_list(
            "from_status", "to_status", "note"
        )
    )
    assert transitions == [
        ("planned", "in_progress", ""),
        ("in_progress", "submitted", ""),
        ("submitted", "rejected", "Totals are wrong."),
        ("rejected", "submitted", ""),
        ("submitted", "accepted", ""),
    ]
    assert len(changed) == 5


def test_planned_deliverable_cannot_jump_to_accepted(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    with pytest.raises(ValidationError, match="cannot go from planned to accepted"):
        services.transition_deliverable(deliverable=deliverable, to="accepted", by=manager.user)
    assert not DeliverableTransition.objects.exists()


def test_accepting_without_acceptance_criteria_is_refused(manager):
    deliverable = DeliverableFactory(
        milestone__engagement__org=manager.org, acceptance_criteria="", status="submitted"
    )
    with pytest.raises(ValidationError, match="acceptance criteria"):
        services.transition_deliverable(deliverable=deliverable, to="accepted", by=manager.user)
    assert Deliverable.objects.get().status == "submitted"


def test_rejecting_needs_a_reason(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, status="submitted")
    with pytest.raises(ValidationError) as exc:
        services.transition_deliverable(deliverable=deliverable, to="rejected", by=manager.user)
    assert "note" in exc.value.error_dict


def test_two_reviewers_at_once_one_wins_and_the_other_is_told(manager, owner):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, status="submitted")
    seen_by_owner = Deliverable.objects.get(pk=deliverable.pk)
    services.transition_deliverable(
        deliverable=deliverable, to="accepted", by=manager.user, expected_version=1
    )
    with pytest.raises(services.Conflict, match="Someone else just reviewed"):
        services.transition_deliverable(
            deliverable=seen_by_owner, to="rejected", by=owner.user, note="No", expected_version=1
        )
    d = Deliverable.objects.get()
    assert (d.status, d.times_rejected) == ("accepted", 0)
    assert DeliverableTransition.objects.count() == 1


def test_a_stale_copy_without_expected_version_also_loses(manager, owner):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, status="submitted")
    stale = Deliverable.objects.get(pk=deliverable.pk)
    services.transition_deliverable(deliverable=deliverable, to="accepted", by=manager.user)
    with pytest.raises(services.Conflict):
        services.transition_deliverable(deliverable=stale, to="rejected", by=owner.user, note="x")


def test_vendor_submission_is_recorded_as_the_vendors(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, status="in_progress")
    t = services.transition_deliverable(
        deliverable=deliverable, to="submitted", by=None, by_vendor=True
    )
    assert t.by_vendor and t.by is None


@pytest.mark.parametrize("to", ["accepted", "rejected"])
def test_the_vendor_cannot_review_its_own_work(manager, to):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, status="submitted")
    with pytest.raises(ValidationError, match="Only our side"):
        services.transition_deliverable(
            deliverable=deliverable, to=to, by=None, by_vendor=True, note="fine"
        )
    assert Deliverable.objects.get().status == "submitted"


def test_scope_change_is_recorded_and_watched(manager, changed):
    engagement = EngagementFactory(org=manager.org)
    services.record_scope_change(
        engagement=engagement, by=manager.user, what_changed="Added refunds.", why="Close."
    )
    assert engagement.scope_changes.get().by == manager.user
    assert changed == [engagement.pk]


# --- spend ----------------------------------------------------------------------------------


def test_spend_in_another_currency_than_the_budget_is_refused(manager):
    engagement = EngagementFactory(org=manager.org, currency="EUR")
    with pytest.raises(ValidationError) as exc:
        services.record_spend(
            engagement=engagement,
            by=manager.user,
            date=dt.date(2026, 2, 1),
            amount=Decimal("100"),
            currency="USD",
            description="Invoice",
        )
    assert "currency" in exc.value.error_dict
    assert not SpendEntry.objects.exists()


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-5")])
def test_spend_must_be_positive(manager, amount):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError):
        services.record_spend(
            engagement=engagement,
            by=manager.user,
            date=dt.date(2026, 2, 1),
            amount=amount,
            currency="EUR",
            description="Invoice",
        )


def test_negative_spend_is_refused_by_the_database_too(manager):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(IntegrityError), transaction.atomic():
        SpendEntry.objects.create(
            org=manager.org,
            engagement=engagement,
            date=dt.date(2026, 2, 1),
            amount=Decimal("-1"),
            currency="EUR",
            description="x",
        )


def test_budget_burn_compares_spend_with_accepted_value(manager, changed):
    engagement = EngagementFactory(org=manager.org, budget=Decimal("10000"))
    DeliverableFactory(milestone__engagement=engagement, value=Decimal("3000"), status="accepted")
    DeliverableFactory(milestone__engagement=engagement, value=Decimal("5000"))
    services.record_spend(
        engagement=engagement,
        by=manager.user,
        date=dt.date(2026, 2, 1),
        amount=Decimal("8000"),
        currency="EUR",
        description="Invoice",
    )
    e = Engagement.objects.with_burn().get()
    burn = services.Burn(
        budget=e.budget,
        spent=e.spent,
        planned_value=e.planned_value,
        accepted_value=e.accepted_value,
    )
    assert (e.spent, e.accepted_value, e.planned_value) == (8000, 3000, 8000)
    assert (burn.spent_pct, burn.accepted_pct, burn.unearned) == (80, 30, 5000)
    assert changed == [engagement.pk]


# --- interactions and questions -------------------------------------------------------------


def test_logging_an_interaction_with_an_open_question(manager, changed):
    engagement = EngagementFactory(org=manager.org)
    interaction = services.log_interaction(
        engagement=engagement,
        by=manager.user,
        channel="call",
        direction="vendor_to_us",
        outcome="held",
        comfort=2,
        question="Which API version?",
        question_owed_by="us",
    )
    question = OpenQuestion.objects.get()
    assert (question.interaction, question.owed_by, question.answered_at) == (
        interaction,
        "us",
        None,
    )
    services.answer_question(question=question, answer="v2")
    question.refresh_from_db()
    assert question.answered_at is not None and question.answer == "v2"
    assert changed == [engagement.pk, engagement.pk]


def test_answered_interaction_needs_the_hours(manager):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError):
        services.log_interaction(
            engagement=engagement,
            by=manager.user,
            channel="email",
            direction="we_to_vendor",
            outcome="answered",
        )
    assert not Interaction.objects.exists()


def test_comfort_outside_one_to_five_is_refused(manager):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError):
        services.log_interaction(
            engagement=engagement,
            by=manager.user,
            channel="call",
            direction="we_to_vendor",
            outcome="held",
            comfort=7,
        )


# --- scope changes by editing a deliverable ---------------------------------------------------


def test_changing_a_deliverable_records_a_scope_change_with_what_and_why(manager, changed):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org, value=Decimal("100"))
    change = services.update_deliverable(
        deliverable=deliverable,
        by=manager.user,
        why="Sales promised SSO.",
        acceptance_criteria="Works with SSO.",
        value=Decimal("150"),
    )
    assert change.deliverable == deliverable and change.by == manager.user
    assert "acceptance criteria" in change.what_changed and "→ 150" in change.what_changed
    assert change.why == "Sales promised SSO."
    d = Deliverable.objects.get()
    assert (d.value, d.version) == (Decimal("150"), 2)
    assert changed == [d.engagement_id]


def test_an_unchanged_deliverable_records_nothing(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    assert (
        services.update_deliverable(
            deliverable=deliverable, by=manager.user, why="", title=deliverable.title
        )
        is None
    )


def test_a_scope_change_needs_a_reason(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    with pytest.raises(ValidationError) as exc:
        services.update_deliverable(deliverable=deliverable, by=manager.user, why="", title="New")
    assert "why" in exc.value.error_dict


def test_moving_a_deliverable_to_another_organizations_milestone_is_refused(manager, outsider):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    foreign = MilestoneFactory(engagement=EngagementFactory(org=outsider.org))
    with pytest.raises(ValidationError) as exc:
        services.update_deliverable(
            deliverable=deliverable, by=manager.user, why="x", milestone=foreign
        )
    assert "milestone" in exc.value.error_dict
    assert Deliverable.objects.get(pk=deliverable.pk).milestone_id == deliverable.milestone_id


def test_editing_a_stale_deliverable_loses(manager):
    deliverable = DeliverableFactory(milestone__engagement__org=manager.org)
    with pytest.raises(services.Conflict):
        services.update_deliverable(
            deliverable=deliverable, by=manager.user, why="x", title="New", expected_version=7
        )


def test_watch_settings_change_is_validated_and_watched(manager, changed):
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError) as exc:
        services.update_watch_settings(engagement=engagement, contact_cadence_days=0)
    assert "contact_cadence_days" in exc.value.error_dict
    services.update_watch_settings(engagement=engagement, contact_cadence_days=14, stall_days=30)
    engagement.refresh_from_db()
    assert (engagement.contact_cadence_days, engagement.stall_days) == (14, 30)
    assert changed == [engagement.pk]


def test_a_risk_owned_by_a_stranger_is_refused_by_the_service(manager):
    """The API and the risk form offer members only; the service keeps the rule for both."""
    engagement = EngagementFactory(org=manager.org)
    with pytest.raises(ValidationError, match="member of this organization") as refused:
        services.add_risk(
            engagement=engagement,
            description="Key developer leaves",
            likelihood="high",
            impact="high",
            owner=UserFactory(),
        )
    assert refused.value.message_dict == {
        "owner": ["The owner must be a member of this organization."]
    }
    assert not Risk.objects.exists()
