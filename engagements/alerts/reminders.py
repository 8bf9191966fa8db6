"""Reminders of a contract's decide-by date: 30, 7 and 1 days before it, through the
organization's channels and escalation policy, for every contract nearing it, healthy or not,
until someone records the decision (renew or give notice) on the contract page.

Two ways in, one way out:

- a contract under an active engagement is reminded when the watcher evaluates that
  engagement (``apply_alerts`` calls ``remind_watched``): each reminder day is one of the
  watcher's deadlines (``watch.deadlines``), so the steady sweep sends it at the start of that
  day in the organization's time zone, and the daily reconciliation agrees;
- any other contract (no engagement, or only paused or ended ones) is reminded by the hourly
  ``remind_unwatched`` pass.

Either way the rows go to the outbox (``Notification`` with ``contract``): one per (contract,
decide-by date, days left, channel), unique by its idempotency key, so the two ways and two
overlapping sweeps never send one twice. The nearer the date, the wider the audience: 30 days
left goes to the policy's watch audience, 7 to its warning audience, 1 to its cut-losses one.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from engagements.alerts.models import Notification, NotificationChannel
from engagements.delivery.models import Engagement, EngagementStatus
from engagements.watch.models import Level
from vendors.models import Contract
from vendors.terms import REMINDER_DAYS, Outlook, short_day

# Days left → whose attention (the escalation policy's audience of that level).
LEVEL_OF_STAGE = {30: Level.WATCH, 7: Level.WARNING, 1: Level.CUT_LOSSES}


def stage(o: Outlook | None) -> int | None:
    """The reminder due on the outlook's day: the nearest of 30/7/1 days not yet passed; None
    when the decide-by date is more than 30 days away, passed, or there is nothing to decide."""
    if o is None or o.decide_by is None or o.days_left is None:
        return None
    if not 0 <= o.days_left <= max(REMINDER_DAYS):
        return None
    return min(n for n in REMINDER_DAYS if n >= o.days_left)


@dataclass
class Due:
    """One contract's reminder, due now."""

    contract_id: int
    org_id: int
    title: str
    outlook: Outlook
    stage: int
    owner_id: int | None
    engagement_id: int | None = None
    engagement_title: str = ""

    @property
    def key(self) -> str:
        return f"contract-{self.contract_id}-{self.outlook.decide_by.isoformat()}-{self.stage}"

    def subject(self) -> str:
        left = {0: "today", 1: "tomorrow"}.get(self.outlook.days_left, "")
        when = left or f"in {self.outlook.days_left} days"
        return f"Decide by {short_day(self.outlook.decide_by)} ({when}): “{self.title}”"[:300]

    def text(self) -> str:
        lines = [f"“{self.title}”: {self.outlook.sentence}."]
        if self.engagement_title:
            lines.append(f"Engagement under it: {self.engagement_title}.")
        lines.append(
            "Record the decision (renew or give notice, with a reason) on the contract page; "
            "that ends these reminders:"
        )
        lines.append(f"{settings.SITE_URL}/vendors/contracts/{self.contract_id}/")
        return "\n".join(lines)


def remind_watched(*, facts, at: datetime, result) -> int:
    """Queue the reminders due for the contracts of a chunk's active engagements (one per
    contract, however many of its engagements the chunk holds). Returns how many rows."""
    due: dict[int, Due] = {}
    for f in sorted(facts.values(), key=lambda f: f.engagement_id):
        n = stage(f.contract_outlook)
        if n is None or f.contract_id in due:
            continue
        due[f.contract_id] = Due(
            contract_id=f.contract_id,
            org_id=f.org_id,
            title=f.contract_title,
            outlook=f.contract_outlook,
            stage=n,
            owner_id=f.owner_id,
            engagement_id=f.engagement_id,
            engagement_title=f.title,
        )
    return queue(list(due.values()), at=at, result=result)


def remind_unwatched(*, at: datetime, result=None) -> int:
    """The hourly pass: queue the reminders due for the contracts no active engagement runs
    under (the watcher reminds the others). A handful of queries whatever the number of
    contracts; the contracts whose decision is settled (a fixed term past its end, notice
    given) are left out by the query."""
    watched = Engagement.unscoped.filter(
        status=EngagementStatus.ACTIVE, contract__isnull=False
    ).values("contract_id")
    contracts = Contract.unscoped.undecided(at).exclude(pk__in=watched)
    due = [
        Due(c.pk, c.org_id, c.title, o, n, c.created_by_id)
        for c, o in contracts.with_outlooks(at)
        if (n := stage(o)) is not None
    ]
    return queue(due, at=at, result=result)


def queue(due: list[Due], *, at: datetime, result=None) -> int:
    """Write the outbox rows of the reminders not queued yet (one per channel). The lookup
    says what is new, so the sweep's changes name only what it queued; the unique
    idempotency key decides when two runs race."""
    if not due:
        return 0
    channels: dict[int, list[NotificationChannel]] = {}
    for c in NotificationChannel.unscoped.filter(
        org_id__in={d.org_id for d in due}, is_active=True
    ):
        channels.setdefault(c.org_id, []).append(c)
    had = set(
        Notification.unscoped.filter(
            contract_id__in=[d.contract_id for d in due],
            decide_by__in={d.outlook.decide_by for d in due},
        ).values_list("idempotency_key", flat=True)
    )
    rows = []
    for d in due:
        new = [
            Notification(
                org_id=d.org_id,
                channel=c,
                contract_id=d.contract_id,
                decide_by=d.outlook.decide_by,
                level=LEVEL_OF_STAGE[d.stage],
                sequence=d.stage,
                subject=d.subject(),
                text=d.text(),
                owner_id=d.owner_id,
                idempotency_key=f"{d.key}-channel-{c.pk}",
                next_attempt_at=at,
                created_at=at,
            )
            for c in channels.get(d.org_id, [])
            if f"{d.key}-channel-{c.pk}" not in had
        ]
        if not new:
            continue
        rows.extend(new)
        if result is not None:
            who = (
                f"engagement {d.engagement_id}" if d.engagement_id else f"contract {d.contract_id}"
            )
            result.changed(
                d.org_id,
                f"{who}: decide-by reminder ({d.stage} days) for contract {d.contract_id}",
            )
    Notification.unscoped.bulk_create(rows, ignore_conflicts=True)
    if result is not None:
        result.notifications += len(rows)
    return len(rows)
