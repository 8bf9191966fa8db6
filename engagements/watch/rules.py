"""The warning-sign rules and how they combine into a health score and a level.

Each rule is a plain function ``rule(facts, at) -> Signal | None`` over the ``Facts`` of one
engagement (``engagements.watch.facts``) and a moment ``at`` -- no database, no hidden ``now()``
-- with its thresholds from the engagement's watch settings. A signal carries a severity
(1 mild, 2 clear, 3 severe) and evidence a person can read.

Weighting (``WEIGHTS``): score = 100 - sum(weight * severity), floored at 0.
Level: healthy > 90 ≥ watch ≥ 65 > warning. **cut_losses** when an exit criterion is met,
when burn without delivery is severe, or when ≥ 2 distinct warning signs of severity ≥ 2
have persisted ≥ ``CUT_LOSSES_PERSIST_DAYS`` (score then capped at 30).
``vendor_needs_review`` is a reminder: weight 0, never raises the level.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from engagements.delivery.exit_criteria import evaluate
from engagements.watch.facts import Facts, metrics

HEALTHY_MIN, WATCH_MIN, CUT_LOSSES_CAP = 91, 65, 30
CUT_LOSSES_PERSIST_DAYS = 7

WEIGHTS = {
    "exit_criteria_met": 25,
    "burn_without_delivery": 12,
    "missed_contact": 10,
    "no_results": 10,
    "uncomfortable_collaboration": 8,
    "stalled_deliverable": 7,
    "our_side_slipping": 6,
    "blurry_lines": 5,
    "vendor_needs_review": 0,
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
}


@dataclass(frozen=True)
class Signal:
    kind: str
    severity: int  # 1 mild, 2 clear, 3 severe
    evidence: str
    our_fault: bool = False

    def as_dict(self) -> dict:
        # By hand, not dataclasses.asdict: the sweep calls this for every signal it finds.
        return {
            "kind": self.kind,
            "severity": self.severity,
            "evidence": self.evidence,
            "our_fault": self.our_fault,
            "label": LABELS[self.kind],
        }


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def missed_contact(f: Facts, at: datetime) -> Signal | None:
    """No held two-way contact within cadence + grace; vendor no-shows; our messages unanswered."""
    s = f.settings
    cadence, grace = s["contact_cadence_days"], s["contact_grace_days"]
    severity, evidence = 0, []
    since = f.last_two_way_at or f.baseline
    days = (at - since).days
    if days > cadence + grace:
        over = days - cadence - grace
        severity = 1 if over <= cadence else 2 if over <= 2 * cadence else 3
        what = "last held contact" if f.last_two_way_at else "no held contact since the start,"
        evidence.append(f"{what} {days} days ago; cadence {cadence} + grace {grace}")
    if f.vendor_no_shows:
        severity = max(severity, 1 if f.vendor_no_shows == 1 else 2)
        evidence.append(f"{_plural(f.vendor_no_shows, 'vendor no-show')} in the last 30 days")
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
        severity = max(severity, 1 if f.unanswered_ours < 3 else 2)
        evidence.append(
            f"{_plural(f.unanswered_ours, 'message')} of ours unanswered, the oldest for "
            f"{(at - f.oldest_unanswered_ours).days} days; response window {s['response_window_hours']} h"
        )
    return Signal("missed_contact", severity, "; ".join(evidence)) if severity else None


def no_results(f: Facts, at: datetime) -> Signal | None:
    """Nothing accepted within the stall threshold; milestones past due with work not accepted."""
    stall = f.settings["stall_days"]
    severity, evidence = 0, []
    days = (at - (f.last_accepted_at or f.baseline)).days
    if days > stall:
        severity = 1 if days <= 2 * stall else 2 if days <= 3 * stall else 3
        what = "nothing accepted for" if f.last_accepted_at else "nothing accepted since the start,"
        evidence.append(f"{what} {days} days; stall threshold {stall} days")
    if f.oldest_late_milestone_due:
        late = (at.date() - f.oldest_late_milestone_due).days
        severity = max(severity, 1 if late <= 7 else 2 if late <= 21 else 3)
        evidence.append(
            f"{_plural(f.late_milestones, 'milestone')} past due with work not accepted; "
            f"the oldest {late} days late"
        )
    return Signal("no_results", severity, "; ".join(evidence)) if severity else None


def stalled_deliverable(f: Facts, at: datetime) -> Signal | None:
    """Submitted work we have not reviewed (our fault), work in progress past due, repeated rejection."""
    review = f.settings["review_window_days"]
    severity, evidence, ours, theirs = 0, [], False, False
    if f.oldest_submitted_at:
        waiting = (at - f.oldest_submitted_at).days
        if waiting > review:
            ours = True
            severity = 1 if waiting <= 2 * review else 2
            evidence.append(
                f"{_plural(f.submitted_waiting, 'submitted deliverable')} waiting for OUR review, "
                f"the oldest for {waiting} days; review window {review} days (on us)"
            )
    if f.oldest_in_progress_due:
        late = (at.date() - f.oldest_in_progress_due).days
        theirs = True
        severity = max(severity, 1 if late <= 14 else 2)
        evidence.append(
            f"{_plural(f.in_progress_overdue, 'deliverable')} in progress past due, "
            f"the oldest {late} days"
        )
    if f.rejected_twice_open:
        theirs = True
        severity = max(severity, 2 if f.rejected_twice_open == 1 else 3)
        evidence.append(
            f"{_plural(f.rejected_twice_open, 'deliverable')} rejected 2 or more times, not accepted yet"
        )
    if not severity:
        return None
    return Signal(
        "stalled_deliverable", severity, "; ".join(evidence), our_fault=ours and not theirs
    )


def uncomfortable_collaboration(f: Facts, at: datetime) -> Signal | None:
    """Mean of the last 5 comfort ratings ≤ 2.5, or a fall of ≥ 1 point against the 5 before."""
    if len(f.comfort_last) < 3:
        return None
    recent = sum(f.comfort_last) / len(f.comfort_last)
    before = sum(f.comfort_before) / len(f.comfort_before) if len(f.comfort_before) >= 3 else None
    severity = 0
    if recent <= 2.5:
        severity = 3 if recent <= 1.5 else 2
    if before is not None and before - recent >= 1:
        severity = max(severity, 1 if before - recent < 2 else 2)
    if not severity:
        return None
    was = f" (was {before:.1f} before)" if before is not None else ""
    return Signal(
        "uncomfortable_collaboration",
        severity,
        f"average comfort of the last {len(f.comfort_last)} ratings {recent:.1f} of 5{was}",
    )


def blurry_lines(f: Facts, at: datetime) -> Signal | None:
    """Deliverables without acceptance criteria; scope changes piling up within the window."""
    s = f.settings
    severity, evidence = 0, []
    if f.without_criteria:
        severity = 1 if f.without_criteria < 3 else 2
        evidence.append(f"{_plural(f.without_criteria, 'deliverable')} without acceptance criteria")
    window = timedelta(days=s["scope_change_window_days"])
    recent = sum(1 for changed in f.scope_changes if at - changed <= window)
    if recent >= s["scope_change_limit"]:
        severity = max(severity, 2)
        evidence.append(
            f"{_plural(recent, 'scope change')} in {s['scope_change_window_days']} days; "
            f"limit {s['scope_change_limit']}"
        )
    return Signal("blurry_lines", severity, "; ".join(evidence)) if severity else None


def burn_without_delivery(f: Facts, at: datetime) -> Signal | None:
    """Spend ÷ budget well ahead of accepted value ÷ planned value (severe: cut losses)."""
    if not f.budget or f.spent <= 0:
        return None
    spent = float(f.spent / f.budget)
    accepted = float(f.accepted_value / f.planned_value) if f.planned_value else 0.0
    gap = spent - accepted
    if spent < 0.2 or gap < 0.25:
        return None
    severity = 3 if (spent >= 0.8 and accepted < 0.3) or gap >= 0.6 else 2 if gap >= 0.4 else 1
    return Signal(
        "burn_without_delivery",
        severity,
        f"{spent:.0%} of the budget spent, {accepted:.0%} of the planned value accepted",
    )


def our_side_slipping(f: Facts, at: datetime) -> Signal | None:
    """Vendor questions we left unanswered past the response window; meetings we missed."""
    window_hours = f.settings["response_window_hours"]
    overdue = [a for a in f.vendor_questions_asked if at - a > timedelta(hours=window_hours)]
    severity, evidence = 0, []
    if overdue:
        severity = 1 if len(overdue) < 3 else 2
        evidence.append(
            f"{_plural(len(overdue), 'vendor question')} unanswered by us, the oldest for "
            f"{(at - min(overdue)).days} days; response window {window_hours} h"
        )
    if f.we_no_shows:
        severity = max(severity, 1 if f.we_no_shows == 1 else 2)
        evidence.append(f"we missed {_plural(f.we_no_shows, 'meeting')} in the last 30 days")
    return (
        Signal("our_side_slipping", severity, "; ".join(evidence), our_fault=True)
        if severity
        else None
    )


def exit_criteria_met(f: Facts, at: datetime) -> Signal | None:
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
    return Signal("exit_criteria_met", 3, "exit criterion met: " + "; ".join(tripped))


def vendor_needs_review(f: Facts, at: datetime) -> Signal | None:
    """The vendor's vetting evidence expired or its review is due: a reminder, no penalty."""
    if not f.vendor_needs_review:
        return None
    return Signal("vendor_needs_review", 1, "the vendor's vetting evidence or review is due")


RULES: list[Callable[[Facts, datetime], Signal | None]] = [
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


def signals(f: Facts, at: datetime) -> list[Signal]:
    """Every active signal of one engagement, strongest first."""
    found = [s for rule in RULES if (s := rule(f, at))]
    return sorted(found, key=lambda s: -WEIGHTS[s.kind] * s.severity)


def assess(
    found: list[Signal],
    since: Mapping[str, datetime],
    at: datetime,
    *,
    persist_days: int | None = None,
) -> tuple[int, str]:
    """(score, level) from the signals and when each kind was first seen (``since``)."""
    persist = timedelta(days=CUT_LOSSES_PERSIST_DAYS if persist_days is None else persist_days)
    score = max(0, 100 - sum(WEIGHTS[s.kind] * s.severity for s in found))
    persisting = {
        s.kind
        for s in found
        if WEIGHTS[s.kind] and s.severity >= 2 and at - since.get(s.kind, at) >= persist
    }
    kinds: dict[str, Signal] = {}
    for s in found:  # the strongest signal of each kind counts
        if s.kind not in kinds or s.severity > kinds[s.kind].severity:
            kinds[s.kind] = s
    if (
        "exit_criteria_met" in kinds
        or ("burn_without_delivery" in kinds and kinds["burn_without_delivery"].severity >= 3)
        or len(persisting) >= 2
    ):
        return min(score, CUT_LOSSES_CAP), "cut_losses"
    if score >= HEALTHY_MIN:
        return score, "healthy"
    return score, "watch" if score >= WATCH_MIN else "warning"
