"""A Celery worker is SIGKILLed while it holds dirty marks (claimed, leased, mid-evaluation).

Thousands of engagements are marked for re-evaluation; the steady sweep's task claims them in
chunks and the worker is killed once some chunks have committed and others have not. Nothing
is lost: the marks it held stay in the database (only their lease runs out) and the unclaimed
ones wait; a second worker evaluates all of them. Nothing is sent twice: every engagement ends
with exactly the alert one clean sweep gives, opened once, and each notification is queued
and delivered once.

The workers, the broker, the database and the e-mail are real; the lease and the visibility
timeout are shortened. This test kills a worker only: PostgreSQL and Redis stay up.
"""

from collections import Counter

import pytest

from engagements import tasks
from engagements.alerts import services as alerts
from engagements.models import (
    Alert,
    AlertEvent,
    Engagement,
    EngagementHealth,
    Level,
    Notification,
    NotificationState,
    WatchMark,
)
from engagements.watch import marks
from tests.conftest import wait_for
from tests.faults.conftest import (
    clean_sweep_verdict,
    seed_engagements,
    sent_emails,
    verdict,
    wait_quietly,
)

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LEASE = 3  # seconds before marks held by a dead worker are claimed again
ENGAGEMENTS = 5000
CHUNK = 600  # several chunks: the kill finds some committed, one in hand, others waiting
WATCHED_EVERY = 50


def _progress() -> tuple[int, int]:
    return Alert.unscoped.count(), WatchMark.objects.count()


def test_a_worker_killed_holding_dirty_marks_loses_none_and_sends_nothing_twice(
    celery_programs, empty_broker, owner
):
    alerts.create_channel(org=owner.org, kind="email", name="Team")
    watched = set(
        seed_engagements(
            n=ENGAGEMENTS, watched=owner.org, owner=owner.user, watched_every=WATCHED_EVERY
        )
    )
    expected = clean_sweep_verdict()
    assert marks.mark_where(Engagement.unscoped.all()) == ENGAGEMENTS  # as writes would
    alerts_done = len(expected.alerts)
    assert alerts_done > 2000

    env = {
        "CELERY_VISIBILITY_TIMEOUT": str(LEASE),
        "WATCH_DIRTY_CHUNK": str(CHUNK),
        "WATCH_RUN_SECONDS": "1",
        "WATCH_CLAIM_SECONDS": str(LEASE),
    }
    first = celery_programs.worker("first", **env)
    tasks.sweep_marked.delay()

    def holding() -> bool:
        opened, _ = _progress()
        held = WatchMark.objects.filter(claimed_until__isnull=False).exists()
        return 0 < opened < alerts_done and held

    wait_for(holding, timeout=60, interval=0.02)
    celery_programs.kill(first)
    killed_at = _progress()
    assert killed_at[0] < alerts_done, "the sweep finished before the kill"
    assert WatchMark.objects.filter(claimed_until__isnull=False).exists(), "no mark was held"

    wait_quietly(LEASE + 1)  # the lease and the task's visibility run out
    second = celery_programs.worker("second", **env)
    tasks.sweep_marked.delay()  # beat's next tick
    wait_for(lambda: not WatchMark.objects.exists(), timeout=120, interval=0.2)
    tasks.dispatch_outbox.delay()
    wait_for(
        lambda: not Notification.unscoped.exclude(state=NotificationState.SENT).exists(),
        timeout=60,
        interval=0.2,
    )
    second.stop()

    got = verdict()
    context = f"killed after {killed_at} (alerts opened, marks left) of {alerts_done} alerts"
    assert got.levels == expected.levels, context
    assert EngagementHealth.unscoped.count() == ENGAGEMENTS, context
    assert got.alerts == expected.alerts, context
    assert got.notifications == expected.notifications, context
    assert set(got.notifications.values()) == {1}, context
    events = Counter(AlertEvent.unscoped.values_list("alert__engagement_id", "kind"))
    assert events == Counter({(e, "opened"): 1 for e in expected.alerts}), context

    titles = dict(Engagement.unscoped.filter(pk__in=watched).values_list("pk", "title"))
    alerted = {e: level for e, level in expected.alerts.items() if e in watched}
    mails = Counter(m["Subject"] for m in sent_emails(celery_programs.mail_dir))
    assert mails == Counter(f"[{Level(level).label}] {titles[e]}" for e, level in alerted.items())
