"""Benchmark of the health sweep: wall time, queries and peak memory of a full sweep.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/sweep.py [--engagements 100000] [--workers 2] [--sample 50]

Seeds with `manage.py seed_scale` when the database holds fewer active engagements than
asked (10,000 of them in one organization, the one bench/load.py measures), then measures:

1. one plain aggregate query over the interactions table (the database's own floor);
2. the sweep as the beat runs it: `sweep_health` on real Celery workers (prefork, one
   process per core by default), chunks of HEALTH_SWEEP_CHUNK engagements spread over them;
   the time from sending the task to the run's ``finished_at``, and each worker process's
   peak RSS (VmHWM). Once from nothing (every health row and alert created), then again
   with nothing changed (the steady state, every 5 minutes);
3. the same full sweep in this one process, chunk after chunk, counting the queries;
4. the naive way (one engagement at a time) on a sample, extrapolated.

Prints the Markdown table the README shows. Without REDIS_URL, step 2 is skipped.
"""

import argparse
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.tenancy import all_organizations  # noqa: E402
from engagements.models import (  # noqa: E402
    Alert,
    Engagement,
    EngagementHealth,
    HealthSnapshot,
    Interaction,
    Notification,
    SweepRun,
)
from engagements.watch import services as watch  # noqa: E402


def counting(fn):
    """(result, seconds, queries) of fn()."""
    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    return result, elapsed, count[0]


def forget_health() -> None:
    """Back to 'never swept': the first sweep then creates every row and opens every alert."""
    with connection.cursor() as cursor:
        for model in (Notification, Alert, HealthSnapshot, EngagementHealth, SweepRun):
            cursor.execute(f"TRUNCATE {model._meta.db_table} CASCADE")


def plain_aggregate() -> float:
    """Best of three: one GROUP BY over every interaction (what any sweep must at least read)."""
    table = Interaction._meta.db_table
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT engagement_id, max(occurred_at), count(*) FROM {table} GROUP BY 1"
            )
            cursor.fetchall()
        best = min(best, time.perf_counter() - started)
    return best


class Workers:
    """`celery worker` processes (prefork) consuming the configured Redis broker."""

    def __init__(self, concurrency: int):
        self.concurrency = concurrency
        fd, name = tempfile.mkstemp(prefix="bench-worker-", suffix=".log")
        self.log = Path(name)
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/celery"),
                "-A",
                "outsourcing",
                "worker",
                "--pool=prefork",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=ROOT,
            stdout=fd,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        os.close(fd)  # the worker has its own copy

    def children(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.children()) < self.concurrency:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise SystemExit(f"the worker did not start; see {self.log}")
            time.sleep(0.2)
        from outsourcing.celery import app

        while not app.control.ping(timeout=1):
            if time.monotonic() > deadline:
                raise SystemExit(f"the worker does not answer; see {self.log}")

    def peak_rss_mb(self) -> list[float]:
        peaks = []
        for pid in self.children():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return peaks

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def sweep_on_workers(timeout: float = 600) -> tuple[float, SweepRun]:
    """Send the beat's task; seconds until the run it started has finished."""
    from engagements import tasks

    newest = SweepRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.perf_counter()
    tasks.sweep_health.delay()
    deadline = time.monotonic() + timeout
    while True:
        run = SweepRun.objects.filter(pk__gt=newest, finished_at__isnull=False).first()
        if run:
            return time.perf_counter() - started, run
        if time.monotonic() > deadline:
            raise SystemExit("the sweep on the workers did not finish in time")
        time.sleep(0.05)


@all_organizations()  # a benchmark sets up and reads every organization
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=100000)
    parser.add_argument("--measured-org", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--sample", type=int, default=50)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("note: figures are meant for PostgreSQL (set DATABASE_URL)")
    call_command("migrate", verbosity=0)
    active = Engagement.unscoped.filter(status="active").count()
    if active < args.engagements:
        started = time.perf_counter()
        call_command(
            "seed_scale",
            engagements=args.engagements - active,
            measured_org=args.measured_org if not active else 0,
            verbosity=0,
        )
        print(
            f"seeded {args.engagements - active} engagements in {time.perf_counter() - started:.0f} s"
        )
        active = Engagement.unscoped.filter(status="active").count()
    interactions = Interaction.unscoped.count()
    chunk = settings.HEALTH_SWEEP_CHUNK
    rows: list[tuple[str, str, str, str, str]] = []
    floor = plain_aggregate()
    rows.append(("plain GROUP BY over the interactions table", f"{floor:.2f}", "1", "", "1.0x"))

    forget_health()
    _, first, first_queries = counting(lambda: watch.sweep(at=timezone.now()))
    _, steady, steady_queries = counting(lambda: watch.sweep(at=timezone.now()))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows.append(
        (
            "first sweep, one process, chunk after chunk",
            f"{first:.2f}",
            str(first_queries),
            "",
            f"{first / floor:.1f}x",
        )
    )
    rows.append(
        (
            "steady sweep, one process, chunk after chunk",
            f"{steady:.2f}",
            str(steady_queries),
            f"{peak:.0f}",
            f"{steady / floor:.1f}x",
        )
    )
    if settings.CELERY_BROKER_URL.startswith("redis"):
        workers = Workers(args.workers)
        try:
            workers.wait_ready()
            forget_health()
            first_on_workers, run = sweep_on_workers()
            alerts = Alert.unscoped.count()
            steady_on_workers, run = sweep_on_workers()
            peaks = workers.peak_rss_mb()
        finally:
            workers.stop()
        where = f"{args.workers} worker processes, {run.chunks} chunks of ≤{chunk}"
        rows.append(
            (
                f"first sweep ({alerts:,} alerts opened), {where}",
                f"{first_on_workers:.2f}",
                f"{first_queries} (as in one process)",
                "",
                f"{first_on_workers / floor:.1f}x",
            )
        )
        rows.append(
            (
                f"**steady sweep** (nothing changed), {where}",
                f"**{steady_on_workers:.2f}**",
                f"{steady_queries} (as in one process)",
                f"{max(peaks):.0f} (per process)",
                f"{steady_on_workers / floor:.1f}x",
            )
        )
    else:
        print("REDIS_URL is not set: the sweep on workers is skipped")

    ids = list(
        Engagement.unscoped.filter(status="active").values_list("pk", flat=True)[: args.sample]
    )
    at = timezone.now()
    _, naive, naive_queries = counting(
        lambda: [watch.sweep(at=at, engagement_ids=[i]) for i in ids]
    )
    rows.append(
        (
            f"naive: one engagement at a time (sample of {len(ids)}, extrapolated)",
            f"{naive / len(ids) * active:.0f}",
            f"{naive_queries // len(ids) * active:,}",
            "",
            f"{naive / len(ids) * active / floor:.0f}x",
        )
    )

    print(
        f"\nMachine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
        f"{connection.vendor} {connection.pg_version // 10000 if connection.vendor == 'postgresql' else ''} "
        f"on the same host; {active:,} active engagements, {interactions:,} interactions.\n"
    )
    print(
        "| sweep of every active engagement | wall s | queries | peak RSS MB | ÷ plain aggregate |"
    )
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
