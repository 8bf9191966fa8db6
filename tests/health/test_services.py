"""The sweep, the alert lifecycle and the outbox, against the database."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagements.alerts import digest, outbox
from engagements.alerts import services as alerts
from engagements.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    DeliverableStatus,
    Engagement,
    EngagementHealth,
    EngagementStatus,
    EscalationPolicy,
    HealthSnapshot,
    Level,
    Notification,
    NotificationChannel,
    NotificationState,
    Outcome,
    SweepRun,
    WatchMark,
)
from engagements.watch import facts as metrics
from engagements.watch import services as watch
from engagements.watch import tasks as watch_tasks
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    OpenQuestionFactory,
    SpendEntryFactory,
)

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def day(n: int, hour: int = 9) -> datetime:
    return START + timedelta(days=n, hours=hour - 9)


def no_reminders(org) -> None:
    EscalationPolicy.objects.create(
        org=org,
        watch_audience=["engagement_owner"],
        warning_audience=["managers"],
        cut_losses_audience=["owners"],
        watch_remind_hours=0,
        warning_remind_hours=0,
        cut_losses_remind_hours=0,
    )


def channels(org) -> list[NotificationChannel]:
    return [
        alerts.create_channel(org=org, kind="email", name="Team e-mail"),
        alerts.create_channel(org=org, kind="webhook", name="Ops", url="http://127.0.0.1:9/hook"),
    ]


def sweep_on(n: int, hour: int = 9, **kwargs):
    with time_machine.travel(day(n, hour), tick=False):
        return watch.sweep(at=timezone.now(), **kwargs)


@pytest.fixture
def engagement(owner):
    with time_machine.travel(START, tick=False):
        engagement = EngagementFactory(org=owner.org, owner=owner.user, activated_at=START)
    return engagement


def weekly_contacts(engagement, days, comfort=4, outcome=Outcome.HELD):
    for n in days:
        InteractionFactory(
            engagement=engagement, occurred_at=day(n), comfort=comfort, outcome=outcome
        )


def test_a_relationship_going_bad_escalates_watch_warning_cut_losses_and_recovers(
    engagement, owner, manager
):
    org = owner.org
    no_reminders(org)
    channels(org)
    milestone = MilestoneFactory(engagement=engagement, due_date=day(60).date())
    accepted = DeliverableFactory(milestone=milestone)
    troubled = DeliverableFactory(milestone=milestone, status=DeliverableStatus.IN_PROGRESS)
    weekly_contacts(engagement, [0, 3, 7, 10, 14, 17, 21])
    accepted.status, accepted.accepted_at = DeliverableStatus.ACCEPTED, day(14)
    accepted.save()

    assert sweep_on(21).changes == []
    assert EngagementHealth.objects.get().level == Level.HEALTHY

    # Contacts thin out: two weeks without a held contact.
    sweep_on(35)
    assert Alert.objects.get().level == Level.WATCH

    # Our messages go unanswered and feel bad; nothing accepted for four weeks.
    weekly_contacts(engagement, [36, 38, 40], comfort=2, outcome=Outcome.UNANSWERED)
    sweep_on(42)
    assert Alert.objects.get().level == Level.WARNING, EngagementHealth.objects.get().signals

    # The same deliverable is rejected a second time; the signs persist for a week.
    troubled.status, troubled.times_rejected = DeliverableStatus.REJECTED, 2
    troubled.save()
    sweep_on(43)
    assert Alert.objects.get().level == Level.WARNING
    sweep_on(50)
    alert = Alert.objects.get()
    assert alert.level == Level.CUT_LOSSES
    assert EngagementHealth.objects.get().score <= 30

    # One alert, one notification per channel and level.
    sent = sorted(Notification.objects.values_list("level", "channel__kind", "sequence"))
    assert sent == sorted(
        (level, kind, 0)
        for level in (Level.WATCH, Level.WARNING, Level.CUT_LOSSES)
        for kind in ("email", "webhook")
    )

    # Things recover: held, comfortable contacts; the rejected work gets accepted.
    weekly_contacts(engagement, [51, 51, 51, 51, 51], comfort=5)
    troubled.status, troubled.accepted_at = DeliverableStatus.ACCEPTED, day(51)
    troubled.save()
    sweep_on(51, hour=10)
    assert EngagementHealth.objects.get().raw_level == Level.HEALTHY
    assert Alert.objects.get().status == AlertStatus.OPEN  # the lower level must hold 24 h
    sweep_on(52, hour=11)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert Alert.objects.count() == 1
    assert list(alert.events.values_list("kind", flat=True)) == [
        "opened",
        "escalated",
        "escalated",
        "resolved",
    ]
    assert alert.events.last().by is None  # the watcher
    assert HealthSnapshot.objects.filter(engagement=engagement).count() == 7


def silent(engagement_or_org, n=1):
    """Engagements whose vendor went silent (no held contact since the start, 40 days ago)."""
    return EngagementFactory.create_batch(n, org=engagement_or_org)


def test_overlapping_sweeps_never_open_a_second_alert_or_queue_twice(owner):
    channels(owner.org)
    with time_machine.travel(START, tick=False):
        engagement = EngagementFactory(org=owner.org, activated_at=START)
    at = day(20)
    watch.sweep(at=at)
    # A second worker ran the same tick (beat twice, a redelivered task): nothing new.
    again = watch.sweep(at=at)
    assert again.changes == [] and again.notifications == 0
    assert Alert.objects.filter(engagement=engagement).count() == 1
    assert Notification.objects.count() == 2
    # A sweep that read the state before the first one committed loses in the database.
    with pytest.raises(Exception):  # noqa: B017 -- IntegrityError, wrapped differently per DB
        from django.db import transaction

        with transaction.atomic():
            Alert.objects.create(org=owner.org, engagement=engagement, level=Level.WATCH)


SWEEP_RUN_STATEMENTS = 4  # active ids for the chunks, prune old runs, record, count done
CHUNK_QUERIES = (
    16  # reads of one chunk, whatever its size (one: vendors needing review; two: code activity)
)
RECONCILE_QUERIES = 1  # a full sweep's chunk also reads which engagements are marked


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if not q["sql"].lstrip().upper().startswith("SELECT")]


def test_a_second_sweep_with_no_changes_writes_nothing_but_its_own_record(
    owner, django_assert_num_queries
):
    with time_machine.travel(START, tick=False):
        EngagementFactory.create_batch(3, org=owner.org, activated_at=START)
    watch.sweep(at=day(20))
    with django_assert_num_queries(SWEEP_RUN_STATEMENTS + CHUNK_QUERIES + RECONCILE_QUERIES) as ctx:
        result = watch.sweep(at=day(20, hour=10))
    assert result.health_written == 0 and result.snapshots_written == 0
    assert all("sweeprun" in sql for sql in _writes(ctx.captured_queries))


@pytest.mark.parametrize("n", [5, 50])
def test_the_query_count_of_a_sweep_does_not_grow_with_engagements(
    owner, n, django_assert_num_queries
):
    with time_machine.travel(START, tick=False):
        for engagement in EngagementFactory.create_batch(n, org=owner.org, activated_at=START):
            InteractionFactory(engagement=engagement, occurred_at=day(1), comfort=3)
            DeliverableFactory(milestone=MilestoneFactory(engagement=engagement))
            SpendEntryFactory(engagement=engagement, date=day(2).date())
    watch.sweep(at=day(5))  # first sweep: everyone healthy, rows created
    with django_assert_num_queries(SWEEP_RUN_STATEMENTS + CHUNK_QUERIES + RECONCILE_QUERIES):
        watch.sweep(at=day(5, hour=12))


def test_a_sweep_in_chunks_gives_the_same_verdicts_and_records_its_run(owner, settings):
    """Chunks of 2: five engagements in three chunks, the same alerts as in one chunk."""
    with time_machine.travel(START, tick=False):
        quiet = EngagementFactory.create_batch(3, org=owner.org, activated_at=START)
        silent = EngagementFactory.create_batch(2, org=owner.org, activated_at=START)
    for engagement in quiet:
        InteractionFactory(engagement=engagement, occurred_at=day(19), comfort=4)
    settings.HEALTH_SWEEP_CHUNK = 2
    result = watch.sweep(at=day(20))
    assert result.engagements == 5
    assert set(Alert.objects.values_list("engagement_id", flat=True)) == {e.pk for e in silent}
    run = SweepRun.objects.get()
    assert (run.chunks, run.chunks_done, run.engagements) == (3, 3, 5)
    assert run.at == day(20) and run.finished_at is not None and run.seconds >= 0
    # A paused engagement's alert is resolved by the chunk its id falls in, first or last.
    for engagement in silent:
        engagement.status = EngagementStatus.PAUSED
        engagement.save(update_fields=["status"])
    watch.sweep(at=day(21))
    assert not Alert.objects.unresolved().exists()
    assert SweepRun.objects.count() == 2


def test_the_chunks_cover_every_id_so_no_alert_is_left_behind(owner):
    with time_machine.travel(START, tick=False):
        ids = [e.pk for e in EngagementFactory.create_batch(5, org=owner.org, activated_at=START)]
    _, ranges = watch.start_run(at=day(1), chunk_size=2)
    assert ranges == [(None, ids[2] - 1), (ids[2], ids[4] - 1), (ids[4], None)]
    Engagement.objects.update(status=EngagementStatus.COMPLETED)
    assert watch.start_run(at=day(2), chunk_size=2)[1] == [(None, None)]


def test_old_sweep_records_are_pruned(owner):
    watch.sweep(at=day(1))
    watch.sweep(at=day(40))
    assert list(SweepRun.objects.values_list("at", flat=True)) == [day(40)]


def test_facts_are_as_of_the_moment_so_a_missed_tick_costs_nothing(engagement):
    InteractionFactory(engagement=engagement, occurred_at=day(10), comfort=4)
    InteractionFactory(engagement=engagement, occurred_at=day(30), comfort=1)
    SpendEntryFactory(engagement=engagement, date=day(29).date(), amount=Decimal("2500"))
    OpenQuestionFactory(engagement=engagement, asked_at=day(19), answered_at=day(25))
    past = metrics.for_engagement(engagement, day(22))
    assert past["days_since_held_contact"] == 12
    assert past["comfort_avg_last_5"] == 4
    assert past["budget_spent_pct"] == 0
    assert past["unanswered_vendor_questions"] == 1
    now = metrics.for_engagement(engagement, day(31))
    assert now["comfort_avg_last_5"] == 2.5
    assert now["budget_spent_pct"] == 5
    assert now["unanswered_vendor_questions"] == 0


def test_escalation_wakes_a_snoozed_alert_and_reminders_follow_the_policy(engagement, owner):
    channels(owner.org)
    sweep_on(15)  # no held contact for 15 days: watch
    alert = Alert.objects.get()
    alerts.snooze_alert(alert=alert, by=owner.user, until=day(40), at=day(15))
    sweep_on(25)  # 25 days: warning, wakes up
    alert.refresh_from_db()
    assert (alert.level, alert.status) == (Level.WARNING, AlertStatus.OPEN)
    assert alert.events.filter(kind="escalated", note="woke up from snoozed").exists()
    sweep_on(25, hour=20)
    assert not Notification.objects.filter(sequence=1).exists()
    sweep_on(26, hour=10)  # 25 h later, still open: the daily reminder at warning
    assert Notification.objects.filter(level=Level.WARNING, sequence=1).count() == 2
    alerts.acknowledge_alert(alert=alert, by=owner.user, note="calling them", at=day(26, 11))
    sweep_on(28)
    assert not Notification.objects.filter(sequence=2).exists()


def test_snoozing_into_the_past_is_refused(engagement, owner):
    sweep_on(15)
    alert = Alert.objects.get()
    with pytest.raises(ValidationError, match="future"):
        alerts.snooze_alert(alert=alert, by=owner.user, until=day(14), at=day(15))
    assert AlertEvent.objects.filter(kind="snoozed").count() == 0


def test_terminating_cuts_losses_and_resolves_the_alert(engagement, owner):
    sweep_on(15)
    alerts.terminate_engagement(engagement=engagement, by=owner.user, reason="silent vendor")
    engagement.refresh_from_db()
    assert engagement.status == EngagementStatus.TERMINATED
    assert engagement.status_changes.get().reason == "silent vendor"
    assert Alert.objects.get().status == AlertStatus.RESOLVED
    assert engagement.postmortem.status == "draft"  # the review starts with the decision
    with pytest.raises(ValidationError):
        alerts.terminate_engagement(engagement=engagement, by=owner.user, reason="again")


def test_the_loss_summary_shows_spend_accepted_value_and_the_cost_to_finish(engagement):
    milestone = MilestoneFactory(engagement=engagement)
    DeliverableFactory(milestone=milestone, status=DeliverableStatus.ACCEPTED, accepted_at=day(5))
    DeliverableFactory(milestone=milestone)
    SpendEntryFactory(engagement=engagement, date=day(5).date(), amount=Decimal("20000"))
    summary = alerts.loss_summary(engagement=engagement, at=day(10))
    assert summary.spent == Decimal("20000")
    assert summary.accepted_value == Decimal("10000")
    assert summary.unaccepted_value == Decimal("10000")
    assert summary.projected_cost_to_finish == Decimal("20000.00")


def test_the_dispatcher_claims_each_row_once_and_retries_failures_with_backoff(
    engagement, owner, mailoutbox
):
    _email, webhook = channels(owner.org)  # the webhook points at a closed port
    sweep_on(15)
    assert outbox.dispatch_outbox(at=day(15)) == 1
    assert [m.subject for m in mailoutbox] == [f"[Watch] {engagement.title}"]
    assert mailoutbox[0].to == [owner.user.email]
    failed = Notification.objects.get(channel=webhook)
    assert failed.state == NotificationState.PENDING
    assert failed.attempts == 1
    assert "attempt 1" in failed.last_error
    assert failed.next_attempt_at == day(15) + timedelta(seconds=60)
    assert outbox.dispatch_outbox(at=day(15)) == 0  # not due yet; the e-mail is not re-sent
    assert len(mailoutbox) == 1


def test_an_alert_mail_sent_again_after_a_crash_carries_the_same_message_id(
    engagement, owner, mailoutbox, settings
):
    """A worker that dies between the SMTP send and recording it sends the mail again on the
    next run; the same Message-ID lets mail systems drop the second copy."""
    settings.SITE_URL = "https://vendorwatch.example.com"
    alerts.create_channel(org=owner.org, kind="email", name="Team e-mail")
    sweep_on(15)
    assert outbox.dispatch_outbox(at=day(15)) == 1
    row = Notification.objects.get()
    Notification.objects.update(state=NotificationState.PENDING)  # the record never happened
    assert outbox.dispatch_outbox(at=day(15)) == 1
    first, second = (m.message()["Message-ID"] for m in mailoutbox)
    assert first == second == f"<{row.idempotency_key}@vendorwatch.example.com>"


def test_a_failing_channel_is_tried_once_and_its_other_rows_wait_for_its_backoff(owner, mailoutbox):
    with time_machine.travel(START, tick=False):
        EngagementFactory.create_batch(3, org=owner.org, owner=owner.user, activated_at=START)
    _email, webhook = channels(owner.org)  # the webhook points at a closed port
    sweep_on(15)
    webhook_rows = Notification.objects.filter(channel=webhook)
    webhook_rows.update(next_attempt_at=day(14))  # overdue: they come first
    # The first window of 2 is all webhook rows; after one failure the e-mail gets in anyway.
    assert outbox.dispatch_outbox(at=day(15), limit=2) == 1
    assert sorted(webhook_rows.values_list("attempts", flat=True)) == [0, 0, 1]
    # The channel's other rows, not tried, wait as long as the failed one: the runs that
    # follow at once (a draining outbox) do not hammer a dead receiver.
    retry_at = day(15) + timedelta(seconds=60)
    assert set(webhook_rows.values_list("next_attempt_at", flat=True)) == {retry_at}
    assert outbox.dispatch_outbox(at=day(15)) == 2
    assert sorted(webhook_rows.values_list("attempts", flat=True)) == [0, 0, 1]
    assert len(mailoutbox) == 3
    assert outbox.dispatch_outbox(at=retry_at) == 0  # tried once more: still refused
    assert sorted(webhook_rows.values_list("attempts", flat=True)) == [0, 0, 2]


def test_a_dispatch_that_runs_out_of_time_leaves_the_message_pending_not_failed(
    engagement, owner, monkeypatch
):
    """Celery's soft time limit fires mid-delivery: the task must end, and the message must
    neither count as the receiver's failure nor be lost."""
    from celery.exceptions import SoftTimeLimitExceeded

    _email, webhook = channels(owner.org)
    sweep_on(15)
    Notification.objects.exclude(channel=webhook).delete()

    def out_of_time(*args):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(outbox, "_post_webhook", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        outbox.dispatch_outbox(at=day(15))
    row = Notification.objects.get(channel=webhook)
    assert (row.state, row.attempts, row.last_error) == (NotificationState.PENDING, 0, "")


def test_a_stale_claim_is_claimed_again(engagement, owner, mailoutbox, settings):
    settings.OUTBOX_CLAIM_SECONDS = 120
    channels(owner.org)
    sweep_on(15)
    Notification.objects.update(state=NotificationState.CLAIMED, claimed_at=day(15))
    assert outbox.dispatch_outbox(at=day(15) + timedelta(seconds=119)) == 0
    assert outbox.dispatch_outbox(at=day(15) + timedelta(seconds=121)) == 1


def test_a_webhook_url_must_be_http_and_public_in_production(settings):
    with pytest.raises(ValidationError, match="http"):
        outbox.check_webhook_url("ftp://example.com/hook")
    outbox.check_webhook_url("http://127.0.0.1:8000/hook")  # allowed in tests
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    with pytest.raises(ValidationError, match="private address"):
        outbox.check_webhook_url("http://127.0.0.1:8000/hook")
    with pytest.raises(ValidationError, match="private address"):
        outbox.check_webhook_url("http://169.254.169.254/latest")


def test_a_change_that_matters_is_marked_without_the_broker_and_the_steady_sweep_evaluates_it(
    engagement, monkeypatch
):
    from kombu.exceptions import OperationalError

    from engagements import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis: Connection refused.")

    # Patch the send, not the broker URL: a pool created for a dead URL outlives the test.
    monkeypatch.setattr(tasks.reevaluate_engagement, "apply_async", broker_down)
    monkeypatch.setattr(tasks.sweep_marked, "apply_async", broker_down)
    with time_machine.travel(day(15), tick=False):
        watch_tasks.mark_changed(engagement=engagement)
        assert WatchMark.objects.filter(engagement=engagement).exists()
        watch.sweep_marked()
    assert EngagementHealth.objects.get(engagement=engagement).level == Level.WATCH
    assert Alert.objects.filter(engagement=engagement).exists()
    assert not WatchMark.objects.exists()


def test_the_daily_digest_goes_once_to_members_who_did_not_opt_out(
    engagement, owner, manager, viewer, mailoutbox, django_assert_num_queries
):
    sweep_on(15)
    alerts.set_daily_digest(org=owner.org, user=viewer.user, enabled=False)
    assert digest.send_digest(at=day(16)) == 2  # the owner (also the engagement's), the manager
    assert viewer.user.email not in {m.to[0] for m in mailoutbox}
    # The later hourly runs of the day: preferences, today's digests, members; no alert read.
    with django_assert_num_queries(3):
        assert digest.send_digest(at=day(16, hour=15)) == 0


def test_the_digest_goes_at_seven_in_each_organizations_own_time_zone(
    engagement, owner, mailoutbox
):
    """Berlin (UTC+2 in September) gets it at 07:00 Berlin time; Los Angeles at 07:00 there."""
    sweep_on(15)
    assert digest.send_digest(at=day(16, hour=4)) == 0  # 06:00 in Berlin: still night
    assert digest.send_digest(at=day(16, hour=5)) == 1  # 07:00 in Berlin
    owner.org.time_zone = "America/Los_Angeles"
    owner.org.save(update_fields=["time_zone"])
    assert digest.send_digest(at=day(17, hour=10)) == 0  # 03:00 in Los Angeles
    assert digest.send_digest(at=day(17, hour=14)) == 1  # 07:00 in Los Angeles
    assert len(mailoutbox) == 2


def test_the_escalation_policy_decides_who_is_emailed_at_each_level(owner, manager, viewer):
    """Default: the engagement's owner at watch, + managers at warning, + owners at cut losses;
    viewers never. A saved policy changes it."""
    engagement = EngagementFactory(org=owner.org, owner=manager.user)

    def who(level: str) -> list[str]:
        return outbox.recipients(org_id=owner.org.pk, level=level, owner_id=engagement.owner_id)

    assert who(Level.WATCH) == [manager.user.email]
    assert who(Level.WARNING) == [manager.user.email]
    assert who(Level.CUT_LOSSES) == sorted([manager.user.email, owner.user.email])
    alerts.save_escalation_policy(
        org=owner.org,
        watch_audience=["owners"],
        warning_audience=["owners"],
        cut_losses_audience=["owners", "managers"],
    )
    assert who(Level.WATCH) == [owner.user.email]
    assert viewer.user.email not in who(Level.CUT_LOSSES)
