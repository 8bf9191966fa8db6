"""Benchmark of the watcher report: 500 ended engagements with their stored history (status
changes, weekly interactions, deliverables moving through their transitions, spend, vendor
questions, scope changes, exit criteria) and post-mortems in one organization (plus another
organization's), judged day by day today and "what if" (target: ≤ 5 s on PostgreSQL).

    createdb -h 127.0.0.1 -U postgres vw_q_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_q_bench \\
        .venv/bin/python bench/backtest.py --engagements 500 [--skip-seed] [--runs 3]
"""

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import Organization, User  # noqa: E402
from accounts.tenancy import all_organizations, tenant_scope  # noqa: E402
from engagements.delivery.exit_criteria import PRESETS  # noqa: E402
from engagements.models import (  # noqa: E402
    Deliverable,
    DeliverableTransition,
    Engagement,
    EngagementStatusChange,
    ExitCriterion,
    Interaction,
    Milestone,
    OpenQuestion,
    PostMortem,
    ScopeChange,
    SpendEntry,
)
from engagements.postmortems import report  # noqa: E402
from engagements.watch.backtest import Scenario  # noqa: E402
from vendors.models import Vendor  # noqa: E402

TITLE = "Bench ended"
FIRST = date(2024, 1, 1)
WHAT_IF = Scenario("what if", watch={"stall_days": 14, "contact_grace_days": 1}, persist_days=5)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def seed(n: int) -> Organization:
    orgs = []
    for slug in ("bench-backtest", "bench-backtest-other"):
        org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": slug})
        orgs.append(org)
    user, _ = User.objects.get_or_create(email="bench-backtest@example.com")
    seed_into(orgs[0], n, user, seed=15)
    seed_into(orgs[1], n // 10, user, seed=16)
    return orgs[0]


@transaction.atomic
def seed_into(org: Organization, count: int, user: User, *, seed: int) -> None:
    """``count`` ended engagements with a post-mortem and a history each (replacing earlier
    bench ones): about a third fail (silence, slipping work, rejections, paying ahead)."""
    rng = random.Random(seed)
    Engagement.unscoped.filter(org=org, title__startswith=TITLE).delete()
    vendor, _ = Vendor.unscoped.get_or_create(org=org, name="Bench vendor")
    plans = []
    for i in range(count):
        start = FIRST + timedelta(days=rng.randrange(0, 600))
        length = rng.randrange(60, 181)
        failing = rng.random() < 0.35
        end = start + timedelta(days=length if not failing else rng.randrange(45, length + 1))
        plans.append((i, start, length, end, failing))
    engagements = Engagement.unscoped.bulk_create(
        Engagement(
            org=org, vendor=vendor, owner=user, title=f"{TITLE} {i}", goal="g",
            definition_of_done="d", budget=Decimal(rng.randrange(20, 120) * 1000),
            currency="EUR", start_date=start, target_end_date=start + timedelta(days=length),
            status="terminated" if failing else "completed",
            activated_at=at(start, 9), ended_at=at(end),
        )
        for i, start, length, end, failing in plans
    )  # fmt: skip
    changes, milestones, interactions, spend, questions, scope, criteria, pms = ([] for _ in range(8))  # fmt: skip
    deliverable_plans = []
    for e, (_i, start, length, end, failing) in zip(engagements, plans, strict=True):
        days = (end - start).days
        changes += [
            EngagementStatusChange(org=org, engagement=e, to_status="active", at=at(start, 9)),
            EngagementStatusChange(org=org, engagement=e, to_status=e.status, at=at(end)),
        ]
        silent_from = rng.randrange(20, max(21, days)) if failing and rng.random() < 0.5 else days
        for day in range(1, days, 7):
            if rng.random() < 0.1:
                continue  # a missed week
            outcome = "held" if day < silent_from else rng.choice(["vendor_no_show", "unanswered"])
            comfort = None if outcome != "held" else max(1, min(5, 4 - (failing and day > days // 2) + rng.choice([-1, 0, 0, 1])))  # fmt: skip
            interactions.append(
                Interaction(org=org, engagement=e, occurred_at=at(start + timedelta(days=day)),
                            channel="call", direction="we_to_vendor", outcome=outcome,
                            comfort=comfort)
            )  # fmt: skip
        n_deliverables = rng.randrange(3, 7)
        value = e.budget / n_deliverables
        for k in range(n_deliverables):
            due = start + timedelta(days=length * (k + 1) // n_deliverables)
            m = Milestone(org=org, engagement=e, title=f"M{k}", due_date=due, position=k)
            milestones.append(m)
            deliverable_plans.append((e, m, due, value, failing, start, end, rng.random()))
        for month in range(0, days, 30):
            spend.append(SpendEntry(org=org, engagement=e, date=start + timedelta(days=month + 2),
                                    amount=(e.budget / max(1, length // 30)).quantize(Decimal("1")),
                                    currency="EUR", description="Invoice"))  # fmt: skip
        for _ in range(rng.randrange(0, 4)):
            asked = at(start + timedelta(days=rng.randrange(0, days)))
            answered = asked + timedelta(days=rng.choice([1, 2, 3, 20])) if rng.random() < 0.8 else None  # fmt: skip
            questions.append(OpenQuestion(org=org, engagement=e, question="?", owed_by="us",
                                          asked_at=asked, answered_at=answered))  # fmt: skip
        for _ in range(rng.randrange(0, 3 if not failing else 6)):
            scope.append(ScopeChange(org=org, engagement=e, what_changed="more", why="asked",
                                     at=at(start + timedelta(days=rng.randrange(0, days)))))  # fmt: skip
        if rng.random() < 0.5:
            preset = PRESETS[rng.choice(["late_and_burnt", "rejected_twice", "silent_vendor"])]
            criteria.append(ExitCriterion(org=org, engagement=e, **preset))
        outcome = "cut_losses" if failing else rng.choice(["delivered"] * 4 + ["partly"])
        pms.append(PostMortem(org=org, engagement=e, outcome=outcome))
    EngagementStatusChange.unscoped.bulk_create(changes, batch_size=5000)
    Milestone.unscoped.bulk_create(milestones, batch_size=5000)
    deliverables = Deliverable.unscoped.bulk_create(
        (
            Deliverable(org=org, engagement=e, milestone=m, title=m.title, due_date=due,
                        value=value.quantize(Decimal("1")),
                        acceptance_criteria="" if r < 0.1 else "works", status="planned")
            for e, m, due, value, failing, start, end, r in deliverable_plans
        ),
        batch_size=5000,
    )  # fmt: skip
    transitions = []
    for d, (_e, _m, due, _v, failing, start, end, r) in zip(
        deliverables, deliverable_plans, strict=True
    ):
        begun = max(start, due - timedelta(days=20))
        if begun >= end:
            continue
        moves = [("in_progress", begun)]
        late = timedelta(days=rng.randrange(10, 40) if failing else rng.randrange(-3, 4))
        submitted = due + late
        if failing and r < 0.3:  # rejected once or twice on the way
            moves += [("submitted", submitted), ("rejected", submitted + timedelta(days=3))]
            submitted += timedelta(days=12)
        moves.append(("submitted", submitted))
        moves.append(("accepted", submitted + timedelta(days=rng.randrange(1, 6))))
        old = "planned"
        for to, day in moves:
            if day >= end:
                break
            transitions.append(DeliverableTransition(org=org, deliverable=d,
                                                     from_status=old, to_status=to, at=at(day, 11)))  # fmt: skip
            old = to
    DeliverableTransition.unscoped.bulk_create(transitions, batch_size=5000)
    Interaction.unscoped.bulk_create(interactions, batch_size=5000)
    SpendEntry.unscoped.bulk_create(spend, batch_size=5000)
    OpenQuestion.unscoped.bulk_create(questions, batch_size=5000)
    ScopeChange.unscoped.bulk_create(scope, batch_size=5000)
    ExitCriterion.unscoped.bulk_create(criteria, batch_size=5000)
    PostMortem.unscoped.bulk_create(pms, batch_size=5000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


@all_organizations()  # a benchmark sets up and reads every organization
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engagements", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}")
    call_command("migrate", verbosity=0)
    if args.skip_seed:
        org = Organization.objects.get(slug="bench-backtest")
    else:
        started = time.perf_counter()
        org = seed(args.engagements)
        print(f"seeded {args.engagements} ended engagements (+{args.engagements // 10} in another org) in {time.perf_counter() - started:.1f} s")  # fmt: skip
    with tenant_scope(org):
        ended = Engagement.objects.filter(title__startswith=TITLE)
        days = sum((e - s).days for s, e in ended.values_list("start_date", "ended_at__date"))
        print(
            f"{ended.count()} ended engagements, {days:,} engagement-days; "
            f"{Interaction.objects.count():,} interactions, "
            f"{DeliverableTransition.objects.count():,} transitions, "
            f"{SpendEntry.objects.count():,} spend entries"
        )
        for label, whatif in (("today only", None), ("today + what if", WHAT_IF)):
            times, cpu = [], []
            for _ in range(args.runs):
                with CaptureQueriesContext(connection) as queries:
                    started, used = time.perf_counter(), time.process_time()
                    data = report.watcher_report(org=org, whatif=whatif)
                    times.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - used)
            now = data["now"]
            print(
                f"{label:16} median {statistics.median(times):5.2f} s (this process's CPU "
                f"{statistics.median(cpu):4.2f} s), max {max(times):5.2f} s, "
                f"{len(queries)} queries; failed {now.failed}, warned ≥ 14 days ahead "
                f"{now.warned_ahead} ({now.warned_ahead_pct} %), false alarms "
                f"{now.false_alarms}/{now.delivered}, median lead {now.median_warning_days} days"
                + (
                    f"; what if: warned ahead {data['whatif'].warned_ahead}, false alarms "
                    f"{data['whatif'].false_alarms}"
                    if whatif
                    else ""
                )
            )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
