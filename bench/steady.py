"""The steady sweep and the reconciliation at scale: the watcher's cost follows what is due.

    DATABASE_URL=postgres://…/vw_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/steady.py [--due 0.01] [--workers 2] [--reconcile]

On a database seeded with ``manage.py seed_scale --fast --engagements 1000000`` (every
engagement with a health row and a next check spread over ten days), measures:

1. the steady sweep with ``--due`` of the active engagements due now (their ``next_check_at``
   set to a second ago): ``sweep_marked`` in this process, chunk after chunk, until nothing is
   due or marked; wall time, engagements evaluated, and the time of one tick with nothing due;
2. with ``--reconcile``, on ``--workers`` Celery worker processes: the same steady sweep as
   beat starts it (one task, a second beside it when a chunk comes back full), until
   nothing is due or marked; then the full reconciliation (``sweep_health``): the time until
   its run finished, what it had to fix, each process's peak RSS (VmHWM).

Prints the load average beside every figure (the machine may be shared) and, as the run's
trivial reference, one GROUP BY over every interaction, what any full pass must at least read.
"""

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402
from sweep import Workers, plain_aggregate, sweep_on_workers  # noqa: E402  (sets Django up)

from accounts.tenancy import all_organizations  # noqa: E402
from engagements.models import Engagement, EngagementHealth, WatchMark  # noqa: E402
from engagements.watch import services as watch  # noqa: E402
from engagements.watch.tasks import sweep_marked as sweep_marked_task  # noqa: E402


def load() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def make_due(share: float) -> int:
    """Every ``1/share``-th engagement due a second ago; how many that is."""
    every = max(1, round(1 / share))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {EngagementHealth._meta.db_table} SET next_check_at = %s "
            "WHERE engagement_id %% %s = 0",
            [timezone.now() - timedelta(seconds=1), every],
        )
        return cursor.rowcount


def due_or_marked() -> bool:
    now = timezone.now()
    return (
        WatchMark.objects.exists()
        or EngagementHealth.unscoped.filter(
            next_check_at__lte=now, engagement__status="active"
        ).exists()
    )


@all_organizations()
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--due", type=float, default=0.01)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reconcile", action="store_true")
    args = parser.parse_args()
    active = Engagement.unscoped.filter(status="active").count()
    print(f"{active:,} active engagements; chunk {settings.WATCH_DIRTY_CHUNK}; {load()}")
    # The trivial figure of this run: the least any full pass must read.
    print(
        f"reference: one GROUP BY over every interaction (best of 3) "
        f"{plain_aggregate():.2f} s; {load()}"
    )

    # Nothing due: what every 5-second tick costs most of the time.
    WatchMark.objects.all().delete()
    now = timezone.now()
    EngagementHealth.unscoped.filter(next_check_at__lte=now).update(
        next_check_at=now + timedelta(days=1)
    )
    started = time.perf_counter()
    idle = watch.sweep_marked()
    print(
        f"a tick with nothing due: {(time.perf_counter() - started) * 1000:.1f} ms "
        f"(claimed {idle.claimed}); {load()}"
    )

    due = make_due(args.due)
    started = time.perf_counter()
    evaluated = steps = 0
    while True:
        step = watch.sweep_marked()
        steps += 1
        evaluated += step.claimed
        if not step.claimed and not step.promoted:
            break
    seconds = time.perf_counter() - started
    print(
        f"steady sweep, {due:,} due ({due / active:.1%}): {seconds:.2f} s in {steps} steps, "
        f"{evaluated:,} evaluated, one process; {load()}"
    )

    if args.reconcile:
        workers = Workers(args.workers)
        try:
            workers.wait_ready()
            # The same 1 % due, swept as beat starts it: one task, which asks for a second
            # run beside it when a chunk comes back full (claims are disjoint).
            due = make_due(args.due)
            started = time.perf_counter()
            sweep_marked_task.delay()
            while due_or_marked():
                time.sleep(0.05)
            seconds = time.perf_counter() - started
            print(
                f"steady sweep, {due:,} due, on {args.workers} worker processes as beat "
                f"starts it: {seconds:.2f} s until nothing is due or marked; {load()}"
            )
            print(f"reconciliation on {args.workers} worker processes… ({load()})")
            seconds, run = sweep_on_workers(timeout=3600)
            rss = workers.peak_rss_mb()
        finally:
            workers.stop()
        print(
            f"full reconciliation: {seconds:.1f} s for {run.engagements:,} engagements, "
            f"{run.fixed:,} fixed, peak RSS per worker {', '.join(f'{r:.0f}' for r in rss)} MB; "
            f"{load()}"
        )


if __name__ == "__main__":
    main()
