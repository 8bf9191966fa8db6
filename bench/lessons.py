"""Benchmark of the lessons search: 50,000 lessons in one organization (plus another
organization's), the lessons list's search (count + first page) timed per query.

    createdb -h 127.0.0.1 -U postgres vw_pm_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_pm_bench \
        .venv/bin/python bench/lessons.py --lessons 50000 [--skip-seed]
"""

import argparse
import os
import random
import statistics
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

from accounts.models import Organization, User  # noqa: E402
from accounts.tenancy import all_organizations, tenant_scope  # noqa: E402
from engagements.models import (  # noqa: E402
    Engagement,
    FailureCategory,
    Lesson,
    PostMortem,
    PostMortemStatus,
)
from engagements.postmortems import services  # noqa: E402
from vendors.models import Vendor  # noqa: E402

VERBS = [
    "check",
    "ask",
    "write",
    "keep",
    "agree",
    "insist",
    "review",
    "define",
    "pay",
    "measure",
    "stop",
]
OBJECTS = [
    "references",
    "contract",
    "deliverables",
    "acceptance",
    "criteria",
    "budget",
    "milestones",
    "trial",
    "invoices",
    "cadence",
    "engineer",
    "backup",
    "scope",
    "exit-criteria",
    "samples",
    "warehouse",
    "design",
    "onboarding",
]
QUERIES = ["references", "acceptance criteria", "backup engineer", "trial", "warehouse -design"]


def seed(n: int) -> Organization:
    orgs = []
    for slug in ("bench-lessons", "bench-lessons-other"):
        org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": slug})
        orgs.append(org)
    user, _ = User.objects.get_or_create(email="bench-lessons@example.com")
    seed_into(orgs[0], n, user)
    seed_into(orgs[1], n // 10, user)
    return orgs[0]


def seed_into(org: Organization, count: int, user: User) -> None:
    """``count`` published lessons in ``org`` (replacing earlier bench lessons), indexed."""
    rng = random.Random(6)
    Lesson.unscoped.filter(org=org, postmortem__engagement__title="Bench engagement").delete()
    vendor, _ = Vendor.unscoped.get_or_create(org=org, name="Bench vendor")
    today = timezone.localdate()
    engagement, _ = Engagement.unscoped.get_or_create(
        org=org, title="Bench engagement",
        defaults={"vendor": vendor, "goal": "g", "definition_of_done": "d", "budget": 1,
                  "currency": "EUR", "start_date": today, "target_end_date": today,
                  "owner": user, "status": "terminated", "ended_at": timezone.now()},
    )  # fmt: skip
    pm, _ = PostMortem.unscoped.get_or_create(
        org=org, engagement=engagement,
        defaults={"outcome": "cut_losses", "status": PostMortemStatus.PUBLISHED,
                  "published_at": timezone.now()},
    )  # fmt: skip
    categories = FailureCategory.values
    Lesson.unscoped.bulk_create(
        (
            Lesson(
                org=org, postmortem=pm, vendor=vendor, category=rng.choice(categories),
                text=f"{rng.choice(VERBS).capitalize()} the {rng.choice(OBJECTS)} and the "
                     f"{rng.choice(OBJECTS)} before the {rng.choice(OBJECTS)}.",
                tags=", ".join(rng.sample(OBJECTS, 2)), position=i,
            )
            for i in range(count)
        ),
        batch_size=5000,
    )  # fmt: skip
    ids = list(Lesson.unscoped.filter(postmortem=pm).values_list("pk", flat=True))
    services._index(ids)  # one set-based UPDATE
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE engagements_lesson")


@all_organizations()  # a benchmark sets up and reads every organization
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lessons", type=int, default=50000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-seed", action="store_true")
    args = parser.parse_args()
    print(f"database: {connection.vendor}")
    call_command("migrate", verbosity=0)
    if args.skip_seed:
        org = Organization.objects.get(slug="bench-lessons")
    else:
        started = time.perf_counter()
        org = seed(args.lessons)
        print(
            f"seeded {args.lessons} lessons (+{args.lessons // 10} in another org) in {time.perf_counter() - started:.1f} s"
        )
    with tenant_scope(org):
        print(f"lessons in scope: {Lesson.objects.count()}")
        for q in QUERIES:
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                found = services.search_lessons(Lesson.objects.published().for_list(), q)
                total = found.count()
                page = list(found[:50])
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"{q!r:24} {total:6} hits, first page {len(page):2}: median {statistics.median(times):6.1f} ms, max {max(times):6.1f} ms"
            )
        if connection.vendor == "postgresql":
            found = services.search_lessons(Lesson.objects.published(), "references")
            plan = found.explain()
            print("uses the GIN index:", "lesson_search_gin" in plan)


if __name__ == "__main__":
    main()
