"""The health watcher's writes: the sweep, the alert lifecycle, the outbox and its delivery.

Exactly-once lives in the database: the sweep upserts health rows (idempotent), opens an
alert under the partial unique constraint "one unresolved alert per engagement", changes an
alert only by compare-and-set (``filter(pk=…, level=old).update(…)``: exactly one row
changed = this sweep won) and writes the alert event and the outbox rows in that same
transaction; outbox rows are unique per (alert, channel, level, reminder sequence). Two
overlapping sweeps therefore never open a second alert or queue a second notification.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, send_mail
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Max, Q, Value, When
from django.utils import timezone

from accounts.models import Membership, Role
from engagements import health as rules
from engagements import metrics as metrics_module
from engagements.metrics import IdRange
from engagements.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    DigestSent,
    Engagement,
    EngagementHealth,
    EngagementStatus,
    EscalationPolicy,
    HealthSnapshot,
    Level,
    Notification,
    NotificationChannel,
    NotificationPreference,
    NotificationState,
    SweepRun,
)
from engagements.models.health import level_rank
from engagements.services import delivery
from engagements.services.watch import dashboards_changed
from outsourcing.validation import check_values

log = logging.getLogger(__name__)

WEBHOOK_PAYLOAD_VERSION = 1
WEBHOOK_SIGNATURE_HEADER = "Vendorwatch-Signature"
# How far a delivery's signed moment may be from the receiver's clock (documented in the
# README's receiver): older ones are replays, refused.
WEBHOOK_SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
STALE_CLAIM = timedelta(minutes=10)
BATCH = 2000


# --- the sweep -------------------------------------------------------------------------------


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
    facts = metrics_module.collect(at=at, engagement_ids=engagement_ids, id_range=id_range)
    result.engagements = len(facts)
    previous = {
        row["engagement_id"]: row
        for row in metrics_module.scoped(
            EngagementHealth.unscoped.all(), engagement_ids, id_range
        ).values("engagement_id", *HEALTH_FIELDS)
    }  # plain rows, not model instances: at 100,000 engagements instantiation dominates
    hold = timedelta(hours=settings.HEALTH_DEESCALATION_HOLD_HOURS)
    changed: list[EngagementHealth] = []
    snapshots: list[HealthSnapshot] = []
    levels: dict[int, str] = {}
    today = at.date()
    for engagement_id, f in facts.items():
        old = previous.get(engagement_id)
        new = _evaluate(f, at, old, hold)
        levels[engagement_id] = new["level"]
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
    _apply_alerts(facts, levels, at, result, engagement_ids, id_range)
    dashboards_changed(result.orgs)
    if result.notifications:
        transaction.on_commit(_enqueue_dispatch)
    if run_id is not None:
        _finish_chunk(run_id, result.engagements)
    return result


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


ALERT_ROW = ("pk", "org_id", "engagement_id", "level", "status", "snoozed_until")


def _apply_alerts(
    facts, levels: dict[int, str], at: datetime, result: SweepResult, engagement_ids, id_range
) -> None:
    """Open, escalate, de-escalate, wake, resolve and remind: compare-and-set on the few that change."""
    alerts = Alert.unscoped.exclude(status=AlertStatus.RESOLVED)
    alerts = (
        alerts.filter(engagement_id__in=engagement_ids)
        if engagement_ids is not None
        else metrics_module.in_range(alerts, id_range)
    )
    # Named rows, not model instances: most unresolved alerts do not change in a sweep.
    unresolved = {}
    for alert in alerts.values_list(*ALERT_ROW, named=True):
        if alert.engagement_id in facts:
            unresolved[alert.engagement_id] = alert
        else:  # completed, terminated or paused: nothing to watch any more
            _apply_one(
                alert.engagement_id,
                alert.org_id,
                Level.HEALTHY,
                alert,
                at,
                {},
                result,
                why="the engagement is no longer active",
            )
    todo = [
        eid
        for eid in facts
        if (
            eid in unresolved
            and _alert_needs_change(unresolved[eid], levels.get(eid, Level.HEALTHY), at)
        )
        or (eid not in unresolved and level_rank(levels.get(eid, Level.HEALTHY)) >= 1)
    ]
    org_ids = {facts[eid].org_id for eid in todo} | {
        facts[a.engagement_id].org_id for a in unresolved.values()
    }
    channels = _channels(org_ids)
    to_open = [eid for eid in todo if eid not in unresolved]
    for start in range(0, len(to_open), BATCH):
        _open_alerts(to_open[start : start + BATCH], facts, levels, at, channels, result)
    for eid in todo:
        if eid not in unresolved:
            continue
        _apply_one(
            eid,
            facts[eid].org_id,
            levels.get(eid, Level.HEALTHY),
            unresolved.get(eid),
            at,
            channels,
            result,
        )
    _remind(unresolved, set(todo), at, channels, result)


@transaction.atomic
def _open_alerts(eids: list[int], facts, levels, at: datetime, channels, result) -> None:
    """Open alerts for many engagements at once (set-based): insert, then events and outbox.

    ``ignore_conflicts``: an engagement whose alert an overlapping sweep opened first is
    skipped by the partial unique constraint; the "opened" event is unique per alert too, so
    only one of two sweeps with the same ``at`` writes it, and outbox rows are unique anyway.
    """
    Alert.unscoped.bulk_create(
        [
            Alert(
                org_id=facts[eid].org_id,
                engagement_id=eid,
                level=levels[eid],
                opened_at=at,
                level_changed_at=at,
            )
            for eid in eids
        ],
        ignore_conflicts=True,
    )
    opened = list(
        Alert.unscoped.filter(engagement_id__in=eids, opened_at=at, status=AlertStatus.OPEN)
        .exclude(events__kind="opened")
        .only("pk", "org_id", "engagement_id", "level")
    )
    AlertEvent.unscoped.bulk_create(
        [
            AlertEvent(
                org_id=a.org_id,
                alert=a,
                at=at,
                kind="opened",
                to_level=a.level,
                to_status=AlertStatus.OPEN,
                note="signals crossed the watch line",
            )
            for a in opened
        ],
        ignore_conflicts=True,
    )
    rows = [row for a in opened for row in _outbox_rows(a, a.level, channels.get(a.org_id, []), at)]
    Notification.unscoped.bulk_create(rows, ignore_conflicts=True)
    result.notifications += len(rows)
    for a in opened:
        result.changed(a.org_id, f"engagement {a.engagement_id}: alert opened at {a.level}")


def _alert_needs_change(alert, level: str, at: datetime) -> bool:
    if level_rank(level) == 0 or level != alert.level:
        return True
    return alert.status == AlertStatus.SNOOZED and alert.snoozed_until <= at


def _channels(org_ids) -> dict[int, list[NotificationChannel]]:
    channels: dict[int, list[NotificationChannel]] = {}
    if org_ids:
        for c in NotificationChannel.unscoped.filter(org_id__in=org_ids, is_active=True):
            channels.setdefault(c.org_id, []).append(c)
    return channels


def _event(alert, at: datetime, kind: str, *, by=None, note="", **changes) -> AlertEvent:
    return AlertEvent.unscoped.create(
        org_id=alert.org_id, alert_id=alert.pk, at=at, by=by, kind=kind, note=note, **changes
    )


def _outbox_rows(
    alert, level: str, channels: list[NotificationChannel], at: datetime, sequence: int = 0
) -> list[Notification]:
    """One outbox row per channel; the idempotency key is what makes a row unique."""
    return [
        Notification(
            org_id=alert.org_id,
            alert_id=alert.pk,
            channel=c,
            level=level,
            sequence=sequence,
            idempotency_key=f"alert-{alert.pk}-channel-{c.pk}-{level}-{sequence}",
            next_attempt_at=at,
            created_at=at,
        )
        for c in channels
    ]


def _queue(
    alert, level: str, channels: list[NotificationChannel], at: datetime, sequence: int = 0
) -> int:
    rows = _outbox_rows(alert, level, channels, at, sequence)
    # ignore_conflicts: a second sweep racing this one queues nothing twice (notification_once).
    Notification.unscoped.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _apply_one(eid, org_id, level, alert, at, channels, result, why="the signals cleared") -> None:
    org_channels = channels.get(org_id, [])
    with transaction.atomic():
        if level_rank(level) == 0:
            won = Alert.unscoped.filter(pk=alert.pk, status=alert.status, level=alert.level).update(
                status=AlertStatus.RESOLVED, resolved_at=at, snoozed_until=None
            )
            if won == 1:
                _event(
                    alert,
                    at,
                    "resolved",
                    from_status=alert.status,
                    to_status=AlertStatus.RESOLVED,
                    from_level=alert.level,
                    to_level=Level.HEALTHY,
                    note=why,
                )
                result.changed(org_id, f"engagement {eid}: alert resolved ({why})")
            return
        if level != alert.level:
            up = level_rank(level) > level_rank(alert.level)
            # A rise needs fresh attention: a snoozed or acknowledged alert opens again.
            status = AlertStatus.OPEN if up else alert.status
            won = Alert.unscoped.filter(pk=alert.pk, status=alert.status, level=alert.level).update(
                level=level,
                level_changed_at=at,
                status=status,
                snoozed_until=None if status == AlertStatus.OPEN else alert.snoozed_until,
            )
            if won != 1:
                return
            _event(
                alert,
                at,
                "escalated" if up else "de-escalated",
                from_level=alert.level,
                to_level=level,
                from_status=alert.status,
                to_status=status,
                note="" if status == alert.status else f"woke up from {alert.status}",
            )
            if up:
                result.notifications += _queue(alert, level, org_channels, at)
            result.changed(
                org_id,
                f"engagement {eid}: alert {'escalated' if up else 'de-escalated'} to {level}",
            )
            return
        if alert.status == AlertStatus.SNOOZED and alert.snoozed_until <= at:
            won = Alert.unscoped.filter(pk=alert.pk, status=AlertStatus.SNOOZED).update(
                status=AlertStatus.OPEN, snoozed_until=None
            )
            if won == 1:
                _event(
                    alert,
                    at,
                    "woke",
                    from_status=AlertStatus.SNOOZED,
                    to_status=AlertStatus.OPEN,
                    note="snooze ended",
                )
                result.changed(org_id, f"engagement {eid}: snooze ended")


def _remind(
    unresolved: dict, changed_ids: set[int], at: datetime, channels, result: SweepResult
) -> None:
    """Reminders while an alert stays open (unacknowledged), at the policy's cadence per level."""
    open_ids = [a.pk for a in unresolved.values() if a.status == AlertStatus.OPEN]
    if not open_ids:
        return
    policies = {
        p.org_id: p
        for p in EscalationPolicy.unscoped.filter(
            org_id__in={a.org_id for a in unresolved.values()}
        )
    }
    last = {
        (r["alert_id"], r["channel_id"], r["level"]): r
        for r in Notification.unscoped.filter(alert_id__in=open_ids)
        .values("alert_id", "channel_id", "level")
        .annotate(seq=Max("sequence"), last=Max("created_at"))
    }
    # Only alerts this sweep touched may have changed since they were read.
    touched = [a.pk for a in unresolved.values() if a.engagement_id in changed_ids]
    fresh = {a.pk: a for a in Alert.unscoped.filter(pk__in=touched)} if touched else {}
    for alert in (fresh.get(a.pk, a) for a in unresolved.values()):
        if alert.status != AlertStatus.OPEN:
            continue
        policy = policies.get(alert.org_id)
        if policy is None:
            policy = policies[alert.org_id] = EscalationPolicy.default(alert.org_id)
        hours = policy.remind_hours(alert.level)
        if not hours:
            continue
        for channel in channels.get(alert.org_id, []):
            row = last.get((alert.pk, channel.pk, alert.level))
            if row and at - row["last"] >= timedelta(hours=hours):
                with transaction.atomic():
                    result.notifications += _queue(
                        alert, alert.level, [channel], at, row["seq"] + 1
                    )
                result.changes.append(
                    f"engagement {alert.engagement_id}: reminder {row['seq'] + 1} via {channel}"
                )


def _enqueue_dispatch() -> None:
    from engagements import tasks

    try:
        tasks.dispatch_outbox.apply_async(retry=False)
    except Exception as exc:  # broker down: the outbox keeps the rows; beat's dispatcher catches up
        log.warning("broker unreachable (%s); the outbox will be dispatched later", exc)


def engagement_changed_after_commit(*, engagement_id: int) -> None:
    """Re-evaluate one engagement's health now that a change that matters was committed."""
    from engagements import tasks

    try:
        tasks.reevaluate_engagement.apply_async(
            kwargs={"engagement_id": engagement_id}, retry=False
        )
    except Exception as exc:
        # Broker down: one engagement's sweep is a dozen queries and no network (notifications
        # go to the outbox), so do it here; the request still succeeds.
        log.warning(
            "broker unreachable (%s); re-evaluating engagement %s in-process", exc, engagement_id
        )
        sweep(at=timezone.now(), engagement_ids=[engagement_id])


# --- people acting on alerts -----------------------------------------------------------------


class AlertChanged(ValidationError):
    """Someone (or the watcher) changed the alert since it was read: a lost race, not bad input."""


def _change(alert: Alert, *, by, kind: str, note: str, at: datetime, **fields) -> Alert:
    won = (
        Alert.unscoped.filter(pk=alert.pk, status=alert.status, level=alert.level)
        .exclude(status=AlertStatus.RESOLVED)
        .update(**fields)
    )
    if won != 1:
        raise AlertChanged("This alert changed meanwhile; look again.")
    dashboards_changed({alert.org_id})
    old_status = alert.status
    for name, value in fields.items():
        setattr(alert, name, value)
    _event(
        alert,
        at,
        kind,
        by=by,
        note=note,
        from_status=old_status,
        to_status=alert.status,
        from_level=alert.level,
        to_level=alert.level,
    )
    return alert


@transaction.atomic
def acknowledge_alert(*, alert: Alert, by, note: str = "", at: datetime | None = None) -> Alert:
    """Someone has seen the alert and is on it: reminders stop until the level rises."""
    at = at or timezone.now()
    return _change(
        alert,
        by=by,
        kind="acknowledged",
        note=note,
        at=at,
        status=AlertStatus.ACKNOWLEDGED,
        acknowledged_by=by,
        acknowledged_at=at,
        snoozed_until=None,
    )


@transaction.atomic
def snooze_alert(
    *, alert: Alert, by, until: datetime, note: str = "", at: datetime | None = None
) -> Alert:
    """Quiet the alert until ``until``; it wakes earlier if the level rises."""
    try:
        check_values(Alert, snoozed_until=until)
    except ValidationError as exc:  # the caller's word for it is ``until``
        raise ValidationError({"until": exc.message_dict["snoozed_until"]}) from None
    at = at or timezone.now()
    if until <= at:
        raise ValidationError({"until": "Snooze until a moment in the future."})
    return _change(
        alert,
        by=by,
        kind="snoozed",
        note=note,
        at=at,
        status=AlertStatus.SNOOZED,
        snoozed_until=until,
    )


@transaction.atomic
def resolve_alert(*, alert: Alert, by, note: str, at: datetime | None = None) -> Alert:
    """Close the alert by hand with a note; the watcher opens a new one if the signals persist."""
    at = at or timezone.now()
    if not note.strip():
        raise ValidationError({"note": "Say why the alert is resolved."})
    return _change(
        alert,
        by=by,
        kind="resolved",
        note=note,
        at=at,
        status=AlertStatus.RESOLVED,
        resolved_at=at,
        snoozed_until=None,
    )


@transaction.atomic
def terminate_engagement(
    *, engagement: Engagement, by, reason: str, at: datetime | None = None
) -> Engagement:
    """Cut losses from an alert: active|paused → terminated through the engagement's own status
    change (its event row, its post-mortem, the dashboards), and the open alert resolved."""
    if engagement.status not in (EngagementStatus.ACTIVE, EngagementStatus.PAUSED):
        raise ValidationError("Only an active or paused engagement can be terminated.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the engagement is terminated."})
    try:
        delivery.change_engagement_status(
            engagement=engagement, to=EngagementStatus.TERMINATED, by=by, reason=reason, at=at
        )
    except delivery.Conflict as exc:
        raise ValidationError(str(exc)) from exc
    for alert in Alert.unscoped.filter(engagement=engagement).exclude(status=AlertStatus.RESOLVED):
        resolve_alert(alert=alert, by=by, note=f"engagement terminated: {reason}", at=at)
    return engagement


# --- the cut-your-losses summary ---------------------------------------------------------------


@dataclass
class LossSummary:
    spent: Decimal
    budget: Decimal
    accepted_value: Decimal
    planned_value: Decimal
    unaccepted_value: Decimal
    projected_cost_to_finish: Decimal | None
    days_overdue: int
    metrics: dict
    currency: str


def loss_summary(*, engagement: Engagement, at: datetime) -> LossSummary:
    """What has been spent, what was accepted for it, and what finishing would cost at this rate."""
    # engagement_ids reads an engagement whatever its status: a terminated one too.
    facts = metrics_module.collect(at=at, engagement_ids=[engagement.pk])[engagement.pk]
    unaccepted = facts.planned_value - facts.accepted_value
    share = facts.accepted_value / facts.planned_value if facts.planned_value else Decimal("0")
    # At the current rate, each accepted share of the value has cost spent/share.
    projected = (facts.spent / share - facts.spent).quantize(Decimal("0.01")) if share else None
    return LossSummary(
        spent=facts.spent,
        budget=facts.budget,
        accepted_value=facts.accepted_value,
        planned_value=facts.planned_value,
        unaccepted_value=unaccepted,
        projected_cost_to_finish=projected,
        days_overdue=max(0, (at.date() - facts.target_end_date).days),
        metrics=metrics_module.metrics(facts, at),
        currency=engagement.currency,
    )


# --- channels and the outbox -------------------------------------------------------------------


def check_webhook_url(url: str) -> None:
    """http(s) only; outside development/tests no private, loopback or link-local target (SSRF)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "A webhook URL must start with http:// or https://."})
    if settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise ValidationError({"url": f"{parts.hostname} does not resolve."}) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise ValidationError({"url": f"{parts.hostname} points at a private address ({ip})."})


@transaction.atomic
def create_channel(*, org, kind: str, name: str, url: str = "") -> NotificationChannel:
    """Add a notification channel; a webhook gets its own signing secret."""
    if kind == NotificationChannel.Kind.WEBHOOK:
        check_webhook_url(url)
    return NotificationChannel.unscoped.create(
        org=org,
        kind=kind,
        name=name,
        url=url if kind == NotificationChannel.Kind.WEBHOOK else "",
        secret=secrets.token_hex(32) if kind == NotificationChannel.Kind.WEBHOOK else "",
    )


@transaction.atomic
def send_test_notification(
    *, channel: NotificationChannel, at: datetime | None = None
) -> Notification:
    """Queue a test message on ``channel`` through the same outbox as real alerts."""
    at = at or timezone.now()
    notification = Notification.unscoped.create(
        org_id=channel.org_id,
        channel=channel,
        level=Level.WATCH,
        is_test=True,
        idempotency_key=f"test-{channel.pk}-{secrets.token_hex(8)}",
        next_attempt_at=at,
        created_at=at,
    )
    transaction.on_commit(_enqueue_dispatch)
    return notification


def dispatch_outbox(*, at: datetime | None = None, limit: int = 200) -> int:
    """Claim due outbox rows one by one (conditional UPDATE) and deliver them; returns how many sent.

    A channel that fails is not tried again in the same run: its other due rows wait for the
    next run, unclaimed and with no attempt counted. A receiver that hangs thus costs one
    timeout per run instead of one per queued notification, which held back every other
    channel's messages behind it (and, with enough of them, ran the task into its time limit).
    """
    at = at or timezone.now()
    due = Q(state=NotificationState.PENDING, next_attempt_at__lte=at) | Q(
        state=NotificationState.CLAIMED, claimed_at__lt=at - STALE_CLAIM
    )
    failing: set[int] = set()
    sent = tried = 0
    while tried < limit:
        # Rows of failing channels are left out of the query, so they never use up the limit.
        wanted = limit - tried
        rows = list(
            Notification.unscoped.filter(due)
            .exclude(channel_id__in=failing)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "channel_id")[:wanted]
        )
        for pk, channel_id in rows:
            if channel_id in failing:
                continue
            # Exactly one row changed = claimed by us; works on SQLite where select_for_update does nothing.
            claimed = Notification.unscoped.filter(due, pk=pk).update(
                state=NotificationState.CLAIMED, claimed_at=at, attempts=F("attempts") + 1
            )
            if claimed != 1:
                continue  # another dispatcher has it
            tried += 1
            if deliver_notification(notification_id=pk, at=at):
                sent += 1
            else:
                failing.add(channel_id)
        if len(rows) < wanted or not failing:
            break  # a short batch: nothing more is due; no failure: nothing was skipped
    return sent


def deliver_notification(*, notification_id: int, at: datetime | None = None) -> int:
    """Deliver one claimed outbox row and record the outcome (retry later with backoff on failure)."""
    at = at or timezone.now()
    n = Notification.unscoped.select_related("channel", "alert__engagement__vendor").get(
        pk=notification_id
    )
    if n.state != NotificationState.CLAIMED:
        return 0
    try:
        if n.channel.kind == NotificationChannel.Kind.WEBHOOK:
            _post_webhook(n)
        else:
            _send_email(n)
    except SoftTimeLimitExceeded:
        # The task ran out of time mid-delivery: not the endpoint's failure. Back to pending,
        # the attempt uncounted, and the task ends; the next run delivers it.
        Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
            state=NotificationState.PENDING, attempts=F("attempts") - 1
        )
        raise
    except Exception as exc:  # any failure of one endpoint is recorded; others are unaffected
        retry = n.attempts < MAX_ATTEMPTS
        Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
            state=NotificationState.PENDING if retry else NotificationState.FAILED,
            next_attempt_at=at + timedelta(seconds=min(3600, 30 * 2**n.attempts)),
            last_error=f"attempt {n.attempts}: {type(exc).__name__}: {exc}"[:1000],
        )
        log.warning("notification %s failed (attempt %s): %s", n.pk, n.attempts, exc)
        return 0
    Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
        state=NotificationState.SENT, sent_at=at, last_error=""
    )
    return 1


def payload(n: Notification) -> dict:
    """The documented webhook body (``version`` 1)."""
    body = {"version": WEBHOOK_PAYLOAD_VERSION, "id": n.idempotency_key, "test": n.is_test}
    if n.alert_id:
        alert, engagement = n.alert, n.alert.engagement
        health = EngagementHealth.unscoped.filter(engagement=engagement).first()
        body |= {
            "event": "alert.reminder" if n.sequence else "alert.level",
            "level": n.level,
            "reminder": n.sequence,
            "alert": {
                "id": alert.pk,
                "status": alert.status,
                "opened_at": alert.opened_at.isoformat(),
            },
            "engagement": {
                "id": engagement.pk,
                "title": engagement.title,
                "vendor": engagement.vendor.name,
            },
            "health": {
                "score": health.score if health else None,
                "signals": health.signals if health else [],
            },
            "url": f"{settings.SITE_URL}/alerts/{alert.pk}/",
        }
    else:
        body |= {"event": "test", "level": n.level}
    return body


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The ``Vendorwatch-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` of
    ``"<t>." + body`` keyed with the channel's secret (Stripe's scheme). The moment is signed
    with the body, so a captured delivery replayed later fails the receiver's tolerance
    check (``WEBHOOK_SIGNATURE_TOLERANCE``) and cannot be re-dated without the secret."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is a failure, not followed: the SSRF guard checked only the channel's URL,
    and a redirect could lead to an internal address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError for the 3xx


_webhook_opener = urllib.request.build_opener(_NoRedirects)


def _post_webhook(n: Notification) -> None:
    check_webhook_url(n.channel.url)  # again at send time: DNS may have changed
    body = json.dumps(payload(n), sort_keys=True).encode()
    request = urllib.request.Request(
        n.channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Vendorwatch-Webhook/1",
            "Idempotency-Key": n.idempotency_key,
            # A fresh moment per attempt: a retry is a new delivery, same Idempotency-Key.
            WEBHOOK_SIGNATURE_HEADER: sign(
                n.channel.secret, body, timestamp=int(timezone.now().timestamp())
            ),
        },
    )
    with _webhook_opener.open(request, timeout=settings.HEALTH_WEBHOOK_TIMEOUT) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(
                n.channel.url, response.status, "not 2xx", response.headers, None
            )


def recipients(*, org_id: int, level: str, owner_id: int | None) -> list[str]:
    """E-mail addresses the escalation policy names for ``level``."""
    policy = EscalationPolicy.for_org(org_id)
    audience = set(policy.audience(level))
    who = Q(pk__in=[])
    roles = [
        r for key, r in (("managers", Role.MANAGER), ("owners", Role.OWNER)) if key in audience
    ]
    if roles:
        who |= Q(role__in=roles)
    if "engagement_owner" in audience and owner_id:
        who |= Q(user_id=owner_id)
    return sorted(
        Membership.objects.filter(who, org_id=org_id)
        .values_list("user__email", flat=True)
        .distinct()
    )


def _send_email(n: Notification) -> None:
    if n.is_test:
        to = recipients(org_id=n.org_id, level=Level.CUT_LOSSES, owner_id=None)
        subject, text = "Vendorwatch test notification", "This channel works."
    else:
        engagement = n.alert.engagement
        to = recipients(org_id=n.org_id, level=n.level, owner_id=engagement.owner_id)
        label = Level(n.level).label
        subject = f"[{label}] {engagement.title}" + (
            f" (reminder {n.sequence})" if n.sequence else ""
        )
        body = payload(n)
        lines = [
            f"- {rules.LABELS.get(s['kind'], s['kind'])}: {s['evidence']}"
            + (f"\n  To clear it: {s['clears']}" if s.get("clears") else "")
            for s in body["health"]["signals"]
        ]
        text = (
            f"{engagement.title} ({engagement.vendor.name}) is at {label}.\n\n"
            + "\n".join(lines)
            + f"\n\n{body['url']}\n"
        )
    if to:
        # The same Message-ID on every attempt: if a worker dies after the SMTP server took
        # the message but before we recorded it, the resend is a duplicate mail systems drop.
        EmailMessage(subject, text, to=to, headers={"Message-ID": message_id(n)}).send()


def message_id(n: Notification) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "vendorwatch.invalid"
    return f"<{n.idempotency_key}@{host}>"


# --- settings and the digest -------------------------------------------------------------------


@transaction.atomic
def set_daily_digest(*, org, user, enabled: bool) -> NotificationPreference:
    """Opt a member in or out of the daily digest e-mail."""
    pref, _ = NotificationPreference.unscoped.update_or_create(
        org=org, user=user, defaults={"daily_digest": enabled}
    )
    return pref


@transaction.atomic
def save_escalation_policy(*, org, **values) -> EscalationPolicy:
    """Store the organization's escalation policy (audiences and reminder cadences per level)."""
    check_values(EscalationPolicy, **values)
    policy, _ = EscalationPolicy.unscoped.update_or_create(org=org, defaults=values)
    return policy


DIGEST_HOUR = 7  # in each organization's own time zone


def send_digest(*, at: datetime | None = None) -> int:
    """E-mail each opted-in member a list of their organization's open alerts, once a day,
    from ``DIGEST_HOUR`` o'clock in the organization's time zone (beat asks every hour, so
    a missed hour is caught up; the day is the organization's local day)."""
    at = at or timezone.now()
    # Who is due first (cheap: members, preferences, today's digests), so the 17 hourly runs
    # a day after 07:00 read no alert at all once everyone has had theirs.
    opted_out = set(
        NotificationPreference.unscoped.filter(daily_digest=False).values_list("org_id", "user_id")
    )
    days = (at - timedelta(days=1)).date(), (at + timedelta(days=1)).date()  # any time zone
    had = set(DigestSent.unscoped.filter(date__range=days).values_list("org_id", "user_id", "date"))
    due = []
    for m in Membership.objects.select_related("user", "org"):
        local = at.astimezone(m.org.tzinfo)
        if (
            local.hour >= DIGEST_HOUR
            and (m.org_id, m.user_id) not in opted_out
            and (m.org_id, m.user_id, local.date()) not in had
        ):
            due.append((m, local))
    if not due:
        return 0
    alerts: dict[int, list[Alert]] = {}
    for alert in (
        Alert.unscoped.exclude(status=AlertStatus.RESOLVED)
        .filter(org_id__in={m.org_id for m, _ in due})
        .select_related("engagement__vendor")
    ):
        alerts.setdefault(alert.org_id, []).append(alert)
    sent = 0
    for m, local in due:
        if m.org_id not in alerts:
            continue  # nothing open: no digest
        try:
            with transaction.atomic():  # the constraint decides when two runs race
                DigestSent.unscoped.create(
                    org_id=m.org_id, user_id=m.user_id, date=local.date(), sent_at=at
                )
        except IntegrityError:
            continue  # already sent today
        lines = [
            f"- [{Level(a.level).label}] {a.engagement.title} ({a.engagement.vendor.name}): "
            f"{settings.SITE_URL}/alerts/{a.pk}/"
            for a in alerts[m.org_id]
        ]
        try:
            send_mail(
                f"{len(lines)} open alert{'s' if len(lines) != 1 else ''} in {m.org.name}",
                "\n".join(lines) + "\n\nTurn this digest off on the notifications page.\n",
                from_email=None,
                recipient_list=[m.user.email],
            )
        except Exception:
            DigestSent.unscoped.filter(
                org_id=m.org_id, user_id=m.user_id, date=local.date()
            ).delete()
            log.exception("digest to %s failed; it will be retried on the next run", m.user.email)
            continue
        sent += 1
    return sent
