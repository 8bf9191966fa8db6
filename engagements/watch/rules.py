"""The warning-sign rules and how they combine into a health score and a level.

Each rule is a plain function ``rule(facts, at, thresholds) -> Signal | None`` over the
``Facts`` of one engagement (``engagements.watch.facts``) and a moment ``at`` -- no database, no
hidden ``now()`` -- with its thresholds from the engagement's watch settings and a
``Thresholds`` value (``DEFAULTS``: the named constants below; the watcher report tries
others). A signal carries a severity (1 mild, 2 clear, 3 severe) and evidence a person can read.

Each signal also says what would clear it (``clears``), in words a manager can act on.

Weighting (``WEIGHTS``): score = 100 - sum(weight * severity), floored at 0.
Level: healthy > 90 ≥ watch ≥ 65 > warning. **cut_losses** at once when an exit criterion
the team wrote at the start is met; otherwise only after a persistence of
``CUT_LOSSES_PERSIST_DAYS``, counted from the day a sign became clear (severity ≥ 2): when a
severe burn without delivery has persisted, or ≥ 2 distinct clear warning signs on the
vendor's side have persisted and the score is below 65 (or they persisted twice as long;
before that they mean warning). Score capped at 30 at cut_losses. Our side slipping warns, and weighs as much as
a vendor's missed contact, but never tells you to cut the vendor loose: the remedy is ours.
``vendor_needs_review`` is a reminder: weight 0, never raises the level. So is
``decide_before_renewal``, asked after ``assess`` because it reads the verdict: a failing
engagement whose contract renews unless someone gives notice soon.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from engagements.delivery.exit_criteria import evaluate
from engagements.watch.facts import RECENT_DAYS, Facts, metrics, milestone_days_late
from vendors.terms import SIGNAL_WINDOW_DAYS

HEALTHY_MIN, WATCH_MIN, CUT_LOSSES_CAP = 91, 65, 30
CUT_LOSSES_PERSIST_DAYS = 7

# --- thresholds, named (per-engagement ones live in its watch settings) -------------------
MANY = 3  # this many late messages, questions, deliverables... make a sign clear, not mild
WAIT_LADDER_DAYS = (7, 14)  # a wait past its window: mild in week 1, clear in week 2, then severe
MILESTONE_LATE_DAYS = (7, 21)  # a milestone this late: mild up to 7 days, clear up to 21
IN_PROGRESS_LATE_DAYS = 14  # work in progress past due: mild up to 14 days, then clear
# Work a rule ties to forge activity (a branch, a label, a keyword) with no trace for this many
# days stalls, due or not: mild, clear after twice as long.
ACTIVITY_SILENT_DAYS = 10
COMFORT_MIN_RATINGS = 3  # fewer recent ratings than this say nothing
COMFORT_LOW, COMFORT_VERY_LOW = 2.5, 1.5  # mean of the recent ratings (of 5)
COMFORT_FALL, COMFORT_STEEP_FALL = 1.0, 2.0  # points lost against the ratings before
BURN_MIN_SPENT = 0.2  # below this share of the budget spent, no burn signal
BURN_GAP_MILD, BURN_GAP_CLEAR, BURN_GAP_SEVERE = 0.25, 0.4, 0.6  # spent minus accepted (due)
BURN_LATE_SPENT, BURN_LATE_ACCEPTED = 0.8, 0.3  # most of the money gone, little accepted


@dataclass(frozen=True)
class Thresholds:
    """The rules' module-wide thresholds as one value, so a caller may try others (the
    watcher report's "what if") without touching the module: every rule takes one, and the
    sweep passes ``DEFAULTS``. (Per-engagement thresholds are in ``Facts.settings``.)"""

    burn_min_spent: float = BURN_MIN_SPENT
    burn_gap_mild: float = BURN_GAP_MILD
    burn_gap_clear: float = BURN_GAP_CLEAR
    burn_gap_severe: float = BURN_GAP_SEVERE
    burn_late_spent: float = BURN_LATE_SPENT
    burn_late_accepted: float = BURN_LATE_ACCEPTED
    activity_silent_days: int = ACTIVITY_SILENT_DAYS


DEFAULTS = Thresholds()

WEIGHTS = {
    "exit_criteria_met": 25,
    "burn_without_delivery": 12,
    "missed_contact": 10,
    "no_results": 10,
    "uncomfortable_collaboration": 8,
    "stalled_deliverable": 7,
    "our_side_slipping": 12,
    "blurry_lines": 5,
    "vendor_needs_review": 0,
    "decide_before_renewal": 0,
}

LABELS = {
    "missed_contact": "Missed contact",
    "no_results": "No results",
    "stalled_deliverable": "Stalled deliverable",
    "uncomfortable_collaboration": "Uncomfortable collaboration",
    "blurry_lines": "Blurry lines",
    "burn_without_delivery": "Burn without delivery",
    "our_side_slipping": "Our side slipping",
    "exit_criteria_met": "Exit criteria met",
    "vendor_needs_review": "Vendor needs review",
    "decide_before_renewal": "Decide before renewal",
}


@dataclass(frozen=True)
class Signal:
    kind: str
    severity: int  # 1 mild, 2 clear, 3 severe
    evidence: str
    our_fault: bool = False
    clears: str = ""  # what would clear it, e.g. "answer the 2 questions the vendor asked on …"

    def as_dict(self) -> dict:
        # By hand, not dataclasses.asdict: the sweep calls this for every signal it finds.
        return {
            "kind": self.kind,
            "severity": self.severity,
            "evidence": self.evidence,
            "our_fault": self.our_fault,
            "clears": self.clears,
            "label": LABELS[self.kind],
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _on(moments: list[datetime]) -> str:
    """'3 and 6 Nov', '30 Oct, 3 and 6 Nov': the days of some moments, for a reader."""
    days = sorted({m.date() for m in moments})
    if not days:
        return ""
    parts: list[str] = []
    for i, d in enumerate(days):
        same_month_next = i + 1 < len(days) and (days[i + 1].year, days[i + 1].month) == (
            d.year,
            d.month,
        )
        parts.append(f"{d.day}" if same_month_next else f"{d.day} {d:%b}")
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _ladder(days_over: int) -> int:
    """Severity of a wait past its window: 1 in the first week, 2 in the second, then 3."""
    week, fortnight = WAIT_LADDER_DAYS
    return 1 if days_over <= week else 2 if days_over <= fortnight else 3


def missed_contact(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """No held two-way contact within cadence + grace; vendor no-shows; our messages unanswered."""
    s = f.settings
    cadence, grace = s["contact_cadence_days"], s["contact_grace_days"]
    severity, evidence, clears = 0, [], []
    since = f.last_two_way_at or f.baseline
    days = (at - since).days
    if days > cadence + grace:
        over = days - cadence - grace
        severity = 1 if over <= cadence else 2 if over <= 2 * cadence else 3
        what = "last held contact" if f.last_two_way_at else "no held contact since the start,"
        evidence.append(f"{what} {days} days ago; cadence {cadence} + grace {grace}")
        clears.append("hold a call or meeting with the vendor")
    if f.vendor_no_shows:
        severity = max(severity, 1 if f.vendor_no_shows == 1 else 2)
        evidence.append(f"{_plural(f.vendor_no_shows, 'vendor no-show')} in the last 30 days")
        clears.append("no-shows count for 30 days")
    window = timedelta(hours=s["response_window_hours"])
    # Messages unanswered before a later two-way contact no longer count: the line is open again.
    answered_since = (
        f.last_two_way_at
        and f.newest_unanswered_ours
        and f.last_two_way_at > f.newest_unanswered_ours
    )
    if (
        f.unanswered_ours
        and not answered_since
        and f.oldest_unanswered_ours
        and at - f.oldest_unanswered_ours > window
    ):
        severity = max(severity, 1 if f.unanswered_ours < MANY else 2)
        evidence.append(
            f"{_plural(f.unanswered_ours, 'message')} of ours unanswered, the oldest for "
            f"{(at - f.oldest_unanswered_ours).days} days; response window {s['response_window_hours']} h"
        )
        clears.append("a reply from the vendor or a held contact")
    if not severity:
        return None
    return Signal("missed_contact", severity, "; ".join(evidence), clears="; ".join(clears))


def no_results(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Nothing accepted within the stall threshold; milestones past due with work not accepted."""
    stall = f.settings["stall_days"]
    severity, evidence, clears = 0, [], []
    days = (at - (f.last_accepted_at or f.baseline)).days
    if days > stall:
        severity = 1 if days <= 2 * stall else 2 if days <= 3 * stall else 3
        what = "nothing accepted for" if f.last_accepted_at else "nothing accepted since the start,"
        evidence.append(f"{what} {days} days; stall threshold {stall} days")
        clears.append("accept delivered work")
        if f.activity_recent:
            # Busy but not delivering: work happens, nothing comes out of it.
            evidence.append(
                f"busy but not delivering: {_plural(f.activity_recent, 'trace')} of work in "
                f"{RECENT_DAYS} days ({f.opened_recent} opened, {f.landed_recent} merged, "
                "released or closed)"
            )
        elif f.activity_tracked:
            # Silent: no trace of work where it happens either; one step worse.
            severity = min(3, severity + 1)
            quiet = (
                f"for {(at - f.last_activity_at).days} days"
                if f.last_activity_at
                else "at all so far"
            )
            evidence.append(f"silent: no commit, merge request or issue {quiet}")
            clears.append("ask the vendor where the work is")
    if f.oldest_late_milestone_due:
        late = milestone_days_late(f, at)
        mild, clear = MILESTONE_LATE_DAYS
        severity = max(severity, 1 if late <= mild else 2 if late <= clear else 3)
        evidence.append(
            f"{_plural(f.late_milestones, 'milestone')} past due with work not accepted; "
            f"the oldest {late} days late"
        )
        clears.append(
            f"get the work of the {_plural(f.late_milestones, 'late milestone')} accepted, "
            "or move their due dates as a recorded scope change"
        )
    if not severity:
        return None
    return Signal("no_results", severity, "; ".join(evidence), clears="; ".join(clears))


def stalled_deliverable(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Work in progress past due, work a rule ties to forge activity with no trace for
    ``activity_silent_days`` (due or not), repeated rejection: the vendor's stall. (Submitted
    work waiting for our review is ours: ``our_side_slipping``.)"""
    severity, evidence, clears = 0, [], []
    if f.oldest_in_progress_due:
        late = (at.date() - f.oldest_in_progress_due).days
        severity = max(severity, 1 if late <= IN_PROGRESS_LATE_DAYS else 2)
        evidence.append(
            f"{_plural(f.in_progress_overdue, 'deliverable')} in progress past due, "
            f"the oldest {late} days"
        )
        clears.append(
            f"get the {_plural(f.in_progress_overdue, 'overdue deliverable')} submitted, "
            "or re-plan their due dates"
        )
    silent = [w for w in f.tracked_work if (at - w[0]).days > t.activity_silent_days]
    if silent:
        since, label, title, rejected = silent[0]
        days = (at - since).days
        severity = max(severity, 1 if days <= 2 * t.activity_silent_days else 2)
        state = "rejected, not reworked" if rejected else "in progress"
        more = f"; {_plural(len(silent) - 1, 'more deliverable')} silent" if len(silent) > 1 else ""
        evidence.append(
            f"no commit or merge request on {label} for {days} days (“{title}”, {state}){more}"
        )
        clears.append(
            f"work pushed on {label}, or the deliverable re-planned"
            if len(silent) == 1
            else f"work pushed on the {len(silent)} silent deliverables, or them re-planned"
        )
    if f.rejected_twice_open:
        severity = max(severity, 2 if f.rejected_twice_open == 1 else 3)
        reworked = (
            f" (work pushed since the rejection on {_plural(f.reworked_after_rejection, 'rejected deliverable')})"
            if f.reworked_after_rejection
            else ""
        )
        evidence.append(
            f"{_plural(f.rejected_twice_open, 'deliverable')} rejected 2 or more times, not accepted yet{reworked}"
        )
        clears.append("agree what acceptance means, then accept or drop the twice-rejected work")
    if not severity:
        return None
    return Signal("stalled_deliverable", severity, "; ".join(evidence), clears="; ".join(clears))


def uncomfortable_collaboration(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Mean of the last 5 comfort ratings ≤ 2.5, or a fall of ≥ 1 point against the 5 before."""
    if len(f.comfort_last) < COMFORT_MIN_RATINGS:
        return None
    recent = sum(f.comfort_last) / len(f.comfort_last)
    before = (
        sum(f.comfort_before) / len(f.comfort_before)
        if len(f.comfort_before) >= COMFORT_MIN_RATINGS
        else None
    )
    severity = 0
    if recent <= COMFORT_LOW:
        severity = 3 if recent <= COMFORT_VERY_LOW else 2
    if before is not None and before - recent >= COMFORT_FALL:
        severity = max(severity, 1 if before - recent < COMFORT_STEEP_FALL else 2)
    if not severity:
        return None
    was = f" (was {before:.1f} before)" if before is not None else ""
    return Signal(
        "uncomfortable_collaboration",
        severity,
        f"average comfort of the last {len(f.comfort_last)} ratings {recent:.1f} of 5{was}",
        clears="talk about what is not working; comfortable ratings in the next interactions",
    )


def blurry_lines(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Deliverables without acceptance criteria; scope changes piling up within the window."""
    s = f.settings
    severity, evidence, clears = 0, [], []
    if f.without_criteria:
        severity = 1 if f.without_criteria < MANY else 2
        evidence.append(f"{_plural(f.without_criteria, 'deliverable')} without acceptance criteria")
        clears.append(
            f"write acceptance criteria for the {_plural(f.without_criteria, 'deliverable')}"
        )
    window = timedelta(days=s["scope_change_window_days"])
    recent = sorted(changed for changed in f.scope_changes if at - changed <= window)
    if len(recent) >= s["scope_change_limit"]:
        severity = max(severity, 2)
        evidence.append(
            f"{_plural(len(recent), 'scope change')} in {s['scope_change_window_days']} days; "
            f"limit {s['scope_change_limit']}"
        )
        # The count drops below the limit when enough of the oldest leave the window.
        leaves = recent[len(recent) - s["scope_change_limit"]] + window + timedelta(days=1)
        clears.append(f"hold the scope: without new changes this clears on {_on([leaves])}")
    if not severity:
        return None
    return Signal("blurry_lines", severity, "; ".join(evidence), clears="; ".join(clears))


def burn_without_delivery(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Spend ÷ budget ahead of accepted value ÷ planned value, counted only as far as value
    was due by now and is not accepted: money paid ahead of a plan the vendor keeps (a
    front-loaded contract) is not burn; money paid while due work does not arrive is."""
    if not f.budget or f.spent <= 0:
        return None
    spent = float(f.spent / f.budget)
    accepted = float(f.accepted_value / f.planned_value) if f.planned_value else 0.0
    # Without a plan nothing says what the money bought: all of it counts as due.
    due = float(f.due_value / f.planned_value) if f.planned_value else 1.0
    behind = max(0.0, due - accepted)  # share of the plan due by now and not accepted
    gap = min(spent - accepted, behind)
    if spent < t.burn_min_spent or gap < t.burn_gap_mild:
        return None
    severe = gap >= t.burn_gap_severe or (
        spent >= t.burn_late_spent
        and accepted < t.burn_late_accepted
        and behind >= t.burn_late_accepted
    )
    severity = 3 if severe else 2 if gap >= t.burn_gap_clear else 1
    worth = f" (worth {f.due_open_value:,.0f})" if f.due_open_value else ""
    return Signal(
        "burn_without_delivery",
        severity,
        f"{spent:.0%} of the budget spent, {accepted:.0%} of the planned value accepted "
        f"while {due:.0%} was due by now",
        clears=(
            f"get the {_plural(f.due_open, 'deliverable')} due by now accepted{worth}, "
            "or hold further payments until they are"
            if f.due_open
            else "tie further payments to accepted work"
        ),
    )


def our_side_slipping(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """What the vendor waits for from us: questions unanswered past the response window,
    submitted work unreviewed past the review window, meetings we missed. Severity grows
    with the longest wait (a week past the window: 2, two weeks: 3) and with the count."""
    window = timedelta(hours=f.settings["response_window_hours"])
    review = timedelta(days=f.settings["review_window_days"])
    overdue = sorted(a for a in f.vendor_questions_asked if at - a > window)
    severity, evidence, clears = 0, [], []
    if overdue:
        severity = max(_ladder((at - overdue[0] - window).days), 1 if len(overdue) < MANY else 2)
        evidence.append(
            f"{_plural(len(overdue), 'vendor question')} unanswered by us, the oldest for "
            f"{(at - overdue[0]).days} days; response window {f.settings['response_window_hours']} h"
        )
        clears.append(
            f"answer the {_plural(len(overdue), 'question')} the vendor asked on {_on(overdue)}"
        )
    if f.oldest_submitted_at and at - f.oldest_submitted_at > review:
        waiting = (at - f.oldest_submitted_at).days
        severity = max(
            severity,
            _ladder((at - f.oldest_submitted_at - review).days),
            1 if f.submitted_waiting < MANY else 2,
        )
        evidence.append(
            f"{_plural(f.submitted_waiting, 'submitted deliverable')} waiting for our review, "
            f"the oldest for {waiting} days; review window {review.days} days"
        )
        count = max(1, f.submitted_waiting)
        first, last = f.oldest_submitted_at, f.newest_submitted_at or f.oldest_submitted_at
        when = (
            f"between {_on([first])} and {_on([last])}"
            if count > 2
            else f"on {_on([first, last][:count])}"
        )
        clears.append(f"accept or reject the {_plural(count, 'deliverable')} submitted {when}")
    if f.we_no_shows:
        severity = max(severity, 1 if f.we_no_shows == 1 else 2)
        evidence.append(f"we missed {_plural(f.we_no_shows, 'meeting')} in the last 30 days")
        clears.append("keep our next meetings (a missed one counts for 30 days)")
    if not severity:
        return None
    return Signal(
        "our_side_slipping", severity, "; ".join(evidence), our_fault=True, clears="; ".join(clears)
    )


def exit_criteria_met(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """Any exit criterion the owner wrote down at the start is now true (alone: cut losses)."""
    if not f.exit_criteria:
        return None
    values = metrics(f, at)
    tripped = []
    for criterion in f.exit_criteria:
        try:
            result = evaluate(criterion, values)
        except (KeyError, TypeError, ValueError):
            continue  # a malformed criterion never stops the sweep
        if result.tripped:
            tripped.append(f"“{result.label}”: " + ", ".join(c.text for c in result.conditions))
    if not tripped:
        return None
    return Signal(
        "exit_criteria_met",
        3,
        "exit criterion met: "
        + "; ".join(tripped)
        + " — a line the team wrote at the start: cut your losses now, no waiting for persistence",
        clears="terminate the engagement, or change the criterion if the team agrees it no longer holds",
    )


def vendor_needs_review(f: Facts, at: datetime, t: Thresholds = DEFAULTS) -> Signal | None:
    """The vendor's vetting evidence expired or its review is due: a reminder, no penalty."""
    if not f.vendor_needs_review:
        return None
    return Signal(
        "vendor_needs_review",
        1,
        "the vendor's vetting evidence or review is due",
        clears="renew the expired evidence or record the vendor's review",
    )


FAILING_LEVELS = ("warning", "cut_losses")
DECIDE_WINDOW_DAYS = SIGNAL_WINDOW_DAYS  # the signal shows this many days before decide-by
DECIDE_URGENT_DAYS = 7  # and is severe in the last week


def decide_before_renewal(f: Facts, at: datetime, level: str, found: list[Signal]) -> Signal | None:
    """An engagement that is failing (warning or worse, or an exit criterion met) under a
    contract that renews by itself within ``DECIDE_WINDOW_DAYS`` of its decide-by date: the
    moment to stop is bounded, and the signal says when and what waiting costs. It reads the
    verdict (``level``, the other signs), so the sweep asks it after ``assess``; weight 0: it
    never changes the level, it tells what the level means for the contract."""
    o = f.contract_outlook
    if o is None or not o.renews or o.days_left is None:
        return None
    if not 0 <= o.days_left <= DECIDE_WINDOW_DAYS:
        return None
    if level not in FAILING_LEVELS and not any(s.kind == "exit_criteria_met" for s in found):
        return None
    left = "today" if o.days_left == 0 else f"in {_plural(o.days_left, 'day')}"
    return Signal(
        "decide_before_renewal",
        3 if o.days_left <= DECIDE_URGENT_DAYS else 2,
        f"“{f.contract_title}”: {o.sentence} (the decide-by date is {left})",
        clears="give notice, or renew saying why, on the contract page before the decide-by date",
    )


RULES: list[Callable[[Facts, datetime, Thresholds], Signal | None]] = [
    exit_criteria_met,
    burn_without_delivery,
    missed_contact,
    no_results,
    stalled_deliverable,
    uncomfortable_collaboration,
    our_side_slipping,
    blurry_lines,
    vendor_needs_review,
]


def signals(f: Facts, at: datetime, thresholds: Thresholds = DEFAULTS) -> list[Signal]:
    """Every active signal of one engagement, strongest first."""
    found = [s for rule in RULES if (s := rule(f, at, thresholds))]
    return sorted(found, key=lambda s: -WEIGHTS[s.kind] * s.severity)


def assess(
    found: list[Signal],
    since: Mapping[str, datetime],
    at: datetime,
    *,
    persist_days: int | None = None,
) -> tuple[int, str]:
    """(score, level) from the signals and since when each kind has been clear (``since``:
    the first sweep that saw it at severity ≥ 2; a kind missing from it is new)."""
    persist = timedelta(days=CUT_LOSSES_PERSIST_DAYS if persist_days is None else persist_days)
    score = max(0, 100 - sum(WEIGHTS[s.kind] * s.severity for s in found))
    persisting = {
        s.kind
        for s in found
        if WEIGHTS[s.kind]
        and not s.our_fault
        and s.severity >= 2
        and at - since.get(s.kind, at) >= persist
    }
    kinds: dict[str, Signal] = {}
    for s in found:  # the strongest signal of each kind counts
        if s.kind not in kinds or s.severity > kinds[s.kind].severity:
            kinds[s.kind] = s
    burn = kinds.get("burn_without_delivery")
    # Two clear signs that persisted: cut your losses if the score already says warning, or
    # once they have persisted twice as long; until then they mean warning at least. So a
    # manager is warned before being told to cut, unless the team's own exit line trips.
    long_persisting = {k for k in persisting if at - since[k] >= 2 * persist}
    if (
        "exit_criteria_met" in kinds  # the team's own line: at once
        or (burn and burn.severity >= 3 and burn.kind in persisting)
        or (len(persisting) >= 2 and (score < WATCH_MIN or len(long_persisting) >= 2))
    ):
        return min(score, CUT_LOSSES_CAP), "cut_losses"
    if len(persisting) >= 2:
        return min(score, WATCH_MIN - 1), "warning"
    if score >= HEALTHY_MIN:
        return score, "healthy"
    return score, "watch" if score >= WATCH_MIN else "warning"
