"""The geometry of an engagement's two pictures: the delivery timeline and the burn chart.

No chart library and no markup here: these functions turn an engagement's dates and amounts
into coordinates and labels, and ``engagement_detail.html`` draws them as SVG (auto-escaped,
like every other template). The CSP forbids inline styles, so colours are SVG presentation
attributes or classes styled in app.css.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from outsourcing.formats import day as day_label
from outsourcing.formats import format_number

WIDTH = 640  # drawn ~550 px wide beside the other chart: text stays ~11 px
LEFT = 140  # room for milestone titles
RIGHT = 16
LANE = 30


@dataclass(frozen=True)
class Layout:
    """The box a chart is drawn for. The SVG scales to its container (viewBox, width 100%),
    so its text shrinks by container width / ``width``: a phone gets a drawing of its own,
    narrow, with the titles above the lanes, so 13 units of text stay ~12 px on a 390 px
    screen instead of 5 (the page shows one of the two by a media query)."""

    key: str  # the SVG's id prefix and class
    width: int = WIDTH
    left: int = LEFT  # where the time axis starts
    right: int = RIGHT
    lane: int = LANE
    top: int = 40  # the first lane's y
    labels_above: bool = False  # milestone titles above their lane, not left of it
    font: int = 13
    title_chars: int = 18


WIDE = Layout("wide")
NARROW = Layout(
    "narrow", width=360, left=12, right=12, lane=42, top=52, labels_above=True, font=13,
    title_chars=40,
)  # fmt: skip

STATUS_FILL = {
    "planned": "#b9c0cb",
    "in_progress": "#1f5fbf",
    "submitted": "#8a6d00",
    "accepted": "#157347",
    "rejected": "#b42318",
}


def _span(dates: Iterable[date]) -> tuple[date, date]:
    dates = [d for d in dates if d is not None]
    first, last = min(dates), max(dates)
    if last <= first:
        last = first + timedelta(days=1)
    return first, last


def _x(day: date, first: date, last: date, layout: Layout = WIDE) -> float:
    span = layout.width - layout.left - layout.right
    return round(layout.left + span * (day - first).days / (last - first).days, 1)


def _label_at(x: float, layout: Layout, chars: int) -> tuple[float, str]:
    """Where a label beside a vertical line goes so it stays inside the box: right of the
    line, or left of it (anchored at its end) near the right edge."""
    room = chars * layout.font * 0.6
    if x + 3 + room > layout.width:
        return round(x - 3, 1), "end"
    return round(x + 3, 1), "start"


def _short(text: str, n: int = 22) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass
class Dot:
    x: float
    fill: str
    overdue: bool
    title: str


@dataclass
class Lane:
    y: int
    label: str
    diamond: str  # an SVG path
    title: str
    dots: list[Dot] = field(default_factory=list)


@dataclass
class Timeline:
    height: int
    title: str
    first_x: float
    first_label: str
    last_x: float
    last_label: str
    end_x: float
    today_x: float
    lanes: list[Lane]
    layout: Layout = WIDE
    today_label_x: float = 0
    today_anchor: str = "start"

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def lane_end(self) -> int:
        return self.layout.width - self.layout.right

    @property
    def left(self) -> int:
        return self.layout.left

    @property
    def label_x(self) -> int:
        return self.layout.left if self.layout.labels_above else 4


def timeline(*, engagement, milestones: Sequence, today: date, layout: Layout = WIDE) -> Timeline:
    """Milestones as lanes, deliverables as dots by due date (colour = status), today marked."""
    dates = [engagement.start_date, engagement.target_end_date, today]
    for m in milestones:
        dates.append(m.due_date)
        dates.extend(d.due_date for d in m.deliverables.all())
    first, last = _span(dates)
    lanes = []
    for i, m in enumerate(milestones):
        y = layout.top + layout.lane * i
        mx = _x(m.due_date, first, last, layout)
        lane = Lane(
            y=y,
            label=_short(m.title, layout.title_chars),
            diamond=f"M{mx} {y - 7} L{mx + 7} {y} L{mx} {y + 7} L{mx - 7} {y} Z",
            title=f"{m.title} due {m.due_date:%d %b %Y}",
        )
        for d in m.deliverables.all():
            overdue = d.status != "accepted" and d.due_date < today
            lane.dots.append(
                Dot(
                    x=_x(d.due_date, first, last, layout),
                    fill=STATUS_FILL.get(d.status, "#b9c0cb"),
                    overdue=overdue,
                    title=f"{d.title}: {d.get_status_display()}, due {d.due_date:%d %b %Y}"
                    + (" (overdue)" if overdue else ""),
                )
            )
        lanes.append(lane)
    today_x = _x(today, first, last, layout)
    today_label_x, today_anchor = _label_at(today_x, layout, len("today"))
    return Timeline(
        height=layout.top
        + layout.lane * max(1, len(milestones))
        + (22 if layout.labels_above else 10),
        title=f"Delivery timeline of {engagement.title}, {first:%d %b %Y} to {last:%d %b %Y}",
        first_x=_x(first, first, last, layout),
        first_label=day_label(first),
        last_x=_x(last, first, last, layout),
        last_label=day_label(last),
        end_x=_x(engagement.target_end_date, first, last, layout),
        today_x=today_x,
        lanes=lanes,
        layout=layout,
        today_label_x=today_label_x,
        today_anchor=today_anchor,
    )


@dataclass
class Burn:
    title: str
    budget_y: float
    budget_label: str
    spend_path: str
    accepted_path: str
    spent_label: str
    spent_y: float
    accepted_label: str
    accepted_y: float
    first_label: str
    last_label: str
    today_x: float
    layout: Layout = WIDE
    height: int = 220
    top: int = 20
    baseline_y: int = 190  # height - bottom margin
    label_x: float = 4  # where the amounts are written
    budget_label_x: float = 4
    budget_label_y: float = 0
    budget_anchor: str = "start"
    today_label_x: float = 0
    today_anchor: str = "start"

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def left(self) -> int:
        return self.layout.left

    @property
    def right_x(self) -> int:
        return self.layout.width - self.layout.right


def burn_chart(
    *,
    engagement,
    spend_by_date: Sequence[tuple[date, Decimal]],
    accepted_by_date: Sequence[tuple[date, Decimal]],
    today: date,
    layout: Layout = WIDE,
) -> Burn:
    """Cumulative spend against cumulative accepted value over time, with the budget line.

    Wide, the amounts sit left of the plot; narrow, in a band above it (the budget's over
    its dashed line), so the plot keeps the whole width of a phone."""
    narrow = layout.labels_above
    height = 240 if narrow else Burn.height
    top = 52 if narrow else Burn.top
    bottom = Burn.height - Burn.baseline_y  # room for the dates under the plot
    dates = [engagement.start_date, engagement.target_end_date, today]
    dates += [d for d, _ in spend_by_date] + [d for d, _ in accepted_by_date]
    first, last = _span(dates)
    spent = sum((v for _, v in spend_by_date), Decimal("0"))
    accepted = sum((v for _, v in accepted_by_date), Decimal("0"))
    ceiling = max(engagement.budget, spent, accepted, Decimal("1"))

    def x(day: date) -> float:
        return _x(day, first, last, layout)

    def y(amount: Decimal) -> float:
        return round(height - bottom - (height - top - bottom) * float(amount / ceiling), 1)

    def steps(points: Sequence[tuple[date, Decimal]]) -> str:
        total, x_prev = Decimal("0"), x(first)
        path = [f"M{x_prev} {y(total)}"]
        for day, amount in sorted(points):
            total += amount
            path.append(f"H{x(day)} V{y(total)}")
        path.append(f"H{x(min(today, last))}")
        return " ".join(path)

    def amount(value: Decimal) -> str:
        return format_number(value, 0)

    today_x = x(today)
    today_label_x, today_anchor = _label_at(today_x, layout, len("today"))
    right_x = layout.width - layout.right
    return Burn(
        title=f"Spend {amount(spent)} against accepted value {amount(accepted)} "
        f"{engagement.currency}, budget {amount(engagement.budget)}",
        budget_y=y(engagement.budget),
        budget_label=f"budget {amount(engagement.budget)}",
        spend_path=steps(spend_by_date),
        accepted_path=steps(accepted_by_date),
        spent_label=f"spent {amount(spent)}",
        spent_y=16 if narrow else (y(spent) + 4 if spent else top + 40),
        accepted_label=f"accepted {amount(accepted)}",
        accepted_y=34 if narrow else (y(accepted) + 16 if accepted else top + 56),
        first_label=day_label(first),
        last_label=day_label(last),
        today_x=today_x,
        layout=layout,
        height=height,
        top=top,
        baseline_y=height - bottom,
        label_x=layout.left if narrow else 4,
        budget_label_x=right_x if narrow else 4,
        budget_label_y=round(y(engagement.budget) - 5, 1)
        if narrow
        else round(y(engagement.budget) + 4, 1),
        budget_anchor="end" if narrow else "start",
        today_label_x=today_label_x,
        today_anchor=today_anchor,
    )


# --- the activity sparkline (engagement page, dashboard rows) ---------------------------------

SPARK_DAYS = 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    count: int


@dataclass(frozen=True)
class Spark:
    width: int
    height: int
    days: int
    total: int
    bars: tuple[Bar, ...]
    last_day: date | None  # the last day with activity in the window


def activity_spark(
    counts: dict[date, int],
    today: date,
    *,
    days: int = SPARK_DAYS,
    width: int = 120,
    height: int = 28,
) -> Spark:
    """Bars of traces of work per day over the last ``days`` days, oldest left, on a square-root
    scale (one busy release day does not flatten the rest); a day without any has no bar, so a
    silent stretch shows as a gap."""
    first = today - timedelta(days=days - 1)
    shown = {d: n for d, n in counts.items() if first <= d <= today and n > 0}
    top = max(shown.values(), default=0)
    step = width / days
    bars = []
    for d, n in sorted(shown.items()):
        h = max(2.0, round((height - 2) * (n / top) ** 0.5, 1))
        bars.append(
            Bar(
                round((d - first).days * step, 1),
                round(height - h, 1),
                round(max(step - 1, 1), 1),
                h,
                d,
                n,
            )
        )
    return Spark(width, height, days, sum(shown.values()), tuple(bars), max(shown, default=None))
