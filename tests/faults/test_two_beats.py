"""Two Celery beats run at once (a misconfiguration: production runs exactly one, but a
second host or a forgotten container does it). Each sends every sweep tick, so the sweep
runs twice per interval, overlapping on a worker with two processes. The effects are still
one sweep's: one alert per troubled engagement, opened once, one notification per alert and
channel, one e-mail and one webhook call per alert.

Beats, worker, broker, database, e-mail and receiver are real; the sweep interval is the
shortest the settings allow."""

from collections import Counter
from itertools import combinations

import pytest

from engagements import tasks
from engagements.alerts import services as alerts
from engagements.models import Alert, AlertEvent, Engagement, Level, Notification, SweepRun
from engagements.models import NotificationState as State
from tests.conftest import wait_for
from tests.faults.conftest import clean_sweep_verdict, seed_engagements, sent_emails, verdict

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

INTERVAL = 10  # seconds: the smallest HEALTH_SWEEP_INTERVAL_SECONDS the settings accept
TICKS = 2  # sweep ticks to wait for from each beat
ENGAGEMENTS = 4000  # a first sweep of a second or more, so the two beats' sweeps overlap
WATCHED_EVERY = 30
SENT = "Sending due task sweep-health (engagements.tasks.sweep_health)"


def test_two_beats_at_once_still_give_one_sweeps_effects(celery_programs, receivers, owner):
    receiver = receivers()
    alerts.create_channel(org=owner.org, kind="email", name="Team")
    alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    watched = set(
        seed_engagements(
            n=ENGAGEMENTS, watched=owner.org, owner=owner.user, watched_every=WATCHED_EVERY
        )
    )
    expected = clean_sweep_verdict()
    assert {e for e, _ in expected.notifications} & watched, "no notification to deliver"

    env = {
        "HEALTH_SWEEP_INTERVAL_SECONDS": str(INTERVAL),
        # One chunk per tick: the two beats' sweeps then work on the same engagements at once.
        "HEALTH_SWEEP_CHUNK": str(2 * ENGAGEMENTS),
    }
    worker = celery_programs.worker("worker", concurrency=2, **env)
    beats = [celery_programs.beat(f"beat-{i}", **env) for i in (1, 2)]
    wait_for(
        lambda: all(beat.log().count(SENT) >= TICKS for beat in beats),
        timeout=INTERVAL * (TICKS + 3),
        interval=0.5,
    )
    for beat in beats:
        beat.stop()
    ticks = sum(beat.log().count(SENT) for beat in beats)
    finished = SweepRun.objects.filter(finished_at__isnull=False)
    wait_for(lambda: finished.count() >= ticks, timeout=60, interval=0.5)
    assert "raised unexpected" not in worker.log(), worker.log()
    runs = list(finished.values_list("at", "finished_at"))
    assert any(a[0] < b[1] and b[0] < a[1] for a, b in combinations(runs, 2)), (
        f"no two sweeps ran at once: {runs}"
    )
    tasks.dispatch_outbox.delay()
    wait_for(
        lambda: not Notification.unscoped.exclude(state=State.SENT).exists(),
        timeout=60,
        interval=0.2,
    )
    worker.stop()

    got = verdict()
    assert got.levels == expected.levels
    assert got.alerts == expected.alerts
    assert got.notifications == expected.notifications
    assert set(got.notifications.values()) == {1}
    assert Alert.unscoped.count() == len(expected.alerts), "an alert was opened twice"
    events = Counter(AlertEvent.unscoped.values_list("alert__engagement_id", "kind"))
    assert events == Counter({(e, "opened"): 1 for e in expected.alerts})

    titles = dict(Engagement.unscoped.filter(pk__in=watched).values_list("pk", "title"))
    alerted = {e: level for e, level in expected.alerts.items() if e in watched}
    # The daily digest ("… open alerts in …") would join in if a run crossed 07:00 UTC.
    subjects = [m["Subject"] for m in sent_emails(celery_programs.mail_dir)]
    mails = Counter(s for s in subjects if " open alert" not in s)
    assert mails == Counter(f"[{Level(level).label}] {titles[e]}" for e, level in alerted.items())
    hooks = Notification.unscoped.filter(channel__kind="webhook")
    assert Counter(receiver.keys) == Counter(hooks.values_list("idempotency_key", flat=True))
    assert len(receiver.keys) == len(alerted)
