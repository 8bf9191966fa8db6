"""A Celery worker is SIGKILLed in the middle of a health sweep. Tasks are acknowledged
late, so Redis still holds the one it was running; after the visibility timeout another
worker gets it again, with the sweep's chunks that were still queued, and the sweep
completes. Afterwards every engagement has exactly the alert one clean sweep gives, opened
once, and each notification was queued and delivered once.

The workers, the broker, the database, the e-mail and the webhook receiver are all real;
only the visibility timeout is shortened (3 s instead of an hour)."""

from collections import Counter

import pytest
from django.db import connection

from engagements import tasks
from engagements.alerts import services as alerts
from engagements.models import (
    Alert,
    AlertEvent,
    Engagement,
    EngagementHealth,
    HealthSnapshot,
    Level,
    Notification,
    NotificationState,
)
from tests.conftest import wait_for
from tests.faults.conftest import (
    clean_sweep_verdict,
    purge,
    seed_engagements,
    sent_emails,
    verdict,
    wait_quietly,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = 3  # seconds before Redis gives a dead worker's task to another worker
ENGAGEMENTS = 5000  # a sweep of a couple of seconds, alerts opened in several transactions
WATCHED_EVERY = 50  # ~100 engagements in the organization with channels: mail to count
ATTEMPTS = 3


def _progress() -> tuple[int, int, int]:
    """What the sweep has committed so far: health rows, alerts, notifications."""
    return (
        EngagementHealth.unscoped.count(),
        Alert.unscoped.count(),
        Notification.unscoped.count(),
    )


def _mid_sweep_or_done(done: tuple[int, int, int]) -> tuple[int, int, int] | None:
    progress = _progress()
    return progress if 0 < progress[1] < done[1] or progress == done else None


def _forget_the_sweep(broker, mail_dir, receiver) -> None:
    """Back to the seeded data, before another attempt at killing the worker mid-sweep."""
    purge(broker)
    tables = [m._meta.db_table for m in (Notification, AlertEvent, Alert)]
    tables += [m._meta.db_table for m in (EngagementHealth, HealthSnapshot)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
    for path in mail_dir.glob("*"):
        path.unlink()
    receiver.keys.clear()


def test_a_worker_killed_mid_sweep_leaves_each_engagement_one_right_alert_notified_once(
    celery_programs, empty_broker, receivers, owner
):
    receiver = receivers()
    alerts.create_channel(org=owner.org, kind="email", name="Team")
    alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    watched = set(
        seed_engagements(
            n=ENGAGEMENTS, watched=owner.org, owner=owner.user, watched_every=WATCHED_EVERY
        )
    )
    expected = clean_sweep_verdict()
    done = (len(expected.levels), len(expected.alerts), sum(expected.notifications.values()))
    assert done[1] > 2000, "too few alerts for a sweep that can be interrupted"
    assert {e for e, _ in expected.notifications} & watched, "no notification to deliver"

    env = {
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        # Several chunk tasks: the kill finds some done, one running and others still queued.
        "HEALTH_SWEEP_CHUNK": str(ENGAGEMENTS // 3 + 1),
    }
    killed_at = None
    for attempt in range(ATTEMPTS):
        first = celery_programs.worker(f"first-{attempt}", **env)
        tasks.sweep_health.delay()
        # Kill once some alerts are committed and others are not (or notice we were late).
        seen = wait_for(lambda: _mid_sweep_or_done(done), timeout=60, interval=0.02)
        celery_programs.kill(first)
        after = _progress()  # a COMMIT already sent by the dying worker may have landed
        if 0 < after[1] < done[1]:
            killed_at = after
            break
        first.stop()
        _forget_the_sweep(empty_broker, celery_programs.mail_dir, receiver)
    else:
        pytest.fail(f"the sweep finished before the kill in {ATTEMPTS} attempts ({seen=})")

    wait_quietly(VISIBILITY_TIMEOUT + 1)  # the task stays invisible this long after delivery
    second = celery_programs.worker("second", **env)
    # Nobody sends another sweep: only the queued and the redelivered tasks can complete it.
    wait_for(lambda: _progress() == done, timeout=90, interval=0.2)
    tasks.dispatch_outbox.delay()
    wait_for(
        lambda: not Notification.unscoped.exclude(state=NotificationState.SENT).exists(),
        timeout=60,
        interval=0.2,
    )
    second.stop()

    got = verdict()
    context = f"killed after {killed_at} of {done} (health rows, alerts, notifications)"
    assert got.levels == expected.levels, context
    assert got.alerts == expected.alerts, context
    assert got.notifications == expected.notifications, context
    assert set(got.notifications.values()) == {1}, context
    assert Alert.unscoped.count() == len(expected.alerts), "an alert was opened twice"
    events = Counter(AlertEvent.unscoped.values_list("alert__engagement_id", "kind"))
    assert events == Counter({(e, "opened"): 1 for e in expected.alerts}), context

    titles = dict(Engagement.unscoped.filter(pk__in=watched).values_list("pk", "title"))
    alerted = {e: level for e, level in expected.alerts.items() if e in watched}
    mails = Counter(m["Subject"] for m in sent_emails(celery_programs.mail_dir))
    assert mails == Counter(f"[{Level(level).label}] {titles[e]}" for e, level in alerted.items())
    hooks = Notification.unscoped.filter(channel__kind="webhook")
    assert Counter(receiver.keys) == Counter(hooks.values_list("idempotency_key", flat=True))
    assert len(receiver.keys) == len(alerted)
