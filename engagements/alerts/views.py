"""The alerts' pages: the dashboard, an engagement's health and its open alert, acting on an
alert (acknowledge, snooze, resolve, cut losses), and the notification settings."""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Q, When
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import allow_viewer, manager_required, member_required, owner_required
from accounts.models import User
from engagements.alerts import services
from engagements.alerts.forms import (
    AcknowledgeForm,
    ChannelForm,
    DashboardFilterForm,
    EscalationPolicyForm,
    ResolveForm,
    SnoozeForm,
    TerminateForm,
)
from engagements.alerts.models import (
    Alert,
    EscalationPolicy,
    Notification,
    NotificationChannel,
    NotificationPreference,
)
from engagements.delivery.models import Engagement
from engagements.watch.models import LEVEL_RANK, EngagementHealth, HealthSnapshot, Level, SweepRun
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


FILTERS = {  # the filter form's fields, as lookups on health rows (alerts: filter_for_list)
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
    alerts = (
        Alert.objects.for_list()
        .filter_for_list(**filters)
        .order_by(-severity, "-level_changed_at", "-pk")
    )
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
    move on (``accounts.services.mark_dashboards_stale``); a short timeout bounds anything else
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


# --- an engagement's health and its alert ---


def engagement_health_context(engagement: Engagement, **extra) -> dict:
    state = EngagementHealth.objects.filter(engagement=engagement).first()
    scores = list(
        engagement.health_snapshots.filter(
            date__gt=timezone.now().date() - timezone.timedelta(days=30)
        ).values_list("score", flat=True)
    )
    return {
        "engagement": engagement,
        "state": state,
        "alert": Alert.objects.unresolved().filter(engagement=engagement).first(),
        "spark": sparkline(scores),
        "hold_hours": settings.HEALTH_DEESCALATION_HOLD_HOURS,
        **extra,
    }


@require_safe
@member_required
def engagement_health(request: HttpRequest, pk: int) -> HttpResponse:
    """One engagement's health: score, level, signals with evidence, its open alert, the trend."""
    engagement = get_object_or_404(Engagement.objects.select_related("vendor"), pk=pk)
    return render(
        request,
        "engagements/engagement_health.html",
        engagement_health_context(engagement),
        partials=["engagement-health"],  # the engagement page loads just this region
    )


@require_safe
@member_required
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An alert with the cut-your-losses summary, its history and its delivery attempts."""
    alert = get_object_or_404(Alert.objects.for_list(), pk=pk)
    return render(request, "engagements/alert_detail.html", alert_context(alert))


def alert_context(alert: Alert, **extra) -> dict:
    return {
        "alert": alert,
        "state": EngagementHealth.objects.filter(engagement_id=alert.engagement_id).first(),
        "summary": services.loss_summary(engagement=alert.engagement, at=timezone.now()),
        "events": alert.events.select_related("by"),
        "notifications": alert.notifications.select_related("channel")[:50],
        "terminate_form": extra.pop("terminate_form", TerminateForm()),
        **extra,
    }


def _act(request: HttpRequest, pk: int, action: str, form_class, call) -> HttpResponse:
    """Validate, call one service, answer the region that asked (dashboard, fragment or page).

    A refused form comes back as typed, its errors next to its fields: ``refused`` is
    ``{"alert": <pk>, "form": <form>, <action>: <form>}`` for the templates.
    """
    alert = get_object_or_404(Alert.objects.for_list(), pk=pk)
    form = form_class(request.POST)
    error = None
    if form.is_valid():
        try:
            call(alert, form.cleaned_data)
        except ValidationError as exc:
            error = exc
            for field, messages in getattr(exc, "message_dict", {"__all__": exc.messages}).items():
                form.add_error(None if field not in form.fields else field, messages)
    else:
        error = True
    refused = {"alert": alert.pk, "form": form, action: form} if error else None
    htmx = getattr(request, "htmx", None)
    target = htmx.target if htmx else None
    status = 200 if (htmx or not error) else 422
    if target == "engagement-health":
        ctx = engagement_health_context(alert.engagement, refused=refused)
        return render(
            request, "engagements/engagement_health.html", ctx, partials=["engagement-health"]
        )
    if target == "alert-list":
        ctx = dashboard_context(request, refused=refused)
        return render(request, "engagements/dashboard.html", ctx, partials=["alert-list"])
    if not error:
        return redirect("engagements:alert_detail", pk=alert.pk)
    alert.refresh_from_db()
    ctx = alert_context(alert, refused=refused)
    return render(request, "engagements/alert_detail.html", ctx, status=status)


@require_POST
@manager_required
def alert_acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Someone is on it: the alert stops reminding until its level rises."""
    return _act(
        request,
        pk,
        "acknowledge",
        AcknowledgeForm,
        lambda a, d: services.acknowledge_alert(alert=a, by=request.user, note=d["note"]),
    )


@require_POST
@manager_required
def alert_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    """Quiet the alert until a future moment (it wakes earlier if the level rises)."""
    return _act(
        request,
        pk,
        "snooze",
        SnoozeForm,
        lambda a, d: services.snooze_alert(
            alert=a, by=request.user, until=d["until"], note=d["note"]
        ),
    )


@require_POST
@manager_required
def alert_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the alert by hand, with a note."""
    return _act(
        request,
        pk,
        "resolve",
        ResolveForm,
        lambda a, d: services.resolve_alert(alert=a, by=request.user, note=d["note"]),
    )


@require_POST
@manager_required
def engagement_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """Cut losses: terminate the engagement (its post-mortem opens as a draft)."""
    engagement = get_object_or_404(Engagement.objects, pk=pk)
    form = TerminateForm(request.POST)
    if form.is_valid():
        try:
            services.terminate_engagement(
                engagement=engagement, by=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            form.add_error(None, exc.messages)
    if form.is_valid() and not form.errors:
        # The status change opened the pre-filled post-mortem: that is where cutting losses goes on.
        return redirect("engagements:postmortem_detail", pk=engagement.postmortem.pk)
    alert = Alert.objects.for_list().filter(engagement=engagement).order_by("-opened_at").first()
    if alert is None:
        return redirect("engagements:dashboard")
    return render(
        request,
        "engagements/alert_detail.html",
        alert_context(alert, terminate_form=form),
        status=422,
    )


# --- notification settings ---


def settings_context(request: HttpRequest, **extra) -> dict:
    policy = EscalationPolicy.for_org(request.org.pk)
    pref = NotificationPreference.objects.filter(user=request.user).first()
    initial = {name: getattr(policy, name) for name in EscalationPolicyForm.base_fields}
    return {
        "channels": NotificationChannel.objects.all(),
        "recent": Notification.objects.select_related("channel", "alert__engagement")[:30],
        "channel_form": extra.pop("channel_form", ChannelForm()),
        "policy_form": extra.pop("policy_form", EscalationPolicyForm(initial=initial)),
        "daily_digest": pref.daily_digest if pref else True,
        **extra,
    }


@require_safe
@member_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Where alerts go, who is told at which level, and your own digest."""
    return render(request, "engagements/notification_settings.html", settings_context(request))


@require_POST
@owner_required
def channel_create(request: HttpRequest) -> HttpResponse:
    """Add an e-mail or webhook channel (webhook URLs pass the SSRF guard)."""
    form = ChannelForm(request.POST)
    if form.is_valid():
        try:
            services.create_channel(org=request.org, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error("url", exc.message_dict.get("url", exc.messages))
        else:
            messages.success(request, f"Channel “{form.cleaned_data['name']}” added.")
            return redirect("engagements:notification_settings")
    ctx = settings_context(request, channel_form=form)
    return render(request, "engagements/notification_settings.html", ctx, status=422)


@require_POST
@owner_required
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message through the channel (via the outbox, like a real alert)."""
    channel = get_object_or_404(NotificationChannel.objects, pk=pk)
    services.send_test_notification(channel=channel)
    messages.success(request, f"A test message to “{channel.name}” is on its way.")
    return redirect("engagements:notification_settings")


@require_POST
@owner_required
def escalation_policy_save(request: HttpRequest) -> HttpResponse:
    """Store who is told at which level and how often they are reminded."""
    form = EscalationPolicyForm(request.POST)
    if not form.is_valid():
        ctx = settings_context(request, policy_form=form)
        return render(request, "engagements/notification_settings.html", ctx, status=422)
    services.save_escalation_policy(org=request.org, **form.cleaned_data)
    messages.success(request, "Escalation policy saved.")
    return redirect("engagements:notification_settings")


@allow_viewer
@require_POST
@member_required
def digest_toggle(request: HttpRequest) -> HttpResponse:
    """Turn your own daily digest e-mail on or off (viewers too: it is their inbox)."""
    enabled = request.POST.get("daily_digest") == "on"
    services.set_daily_digest(org=request.org, user=request.user, enabled=enabled)
    messages.success(request, f"Daily digest {'on' if enabled else 'off'}.")
    return redirect("engagements:notification_settings")
