"""The health watcher's sweep: collect each engagement's facts, apply the rules, upsert health.

The sweep upserts health rows and daily snapshots (idempotent: two overlapping sweeps write
the same rows). What follows from the verdicts (alerts, notifications) belongs to the
concerns above; they receive each chunk's verdicts through ``hooks.evaluated``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.services import mark_dashboards_stale
from engagements.delivery.models import Engagement, EngagementStatus
from engagements.watch import facts as facts_module
from engagements.watch import hooks, rules
from engagements.watch.facts import IdRange
from engagements.watch.models import EngagementHealth, HealthSnapshot, SweepRun, level_rank

BATCH = 2000


@dataclass
class SweepResult:
    engagements: int = 0
    health_written: int = 0
    snapshots_written: int = 0
    changes: list[str] = field(default_factory=list)  # alert changes, human-readable
    notifications: int = 0
    orgs: set[int] = field(default_factory=set)  # whose dashboards show something new

    def add(self, other: "SweepResult") -> None:
        self.engagements += other.engagements
        self.health_written += other.health_written
        self.snapshots_written += other.snapshots_written
        self.changes.extend(other.changes)
        self.notifications += other.notifications
        self.orgs |= other.orgs

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


def _finish_chunk(run_id: int, engagements: int) -> None:
    """Count one chunk of a run as done; the chunk that completes the count stamps the end."""
    SweepRun.objects.filter(pk=run_id).update(
        chunks_done=F("chunks_done") + 1,
        engagements=F("engagements") + engagements,
        finished_at=Case(
            When(
                finished_at__isnull=True,
                chunks_done__gte=F("chunks") - 1,
                then=Value(timezone.now()),
            ),
            default=F("finished_at"),
        ),
    )


def sweep_chunk(
    *,
    at: datetime,
    engagement_ids: list[int] | None = None,
    id_range: IdRange | None = None,
    run_id: int | None = None,
) -> SweepResult:
    """Evaluate the given engagements, or the active ones within ``id_range``, as of ``at``."""
    result = SweepResult()
    facts = facts_module.collect(at=at, engagement_ids=_active(engagement_ids), id_range=id_range)
    result.engagements = len(facts)
    previous = {
        row["engagement_id"]: row
        for row in facts_module.scoped(
            EngagementHealth.unscoped.all(), engagement_ids, id_range
        ).values("engagement_id", *HEALTH_FIELDS)
    }  # plain rows, not model instances: at 100,000 engagements instantiation dominates
    hold = timedelta(hours=settings.HEALTH_DEESCALATION_HOLD_HOURS)
    changed: list[EngagementHealth] = []
    snapshots: list[HealthSnapshot] = []
    levels: dict[int, str] = {}
    signals: dict[int, list[dict]] = {}
    today = at.date()
    for engagement_id, f in facts.items():
        old = previous.get(engagement_id)
        new = _evaluate(f, at, old, hold)
        levels[engagement_id] = new["level"]
        signals[engagement_id] = new["signals"]
        differs = old is None or any(old[k] != new[k] for k in COMPARED)
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
                    org_id=f.org_id, engagement_id=engagement_id, evaluated_at=at, **new
                )
            )
    if changed or snapshots:
        _write_health(changed, snapshots)
        result.orgs |= {row.org_id for row in [*changed, *snapshots]}
    result.health_written, result.snapshots_written = len(changed), len(snapshots)
    hooks.evaluated(
        facts=facts,
        levels=levels,
        signals=signals,
        at=at,
        result=result,
        engagement_ids=engagement_ids,
        id_range=id_range,
    )
    mark_dashboards_stale(result.orgs)
    if run_id is not None:
        _finish_chunk(run_id, result.engagements)
    return result


def _active(engagement_ids: list[int] | None) -> list[int] | None:
    """Of the named engagements, the active ones: a paused, completed or terminated engagement
    is out of the watcher whichever way it is swept (a re-evaluation after the decision that
    ended it, too). Its alert, if one is left, is resolved by the hook: it gets no facts."""
    if engagement_ids is None:
        return None
    return list(
        Engagement.unscoped.filter(pk__in=engagement_ids, status=EngagementStatus.ACTIVE)
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
