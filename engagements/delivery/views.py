"""Engagement pages: the list, the set-up flow and the engagement page with its in-place edits.

Every write view: decorate, fetch through the organization-scoped manager, validate with a
form, call one service, answer with the region htmx targets (or redirect a plain POST).
"""

from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
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
from engagements.delivery.pages import PAGE, REGIONS, engagement_metrics, page_context
from outsourcing.forms import apply_service, lost_race
from outsourcing.htmx import render

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
    created = []
    if request.method == "POST" and apply_service(
        form,
        lambda: created.append(
            services.set_up_engagement(
                org=request.org,
                by=request.user,
                readiness=form.readiness_data(),
                **form.engagement_data(),
            )
        ),
    ):
        return redirect("engagements:engagement_detail", pk=created[0].pk)
    status = 422 if request.method == "POST" and not request.htmx else 200
    return render(request, "engagements/engagement_form.html", {"form": form}, status=status)


# --- the engagement page --------------------------------------------------------------------


@require_safe
@member_required
def engagement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The engagement page: goal, status, burn, delivery, interactions, spend, risks, exit lines."""
    engagement = get_object_or_404(Engagement.objects.for_detail(), pk=pk)
    context = page_context(request, engagement, metrics=engagement_metrics(engagement))
    return render(request, PAGE, context, partials=["interactions"])


def _answer(
    request: HttpRequest, engagement: Engagement, region: str, ok: bool, **context
) -> HttpResponse:
    """Success: the region (htmx) or a redirect (plain). Refused: the form again, with why."""
    if ok and not request.htmx:
        return redirect(
            reverse("engagements:engagement_detail", args=[engagement.pk]) + f"#{region}"
        )
    status = context.pop("status", 200 if ok or request.htmx else 422)
    if ok:  # a fresh, empty form for the next entry
        context = {k: v for k, v in context.items() if not k.endswith("_form")}
    # Delivery and spend change the header's burn figures (and delivery the scope changes):
    # htmx swaps those out of band.
    context.setdefault(
        "oob_header", bool(request.htmx) and region in ("delivery-timeline", "spend")
    )
    engagement = Engagement.objects.for_detail().get(pk=engagement.pk)  # fresh burn figures
    if not request.htmx or request.htmx.target == "exit-criteria":
        # The live metric values (ten queries) only show in the exit-criteria region.
        context.setdefault("metrics", engagement_metrics(engagement))
    return render(
        request, PAGE, page_context(request, engagement, **context), partials=REGIONS, status=status
    )


def _engagement(pk: int) -> Engagement:
    return get_object_or_404(Engagement.objects.select_related("org"), pk=pk)


# --- header: status, readiness override, brief ------------------------------------------------


@require_POST
@manager_required
def engagement_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the engagement to another status (activate, pause, complete, cut losses)."""
    engagement = _engagement(pk)
    form = StatusForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.change_engagement_status(
            engagement=engagement,
            to=form.cleaned_data["to"],
            by=request.user,
            reason=form.cleaned_data["reason"],
        ),
    )
    return _answer(request, engagement, "engagement-header", ok, status_form=form)


@require_POST
@manager_required
def readiness_override(request: HttpRequest, pk: int) -> HttpResponse:
    """Record why we go ahead although the readiness check said "too soon"."""
    engagement = _engagement(pk)
    check = get_object_or_404(ReadinessCheck.objects, engagement=engagement)
    form = ReadinessOverrideForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.override_readiness(
            check=check, by=request.user, reason=form.cleaned_data["reason"]
        ),
    )
    return _answer(request, engagement, "engagement-header", ok, override_form=form)


@require_POST
@manager_required
def brief_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit the brief we share with the vendor: vision, short- and long-term goals."""
    engagement = _engagement(pk)
    form = BriefForm(request.POST)
    ok = apply_service(
        form, lambda: services.update_brief(engagement=engagement, **form.cleaned_data)
    )
    return _answer(request, engagement, "brief", ok, brief_form=form)


@require_POST
@manager_required
def watch_settings_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change how closely this engagement is watched (cadence, windows, thresholds)."""
    engagement = _engagement(pk)
    form = WatchSettingsForm(request.POST)
    ok = apply_service(
        form, lambda: services.update_watch_settings(engagement=engagement, **form.cleaned_data)
    )
    return _answer(request, engagement, "watch-settings", ok, watch_form=form)


@require_POST
@manager_required
def exit_criterion_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a custom exit criterion."""
    engagement = _engagement(pk)
    form = ExitCriterionForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.add_exit_criterion(
            engagement=engagement, by=request.user, criterion=form.criterion()
        ),
    )
    return _answer(request, engagement, "exit-criteria", ok, criterion_form=form)


# --- delivery ---------------------------------------------------------------------------------


@require_POST
@manager_required
def milestone_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a milestone with its due date."""
    engagement = _engagement(pk)
    form = MilestoneForm(request.POST)
    ok = apply_service(
        form, lambda: services.add_milestone(engagement=engagement, **form.cleaned_data)
    )
    return _answer(request, engagement, "delivery-timeline", ok, milestone_form=form)


@require_POST
@manager_required
def deliverable_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a deliverable (with its acceptance criteria) under a milestone of this engagement."""
    engagement = _engagement(pk)
    form = DeliverableForm(request.POST, engagement=engagement)
    ok = apply_service(
        form,
        lambda: services.add_deliverable(
            engagement=engagement, by=request.user, **form.cleaned_data
        ),
    )
    return _answer(request, engagement, "delivery-timeline", ok, deliverable_form=form)


@require_POST
@manager_required
def deliverable_transition(request: HttpRequest, pk: int) -> HttpResponse:
    """Start, submit, accept, reject or resubmit a deliverable; the loser of a race is told."""
    deliverable = get_object_or_404(Deliverable.objects.select_related("engagement"), pk=pk)
    form = TransitionForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.transition_deliverable(
            deliverable=deliverable,
            to=form.cleaned_data["to"],
            by=request.user,
            note=form.cleaned_data["note"],
            expected_version=form.cleaned_data["version"],
        ),
    )
    status = 409 if lost_race(form) and not request.htmx else None
    error = None if ok else " ".join(e for errors in form.errors.values() for e in errors)
    # The refused form keeps the reason the person typed (the third item).
    extra = (
        {"transition_error": (deliverable.pk, error, form.data.get("note", ""))} if error else {}
    )
    if status:
        extra["status"] = status
    return _answer(request, deliverable.engagement, "delivery-timeline", ok, **extra)


@require_POST
@manager_required
def deliverable_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change what a deliverable asks for; the change is recorded as a scope change."""
    deliverable = get_object_or_404(Deliverable.objects.select_related("engagement"), pk=pk)
    form = DeliverableEditForm(request.POST, engagement=deliverable.engagement)
    ok = apply_service(
        form,
        lambda: services.update_deliverable(
            deliverable=deliverable,
            by=request.user,
            why=form.cleaned_data["why"],
            expected_version=form.cleaned_data["version"],
            **form.changes(),
        ),
    )
    status = 409 if lost_race(form) and not request.htmx else None
    extra = {} if ok else {"edit_error": (deliverable.pk, _messages(form))}
    if not ok:
        extra["edit_values"] = (deliverable.pk, request.POST)
    if status:
        extra["status"] = status
    return _answer(request, deliverable.engagement, "delivery-timeline", ok, **extra)


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
    form = ScopeChangeForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.record_scope_change(
            engagement=engagement, by=request.user, **form.cleaned_data
        ),
    )
    return _answer(request, engagement, "scope-changes", ok, scope_form=form)


# --- spend, interactions, questions, risks --------------------------------------------------


@require_POST
@manager_required
def spend_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record money paid: date, amount, what it paid for."""
    engagement = _engagement(pk)
    form = SpendForm(request.POST, engagement=engagement)
    ok = apply_service(
        form,
        lambda: services.record_spend(engagement=engagement, by=request.user, **form.cleaned_data),
    )
    return _answer(request, engagement, "spend", ok, spend_form=form)


@require_POST
@manager_required
def interaction_create(request: HttpRequest, pk: int) -> HttpResponse:
    """The quick-add: log a call, meeting, e-mail or message in a few seconds."""
    engagement = _engagement(pk)
    form = InteractionForm(request.POST)
    ok = apply_service(
        form,
        lambda: services.log_interaction(
            engagement=engagement, by=request.user, **form.cleaned_data
        ),
    )
    return _answer(request, engagement, "interactions", ok, interaction_form=form)


@require_POST
@manager_required
def question_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark an open question answered."""
    question = get_object_or_404(OpenQuestion.objects.select_related("engagement"), pk=pk)
    form = AnswerForm(request.POST)
    ok = apply_service(
        form, lambda: services.answer_question(question=question, **form.cleaned_data)
    )
    return _answer(request, question.engagement, "interactions", ok)


@require_POST
@manager_required
def risk_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a risk or obstacle with its mitigation plan."""
    engagement = _engagement(pk)
    form = RiskForm(request.POST, org=request.org)
    ok = apply_service(form, lambda: services.add_risk(engagement=engagement, **form.cleaned_data))
    return _answer(request, engagement, "risks", ok, risk_form=form)


@require_POST
@manager_required
def risk_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a risk mitigated, occurred or closed."""
    risk = get_object_or_404(Risk.objects.select_related("engagement"), pk=pk)
    form = RiskStatusForm(request.POST)
    ok = apply_service(form, lambda: services.change_risk_status(risk=risk, **form.cleaned_data))
    return _answer(request, risk.engagement, "risks", ok)
