"""What a contract's terms mean on a given day: the term that runs, its decide-by date, the
earliest exit and what is still owed until then. Plain functions of the terms and a day, no
database (the services, the watcher's facts and the pages all call these).

Days are the organization's local days: the caller turns a moment into one
(``local_day(at, tz)``), so a decide-by date passes at midnight where the organization is,
not in UTC.

Vocabulary:

- a **term end** is the contract's ``end_date``, then every ``renewal_months`` after it for as
  long as it renews (automatically, or by a "renew" decision);
- the **decide-by date** of a term end is that end minus the notice period: the last day on
  which notice still stops the contract at that end;
- the **current term end** on a day is the first term end whose decide-by date has not passed
  and that nobody decided to renew: the decision still open;
- the **earliest exit** on a day is when the contract would stop if notice were given that day:
  the day plus the notice period with termination for convenience, else the current term end.
"""

import calendar
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

DAYS, MONTHS = "days", "months"
RENEW, GIVE_NOTICE = "renew", "give_notice"
NO_SCHEDULE, INSTALMENTS, MILESTONES = "", "instalments", "milestones"
REMINDER_DAYS = (30, 7, 1)  # reminders this many days before a decide-by date
SIGNAL_WINDOW_DAYS = 30  # the watcher's "decide before renewal" within this many days
MAX_TERMS = 1200  # a hundred years of monthly renewals: the walk always stops

ZERO = Decimal("0")


def add_months(day: datetime.date, months: int) -> datetime.date:
    """``day`` moved by ``months`` (negative: back), clamped to the month's last day:
    31 January + 1 month is 28 (or 29) February, 31 March - 1 month is 28 February."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def local_day(at: datetime.datetime, tz: ZoneInfo | datetime.tzinfo | None) -> datetime.date:
    """The organization's day at the moment ``at``."""
    return at.astimezone(tz).date() if tz else at.date()


def start_of(day: datetime.date, tz: ZoneInfo | datetime.tzinfo | None) -> datetime.datetime:
    """The first moment of the organization's ``day`` (an aware datetime)."""
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz or datetime.UTC)


@dataclass(frozen=True)
class Decision:
    kind: str  # RENEW or GIVE_NOTICE
    term_end: datetime.date  # the term end it decided about
    on: datetime.date  # the organization's day it was taken
    exit_on: datetime.date | None = None  # give notice: when the contract stops


@dataclass(frozen=True)
class Terms:
    """A contract's terms as plain values (``Contract.terms()`` builds one)."""

    start: datetime.date | None = None
    end: datetime.date | None = None
    auto_renews: bool = False
    renewal_months: int | None = None
    notice_period: int | None = None
    notice_unit: str = DAYS
    termination_for_convenience: bool = False
    termination_fee: Decimal | None = None
    schedule: str = NO_SCHEDULE
    instalment_amount: Decimal | None = None
    instalment_months: int | None = None
    value: Decimal | None = None
    currency: str = "EUR"
    decisions: tuple[Decision, ...] = ()

    # --- the calendar of the terms ----------------------------------------------------------

    def notice_before(self, day: datetime.date) -> datetime.date:
        """The day notice must be given by for the contract to stop at ``day``."""
        n = self.notice_period or 0
        return add_months(day, -n) if self.notice_unit == MONTHS else day - datetime.timedelta(n)

    def notice_after(self, day: datetime.date) -> datetime.date:
        """When notice given on ``day`` takes effect."""
        n = self.notice_period or 0
        return add_months(day, n) if self.notice_unit == MONTHS else day + datetime.timedelta(n)

    def decide_by_of(self, term_end: datetime.date) -> datetime.date:
        return self.notice_before(term_end)

    @property
    def notice(self) -> Decision | None:
        return next((d for d in self.decisions if d.kind == GIVE_NOTICE), None)

    def _renewed(self, term_end: datetime.date) -> bool:
        return any(d.kind == RENEW and d.term_end == term_end for d in self.decisions)

    def term_ends(self):
        """The first term's end, then each renewal's, counted from the first end (a 31 January
        end renewing monthly ends on 28 February, then 31 March: no drift to the 28th)."""
        if self.end is None:
            return
        yield self.end
        if not self.renewal_months:
            return
        for k in range(1, MAX_TERMS):
            yield add_months(self.end, k * self.renewal_months)

    def current_term_end(self, on: datetime.date) -> datetime.date | None:
        """The term end whose decision is open on ``on``; None when there is none: no end
        date, notice given, or a fixed term whose decide-by date has passed."""
        if self.notice is not None:
            return None
        for term_end in self.term_ends():
            if not self._renewed(term_end) and on <= self.decide_by_of(term_end):
                return term_end
            if not (self.auto_renews or self._renewed(term_end)):
                return None  # a fixed term past its decide-by date: it ends, nothing to decide
        return None

    def decide_by(self, on: datetime.date) -> datetime.date | None:
        """The decide-by date open on ``on`` (None: nothing to decide)."""
        term_end = self.current_term_end(on)
        return self.decide_by_of(term_end) if term_end else None

    def ends_on(self, on: datetime.date) -> datetime.date | None:
        """When the contract stops if nobody does anything more, as seen on ``on``: the
        notice's exit, a fixed term's end, or None for a contract that keeps renewing (or
        has no end date)."""
        if (notice := self.notice) is not None:
            return notice.exit_on
        last = None
        for term_end in self.term_ends():
            last = term_end
            if self._renewed(term_end):
                continue
            if not self.auto_renews:
                return term_end
            if on <= self.decide_by_of(term_end):
                return None  # renews unless someone gives notice: no end yet
        return last

    def earliest_exit(self, on: datetime.date) -> datetime.date | None:
        """When the contract would stop if notice were given on ``on`` (the recorded exit
        once notice was given); None without an end date and without termination for
        convenience (nothing says when it could stop)."""
        if (notice := self.notice) is not None:
            return notice.exit_on
        term_end = self.current_term_end(on)
        if self.termination_for_convenience:
            by_notice = self.notice_after(on)
            fixed_end = self.ends_on(on)
            return min(by_notice, fixed_end) if fixed_end else by_notice
        if term_end is not None:
            return term_end
        return self.ends_on(on)

    def renews_on(self, on: datetime.date) -> datetime.date | None:
        """The day the contract renews if nobody decides (auto-renewal only)."""
        term_end = self.current_term_end(on)
        return term_end if term_end and self.auto_renews else None

    def missed_decide_by(self, since: datetime.date, until: datetime.date) -> datetime.date | None:
        """The first decide-by date between ``since`` and ``until`` (exclusive) that passed with
        nobody deciding, so the contract renewed by itself; None: every one was met."""
        notice = self.notice
        for term_end in self.term_ends():
            decide_by = self.decide_by_of(term_end)
            if decide_by >= until:
                return None
            if notice is not None and notice.on <= decide_by:
                return None  # notice came in time: nothing renewed after it
            if decide_by < since or self._renewed(term_end):
                continue
            if self.auto_renews:
                return decide_by
            return None  # a fixed term ends by itself: no deadline to miss
        return None

    # --- money --------------------------------------------------------------------------------

    def instalment_dates(self, until: datetime.date) -> list[datetime.date]:
        """Instalment days from the start, every ``instalment_months``, before ``until``."""
        if self.schedule != INSTALMENTS or not (self.start and self.instalment_months):
            return []
        days, k = [], 0
        while k < MAX_TERMS * 12:
            day = add_months(self.start, k * self.instalment_months)
            if day >= until:
                break
            days.append(day)
            k += 1
        return days

    def renewal_amount(self) -> Decimal | None:
        """What one renewal term costs: its instalments, else the value prorated from the
        first term's length in months; None when the terms do not say."""
        if not self.renewal_months:
            return None
        if self.schedule == INSTALMENTS and self.instalment_amount and self.instalment_months:
            count = -(-self.renewal_months // self.instalment_months)  # ceiling
            return self.instalment_amount * count
        months = term_months(self.start, self.end)
        if self.value and months:
            return (self.value * self.renewal_months / months).quantize(Decimal("1"))
        return None


@dataclass(frozen=True)
class Outlook:
    """A contract as seen on one day: the decision open, and what happens if nobody decides."""

    on: datetime.date
    decide_by: datetime.date | None
    term_end: datetime.date | None
    renews: bool  # without a decision it renews at ``term_end``
    renewal_months: int | None
    renewal_amount: Decimal | None
    currency: str
    ends_on: datetime.date | None
    earliest_exit: datetime.date | None
    notice: Decision | None

    @property
    def days_left(self) -> int | None:
        return (self.decide_by - self.on).days if self.decide_by else None

    @property
    def consequence(self) -> str:
        """What happens if nobody decides, in the watcher's words: "renews on 1 Feb 2027 for
        12 months, 48,000 EUR"."""
        if self.term_end is None:
            return ""
        if not self.renews:
            return f"ends on {short_day(self.term_end)} unless renewed"
        months = self.renewal_months or 0
        text = (
            f"renews on {short_day(self.term_end)} for {months} month{'' if months == 1 else 's'}"
        )
        if self.renewal_amount:
            text += f", {money_words(self.renewal_amount, self.currency)}"
        return text

    @property
    def sentence(self) -> str:
        """The decide-by line of every page, reminder and calendar entry."""
        if self.notice is not None:
            return (
                f"notice given on {short_day(self.notice.on)}; "
                f"the contract ends on {short_day(self.notice.exit_on)}"
            )
        if self.decide_by is None:
            return ""
        return f"decide by {short_day(self.decide_by)}: without notice it {self.consequence}"


def outlook(terms: Terms, on: datetime.date) -> Outlook:
    term_end = terms.current_term_end(on)
    return Outlook(
        on=on,
        decide_by=terms.decide_by_of(term_end) if term_end else None,
        term_end=term_end,
        renews=bool(term_end and terms.auto_renews),
        renewal_months=terms.renewal_months,
        renewal_amount=terms.renewal_amount(),
        currency=terms.currency,
        ends_on=terms.ends_on(on),
        earliest_exit=terms.earliest_exit(on),
        notice=terms.notice,
    )


def money_words(amount: Decimal, currency: str) -> str:
    """'48,000 EUR' (whole units: stored in a signal's words, so no locale)."""
    return f"{amount:,.0f} {currency}"


def term_months(start: datetime.date | None, end: datetime.date | None) -> int | None:
    """Whole calendar months from ``start`` to ``end`` (None without both)."""
    if not (start and end):
        return None
    return (end.year - start.year) * 12 + end.month - start.month


@dataclass(frozen=True)
class Payment:
    on: datetime.date
    amount: Decimal
    label: str


@dataclass
class ExitCost:
    """What stopping costs when notice is given on ``on``."""

    on: datetime.date
    exit_on: datetime.date | None
    how: str  # in words: how the contract ends there
    currency: str
    payments: list[Payment] = field(default_factory=list)  # still owed before the exit
    notice_payments: Decimal = ZERO  # the part of them due within the notice period
    notice_from: datetime.date | None = None  # the notice period runs from here to the exit
    termination_fee: Decimal = ZERO
    notice_given: bool = False

    @property
    def payments_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), ZERO)

    @property
    def still_owed(self) -> Decimal:
        return self.payments_total + self.termination_fee


def exit_cost(
    terms: Terms,
    on: datetime.date,
    *,
    milestones: list[tuple[datetime.date, Decimal, str]] = (),
) -> ExitCost:
    """What is still owed if notice is given on ``on`` (or was given): the instalments (or
    the unpaid milestone payments: ``(due, unpaid, title)``) falling due from ``on`` until the
    exit, and the termination fee when the exit comes before the term's own end."""
    exit_on = terms.earliest_exit(on)
    notice = terms.notice
    cost = ExitCost(
        on=on,
        exit_on=exit_on,
        how=_how(terms, on, exit_on),
        currency=terms.currency,
        notice_given=notice is not None,
    )
    if exit_on is None:
        return cost
    notice_from = max(terms.notice_before(exit_on), on)
    cost.notice_from = notice_from
    if terms.schedule == INSTALMENTS and terms.instalment_amount:
        for day in terms.instalment_dates(exit_on):
            if day >= on:
                cost.payments.append(Payment(day, terms.instalment_amount, "instalment"))
    elif terms.schedule == MILESTONES:
        for due, unpaid, title in sorted(milestones):
            if due < exit_on and unpaid > 0:
                cost.payments.append(Payment(due, unpaid, title))
    cost.notice_payments = sum((p.amount for p in cost.payments if p.on >= notice_from), ZERO)
    term_end = (
        notice.term_end if notice is not None else terms.current_term_end(on) or terms.ends_on(on)
    )
    early = term_end is not None and exit_on < term_end
    if terms.termination_for_convenience and terms.termination_fee and early:
        cost.termination_fee = terms.termination_fee
    return cost


def _how(terms: Terms, on: datetime.date, exit_on: datetime.date | None) -> str:
    if exit_on is None:
        return "the terms name no end and no termination for convenience"
    if (notice := terms.notice) is not None:
        return f"notice was given on {short_day(notice.on)}"
    if terms.termination_for_convenience and exit_on == terms.notice_after(on):
        words = notice_words(terms)  # "30 days' notice", "1 month's notice"
        possessive = "'" if words.endswith("s") else "'s"
        return f"termination for convenience, {words}{possessive} notice"
    return "the end of the term: no termination for convenience"


def notice_words(terms: Terms) -> str:
    n = terms.notice_period or 0
    unit = "month" if terms.notice_unit == MONTHS else "day"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def short_day(day: datetime.date) -> str:
    """'1 Feb 2027': the watcher's way of naming a day (no locale: it is stored in signals)."""
    return f"{day.day} {day:%b %Y}"


def cost_of_waiting(
    terms: Terms,
    on: datetime.date,
    *,
    months: int = 1,
    milestones: list[tuple[datetime.date, Decimal, str]] = (),
) -> Decimal | None:
    """How much more stopping costs if the notice is given ``months`` later: what falls due
    meanwhile plus what is still owed then, less what is still owed today. None once notice
    was given (waiting changes nothing) or when the terms name no exit."""
    if terms.notice is not None:
        return None
    now = exit_cost(terms, on, milestones=milestones)
    later_day = add_months(on, months)
    later = exit_cost(terms, later_day, milestones=milestones)
    if now.exit_on is None or later.exit_on is None:
        return None
    meanwhile = ZERO
    if terms.schedule == INSTALMENTS and terms.instalment_amount:
        meanwhile = terms.instalment_amount * sum(
            1 for d in terms.instalment_dates(later_day) if d >= on
        )
    # Milestone payments: what is unpaid now is owed later too (``exit_cost`` counts every
    # unpaid payment due before the exit), so nothing is added for the month itself.
    return max(ZERO, meanwhile + later.still_owed - now.still_owed)


def check_terms(terms: Terms) -> dict[str, str]:
    """What is wrong with the terms, per field, in words for the person typing them."""
    errors: dict[str, str] = {}
    if terms.start and terms.end and terms.end < terms.start:
        errors["end_date"] = "The contract cannot end before it starts."
    if terms.auto_renews and not terms.renewal_months:
        errors["renewal_months"] = "An auto-renewing contract needs a renewal term (in months)."
    if terms.auto_renews and not terms.end:
        errors["end_date"] = "An auto-renewing contract needs an end date for its first term."
    too_long = "The notice period ({}) is longer than the {}."
    if (
        terms.notice_period
        and terms.start
        and terms.end
        and "end_date" not in errors
        and terms.notice_before(terms.end) < terms.start
    ):
        errors["notice_period"] = too_long.format(
            notice_words(terms), f"term ({short_day(terms.start)} to {short_day(terms.end)})"
        )
    if (
        terms.notice_period
        and terms.renewal_months
        and terms.end
        and "notice_period" not in errors
        and terms.notice_before(add_months(terms.end, terms.renewal_months)) < terms.end
    ):
        months = f"{terms.renewal_months} month{'' if terms.renewal_months == 1 else 's'}"
        errors["notice_period"] = too_long.format(notice_words(terms), f"renewal term ({months})")
    if terms.termination_fee and not terms.termination_for_convenience:
        errors["termination_fee"] = "A termination fee needs termination for convenience."
    if terms.schedule == INSTALMENTS:
        if not terms.instalment_amount:
            errors["instalment_amount"] = "Fixed instalments need an amount."
        if not terms.instalment_months:
            errors["instalment_months"] = "Say every how many months an instalment falls due."
        if not terms.start:
            errors.setdefault("start_date", "Fixed instalments start on the start date: set it.")
    return errors
