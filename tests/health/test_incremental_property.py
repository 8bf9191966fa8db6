"""The incremental watcher (dirty marks + deadlines) agrees with the full sweep (hypothesis).

Random histories: writes through the services at random moments (calls and their comfort,
messages left unanswered, vendor questions and our answers, spend, submissions, acceptances,
rejections, scope changes, snoozes, acknowledgements, work started, deliverable rules and
code activity from a forge, renewing the contract or giving notice), a vendor whose review
falls due, a contract (renewing or not) whose decide-by date comes within the history, in an
organization east or west of UTC (its reminders and "decide before renewal" follow the
organization's midnight). The
steady sweep runs as beat would: at every write and at every ``next_check_at`` it set, never
in between. At random moments the full sweep (a reconciliation chunk, as the daily pass runs
it) evaluates the same engagement at the same moment, and again just before each deadline:
it must find nothing to change, so the levels, signals, alerts and queued notifications are
the same either way.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Min
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagements.alerts import services as alerts
from engagements.alerts.models import Alert, AlertStatus, Notification
from engagements.delivery import services as delivery
from engagements.delivery.models import (
    ActivityKind,
    Channel,
    Deliverable,
    DeliverableStatus,
    Direction,
    OpenQuestion,
    Outcome,
    Side,
)
from engagements.forges import services as forges
from engagements.watch import marks
from engagements.watch import services as watch
from engagements.watch.models import EngagementHealth, WatchMark
from outsourcing.errors import Conflict
from tests.factories import EngagementFactory
from vendors import services as vendors
from vendors.models import Contract, Vendor, VendorStatus

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
ACTIONS = (
    "call",
    "unanswered",
    "no_show",
    "we_no_show",
    "vendor_question",
    "answer",
    "spend",
    "submit",
    "accept",
    "reject",
    "scope",
    "snooze",
    "acknowledge",
    "start",
    "rule",
    "activity",
    "activity_on_work",
    "renew",
    "give_notice",
    "idle",
)

steps = st.lists(
    st.tuples(
        # How long after the previous step: minutes to three weeks, mostly days.
        st.one_of(st.integers(0, 180), st.integers(0, 21 * 24 * 60)),
        st.sampled_from(ACTIONS),
        st.integers(1, 5),  # comfort, amount, hours of a snooze...
        st.booleans(),  # reconcile at this moment?
    ),
    min_size=3,
    max_size=14,
)
plans = st.tuples(
    st.lists(st.integers(0, 80), min_size=1, max_size=3),  # deliverables' due days
    st.lists(st.booleans(), min_size=3, max_size=3),  # each has acceptance criteria
    st.integers(1, 90),  # the vendor's review falls due on this day
    st.integers(2, 70),  # the contract's decide-by date, this many days after the start
    st.booleans(),  # it renews by itself
    st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles", "Pacific/Auckland"]),
    st.booleans(),  # an exit line the silence may cross (the engagement fails)
)


def _steady(until: datetime, engagement_id: int) -> None:
    """The steady sweep up to ``until``: at each deadline it set, then at ``until``. Just
    before each deadline the full sweep must agree that nothing changed yet (a deadline set
    too late shows there first)."""
    for _ in range(500):
        due = EngagementHealth.unscoped.aggregate(m=Min("next_check_at"))["m"]
        if due is None or due > until:
            break
        _reconcile(due - timedelta(microseconds=1), engagement_id)
        with time_machine.travel(due, tick=False):
            watch.sweep_marked(at=due)
    else:
        pytest.fail("the deadlines never settled")
    with time_machine.travel(until, tick=False):
        while watch.sweep_marked(at=until).claimed:
            pass
    assert not WatchMark.objects.exists()


def _reconcile(at: datetime, engagement_id: int) -> None:
    """A reconciliation chunk holding the engagement, at ``at``: it must change nothing."""
    before = _state(engagement_id)
    with time_machine.travel(at, tick=False):
        result = watch.sweep_chunk(at=at, id_range=(engagement_id, engagement_id), reconcile=True)
    assert (result.fixed, result.changes) == (0, []), f"at {at}"
    assert _state(engagement_id) == before, f"at {at}"


def _state(engagement_id: int):
    health = (
        EngagementHealth.unscoped.filter(engagement_id=engagement_id)
        .values("score", "level", "raw_level", "lower_since", "signals")
        .first()
    )
    alert_rows = list(
        Alert.unscoped.filter(engagement_id=engagement_id)
        .order_by("pk")
        .values("level", "status", "snoozed_until", "held_signals")
    )
    queued = list(
        Notification.unscoped.filter(alert__engagement_id=engagement_id)
        .order_by("pk")
        .values("alert_id", "channel_id", "level", "sequence")
    )
    reminded = list(
        Notification.unscoped.filter(contract__engagements=engagement_id)
        .order_by("pk")
        .values("contract_id", "decide_by", "channel_id", "level", "sequence")
    )
    return health, alert_rows, queued, reminded


def _act(action: str, n: int, at: datetime, engagement, user) -> None:
    e = engagement
    deliverables = list(Deliverable.unscoped.filter(engagement=e).order_by("pk"))
    alert = Alert.unscoped.filter(engagement=e).exclude(status=AlertStatus.RESOLVED).first()
    talk = {"engagement": e, "by": user, "occurred_at": at, "channel": Channel.CALL}
    if action == "call":
        delivery.log_interaction(
            **talk, direction=Direction.WE_TO_VENDOR, outcome=Outcome.HELD, comfort=n
        )
    elif action == "unanswered":
        delivery.log_interaction(
            **talk, direction=Direction.WE_TO_VENDOR, outcome=Outcome.UNANSWERED
        )
    elif action in ("no_show", "we_no_show"):
        outcome = Outcome.VENDOR_NO_SHOW if action == "no_show" else Outcome.WE_NO_SHOW
        delivery.log_interaction(**talk, direction=Direction.WE_TO_VENDOR, outcome=outcome)
    elif action == "vendor_question":
        delivery.log_interaction(
            **talk,
            direction=Direction.VENDOR_TO_US,
            outcome=Outcome.HELD,
            question="Which environment do we deploy to?",
            question_owed_by=Side.US,
        )
    elif action == "answer":
        question = OpenQuestion.unscoped.filter(engagement=e, answered_at__isnull=True).first()
        if question:
            delivery.answer_question(question=question, answer="Staging.", at=at)
    elif action == "spend":
        delivery.record_spend(
            engagement=e,
            by=user,
            date=at.date(),
            amount=Decimal(4000 * n),
            currency=e.currency,
            description="invoice",
        )
    elif action == "submit" and deliverables:
        d = deliverables[n % len(deliverables)]
        delivery.submit_deliverable(deliverable=d, by=user, at=at)
    elif action in ("accept", "reject"):
        submitted = [d for d in deliverables if d.status == DeliverableStatus.SUBMITTED]
        if submitted:
            to = DeliverableStatus.ACCEPTED if action == "accept" else DeliverableStatus.REJECTED
            delivery.transition_deliverable(
                deliverable=submitted[0], to=to, by=user, note="not yet", at=at
            )
    elif action == "scope":
        delivery.record_scope_change(
            engagement=e, by=user, what_changed="More screens", why="sales asked", at=at
        )
    elif action == "start" and deliverables:
        d = deliverables[n % len(deliverables)]
        delivery.transition_deliverable(deliverable=d, to=DeliverableStatus.IN_PROGRESS, by=user)
    elif action == "rule" and deliverables:
        d = deliverables[n % len(deliverables)]
        forges.add_activity_rule(
            engagement=e, by=user, deliverable=d, match="branch", pattern=f"part-{d.pk}/*"
        )
    elif action in ("activity", "activity_on_work"):
        # Code activity from a forge: on the engagement, or on a deliverable (its rule's branch).
        d = deliverables[n % len(deliverables)] if deliverables else None
        kinds = (ActivityKind.COMMITS, ActivityKind.OPENED, ActivityKind.MERGED)
        delivery.record_activity(
            engagement=e,
            activities=[
                delivery.Activity(
                    origin=f"prop:{at.isoformat()}:{action}:{n}",
                    kind=kinds[n % 3],
                    occurred_at=at,
                    source="github",
                    deliverable_id=d.pk if d and action == "activity_on_work" else None,
                )
            ],
        )
    elif action == "snooze" and alert and alert.status != AlertStatus.SNOOZED:
        alerts.snooze_alert(alert=alert, by=user, until=at + timedelta(hours=9 * n), at=at)
    elif action == "acknowledge" and alert and alert.status == AlertStatus.OPEN:
        alerts.acknowledge_alert(alert=alert, by=user, at=at)
    elif action in ("renew", "give_notice") and e.contract_id:
        contract = Contract.unscoped.get(pk=e.contract_id)
        vendors.decide_contract(contract=contract, by=user, kind=action, reason="decided", at=at)


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(plan=plans, history=steps)
def test_the_incremental_watcher_and_the_full_sweep_agree_at_any_moment(owner, plan, history):
    due_days, criteria, review_day, decide_day, renews, zone, exit_line = plan
    with transaction.atomic():
        owner.org.time_zone = zone
        owner.org.save()
        with time_machine.travel(START, tick=False):
            e = EngagementFactory(
                org=owner.org, owner=owner.user, activated_at=START, start_date=START.date()
            )
            end = (START + timedelta(decide_day + 30)).date()
            contract = vendors.add_contract(
                vendor=e.vendor,
                by=owner.user,
                title="MSA",
                start_date=START.date() - timedelta(days=200),
                end_date=end,
                auto_renews=renews,
                renewal_months=12,
                notice_period=30,
                value=Decimal(60000),
            )
            delivery.update_engagement(engagement=e, by=owner.user, contract=contract)
            if exit_line:
                delivery.add_exit_criterion(
                    engagement=e,
                    by=owner.user,
                    criterion={
                        "label": "Silent",
                        "combinator": "all",
                        "conditions": [
                            {"metric": "days_since_held_contact", "op": ">=", "value": 10}
                        ],
                    },
                )
            Vendor.unscoped.filter(pk=e.vendor_id).update(
                status=VendorStatus.ACTIVE, review_due_on=(START + timedelta(review_day)).date()
            )
            alerts.create_channel(org=owner.org, kind="email", name="Team e-mail")
            milestone = delivery.add_milestone(
                engagement=e, title="Beta", due_date=(START + timedelta(max(due_days))).date()
            )
            for i, days in enumerate(due_days):
                delivery.add_deliverable(
                    engagement=e,
                    milestone=milestone,
                    by=owner.user,
                    title=f"Part {i}",
                    due_date=(START + timedelta(days)).date(),
                    acceptance_criteria="Works on staging." if criteria[i] else "",
                    value=Decimal(10000),
                )
            marks.mark(e.pk)
        at = START
        _steady(at, e.pk)
        for minutes, action, n, reconcile in history:
            at += timedelta(minutes=minutes)
            _steady(at, e.pk)
            with time_machine.travel(at, tick=False):
                try:
                    with transaction.atomic():
                        _act(action, n, at, e, owner.user)
                except (ValidationError, Conflict):
                    pass  # a step the life cycle refuses (accepting without criteria...)
            _steady(at, e.pk)
            if reconcile:
                _reconcile(at, e.pk)
        transaction.set_rollback(True)
