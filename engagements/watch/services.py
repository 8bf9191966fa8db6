"""The health watcher's sweep: collect each engagement's facts, apply the rules, upsert health.

The sweep upserts health rows and daily snapshots (idempotent: two overlapping sweeps write
the same rows). What follows from the verdicts (alerts, notifications) belongs to the
concerns above; they receive each chunk's verdicts through ``hooks.evaluated``.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.services import mark_dashboards_stale
from engagements.delivery.models import Engagement, EngagementStatus
from engagements.watch import deadlines, hooks, marks, rules
from engagements.watch import facts as facts_module
from engagements.watch.facts import IdRange
from engagements.watch.models import (
    EngagementHealth,
    HealthSnapshot,
    SweepRun,
    WatchMark,
    level_rank,
)

BATCH = 2000


@dataclass
class SweepResult:
    engagements: int = 0
    health_written: int = 0
    snapshots_written: int = 0
    changes: list[str] = field(default_factory=list)  # alert changes, human-readable
    notifications: int = 0
    orgs: set[int] = field(default_factory=set)  # whose dashboards show something new
    fixed: int = 0  # a reconciliation: engagements whose verdict or alert it had to change
    fixed_ids: set[int] = field(default_factory=set)

    def add(self, other: "SweepResult") -> None:
        self.engagements += other.engagements
        self.health_written += other.health_written
        self.snapshots_written += other.snapshots_written
        self.changes.extend(other.changes)
        self.notifications += other.notifications
        self.orgs |= other.orgs
        self.fixed += other.fixed
        self.fixed_ids |= other.fixed_ids

    def changed(self, org_id: int, change: str) -> None:
        self.orgs.add(org_id)
        self.changes.append(change)


SWEEP_RUN_RETENTION = timedelta(days=30)


def sweep(*, at: datetime, engagement_ids: list[int] | None = None) -> SweepResult:
    """Evaluate all active engagements (or the given ones) as of ``at``; upsert health, alerts, outbox.

    A full sweep goes chunk by chunk in this process (``sweep_chunk``), recorded as a
    ``SweepRun``; the beat's task hands the same chunks to several workers instead.
    """
    if engagement_ids is not None:
        return sweep_chunk(at=at, engagement_ids=engagement_ids)
    run, ranges = start_run(at=at)
    result = SweepResult()
    for id_range in ranges:
        result.add(sweep_chunk(at=at, id_range=id_range, run_id=run.pk))
    return result


def start_run(*, at: datetime, chunk_size: int | None = None) -> tuple[SweepRun, list[IdRange]]:
    """Record a full sweep as of ``at`` and split the active engagements into id ranges.

    The ranges cover every id (the first is open below, the last open above), so alerts of
    engagements that stopped being active are resolved by whichever chunk holds their id.
    """
    size = chunk_size or settings.HEALTH_SWEEP_CHUNK
    active = Engagement.unscoped.filter(status=EngagementStatus.ACTIVE).order_by("pk")
    starts = list(active.values_list("pk", flat=True))[::size]
    ranges: list[IdRange] = [
        (lo if i else None, starts[i + 1] - 1 if i + 1 < len(starts) else None)
        for i, lo in enumerate(starts)
    ] or [(None, None)]
    SweepRun.objects.filter(at__lt=at - SWEEP_RUN_RETENTION).delete()
    return SweepRun.objects.create(at=at, chunks=len(ranges)), ranges


def _finish_chunk(run_id: int, engagements: int, fixed: int = 0) -> None:
    """Count one chunk of a run as done; the chunk that completes the count stamps the end."""
    SweepRun.objects.filter(pk=run_id).update(
        chunks_done=F("chunks_done") + 1,
        engagements=F("engagements") + engagements,
        fixed=F("fixed") + fixed,
        finished_at=Case(
            When(
                finished_at__isnull=True,
                chunks_done__gte=F("chunks") - 1,
                then=Value(timezone.now()),
            ),
            default=F("finished_at"),
        ),
    )


@dataclass
class MarkedResult:
    promoted: int = 0  # deadlines that had come, turned into marks
    claimed: int = 0  # marks evaluated
    kept: int = 0  # marked again during the evaluation: evaluated once more next
    more: bool = False  # a full chunk was claimed: more may be waiting
    lags: list[float] = field(default_factory=list)  # seconds from mark to evaluated
    result: SweepResult = field(default_factory=SweepResult)


def sweep_marked(
    *, at: datetime | None = None, limit: int | None = None, within: list[int] | None = None
) -> MarkedResult:
    """The steady sweep's step: turn the deadlines that came into marks, claim up to ``limit``
    marks (leased, disjoint from other steps') and evaluate those engagements set-based, then release them.

    A hundred writes to one engagement before this step cost one evaluation; a write during
    it bumps the mark, which survives the release (evaluated again by the next step)."""
    at = at or timezone.now()
    limit = limit or settings.WATCH_DIRTY_CHUNK
    out = MarkedResult(promoted=marks.promote_due(at=at, limit=limit, within=within))
    claimed = marks.claim(at=at, limit=limit, within=within)
    out.claimed, out.more = len(claimed), len(claimed) >= limit
    if not claimed:
        return out
    out.result = sweep_chunk(at=at, engagement_ids=[c.engagement_id for c in claimed])
    out.kept = marks.release(claimed)
    done = timezone.now()
    out.lags = [(done - c.marked_at).total_seconds() for c in claimed]
    return out


def sweep_chunk(
    *,
    at: datetime,
    engagement_ids: list[int] | None = None,
    id_range: IdRange | None = None,
    run_id: int | None = None,
    reconcile: bool = False,
) -> SweepResult:
    """Evaluate the given engagements, or the active ones within ``id_range``, as of ``at``.

    A chunk of a full sweep (``run_id``), or asked to ``reconcile``, counts in ``result.fixed``
    what it changed that the incremental path (marks and deadlines) did not have in hand."""
    reconcile = reconcile or run_id is not None
    result = SweepResult()
    facts = facts_module.collect(at=at, engagement_ids=_active(engagement_ids), id_range=id_range)
    result.engagements = len(facts)
    previous = {
        row["engagement_id"]: row
        for row in facts_module.scoped(
            EngagementHealth.unscoped.all(), engagement_ids, id_range
        ).values("engagement_id", "next_check_at", *HEALTH_FIELDS)
    }  # plain rows, not model instances: at 100,000 engagements instantiation dominates
    hold = timedelta(hours=settings.HEALTH_DEESCALATION_HOLD_HOURS)
    persist = timedelta(days=settings.HEALTH_CUT_LOSSES_PERSIST_DAYS)
    changed: list[EngagementHealth] = []
    snapshots: list[HealthSnapshot] = []
    levels: dict[int, str] = {}
    signals: dict[int, list[dict]] = {}
    deadline: dict[int, datetime | None] = {}
    # A reconciliation (a full sweep) counts what it changes that the incremental path did not
    # already have in hand: an engagement marked, or due by ``at``, was not missed.
    pending = _pending(facts, previous, at) if reconcile else set()
    fixed: set[int] = set()
    today = at.date()
    for engagement_id, f in facts.items():
        old = previous.get(engagement_id)
        new = _evaluate(f, at, old, hold)
        levels[engagement_id] = new["level"]
        signals[engagement_id] = new["signals"]
        deadline[engagement_id] = deadlines.next_check(
            f, at, new["signals"], lower_since=new["lower_since"], hold=hold, persist=persist
        )
        differs = old is None or any(old[k] != new[k] for k in COMPARED)
        if differs and reconcile and engagement_id not in pending:
            fixed.add(engagement_id)
        if differs or old["snapshot_on"] != today:
            new["snapshot_on"] = today
            snapshots.append(
                HealthSnapshot(
                    org_id=f.org_id,
                    engagement_id=engagement_id,
                    date=today,
                    score=new["score"],
                    level=new["level"],
                )
            )
        if differs or new["snapshot_on"] != old["snapshot_on"]:
            changed.append(
                EngagementHealth(
                    org_id=f.org_id,
                    engagement_id=engagement_id,
                    evaluated_at=at,
                    next_check_at=deadline[engagement_id],
                    **new,
                )
            )
    if changed or snapshots:
        _write_health(changed, snapshots)
        result.orgs |= {row.org_id for row in [*changed, *snapshots]}
    result.health_written, result.snapshots_written = len(changed), len(snapshots)
    before = len(result.changes)
    answers = hooks.evaluated(
        facts=facts,
        levels=levels,
        signals=signals,
        at=at,
        result=result,
        engagement_ids=engagement_ids,
        id_range=id_range,
    )
    # The concerns above add their own moments (a snooze ending, a reminder due).
    final = dict(deadline)
    for answer in answers:
        for engagement_id, moment in (answer or {}).items():
            if engagement_id in final:
                final[engagement_id] = deadlines.earliest_after(at, [final[engagement_id], moment])
    written = {row.engagement_id: row.next_check_at for row in changed}
    _write_deadlines(
        {
            eid: moment
            for eid, moment in final.items()
            if moment != (written[eid] if eid in written else _stored(previous, eid))
        }
    )
    if reconcile:
        fixed |= {eid for eid in _engagements_in(result.changes[before:]) if eid not in pending}
        result.fixed, result.fixed_ids = len(fixed), fixed
    mark_dashboards_stale(result.orgs)
    if run_id is not None:
        _finish_chunk(run_id, result.engagements, result.fixed)
    return result


def _stored(previous: dict, engagement_id: int) -> datetime | None:
    row = previous.get(engagement_id)
    return row["next_check_at"] if row else None


def _write_deadlines(final: dict[int, datetime | None]) -> None:
    """Set ``next_check_at`` where it is not what is stored: the alerts' moments made it earlier
    than the rules' own, or a verdict that did not change was re-checked at its deadline.

    On PostgreSQL one UPDATE joins the pairs as two arrays (``unnest``), in engagement order:
    a ``CASE`` of one branch per engagement cost the ORM ~0.3 ms per engagement to build and
    the database a scan of the branches per row (40 % of a steady sweep)."""
    todo = sorted(final.items())
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(EngagementHealth._meta.db_table)
        with connection.cursor() as cursor:
            for start in range(0, len(todo), 5000):
                part = todo[start : start + 5000]
                cursor.execute(
                    f"UPDATE {table} AS h SET next_check_at = d.moment "
                    "FROM unnest(%s::bigint[], %s::timestamptz[]) AS d(engagement_id, moment) "
                    "WHERE h.engagement_id = d.engagement_id",
                    [[eid for eid, _ in part], [moment for _, moment in part]],
                )
        return
    for start in range(0, len(todo), 500):
        part = todo[start : start + 500]
        EngagementHealth.unscoped.filter(engagement_id__in=[eid for eid, _ in part]).update(
            next_check_at=Case(
                *[When(engagement_id=eid, then=Value(moment)) for eid, moment in part],
                default=None,
                output_field=EngagementHealth._meta.get_field("next_check_at"),
            )
        )


ENGAGEMENT_IN_CHANGE = re.compile(r"^engagement (\d+):")


def _engagements_in(changes: list[str]) -> set[int]:
    """The engagements named by alert changes ("engagement 12: alert opened at watch")."""
    return {int(m.group(1)) for change in changes if (m := ENGAGEMENT_IN_CHANGE.match(change))}


def _pending(facts: dict, previous: dict, at: datetime) -> set[int]:
    """Of a reconciliation chunk's engagements, those the incremental path already holds:
    marked for re-evaluation, or due (``next_check_at`` by ``at``)."""
    due = {
        eid
        for eid, row in previous.items()
        if row["next_check_at"] is not None and row["next_check_at"] <= at
    }
    marked = set(
        WatchMark.objects.filter(engagement_id__any_of=list(facts)).values_list(
            "engagement_id", flat=True
        )
    )
    return due | marked


def _active(engagement_ids: list[int] | None) -> list[int] | None:
    """Of the named engagements, the active ones: a paused, completed or terminated engagement
    is out of the watcher whichever way it is swept (a re-evaluation after the decision that
    ended it, too). Its alert, if one is left, is resolved by the hook: it gets no facts."""
    if engagement_ids is None:
        return None
    return list(
        Engagement.unscoped.filter(pk__any_of=engagement_ids, status=EngagementStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def _write_health(changed: list[EngagementHealth], snapshots: list[HealthSnapshot]) -> None:
    EngagementHealth.unscoped.bulk_create(
        changed,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["engagement"],
        update_fields=[
            "score",
            "level",
            "raw_level",
            "lower_since",
            "signals",
            "evaluated_at",
            "snapshot_on",
            "next_check_at",
        ],
    )
    HealthSnapshot.unscoped.bulk_create(
        snapshots,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["engagement", "date"],
        update_fields=["score", "level"],
    )


HEALTH_FIELDS = ("score", "level", "raw_level", "lower_since", "signals", "snapshot_on")
COMPARED = HEALTH_FIELDS[:-1]


def _evaluate(f, at: datetime, old: dict | None, hold: timedelta) -> dict:
    found = rules.signals(f, at)
    before = {s["kind"]: s for s in (old["signals"] if old else [])}

    def seen(kind: str, key: str) -> datetime:
        value = before.get(kind, {}).get(key)
        return datetime.fromisoformat(value) if value else at

    since = {s.kind: seen(s.kind, "since") for s in found}
    # Persistence counts from the day a sign became clear (severity ≥ 2), not from its first
    # mild appearance: two mild signs turning clear on the same day warn before they cut.
    clear = {s.kind: seen(s.kind, "clear_since") for s in found if s.severity >= 2}
    score, raw = rules.assess(
        found, clear, at, persist_days=settings.HEALTH_CUT_LOSSES_PERSIST_DAYS
    )
    level, lower_since = raw, None
    if old is not None and level_rank(raw) < level_rank(old["level"]):
        # De-escalate only after the lower level held for the hold time: no flapping.
        lower_since = old["lower_since"] or at
        level = raw if at - lower_since >= hold else old["level"]
        if level == raw:
            lower_since = None
    # Read after the verdict (it reads the level): weight 0, the level stays as it is.
    if decide := rules.decide_before_renewal(f, at, level, found):
        found.append(decide)
        since[decide.kind] = seen(decide.kind, "since")
        clear[decide.kind] = seen(decide.kind, "clear_since")
    return {
        "score": score,
        "level": level,
        "raw_level": raw,
        "lower_since": lower_since,
        "signals": [
            s.as_dict()
            | {"since": since[s.kind].isoformat()}
            | ({"clear_since": clear[s.kind].isoformat()} if s.kind in clear else {})
            for s in found
        ],
        "snapshot_on": old["snapshot_on"] if old else None,
    }
