"""Engagement pages: the list, the set-up flow and the engagement page with its in-place edits.

Every write view: decorate, fetch through the organization-scoped manager, validate with a
form, call one service, answer with the region htmx targets (or redirect a plain POST).
"""

from collections.abc import Callable
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
from outsourcing.htmx import answer_write, render

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


def _write(
    request: HttpRequest, engagement: Engagement, region: str, form: Form, service: Callable
) -> HttpResponse:
    """Answer a write to ``region`` with ``answer_write``, the service called with the form's
    data (the rest of its arguments bound by the view)."""
    call = lambda: service(**form.cleaned_data)  # noqa: E731 -- runs once the form is valid
    return answer_write(request, form, call, **_region(request, engagement, region))


def _engagement(pk: int) -> Engagement:
    return get_object_or_404(Engagement.objects.select_related("org"), pk=pk)


# --- header: status, readiness override, brief ------------------------------------------------


@require_POST
@manager_required
def engagement_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the engagement to another status (activate, pause, complete, cut losses)."""
    engagement = _engagement(pk)
    form = StatusForm(request.POST)
    change = partial(services.change_engagement_status, engagement=engagement, by=request.user)
    return _write(request, engagement, "engagement-header", form, change)


@require_POST
@manager_required
def readiness_override(request: HttpRequest, pk: int) -> HttpResponse:
    """Record why we go ahead although the readiness check said "too soon"."""
    engagement = _engagement(pk)
    check = get_object_or_404(ReadinessCheck.objects, engagement=engagement)
    form = ReadinessOverrideForm(request.POST)
    override = partial(services.override_readiness, check=check, by=request.user)
    return _write(request, engagement, "engagement-header", form, override)


@require_POST
@manager_required
def brief_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the brief we share with the vendor: vision, short- and long-term goals."""
    engagement = _engagement(pk)
    form = BriefForm(request.POST)
    update = partial(services.update_brief, engagement=engagement)
    return _write(request, engagement, "brief", form, update)


@require_POST
@manager_required
def watch_settings_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change how closely this engagement is watched (cadence, windows, thresholds)."""
    engagement = _engagement(pk)
    form = WatchSettingsForm(request.POST)
    update = partial(services.update_watch_settings, engagement=engagement)
    return _write(request, engagement, "watch-settings", form, update)


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


@require_POST
@manager_required
def milestone_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a milestone with its due date."""
    engagement = _engagement(pk)
    add = partial(services.add_milestone, engagement=engagement)
    return _write(request, engagement, "delivery-timeline", MilestoneForm(request.POST), add)


@require_POST
@manager_required
def deliverable_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a deliverable (with its acceptance criteria) under a milestone of this engagement."""
    engagement = _engagement(pk)
    form = DeliverableForm(request.POST, engagement=engagement)
    add = partial(services.add_deliverable, engagement=engagement, by=request.user)
    return _write(request, engagement, "delivery-timeline", form, add)


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


@require_POST
@manager_required
def scope_change_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a change of scope: what changed and why."""
    engagement = _engagement(pk)
    record = partial(services.record_scope_change, engagement=engagement, by=request.user)
    return _write(request, engagement, "scope-changes", ScopeChangeForm(request.POST), record)


# --- spend, interactions, questions, risks --------------------------------------------------


@require_POST
@manager_required
def spend_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record money paid: date, amount, what it paid for."""
    engagement = _engagement(pk)
    form = SpendForm(request.POST, engagement=engagement)
    record = partial(services.record_spend, engagement=engagement, by=request.user)
    return _write(request, engagement, "spend", form, record)


@require_POST
@manager_required
def interaction_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The quick-add: log a call, meeting, e-mail or message in a few seconds."""
    engagement = _engagement(pk)
    log = partial(services.log_interaction, engagement=engagement, by=request.user)
    return _write(request, engagement, "interactions", InteractionForm(request.POST), log)


@require_POST
@manager_required
def question_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an open question answered."""
    question = get_object_or_404(OpenQuestion.objects.select_related("engagement"), pk=pk)
    answer = partial(services.answer_question, question=question, by=request.user)
    return _write(request, question.engagement, "interactions", AnswerForm(request.POST), answer)


@require_POST
@manager_required
def risk_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a risk or obstacle with its mitigation plan."""
    engagement = _engagement(pk)
    form = RiskForm(request.POST, org=request.org)
    return _write(
        request, engagement, "risks", form, partial(services.add_risk, engagement=engagement)
    )


@require_POST
@manager_required
def risk_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a risk mitigated, occurred or closed."""
    risk = get_object_or_404(Risk.objects.select_related("engagement"), pk=pk)
    change = partial(services.change_risk_status, risk=risk)
    return _write(request, risk.engagement, "risks", RiskStatusForm(request.POST), change)
