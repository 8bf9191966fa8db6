"""Decisions the watcher respects: an engagement taken out of the watcher (terminated,
completed, paused) gets no new alert and nobody is told about it; an alert resolved by hand
while its signals hold stays resolved until a signal gets worse or a new kind appears."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagements.alerts import digest, outbox
from engagements.alerts import services as alerts
from engagements.delivery import services as delivery
from engagements.models import (
    Alert,
    AlertStatus,
    DeliverableStatus,
    Engagement,
    EngagementStatus,
    Level,
    Notification,
    NotificationState,
)
from engagements.watch import services as watch
from engagements.watch import tasks as watch_tasks
from tests.factories import DeliverableFactory, EngagementFactory, MilestoneFactory
from tests.health.test_services import START, channels, day, sweep_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagement(owner):
    with time_machine.travel(START, tick=False):
        return EngagementFactory(org=owner.org, owner=owner.user, activated_at=START)


def _after_the_decision(engagement_id: int, n: int) -> None:
    """What used to reopen it: the re-evaluation the status change asks for after commit,
    the next full sweep, reminders hours later, the outbox and the digest."""
    with time_machine.travel(day(n, 10), tick=False):
        watch_tasks.reevaluate_engagement.apply(kwargs={"engagement_id": engagement_id})
    for hours in (11, 15, 23):
        sweep_on(n, hour=hours)
    sweep_on(n + 3)


def _decide(engagement, to: str, by, n: int) -> None:
    with time_machine.travel(day(n, 10), tick=False):
        if to == EngagementStatus.TERMINATED:
            alerts.terminate_engagement(engagement=engagement, by=by, reason="silent vendor")
        else:
            delivery.change_engagement_status(
                engagement=engagement, to=to, by=by, reason="silent vendor"
            )


@pytest.mark.parametrize(
    "decision",
    [EngagementStatus.TERMINATED, EngagementStatus.COMPLETED, EngagementStatus.PAUSED],
)
def test_a_decision_closes_the_alert_and_nothing_new_is_opened_or_sent(
    engagement, owner, mailoutbox, decision
):
    channels(owner.org)
    sweep_on(20)  # the vendor went silent: an alert, two notifications queued (not yet sent)
    alert = Alert.objects.get()
    assert Notification.objects.filter(state=NotificationState.PENDING).count() == 2

    _decide(engagement, decision, owner.user, 20)
    _after_the_decision(engagement.pk, 20)

    alert.refresh_from_db()
    assert Alert.objects.count() == 1, "a new alert was opened on a decided engagement"
    assert alert.status == AlertStatus.RESOLVED
    closed = alert.events.last()
    assert closed.kind == "closed" and closed.by == owner.user
    word = {"terminated": "terminated", "completed": "completed", "paused": "paused"}[decision]
    assert closed.note == f"the engagement was {word} by {owner.user} — silent vendor"
    assert list(alert.events.values_list("kind", flat=True)) == ["opened", "closed"]
    # Queued before the decision, never sent after it.
    assert set(Notification.objects.values_list("state", flat=True)) == {
        NotificationState.CANCELLED
    }
    assert outbox.dispatch_outbox(at=day(21)) == 0
    assert mailoutbox == []
    assert digest.send_digest(at=day(21, hour=8)) == 0


def test_a_paused_engagement_resumed_is_watched_again(engagement, owner):
    sweep_on(20)
    _decide(engagement, EngagementStatus.PAUSED, owner.user, 20)
    with time_machine.travel(day(22), tick=False):
        delivery.change_engagement_status(
            engagement=engagement, to=EngagementStatus.ACTIVE, by=owner.user
        )
    sweep_on(22, hour=11)
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == 1
    assert Alert.objects.count() == 2


def test_the_digest_leaves_out_an_alert_left_open_on_an_ended_engagement(engagement, owner):
    sweep_on(20)
    # Data from before decisions closed alerts: the engagement ended, the alert stayed open.
    Engagement.objects.filter(pk=engagement.pk).update(status=EngagementStatus.TERMINATED)
    assert digest.send_digest(at=day(21, hour=8)) == 0


def test_a_sweep_that_read_the_engagement_before_the_decision_opens_nothing_after_it(
    engagement, owner
):
    """The chunk collected its facts while the engagement was active; the decision committed
    before it opened alerts: the lock and the status check in the opening keep it closed."""
    _decide(engagement, EngagementStatus.TERMINATED, owner.user, 20)

    class Facts:
        org_id = owner.org.pk

    result = watch.SweepResult()
    alerts._open_alerts(
        [engagement.pk],
        {engagement.pk: Facts()},
        {engagement.pk: Level.WARNING},
        day(20),
        {},
        result,
    )
    assert not Alert.objects.filter(engagement=engagement).exists()


# --- resolve that sticks --------------------------------------------------------------------


def _resolve(alert, by, note="", n=12, hour=10):
    with time_machine.travel(day(n, hour), tick=False):
        return alerts.resolve_alert(alert=alert, by=by, note=note)


def test_resolving_while_the_signals_hold_needs_a_reason_and_then_holds(
    engagement, owner, mailoutbox
):
    channels(owner.org)
    sweep_on(12)  # no held contact for 12 days: missed contact, mild
    alert = Alert.objects.get()
    assert alerts.resolve_outlook(alert).needs_reason

    with pytest.raises(ValidationError) as refused:
        _resolve(alert, owner.user, note="  ")
    assert "still hold" in str(refused.value) and "snooze" in str(refused.value)
    assert Alert.objects.get().status == AlertStatus.OPEN

    _resolve(alert, owner.user, note="vendor on holiday, agreed")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.held_signals == {"missed_contact": 1}
    queued = Notification.objects.count()

    # Same signals, hours and days later: it stays resolved, nobody is told again.
    for n, hour in ((12, 11), (13, 9), (14, 9)):
        sweep_on(n, hour=hour)
    assert Alert.objects.count() == 1
    assert Notification.objects.count() == queued


def test_a_held_resolution_reopens_when_a_signal_gets_worse_and_says_why(engagement, owner):
    sweep_on(12)
    _resolve(Alert.objects.get(), owner.user, note="vendor on holiday")
    sweep_on(14)
    assert Alert.objects.count() == 1
    sweep_on(19)  # now 12 days over cadence + grace: missed contact is clear, not mild
    reopened = Alert.objects.exclude(status=AlertStatus.RESOLVED).get()
    assert reopened.events.get().note == (
        "reopened: missed contact got worse since it was resolved on 13 Sep 2026"
    )
    held = Alert.objects.filter(status=AlertStatus.RESOLVED).get()
    assert held.held_signals is None
    assert held.events.last().kind == "hold ended"


def test_a_held_resolution_reopens_when_a_new_kind_of_signal_appears(engagement, owner):
    sweep_on(12)
    _resolve(Alert.objects.get(), owner.user, note="vendor on holiday")
    with time_machine.travel(day(13), tick=False):
        DeliverableFactory(
            milestone=MilestoneFactory(engagement=engagement),
            status=DeliverableStatus.REJECTED,
            times_rejected=2,
        )
    sweep_on(13)
    reopened = Alert.objects.exclude(status=AlertStatus.RESOLVED).get()
    note = reopened.events.get().note
    assert note.startswith("reopened: ") and "stalled deliverable" in note, note
    assert note.endswith("appeared since it was resolved on 13 Sep 2026"), note


def test_resolving_after_the_signals_cleared_needs_no_reason(engagement, owner):
    sweep_on(12)
    alert = Alert.objects.get()
    with time_machine.travel(day(12, 11), tick=False):
        from tests.factories import InteractionFactory

        InteractionFactory(engagement=engagement, occurred_at=timezone.now(), comfort=4)
    sweep_on(12, hour=12)  # raw level healthy; the alert's level holds for a day
    assert Alert.objects.get().status == AlertStatus.OPEN
    alert = Alert.objects.get()
    assert not alerts.resolve_outlook(alert).needs_reason
    _resolve(alert, owner.user, note="", hour=13)
    assert Alert.objects.get().status == AlertStatus.RESOLVED
    sweep_on(12, hour=14)  # still at watch by the hold: no new alert for what was resolved
    sweep_on(13, hour=14)
    assert Alert.objects.count() == 1
    # The hold ended with the signals; the same sign coming back later is news again.
    sweep_on(40)
    assert Alert.objects.count() == 2


def test_a_decision_ends_a_hold(engagement, owner):
    sweep_on(12)
    _resolve(Alert.objects.get(), owner.user, note="vendor on holiday")
    _decide(engagement, EngagementStatus.PAUSED, owner.user, 13)
    assert not Alert.objects.filter(held_signals__isnull=False).exists()
    with time_machine.travel(day(13, 11) + timedelta(minutes=1), tick=False):
        delivery.change_engagement_status(
            engagement=engagement, to=EngagementStatus.ACTIVE, by=owner.user
        )
    sweep_on(13, hour=12)
    assert Alert.objects.exclude(status=AlertStatus.RESOLVED).count() == 1
