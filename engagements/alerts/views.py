"""Acting on health alerts (acknowledge, snooze, resolve, terminate) and an engagement's health."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import manager_required, member_required
from engagements.alert_forms import AcknowledgeForm, ResolveForm, SnoozeForm, TerminateForm
from engagements.models import Alert, Engagement, EngagementHealth
from engagements.services import health
from outsourcing.htmx import render

from .dashboard import dashboard_context, sparkline


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
        "summary": health.loss_summary(engagement=alert.engagement, at=timezone.now()),
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
        lambda a, d: health.acknowledge_alert(alert=a, by=request.user, note=d["note"]),
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
        lambda a, d: health.snooze_alert(
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
        lambda a, d: health.resolve_alert(alert=a, by=request.user, note=d["note"]),
    )


@require_POST
@manager_required
def engagement_terminate(request: HttpRequest, pk: int) -> HttpResponse:
    """Cut losses: terminate the engagement (the post-mortem issue will take it from here)."""
    engagement = get_object_or_404(Engagement.objects, pk=pk)
    form = TerminateForm(request.POST)
    if form.is_valid():
        try:
            health.terminate_engagement(
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
