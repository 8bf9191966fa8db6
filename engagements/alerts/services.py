"""Alerts: what the watcher's verdicts open, escalate, de-escalate and resolve; what people do
with them (acknowledge, snooze, resolve, cut losses); channels and the escalation policy.

Exactly-once lives in the database: an alert is opened under the partial unique constraint
"one unresolved alert per engagement", changed only by compare-and-set
(``filter(pk=…, level=old).update(…)``: exactly one row changed = this sweep won), and its
event and outbox rows are written in that same transaction; outbox rows are unique per
(alert, channel, level, reminder sequence). Two overlapping sweeps therefore never open a
second alert or queue a second notification. Delivery of the outbox: ``outbox.py``.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from accounts.services import mark_dashboards_stale
from engagements.alerts import chat, reminders, tasks
from engagements.alerts.models import (
    MAX_REMIND_HOURS,
    Alert,
    AlertEvent,
    AlertStatus,
    EscalationPolicy,
    Notification,
    NotificationChannel,
    NotificationPreference,
    NotificationState,
)
from engagements.alerts.outbox import check_webhook_url
from engagements.delivery import services as delivery
from engagements.delivery.models import (
    Deliverable,
    Engagement,
    EngagementStatus,
    Milestone,
    SpendEntry,
)
from engagements.watch import facts as facts_module
from engagements.watch import marks, rules
from engagements.watch.models import EngagementHealth, Level, level_rank
from engagements.watch.services import BATCH, SweepResult
from outsourcing.errors import Conflict
from outsourcing.validation import check_values
from vendors.terms import MILESTONES, ExitCost, Outlook, cost_of_waiting, exit_cost

log = logging.getLogger(__name__)


# --- after each sweep's chunk ------------------------------------------------------------------


ALERT_ROW = (
    "pk",
    "org_id",
    "engagement_id",
    "level",
    "status",
    "snoozed_until",
    "held_signals",
    "resolved_at",
)


def apply_alerts(
    *,
    facts,
    levels: dict[int, str],
    at: datetime,
    result: SweepResult,
    engagement_ids,
    id_range,
    signals: dict[int, list[dict]] | None = None,
) -> dict[int, datetime]:
    """Open, escalate, de-escalate, wake, resolve and remind after a sweep's chunk: compare-and-set
    on the few alerts that change; the outbox is dispatched after commit if anything was queued.

    ``facts`` holds the active engagements only: a paused, completed or terminated one is out
    of the watcher (its alert was closed by that decision; one left over is resolved here).
    An alert resolved by hand while its signals held holds back a new one until a signal
    gets worse or a new kind appears (``_holds``).

    Returns, per engagement, the next moment its alert changes by time alone (a snooze ends,
    a reminder falls due): the watcher's ``next_check_at`` takes it into account."""
    # The unresolved alerts and, in the same query, the resolved ones that still hold.
    alerts = Alert.unscoped.filter(~Q(status=AlertStatus.RESOLVED) | Q(held_signals__isnull=False))
    alerts = (
        alerts.filter(engagement_id__any_of=engagement_ids)
        if engagement_ids is not None
        else facts_module.in_range(alerts, id_range)
    )
    # Named rows, not model instances: most unresolved alerts do not change in a sweep.
    unresolved = {}
    held = []
    for alert in alerts.values_list(*ALERT_ROW, named=True):
        if alert.status == AlertStatus.RESOLVED:
            held.append(alert)
        elif alert.engagement_id in facts:
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
    notes = _holds(held, facts, levels, signals or {}, at, result)
    to_open = [eid for eid in to_open if notes.get(eid, "") is not None]
    for start in range(0, len(to_open), BATCH):
        _open_alerts(to_open[start : start + BATCH], facts, levels, at, channels, result, notes)
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
    opened = {eid: (facts[eid].org_id, levels[eid]) for eid in to_open}
    moments = _remind(unresolved, set(todo), at, channels, result, opened)
    # The contracts' decide-by reminders, healthy or not (each reminder day is a deadline).
    reminders.remind_watched(facts=facts, at=at, result=result)
    if result.notifications:
        transaction.on_commit(_enqueue_dispatch)
    return moments


def _signal_label(kind: str) -> str:
    return rules.LABELS.get(kind, kind.replace("_", " ")).lower()


def _and(kinds: list[str]) -> str:
    labels = [_signal_label(k) for k in kinds]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def _holds(held: list, facts, levels, signals, at: datetime, result) -> dict:
    """The alerts resolved by hand while their signals held, in this chunk: per engagement,
    None = still held back (no new alert), or the note of the alert that reopens it.

    A hold ends when a held signal gets worse (higher severity) or a new kind appears (the
    new alert says which), or when the engagement is healthy again (its history says so)."""
    notes: dict[int, str | None] = {}
    for alert in held:
        eid = alert.engagement_id
        if eid not in facts:
            continue  # not watched now; a decision that ended it cleared the hold already
        before = alert.held_signals
        now = {s["kind"]: s for s in signals.get(eid, [])}
        worse = [k for k, s in now.items() if k in before and s["severity"] > before[k]]
        new = [k for k in now if k not in before]
        resolved = timezone.localtime(alert.resolved_at)
        when = f"{resolved.day} {resolved:%b %Y}"
        if level_rank(levels.get(eid, Level.HEALTHY)) == 0:
            why = "the signals cleared"
            notes[eid] = ""
        elif worse or new:
            parts = [f"{_and(worse)} got worse"] if worse else []
            parts += [f"{_and(new)} appeared"] if new else []
            notes[eid] = f"reopened: {', and '.join(parts)} since it was resolved on {when}"
            why = notes[eid].removeprefix("reopened: ")
        else:
            notes[eid] = None
            continue
        with transaction.atomic():
            won = Alert.unscoped.filter(pk=alert.pk, held_signals__isnull=False).update(
                held_signals=None
            )
            if won == 1:
                _event(alert, at, "hold ended", note=why)
                result.changed(alert.org_id, f"engagement {eid}: hold ended ({why})")
    return notes


@transaction.atomic
def _open_alerts(
    eids: list[int], facts, levels, at: datetime, channels, result, notes: dict | None = None
) -> None:
    """Open alerts for many engagements at once (set-based): insert, then events and outbox.

    ``ignore_conflicts``: an engagement whose alert an overlapping sweep opened first is
    skipped by the partial unique constraint; the "opened" event is unique per alert too, so
    only one of two sweeps with the same ``at`` writes it, and outbox rows are unique anyway.

    The engagements are locked first and only the still active ones get an alert: a decision
    that takes an engagement out of the watcher, committed while this chunk was evaluating,
    is not undone by an alert opened just after it (its status update holds the same lock).
    """
    notes = notes or {}
    eids = list(
        Engagement.unscoped.select_for_update()
        .filter(pk__any_of=eids, status=EngagementStatus.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if not eids:
        return
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
        Alert.unscoped.filter(engagement_id__any_of=eids, opened_at=at, status=AlertStatus.OPEN)
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
                note=notes.get(a.engagement_id) or "signals crossed the watch line",
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
    unresolved: dict,
    changed_ids: set[int],
    at: datetime,
    channels,
    result: SweepResult,
    opened: dict[int, tuple[int, str]],
) -> dict[int, datetime]:
    """Reminders while an alert stays open (unacknowledged): at the levels the policy reminds
    at, every channel at its own interval (``remind_hours``), else at the level's cadence.

    Returns when each alert changes next by time alone, per engagement: a snooze ends, the
    next reminder falls due (the watcher's ``next_check_at`` takes it into account)."""
    moments: dict[int, datetime] = {}
    open_ids = [a.pk for a in unresolved.values() if a.status == AlertStatus.OPEN]
    touched = [a.pk for a in unresolved.values() if a.engagement_id in changed_ids]
    if not open_ids and not touched and not opened:
        for a in unresolved.values():
            if a.status == AlertStatus.SNOOZED and a.snoozed_until:
                moments[a.engagement_id] = a.snoozed_until
        return moments
    org_ids = {a.org_id for a in unresolved.values()} | {org for org, _ in opened.values()}
    policies = {p.org_id: p for p in EscalationPolicy.unscoped.filter(org_id__in=org_ids)}

    def hours_of(org_id: int, level: str) -> int:
        if org_id not in policies:
            policies[org_id] = EscalationPolicy.default(org_id)
        return policies[org_id].remind_hours(level)

    # Only alerts this sweep touched may have changed since they were read.
    fresh = (
        {a.pk: a for a in Alert.unscoped.filter(pk__in=touched).values_list(*ALERT_ROW, named=True)}
        if touched
        else {}
    )
    current = [fresh.get(a.pk, a) for a in unresolved.values()]
    open_now = [a.pk for a in current if a.status == AlertStatus.OPEN]
    last = (
        {
            (r["alert_id"], r["channel_id"], r["level"]): r
            for r in Notification.unscoped.filter(alert_id__in=open_now)
            .values("alert_id", "channel_id", "level")
            .annotate(seq=Max("sequence"), last=Max("created_at"))
        }
        if open_now
        else {}
    )
    for alert in current:
        if alert.status == AlertStatus.SNOOZED and alert.snoozed_until:
            moments[alert.engagement_id] = alert.snoozed_until
        if alert.status != AlertStatus.OPEN:
            continue
        hours = hours_of(alert.org_id, alert.level)
        if not hours:
            continue
        for channel in channels.get(alert.org_id, []):
            row = last.get((alert.pk, channel.pk, alert.level))
            every = timedelta(hours=channel.remind_every(hours))
            if not row or not every:
                continue
            due = row["last"] + every
            if at >= due:
                with transaction.atomic():
                    # Still open under a lock: a decision or a person that closed it since
                    # this chunk read it (and cancelled its queue) is not undone by a reminder.
                    still_open = (
                        Alert.unscoped.select_for_update()
                        .filter(pk=alert.pk, status=AlertStatus.OPEN)
                        .values_list("pk", flat=True)
                    )
                    if not list(still_open):
                        break
                    result.notifications += _queue(
                        alert, alert.level, [channel], at, row["seq"] + 1
                    )
                result.changes.append(
                    f"engagement {alert.engagement_id}: reminder {row['seq'] + 1} via {channel}"
                )
                due = at + every
            eid = alert.engagement_id
            moments[eid] = min(moments.get(eid, due), due)
    for eid, (org_id, level) in opened.items():
        hours = hours_of(org_id, level)
        intervals = [c.remind_every(hours) for c in channels.get(org_id, [])]
        if every := min((h for h in intervals if h), default=0):  # 0: that channel never
            moments[eid] = at + timedelta(hours=every)
    return moments


def _enqueue_dispatch() -> None:
    try:
        tasks.dispatch_outbox.apply_async(retry=False)
    except Exception as exc:  # broker down: the outbox keeps the rows; beat's dispatcher catches up
        log.warning("broker unreachable (%s); the outbox will be dispatched later", exc)


# --- people acting on alerts -----------------------------------------------------------------


def _change(alert: Alert, *, by, kind: str, note: str, at: datetime, **fields) -> Alert:
    won = (
        Alert.unscoped.filter(pk=alert.pk, status=alert.status, level=alert.level)
        .exclude(status=AlertStatus.RESOLVED)
        .update(**fields)
    )
    if won != 1:
        # Someone (or the watcher) changed the alert since it was read: a lost race.
        raise Conflict("This alert changed meanwhile; look again.")
    mark_dashboards_stale({alert.org_id})
    # A snooze's end, or reminders stopping or starting: the watcher's deadline moves.
    marks.mark(alert.engagement_id)
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


@dataclass
class ResolveOutlook:
    """What resolving an alert now means, shown before the form is sent."""

    holding: list[str]  # labels of the signals the watcher still raises; empty: they cleared

    @property
    def needs_reason(self) -> bool:
        return bool(self.holding)


def _current_signals(engagement_id: int) -> tuple[str, list[dict]]:
    row = (
        EngagementHealth.unscoped.filter(engagement_id=engagement_id)
        .values("raw_level", "signals")
        .first()
    )
    return (row["raw_level"], row["signals"] or []) if row else (Level.HEALTHY, [])


def resolve_outlook(alert: Alert) -> ResolveOutlook:
    """Do the alert's signals still hold (the watcher's last verdict, before smoothing)?"""
    raw, signals = _current_signals(alert.engagement_id)
    holding = [s.get("label") or _signal_label(s["kind"]) for s in signals]
    return ResolveOutlook(holding=holding if level_rank(raw) >= 1 else [])


@transaction.atomic
def resolve_alert(*, alert: Alert, by, note: str = "", at: datetime | None = None) -> Alert:
    """Close the alert by hand.

    While its signals still hold, a reason is required and the resolution HOLDS: the watcher
    opens no new alert on the engagement until one of these signals gets worse or a new kind
    appears (then the new alert says why). Once the signals cleared, no reason is needed.
    """
    at = at or timezone.now()
    raw, signals = _current_signals(alert.engagement_id)
    holding = level_rank(raw) >= 1
    if holding and not note.strip():
        labels = ", ".join(s.get("label") or _signal_label(s["kind"]) for s in signals)
        raise ValidationError(
            {
                "note": f"The signals still hold ({labels}): say why you resolve it. "
                "It will stay resolved until one gets worse or a new one appears; "
                "to be reminded later instead, snooze it."
            }
        )
    if holding:
        note = f"resolved while the signals hold; it holds until one gets worse: {note.strip()}"
    return _change(
        alert,
        by=by,
        kind="resolved",
        note=note.strip() or "resolved: the signals had cleared",
        at=at,
        status=AlertStatus.RESOLVED,
        resolved_at=at,
        snoozed_until=None,
        held_signals={s["kind"]: s["severity"] for s in signals},
    )


@transaction.atomic
def terminate_engagement(
    *, engagement: Engagement, by, reason: str, at: datetime | None = None
) -> Engagement:
    """Cut losses from an alert: active|paused → terminated through the engagement's own status
    change (its event row, its post-mortem, the dashboards); its open alert is closed by that
    decision (``close_when_out_of_watch``)."""
    if engagement.status not in (EngagementStatus.ACTIVE, EngagementStatus.PAUSED):
        raise ValidationError("Only an active or paused engagement can be terminated.")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the engagement is terminated."})
    delivery.change_engagement_status(
        engagement=engagement, to=EngagementStatus.TERMINATED, by=by, reason=reason, at=at
    )
    return engagement


DECISION_WORDS = {
    EngagementStatus.PAUSED: "paused",
    EngagementStatus.COMPLETED: "completed",
    EngagementStatus.TERMINATED: "terminated",
}


def close_when_out_of_watch(*, engagement: Engagement, change, at: datetime) -> None:
    """A decision that takes an engagement out of the watcher (pause, complete, terminate),
    however it was taken (alert page, engagement page, API, replay): in its own transaction,
    its open alert is closed with an event saying so, a resolved alert's hold ends, and the
    notifications queued for it and not yet sent are cancelled, so nobody is told about an
    engagement that was just decided. The receiver of ``delivery.hooks.status_changed``."""
    word = DECISION_WORDS.get(change.to_status)
    if word is None:
        return
    reason = f" — {change.reason}" if change.reason else ""
    note = f"the engagement was {word} by {change.by or 'someone'}{reason}"
    for alert in Alert.unscoped.filter(engagement_id=engagement.pk).exclude(
        status=AlertStatus.RESOLVED
    ):
        # Not compare-and-set on the level: the decision wins over any change of the watcher.
        won = (
            Alert.unscoped.filter(pk=alert.pk)
            .exclude(status=AlertStatus.RESOLVED)
            .update(status=AlertStatus.RESOLVED, resolved_at=at, snoozed_until=None)
        )
        if won == 1:
            _event(
                alert,
                at,
                "closed",
                by=change.by,
                note=note,
                from_status=alert.status,
                to_status=AlertStatus.RESOLVED,
                from_level=alert.level,
                to_level=alert.level,
            )
    Alert.unscoped.filter(engagement_id=engagement.pk, held_signals__isnull=False).update(
        held_signals=None
    )
    # Pending only: a row a dispatcher already claimed is being handed over right now.
    Notification.unscoped.filter(
        alert__engagement_id=engagement.pk, state=NotificationState.PENDING
    ).update(
        state=NotificationState.CANCELLED,
        last_error=f"cancelled: {note}"[:1000],
    )
    mark_dashboards_stale({engagement.org_id})


# --- the cut-your-losses summary ---------------------------------------------------------------


@dataclass
class LossSummary:
    spent: Decimal
    budget: Decimal
    accepted_value: Decimal
    planned_value: Decimal
    unaccepted_value: Decimal
    projected_cost_to_finish: Decimal | None
    days_late: int  # the larger of: past the target end date, the oldest late milestone
    late_because: str
    metrics: dict
    currency: str
    # The contract the engagement runs under: when it could stop and what stopping still costs.
    contract_id: int | None = None
    contract_title: str = ""
    outlook: Outlook | None = None
    exit: ExitCost | None = None
    cost_of_waiting: Decimal | None = None  # notice a month later instead of today


def milestone_payments(engagement_id: int) -> list[tuple]:
    """``(due, unpaid, title)`` per milestone of the engagement: its deliverables' value less
    the spend recorded against it (payments tied to milestones). Three queries."""
    value = dict(
        Deliverable.unscoped.filter(engagement_id=engagement_id)
        .values("milestone_id")
        .annotate(total=Sum("value"))
        .values_list("milestone_id", "total")
    )
    paid = dict(
        SpendEntry.unscoped.filter(engagement_id=engagement_id, milestone__isnull=False)
        .values("milestone_id")
        .annotate(total=Sum("amount"))
        .values_list("milestone_id", "total")
    )
    return [
        (m.due_date, max(Decimal("0"), (value.get(m.pk) or 0) - (paid.get(m.pk) or 0)), m.title)
        for m in Milestone.unscoped.filter(engagement_id=engagement_id).order_by("due_date", "pk")
    ]


def exit_outlook(facts) -> dict:
    """What the summary and the post-mortem say about the contract: the earliest exit on the
    organization's day, what is still owed until then, and what waiting a month adds."""
    if facts.contract is None:
        return {}
    on = facts.contract_outlook.on
    milestones = (
        milestone_payments(facts.engagement_id) if facts.contract.schedule == MILESTONES else []
    )
    return {
        "contract_id": facts.contract_id,
        "contract_title": facts.contract_title,
        "outlook": facts.contract_outlook,
        "exit": exit_cost(facts.contract, on, milestones=milestones),
        "cost_of_waiting": cost_of_waiting(facts.contract, on, milestones=milestones),
    }


def _lateness(facts, at: datetime) -> dict:
    """How late the engagement is, by the same count its warning signs use."""
    past_end = max(0, (at.date() - facts.target_end_date).days)
    milestones = facts_module.milestone_days_late(facts, at)
    if not (past_end or milestones):
        return {"days_late": 0, "late_because": ""}
    if milestones >= past_end:
        because = (
            f"the oldest of {facts.late_milestones} late milestone"
            f"{'s' if facts.late_milestones != 1 else ''} with work not accepted"
        )
    else:
        because = "past the target end date"
    return {"days_late": max(past_end, milestones), "late_because": because}


def loss_summary(*, engagement: Engagement, at: datetime) -> LossSummary:
    """What has been spent, what was accepted for it, what finishing would cost at this rate,
    and, under a contract, what stopping costs: the earliest exit, what is still owed until
    then (instalments or unpaid milestone payments, the termination fee), and what waiting
    one more month adds."""
    # engagement_ids reads an engagement whatever its status: a terminated one too.
    facts = facts_module.collect(at=at, engagement_ids=[engagement.pk])[engagement.pk]
    unaccepted = facts.planned_value - facts.accepted_value
    share = facts.accepted_value / facts.planned_value if facts.planned_value else Decimal("0")
    # At the current rate, each accepted share of the value has cost spent/share: an estimate,
    # so in whole units (cents would claim a precision it does not have).
    projected = (facts.spent / share - facts.spent).quantize(Decimal("1")) if share else None
    return LossSummary(
        spent=facts.spent,
        budget=facts.budget,
        accepted_value=facts.accepted_value,
        planned_value=facts.planned_value,
        unaccepted_value=unaccepted,
        projected_cost_to_finish=projected,
        **_lateness(facts, at),
        metrics=facts_module.metrics(facts, at),
        currency=engagement.currency,
        **exit_outlook(facts),
    )


# --- channels and the outbox -------------------------------------------------------------------


def _check_remind_hours(remind_hours: int | None) -> None:
    if remind_hours is not None and not 0 <= remind_hours <= MAX_REMIND_HOURS:
        raise ValidationError(
            {
                "remind_hours": f"Remind every 0 to {MAX_REMIND_HOURS} hours (0: never; "
                "empty: as the escalation policy says for the level)."
            }
        )


@transaction.atomic
def create_channel(
    *,
    org,
    kind: str,
    name: str,
    url: str = "",
    apprise_url: str = "",
    remind_hours: int | None = None,
) -> NotificationChannel:
    """Add a notification channel: a webhook gets its own signing secret, an Apprise channel
    keeps its URL (credentials inside) hidden and shows a masked copy."""
    if kind not in NotificationChannel.Kind.values:
        raise ValidationError({"kind": "Choose e-mail, webhook or chat/paging."})
    if not name.strip():
        raise ValidationError({"name": "Give the channel a name."})
    _check_remind_hours(remind_hours)
    values = {"url": "", "secret": "", "apprise_url": ""}
    if kind == NotificationChannel.Kind.WEBHOOK:
        check_webhook_url(url)
        values |= {"url": url, "secret": secrets.token_hex(32)}
    elif kind == NotificationChannel.Kind.APPRISE:
        checked = chat.check_url(apprise_url)
        values |= {"url": checked.masked, "apprise_url": apprise_url.strip()}
    return NotificationChannel.unscoped.create(
        org=org, kind=kind, name=name.strip(), remind_hours=remind_hours, **values
    )


@transaction.atomic
def update_channel(
    *,
    channel: NotificationChannel,
    name: str,
    url: str = "",
    apprise_url: str = "",
    is_active: bool = True,
    remind_hours: int | None = None,
) -> NotificationChannel:
    """Rename a channel, point it elsewhere (past the checks and the SSRF guard again), change
    its reminder interval or pause it.

    A webhook's signing secret stays: receivers keep verifying with the one they have. An
    Apprise channel's URL is never shown back: an empty ``apprise_url`` keeps it."""
    if not name.strip():
        raise ValidationError({"name": "Give the channel a name."})
    _check_remind_hours(remind_hours)
    changes = {"name": name.strip(), "is_active": is_active, "remind_hours": remind_hours}
    if channel.kind == NotificationChannel.Kind.WEBHOOK:
        if url != channel.url:
            check_webhook_url(url)
        changes["url"] = url
    elif channel.kind == NotificationChannel.Kind.APPRISE and apprise_url.strip():
        checked = chat.check_url(apprise_url)
        changes |= {"url": checked.masked, "apprise_url": apprise_url.strip()}
    elif channel.kind == NotificationChannel.Kind.APPRISE and not channel.apprise_url and is_active:
        # Imported from another installation (the URL was withheld): nothing to send to yet.
        raise ValidationError({"apprise_url": "Paste the service's Apprise URL to turn it on."})
    changed = [k for k, v in changes.items() if getattr(channel, k) != v]
    for k in changed:
        setattr(channel, k, changes[k])
    if changed:
        channel.save(update_fields=changed)  # audited (the URL field only in its masked form)
        if "remind_hours" in changed:
            # The channel's reminders come due at other moments: the open alerts' deadlines move.
            marks.mark(
                *Alert.unscoped.filter(org_id=channel.org_id)
                .exclude(status=AlertStatus.RESOLVED)
                .values_list("engagement_id", flat=True)
            )
    return channel


def channel_locked(channel: NotificationChannel) -> str | None:
    """Why this channel cannot be removed, or None: what went out through it is the record
    of who was told (pause it instead)."""
    sent = Notification.unscoped.filter(channel=channel, is_test=False).count()
    if sent:
        return (
            f"{sent} alert notification{'s' if sent > 1 else ''} went out through "
            f"“{channel.name}”: they stay the record of who was told. Pause the channel instead."
        )
    return None


@transaction.atomic
def delete_channel(*, channel: NotificationChannel) -> None:
    """Remove a channel nothing but test messages went through (those go with it)."""
    if reason := channel_locked(channel):
        raise Conflict(reason)
    channel.delete()


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
    # Reminder cadences changed: the deadlines of the open alerts move.
    marks.mark(
        *Alert.unscoped.filter(org=org)
        .exclude(status=AlertStatus.RESOLVED)
        .values_list("engagement_id", flat=True)
    )
    return policy
