"""Benchmark of the health sweep: wall time and queries of a full set-based sweep, a second
sweep with no changes, and the naive way (one engagement at a time) on a sample.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_health_bench \
        .venv/bin/python bench/sweep.py --engagements 10000 [--skip-seed] [--sample 200]
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from engagements.models import Engagement, EngagementHealth  # noqa: E402
from engagements.services import health  # noqa: E402


def timed(label, fn):
    count = [0]

    def counter(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - started
    print(f"{label}: {elapsed:.2f} s, {count[0]} queries")
    return result, elapsed, count[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=10000)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    print(f"database: {connection.vendor}")
    if not args.skip_seed:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        call_command("seed_scale", engagements=args.engagements, verbosity=0)
        print(f"seeded {args.engagements} engagements in {time.perf_counter() - started:.1f} s")
    active = Engagement.unscoped.filter(status="active").count()
    print(f"active engagements: {active}")
    from engagements.models import Alert

    EngagementHealth.unscoped.all().delete()
    Alert.unscoped.all().delete()
    at = timezone.now()
    r, *_ = timed("first sweep (creates every health row)", lambda: health.sweep(at=at))
    print(f"  levels: {dict(sorted(_levels().items()))}, alert changes: {len(r.changes)}")
    r, *_ = timed("second sweep, same moment (no changes)", lambda: health.sweep(at=at))
    print(f"  rows written: {r.health_written + r.snapshots_written}")
    ids = list(
        Engagement.unscoped.filter(status="active").values_list("pk", flat=True)[: args.sample]
    )
    _, naive, _ = timed(
        f"naive: one engagement at a time, sample of {len(ids)}",
        lambda: [health.sweep(at=at, engagement_ids=[i]) for i in ids],
    )
    print(f"  naive extrapolated to {active}: {naive / len(ids) * active:.0f} s")


def _levels():
    from django.db.models import Count

    return {
        r["level"]: r["n"]
        for r in EngagementHealth.unscoped.values("level").annotate(n=Count("pk"))
    }


if __name__ == "__main__":
    main()
