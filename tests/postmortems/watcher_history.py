"""Hand-built ended engagements for the watcher report's tests: rows as the services leave
them (status changes, transitions, interactions, spend), dated in the past, with a post-mortem."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from engagements.delivery.models import (
    DeliverableStatus,
    DeliverableTransition,
    EngagementStatus,
    EngagementStatusChange,
)
from engagements.postmortems.models import PostMortem, PostMortemOutcome
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    SpendEntryFactory,
)

START = date(2026, 3, 2)


def moment(day: int, hour: int = 10) -> datetime:
    return datetime.combine(START + timedelta(days=day), time(hour), UTC)


def ended_engagement(
    org,
    *,
    title: str,
    outcome: str,
    end: int,
    budget: int = 30000,
    deliverables: list[dict],
    calls: list[int],
    spend: dict[int, int],
):
    """An engagement active from day 0 (09:00) to ``end`` (10:00) of ``START``, its deliverables
    ({due, value, moves: [(day, status)]}), held calls and spend by day, and its post-mortem."""
    terminated = outcome in (PostMortemOutcome.CUT_LOSSES, PostMortemOutcome.CANCELLED)
    status = EngagementStatus.TERMINATED if terminated else EngagementStatus.COMPLETED
    e = EngagementFactory(
        org=org,
        title=title,
        budget=Decimal(budget),
        start_date=START,
        target_end_date=START + timedelta(days=end),
        status=status,
        activated_at=moment(0, 9),
        ended_at=moment(end),
    )
    for to, at in ((EngagementStatus.ACTIVE, moment(0, 9)), (status, moment(end))):
        EngagementStatusChange.objects.create(org=org, engagement=e, to_status=to, at=at)
    for spec in deliverables:
        milestone = MilestoneFactory(engagement=e, due_date=START + timedelta(days=spec["due"]))
        d = DeliverableFactory(milestone=milestone, value=Decimal(spec["value"]))
        old = DeliverableStatus.PLANNED
        for day, to in spec.get("moves", []):
            DeliverableTransition.objects.create(
                org=org, deliverable=d, from_status=old, to_status=to, at=moment(day)
            )
            old = to
        d.status = old
        d.save(update_fields=["status"])
    for day in calls:
        InteractionFactory(engagement=e, occurred_at=moment(day), comfort=4)
    for day, amount in spend.items():
        SpendEntryFactory(engagement=e, date=START + timedelta(days=day), amount=Decimal(amount))
    PostMortem.objects.create(org=org, engagement=e, outcome=outcome)
    return e


def silent_vendor(org, title: str = "Silent vendor"):
    """Calls for two weeks, then silence; work in progress never submitted; paid on: cut."""
    return ended_engagement(
        org,
        title=title,
        outcome=PostMortemOutcome.CUT_LOSSES,
        end=90,
        deliverables=[{"due": 30, "value": 30000, "moves": [(1, DeliverableStatus.IN_PROGRESS)]}],
        calls=[1, 8, 15],
        spend={2: 10000, 40: 10000, 60: 5000, 85: 5000},
    )


def quiet_partial(org, title: str = "Quiet partial"):
    """Friendly and on time until a late deliverable it never finished: partly delivered,
    and nothing for today's watcher to see in time."""
    return ended_engagement(
        org,
        title=title,
        outcome=PostMortemOutcome.PARTLY,
        end=70,
        deliverables=[
            {
                "due": 14,
                "value": 5000,
                "moves": [
                    (2, DeliverableStatus.IN_PROGRESS),
                    (12, DeliverableStatus.SUBMITTED),
                    (13, DeliverableStatus.ACCEPTED),
                ],
            },
            {"due": 68, "value": 25000, "moves": [(15, DeliverableStatus.IN_PROGRESS)]},
        ],
        calls=list(range(1, 70, 7)),
        spend={3: 5000, 40: 10000},
    )


def delivered(org, title: str = "Delivered"):
    """Weekly calls, each deliverable accepted a day before it is due, paid as accepted."""
    return ended_engagement(
        org,
        title=title,
        outcome=PostMortemOutcome.DELIVERED,
        end=62,
        deliverables=[
            {
                "due": due,
                "value": 10000,
                "moves": [
                    (due - 10, DeliverableStatus.IN_PROGRESS),
                    (due - 2, DeliverableStatus.SUBMITTED),
                    (due - 1, DeliverableStatus.ACCEPTED),
                ],
            }
            for due in (20, 40, 60)
        ],
        calls=list(range(1, 62, 7)),
        spend={19: 10000, 39: 10000, 59: 10000},
    )
