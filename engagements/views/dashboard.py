"""The organization's home page: health by level, engagements by risk, open alerts, live."""

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from accounts.decorators import member_required
from accounts.models import User
from engagements.alert_forms import DashboardFilterForm
from engagements.models import Alert, Engagement, EngagementHealth, HealthSnapshot, Level
from outsourcing.htmx import render
from vendors.models import Vendor

DASHBOARD_ROWS = 200  # the riskiest first; the page stays fast however many there are
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


def dashboard_context(request: HttpRequest) -> dict:
    owners = User.objects.filter(pk__in=Engagement.objects.active().values("owner_id")).order_by(
        "email"
    )
    vendors = Vendor.objects.filter(pk__in=Engagement.objects.active().values("vendor_id"))
    form = DashboardFilterForm(
        request.GET or None,
        owners=[(u.pk, str(u)) for u in owners],
        vendors=[(v.pk, v.name) for v in vendors],
    )
    rows = EngagementHealth.objects.for_dashboard()
    alerts = Alert.objects.unresolved().for_list().order_by("-level_changed_at", "-pk")
    if form.is_valid():
        data = form.cleaned_data
        if data["owner"]:
            rows = rows.filter(engagement__owner_id=data["owner"])
            alerts = alerts.filter(engagement__owner_id=data["owner"])
        if data["vendor"]:
            rows = rows.filter(engagement__vendor_id=data["vendor"])
            alerts = alerts.filter(engagement__vendor_id=data["vendor"])
        if data["level"]:
            rows = rows.filter(level=data["level"])
            alerts = alerts.filter(level=data["level"])
    counts = EngagementHealth.objects.filter(engagement__status="active").aggregate(
        **{level: Count("pk", filter=Q(level=level)) for level in Level.values}
    )
    now = timezone.now()
    return {
        "form": form,
        "rows": with_sparklines(list(rows[:DASHBOARD_ROWS]), now.date()),
        "counts": [(Level(level), counts[level]) for level in Level.values],
        "alerts": list(alerts),
        "updated_at": now,
        "poll_seconds": settings.HEALTH_DASHBOARD_POLL_SECONDS,
        "hold_hours": settings.HEALTH_DEESCALATION_HOLD_HOURS,
        "query": request.GET.urlencode(),
    }


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
