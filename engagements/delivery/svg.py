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

WIDTH = 800
LEFT = 150  # room for milestone titles
RIGHT = 20
LANE = 26

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


def _x(day: date, first: date, last: date) -> float:
    return round(LEFT + (WIDTH - LEFT - RIGHT) * (day - first).days / (last - first).days, 1)


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
    width: int = WIDTH
    lane_end: int = WIDTH - RIGHT
    left: int = LEFT

    @property
    def today_label_x(self) -> float:
        return round(self.today_x + 3, 1)


def timeline(*, engagement, milestones: Sequence, today: date) -> Timeline:
    """Milestones as lanes, deliverables as dots by due date (colour = status), today marked."""
    dates = [engagement.start_date, engagement.target_end_date, today]
    for m in milestones:
        dates.append(m.due_date)
        dates.extend(d.due_date for d in m.deliverables.all())
    first, last = _span(dates)
    lanes = []
    for i, m in enumerate(milestones):
        y = 40 + LANE * i
        mx = _x(m.due_date, first, last)
        lane = Lane(
            y=y,
            label=_short(m.title),
            diamond=f"M{mx} {y - 7} L{mx + 7} {y} L{mx} {y + 7} L{mx - 7} {y} Z",
            title=f"{m.title} due {m.due_date:%d %b %Y}",
        )
        for d in m.deliverables.all():
            overdue = d.status != "accepted" and d.due_date < today
            lane.dots.append(
                Dot(
                    x=_x(d.due_date, first, last),
                    fill=STATUS_FILL.get(d.status, "#b9c0cb"),
                    overdue=overdue,
                    title=f"{d.title}: {d.get_status_display()}, due {d.due_date:%d %b %Y}"
                    + (" (overdue)" if overdue else ""),
                )
            )
        lanes.append(lane)
    return Timeline(
        height=40 + LANE * max(1, len(milestones)) + 10,
        title=f"Delivery timeline of {engagement.title}, {first:%d %b %Y} to {last:%d %b %Y}",
        first_x=_x(first, first, last),
        first_label=f"{first:%d %b}",
        last_x=_x(last, first, last),
        last_label=f"{last:%d %b %Y}",
        end_x=_x(engagement.target_end_date, first, last),
        today_x=_x(today, first, last),
        lanes=lanes,
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
    width: int = WIDTH
    height: int = 220
    top: int = 20
    baseline_y: int = 190  # height - bottom margin
    left: int = LEFT
    right_x: int = WIDTH - RIGHT

    @property
    def budget_label_y(self) -> float:
        return round(self.budget_y + 4, 1)

    @property
    def today_label_x(self) -> float:
        return round(self.today_x + 3, 1)


def burn_chart(
    *,
    engagement,
    spend_by_date: Sequence[tuple[date, Decimal]],
    accepted_by_date: Sequence[tuple[date, Decimal]],
    today: date,
) -> Burn:
    """Cumulative spend against cumulative accepted value over time, with the budget line."""
    height, top, bottom = Burn.height, Burn.top, Burn.height - Burn.baseline_y
    dates = [engagement.start_date, engagement.target_end_date, today]
    dates += [d for d, _ in spend_by_date] + [d for d, _ in accepted_by_date]
    first, last = _span(dates)
    spent = sum((v for _, v in spend_by_date), Decimal("0"))
    accepted = sum((v for _, v in accepted_by_date), Decimal("0"))
    ceiling = max(engagement.budget, spent, accepted, Decimal("1"))

    def y(amount: Decimal) -> float:
        return round(height - bottom - (height - top - bottom) * float(amount / ceiling), 1)

    def steps(points: Sequence[tuple[date, Decimal]]) -> str:
        total, x_prev = Decimal("0"), _x(first, first, last)
        path = [f"M{x_prev} {y(total)}"]
        for day, amount in sorted(points):
            total += amount
            path.append(f"H{_x(day, first, last)} V{y(total)}")
        path.append(f"H{_x(min(today, last), first, last)}")
        return " ".join(path)

    return Burn(
        title=f"Spend {spent:,.0f} against accepted value {accepted:,.0f} "
        f"{engagement.currency}, budget {engagement.budget:,.0f}",
        budget_y=y(engagement.budget),
        budget_label=f"budget {engagement.budget:,.0f}",
        spend_path=steps(spend_by_date),
        accepted_path=steps(accepted_by_date),
        spent_label=f"spent {spent:,.0f}",
        spent_y=y(spent) + 4 if spent else top + 40,
        accepted_label=f"accepted {accepted:,.0f}",
        accepted_y=y(accepted) + 16 if accepted else top + 56,
        first_label=f"{first:%d %b %Y}",
        last_label=f"{last:%d %b %Y}",
        today_x=_x(today, first, last),
    )
