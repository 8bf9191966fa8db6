"""Mail capture's pages: the triage inbox, an engagement's threads, the provider webhooks."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import manager_required, member_required
from engagements.capture import inbound, services
from engagements.capture.forms import AssignForm
from engagements.capture.models import EngagementCapture, InboundMessage, MailThread
from engagements.delivery.models import Engagement
from outsourcing.htmx import render

TRIAGE_PAGE = 50


@csrf_exempt
@login_not_required
@require_POST
def inbound_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's inbound webhook (anymail verifies it); 404 until its secret is set."""
    if not inbound.configured(provider):
        raise Http404("This inbound webhook is not configured.")
    return inbound.PROVIDERS[provider].as_view()(request)


@require_safe
@member_required
def triage_list(request: HttpRequest) -> HttpResponse:
    """Messages the matcher could not place, newest first, each with assign and ignore."""
    waiting = InboundMessage.objects.filter(status=InboundMessage.Status.TRIAGE)
    rows = list(waiting.order_by("-received_at", "-pk")[:TRIAGE_PAGE])
    return render(
        request,
        "engagements/triage_list.html",
        {"rows": rows, "total": waiting.count(), "form": AssignForm()},
    )


@require_POST
@manager_required
def triage_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """File a message under an engagement (the matcher learns its outside addresses)."""
    message = get_object_or_404(InboundMessage.objects.all(), pk=pk)
    form = AssignForm(request.POST)
    if form.is_valid():
        try:
            services.assign_message(
                message=message, engagement=form.cleaned_data["engagement"], by=request.user
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Filed under “{form.cleaned_data['engagement'].title}”.")
    else:
        messages.error(request, "Choose one of your engagements.")
    return redirect("engagements:triage_list")


@require_POST
@manager_required
def triage_ignore(request: HttpRequest, pk: int) -> HttpResponse:
    """Ignore a message; mail with the same outside addresses is ignored from now on."""
    message = get_object_or_404(InboundMessage.objects.all(), pk=pk)
    try:
        services.ignore_message(message=message, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Ignored; mail from these addresses will be ignored too.")
    return redirect("engagements:triage_list")


@require_safe
@member_required
def mail_threads(request: HttpRequest, pk: int) -> HttpResponse:
    """An engagement's captured threads, each message with its reply state."""
    engagement = get_object_or_404(Engagement.objects.select_related("vendor"), pk=pk)
    capture = EngagementCapture.objects.filter(engagement=engagement).first()
    threads = list(
        MailThread.objects.filter(engagement=engagement).prefetch_related(
            Prefetch(
                "messages",
                queryset=InboundMessage.objects.select_related("interaction")
                .prefetch_related("attachments")
                .order_by("sent_at", "pk"),
            )
        )[:50]
    )
    now = timezone.now()
    window = timedelta(hours=engagement.response_window_hours)
    for thread in threads:
        for m in thread.messages.all():
            m.state = _state(m, now, window)
    return render(
        request,
        "engagements/mail_threads.html",
        {
            "engagement": engagement,
            "capture": capture,
            "address": services.capture_address(capture.token) if capture else "",
            "configured": bool(services.capture_address("x")),
            "threads": threads,
        },
    )


def _state(message: InboundMessage, now, window) -> str:
    interaction = message.interaction
    if interaction is None:
        return message.get_status_display()
    if interaction.outcome == "answered":
        return f"answered after {interaction.response_hours} h"
    waiting_for = "the vendor" if message.direction == "we_to_vendor" else "us"
    if now - message.sent_at > window:
        return f"unanswered (waiting for {waiting_for})"
    return f"awaiting a reply from {waiting_for}"


@require_POST
@manager_required
def capture_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch mail capture on or off for an engagement."""
    engagement = get_object_or_404(Engagement.objects.all(), pk=pk)
    enabled = request.POST.get("enabled") == "1"
    services.set_capture(engagement=engagement, enabled=enabled)
    messages.success(request, "Mail capture is on." if enabled else "Mail capture is off.")
    return redirect("engagements:mail_threads", pk=engagement.pk)
