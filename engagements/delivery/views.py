"""Engagement pages: the list, the set-up flow and the engagement page with its in-place edits.

Every write view: decorate, fetch through the organization-scoped manager, validate with a
form, call one service, answer with the region htmx targets (or redirect a plain POST). Most
are only that, so they are declared (``RegionWrite``: the form, the service, the region); the
few that do more are functions around ``answer_write``.
"""

from functools import partial

from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import manager_required, member_required
from engagements.delivery import services
from engagements.delivery.forms import (
    AnswerForm,
    BriefForm,
    DeliverableEditForm,
    DeliverableForm,
    EngagementFilterForm,
    EngagementForm,
    ExitCriterionForm,
    InteractionForm,
    MilestoneForm,
    ReadinessOverrideForm,
    RiskForm,
    RiskStatusForm,
    ScopeChangeForm,
    SpendForm,
    StatusForm,
    TransitionForm,
    WatchSettingsForm,
)
from engagements.delivery.models import (
    Deliverable,
    Engagement,
    EngagementDefaults,
    OpenQuestion,
    ReadinessCheck,
    Risk,
)
from engagements.delivery.pages import PAGE, REGIONS, context_for
from outsourcing.htmx import WriteView, answer_write, render

ENGAGEMENTS_PER_PAGE = 25


# --- list and set-up ------------------------------------------------------------------------


@require_safe
@member_required
def engagement_list(request: HttpRequest) -> HttpResponse:
    """All engagements of the organization, filtered by vendor, status and owner, sorted."""
    form = EngagementFilterForm(request.GET or None, org=request.org)
    engagements = form.apply(Engagement.objects.for_list())
    page = Paginator(engagements, ENGAGEMENTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "engagements/engagement_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
        partials=["engagement-table"],
    )


@require_http_methods(["GET", "POST"])
@manager_required
def engagement_create(request: HttpRequest) -> HttpResponse:
    """Set up an engagement and answer the readiness check in one short form."""
    defaults = EngagementDefaults.objects.first() or EngagementDefaults()  # GET never writes
    initial = {
        **defaults.watch_settings(),
        "currency": request.org.currency,
        "owner": request.user.pk,
        "start_date": timezone.localdate(),
    }
    form = EngagementForm(request.POST or None, initial=initial, org=request.org)
    show = partial(render, request, "engagements/engagement_form.html")
    if request.method == "GET":
        return show({"form": form})
    return answer_write(
        request,
        form,
        lambda: services.set_up_engagement(
            org=request.org,
            by=request.user,
            readiness=form.readiness_data(),
            **form.engagement_data(),
        ),
        show=lambda **context: show({"form": form}),
        done=lambda engagement: reverse("engagements:engagement_detail", args=[engagement.pk]),
    )


# --- the engagement page --------------------------------------------------------------------


@require_safe
@member_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The engagement page: goal, status, burn, delivery, interactions, spend, risks, exit lines."""
    engagement = get_object_or_404(Engagement.objects.for_detail(), pk=pk)
    return render(request, PAGE, context_for(request, engagement), partials=REGIONS)


# Delivery and spend change the header's burn figures (and delivery the scope changes):
# htmx swaps those out of band.
OUT_OF_BAND = ("delivery-timeline", "spend")


def _show_region(request: HttpRequest, pk: int, region: str, **context) -> HttpResponse:
    """The engagement page after a write: the region htmx targets, the whole page otherwise."""
    engagement = Engagement.objects.for_detail().get(pk=pk)  # fresh burn figures
    context.setdefault("oob_header", bool(request.htmx) and region in OUT_OF_BAND)
    return render(request, PAGE, context_for(request, engagement, **context), partials=REGIONS)


def _region(request: HttpRequest, engagement: Engagement, region: str) -> dict:
    """``answer_write``'s answers for a write to one region of the engagement page: the region
    (htmx) or the page at that region (a plain post)."""
    return {
        "show": partial(_show_region, request, engagement.pk, region),
        "done": reverse("engagements:engagement_detail", args=[engagement.pk]) + f"#{region}",
    }


def _engagement(pk: int) -> Engagement:
    return get_object_or_404(Engagement.objects.select_related("org"), pk=pk)


class RegionWrite(WriteView):
    """A manager's write to one region of the engagement page (``region``): the region (htmx)
    or, for a plain post, the page at that region. ``model`` is what the URL's pk names: the
    engagement, or one of its rows."""

    role = staticmethod(manager_required)
    model = Engagement
    related = ("org",)
    region = ""

    def objects(self) -> dict:
        engagement = getattr(self.object, "engagement", self.object)
        return {**super().objects(), "engagement": engagement}

    def show(self, **context) -> HttpResponse:
        return _show_region(self.request, self.objects()["engagement"].pk, self.region, **context)

    def done(self, result) -> str:
        engagement = self.objects()["engagement"]
        return reverse("engagements:engagement_detail", args=[engagement.pk]) + f"#{self.region}"


# --- header: status, readiness override, brief ------------------------------------------------

# Move the engagement to another status (activate, pause, complete, cut losses).
engagement_status = RegionWrite.as_view(
    form_class=StatusForm,
    service=services.change_engagement_status,
    by=True,
    region="engagement-header",
)

# Record why we go ahead although the readiness check said "too soon".
readiness_override = RegionWrite.as_view(
    model=ReadinessCheck,
    lookup="engagement",
    related=("engagement__org",),
    object_name="check",
    form_class=ReadinessOverrideForm,
    service=services.override_readiness,
    by=True,
    region="engagement-header",
)

# Edit the brief we share with the vendor: vision, short- and long-term goals.
brief_update = RegionWrite.as_view(
    form_class=BriefForm, service=services.update_brief, region="brief"
)

# Change how closely this engagement is watched (cadence, windows, thresholds).
watch_settings_update = RegionWrite.as_view(
    form_class=WatchSettingsForm, service=services.update_watch_settings, region="watch-settings"
)


@require_POST
@manager_required
def exit_criterion_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a custom exit criterion."""
    engagement = _engagement(pk)
    form = ExitCriterionForm(request.POST)
    return answer_write(
        request,
        form,
        lambda: services.add_exit_criterion(
            engagement=engagement, by=request.user, criterion=form.criterion()
        ),
        **_region(request, engagement, "exit-criteria"),
    )


# --- delivery ---------------------------------------------------------------------------------

# Add a milestone with its due date.
milestone_create = RegionWrite.as_view(
    form_class=MilestoneForm, service=services.add_milestone, region="delivery-timeline"
)

# Add a deliverable (with its acceptance criteria) under a milestone of this engagement.
deliverable_create = RegionWrite.as_view(
    form_class=DeliverableForm,
    form_with=("engagement",),
    service=services.add_deliverable,
    by=True,
    region="delivery-timeline",
)


@require_POST
@manager_required
def deliverable_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Start, submit, accept, reject or resubmit a deliverable; the loser of a race is told."""
    deliverable = get_object_or_404(Deliverable.objects.select_related("engagement"), pk=pk)
    form = TransitionForm(request.POST)
    return answer_write(
        request,
        form,
        lambda: services.transition_deliverable(
            deliverable=deliverable,
            to=form.cleaned_data["to"],
            by=request.user,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        ),
        # The buttons carry no fields: the reason goes beside them, with the note as typed.
        refused=lambda form: {
            "transition_error": (
                deliverable.pk,
                " ".join(e for errors in form.errors.values() for e in errors),
                form.data.get("note", ""),
            )
        },
        **_region(request, deliverable.engagement, "delivery-timeline"),
    )


@require_POST
@manager_required
def deliverable_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change what a deliverable asks for; the change is recorded as a scope change."""
    deliverable = get_object_or_404(Deliverable.objects.select_related("engagement"), pk=pk)
    form = DeliverableEditForm(request.POST, engagement=deliverable.engagement)
    return answer_write(
        request,
        form,
        lambda: services.update_deliverable(
            deliverable=deliverable,
            by=request.user,
            why=form.cleaned_data["why"],
            expected_version=form.cleaned_data["version"],
            **form.changes(),
        ),
        # The saved deliverable above, the change as typed (not saved) in its form below.
        refused=lambda form: {
            "edit_error": (deliverable.pk, _messages(form)),
            "edit_values": (deliverable.pk, request.POST),
        },
        **_region(request, deliverable.engagement, "delivery-timeline"),
    )


def _messages(form: Form) -> str:
    """A form's errors as one sentence per field, for a region that shows no form fields."""
    parts = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        prefix = f"{field.label or name.replace('_', ' ').capitalize()}: " if field else ""
        parts.extend(prefix + error for error in errors)
    return " ".join(parts)


# Record a change of scope: what changed and why.
scope_change_create = RegionWrite.as_view(
    form_class=ScopeChangeForm,
    service=services.record_scope_change,
    by=True,
    region="scope-changes",
)


# --- spend, interactions, questions, risks --------------------------------------------------

# Record money paid: date, amount, what it paid for.
spend_create = RegionWrite.as_view(
    form_class=SpendForm,
    form_with=("engagement",),
    service=services.record_spend,
    by=True,
    region="spend",
)

# The quick-add: log a call, meeting, e-mail or message in a few seconds.
interaction_create = RegionWrite.as_view(
    form_class=InteractionForm, service=services.log_interaction, by=True, region="interactions"
)

# Mark an open question answered.
question_answer = RegionWrite.as_view(
    model=OpenQuestion,
    related=("engagement",),
    object_name="question",
    form_class=AnswerForm,
    service=services.answer_question,
    region="interactions",
)

# Record a risk or obstacle with its mitigation plan.
risk_create = RegionWrite.as_view(
    form_class=RiskForm, form_with=("org",), service=services.add_risk, region="risks"
)

# Mark a risk mitigated, occurred or closed.
risk_status = RegionWrite.as_view(
    model=Risk,
    related=("engagement",),
    form_class=RiskStatusForm,
    service=services.change_risk_status,
    region="risks",
)
