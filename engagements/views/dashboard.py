"""The organization's home page: health by level, engagements by risk, open alerts, live."""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Case, Count, Q, When
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.decorators import member_required
from accounts.models import User
from engagements.alert_forms import DashboardFilterForm
from engagements.models import (
    Alert,
    Engagement,
    EngagementHealth,
    HealthSnapshot,
    Level,
    SweepRun,
)
from engagements.models.health import LEVEL_RANK
from outsourcing.htmx import render
from vendors.models import Vendor

DASHBOARD_ROWS = 50  # a page of the risk table, the riskiest first
DASHBOARD_ALERTS = 20  # the most severe open alerts, each with its action forms
SPARK_W, SPARK_H = 120, 28


def sparkline(scores: list[int]) -> str:
    """SVG polyline points for scores 0-100, oldest first (server-rendered chart)."""
    if not scores:
        return ""
    if len(scores) == 1:
        scores = scores * 2
    step = SPARK_W / (len(scores) - 1)
    return " ".join(
        f"{i * step:.1f},{SPARK_H - 2 - s * (SPARK_H - 4) / 100:.1f}" for i, s in enumerate(scores)
    )


def with_sparklines(rows: list[EngagementHealth], today) -> list[EngagementHealth]:
    """Attach ``row.spark`` (points) from the last 30 days of snapshots, in one query."""
    series: dict[int, list[int]] = {}
    for engagement_id, score in HealthSnapshot.objects.filter(
        engagement_id__in=[r.engagement_id for r in rows], date__gt=today - timedelta(days=30)
    ).values_list("engagement_id", "score"):
        series.setdefault(engagement_id, []).append(score)
    for row in rows:
        row.spark = sparkline(series.get(row.engagement_id, []))
    return rows


def dashboard_context(request: HttpRequest, *, refused: dict | None = None) -> dict:
    """The dashboard; ``refused`` is an alert action form to show again as typed."""
    # The organization's members (a handful), not a scan of every active engagement's owner.
    owners = User.objects.filter(memberships__org=request.org).order_by("email")
    vendors = Vendor.objects.filter(pk__in=Engagement.objects.active().values("vendor_id"))
    form = DashboardFilterForm(
        request.GET or None,
        owners=[(u.pk, str(u)) for u in owners],
        vendors=[(v.pk, v.name) for v in vendors],
    )
    filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
    page = _page(request.GET.get("page"))
    query = urlencode(filters)
    last_sweep = SweepRun.last_finished()
    now = timezone.now()
    can_write = bool(request.membership and request.membership.can_write)

    def alert_list() -> str:
        return _alerts_html(filters, can_write, refused=refused)

    alerts = (
        cached_fragment(request, f"alerts|{query}|{can_write}", alert_list)
        if refused is None
        else alert_list()
    )
    return {
        "form": form,
        "risk": cached_fragment(
            request, f"{query}|{page}", lambda: _risk_html(filters, page, query, now)
        ),
        # The cached list was rendered with a placeholder for this request's CSRF token.
        "alert_list": alerts.replace(CSRF_SLOT, get_token(request)),
        "updated_at": now,
        "last_sweep": last_sweep,
        "watcher_late": SweepRun.late(last_sweep, now, Engagement.objects.all()),
        "poll_seconds": settings.HEALTH_DASHBOARD_POLL_SECONDS,
        "query": urlencode(filters | ({"page": page} if page > 1 else {})),
    }


FILTERS = {  # the filter form's fields, as lookups on alerts and on health rows alike
    "owner": "engagement__owner_id",
    "vendor": "engagement__vendor_id",
    "level": "level",
}


def _page(value: str | None) -> int:
    """The page of the risk table asked for; anything odd is the first page."""
    try:
        return max(1, min(int(value or 1), 10_000))
    except ValueError:
        return 1


CSRF_SLOT = "csrf-token-of-the-request-" + "0" * 38  # as long as a real token


def _alerts_html(filters: dict, can_write: bool, *, refused: dict | None = None) -> str:
    """The most severe open alerts with their action forms (a large organization has
    thousands open), rendered with ``CSRF_SLOT`` where each form's token goes."""
    severity = Case(
        *[When(level=level, then=rank) for level, rank in LEVEL_RANK.items()], default=0
    )
    alerts = Alert.objects.unresolved().for_list().order_by(-severity, "-level_changed_at", "-pk")
    alerts = alerts.filter(**{FILTERS[k]: v for k, v in filters.items()})
    return render_to_string(
        "engagements/dashboard.html#alert-items",
        {
            "alerts": list(alerts[:DASHBOARD_ALERTS]),
            "alerts_total": alerts.count(),
            "can_write": can_write,
            "refused": refused,
            "csrf_token": CSRF_SLOT,
        },
    )


def _risk_html(filters: dict, page: int, query: str, now) -> str:
    """The counts by level and one page of engagements by risk, rendered (then cached)."""
    rows = EngagementHealth.objects.for_dashboard().filter(
        **{FILTERS[k]: v for k, v in filters.items()}
    )
    start = (page - 1) * DASHBOARD_ROWS
    shown = list(rows[start : start + DASHBOARD_ROWS + 1])  # one more: is there a next page?
    counts = EngagementHealth.objects.filter(engagement__status="active").aggregate(
        **{level: Count("pk", filter=Q(level=level)) for level in Level.values}
    )
    return render_to_string(
        "engagements/dashboard.html#risk",
        {
            "rows": with_sparklines(shown[:DASHBOARD_ROWS], now.date()),
            "counts": [(Level(level), counts[level]) for level in Level.values],
            "page": page,
            "first": start + 1,
            "last": start + len(shown[:DASHBOARD_ROWS]),
            "has_next": len(shown) > DASHBOARD_ROWS,
            "filtered": bool(filters),
            "page_query": query + ("&" if query else ""),
            "hold_hours": settings.HEALTH_DEESCALATION_HOLD_HOURS,
        },
    )


def cached_fragment(request: HttpRequest, variant: str, build: Callable[[], str]) -> str:
    """``build()``'s HTML, cached per organization until what the dashboard shows changes.

    The key holds ``org.health_changed_at`` (loaded with the request's organization, so a
    hit costs no query), which the sweep, status changes and engagement or vendor edits
    move on (``services.watch.dashboards_changed``); a short timeout bounds anything else
    (a member renamed). The fragment must hold nothing per user (a CSRF token goes in a slot).
    """
    if request.method not in ("GET", "HEAD"):
        return build()  # a change was just made: show it, whatever the key says
    org = request.org
    raw = f"{org.pk}|{org.health_changed_at.isoformat()}|{org.time_zone}|{variant}"
    key = "dashboard:" + hashlib.sha256(raw.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = build()
        cache.set(key, html, settings.HEALTH_DASHBOARD_CACHE_SECONDS)
    return html


@require_safe
@member_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The organization's home page: which engagements are healthy, drifting or failing."""
    return render(
        request,
        "engagements/dashboard.html",
        dashboard_context(request),
        partials=["dashboard-live", "alert-list"],
    )
