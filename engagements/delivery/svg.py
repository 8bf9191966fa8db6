"""Server-rendered SVG pictures of an engagement: the delivery timeline and the burn chart.

Plain strings, no chart library: the pictures are static and the CSP forbids inline styles,
so colours are SVG presentation attributes (``fill=``) or classes styled in app.css.
"""

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

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


def timeline(*, engagement, milestones: Sequence, today: date) -> SafeString:
    """Milestones as lanes, deliverables as dots by due date (colour = status), today marked."""
    dates = [engagement.start_date, engagement.target_end_date, today]
    for m in milestones:
        dates.append(m.due_date)
        dates.extend(d.due_date for d in m.deliverables.all())
    first, last = _span(dates)
    height = 40 + LANE * max(1, len(milestones)) + 10
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="timeline-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="timeline-title">Delivery timeline of {escape(engagement.title)}, '
        f"{first:%d %b %Y} to {last:%d %b %Y}</title>",
    ]
    for day, label in ((first, f"{first:%d %b}"), (last, f"{last:%d %b %Y}")):
        anchor = "start" if day == first else "end"
        parts.append(
            f'<text x="{_x(day, first, last)}" y="14" font-size="11" fill="#5b6474" '
            f'text-anchor="{anchor}">{label}</text>'
        )
    end_x = _x(engagement.target_end_date, first, last)
    parts.append(
        f'<line x1="{end_x}" y1="20" x2="{end_x}" y2="{height - 6}" stroke="#5b6474" '
        'stroke-dasharray="2 3"><title>Target end</title></line>'
    )
    for i, m in enumerate(milestones):
        y = 40 + LANE * i
        parts.append(
            f'<text x="4" y="{y + 4}" font-size="12" fill="#1d2330">{escape(_short(m.title))}</text>'
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" stroke="#dde1e7"/>'
        )
        mx = _x(m.due_date, first, last)
        parts.append(
            f'<path d="M{mx} {y - 7} L{mx + 7} {y} L{mx} {y + 7} L{mx - 7} {y} Z" fill="none" '
            f'stroke="#16213a" stroke-width="1.5"><title>{escape(m.title)} due '
            f"{m.due_date:%d %b %Y}</title></path>"
        )
        for d in m.deliverables.all():
            overdue = d.status != "accepted" and d.due_date < today
            stroke = ' stroke="#7a1020" stroke-width="2.5"' if overdue else ""
            parts.append(
                f'<circle cx="{_x(d.due_date, first, last)}" cy="{y}" r="5" '
                f'fill="{STATUS_FILL.get(d.status, "#b9c0cb")}"{stroke}>'
                f"<title>{escape(d.title)}: {escape(d.get_status_display())}, due "
                f"{d.due_date:%d %b %Y}{' (overdue)' if overdue else ''}</title></circle>"
            )
    tx = _x(today, first, last)
    parts.append(
        f'<line x1="{tx}" y1="20" x2="{tx}" y2="{height - 6}" stroke="#b42318" stroke-width="2"/>'
        f'<text x="{tx + 3}" y="{height - 8}" font-size="11" fill="#b42318">today</text>'
    )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def burn_chart(
    *,
    engagement,
    spend_by_date: Sequence[tuple[date, Decimal]],
    accepted_by_date: Sequence[tuple[date, Decimal]],
    today: date,
) -> SafeString:
    """Cumulative spend against cumulative accepted value over time, with the budget line."""
    height, top, bottom = 220, 20, 30
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
            x = _x(day, first, last)
            total += amount
            path.append(f"H{x} V{y(total)}")
        path.append(f"H{_x(min(today, last), first, last)}")
        return " ".join(path)

    budget_y = y(engagement.budget)
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="burn-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="burn-title">Spend {spent:,.0f} against accepted value {accepted:,.0f} '
        f"{engagement.currency}, budget {engagement.budget:,.0f}</title>",
        f'<line x1="{LEFT}" y1="{budget_y}" x2="{WIDTH - RIGHT}" y2="{budget_y}" stroke="#5b6474" '
        'stroke-dasharray="4 4"/>',
        f'<text x="4" y="{budget_y + 4}" font-size="11" fill="#5b6474">budget '
        f"{engagement.budget:,.0f}</text>",
        f'<line x1="{LEFT}" y1="{height - bottom}" x2="{WIDTH - RIGHT}" y2="{height - bottom}" '
        'stroke="#dde1e7"/>',
        f'<path d="{steps(spend_by_date)}" fill="none" stroke="#b25e09" stroke-width="2.5"/>',
        f'<path d="{steps(accepted_by_date)}" fill="none" stroke="#157347" stroke-width="2.5"/>',
        f'<text x="4" y="{y(spent) + 4 if spent else top + 40}" font-size="11" fill="#b25e09">'
        f"spent {spent:,.0f}</text>",
        f'<text x="4" y="{y(accepted) + 16 if accepted else top + 56}" font-size="11" '
        f'fill="#157347">accepted {accepted:,.0f}</text>',
        f'<text x="{LEFT}" y="{height - 10}" font-size="11" fill="#5b6474">{first:%d %b %Y}</text>',
        f'<text x="{WIDTH - RIGHT}" y="{height - 10}" font-size="11" fill="#5b6474" '
        f'text-anchor="end">{last:%d %b %Y}</text>',
    ]
    tx = _x(today, first, last)
    parts.append(
        f'<line x1="{tx}" y1="{top}" x2="{tx}" y2="{height - bottom}" stroke="#b42318" '
        f'stroke-width="2"/><text x="{tx + 3}" y="{top + 10}" font-size="11" fill="#b42318">'
        "today</text></svg>"
    )
    return mark_safe("".join(parts))
