"""The vendor portal (no log-in: the private link is the key) and, on the engagement page,
the owners' and managers' side of it: invite a vendor contact, revoke a link.

Wrong, expired and revoked links get the same 404 page; an address that tries too many
wrong links in a minute gets 429 before any lookup.
"""

from collections.abc import Callable
from functools import partial, wraps

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from accounts.audit import audit_as
from accounts.decorators import manager_required
from accounts.tenancy import activate_tenant
from engagements.delivery.models import Deliverable, Engagement, Milestone
from engagements.delivery.pages import PAGE, REGIONS, context_for
from engagements.portal import services
from engagements.portal.forms import CheckInForm, PortalInviteForm, PortalSubmitForm, QuestionForm
from engagements.portal.mail import portal_url
from engagements.portal.models import PortalAccess
from outsourcing.htmx import WriteView, answer_write, render

PORTAL_PAGE = "engagements/portal.html"


# --- the portal -------------------------------------------------------------------------------
def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "unknown")


def portal_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve the link to its access (or the one 404), enter its tenant and audit channel."""

    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        key = f"portal-bad-links:{_client_ip(request)}"
        if cache.get(key, 0) >= settings.PORTAL_BAD_LINKS_PER_MINUTE:
            response = TemplateResponse(request, "engagements/portal_throttled.html", status=429)
            response["Retry-After"] = "60"
            return response
        access = services.find_portal_access(token)
        if access is None:
            cache.add(key, 0, timeout=60)
            cache.incr(key)
            raise Http404("No such portal link.")
        activate_tenant(access.org)
        audit_as(
            via="portal",
            label=f"portal: {access.contact.name} ({access.contact.vendor.name})",
        )
        return view(request, access)

    return login_not_required(wrapper)


def _portal(request: HttpRequest, access: PortalAccess, **forms) -> TemplateResponse:
    """The brief: vision, goal, done, milestones and deliverables. Never money or our notes."""
    engagement = access.engagement
    milestones = Milestone.objects.filter(engagement=engagement).prefetch_related(
        Prefetch("deliverables", queryset=Deliverable.objects.order_by("due_date", "pk"))
    )
    context = {
        "access": access,
        "engagement": engagement,
        "contact": access.contact,
        "milestones": milestones,
        "checkin_form": forms.get("checkin_form") or CheckInForm(),
        "question_form": forms.get("question_form") or QuestionForm(),
        "submit_form": forms.get("submit_form") or PortalSubmitForm(engagement=engagement),
    }
    return TemplateResponse(request, PORTAL_PAGE, context)


@portal_view
@require_safe
def portal_home(request: HttpRequest, access: PortalAccess) -> HttpResponse:
    """The vendor's page: our brief for them, and the three things they can tell us."""
    return _portal(request, access)


class PortalWrite(WriteView):
    """What the vendor tells us from the portal: back to the portal page (a plain post), or
    the page with the form as typed. The link is checked first (``portal_view``: a wrong one
    is the same 404 whatever the method), then POST only."""

    object_name = "access"

    @classmethod
    def as_view(cls, **initkwargs):
        return portal_view(require_POST(super(WriteView, cls).as_view(**initkwargs)))

    def get_object(self, access: PortalAccess) -> PortalAccess:
        return access  # ``portal_view`` resolved the link to it

    def objects(self) -> dict:
        return {**super().objects(), "engagement": self.object.engagement}

    def show(self, **forms) -> HttpResponse:
        return _portal(self.request, self.object, **forms)

    def done(self, result) -> str:
        return reverse("portal:portal_home", args=[self.request.resolver_match.kwargs["token"]])


# Post a check-in: progress, blockers and a comfort rating from the vendor's side.
portal_check_in = PortalWrite.as_view(
    form_class=CheckInForm,
    service=services.post_check_in,
    message="Thank you: your check-in reached the team.",
)

# Ask the team a question; it stays open (and watched) until they answer.
portal_question = PortalWrite.as_view(
    form_class=QuestionForm,
    service=services.ask_question,
    message="Your question is with the team.",
)

# Mark a deliverable submitted, with a note or a link to the work.
portal_submit = PortalWrite.as_view(
    form_class=PortalSubmitForm,
    form_with=("engagement",),
    service=services.submit_deliverable,
    message="Marked as submitted: the team will review it.",
)


# --- on the engagement page -------------------------------------------------------------------


def _show_portal_access(request: HttpRequest, pk: int, **context) -> HttpResponse:
    """The engagement page's portal-access region (htmx) or the whole page (plain)."""
    engagement = Engagement.objects.for_detail().get(pk=pk)
    return render(request, PAGE, context_for(request, engagement, **context), partials=REGIONS)


@require_POST
@manager_required
def portal_access_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Give a vendor contact a private link; the link is shown here once (and e-mailed)."""
    engagement = get_object_or_404(Engagement.objects.for_detail(), pk=pk)
    form = PortalInviteForm(request.POST, engagement=engagement)
    return answer_write(
        request,
        form,
        lambda: services.invite_vendor_contact(
            engagement=engagement, contact=form.cleaned_data["contact"], by=request.user
        ),
        show=partial(_show_portal_access, request, engagement.pk),
        # No redirect, even for a plain post: the link is shown this once.
        shown=lambda invited: {"portal_new": invited[0], "portal_link": portal_url(invited[1])},
    )


@require_POST
@manager_required
def portal_access_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a portal link: it stops working at once."""
    access = get_object_or_404(PortalAccess.objects.select_related("engagement"), pk=pk)
    services.revoke_portal_access(access=access)
    if not request.htmx:
        return redirect("engagements:engagement_detail", pk=access.engagement_id)
    return _show_portal_access(request, access.engagement_id)
