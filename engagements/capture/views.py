"""Mail capture's pages: the triage inbox, an engagement's threads, the provider webhooks."""

from datetime import timedelta

from anymail.exceptions import (
    AnymailConfigurationError,
    AnymailError,
    AnymailWebhookValidationFailure,
)
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.audit import audit_as
from accounts.decorators import allow_viewer, manager_required, member_required
from accounts.tenancy import activate_tenant
from engagements.capture import calendar, inbound, services
from engagements.capture.forms import AssignForm, MeetingConfirmForm
from engagements.capture.models import (
    CalendarFeed,
    EngagementCapture,
    InboundMessage,
    MailThread,
    Meeting,
)
from engagements.delivery.models import Engagement
from outsourcing.confirm import ask_first, confirmed
from outsourcing.htmx import WriteView, render
from outsourcing.redirects import safe_next

TRIAGE_PAGE = 50


@csrf_exempt
@login_not_required
@require_POST
def inbound_webhook(request: HttpRequest, provider: str) -> HttpResponse:
    """A provider's inbound webhook (anymail verifies it); 404 until its secret is set."""
    if not inbound.configured(provider):
        raise Http404("This inbound webhook is not configured.")
    try:
        return inbound.PROVIDERS[provider].as_view()(request)
    except AnymailWebhookValidationFailure:
        raise  # a SuspiciousOperation: Django answers 400 and logs it as a security event
    except (
        KeyError,
        ValueError,
        TypeError,
        AttributeError,
        AnymailError,  # e.g. an SNS body that is not JSON, an unknown SNS message type
        AnymailConfigurationError,  # e.g. an SES rule that stores the message in S3
    ) as exc:
        # A payload the provider's parser cannot read: a clear 400, not a 500 (a 5xx would
        # make the provider retry the same broken payload). Database errors still 5xx.
        return HttpResponseBadRequest(f"Unreadable {provider} payload ({exc.__class__.__name__}).")


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
            "meetings": [
                (m, calendar.is_nagging(m, now), m.starts_at <= now)
                for m in Meeting.objects.filter(engagement=engagement).order_by("-starts_at")[:20]
            ],
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


MEETINGS_SHOWN = 20  # the region's rows, oldest first; the page says how many more wait
MEETINGS_PAGE = "engagements/meetings_to_confirm.html"


def meetings_context(request: HttpRequest, **extra) -> dict:
    """The meetings to confirm (two queries: a page of rows and their count)."""
    now = timezone.now()
    waiting = calendar.to_confirm(at=now)
    rows = [(m, calendar.is_nagging(m, now)) for m in waiting[:MEETINGS_SHOWN]]
    refused = extra.get("refused")
    return {
        # A refused answer is shown next to its meeting; one confirmed meanwhile is no longer
        # listed, so its refusal heads the region.
        "refused_elsewhere": refused is not None and all(m.pk != refused for m, _ in rows),
        "meetings": rows,
        "meetings_total": len(rows) if len(rows) < MEETINGS_SHOWN else waiting.count(),
        "can_write": bool(request.membership and request.membership.can_write),
        "nag_days": calendar.NAG_AFTER.days,
        **extra,
    }


@require_safe
@member_required
def meetings_to_confirm(request: HttpRequest) -> HttpResponse:
    """Started meetings nobody confirmed yet (the dashboard loads this region into itself)."""
    return render(
        request, MEETINGS_PAGE, meetings_context(request), partials=["meetings-to-confirm"]
    )


class MeetingConfirm(WriteView):
    """One click after the start: held, vendor no-show or we cancelled. Answers the dashboard's
    region (htmx), or goes back where the plain form came from (``next``: the dashboard, the
    engagement's mail page)."""

    role = staticmethod(manager_required)
    model = Meeting
    related = ("engagement",)
    form_class = MeetingConfirmForm
    by = True

    def show(self, **context) -> HttpResponse:
        if "form" in context:  # refused: the error next to its meeting
            context = {"refused": self.object.pk, "refused_form": context.pop("form")}
        return render(
            self.request,
            MEETINGS_PAGE,
            meetings_context(self.request, **context),
            partials=["meetings-to-confirm"],
        )

    def done(self, result) -> str:
        fallback = reverse("engagements:mail_threads", args=[self.object.engagement_id])
        return safe_next(self.request, self.request.POST.get("next"), fallback)

    def success_message(self, result) -> str:
        return f"“{result.summary or 'Meeting'}”: {result.get_state_display().lower()}."


meeting_confirm = MeetingConfirm.as_view(service=calendar.confirm_meeting, message=True)


# --- the digest's signed links (no log-in needed; a GET only asks) --------------------------


def _link_page(request: HttpRequest, token: str, status: int = 200, **context) -> HttpResponse:
    return TemplateResponse(
        request,
        "engagements/meeting_link.html",
        {"token": token, **context},
        status=status,
    )


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def meeting_link(request: HttpRequest, token: str) -> HttpResponse:
    """A digest's "how did it go?" link: the question on GET, the answer recorded on POST, for
    the member the link was made for (signed, single-purpose, expiring; ``calendar``)."""
    link = calendar.link_for_token(token)
    if link is None:
        return _link_page(request, token, invalid=True, status=404)
    meeting = link.meeting
    activate_tenant(meeting.org)
    timezone.activate(meeting.org.tzinfo)  # the middleware deactivates it after the request
    context = {
        "link": link,
        "meeting": meeting,
        "engagement": meeting.engagement,
        "answer": dict(calendar.ANSWERS)[link.state],
    }
    if request.method == "POST":
        audit_as(via="email", label="digest link", user=link.user)
        try:
            calendar.confirm_meeting(meeting=meeting, state=link.state, by=link.user)
        except ValidationError as exc:
            return _link_page(request, token, **context, error=" ".join(exc.messages), status=409)
        return _link_page(request, token, **context, done=True)
    return _link_page(request, token, **context)


@require_safe
@member_required
def calendar_feeds(request: HttpRequest) -> HttpResponse:
    """The member's calendar feed URLs (create one, revoke one)."""
    feeds = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True)
    return render(request, "engagements/calendar_feeds.html", {"feeds": list(feeds)})


@require_POST
@allow_viewer  # a feed only reads, and it is the member's own
@member_required
def calendar_feed_create(request: HttpRequest) -> HttpResponse:
    """A new secret feed URL, shown this once."""
    _feed, token = calendar.create_feed(org=request.org, user=request.user)
    url = settings.SITE_URL + reverse("engagements:calendar_feed", args=[token])
    feeds = CalendarFeed.objects.filter(user=request.user, revoked_at__isnull=True)
    return render(
        request, "engagements/calendar_feeds.html", {"feeds": list(feeds), "new_url": url}
    )


@require_POST
@allow_viewer
@member_required
def calendar_feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the member's feed URLs."""
    feed = get_object_or_404(CalendarFeed.objects.filter(user=request.user), pk=pk)
    if not confirmed(request):
        return ask_first(
            request,
            question="Revoke this calendar feed?",
            detail="Calendar apps subscribed to its address stop getting updates at once.",
            button="Revoke",
            back=reverse("engagements:calendar_feeds"),
        )
    calendar.revoke_feed(feed=feed)
    messages.success(request, "Feed revoked: calendar apps stop getting updates.")
    return redirect("engagements:calendar_feeds")


@login_not_required
@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed behind a secret URL (404 once revoked)."""
    feed = calendar.feed_for_token(token)
    if feed is None:
        raise Http404("No such calendar feed.")
    response = HttpResponse(
        calendar.feed_ics(feed=feed), content_type="text/calendar; charset=utf-8"
    )
    response["Cache-Control"] = "private, max-age=300"
    return response
