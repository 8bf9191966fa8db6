"""Dirty marks: what asks the watcher to re-evaluate an engagement, instead of a task per write.

A write that changes something the rules read calls ``mark`` inside its own transaction: one
upsert of the engagement's ``WatchMark`` row (a hundred writes to one engagement leave one row,
its ``seq`` bumped a hundred times), so a rolled-back write leaves no mark and a committed one
cannot lose it. The steady sweep (``services.sweep_marked``, every ``WATCH_DIRTY_SECONDS``)

1. ``promote_due``: turns the verdicts whose ``next_check_at`` has come into marks (one
   statement over the partial index; the deadline is cleared, the evaluation sets the next);
2. ``claim``: takes up to a chunk of marks ``FOR UPDATE``, leasing them for
   ``WATCH_CLAIM_SECONDS`` (concurrent sweeps take disjoint chunks: a claim waits for the
   one before it to commit and then finds those marks leased; a worker killed while holding
   marks only delays them until the lease runs out). It waits, rather than skipping, for the
   writes in flight that share-lock a mark (a few milliseconds): skipping would starve an
   engagement that is written to without pause;
3. evaluates the claimed engagements set-based (``sweep_chunk``), then ``release``: deletes
   each mark whose ``seq`` is the one it claimed and frees the rest, i.e. the engagements
   written to during the evaluation, which the next chunk evaluates again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from engagements.delivery.models import Engagement, EngagementStatus
from engagements.watch.models import EngagementHealth, WatchMark

MARKS = WatchMark._meta.db_table
HEALTH = EngagementHealth._meta.db_table


def mark(*engagement_ids: int, at: datetime | None = None) -> None:
    """Mark engagements for re-evaluation (in the caller's transaction): one statement.

    On PostgreSQL, an engagement already marked and not claimed is only share-locked: writes
    to one busy engagement do not queue behind each other's commits, and no claim can take
    the mark (and evaluate without this write) before this transaction has committed. Only a
    mark that is absent or being evaluated is written (its ``seq`` bumped, so it survives the
    evaluation)."""
    ids = sorted({pk for pk in engagement_ids if pk is not None})
    if not ids:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"SELECT engagement_id FROM {MARKS} WHERE engagement_id = ANY(%s) "
                "AND claimed_until IS NULL ORDER BY engagement_id FOR SHARE",
                [ids],
            )
            held = {pk for (pk,) in cursor.fetchall()}
            ids = [pk for pk in ids if pk not in held]
            if not ids:
                return
        moment = connection.ops.adapt_datetimefield_value(at or timezone.now())
        rows = ", ".join(["(%s, %s, 1)"] * len(ids))
        cursor.execute(
            f"INSERT INTO {MARKS} (engagement_id, marked_at, seq) VALUES {rows} "
            f"ON CONFLICT (engagement_id) DO UPDATE SET seq = {MARKS}.seq + 1",
            [value for pk in ids for value in (pk, moment)],
        )


def mark_where(queryset) -> int:
    """Mark every engagement of ``queryset`` (of engagements) set-based; how many."""
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), 1000):
        mark(*ids[start : start + 1000])
    return len(ids)


def mark_vendor_engagements(*, vendor_id: int) -> None:
    """A vendor's review status may have changed: mark its active engagements (the receiver of
    ``vendors.hooks.review_changed``; their "vendor needs review" reminder)."""
    mark_where(Engagement.unscoped.filter(vendor_id=vendor_id, status=EngagementStatus.ACTIVE))


def mark_contract_engagements(*, contract_id: int) -> None:
    """A contract's terms or decisions changed: mark the active engagements under it (the
    receiver of ``vendors.hooks.contract_changed``; their decide-by date and reminders)."""
    mark_where(Engagement.unscoped.filter(contract_id=contract_id, status=EngagementStatus.ACTIVE))


@dataclass(frozen=True)
class Claimed:
    engagement_id: int
    seq: int
    marked_at: datetime


def promote_due(*, at: datetime, limit: int, within: list[int] | None = None) -> int:
    """Turn up to ``limit`` verdicts due by ``at`` into marks; how many (one transaction).

    ``within``: only these engagements (a replay's own, in a database that holds others)."""
    due_now = EngagementHealth.unscoped.select_for_update(skip_locked=True).filter(
        next_check_at__lte=at
    )
    if within is not None:
        due_now = due_now.filter(engagement_id__any_of=within)
    with transaction.atomic():
        due = list(
            due_now.order_by("next_check_at").values_list("engagement_id", "next_check_at")[:limit]
        )
        if not due:
            return 0
        ids = [eid for eid, _ in due]
        EngagementHealth.unscoped.filter(engagement_id__any_of=ids).update(next_check_at=None)
        # The mark carries the deadline as its moment: the lag is counted from when it was due.
        WatchMark.objects.bulk_create(
            [WatchMark(engagement_id=eid, marked_at=when) for eid, when in due],
            ignore_conflicts=True,
        )
    return len(due)


def lease() -> timedelta:
    return timedelta(seconds=settings.WATCH_CLAIM_SECONDS)


def claim(*, at: datetime, limit: int, within: list[int] | None = None) -> list[Claimed]:
    """Lease up to ``limit`` marks nobody holds (or whose holder died) until ``at`` + lease."""
    moment = connection.ops.adapt_datetimefield_value(at)
    until = connection.ops.adapt_datetimefield_value(at + lease())
    free = "(claimed_until IS NULL OR claimed_until < %s)"
    if within is not None:
        free += f" AND engagement_id IN ({', '.join(str(int(pk)) for pk in within) or 'NULL'})"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"""
                WITH free AS (
                    SELECT engagement_id FROM {MARKS} WHERE {free}
                    ORDER BY marked_at LIMIT %s FOR UPDATE
                )
                UPDATE {MARKS} m SET claimed_until = %s FROM free
                WHERE m.engagement_id = free.engagement_id
                RETURNING m.engagement_id, m.seq, m.marked_at
                """,
                [moment, limit, until],
            )
        else:  # SQLite: one writer at a time, so the conditional UPDATE is the claim by itself.
            cursor.execute(
                f"UPDATE {MARKS} SET claimed_until = %s WHERE engagement_id IN "
                f"(SELECT engagement_id FROM {MARKS} WHERE {free} ORDER BY marked_at LIMIT %s) "
                "RETURNING engagement_id, seq, marked_at",
                [until, moment, limit],
            )
        rows = cursor.fetchall()
    return sorted((Claimed(eid, seq, _aware(when)) for eid, seq, when in rows), key=_by_id)


def _by_id(c: Claimed) -> int:
    return c.engagement_id


def _aware(value) -> datetime:
    """A moment read by raw SQL: SQLite hands back text or a naive UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return timezone.make_aware(value, timezone.UTC) if timezone.is_naive(value) else value


def release(claimed: list[Claimed]) -> int:
    """After evaluating ``claimed``: delete the marks nobody bumped since, free the others.

    Returns how many marks stay (written to during the evaluation: evaluated again next)."""
    if not claimed:
        return 0
    by_seq: dict[int, list[int]] = {}
    for c in claimed:
        by_seq.setdefault(c.seq, []).append(c.engagement_id)
    done = Q()
    for seq, ids in by_seq.items():
        done |= Q(seq=seq, engagement_id__any_of=ids)
    ids = [c.engagement_id for c in claimed]
    with transaction.atomic():
        deleted = WatchMark.objects.filter(done)._raw_delete(WatchMark.objects.db)
        WatchMark.objects.filter(engagement_id__any_of=ids).update(claimed_until=None)
    return len(claimed) - deleted


@dataclass(frozen=True)
class Backlog:
    marked: int  # engagements marked, not evaluated yet
    oldest_seconds: float | None  # how long the oldest mark has waited
    overdue: bool  # a mark, or a deadline, waited longer than the steady sweep allows

    @staticmethod
    def allowed() -> timedelta:
        """How long a mark or a deadline may wait: three ticks, plus a lease (a worker killed
        while holding marks delays them that long)."""
        return 3 * timedelta(seconds=settings.WATCH_DIRTY_SECONDS) + lease()


def backlog(now: datetime) -> Backlog:
    """Is the steady sweep keeping up? Three small queries on indexed columns."""
    marked = WatchMark.objects.count()
    oldest = WatchMark.objects.order_by("marked_at").values_list("marked_at", flat=True).first()
    late = now - Backlog.allowed()
    overdue = (oldest is not None and oldest < late) or EngagementHealth.unscoped.filter(
        next_check_at__lt=late
    ).exists()
    return Backlog(marked, (now - oldest).total_seconds() if oldest else None, overdue)
