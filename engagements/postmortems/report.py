"""The watcher report: how the watcher would have judged the organization's own ended
engagements, against how each one really ended (its post-mortem's outcome), now and "what if".

Each ended engagement with a post-mortem is replayed from its stored facts by
``engagements.watch.backtest`` with today's thresholds and, when asked, with other ones: when
the watcher would first have warned and first said cut your losses, how many days before the
end, which signs came first, and what was spent after the first warning (the cost of holding
on). Over the organization: the share of failed engagements warned at least ``LEAD_DAYS``
ahead, delivered ones it alarmed about, the median lead time. A fixed number of queries
however many engagements ended; nothing is written.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from statistics import median_low

from engagements.delivery.models import ENDED_STATUSES, Engagement
from engagements.postmortems.models import PostMortemOutcome
from engagements.watch import rules
from engagements.watch.backtest import Scenario, Verdict, backtest, load
from engagements.watch.models import Level, level_rank

LEAD_DAYS = 14  # a failure is caught when the warning came at least this long before the end
FAILED = (PostMortemOutcome.CUT_LOSSES, PostMortemOutcome.PARTLY)
DELIVERED = (PostMortemOutcome.DELIVERED,)
NOW = Scenario("now")


@dataclass
class Judgement:
    """One engagement under one set of thresholds, in the report's words."""

    peak: str
    watch_on: date | None
    warned_on: date | None
    warned_days: int | None  # days before the end
    cut_on: date | None
    cut_days: int | None
    first_signs: list[str]
    spent_after_warning: Decimal | None

    @classmethod
    def of(cls, verdict: Verdict, ended: date) -> "Judgement":
        first = {name: moment.date() for name, moment in verdict.first.items()}
        warned, cut = first.get(Level.WARNING), first.get(Level.CUT_LOSSES)
        return cls(
            peak=verdict.peak,
            watch_on=first.get(Level.WATCH),
            warned_on=warned,
            warned_days=(ended - warned).days if warned else None,
            cut_on=cut,
            cut_days=(ended - cut).days if cut else None,
            first_signs=[rules.LABELS[k] for k in verdict.first_signs[:3]],
            spent_after_warning=verdict.spent_after.get(Level.WARNING),
        )

    @property
    def alarmed(self) -> bool:
        """Warned or worse: an alert someone had to act on (watch is a note to look)."""
        return level_rank(self.peak) >= level_rank(Level.WARNING)


@dataclass
class Row:
    engagement_id: int
    postmortem_id: int
    title: str
    vendor: str
    outcome: str
    outcome_label: str
    ended_on: date
    currency: str
    spent: Decimal
    now: Judgement
    whatif: Judgement | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in FAILED

    @property
    def delivered(self) -> bool:
        return self.outcome in DELIVERED

    @property
    def changed(self) -> bool:
        return self.whatif is not None and (
            (self.whatif.warned_on, self.whatif.cut_on) != (self.now.warned_on, self.now.cut_on)
        )


@dataclass
class Summary:
    """The organization's figures under one set of thresholds."""

    failed: int = 0
    warned_ahead: int = 0  # failed ones warned ≥ LEAD_DAYS before the end
    missed: int = 0  # failed ones not warned in time (late or never)
    delivered: int = 0
    false_alarms: int = 0  # delivered ones warned (or told to cut)
    touched_watch: int = 0  # delivered ones that reached watch only
    median_warning_days: int | None = None
    median_cut_days: int | None = None
    held_on: dict[str, Decimal] = field(default_factory=dict)  # currency → spent after warnings

    @property
    def warned_ahead_pct(self) -> int | None:
        return round(100 * self.warned_ahead / self.failed) if self.failed else None


def summarize(rows: list[Row], pick) -> Summary:
    """The figures over ``rows`` of the judgements ``pick(row)`` chooses (now or what if)."""
    s = Summary()
    warning_days, cut_days = [], []
    held: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        j = pick(row)
        if row.failed:
            s.failed += 1
            if j.warned_days is not None:
                warning_days.append(j.warned_days)
                s.warned_ahead += j.warned_days >= LEAD_DAYS
                held[row.currency] += j.spent_after_warning or 0
            s.missed += j.warned_days is None or j.warned_days < LEAD_DAYS
            if j.cut_days is not None:
                cut_days.append(j.cut_days)
        elif row.delivered:
            s.delivered += 1
            s.false_alarms += j.alarmed
            s.touched_watch += j.peak == Level.WATCH
    s.median_warning_days = median_low(warning_days) if warning_days else None
    s.median_cut_days = median_low(cut_days) if cut_days else None
    s.held_on = dict(sorted(held.items()))
    return s


def watcher_report(*, org, whatif: Scenario | None = None) -> dict:
    """Every ended engagement of ``org`` with a post-mortem, judged now (and under ``whatif``),
    newest end first, with the organization's figures."""
    ended = Engagement.objects.filter(
        org=org, status__in=ENDED_STATUSES, ended_at__isnull=False, postmortem__isnull=False
    )
    stories = load(ended)
    scenarios = [NOW, *([whatif] if whatif else [])]
    verdicts = backtest(stories, scenarios, until_cut=True)  # the report needs no more
    rows = []
    for e in ended.order_by("-ended_at", "-pk").values(
        "pk", "title", "vendor__name", "currency", "ended_at",
        "postmortem__pk", "postmortem__outcome",
    ):  # fmt: skip
        end = e["ended_at"].date()
        verdict = verdicts[NOW.name][e["pk"]]
        rows.append(
            Row(
                engagement_id=e["pk"],
                postmortem_id=e["postmortem__pk"],
                title=e["title"],
                vendor=e["vendor__name"],
                outcome=e["postmortem__outcome"],
                outcome_label=PostMortemOutcome(e["postmortem__outcome"]).label,
                ended_on=end,
                currency=e["currency"],
                spent=verdict.spent,
                now=Judgement.of(verdict, end),
                whatif=Judgement.of(verdicts[whatif.name][e["pk"]], end) if whatif else None,
            )
        )
    return {
        "rows": rows,
        "now": summarize(rows, lambda r: r.now),
        "whatif": summarize(rows, lambda r: r.whatif) if whatif else None,
        "lead_days": LEAD_DAYS,
    }
