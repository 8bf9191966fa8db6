"""The alerts' pages: the dashboard, an engagement's health and its open alert, acting on an
alert (acknowledge, snooze, resolve, cut losses), and the notification settings."""

import hashlib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Case, Count, Q, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import allow_viewer, manager_required, member_required, owner_required
from accounts.models import User
from engagements.alerts import chat, services
from engagements.alerts.forms import (
    AcknowledgeForm,
    ChannelEditForm,
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
from engagements.delivery.pages import activity_by_day
from engagements.delivery.svg import activity_spark
from engagements.watch.models import LEVEL_RANK, EngagementHealth, HealthSnapshot, Level, SweepRun
from outsourcing.confirm import ask_first, confirmed
from outsourcing.forms import Form
from outsourcing.htmx import WriteView, answer_write, render
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
    """Attach ``row.spark`` (points) from the last 30 days of snapshots and ``row.activity``
    (bars of code activity per day), in two queries."""
    series: dict[int, list[int]] = {}
    for engagement_id, score in HealthSnapshot.objects.filter(
        engagement_id__in=[r.engagement_id for r in rows], date__gt=today - timedelta(days=30)
    ).values_list("engagement_id", "score"):
        series.setdefault(engagement_id, []).append(score)
    activity = activity_by_day([r.engagement_id for r in rows], today)
    for row in rows:
        row.spark = sparkline(series.get(row.engagement_id, []))
        # Code activity (pushes, merge requests...) per day: one more query for the page.
        row.activity = activity_spark(activity.get(row.engagement_id, {}), today)
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
    return {
        "form": form,
        **cached_rows(request, f"risk|{query}|{page}", lambda: _risk_rows(filters, page, now)),
        **cached_rows(request, f"alerts|{query}", lambda: _alert_rows(filters)),
        "can_write": bool(request.membership and request.membership.can_write),
        "refused": refused,
        "page": page,
        "filtered": bool(filters),
        "page_query": query + ("&" if query else ""),
        "hold_hours": settings.HEALTH_DEESCALATION_HOLD_HOURS,
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


def _alert_rows(filters: dict) -> dict:
    """The most severe open alerts (a large organization has thousands open) and their count."""
    severity = Case(
        *[When(level=level, then=rank) for level, rank in LEVEL_RANK.items()], default=0
    )
    alerts = (
        Alert.objects.for_list()
        .filter_for_list(**filters)
        .order_by(-severity, "-level_changed_at", "-pk")
    )
    return {"alerts": list(alerts[:DASHBOARD_ALERTS]), "alerts_total": alerts.count()}


def _risk_rows(filters: dict, page: int, now) -> dict:
    """The counts by level and one page of engagements by risk, with their sparklines."""
    rows = EngagementHealth.objects.for_dashboard().filter(
        **{FILTERS[k]: v for k, v in filters.items()}
    )
    start = (page - 1) * DASHBOARD_ROWS
    shown = list(rows[start : start + DASHBOARD_ROWS + 1])  # one more: is there a next page?
    counts = EngagementHealth.objects.filter(engagement__status="active").aggregate(
        **{level: Count("pk", filter=Q(level=level)) for level in Level.values}
    )
    return {
        "rows": with_sparklines(shown[:DASHBOARD_ROWS], now.date()),
        "counts": [(Level(level), counts[level]) for level in Level.values],
        "first": start + 1,
        "last": start + len(shown[:DASHBOARD_ROWS]),
        "has_next": len(shown) > DASHBOARD_ROWS,
    }


def cached_rows(request: HttpRequest, variant: str, build: Callable[[], dict]) -> dict:
    """``build()``'s rows (data, never HTML), cached per organization until what the dashboard
    shows changes.

    The key holds ``org.health_changed_at`` (loaded with the request's organization, so a
    hit costs no query), which the sweep, status changes and engagement or vendor edits
    move on (``accounts.services.mark_dashboards_stale``); a short timeout bounds anything else
    (a member renamed). The rows hold nothing per user: the template adds the forms, with
    this request's CSRF token, at each render.
    """
    if request.method not in ("GET", "HEAD"):
        return build()  # a change was just made: show it, whatever the key says
    org = request.org
    raw = f"{org.pk}|{org.health_changed_at.isoformat()}|{org.time_zone}|{variant}"
    key = "dashboard:" + hashlib.sha256(raw.encode()).hexdigest()
    rows = cache.get(key)
    if rows is None:
        rows = build()
        cache.set(key, rows, settings.HEALTH_DASHBOARD_CACHE_SECONDS)
    return rows


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


class AlertAction(WriteView):
    """A manager acts on an alert (from the dashboard's alert list, the engagement's health
    or the alert's page) and is answered with the region that asked (``_show_alert``).

    A refused form comes back as typed, its errors next to its fields: ``refused`` is
    ``{"alert": <pk>, "form": <form>, <action>: <form>}`` for the templates.
    """

    role = staticmethod(manager_required)
    model = Alert
    by = True
    action = ""

    def get_queryset(self):
        return Alert.objects.for_list()

    def show(self, refused: dict | None = None) -> HttpResponse:
        return _show_alert(self.request, self.object, refused)

    def done(self, result) -> str:
        return reverse("engagements:alert_detail", args=[self.object.pk])

    def refused(self, form) -> dict:
        return {"refused": {"alert": self.object.pk, "form": form, self.action: form}}


def _show_alert(request: HttpRequest, alert: Alert, refused: dict | None = None) -> HttpResponse:
    """The region that asked about the alert: the engagement's health, the dashboard's alert
    list, or else the alert's page."""
    target = request.htmx.target if request.htmx else None
    if target == "engagement-health":
        ctx = engagement_health_context(alert.engagement, refused=refused)
        return render(
            request, "engagements/engagement_health.html", ctx, partials=["engagement-health"]
        )
    if target == "alert-list":
        ctx = dashboard_context(request, refused=refused)
        return render(request, "engagements/dashboard.html", ctx, partials=["alert-list"])
    alert.refresh_from_db()
    return render(request, "engagements/alert_detail.html", alert_context(alert, refused=refused))


# Someone is on it: the alert stops reminding until its level rises.
alert_acknowledge = AlertAction.as_view(
    form_class=AcknowledgeForm, service=services.acknowledge_alert, action="acknowledge"
)

# Quiet the alert until a future moment (it wakes earlier if the level rises).
alert_snooze = AlertAction.as_view(
    form_class=SnoozeForm, service=services.snooze_alert, action="snooze"
)

# Close the alert by hand, with a note.
alert_resolve = AlertAction.as_view(
    form_class=ResolveForm, service=services.resolve_alert, action="resolve"
)


@require_POST
@manager_required
def engagement_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """Cut losses: terminate the engagement (its post-mortem opens as a draft)."""
    engagement = get_object_or_404(Engagement.objects, pk=pk)
    form = TerminateForm(request.POST)
    return answer_write(
        request,
        form,
        lambda: services.terminate_engagement(
            engagement=engagement, by=request.user, reason=form.cleaned_data["reason"]
        ),
        show=partial(_show_terminate, request, engagement),
        form_name="terminate_form",
        # The status change opened the pre-filled post-mortem: that is where cutting losses goes on.
        done=lambda _: reverse("engagements:postmortem_detail", args=[engagement.postmortem.pk]),
    )


def _show_terminate(request: HttpRequest, engagement: Engagement, **forms) -> HttpResponse:
    """The page of the engagement's latest alert, where the cut-losses form is."""
    alert = Alert.objects.for_list().filter(engagement=engagement).order_by("-opened_at").first()
    if alert is None:
        return redirect("engagements:dashboard")
    return render(request, "engagements/alert_detail.html", alert_context(alert, **forms))


# --- notification settings ---


def _with_services(channels) -> list[NotificationChannel]:
    """The channels, an Apprise one with the name of its service ("Slack") as ``service``."""
    channels = list(channels)
    for c in channels:
        c.service = chat.service_label(c.url) if c.kind == NotificationChannel.Kind.APPRISE else ""
    return channels


def settings_context(request: HttpRequest, **extra) -> dict:
    policy = EscalationPolicy.for_org(request.org.pk)
    pref = NotificationPreference.objects.filter(user=request.user).first()
    initial = {name: getattr(policy, name) for name in EscalationPolicyForm.base_fields}
    return {
        "channels": _with_services(NotificationChannel.objects.all()),
        "apprise_services": chat.SERVICES,
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


class SettingsWrite(WriteView):
    """An owner's write on the notification settings page: the page again (htmx, or a refused
    form as typed), or back to it (a plain post)."""

    role = staticmethod(owner_required)
    org = True

    def show(self, **forms) -> HttpResponse:
        context = settings_context(self.request, **forms)
        return render(self.request, "engagements/notification_settings.html", context)

    def done(self, result) -> str:
        return reverse("engagements:notification_settings")


# Add an e-mail, webhook or Apprise channel (their URLs pass the SSRF guard).
channel_create = SettingsWrite.as_view(
    form_class=ChannelForm,
    service=services.create_channel,
    form_name="channel_form",
    message=lambda channel: f"Channel “{channel.name}” added.",
)


@require_POST
@owner_required
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message through the channel (via the outbox, like a real alert)."""
    channel = get_object_or_404(NotificationChannel.objects, pk=pk)
    services.send_test_notification(channel=channel)
    messages.success(request, f"A test message to “{channel.name}” is on its way.")
    return redirect("engagements:notification_settings")


# Store who is told at which level and how often they are reminded.
escalation_policy_save = SettingsWrite.as_view(
    form_class=EscalationPolicyForm,
    service=services.save_escalation_policy,
    form_name="policy_form",
    message="Escalation policy saved.",
)


@allow_viewer
@require_POST
@member_required
def digest_toggle(request: HttpRequest) -> HttpResponse:
    """Turn your own daily digest e-mail on or off (viewers too: it is their inbox)."""
    enabled = request.POST.get("daily_digest") == "on"
    services.set_daily_digest(org=request.org, user=request.user, enabled=enabled)
    messages.success(request, f"Daily digest {'on' if enabled else 'off'}.")
    return redirect("engagements:notification_settings")


# --- correcting and removing a channel ---

CHANNEL_EDIT = "engagements/channel_edit.html"
SETTINGS = "engagements/notification_settings.html"


def _channel_form(channel: NotificationChannel, data=None) -> ChannelEditForm:
    initial = {
        "name": channel.name,
        "url": channel.url,
        "remind_hours": channel.remind_hours,
        "is_active": channel.is_active,
    }
    form = ChannelEditForm(data, initial=initial, auto_id=f"ch{channel.pk}_%s")
    if channel.kind != NotificationChannel.Kind.WEBHOOK:
        del form.fields["url"]  # e-mail goes to the members; Apprise has its own URL
    if channel.kind != NotificationChannel.Kind.APPRISE:
        del form.fields["apprise_url"]
    return form


def _channel_page(
    request: HttpRequest, channel: NotificationChannel, form, delete_form=None
) -> HttpResponse:
    """The channel's edit page, or only its editor (htmx swaps it into the channel list)."""
    context = {
        "channel": channel,
        "form": form,
        "delete_locked": services.channel_locked(channel),
        "delete_form": delete_form,
    }
    name = f"{CHANNEL_EDIT}#channel-edit" if request.htmx else CHANNEL_EDIT
    return TemplateResponse(request, name, context)


def _channels_saved(request: HttpRequest) -> HttpResponse:
    """The channel list after a change, in place of the list (not the editor)."""
    response = render(request, f"{SETTINGS}#channels", settings_context(request))
    response["HX-Retarget"] = "#channels"
    response["HX-Reswap"] = "outerHTML"
    return response


@require_http_methods(["GET", "POST"])
@owner_required
def channel_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Rename a channel, point it elsewhere (SSRF guard again), change its reminders or pause it."""
    channel = get_object_or_404(NotificationChannel.objects, pk=pk)
    form = _channel_form(channel, request.POST or None)
    if request.method == "GET":
        return _channel_page(request, channel, form)
    return answer_write(
        request,
        form,
        lambda: services.update_channel(channel=channel, **form.cleaned_data),
        show=lambda form=None: (
            _channels_saved(request) if form is None else _channel_page(request, channel, form)
        ),
        form_name="form",
        done=reverse("engagements:notification_settings") + "#channels",
        message=lambda channel: f"Channel “{channel.name}” saved.",
    )


@require_POST
@owner_required
def channel_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove a channel nothing but test messages went through (after confirming)."""
    channel = get_object_or_404(NotificationChannel.objects, pk=pk)
    back = reverse("engagements:notification_settings") + "#channels"
    if not confirmed(request):
        return ask_first(
            request,
            question=f"Remove the channel “{channel.name}”?",
            detail="Alerts are no longer sent there; its test messages go with it.",
            button="Remove",
            back=back,
        )
    return answer_write(
        request,
        Form(request.POST),
        lambda: services.delete_channel(channel=channel),
        show=lambda delete_form=None: (
            _channels_saved(request)
            if delete_form is None
            else _channel_page(request, channel, _channel_form(channel), delete_form)
        ),
        form_name="delete_form",
        done=back,
        message=f"Channel “{channel.name}” removed.",
    )
