"""Scripted engagement histories, replayed day by day through the services and the daily sweep.

A history is a YAML file: an engagement as someone would set it up, what happened on which
day, and what an experienced manager would have concluded by when. ``replay`` builds it in a
scratch organization of its own through the same services the web pages, the API and the
vendor portal call (never writing rows directly), travels day by day passing each day's
moment explicitly (``at=``; the services default to now), runs the health sweep once a day at
``SWEEP_HOUR`` as beat would, records the level and then checks the expectations. Everything
runs inside one transaction that is rolled back at the end, so a replay leaves nothing behind
and can run against a development database.

The format (``tests/histories/README.md`` has a worked example)::

    name: burn-abrupt                # optional; default: the file name
    kind: failing                    # failing | healthy | recovering | our_side | other
    mode: burn_without_delivery      # the failure mode it tells (free text, for the table)
    shape: abrupt                    # abrupt | gradual | noisy | ... (free text)
    start: 2026-03-02                # day 0 (default 2026-03-02, a Monday)
    end: 80                          # the scripted end: the day the story ends (failing: the
                                     # day it failed for good); replayed up to max(end, events)
    recovered: 40                    # recovering: the day the last fix happened
    engagement:
      budget: 60000                  # currency EUR unless ``currency``
      days: 90                       # target end date = day 0 + days
      watch: {stall_days: 21}        # watch settings over the organization's defaults
      exit_criteria: [late_and_burnt]  # preset names or {label, combinator, conditions}
    deliverables:
      - {key: api, due: 20, value: 20000, criteria: "All endpoints documented", milestone: M1}
    routine:                         # repeated events (a weekly call...)
      - {every: 7, from: 1, until: 70, skip: [29], do: [{call: held, comfort: 4}]}
    events:                          # day → one event or a list, in order, from 10:00
      5: {spend: 10000}
      21: [{submit: api}, {accept: api}]
    expect:                          # checks on top of those ``kind`` implies (see TARGETS)
      - {days: [0, 30], level_at_most: watch}
      - {day: 45, level_at_least: warning}
      - {by: 50, reach: cut_losses}
      - {day: 20, signals: [burn_without_delivery]}
      - {no_signals: [burn_without_delivery]}          # no range: every day
      - {by: 40, alert_opened: true}
      - {nothing_sent_after_decision: true}

Events (one action key each, plus its options; ``hour: 14`` moves it from 10:00):
``call|meeting|email|message: held|answered|unanswered|vendor_no_show|we_no_show``
(``comfort``, ``direction`` we_to_vendor|vendor_to_us, ``response_hours``);
``checkin: <comfort>`` (the vendor's portal check-in, ``progress``); ``vendor_asks: <key>``
(a question through the portal, owed by us); ``answer: <key>`` (we answer it);
``start|submit|accept: <deliverable>`` (submit is the vendor's, through the portal);
``reject: <deliverable>`` (``note``); ``spend: <amount>``; ``change: <deliverable>`` with
``due`` (a day), ``value``, ``criteria`` and ``why`` (a recorded scope change);
``scope_change: <text>``; ``acknowledge: <note>`` (the open alert);
``terminate|complete|pause|resume: <reason>`` (status decisions).
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from uuid import uuid4

import yaml
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction

from accounts.models import User
from accounts.services import create_organization
from engagements.alerts import services as alerts
from engagements.delivery import exit_criteria
from engagements.delivery import services as delivery
from engagements.models import (
    Alert,
    AlertEvent,
    AlertStatus,
    Channel,
    Deliverable,
    DeliverableStatus,
    Direction,
    EngagementHealth,
    EngagementStatus,
    Level,
    Notification,
    NotificationChannel,
    OpenQuestion,
    Outcome,
)
from engagements.portal import services as portal
from engagements.watch import services as watch
from engagements.watch.models import level_rank
from vendors.services import add_contact, create_vendor

SWEEP_HOUR = 18  # the daily sweep, after the day's events (10:00 onwards)
EVENT_HOUR = 10
DEFAULT_START = date(2026, 3, 2)
LEVELS = [Level.HEALTHY, Level.WATCH, Level.WARNING, Level.CUT_LOSSES]
LETTER = {Level.HEALTHY: ".", Level.WATCH: "w", Level.WARNING: "W", Level.CUT_LOSSES: "X"}
KINDS = ("failing", "healthy", "recovering", "our_side", "other")

# What every history of a kind must show; checked by ``replay`` on top of its ``expect``.
LEAD_DAYS = 14  # failing: cut your losses at least this many days before the scripted end
RECOVERY_HOURS = 72  # recovering: back at healthy/watch this soon after the last fix
NEGLECT_WATCH_DAYS, NEGLECT_WARNING_DAYS = 7, 21  # our_side: after a question goes overdue

INTERACTIONS = {"call": Channel.CALL, "meeting": Channel.MEETING, "email": Channel.EMAIL}
INTERACTIONS["message"] = Channel.MESSAGE
DECISIONS = {
    "terminate": EngagementStatus.TERMINATED,
    "complete": EngagementStatus.COMPLETED,
    "pause": EngagementStatus.PAUSED,
    "resume": EngagementStatus.ACTIVE,
}
ACTIONS = {
    *INTERACTIONS,
    *DECISIONS,
    "checkin",
    "vendor_asks",
    "answer",
    "start",
    "submit",
    "accept",
    "reject",
    "spend",
    "change",
    "scope_change",
    "acknowledge",
}
CHECKS = {
    "level_at_most",
    "level_at_least",
    "reach",
    "signals",
    "no_signals",
    "alert_opened",
    "nothing_sent_after_decision",
}


class HistoryError(ValueError):
    """A history file that cannot be replayed: says which file and what is wrong."""


# --- loading --------------------------------------------------------------------------------


@dataclass
class History:
    name: str
    path: str
    kind: str
    mode: str
    shape: str
    start: date
    end: int
    recovered: int | None
    engagement: dict
    deliverables: list[dict]
    events: dict[int, list[dict]]
    expect: list[dict]

    def moment(self, day: int, hour: int = EVENT_HOUR, minute: int = 0) -> datetime:
        return datetime.combine(self.start + timedelta(days=day), time(hour, minute), UTC)

    @property
    def last_day(self) -> int:
        days = [self.end, *self.events]
        for e in self.expect:
            days += [d for k in ("day", "by") if isinstance(e.get(k), int) for d in [e[k]]]
            days += list(e.get("days") or [])
        return max(days)


def _level(value, where: str) -> str:
    if value not in LEVELS:
        raise HistoryError(f"{where}: {value!r} is not a level ({', '.join(LEVELS)})")
    return value


def _day(value, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 3650:
        raise HistoryError(f"{where}: {value!r} is not a day number (0-3650)")
    return value


def _events(raw, where: str) -> list[dict]:
    items = raw if isinstance(raw, list) else [raw]
    for i, event in enumerate(items, 1):
        if not isinstance(event, dict):
            raise HistoryError(f"{where}, event {i}: not a mapping")
        actions = set(event) & ACTIONS
        if len(actions) != 1:
            raise HistoryError(
                f"{where}, event {i}: needs exactly one action of {', '.join(sorted(ACTIONS))}"
            )
    return items


def load(path: str | Path) -> History:
    """Read and check one history file (HistoryError names the file and the problem)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise HistoryError(f"{path}: {exc}") from None
    try:
        return parse(data, name=path.stem, path=str(path))
    except HistoryError as exc:
        raise HistoryError(f"{path}: {exc}") from None


def parse(data, *, name: str, path: str = "") -> History:
    """A history from its parsed YAML mapping."""
    if not isinstance(data, dict):
        raise HistoryError("a history is a mapping")
    kind = data.get("kind", "other")
    if kind not in KINDS:
        raise HistoryError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
    engagement = data.get("engagement") or {}
    if not isinstance(engagement, dict) or "budget" not in engagement:
        raise HistoryError("engagement: needs at least a budget")
    deliverables = data.get("deliverables") or []
    keys = set()
    for d in deliverables:
        if not isinstance(d, dict) or "key" not in d or "due" not in d:
            raise HistoryError("each deliverable needs a key and a due day")
        _day(d["due"], f"deliverable {d['key']}")
        keys.add(d["key"])
    events: dict[int, list[dict]] = {}
    for routine in data.get("routine") or []:
        every, first = routine.get("every"), routine.get("from", 0)
        until, skip = routine.get("until", data.get("end")), set(routine.get("skip") or [])
        if not isinstance(every, int) or every < 1 or not isinstance(until, int):
            raise HistoryError("routine: needs every (days ≥ 1) and until (a day)")
        todo = _events(routine.get("do"), f"routine every {every}")
        for day in range(first, until + 1, every):
            if day not in skip:
                events.setdefault(day, []).extend(dict(e) for e in todo)
    for day, raw in (data.get("events") or {}).items():
        events.setdefault(_day(day, "events"), []).extend(_events(raw, f"day {day}"))
    for day, items in events.items():
        for event in items:
            for action in ("start", "submit", "accept", "reject", "change"):
                if action in event and event[action] not in keys:
                    raise HistoryError(f"day {day}: no deliverable {event[action]!r}")
    expect = data.get("expect") or []
    for e in expect:
        checks = set(e) & CHECKS
        if not isinstance(e, dict) or len(checks) != 1:
            raise HistoryError(f"expectation {e!r}: needs exactly one of {', '.join(CHECKS)}")
        for key in ("level_at_most", "level_at_least", "reach"):
            if key in e:
                _level(e[key], f"expectation {e!r}")
    if "end" not in data:
        raise HistoryError("end: the scripted end day is missing")
    start = data.get("start", DEFAULT_START)
    if not isinstance(start, date):
        raise HistoryError(f"start: {start!r} is not a date")
    return History(
        name=str(data.get("name") or name),
        path=path,
        kind=kind,
        mode=str(data.get("mode", "")),
        shape=str(data.get("shape", "")),
        start=start,
        end=_day(data["end"], "end"),
        recovered=_day(data["recovered"], "recovered") if "recovered" in data else None,
        engagement=engagement,
        deliverables=deliverables,
        events=dict(sorted(events.items())),
        expect=expect,
    )


# --- replaying ------------------------------------------------------------------------------


@dataclass
class Day:
    day: int
    level: str  # after the de-escalation hold, as the dashboard shows it
    raw_level: str
    score: int
    signals: dict[str, int]  # kind → severity
    evidence: dict[str, str]


@dataclass
class Check:
    text: str
    ok: bool
    detail: str = ""


@dataclass
class Result:
    history: History
    days: list[Day] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    error: str = ""
    decided_on: int | None = None  # the day of a terminate/complete decision
    overdue_on: int | None = None  # our_side: a vendor question first went unanswered too long

    @property
    def ok(self) -> bool:
        return not self.error and all(c.ok for c in self.checks)

    def first(self, level: str) -> int | None:
        """The first day the level was at least ``level``."""
        return next((d.day for d in self.days if level_rank(d.level) >= level_rank(level)), None)

    @property
    def peak(self) -> str:
        return max((d.level for d in self.days), key=level_rank, default=Level.HEALTHY)

    @property
    def lead_days(self) -> int | None:
        cut = self.first(Level.CUT_LOSSES)
        return None if cut is None else self.history.end - cut

    @property
    def recovery_days(self) -> int | None:
        """Days from the last fix to the first day back at healthy/watch (for good)."""
        if self.history.recovered is None:
            return None
        after = [d for d in self.days if d.day >= self.history.recovered]
        for i, d in enumerate(after):
            if all(level_rank(x.level) <= 1 for x in after[i:]):
                return d.day - self.history.recovered
        return None


class _Rollback(Exception):
    pass


# What a history's event may run into: refused input or a lost race (a Conflict is a
# ValidationError), a missing key or alert.
EVENT_ERRORS = (ValidationError, LookupError, ValueError, DatabaseError)


def replay(history: History) -> Result:
    """Replay one history in a scratch organization and roll everything back."""
    return replay_many([history])[0]


def replay_many(histories: list[History]) -> list[Result]:
    """Replay histories side by side, each in its own scratch organization, and roll back.

    Histories that share a first day share the calendar: one sweep a day covers all their
    engagements, as beat's sweep covers every organization (a sweep costs about the same
    for one engagement as for fifty, so this keeps a library of histories fast).
    """
    results = [Result(h) for h in histories]
    drivers = [_Driver(h, r) for h, r in zip(histories, results, strict=True)]
    try:
        with transaction.atomic():
            calendars: dict[date, list[_Driver]] = {}
            for driver in drivers:
                if driver.attempt("set-up", driver.set_up):
                    calendars.setdefault(driver.h.start, []).append(driver)
            for group in calendars.values():
                _travel(group)
            for driver in drivers:
                if not driver.result.error:
                    driver.finish()
            raise _Rollback
    except _Rollback:
        pass
    return results


def _travel(drivers: list["_Driver"]) -> None:
    """Day by day: each history's events, then the daily sweep, then each level."""
    for day in range(max(d.h.last_day for d in drivers) + 1):
        running = [d for d in drivers if day <= d.h.last_day and not d.result.error]
        for driver in running:
            for i, event in enumerate(driver.h.events.get(day, [])):
                if not driver.attempt(f"day {day}", partial(driver.do, day, i, event)):
                    break
        running = [d for d in running if not d.result.error]
        if not running:
            continue
        at = running[0].h.moment(day, SWEEP_HOUR)
        active = [
            d.engagement.pk for d in running if d.engagement.status == EngagementStatus.ACTIVE
        ]
        if active:
            # The incremental path, as the steady sweep would take it by then: what the day's
            # events marked and what came due; then, as a check, a reconciliation of the same
            # engagements at the same moment must find nothing to change.
            ids = [d.engagement.pk for d in running]
            while watch.sweep_marked(at=at, limit=len(ids), within=ids).claimed:
                pass
            fixed = watch.sweep_chunk(at=at, engagement_ids=active, reconcile=True).fixed_ids
            for d in running:
                if d.engagement.pk in fixed:
                    d.result.error = (
                        f"day {day}: the incremental watcher missed a change "
                        "that the full sweep found (a deadline too late?)"
                    )
        for d in running:
            if d.engagement.status != EngagementStatus.ACTIVE:
                # A chunk of beat's full sweep holding just this id: the engagement is no
                # longer watched, and an alert it still has is resolved.
                watch.sweep_chunk(at=at, id_range=(d.engagement.pk, d.engagement.pk))
        rows = {
            row.engagement_id: row
            for row in EngagementHealth.unscoped.filter(
                engagement_id__in=[d.engagement.pk for d in running]
            )
        }
        for d in running:
            if d.engagement.pk in rows and not d.engagement.is_ended:
                d.record(day, rows[d.engagement.pk])


class _Driver:
    def __init__(self, history: History, result: Result):
        self.h, self.result = history, result
        self.deliverables: dict[str, Deliverable] = {}
        self.questions: dict[str, OpenQuestion] = {}

    def attempt(self, where: str, step) -> bool:
        """Run one step in a savepoint; a refusal ends this history (only this one) with an error."""
        try:
            with transaction.atomic():
                step()
        except EVENT_ERRORS as exc:
            message = "; ".join(getattr(exc, "messages", None) or [str(exc)])
            self.result.error = f"{where}: {type(exc).__name__}: {message}"
            return False
        return True

    def finish(self) -> None:
        self._collect_facts()
        self.result.checks = [*_implied_checks(self), *_explicit_checks(self)]

    # set-up: an organization, an owner, a vendor with a portal contact, the engagement
    def set_up(self) -> None:
        h, e = self.h, self.h.engagement
        tag = uuid4().hex[:12]
        self.owner = User.objects.create_user(f"replay-{tag}@replay.invalid")
        self.org = create_organization(
            name=f"Replay {h.name}"[:120], slug=f"replay-{tag}", owner=self.owner
        )
        vendor = create_vendor(org=self.org, by=self.owner, name=e.get("vendor", "Scripted Ltd"))
        contact = add_contact(vendor=vendor, name="Vendor contact")
        alerts.create_channel(org=self.org, kind=NotificationChannel.Kind.EMAIL, name="Replay")
        start = h.start
        self.engagement = delivery.set_up_engagement(
            org=self.org,
            by=self.owner,
            readiness={
                "has_concrete_target": True,
                "need_is_specific": True,
                "money_alternative": "hire",
                "internal_owner": "Owner",
                "owner_hours_per_week": 4,
            },
            vendor=vendor,
            vendor_override_reason="a scripted history",
            title=e.get("title", h.name)[:200],
            goal="Scripted",
            definition_of_done="Every deliverable accepted",
            budget=Decimal(str(e["budget"])),
            currency=e.get("currency", "EUR"),
            start_date=start,
            target_end_date=start + timedelta(days=e.get("days", h.end)),
            owner=self.owner,
            watch=e.get("watch") or {},
        )
        for criterion in e.get("exit_criteria") or []:
            delivery.add_exit_criterion(
                engagement=self.engagement,
                by=self.owner,
                criterion=exit_criteria.PRESETS[criterion]
                if isinstance(criterion, str)
                else criterion,
            )
        # Deliverables sharing a ``milestone`` name (else a due day) share one milestone,
        # due with the last of them.
        groups: dict[str, int] = {}
        for d in h.deliverables:
            group = str(d.get("milestone", f"due day {d['due']}"))
            groups[group] = max(groups.get(group, 0), d["due"])
        milestones = {
            group: delivery.add_milestone(
                engagement=self.engagement, title=group, due_date=start + timedelta(days=due)
            )
            for group, due in sorted(groups.items(), key=lambda item: item[1])
        }
        for d in h.deliverables:
            self.deliverables[d["key"]] = delivery.add_deliverable(
                engagement=self.engagement,
                milestone=milestones[str(d.get("milestone", f"due day {d['due']}"))],
                by=self.owner,
                title=str(d.get("title", d["key"])),
                due_date=start + timedelta(days=d["due"]),
                acceptance_criteria=d.get("criteria", f"{d['key']} works as agreed"),
                value=Decimal(str(d.get("value", 0))),
            )
        self.access, _ = portal.invite_vendor_contact(
            engagement=self.engagement, contact=contact, by=self.owner
        )
        delivery.change_engagement_status(
            engagement=self.engagement, to=EngagementStatus.ACTIVE, by=self.owner, at=h.moment(0, 9)
        )

    def do(self, day: int, index: int, event: dict) -> None:
        at = self.h.moment(day, event.get("hour", EVENT_HOUR), min(index, 59))
        action = next(iter(set(event) & ACTIONS))
        value, eng, by = event[action], self.engagement, self.owner
        if action in INTERACTIONS:
            outcome = Outcome(value)
            delivery.log_interaction(
                engagement=eng,
                by=by,
                channel=INTERACTIONS[action],
                direction=event.get("direction", Direction.WE_TO_VENDOR),
                outcome=outcome,
                occurred_at=at,
                comfort=event.get("comfort"),
                response_hours=event.get("response_hours", 24)
                if outcome == Outcome.ANSWERED
                else None,
            )
        elif action == "checkin":
            portal.post_check_in(
                access=self.access, progress=event.get("progress", "on it"), comfort=value, at=at
            )
        elif action == "vendor_asks":
            self.questions[value] = portal.ask_question(
                access=self.access, question=event.get("text", f"Question {value}?"), at=at
            )
        elif action == "answer":
            delivery.answer_question(question=self.questions[value], answer="Answered", at=at)
        elif action in ("start", "accept", "reject"):
            to = {
                "start": DeliverableStatus.IN_PROGRESS,
                "accept": DeliverableStatus.ACCEPTED,
                "reject": DeliverableStatus.REJECTED,
            }[action]
            delivery.transition_deliverable(
                deliverable=self.deliverables[value],
                to=to,
                by=by,
                note=event.get("note", "Does not meet the criteria"),
                at=at,
            )
        elif action == "submit":
            portal.submit_deliverable(
                access=self.access, deliverable=self.deliverables[value], note="done", at=at
            )
        elif action == "spend":
            delivery.record_spend(
                engagement=eng,
                by=by,
                date=at.date(),
                amount=Decimal(str(value)),
                currency=eng.currency,
                description=event.get("note", "invoice"),
            )
        elif action == "change":
            changes = {}
            if "due" in event:
                changes["due_date"] = self.h.start + timedelta(days=event["due"])
            if "value" in event:
                changes["value"] = Decimal(str(event["value"]))
            if "criteria" in event:
                changes["acceptance_criteria"] = event["criteria"]
            delivery.update_deliverable(
                deliverable=self.deliverables[value],
                by=by,
                why=event.get("why", "the need changed"),
                at=at,
                **changes,
            )
        elif action == "scope_change":
            delivery.record_scope_change(
                engagement=eng, by=by, what_changed=str(value), why="asked for more", at=at
            )
        elif action == "acknowledge":
            alert = Alert.unscoped.exclude(status=AlertStatus.RESOLVED).get(engagement=eng)
            alerts.acknowledge_alert(alert=alert, by=by, note=str(value), at=at)
        elif action == "terminate":
            alerts.terminate_engagement(engagement=eng, by=by, reason=str(value), at=at)
            self.result.decided_on = day
        else:
            delivery.change_engagement_status(
                engagement=eng, to=DECISIONS[action], by=by, reason=str(value), at=at
            )
            if action == "complete":
                self.result.decided_on = day

    def record(self, day: int, row: EngagementHealth) -> None:
        self.result.days.append(
            Day(
                day=day,
                level=row.level,
                raw_level=row.raw_level,
                score=row.score,
                signals={s["kind"]: s["severity"] for s in row.signals},
                evidence={s["kind"]: s["evidence"] for s in row.signals},
            )
        )

    def _collect_facts(self) -> None:
        """What the checks need from the rows, read before everything is rolled back."""
        h, eng = self.h, self.engagement
        self.alerts = list(
            Alert.unscoped.filter(engagement=eng).values_list("opened_at", "level", named=True)
        )
        decided = self.result.decided_on
        self.sent_after = self.raised_after = 0
        if decided is not None:
            moment = h.moment(decided, 23, 59)
            self.sent_after = Notification.unscoped.filter(
                alert__engagement=eng, created_at__gt=moment
            ).count()
            self.raised_after = AlertEvent.unscoped.filter(
                alert__engagement=eng, at__gt=moment, kind__in=("opened", "escalated")
            ).count()
        # Neglect starts when a question the vendor asked goes past the response window and
        # then stays unanswered long enough to matter (until the warning target, or the end).
        window = timedelta(hours=eng.response_window_hours)
        longest = timedelta(days=NEGLECT_WARNING_DAYS)
        last = h.moment(h.last_day, 23, 59)
        neglected = sorted(
            q.asked_at + window
            for q in OpenQuestion.unscoped.filter(engagement=eng, owed_by="us")
            if (q.answered_at or last) - (q.asked_at + window)
            >= min(longest, last - q.asked_at - window)
            and q.asked_at + window < last
        )
        if neglected:
            self.result.overdue_on = (neglected[0].date() - h.start).days


def _days(result: Result, e: dict) -> list[Day]:
    if "day" in e:
        return [d for d in result.days if d.day == e["day"]]
    if "days" in e:
        lo, hi = e["days"]
        return [d for d in result.days if lo <= d.day <= hi]
    if "by" in e:
        return [d for d in result.days if d.day <= e["by"]]
    return result.days


def _span(e: dict) -> str:
    if "day" in e:
        return f"on day {e['day']}"
    if "days" in e:
        return f"on days {e['days'][0]}-{e['days'][1]}"
    if "by" in e:
        return f"by day {e['by']}"
    return "every day"


def _explicit_checks(driver: _Driver) -> list[Check]:
    result, checks = driver.result, []
    for e in driver.h.expect:
        days, span = _days(result, e), _span(e)
        if "level_at_most" in e:
            bad = [d for d in days if level_rank(d.level) > level_rank(e["level_at_most"])]
            checks.append(
                Check(
                    f"level at most {e['level_at_most']} {span}",
                    bool(days) and not bad,
                    f"day {bad[0].day}: {bad[0].level}" if bad else "",
                )
            )
        elif "level_at_least" in e:
            bad = [d for d in days if level_rank(d.level) < level_rank(e["level_at_least"])]
            checks.append(
                Check(
                    f"level at least {e['level_at_least']} {span}",
                    bool(days) and not bad,
                    f"day {bad[0].day}: {bad[0].level}" if bad else "",
                )
            )
        elif "reach" in e:
            hit = [d for d in days if level_rank(d.level) >= level_rank(e["reach"])]
            checks.append(
                Check(
                    f"reaches {e['reach']} {span}",
                    bool(hit),
                    f"first on day {hit[0].day}" if hit else f"peak {_peak(days)}",
                )
            )
        elif "signals" in e:
            bad = [(d, k) for d in days for k in e["signals"] if k not in d.signals]
            checks.append(
                Check(
                    f"signals {', '.join(e['signals'])} {span}",
                    bool(days) and not bad,
                    f"day {bad[0][0].day}: no {bad[0][1]}" if bad else "",
                )
            )
        elif "no_signals" in e:
            bad = [(d, k) for d in days for k in e["no_signals"] if k in d.signals]
            checks.append(
                Check(
                    f"no {', '.join(e['no_signals'])} {span}",
                    not bad,
                    f"day {bad[0][0].day}: {bad[0][0].evidence[bad[0][1]]}" if bad else "",
                )
            )
        elif "alert_opened" in e:
            last = driver.h.moment(e.get("by", driver.h.last_day), 23, 59)
            opened = [a for a in driver.alerts if a.opened_at <= last]
            checks.append(
                Check(
                    f"an alert {'opened' if e['alert_opened'] else 'never opened'} {span}",
                    bool(opened) == bool(e["alert_opened"]),
                    f"opened {opened[0].opened_at:%d %b}" if opened else "none",
                )
            )
        elif "nothing_sent_after_decision" in e:
            checks.append(_silence_check(driver))
    return checks


def _silence_check(driver: _Driver) -> Check:
    ok = driver.result.decided_on is not None and not (driver.sent_after or driver.raised_after)
    return Check(
        "nothing sent after the decision",
        ok,
        "no decision in the history"
        if driver.result.decided_on is None
        else f"{driver.sent_after} notifications, {driver.raised_after} alerts raised after it",
    )


def _peak(days: list[Day]) -> str:
    return max((d.level for d in days), key=level_rank, default="nothing")


def _implied_checks(driver: _Driver) -> list[Check]:
    """The issue's targets for every history of a kind."""
    h, result = driver.h, driver.result
    checks = []
    if h.kind == "failing":
        cut, lead = result.first(Level.CUT_LOSSES), result.lead_days
        checks.append(
            Check(
                f"cut your losses ≥ {LEAD_DAYS} days before the end (day {h.end})",
                lead is not None and lead >= LEAD_DAYS,
                f"day {cut}, {lead} days ahead" if cut is not None else f"peak {result.peak}",
            )
        )
        if cut is not None:
            day = next(d for d in result.days if d.day == cut)
            warned = result.first(Level.WARNING)
            exit_tripped = "exit_criteria_met" in day.signals
            checks.append(
                Check(
                    "warning before cut your losses, unless a written exit criterion tripped",
                    exit_tripped or (warned is not None and warned < cut),
                    "exit criterion tripped" if exit_tripped else f"warning first on day {warned}",
                )
            )
    elif h.kind == "healthy":
        worst = _peak(result.days)
        checks.append(
            Check(
                "never above watch",
                level_rank(worst) <= 1,
                "" if level_rank(worst) <= 1 else f"day {result.first(worst)}: {worst}",
            )
        )
    elif h.kind == "recovering":
        took = result.recovery_days
        limit = RECOVERY_HOURS // 24
        checks.append(
            Check(
                f"back at healthy/watch within {RECOVERY_HOURS} h of day {h.recovered}",
                took is not None and took < limit,
                f"after {took} days" if took is not None else "never",
            )
        )
    elif h.kind == "our_side":
        start = result.overdue_on
        for level, days in (
            (Level.WATCH, NEGLECT_WATCH_DAYS),
            (Level.WARNING, NEGLECT_WARNING_DAYS),
        ):
            if start is None:
                checks.append(
                    Check(f"at least {level} after neglect", False, "no overdue question")
                )
                continue
            hit = [
                d
                for d in result.days
                if start <= d.day <= start + days and level_rank(d.level) >= level_rank(level)
            ]
            checks.append(
                Check(
                    f"at least {level} within {days} days of the overdue question (day {start})",
                    bool(hit),
                    f"day {hit[0].day}" if hit else f"peak {_peak(result.days)}",
                )
            )
    return checks


# --- reporting ------------------------------------------------------------------------------


def strip(result: Result) -> str:
    """The level each day, a week to a group: . healthy, w watch, W warning, X cut your losses."""
    letters = {d.day: LETTER[d.level] for d in result.days}
    last = max(letters, default=-1)
    chars = [letters.get(day, " ") for day in range(last + 1)]
    return " ".join("".join(chars[i : i + 7]) for i in range(0, len(chars), 7))


def report(result: Result) -> str:
    """A history's replay in a few lines: levels, first days, and each check."""
    h = result.history
    lines = [f"{'PASS' if result.ok else 'FAIL'} {h.name} ({h.kind}, {h.mode}, {h.shape})"]
    lines.append(f"  days 0-{len(result.days) - 1}: {strip(result)}")
    firsts = ", ".join(
        f"{lvl} day {result.first(lvl)}" for lvl in LEVELS[1:] if result.first(lvl) is not None
    )
    lines.append(f"  first reached: {firsts or 'healthy throughout'}")
    if result.error:
        lines.append(f"  ERROR {result.error}")
    for c in result.checks:
        lines.append(
            f"  {'ok  ' if c.ok else 'FAIL'} {c.text}" + (f" ({c.detail})" if c.detail else "")
        )
    return "\n".join(lines)


def table(results: list[Result]) -> str:
    """The library's summary: lead times, false alarms, recovery and neglect timings."""
    rows = [("history", "kind", "peak", "watch", "warning", "cut", "lead", "recovery", "ok")]
    for r in results:
        rows.append(
            (
                r.history.name,
                r.history.kind,
                r.peak,
                _d(r.first(Level.WATCH)),
                _d(r.first(Level.WARNING)),
                _d(r.first(Level.CUT_LOSSES)),
                _d(r.lead_days if r.history.kind == "failing" else None),
                _d(r.recovery_days),
                "yes" if r.ok else "NO",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    failing = [r for r in results if r.history.kind == "failing"]
    leads = sorted(r.lead_days for r in failing if r.lead_days is not None)
    healthy = [r for r in results if r.history.kind == "healthy"]
    recovering = [r.recovery_days for r in results if r.history.kind == "recovering"]
    out.append("")
    out.append(
        f"failing: {sum(1 for x in leads if x >= LEAD_DAYS)}/{len(failing)} cut ≥ {LEAD_DAYS} days ahead"
        + (f", lead time min {leads[0]} / median {leads[len(leads) // 2]} days" if leads else "")
    )
    out.append(
        f"healthy: {sum(1 for r in healthy if level_rank(r.peak) > 1)}/{len(healthy)} above watch (false alarms), "
        f"{sum(1 for r in healthy if level_rank(r.peak) == 1)} at watch"
    )
    if recovering:
        known = [x for x in recovering if x is not None]
        out.append(
            f"recovering: {len(known)}/{len(recovering)} back at healthy/watch, "
            f"slowest after {max(known, default=0)} days"
        )
    out.append(f"{sum(r.ok for r in results)}/{len(results)} histories pass")
    return "\n".join(out)


def _d(value) -> str:
    return "-" if value is None else str(value)
