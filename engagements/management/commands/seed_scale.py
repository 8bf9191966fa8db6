"""Bulk-insert N engagements across 50 organizations for the sweep benchmark (bench/sweep.py)."""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Membership, Organization, Role, User
from accounts.tenancy import all_organizations
from engagements.delivery.models import (
    Channel,
    Deliverable,
    Direction,
    Engagement,
    EngagementStatus,
    Interaction,
    Milestone,
    Outcome,
    SpendEntry,
)
from vendors.models import Vendor, VendorStatus

ORGS = 50
BATCH = 5000


class Command(BaseCommand):
    help = "Bulk-insert N active engagements across 50 organizations (~20 interactions, ~6 deliverables, ~4 spend entries each)."

    def add_arguments(self, parser):
        parser.add_argument("--engagements", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument(
            "--measured-org",
            type=int,
            default=0,
            help="put this many of the engagements in the first organization (the one the "
            "load benchmark measures); the rest are spread over the other 49",
        )

    @all_organizations()
    def handle(self, *args, engagements: int, seed: int, measured_org: int, **options):
        rng = random.Random(seed)
        now = timezone.now()
        today = now.date()
        run = f"{now:%Y%m%d%H%M%S}"
        with transaction.atomic():
            orgs = Organization.objects.bulk_create(
                [
                    Organization(name=f"Scale {run} {i}", slug=f"scale-{run}-{i}")
                    for i in range(ORGS)
                ]
            )
            users = User.objects.bulk_create(
                [User(email=f"owner-{run}-{i}@scale.test") for i in range(ORGS)]
            )
            Membership.objects.bulk_create(
                [
                    Membership(org=o, user=u, role=Role.OWNER)
                    for o, u in zip(orgs, users, strict=True)
                ]
            )
            vendors = Vendor.unscoped.bulk_create(
                [Vendor(org=o, name="Scale vendor", status=VendorStatus.ACTIVE) for o in orgs]
            )
        done = 0
        while done < engagements:
            n = min(BATCH, engagements - done)
            self._chunk(rng, n, done, orgs, users, vendors, now, today, measured_org)
            done += n
            self.stdout.write(f"{done} engagements")
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # fresh statistics, as autovacuum would gather
                cursor.execute("ANALYZE")

    @transaction.atomic
    def _chunk(self, rng, n, offset, orgs, users, vendors, now, today, measured_org=0):
        rows = []
        for i in range(n):
            position = offset + i
            if measured_org:
                k = 0 if position < measured_org else 1 + position % (ORGS - 1)
            else:
                k = position % ORGS
            start = today - timedelta(days=rng.randint(30, 150))
            rows.append(
                Engagement(
                    org=orgs[k],
                    vendor=vendors[k],
                    owner=users[k],
                    title=f"Scale {offset + i}",
                    goal="g",
                    definition_of_done="d",
                    budget=Decimal("100000"),
                    currency="EUR",
                    start_date=start,
                    target_end_date=start + timedelta(days=180),
                    status=EngagementStatus.ACTIVE,
                    activated_at=now - (today - start),
                )
            )
        engagements = Engagement.unscoped.bulk_create(rows, batch_size=BATCH)
        milestones = Milestone.unscoped.bulk_create(
            [
                Milestone(
                    org_id=e.org_id,
                    engagement=e,
                    title=f"M{j}",
                    position=j,
                    due_date=e.start_date + timedelta(days=30 * (j + 1)),
                )
                for e in engagements
                for j in range(2)
            ],
            batch_size=BATCH,
        )
        deliverables, interactions, spend = [], [], []
        for idx, e in enumerate(engagements):
            trouble = rng.random()  # ~1 in 4 goes badly in one way or another
            for j in range(6):
                m = milestones[idx * 2 + j // 3]
                if m.due_date < today:  # past work is mostly accepted, unless this one goes badly
                    status = (
                        "accepted" if trouble > 0.2 else rng.choice(["rejected", "in_progress"])
                    )
                else:
                    status = rng.choice(["planned", "in_progress", "submitted", "accepted"])
                deliverables.append(
                    Deliverable(
                        org_id=e.org_id,
                        engagement=e,
                        milestone=m,
                        title=f"D{j}",
                        acceptance_criteria="" if trouble < 0.05 else "criteria",
                        due_date=m.due_date,
                        value=Decimal("15000"),
                        status=status,
                        times_rejected=2 if trouble < 0.08 and status == "rejected" else 0,
                        submitted_at=now - timedelta(days=rng.randint(1, 20))
                        if status == "submitted"
                        else None,
                        accepted_at=now - timedelta(days=rng.randint(1, 60))
                        if status == "accepted"
                        else None,
                    )
                )
            silent_for = rng.randint(15, 40) if trouble < 0.15 else 0
            for j in range(20):
                interactions.append(
                    Interaction(
                        org_id=e.org_id,
                        engagement=e,
                        channel=Channel.CALL,
                        direction=Direction.WE_TO_VENDOR,
                        outcome=Outcome.HELD if rng.random() > 0.01 else Outcome.VENDOR_NO_SHOW,
                        occurred_at=now
                        - timedelta(days=silent_for + j * 4, hours=rng.randint(0, 12)),
                        comfort=rng.randint(1, 3) if trouble > 0.9 and j < 5 else rng.randint(3, 5),
                    )
                )
            for j in range(4):
                spend.append(
                    SpendEntry(
                        org_id=e.org_id,
                        engagement=e,
                        date=today - timedelta(days=j * 20),
                        amount=Decimal(rng.randint(2000, 25000 if trouble < 0.1 else 6000)),
                        currency="EUR",
                        description="invoice",
                    )
                )
        Deliverable.unscoped.bulk_create(deliverables, batch_size=BATCH)
        Interaction.unscoped.bulk_create(interactions, batch_size=BATCH)
        SpendEntry.unscoped.bulk_create(spend, batch_size=BATCH)
