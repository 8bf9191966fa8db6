"""Notification channels, the escalation policy and a member's own digest choice."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import allow_viewer, member_required, owner_required
from engagements.alert_forms import ChannelForm, EscalationPolicyForm
from engagements.models import (
    EscalationPolicy,
    Notification,
    NotificationChannel,
    NotificationPreference,
)
from engagements.services import health
from outsourcing.htmx import render


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
            health.create_channel(org=request.org, **form.cleaned_data)
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
    health.send_test_notification(channel=channel)
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
    health.save_escalation_policy(org=request.org, **form.cleaned_data)
    messages.success(request, "Escalation policy saved.")
    return redirect("engagements:notification_settings")


@allow_viewer
@require_POST
@member_required
def digest_toggle(request: HttpRequest) -> HttpResponse:
    """Turn your own daily digest e-mail on or off (viewers too: it is their inbox)."""
    enabled = request.POST.get("daily_digest") == "on"
    health.set_daily_digest(org=request.org, user=request.user, enabled=enabled)
    messages.success(request, f"Daily digest {'on' if enabled else 'off'}.")
    return redirect("engagements:notification_settings")
