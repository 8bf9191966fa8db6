"""Benchmark of the notification outbox: how fast alerts reach a webhook receiver.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_bench REDIS_URL=redis://127.0.0.1:6379/10 \\
        .venv/bin/python bench/notify.py [--workers 2] [--orgs 50] [--burst 5000] [--sustained 20000]

Creates the database if it does not exist, migrates it, and seeds (once) ``--orgs``
organizations, each with one signed webhook channel pointing at a local receiver and enough
open alerts to queue the notifications below. The receiver is a separate process (HTTP/1.1
keep-alive, answers 204 at once) that writes down when each Idempotency-Key arrived; a
``celery worker`` with ``--workers`` prefork processes delivers; no beat runs except where
said. Measures, each beside the machine's load (``uptime``):

1. one alert opened on an idle system → delivered: an engagement's re-evaluation opens the
   alert and queues its notification; the commit triggers the dispatch (p50/p95 of 20);
2. a burst: ``--burst`` notifications committed at once (what a first sweep after an outage
   queues), queued → delivered p50/p95/max;
3. sustained deliveries/s: ``--sustained`` notifications, first to last arrival;
4. a worker process SIGKILLed mid-batch during a burst: notifications lost, and deliveries
   of the same Idempotency-Key twice (the killed run's sent-but-unrecorded rows are taken
   again once their claim is stale, OUTBOX_CLAIM_SECONDS, shortened to 30 s here, by the
   beat's safety-net tick).

Prints the Markdown table the README shows.
"""

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
os.environ.setdefault("HEALTH_WEBHOOK_ALLOW_PRIVATE", "1")  # the receiver is on loopback


def ensure_database() -> None:
    """CREATE DATABASE for DATABASE_URL if it is missing (a fresh bench database)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres", query="").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


ensure_database()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Membership, Organization, Role, User  # noqa: E402
from accounts.tenancy import all_organizations  # noqa: E402
from engagements.alerts import services as alerts  # noqa: E402
from engagements.models import (  # noqa: E402
    Alert,
    AlertStatus,
    Engagement,
    EngagementStatus,
    Level,
    Notification,
    NotificationChannel,
    NotificationState,
)
from engagements.watch import services as watch  # noqa: E402
from vendors.models import Vendor  # noqa: E402

PREFIX = "bench-notify"

RECEIVER = r"""
import sys, time, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            log.write(f"{self.headers['Idempotency-Key']} {time.time():.6f}\n")
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_port, flush=True)
server.serve_forever()
"""


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


class Receiver:
    def __init__(self) -> None:
        fd, name = tempfile.mkstemp(prefix="bench-receiver-", suffix=".log")
        os.close(fd)
        self.path = Path(name)
        self.process = subprocess.Popen(
            [sys.executable, "-c", RECEIVER, str(self.path)],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/hook"

    def arrivals(self) -> list[tuple[str, float]]:
        rows = []
        for line in self.path.read_text().splitlines():
            key, _, moment = line.partition(" ")
            if moment:
                rows.append((key, float(moment)))
        return rows

    def forget(self) -> None:
        self.path.write_text("")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        self.path.unlink(missing_ok=True)


class Celery:
    """A `celery worker` (prefork) or `celery beat` process on this database and Redis."""

    def __init__(self, *args: str, **env: str):
        fd, name = tempfile.mkstemp(prefix="bench-celery-", suffix=".log")
        self.log = Path(name)
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "outsourcing", *args, "--loglevel=WARNING"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.close(fd)

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def worker(processes: int, **env: str) -> Celery:
    w = Celery(
        "worker",
        "--pool=prefork",
        f"--concurrency={processes}",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        **env,
    )
    deadline = time.monotonic() + 60
    while len(w.children()) < processes:
        if time.monotonic() > deadline or w.process.poll() is not None:
            raise SystemExit(f"the worker did not start; see {w.log}")
        time.sleep(0.2)
    from outsourcing.celery import app

    while not app.control.ping(timeout=1):
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker does not answer; see {w.log}")
    return w


def seed(orgs: int, alerts_per_org: int, url: str) -> list[NotificationChannel]:
    """``orgs`` organizations with one webhook channel each (to ``url``) and open alerts."""
    existing = list(NotificationChannel.unscoped.filter(name=PREFIX).order_by("pk"))
    if len(existing) == orgs and Alert.unscoped.filter(org__slug__startswith=PREFIX).count() >= (
        orgs * alerts_per_org
    ):
        NotificationChannel.unscoped.filter(pk__in=[c.pk for c in existing]).update(url=url)
        return list(NotificationChannel.unscoped.filter(name=PREFIX).order_by("pk"))
    Organization.objects.filter(slug__startswith=PREFIX).delete()
    User.objects.filter(email__startswith=PREFIX).delete()
    today, now = timezone.localdate(), timezone.now()
    channels = []
    for i in range(orgs):
        org = Organization.objects.create(name=f"Bench {i}", slug=f"{PREFIX}-{i}")
        user = User.objects.create_user(email=f"{PREFIX}-{i}@x.test")
        Membership.objects.create(org=org, user=user, role=Role.OWNER)
        vendor = Vendor.unscoped.create(org=org, name=f"Vendor {i}")
        engagements = Engagement.unscoped.bulk_create(
            [
                Engagement(
                    org=org,
                    vendor=vendor,
                    owner=user,
                    title=f"Engagement {i}-{j}",
                    goal="g",
                    definition_of_done="d",
                    budget=Decimal("1000"),
                    currency="EUR",
                    start_date=today,
                    target_end_date=today + timedelta(days=90),
                    status=EngagementStatus.ACTIVE,
                    activated_at=now,
                )
                for j in range(alerts_per_org)
            ]
        )
        Alert.unscoped.bulk_create(
            [Alert(org=org, engagement=e, level=Level.WARNING, opened_at=now) for e in engagements]
        )
        channels.append(alerts.create_channel(org=org, kind="webhook", name=PREFIX, url=url))
    return channels


_sequence = [0]


def queue(channels: list[NotificationChannel], n: int) -> float:
    """Commit ``n`` notifications at once, as a sweep's chunk does, with the dispatch it
    triggers after commit; returns the unix moment of the commit."""
    base = Notification.unscoped.filter(channel__in=channels).aggregate(m=Max("sequence"))["m"] or 0
    _sequence[0] = base + 1
    per_org = -(-n // len(channels))
    by_org = {c.org_id: c for c in channels}
    opened = list(
        Alert.unscoped.filter(org_id__in=by_org, status=AlertStatus.OPEN)
        .order_by("pk")
        .values_list("pk", "org_id")
    )
    rows, counts = [], Counter()
    for pk, org_id in opened:
        if counts[org_id] >= per_org or len(rows) >= n:
            continue
        counts[org_id] += 1
        c = by_org[org_id]
        rows.append((pk, org_id, c))
    now = timezone.now()
    with transaction.atomic():
        Notification.unscoped.bulk_create(
            [
                Notification(
                    org_id=org_id,
                    alert_id=pk,
                    channel=c,
                    level=Level.WARNING,
                    sequence=_sequence[0],
                    idempotency_key=f"bench-{pk}-{c.pk}-{_sequence[0]}",
                    next_attempt_at=now,
                    created_at=now,
                )
                for pk, org_id, c in rows
            ],
            batch_size=5000,
        )
        transaction.on_commit(alerts._enqueue_dispatch)
    return time.time()


def wait_delivered(receiver: Receiver, n: int, timeout: float) -> list[tuple[str, float]]:
    deadline = time.monotonic() + timeout
    while True:
        got = receiver.arrivals()
        if len({k for k, _ in got}) >= n or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def idle(channels, receiver: Receiver, samples: int) -> list[float]:
    """Seconds from an alert opened (its sweep's moment) to its arrival, one at a time."""
    org = channels[0].org
    owner = Membership.objects.filter(org=org).first().user
    vendor = Vendor.unscoped.filter(org=org).first()
    lags = []
    for i in range(samples):
        # Silent since activation 40 days ago: the watcher opens an alert at once.
        engagement = Engagement.unscoped.create(
            org=org,
            vendor=vendor,
            owner=owner,
            title=f"Idle {i}",
            goal="g",
            definition_of_done="d",
            budget=Decimal("1000"),
            currency="EUR",
            start_date=timezone.localdate() - timedelta(days=40),
            target_end_date=timezone.localdate() + timedelta(days=50),
            status=EngagementStatus.ACTIVE,
            activated_at=timezone.now() - timedelta(days=40),
        )
        receiver.forget()
        watch.sweep(at=timezone.now(), engagement_ids=[engagement.pk])
        alert = Alert.unscoped.get(engagement=engagement)
        key = Notification.unscoped.get(alert=alert).idempotency_key
        got = dict(wait_delivered(receiver, 1, timeout=90))
        if key not in got:
            raise SystemExit("an idle alert was not delivered within 90 s")
        lags.append(got[key] - alert.opened_at.timestamp())
        Engagement.unscoped.filter(pk=engagement.pk).update(status=EngagementStatus.COMPLETED)
        time.sleep(0.5)  # idle again
    return lags


def forget_notifications(channels) -> None:
    Notification.unscoped.filter(channel__in=channels).delete()


@all_organizations()  # a benchmark sets up and reads every organization
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--orgs", type=int, default=50)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--sustained", type=int, default=20000)
    parser.add_argument("--idle-samples", type=int, default=20)
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        raise SystemExit("set DATABASE_URL=postgres://… and REDIS_URL=redis://…")
    call_command("migrate", verbosity=0)
    from outsourcing.celery import app

    app.control.purge()
    receiver = Receiver()
    table: list[tuple[str, str, str, str]] = []
    workers = beat = None
    try:
        per_org = -(-max(args.burst, args.sustained) // args.orgs)
        channels = seed(args.orgs, per_org, receiver.url)
        forget_notifications(channels)
        workers = worker(args.workers)

        lags = idle(channels, receiver, args.idle_samples)
        table.append(
            (
                f"one alert opened on an idle system → delivered ({len(lags)} in turn)",
                f"p50 {statistics.median(lags):.2f} s, **p95 {pct(lags, 95):.2f} s**",
                "p95 ≤ 3 s",
                load(),
            )
        )

        receiver.forget()
        committed = queue(channels, args.burst)
        got = wait_delivered(receiver, args.burst, timeout=600)
        lags = [moment - committed for _, moment in got]
        table.append(
            (
                f"burst of {len(got):,} notifications, queued → delivered",
                f"p50 {pct(lags, 50):.1f} s, **p95 {pct(lags, 95):.1f} s**, max {max(lags):.1f} s",
                "p95 ≤ 15 s",
                load(),
            )
        )

        receiver.forget()
        queue(channels, args.sustained)
        got = wait_delivered(receiver, args.sustained, timeout=900)
        moments = sorted(m for _, m in got)
        rate = (len(moments) - 1) / (moments[-1] - moments[0])
        table.append(
            (
                f"sustained deliveries/s, {args.workers} worker processes, local receiver "
                f"({len(got):,} notifications)",
                f"**{rate:,.0f}/s**",
                "≥ 500/s",
                load(),
            )
        )
        workers.stop()

        # A worker process SIGKILLed mid-batch; beat's tick is the safety net for its claims.
        forget_notifications(channels)
        receiver.forget()
        env = {"OUTBOX_CLAIM_SECONDS": "30"}
        workers = worker(args.workers, **env)
        schedule = Path(tempfile.mkdtemp(prefix="bench-beat-"))
        beat = Celery("beat", f"--schedule={schedule / 'schedule'}", **env)
        queue(channels, args.burst)
        while len(receiver.arrivals()) < args.burst // 5:
            time.sleep(0.01)
        victim = workers.children()[0]
        os.kill(victim, signal.SIGKILL)
        killed_after = len(receiver.arrivals())
        claimed = Notification.unscoped.filter(
            channel__in=channels, state=NotificationState.CLAIMED
        ).count()
        got = wait_delivered(receiver, args.burst, timeout=240)
        deadline = time.monotonic() + 120
        mine = Notification.unscoped.filter(channel__in=channels)
        while mine.exclude(state=NotificationState.SENT).exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        keys = Counter(k for k, _ in receiver.arrivals())
        expected = set(mine.values_list("idempotency_key", flat=True))
        unsent = set(
            mine.exclude(state=NotificationState.SENT).values_list("idempotency_key", flat=True)
        )
        lost = len((expected - set(keys)) | unsent)
        twice = sum(1 for c in keys.values() if c > 1)
        table.append(
            (
                f"a worker process SIGKILLed mid-batch ({killed_after:,} of {args.burst:,} "
                f"delivered, {claimed} claimed at the kill)",
                f"**lost {lost}**, delivered twice {twice} (same Idempotency-Key)",
                "0 / 0",
                load(),
            )
        )
    finally:
        for program in (beat, workers):
            if program:
                program.stop()
        receiver.stop()

    print(
        f"\nMachine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}, PostgreSQL {connection.pg_version // 10000} and Redis on "
        f"the same host; {args.orgs} organizations, one signed webhook channel each, one "
        f"receiver process; OUTBOX_BATCH={settings.OUTBOX_BATCH}, "
        f"OUTBOX_RUN_SECONDS={settings.OUTBOX_RUN_SECONDS}.\n"
    )
    print("| figure | measured | target | load (1, 5, 15 min) |")
    print("|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
