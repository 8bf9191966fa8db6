"""The next moment an engagement's verdict could change with no write at all: ``next_check_at``.

Every rule in ``rules.py`` reads the facts "as of ``at``"; with the facts fixed, its answer
(severity, evidence, what clears it) moves only at a few moments, and this module lists them:

- a wait crossing its threshold: held contact (cadence + grace), acceptance (stall days), a
  vendor question (response window), a submission (review window), a message of ours
  (response window); while a sign shows, each whole day of the wait (its evidence counts days);
- a row leaving a window: a no-show or an unanswered message after 30 days, a scope change
  after the scope-change window;
- the calendar: the next due date of a deliverable or milestone passing (burn, lateness), and
  each midnight while something is late (its evidence counts days late), the vendor's review
  date or the expiry of its evidence;
- rows dated a little ahead of ``at`` (clock slack) starting to count;
- the level's own clocks: a clear sign persisting (once and twice
  ``HEALTH_CUT_LOSSES_PERSIST_DAYS``), a lower level holding ``HEALTH_DEESCALATION_HOLD_HOURS``;
- exit criteria: their metrics count whole days, so each day of those waits;
- code activity: work a rule ties to activity crossing its silence threshold (and each day
  of it while a stall shows), a trace leaving the recent window (the busy counts drop), the
  last trace leaving the lookback, and each day of the silence while no results show.
- the contract's decide-by date, at midnight in the organization's time zone: 30, 7 and 1
  days before it (reminders, the "decide before renewal" window and its last week), the day
  after (the decision moves to the next term), and each midnight while the signal shows (it
  counts the days left).

What follows from the verdict (snoozes ending, reminders) is the alerts' to add (``hooks``).
When unsure, a moment too early costs one evaluation; one too late is a missed alert, which
the reconciliation pass counts. Pure functions, like the rules.
"""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from engagements.watch.facts import ACTIVITY_LOOKBACK_DAYS, RECENT_DAYS, Facts
from engagements.watch.rules import DECIDE_URGENT_DAYS, DECIDE_WINDOW_DAYS, DEFAULTS, Thresholds
from vendors.terms import REMINDER_DAYS, start_of

DAY = timedelta(days=1)
TICK = timedelta(microseconds=1)  # "more than the window": true just after it


def _tick(anchor: datetime, at: datetime) -> datetime:
    """The next moment after ``at`` when ``(at - anchor).days`` changes."""
    return anchor + ((at - anchor).days + 1) * DAY


def _days_over(anchor: datetime, days: int, at: datetime, showing: bool) -> datetime:
    """A wait from ``anchor`` counted in whole days, a sign once it exceeds ``days - 1``: the
    crossing, and after it (or while the sign shows for another reason) every day of it."""
    crossing = anchor + days * DAY
    return _tick(anchor, at) if showing or crossing <= at else crossing


def _midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.UTC)


def next_check(
    f: Facts,
    at: datetime,
    signals: list[dict],
    *,
    lower_since: datetime | None,
    hold: timedelta,
    persist: timedelta,
    thresholds: Thresholds = DEFAULTS,
) -> datetime | None:
    """The earliest moment after ``at`` at which ``f``'s verdict could differ; None: never.

    ``signals`` are the verdict's signals (``kind``, ``severity``, ``since``, ``clear_since``)."""
    kinds = {s["kind"] for s in signals}
    s = f.settings
    window = timedelta(hours=s["response_window_hours"])
    review = timedelta(days=s["review_window_days"])
    recent = timedelta(days=RECENT_DAYS)
    tomorrow = _midnight(at.date() + DAY)
    moments: list[datetime] = []
    add = moments.append

    # missed contact
    contact = f.last_two_way_at or f.baseline
    add(_days_over(contact, s["contact_cadence_days"] + s["contact_grace_days"] + 1, at, False))
    if "missed_contact" in kinds or f.exit_criteria:
        add(_tick(contact, at))
    for oldest in (f.oldest_vendor_no_show, f.oldest_we_no_show):
        if oldest:
            add(oldest + recent + TICK)
    if f.oldest_unanswered_ours:
        add(f.oldest_unanswered_ours + window + TICK)
        add(f.oldest_unanswered_ours + recent + TICK)
        add(_tick(f.oldest_unanswered_ours, at))
    # no results, stalled work, burn (due value), exit criteria's day counts
    accepted = f.last_accepted_at or f.baseline
    add(_days_over(accepted, s["stall_days"] + 1, at, bool(f.exit_criteria)))
    if f.next_due:
        add(_midnight(f.next_due + DAY))
    if f.oldest_late_milestone_due or f.oldest_in_progress_due:
        add(tomorrow)
    # our side: questions and submissions waiting, our no-shows (above)
    asked = sorted(f.vendor_questions_asked)
    for moment in asked:
        add(moment + window + TICK)
    if asked:
        add(_tick(asked[0], at))
        add(_tick(asked[0] + window, at))
    if f.oldest_submitted_at:
        add(f.oldest_submitted_at + review + TICK)
        add(_tick(f.oldest_submitted_at, at))
        add(_tick(f.oldest_submitted_at + review, at))
    # blurry lines: scope changes leaving their window
    scope = timedelta(days=s["scope_change_window_days"])
    for changed in f.scope_changes:
        add(changed + scope + TICK)
    # code activity: silent work (the stall rule), the busy/silent counts (no results)
    for since, *_ in f.tracked_work:
        add(
            _days_over(
                since, thresholds.activity_silent_days + 1, at, "stalled_deliverable" in kinds
            )
        )
    if f.oldest_recent_activity:
        add(f.oldest_recent_activity + recent + TICK)
    if f.last_activity_at:
        add(f.last_activity_at + timedelta(days=ACTIVITY_LOOKBACK_DAYS) + TICK)
        if "no_results" in kinds:
            add(_tick(f.last_activity_at, at))
    # the vendor's review, rows dated ahead
    if f.vendor_next_review:
        add(_midnight(f.vendor_next_review))
    if f.future_at:
        add(f.future_at)
    # the contract, on the organization's days: the decide-by window opening, each reminder day
    # (the alerts send them when the engagement is evaluated), the day after the decide-by date
    # (a renewing contract's decision moves to the next term)
    if f.contract_outlook is not None and (decide_by := f.contract_outlook.decide_by):
        for days_before in {*REMINDER_DAYS, DECIDE_WINDOW_DAYS, DECIDE_URGENT_DAYS, -1}:
            add(start_of(decide_by - timedelta(days=days_before), f.tz))
        if "decide_before_renewal" in kinds:  # its words count the days left
            add(start_of(f.contract_outlook.on + DAY, f.tz))
    # the level's clocks: persistence of clear signs, the de-escalation hold
    for signal in signals:
        if clear := signal.get("clear_since"):
            since = datetime.fromisoformat(clear)
            add(since + persist)
            add(since + 2 * persist)
    if lower_since is not None:
        add(lower_since + hold)
    return earliest_after(at, moments)


def earliest_after(at: datetime, moments) -> datetime | None:
    later = [m for m in moments if m is not None and m > at]
    return min(later) if later else None
