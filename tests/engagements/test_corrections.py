"""Every record a person types can be corrected or removed: the services.

Each correction is saved through the model (audited), tells the watcher to re-evaluate, and
refuses with the reason when other facts depend on the record."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagements.delivery import hooks, services
from engagements.models import (
    Deliverable,
    DeliverableStatus,
    Engagement,
    ExitCriterion,
    Interaction,
    Milestone,
    ReadinessCheck,
    ScopeChange,
    Source,
    SpendEntry,
)
from engagements.postmortems import services as postmortems
from outsourcing.errors import Conflict
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


@pytest.fixture
def reevaluated(monkeypatch) -> list[int]:
    """The engagements the watcher was told to re-evaluate."""
    calls: list[int] = []
    monkeypatch.setattr(
        hooks.engagement_changed, "receivers", [lambda engagement: calls.append(engagement.pk)]
    )
    return calls


def _published(engagement, by):
    engagement.status = "completed"
    engagement.ended_at = timezone.now()
    engagement.save()
    pm = postmortems.open_postmortem(engagement=engagement)
    pm.outcome = "delivered"
    pm.save()
    return postmortems.publish_postmortem(postmortem=pm, by=by)


# --- the engagement and its readiness ---------------------------------------------------------


def test_correcting_the_engagement_saves_the_change_and_re_evaluates(
    manager, engagement, reevaluated
):
    services.update_engagement(
        engagement=engagement, by=manager.user, title="Checkout v2", budget=Decimal("45000")
    )
    engagement.refresh_from_db()
    assert (engagement.title, engagement.budget) == ("Checkout v2", Decimal("45000"))
    assert reevaluated == [engagement.pk]


def test_a_later_start_that_leaves_a_milestone_due_before_it_is_refused_by_name(
    manager, engagement
):
    MilestoneFactory(engagement=engagement, title="Beta", due_date=engagement.start_date)
    with pytest.raises(ValidationError) as exc:
        services.update_engagement(
            engagement=engagement,
            by=manager.user,
            start_date=engagement.start_date + dt.timedelta(days=5),
        )
    assert "“Beta”" in exc.value.message_dict["start_date"][0]
    engagement.refresh_from_db()
    assert engagement.start_date == Engagement.objects.get(pk=engagement.pk).start_date


def test_a_published_post_mortem_freezes_the_engagement_and_says_why(owner, manager, engagement):
    _published(engagement, owner.user)
    with pytest.raises(Conflict) as exc:
        services.update_engagement(engagement=engagement, by=manager.user, title="Rewritten")
    assert "post-mortem" in str(exc.value) and "published" in str(exc.value)
    assert Engagement.objects.get(pk=engagement.pk).title != "Rewritten"


def test_answering_readiness_again_replaces_the_verdict_and_drops_the_override(
    manager, engagement, reevaluated
):
    answers = {
        "has_concrete_target": False,
        "need_is_specific": True,
        "money_alternative": "Hire.",
        "internal_owner": "Max",
        "owner_hours_per_week": 4,
    }
    check = services.record_readiness(engagement=engagement, by=manager.user, **answers)
    services.override_readiness(check=check, by=manager.user, reason="Deadline.")
    services.update_readiness(
        engagement=engagement, by=manager.user, **(answers | {"has_concrete_target": True})
    )
    check = ReadinessCheck.objects.get(engagement=engagement)
    assert check.verdict == "ready"
    assert check.override_reason == ""
    assert reevaluated == [engagement.pk]


# --- milestones and deliverables ----------------------------------------------------------------


def test_a_milestone_is_corrected_and_the_watcher_re_evaluates(manager, engagement, reevaluated):
    milestone = MilestoneFactory(engagement=engagement)
    due = engagement.start_date + dt.timedelta(days=60)
    services.update_milestone(milestone=milestone, by=manager.user, title="Launch", due_date=due)
    milestone.refresh_from_db()
    assert (milestone.title, milestone.due_date) == ("Launch", due)
    assert reevaluated == [engagement.pk]


def test_a_milestone_due_before_the_start_is_refused_next_to_the_due_date(manager, engagement):
    milestone = MilestoneFactory(engagement=engagement, title="Beta")
    with pytest.raises(ValidationError) as exc:
        services.update_milestone(
            milestone=milestone,
            by=manager.user,
            title="Renamed",
            due_date=engagement.start_date - dt.timedelta(days=1),
        )
    assert "due_date" in exc.value.message_dict
    assert Milestone.objects.get(pk=milestone.pk).title == "Beta"  # nothing half-saved


def test_an_empty_milestone_is_removed(manager, engagement, reevaluated):
    milestone = MilestoneFactory(engagement=engagement)
    services.delete_milestone(milestone=milestone, by=manager.user)
    assert not Milestone.objects.filter(pk=milestone.pk).exists()
    assert reevaluated == [engagement.pk]


def test_a_milestone_with_accepted_work_cannot_be_removed_and_says_why(manager, engagement):
    deliverable = DeliverableFactory(
        milestone__engagement=engagement, title="Card form", status=DeliverableStatus.ACCEPTED
    )
    with pytest.raises(Conflict) as exc:
        services.delete_milestone(milestone=deliverable.milestone, by=manager.user)
    assert "“Card form”" in str(exc.value) and "accepted" in str(exc.value)
    assert Deliverable.objects.filter(pk=deliverable.pk).exists()


def test_a_milestone_holding_open_work_asks_to_move_it_first(manager, engagement):
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Card form")
    with pytest.raises(Conflict) as exc:
        services.delete_milestone(milestone=deliverable.milestone, by=manager.user)
    assert "move it to another milestone" in str(exc.value)


def test_removing_an_open_deliverable_is_a_scope_change_with_the_reason(manager, engagement):
    deliverable = DeliverableFactory(milestone__engagement=engagement, title="Card form")
    with pytest.raises(ValidationError) as exc:
        services.delete_deliverable(deliverable=deliverable, by=manager.user, why=" ")
    assert "why" in exc.value.message_dict
    services.delete_deliverable(deliverable=deliverable, by=manager.user, why="Provider does it.")
    assert not Deliverable.objects.filter(pk=deliverable.pk).exists()
    change = ScopeChange.objects.get(engagement=engagement)
    assert change.what_changed == "Removed the deliverable “Card form”"
    assert change.why == "Provider does it."


def test_an_accepted_deliverable_cannot_be_removed(manager, engagement):
    deliverable = DeliverableFactory(
        milestone__engagement=engagement,
        status=DeliverableStatus.ACCEPTED,
        accepted_at=timezone.now(),
    )
    with pytest.raises(Conflict, match="accepted work stays on the record"):
        services.delete_deliverable(deliverable=deliverable, by=manager.user, why="Oops")


# --- spend -------------------------------------------------------------------------------------


def _spend(entry, **changes):
    values = {
        "date": entry.date,
        "amount": entry.amount,
        "currency": entry.currency,
        "description": entry.description,
        "milestone": entry.milestone,
    }
    return services.update_spend(entry=entry, by=entry.engagement.owner, **(values | changes))


def test_spend_is_corrected_and_the_watcher_re_evaluates(engagement, reevaluated):
    entry = SpendEntryFactory(engagement=engagement)
    _spend(entry, amount=Decimal("1200.50"), description="Invoice 7")
    entry.refresh_from_db()
    assert (entry.amount, entry.description) == (Decimal("1200.50"), "Invoice 7")
    assert reevaluated == [engagement.pk]


def test_unchanged_spend_is_not_saved_again(engagement, reevaluated):
    entry = SpendEntryFactory(engagement=engagement)
    _spend(entry)
    assert reevaluated == []


def test_spend_moved_into_the_future_is_refused_as_when_recorded(engagement):
    entry = SpendEntryFactory(engagement=engagement, amount=Decimal("500"))
    with pytest.raises(ValidationError) as exc:
        _spend(
            entry,
            date=timezone.localdate() + dt.timedelta(days=30),
            amount=Decimal("900"),
        )
    assert exc.value.message_dict["date"] == [FUTURE_MESSAGE]
    assert SpendEntry.objects.get(pk=entry.pk).amount == Decimal("500")  # nothing half-saved


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": Decimal("0")}, "amount"),
        ({"currency": "USD"}, "currency"),
        ({"description": "  "}, "description"),
    ],
)
def test_bad_spend_corrections_name_their_field(engagement, changes, field):
    entry = SpendEntryFactory(engagement=engagement)
    with pytest.raises(ValidationError) as exc:
        _spend(entry, **changes)
    assert field in exc.value.message_dict


def test_spend_on_another_engagements_milestone_is_refused(engagement):
    entry = SpendEntryFactory(engagement=engagement)
    other = MilestoneFactory(engagement=EngagementFactory(org=engagement.org))
    with pytest.raises(ValidationError) as exc:
        _spend(entry, milestone=other)
    assert "milestone" in exc.value.message_dict


def test_spend_is_removed_and_the_watcher_re_evaluates(manager, engagement, reevaluated):
    entry = SpendEntryFactory(engagement=engagement)
    services.delete_spend(entry=entry, by=manager.user)
    assert not SpendEntry.objects.exists()
    assert reevaluated == [engagement.pk]


def test_spend_of_a_frozen_engagement_cannot_change(owner, manager, engagement):
    entry = SpendEntryFactory(engagement=engagement)
    _published(engagement, owner.user)
    entry.refresh_from_db()
    with pytest.raises(Conflict, match="frozen"):
        services.delete_spend(entry=entry, by=manager.user)
    with pytest.raises(Conflict, match="frozen"):
        _spend(entry, amount=Decimal("1"))
    assert SpendEntry.objects.filter(pk=entry.pk).exists()


def test_spend_of_an_ended_engagement_with_a_draft_post_mortem_can_still_change(
    manager, engagement
):
    entry = SpendEntryFactory(engagement=engagement)
    engagement.status = "terminated"
    engagement.save()
    postmortems.open_postmortem(engagement=engagement)
    _spend(entry, amount=Decimal("1"))
    assert SpendEntry.objects.get(pk=entry.pk).amount == Decimal("1")


# --- interactions ------------------------------------------------------------------------------


def _interaction(interaction, **changes):
    values = {
        "channel": interaction.channel,
        "direction": interaction.direction,
        "outcome": interaction.outcome,
        "occurred_at": interaction.occurred_at,
        "comfort": interaction.comfort,
        "response_hours": interaction.response_hours,
        "notes": interaction.notes,
    }
    return services.update_interaction(
        interaction=interaction, by=interaction.engagement.owner, **(values | changes)
    )


def test_an_interaction_is_corrected_and_the_watcher_re_evaluates(engagement, reevaluated):
    interaction = InteractionFactory(engagement=engagement, comfort=4)
    _interaction(interaction, comfort=2, notes="They missed the demo.")
    interaction.refresh_from_db()
    assert (interaction.comfort, interaction.notes) == (2, "They missed the demo.")
    assert reevaluated == [engagement.pk]


def test_an_interaction_moved_five_years_ahead_is_refused(engagement):
    interaction = InteractionFactory(engagement=engagement)
    with pytest.raises(ValidationError) as exc:
        _interaction(interaction, occurred_at=timezone.now() + dt.timedelta(days=5 * 365))
    assert exc.value.message_dict["occurred_at"] == [FUTURE_MESSAGE]


def test_answered_needs_the_hours_when_corrected_too(engagement):
    interaction = InteractionFactory(engagement=engagement)
    with pytest.raises(ValidationError) as exc:
        _interaction(interaction, outcome="answered", response_hours=None)
    assert "response_hours" in exc.value.message_dict


def test_a_vendor_check_in_from_the_portal_stays_as_the_vendor_wrote_it(manager, engagement):
    checkin = InteractionFactory(engagement=engagement, source=Source.PORTAL, notes="On track")
    with pytest.raises(Conflict, match="vendor wrote this check-in"):
        _interaction(checkin, notes="Edited")
    with pytest.raises(Conflict, match="vendor wrote this check-in"):
        services.delete_interaction(interaction=checkin, by=manager.user)
    assert Interaction.objects.get(pk=checkin.pk).notes == "On track"


def test_an_interaction_is_removed_and_the_watcher_re_evaluates(manager, engagement, reevaluated):
    interaction = InteractionFactory(engagement=engagement)
    services.delete_interaction(interaction=interaction, by=manager.user)
    assert not Interaction.objects.exists()
    assert reevaluated == [engagement.pk]


# --- exit criteria -----------------------------------------------------------------------------


def _criterion(engagement, by):
    return services.add_exit_criterion(
        engagement=engagement,
        by=by,
        criterion={
            "label": "Silent vendor",
            "combinator": "all",
            "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
        },
    )


def test_an_exit_criterion_is_redrawn_and_the_watcher_re_evaluates(
    manager, engagement, reevaluated
):
    criterion = _criterion(engagement, manager.user)
    reevaluated.clear()
    services.update_exit_criterion(
        criterion=criterion,
        by=manager.user,
        values={
            "label": "Silent for two weeks",
            "combinator": "any",
            "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 14}],
        },
    )
    criterion.refresh_from_db()
    assert criterion.label == "Silent for two weeks"
    assert criterion.conditions == [{"metric": "days_since_held_contact", "op": ">=", "value": 14}]
    assert reevaluated == [engagement.pk]


def test_an_exit_criterion_with_an_unknown_metric_is_refused_unchanged(manager, engagement):
    criterion = _criterion(engagement, manager.user)
    with pytest.raises(ValidationError):
        services.update_exit_criterion(
            criterion=criterion,
            by=manager.user,
            values={"label": "X", "conditions": [{"metric": "nope", "op": ">=", "value": 1}]},
        )
    assert ExitCriterion.objects.get(pk=criterion.pk).label == "Silent vendor"


def test_an_exit_criterion_is_removed(manager, engagement, reevaluated):
    criterion = _criterion(engagement, manager.user)
    reevaluated.clear()
    services.delete_exit_criterion(criterion=criterion, by=manager.user)
    assert not ExitCriterion.objects.exists()
    assert reevaluated == [engagement.pk]
