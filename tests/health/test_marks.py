"""Dirty marks, deadlines and the reconciliation counter: the watcher's cost follows what changes."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from engagements.alerts import services as alerts
from engagements.delivery import services as delivery
from engagements.delivery.models import Channel, Direction, Outcome
from engagements.models import Alert, AlertStatus, EngagementHealth, SweepRun, WatchMark
from engagements.watch import marks
from engagements.watch import services as watch
from tests.factories import EngagementFactory
from vendors import services as vendors
from vendors.models import Vendor, VendorStatus

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    return START + timedelta(days=n)


@pytest.fixture
def engagement(owner):
    with time_machine.travel(START, tick=False):
        return EngagementFactory(
            org=owner.org, owner=owner.user, activated_at=START, start_date=START.date()
        )


def call(engagement, user, at, **kw):
    with time_machine.travel(at, tick=False):
        return delivery.log_interaction(
            engagement=engagement,
            by=user,
            channel=Channel.CALL,
            direction=Direction.WE_TO_VENDOR,
            outcome=kw.pop("outcome", Outcome.HELD),
            occurred_at=at,
            **kw,
        )


def test_a_hundred_writes_to_one_engagement_cost_one_evaluation(engagement, owner):
    for minute in range(100):
        call(engagement, owner.user, START + timedelta(seconds=minute), comfort=4)
    assert WatchMark.objects.count() == 1  # one row, however many writes
    with time_machine.travel(START + timedelta(minutes=2), tick=False):
        step = watch.sweep_marked()
    assert (step.claimed, step.result.engagements, step.kept) == (1, 1, 0)
    assert not WatchMark.objects.exists()
    assert EngagementHealth.objects.get(engagement=engagement).level == "healthy"


def test_a_write_that_rolls_back_leaves_no_mark(engagement, owner):
    with pytest.raises(RuntimeError), transaction.atomic():
        call(engagement, owner.user, START)
        raise RuntimeError("the request failed after the write")
    assert not WatchMark.objects.exists()


def test_a_mark_made_while_the_engagement_is_evaluated_is_not_lost(engagement, owner, monkeypatch):
    call(engagement, owner.user, START)
    evaluate = watch.sweep_chunk

    def evaluate_while_someone_writes(**kwargs):
        result = evaluate(**kwargs)
        call(engagement, owner.user, START + timedelta(seconds=1))  # lands mid-evaluation
        return result

    monkeypatch.setattr(watch, "sweep_chunk", evaluate_while_someone_writes)
    with time_machine.travel(START + timedelta(seconds=2), tick=False):
        step = watch.sweep_marked()
    assert (step.claimed, step.kept) == (1, 1)
    mark = WatchMark.objects.get()
    assert mark.claimed_until is None  # free for the next step
    monkeypatch.setattr(watch, "sweep_chunk", evaluate)
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        assert watch.sweep_marked().claimed == 1
    assert not WatchMark.objects.exists()


def test_marks_held_by_a_worker_that_died_are_taken_again_after_the_lease(engagement, settings):
    marks.mark(engagement.pk)
    held = marks.claim(at=START, limit=10)  # ... and the worker is SIGKILLed here
    assert [c.engagement_id for c in held] == [engagement.pk]
    assert marks.claim(at=START + timedelta(seconds=5), limit=10) == []  # still leased
    later = START + timedelta(seconds=settings.WATCH_CLAIM_SECONDS + 1)
    assert [c.engagement_id for c in marks.claim(at=later, limit=10)] == [engagement.pk]


def test_a_quiet_engagement_is_next_checked_when_its_contact_grace_runs_out(engagement):
    marks.mark(engagement.pk)
    with time_machine.travel(START, tick=False):
        watch.sweep_marked(at=START)
    health = EngagementHealth.objects.get(engagement=engagement)
    # cadence 7 + grace 3: more than 10 whole days without held contact is a missed contact.
    assert health.next_check_at == START + timedelta(days=11)
    assert health.signals == []
    with time_machine.travel(day(10.9), tick=False):
        assert watch.sweep_marked(at=day(10.9)).claimed == 0  # nothing due, nothing read
    with time_machine.travel(day(11), tick=False):
        step = watch.sweep_marked(at=day(11))
    assert (step.promoted, step.claimed) == (1, 1)
    health.refresh_from_db()
    assert [s["kind"] for s in health.signals] == ["missed_contact"]
    # While the sign shows, its evidence counts days: checked again a day later.
    assert health.next_check_at == day(12)


def test_a_snooze_moves_the_next_check_to_its_end(engagement, owner):
    with time_machine.travel(day(20), tick=False):
        marks.mark(engagement.pk)
        watch.sweep_marked(at=day(20))
        alert = Alert.objects.get(engagement=engagement)
        alerts.snooze_alert(alert=alert, by=owner.user, until=day(20.5), at=day(20))
        assert WatchMark.objects.filter(engagement=engagement).exists()
        watch.sweep_marked(at=day(20))
    assert EngagementHealth.objects.get(engagement=engagement).next_check_at == day(20.5)
    with time_machine.travel(day(20.5), tick=False):
        watch.sweep_marked(at=day(20.5))
    assert Alert.objects.get(engagement=engagement).status == AlertStatus.OPEN


def test_a_vendor_whose_review_falls_due_marks_its_engagements(engagement, owner):
    vendor = Vendor.objects.get(pk=engagement.vendor_id)
    with time_machine.travel(START, tick=False):
        vendors.update_vendor(vendor=vendor, review_due_on=day(40).date())
    assert WatchMark.objects.filter(engagement=engagement).exists()
    assert vendor.status in (VendorStatus.ACTIVE, VendorStatus.APPROVED)
    with time_machine.travel(START, tick=False):
        watch.sweep_marked(at=START)
    # The review date is a deadline of its own (a day boundary), before the quiet contact's.
    assert EngagementHealth.objects.get(engagement=engagement).next_check_at == day(11)
    with time_machine.travel(START, tick=False):
        vendors.update_vendor(vendor=vendor, review_due_on=day(5).date())
        watch.sweep_marked(at=START)
    assert EngagementHealth.objects.get(engagement=engagement).next_check_at == datetime(
        2026, 9, 6, tzinfo=UTC
    )


def test_the_reconciliation_counts_what_the_incremental_path_missed(engagement, client):
    # An engagement written behind the services' back was never marked: the full sweep finds it.
    with time_machine.travel(day(20), tick=False):
        first = watch.sweep(at=day(20))
        assert first.fixed == 1
        assert client.get("/watcherz").json()["reconciliation_fixed"] == 1
        again = watch.sweep(at=day(20) + timedelta(minutes=5))
    assert again.fixed == 0
    assert SweepRun.objects.first().fixed == 0
    # Due work the steady sweep has not reached yet is not a miss.
    EngagementHealth.objects.filter(engagement=engagement).update(next_check_at=day(19))
    with time_machine.travel(day(21), tick=False):
        assert watch.sweep(at=day(21)).fixed == 0


def test_watcherz_turns_late_when_marks_wait_longer_than_the_steady_sweep_allows(
    engagement, client
):
    with time_machine.travel(START, tick=False):
        watch.sweep(at=START)  # a reconciliation just finished
        marks.mark(engagement.pk)
        assert client.get("/watcherz").json()["marked"] == 1
    with time_machine.travel(START + marks.Backlog.allowed() + timedelta(seconds=1)):
        late = client.get("/watcherz")
    assert late.status_code == 503 and late.json()["status"] == "late"
