"""The watcher, replayed over engagements' stored past: what it would have said, day by day.

``backtest(engagements, scenarios)`` reads the stored facts of the given engagements in a
fixed number of set-based queries (interactions, deliverables and their transitions, spend,
questions, scope changes, exit criteria, status changes; never a query per engagement or per
day), rebuilds each engagement's ``Facts`` as of every day it was active -- deliverable status,
submissions, acceptances and rejections as of that day from ``DeliverableTransition`` -- and
runs the same rules and ``assess`` the sweep runs, with the same persistence and
de-escalation hold, once per scenario (a set of thresholds). Facts are rebuilt once a day and
shared by the scenarios, so "now vs what if" costs little more than one of them.

A day is judged at ``DAY_HOUR`` UTC (as ``manage.py replay`` sweeps), from the day watching
started (activation) while the engagement was active, up to its end. What the stored rows do
not keep is taken as it is now: deliverables' due dates, values and acceptance criteria (a
recorded scope change that moved a due date moved it for the whole past), the plan's
deliverables (one added late counts from the start) and the exit criteria. The vendor's
review reminder weighs nothing and is left out.
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, QuerySet, Value, When

from engagements.delivery.models import (
    Deliverable,
    DeliverableStatus,
    DeliverableTransition,
    Direction,
    Engagement,
    EngagementStatus,
    EngagementStatusChange,
    ExitCriterion,
    Interaction,
    OpenQuestion,
    Outcome,
    ScopeChange,
    Side,
    SpendEntry,
)
from engagements.watch import rules
from engagements.watch.facts import RECENT_DAYS, SCOPE_LOOKBACK_DAYS, TWO_WAY, Facts
from engagements.watch.models import LEVEL_RANK, Level

FIRSTS = (Level.WATCH, Level.WARNING, Level.CUT_LOSSES)
RANK = {str(level): rank for level, rank in LEVEL_RANK.items()}  # plain str keys: no Enum call

RECENT, SCOPE_LOOKBACK = timedelta(days=RECENT_DAYS), timedelta(days=SCOPE_LOOKBACK_DAYS)
ONE_DAY = timedelta(days=1)
DAY_HOUR = 18  # the moment of each day the past is judged at (UTC), as the replay sweeps
S = DeliverableStatus
STOPS = (EngagementStatus.PAUSED, EngagementStatus.COMPLETED, EngagementStatus.TERMINATED)


@dataclass(frozen=True)
class Scenario:
    """A set of thresholds to judge the past with: the rules' ``Thresholds``, watch settings
    that replace every engagement's own (e.g. ``{"stall_days": 14}``), the persistence."""

    name: str
    thresholds: rules.Thresholds = rules.DEFAULTS
    watch: Mapping[str, int] = field(default_factory=dict)
    persist_days: int | None = None  # None: HEALTH_CUT_LOSSES_PERSIST_DAYS
    hold_hours: int | None = None  # None: HEALTH_DEESCALATION_HOLD_HOURS


@dataclass
class Verdict:
    """What the watcher would have said about one engagement under one scenario."""

    engagement_id: int
    levels: list[tuple[date, str]] = field(default_factory=list)  # each day judged, its level
    first: dict[str, datetime] = field(default_factory=dict)  # level → first moment at least it
    first_signs: list[str] = field(default_factory=list)  # kinds, in order of appearance
    spent_after: dict[str, Decimal] = field(default_factory=dict)  # level → spent after first
    spent: Decimal = Decimal("0")  # all of it, whenever recorded

    @property
    def peak(self) -> str:
        return max((lvl for _, lvl in self.levels), key=RANK.__getitem__, default=Level.HEALTHY)


@dataclass
class _Deliverable:
    value: Decimal
    due: date
    milestone_id: int
    milestone_due: date
    blank_criteria: bool
    moves: list[tuple[datetime, str]] = field(default_factory=list)  # (at, to_status), in order
    # as of the moment reached so far (moments only move forward)
    seen: int = 0
    status: str = S.PLANNED
    times_rejected: int = 0
    submitted_at: datetime | None = None
    accepted_at: datetime | None = None

    def advance(self, at: datetime) -> None:
        moves = self.moves
        while self.seen < len(moves) and moves[self.seen][0] <= at:
            moment, self.status = moves[self.seen]
            if self.status == S.SUBMITTED:
                self.submitted_at = moment
            elif self.status == S.ACCEPTED:
                self.accepted_at = moment
            elif self.status == S.REJECTED:
                self.times_rejected += 1
            self.seen += 1


@dataclass
class _Story:
    """One engagement's stored past, sorted for bisecting."""

    row: dict
    end: datetime
    active: list[tuple[datetime, datetime]] = field(default_factory=list)  # watched intervals
    two_way: list[datetime] = field(default_factory=list)
    vendor_no_shows: list[datetime] = field(default_factory=list)
    we_no_shows: list[datetime] = field(default_factory=list)
    unanswered_ours: list[datetime] = field(default_factory=list)
    comfort_at: list[datetime] = field(default_factory=list)
    comfort: list[int] = field(default_factory=list)
    deliverables: list[_Deliverable] = field(default_factory=list)
    spend_on: list[date] = field(default_factory=list)
    spend_total: list[Decimal] = field(default_factory=list)  # running sums
    questions: list[tuple[datetime, datetime | None]] = field(default_factory=list)
    scope_changes: list[datetime] = field(default_factory=list)
    exit_criteria: list[dict] = field(default_factory=list)
    dues: list[date] = field(default_factory=list)  # sorted, for the figures' cache key
    milestone_dues: list[date] = field(default_factory=list)
    cached_key: tuple | None = None

    def spent_by(self, day: date) -> Decimal:
        i = bisect_right(self.spend_on, day)
        return self.spend_total[i - 1] if i else Decimal("0")

    @property
    def spent(self) -> Decimal:
        return self.spend_total[-1] if self.spend_total else Decimal("0")


def _aware(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def load(engagements: QuerySet, until: Mapping[int, datetime] | None = None) -> dict[int, _Story]:
    """The stored past of ``engagements`` (a queryset), up to each one's end (``ended_at``,
    else ``until[id]``): ten queries, however many engagements."""
    until = until or {}
    ids = engagements.values("pk")
    stories: dict[int, _Story] = {}
    for row in engagements.values(
        "pk", "budget", "start_date", "target_end_date", "activated_at", "ended_at",
        "status", "org_id", "vendor_id", "owner_id", "title", *Engagement.WATCH_FIELDS,
    ):  # fmt: skip
        end = row["ended_at"] or until.get(row["pk"])
        if end is not None:
            stories[row["pk"]] = _Story(row=row, end=end)
    if not stories:
        return stories

    # Watched intervals: from each move to active until the next move away (or the end).
    opened: dict[int, datetime] = {}
    changes = EngagementStatusChange.objects.filter(engagement__in=ids).order_by("at", "pk")
    for eid, to, at in changes.values_list("engagement_id", "to_status", "at"):
        story = stories.get(eid)
        if story is None:
            continue
        if to == EngagementStatus.ACTIVE:
            opened.setdefault(eid, at)
        elif to in STOPS and eid in opened:  # (the row of its creation as a draft is no stop)
            story.active.append((opened.pop(eid), min(at, story.end)))
    for eid, story in stories.items():
        if eid in opened:
            story.active.append((opened.pop(eid), story.end))
        if not story.active and story.row["activated_at"]:  # no recorded changes (imported)
            story.active.append((story.row["activated_at"], story.end))

    unanswered = (Outcome.UNANSWERED, Direction.WE_TO_VENDOR)
    for eid, at, outcome, direction, comfort in (
        Interaction.objects.filter(engagement__in=ids)
        .order_by("engagement_id", "occurred_at", "pk")
        .values_list("engagement_id", "occurred_at", "outcome", "direction", "comfort")
    ):
        story = stories.get(eid)
        if story is None:
            continue
        if outcome in TWO_WAY:
            story.two_way.append(at)
        elif outcome == Outcome.VENDOR_NO_SHOW:
            story.vendor_no_shows.append(at)
        elif outcome == Outcome.WE_NO_SHOW:
            story.we_no_shows.append(at)
        if (outcome, direction) == unanswered:
            story.unanswered_ours.append(at)
        if comfort is not None:
            story.comfort_at.append(at)
            story.comfort.append(comfort)

    by_pk: dict[int, _Deliverable] = {}
    blank = Case(When(acceptance_criteria="", then=Value(True)), default=Value(False))
    for pk, eid, value, due, milestone_id, milestone_due, no_criteria in (
        Deliverable.objects.filter(engagement__in=ids)
        .annotate(no_criteria=blank)
        .order_by("pk")
        .values_list(
            "pk", "engagement_id", "value", "due_date", "milestone_id", "milestone__due_date",
            "no_criteria",
        )
    ):  # fmt: skip
        if eid in stories:
            by_pk[pk] = _Deliverable(value, due, milestone_id, milestone_due, bool(no_criteria))
            stories[eid].deliverables.append(by_pk[pk])
    for story in stories.values():
        story.dues = sorted(d.due for d in story.deliverables)
        story.milestone_dues = sorted(d.milestone_due for d in story.deliverables)
    for pk, to, at in (
        DeliverableTransition.objects.filter(deliverable__engagement__in=ids)
        .order_by("at", "pk")
        .values_list("deliverable_id", "to_status", "at")
    ):
        if pk in by_pk:
            by_pk[pk].moves.append((at, to))

    for eid, day, amount in (
        SpendEntry.objects.filter(engagement__in=ids)
        .order_by("engagement_id", "date", "pk")
        .values_list("engagement_id", "date", "amount")
    ):
        if story := stories.get(eid):
            story.spend_on.append(day)
            story.spend_total.append((story.spend_total[-1] if story.spend_total else 0) + amount)

    for eid, asked, answered in OpenQuestion.objects.filter(
        engagement__in=ids, owed_by=Side.US
    ).values_list("engagement_id", "asked_at", "answered_at"):
        if story := stories.get(eid):
            story.questions.append((asked, answered))

    for eid, at in (
        ScopeChange.objects.filter(engagement__in=ids)
        .order_by("at", "pk")
        .values_list("engagement_id", "at")
    ):
        if story := stories.get(eid):
            story.scope_changes.append(at)

    for row in (
        ExitCriterion.objects.filter(engagement__in=ids)
        .order_by("pk")
        .values("engagement_id", "label", "combinator", "conditions")
    ):
        if story := stories.get(row["engagement_id"]):
            story.exit_criteria.append(row)
    return stories


def _deliverable_figures(story: _Story, today: date) -> dict:
    """What ``facts.collect`` aggregates over the deliverables, from their state as of now."""
    zero = Decimal("0")
    out = {
        "planned_value": zero, "accepted_value": zero, "due_value": zero, "due_open": 0,
        "due_open_value": zero, "last_accepted_at": None, "without_criteria": 0,
        "rejected_twice": 0, "rejected_twice_open": 0, "submitted_waiting": 0,
        "oldest_submitted_at": None, "newest_submitted_at": None, "in_progress_overdue": 0,
        "oldest_in_progress_due": None, "oldest_late_milestone_due": None,
    }  # fmt: skip
    late_milestones: set[int] = set()
    for d in story.deliverables:
        accepted = d.status == S.ACCEPTED
        out["planned_value"] += d.value
        if accepted:
            out["accepted_value"] += d.value
        if d.accepted_at and (
            out["last_accepted_at"] is None or d.accepted_at > out["last_accepted_at"]
        ):
            out["last_accepted_at"] = d.accepted_at
        if d.times_rejected >= 2:
            out["rejected_twice"] += 1
        if d.due < today:
            out["due_value"] += d.value
        if accepted:
            continue
        if d.due < today:
            out["due_open"] += 1
            out["due_open_value"] += d.value
        if d.blank_criteria:
            out["without_criteria"] += 1
        if d.times_rejected >= 2:
            out["rejected_twice_open"] += 1
        if d.status == S.SUBMITTED:
            out["submitted_waiting"] += 1
            if out["oldest_submitted_at"] is None or d.submitted_at < out["oldest_submitted_at"]:
                out["oldest_submitted_at"] = d.submitted_at
            if out["newest_submitted_at"] is None or d.submitted_at > out["newest_submitted_at"]:
                out["newest_submitted_at"] = d.submitted_at
        elif d.status == S.IN_PROGRESS and d.due < today:
            out["in_progress_overdue"] += 1
            if out["oldest_in_progress_due"] is None or d.due < out["oldest_in_progress_due"]:
                out["oldest_in_progress_due"] = d.due
        if d.milestone_due < today:
            late_milestones.add(d.milestone_id)
            oldest = out["oldest_late_milestone_due"]
            if oldest is None or d.milestone_due < oldest:
                out["oldest_late_milestone_due"] = d.milestone_due
    out["late_milestones"] = len(late_milestones)
    return out


def _facts(story: _Story, at: datetime, f: Facts) -> Facts:
    """One engagement's ``Facts`` as of ``at``, as ``facts.collect`` read them that day: ``f``
    (this engagement's, from the day before) brought forward. Runs once per engagement-day,
    so it avoids what costs: new objects, Enum calls, scans of whole lists."""
    today, recent = at.date(), at - RECENT
    if story.two_way:
        i = bisect_right(story.two_way, at)
        f.last_two_way_at = story.two_way[i - 1] if i else None
    if story.vendor_no_shows:
        times = story.vendor_no_shows
        f.vendor_no_shows = bisect_right(times, at) - bisect_left(times, recent)
    if story.we_no_shows:
        times = story.we_no_shows
        f.we_no_shows = bisect_right(times, at) - bisect_left(times, recent)
    if story.unanswered_ours:
        times = story.unanswered_ours
        lo, hi = bisect_left(times, recent), bisect_right(times, at)
        f.unanswered_ours = max(0, hi - lo)
        f.oldest_unanswered_ours = times[lo] if hi > lo else None
        f.newest_unanswered_ours = times[hi - 1] if hi > lo else None
    if story.comfort_at:
        i = bisect_right(story.comfort_at, at)
        newest = story.comfort[max(0, i - 10) : i][::-1]
        f.comfort_last, f.comfort_before = newest[:5], newest[5:]

    seen = 0
    for d in story.deliverables:
        if d.seen < len(d.moves) and d.moves[d.seen][0] <= at:
            d.advance(at)
        seen += d.seen
    # The deliverables' figures change only with a transition or a due date passing: most
    # days reuse the day before's.
    key = (seen, bisect_left(story.dues, today), bisect_left(story.milestone_dues, today))
    if key != story.cached_key:
        story.cached_key = key
        f.__dict__.update(_deliverable_figures(story, today))
    if story.spend_on:
        f.spent = story.spent_by(today)
    if story.questions:
        f.vendor_questions_asked = [
            asked
            for asked, answered in story.questions
            if asked <= at and (not answered or answered > at)
        ]
    if story.scope_changes:
        oldest = at - SCOPE_LOOKBACK
        times = story.scope_changes
        f.scope_changes = [
            t for t in times[bisect_left(times, oldest) : bisect_right(times, at)] if t > oldest
        ]
    return f


def _fresh_facts(story: _Story, baseline: datetime) -> Facts:
    row = story.row
    return Facts(
        engagement_id=row["pk"],
        org_id=row["org_id"],
        vendor_id=row["vendor_id"],
        owner_id=row["owner_id"],
        title=row["title"],
        budget=row["budget"],
        start_date=row["start_date"],
        target_end_date=row["target_end_date"],
        baseline=baseline,
        settings={},
        exit_criteria=story.exit_criteria,
    )


THRESHOLDS = "thresholds"  # a rule reads ``rules.Thresholds``
# What each rule reads of the watch settings (and whether it reads ``Thresholds``): a what-if
# recomputes only the rules whose inputs it changes and takes the others' signals from today's
# judgement of the same day. A rule missing here is always recomputed.
# (tests/health/test_backtest.py holds it against a recomputation of every rule.)
READS: dict = {
    rules.exit_criteria_met: {"response_window_hours"},
    rules.burn_without_delivery: {THRESHOLDS},
    rules.missed_contact: {"contact_cadence_days", "contact_grace_days", "response_window_hours"},
    rules.no_results: {"stall_days"},
    rules.stalled_deliverable: {THRESHOLDS},
    rules.uncomfortable_collaboration: set(),
    rules.our_side_slipping: {"response_window_hours", "review_window_days"},
    rules.blurry_lines: {"scope_change_window_days", "scope_change_limit"},
    rules.vendor_needs_review: set(),
}


@dataclass
class _State:
    """The health row the sweep would have kept for one engagement under one scenario."""

    settings: dict[str, int]
    thresholds: rules.Thresholds
    persist: int
    hold: timedelta
    verdict: Verdict
    recompute: list[int]  # indexes in ``rules.RULES`` whose signals differ from today's
    level: str | None = None
    lower_since: datetime | None = None
    clear: dict[str, datetime] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # kinds by first appearance


def _judge(state: _State, found: list, at: datetime) -> None:
    """One day's sweep of one engagement (``services._evaluate``, without the database)."""
    state.clear = {s.kind: state.clear.get(s.kind, at) for s in found if s.severity >= 2}
    _, raw = rules.assess(found, state.clear, at, persist_days=state.persist)
    level, old = raw, state.level
    if old is not None and RANK[raw] < RANK[old]:
        state.lower_since = state.lower_since or at
        level = raw if at - state.lower_since >= state.hold else old
        if level == raw:
            state.lower_since = None
    else:
        state.lower_since = None
    state.level = level
    verdict = state.verdict
    verdict.levels.append((at.date(), level))
    new = [s for s in found if s.kind not in state.order and rules.WEIGHTS[s.kind]]
    if new:  # the day's new signs, strongest first (as the sweep lists them)
        new.sort(key=lambda s: -rules.WEIGHTS[s.kind] * s.severity)
        state.order += [s.kind for s in new]
    rank = RANK[level]
    for name in FIRSTS[:rank]:
        if name not in verdict.first:
            verdict.first[name] = at
            if name == Level.WARNING:
                verdict.first_signs = list(state.order)


def _state(sc: Scenario, own: dict[str, int], eid: int, *, full: bool) -> _State:
    mine = own | dict(sc.watch)
    changed = {k for k in mine if mine[k] != own[k]}
    if sc.thresholds != rules.DEFAULTS:
        changed.add(THRESHOLDS)
    recompute = [
        i
        for i, rule in enumerate(rules.RULES)
        if full or rule not in READS or READS[rule] & changed
    ]
    return _State(
        settings=mine,
        thresholds=sc.thresholds,
        persist=settings.HEALTH_CUT_LOSSES_PERSIST_DAYS
        if sc.persist_days is None
        else sc.persist_days,
        hold=timedelta(
            hours=settings.HEALTH_DEESCALATION_HOLD_HOURS
            if sc.hold_hours is None
            else sc.hold_hours
        ),
        verdict=Verdict(eid),
        recompute=recompute,
    )


def backtest(
    engagements: QuerySet | dict[int, _Story],
    scenarios: Iterable[Scenario],
    *,
    until: Mapping[int, datetime] | None = None,
    full: bool = False,
    until_cut: bool = False,
) -> dict[str, dict[int, Verdict]]:
    """What the watcher would have said, day by day, about each engagement under each
    scenario: scenario name → engagement id → ``Verdict``. ``engagements``: a queryset (read
    with ``load``) or what ``load`` returned. ``full``: recompute every rule for every
    scenario (the check of ``READS``). ``until_cut``: stop judging an engagement under a
    scenario once it said cut your losses (its first moments and first signs are known by
    then; ``levels`` stops there)."""
    stories = engagements if isinstance(engagements, dict) else load(engagements, until)
    scenarios = list(scenarios)
    out: dict[str, dict[int, Verdict]] = defaultdict(dict)
    every = rules.RULES
    for eid, story in stories.items():
        own = {name: story.row[name] for name in Engagement.WATCH_FIELDS}
        states = [_state(sc, own, eid, full=full) for sc in scenarios]
        for d in story.deliverables:  # a fresh walk through the transitions
            d.seen, d.status, d.times_rejected = 0, S.PLANNED, 0
            d.submitted_at = d.accepted_at = None
        story.cached_key = None
        baseline = story.row["activated_at"] or _aware(story.row["start_date"])
        f = _fresh_facts(story, baseline)
        live = states
        for start, stop in story.active:
            at = _aware(start.date(), DAY_HOUR)
            while at < stop and live:
                if at >= start:
                    _facts(story, at, f)
                    f.settings = own
                    today = [rule(f, at, rules.DEFAULTS) for rule in every]
                    for state in live:
                        found = today
                        if state.recompute:
                            f.settings, found = state.settings, list(today)
                            for i in state.recompute:
                                found[i] = every[i](f, at, state.thresholds)
                        _judge(state, [s for s in found if s], at)
                    if until_cut:
                        live = [s for s in live if Level.CUT_LOSSES not in s.verdict.first]
                at += ONE_DAY
        for state, sc in zip(states, scenarios, strict=True):
            verdict = state.verdict
            verdict.spent = story.spent
            for name, moment in verdict.first.items():
                verdict.spent_after[name] = story.spent - story.spent_by(moment.date())
            if Level.WARNING not in verdict.first:
                verdict.first_signs = list(state.order)
            out[sc.name][eid] = verdict
    return out
