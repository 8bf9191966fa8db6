"""Engagement pages: the list, the set-up flow and the engagement page with its in-place edits.

Every write view: decorate, fetch through the organization-scoped manager, validate with a
form, call one service, answer with the region htmx targets (or redirect a plain POST). Most
are only that, so they are declared (``RegionWrite``: the form, the service, the region); the
few that do more are functions around ``answer_write``.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.core.paginator import Paginator
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import truncatechars
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.decorators import manager_required, member_required
from engagements.delivery import services
from engagements.delivery.forms import (
    AnswerForm,
    BriefForm,
    DeliverableDeleteForm,
    DeliverableEditForm,
    DeliverableForm,
    EngagementEditForm,
    EngagementFilterForm,
    EngagementForm,
    ExitCriterionForm,
    InteractionEditForm,
    InteractionForm,
    MilestoneForm,
    ReadinessForm,
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
    ExitCriterion,
    Interaction,
    Milestone,
    OpenQuestion,
    ReadinessCheck,
    Risk,
    ScopeChange,
    SpendEntry,
)
from engagements.delivery.pages import PAGE, REGIONS, context_for, region_context
from outsourcing.formats import day, moment, money
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
    by=True,
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


# --- corrections: change or remove what a person typed ----------------------------------------
#
# Each record has an edit page (GET) that htmx swaps into its region's editor slot on the
# engagement page. Saving answers with the region (htmx: retargeted to the region, since the
# form lives in the editor) or a redirect to it; a refusal shows the form again with the
# message next to the field. Removing confirms first (``outsourcing.confirm``). A record
# others depend on shows why it cannot change instead of the form or the remove button.

EDIT_PAGE = "engagements/record_edit.html"
CORRECTIONS = "engagements/engagement_corrections.html"


@dataclass
class Correction:
    """One record as its edit page shows it."""

    engagement: Engagement
    region: str  # the engagement page's region the record lives in
    heading: str
    action: str = ""  # where the edit form posts
    form_class: type | None = None
    form_kwargs: dict = field(default_factory=dict)
    locked: str | None = None  # why it cannot be changed at all
    delete_url: str = ""
    delete_question: str = ""
    delete_locked: str | None = None  # why it cannot be removed
    delete_form_class: type = Form  # what removing asks for (why, for a deliverable)
    delete_form: Form | None = None

    @property
    def back(self) -> str:
        page = reverse("engagements:engagement_detail", args=[self.engagement.pk])
        return f"{page}#{self.region}"

    def form(self, data=None) -> Form | None:
        return self.form_class(data, **self.form_kwargs) if self.form_class else None

    def removal_form(self, data=None) -> Form:
        return self.delete_form_class(data, auto_id="remove_%s")  # one editor open at a time


def _edit_page(request: HttpRequest, c: Correction, form: Form | None) -> HttpResponse:
    """The edit page, or only its editor (htmx swaps it into the region's editor slot)."""
    frozen = services.frozen_reason(c.engagement)
    context = {
        "c": c,
        "engagement": c.engagement,
        "form": form,
        "locked": frozen or c.locked,
        "delete_locked": frozen or c.delete_locked,
        "delete_form": c.delete_form or c.removal_form(),
    }
    name = f"{EDIT_PAGE}#record-edit" if request.htmx else EDIT_PAGE
    response = TemplateResponse(request, name, context)
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


def _saved(request: HttpRequest, engagement_pk: int, region: str) -> HttpResponse:
    """The region after a correction, swapped in place of the region (not the editor)."""
    engagement = Engagement.objects.for_detail().get(pk=engagement_pk)
    context = region_context(request, engagement, region, oob_header=region in OUT_OF_BAND)
    html = render_to_string(f"{PAGE}#{region}", context, request)
    if region == "engagement-header":  # the title above it may have changed too
        html += render_to_string(f"{CORRECTIONS}#title-oob", context, request)
    response = HttpResponse(html)
    response["HX-Retarget"] = f"#{region}"
    response["HX-Reswap"] = "outerHTML"
    return response


def _correct(
    request: HttpRequest, c: Correction, call: Callable[[Form], object], message: str
) -> HttpResponse:
    """GET: the edit form with what is saved. POST: the service, through ``answer_write``."""
    if request.method == "GET":
        return _edit_page(request, c, c.form())
    form = c.form(request.POST)
    return answer_write(
        request,
        form,
        lambda: call(form),
        show=lambda form=None: (
            _saved(request, c.engagement.pk, c.region)
            if form is None
            else _edit_page(request, c, form)
        ),
        form_name="form",
        done=c.back,
        message=message,
    )


class RecordRemove(RegionWrite):
    """Remove one record of the engagement page (the URL's pk), confirmed first: the region
    after it (htmx: in place of the region, not the editor), or the record's edit page with
    why it stays when the service refuses. ``correction`` builds the record's ``Correction``
    (its region, question and remove form)."""

    by = True
    form_name = "delete_form"
    correction: Callable[[HttpRequest, object], Correction] | None = None

    def get_object(self, pk: int | None = None):
        record = super().get_object(pk)
        self.c = self.correction(self.request, record)
        self.region, self.confirm = self.c.region, self.c.delete_question
        return record

    def get_form(self) -> Form:
        return self.c.removal_form(self.request.POST)

    def show(self, delete_form: Form | None = None) -> HttpResponse:
        if delete_form is None:
            return _saved(self.request, self.c.engagement.pk, self.c.region)
        self.c.delete_form = delete_form
        return _edit_page(self.request, self.c, self.c.form())


# engagement and readiness


@require_http_methods(["GET", "POST"])
@manager_required
def engagement_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the engagement's title, goal, definition of done, budget, dates, owner or contract."""
    engagement = _engagement(pk)
    c = Correction(
        engagement=engagement,
        region="engagement-header",
        heading="Edit the engagement",
        action=reverse("engagements:engagement_update", args=[pk]),
        form_class=EngagementEditForm,
        form_kwargs={
            "org": request.org,
            "vendor": engagement.vendor_id,
            "initial": EngagementEditForm.initial_for(engagement),
            "auto_id": f"eng{pk}_%s",
        },
    )
    return _correct(
        request,
        c,
        lambda form: services.update_engagement(
            engagement=engagement, by=request.user, **form.cleaned_data
        ),
        "Engagement saved.",
    )


@require_http_methods(["GET", "POST"])
@manager_required
def readiness_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Answer the readiness check again (a new verdict; an earlier override no longer holds)."""
    engagement = _engagement(pk)
    check = ReadinessCheck.objects.filter(engagement=engagement).first()
    c = Correction(
        engagement=engagement,
        region="engagement-header",
        heading="Answer the readiness check again",
        action=reverse("engagements:readiness_update", args=[pk]),
        form_class=ReadinessForm,
        form_kwargs={"initial": ReadinessForm.initial_for(check), "auto_id": f"ready{pk}_%s"},
    )
    return _correct(
        request,
        c,
        lambda form: services.update_readiness(
            engagement=engagement, by=request.user, **form.cleaned_data
        ),
        "Readiness answered again.",
    )


# milestones and deliverables


def _milestone_correction(request: HttpRequest, milestone: Milestone) -> Correction:
    return Correction(
        engagement=milestone.engagement,
        region="delivery-timeline",
        heading=f"Edit the milestone “{milestone.title}”",
        action=reverse("engagements:milestone_update", args=[milestone.pk]),
        delete_url=reverse("engagements:milestone_delete", args=[milestone.pk]),
        delete_question=f"Remove the milestone “{milestone.title}”?",
        delete_locked=services.milestone_locked(milestone),
        form_class=MilestoneForm,
        form_kwargs={
            "initial": {
                "title": milestone.title,
                "due_date": milestone.due_date,
                "description": milestone.description,
            },
            "auto_id": f"ms{milestone.pk}_%s",
        },
    )


def _milestone(pk: int) -> Milestone:
    return get_object_or_404(Milestone.objects.select_related("engagement__org"), pk=pk)


@require_http_methods(["GET", "POST"])
@manager_required
def milestone_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a milestone's title, due date or description."""
    milestone = _milestone(pk)
    c = _milestone_correction(request, milestone)
    return _correct(
        request,
        c,
        lambda form: services.update_milestone(
            milestone=milestone, by=request.user, **form.cleaned_data
        ),
        "Milestone saved.",
    )


# Remove a milestone that holds no deliverables (after confirming).
milestone_delete = RecordRemove.as_view(
    model=Milestone,
    related=("engagement__org",),
    correction=lambda request, milestone: _milestone_correction(request, milestone),
    service=services.delete_milestone,
    confirm_detail="Spend booked on it stays, without a milestone.",
    message="Milestone “{milestone.title}” removed.",
)


# Remove a deliverable not yet accepted, recorded as a scope change (after confirming).
deliverable_delete = RecordRemove.as_view(
    model=Deliverable,
    related=("engagement__org",),
    correction=lambda request, deliverable: _deliverable_correction(deliverable),
    service=services.delete_deliverable,
    confirm_detail="The removal is recorded as a scope change, with your reason.",
    message="Deliverable “{deliverable.title}” removed.",
)


def _deliverable_correction(deliverable: Deliverable) -> Correction:
    return Correction(
        engagement=deliverable.engagement,
        region="delivery-timeline",
        heading=f"Remove the deliverable “{deliverable.title}”",
        delete_url=reverse("engagements:deliverable_delete", args=[deliverable.pk]),
        delete_question=f"Remove the deliverable “{deliverable.title}”?",
        delete_locked=services.deliverable_locked(deliverable),
        delete_form_class=DeliverableDeleteForm,
    )


# spend


def _spend_correction(request: HttpRequest, entry: SpendEntry) -> Correction:
    engagement = entry.engagement
    what = f"{money(entry.amount, entry.currency)} on {day(entry.date)}"
    return Correction(
        engagement=engagement,
        region="spend",
        heading=f"Edit the spend of {what}",
        action=reverse("engagements:spend_update", args=[entry.pk]),
        delete_url=reverse("engagements:spend_delete", args=[entry.pk]),
        delete_question=f"Remove the spend of {what} (“{entry.description}”)?",
        form_class=SpendForm,
        form_kwargs={
            "engagement": engagement,
            "initial": {
                "date": entry.date,
                "amount": entry.amount,
                "currency": entry.currency,
                "description": entry.description,
                "milestone": entry.milestone_id,
            },
            "auto_id": f"spend{entry.pk}_%s",
        },
    )


def _spend_entry(pk: int) -> SpendEntry:
    return get_object_or_404(SpendEntry.objects.select_related("engagement__org"), pk=pk)


@require_http_methods(["GET", "POST"])
@manager_required
def spend_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a spend entry; a day still to come is refused as when it was recorded."""
    entry = _spend_entry(pk)
    return _correct(
        request,
        _spend_correction(request, entry),
        lambda form: services.update_spend(entry=entry, by=request.user, **form.cleaned_data),
        "Spend saved.",
    )


# Remove a spend entry recorded by mistake (after confirming).
spend_delete = RecordRemove.as_view(
    model=SpendEntry,
    related=("engagement__org",),
    object_name="entry",
    correction=lambda request, entry: _spend_correction(request, entry),
    service=services.delete_spend,
    confirm_detail="The burn figures and the watcher follow at once.",
    message="Spend removed.",
)


# risks


def _risk_correction(request: HttpRequest, risk: Risk) -> Correction:
    return Correction(
        engagement=risk.engagement,
        region="risks",
        heading="Edit the risk",
        action=reverse("engagements:risk_update", args=[risk.pk]),
        delete_url=reverse("engagements:risk_delete", args=[risk.pk]),
        delete_question=f"Remove the risk “{truncatechars(risk.description, 80)}”?",
        form_class=RiskForm,
        form_kwargs={
            "org": risk.engagement.org,
            "initial": {
                "description": risk.description,
                "likelihood": risk.likelihood,
                "impact": risk.impact,
                "mitigation": risk.mitigation,
                "owner": risk.owner_id,
            },
            "auto_id": f"risk{risk.pk}_%s",
        },
    )


def _risk(pk: int) -> Risk:
    return get_object_or_404(Risk.objects.select_related("engagement__org"), pk=pk)


@require_http_methods(["GET", "POST"])
@manager_required
def risk_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a risk's description, likelihood, impact, plan or owner."""
    risk = _risk(pk)
    return _correct(
        request,
        _risk_correction(request, risk),
        lambda form: services.update_risk(risk=risk, by=request.user, **form.cleaned_data),
        "Risk saved.",
    )


# Remove a risk recorded by mistake (after confirming).
risk_delete = RecordRemove.as_view(
    model=Risk,
    related=("engagement__org",),
    correction=lambda request, risk: _risk_correction(request, risk),
    service=services.delete_risk,
    confirm_detail="A risk that passed is marked mitigated or occurred instead, and stays.",
    message="Risk removed.",
)


# scope changes


def _scope_change_correction(request: HttpRequest, change: ScopeChange) -> Correction:
    return Correction(
        engagement=change.engagement,
        region="scope-changes",
        heading=f"Edit the scope change of {day(timezone.localdate(change.at))}",
        action=reverse("engagements:scope_change_update", args=[change.pk]),
        delete_url=reverse("engagements:scope_change_delete", args=[change.pk]),
        delete_question=f"Remove the scope change “{truncatechars(change.what_changed, 80)}”?",
        delete_locked=services.scope_change_locked(change),
        form_class=ScopeChangeForm,
        form_kwargs={
            "initial": {"what_changed": change.what_changed, "why": change.why},
            "auto_id": f"scope{change.pk}_%s",
        },
    )


def _scope_change(pk: int) -> ScopeChange:
    return get_object_or_404(
        ScopeChange.objects.select_related("engagement__org", "deliverable"), pk=pk
    )


@require_http_methods(["GET", "POST"])
@manager_required
def scope_change_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct the words of a scope change: what changed, why."""
    change = _scope_change(pk)
    return _correct(
        request,
        _scope_change_correction(request, change),
        lambda form: services.update_scope_change(
            change=change, by=request.user, **form.cleaned_data
        ),
        "Scope change saved.",
    )


# Remove a scope change recorded by mistake (after confirming); "blurry scope" follows.
scope_change_delete = RecordRemove.as_view(
    model=ScopeChange,
    related=("engagement__org", "deliverable"),
    object_name="change",
    correction=lambda request, change: _scope_change_correction(request, change),
    service=services.delete_scope_change,
    confirm_detail="The watcher counts scope changes as a sign of blurry scope; it follows at once.",
    message="Scope change removed.",
)


# interactions


def _interaction_correction(request: HttpRequest, interaction: Interaction) -> Correction:
    when = timezone.localtime(interaction.occurred_at)
    what = f"{interaction.get_channel_display().lower()} of {moment(interaction.occurred_at)}"
    locked = services.interaction_locked(interaction)
    return Correction(
        engagement=interaction.engagement,
        region="interactions",
        heading=f"Edit the {what}",
        action=reverse("engagements:interaction_update", args=[interaction.pk]),
        locked=locked,
        delete_url=reverse("engagements:interaction_delete", args=[interaction.pk]),
        delete_question=f"Remove the {what}?",
        delete_locked=locked,
        form_class=InteractionEditForm,
        form_kwargs={
            "initial": {
                "channel": interaction.channel,
                "direction": interaction.direction,
                "outcome": interaction.outcome,
                "response_hours": interaction.response_hours,
                "comfort": interaction.comfort,
                "occurred_at": when,
                "notes": interaction.notes,
            },
            "auto_id": f"int{interaction.pk}_%s",
        },
    )


def _interaction(pk: int) -> Interaction:
    return get_object_or_404(Interaction.objects.select_related("engagement__org"), pk=pk)


@require_http_methods(["GET", "POST"])
@manager_required
def interaction_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a logged interaction; a moment still to come is refused as when it was logged."""
    interaction = _interaction(pk)
    return _correct(
        request,
        _interaction_correction(request, interaction),
        lambda form: services.update_interaction(
            interaction=interaction, by=request.user, **form.cleaned_data
        ),
        "Interaction saved.",
    )


# Remove an interaction logged by mistake (after confirming).
interaction_delete = RecordRemove.as_view(
    model=Interaction,
    related=("engagement__org",),
    correction=lambda request, interaction: _interaction_correction(request, interaction),
    service=services.delete_interaction,
    confirm_detail="Contact cadence and comfort are judged without it from now on.",
    message="Interaction removed.",
)


# exit criteria


def _criterion_correction(request: HttpRequest, criterion: ExitCriterion) -> Correction:
    initial = {"label": criterion.label, "combinator": criterion.combinator}
    for i, condition in enumerate(criterion.conditions[:2], start=1):
        initial |= {
            f"metric_{i}": condition.get("metric"),
            f"op_{i}": condition.get("op"),
            f"value_{i}": f"{float(condition.get('value', 0)):g}",  # 14, not 14.0
        }
    return Correction(
        engagement=criterion.engagement,
        region="exit-criteria",
        heading=f"Edit the exit criterion “{criterion.label}”",
        action=reverse("engagements:exit_criterion_update", args=[criterion.pk]),
        delete_url=reverse("engagements:exit_criterion_delete", args=[criterion.pk]),
        delete_question=f"Remove the exit criterion “{criterion.label}”?",
        form_class=ExitCriterionForm,
        form_kwargs={"initial": initial, "auto_id": f"crit{criterion.pk}_%s"},
    )


def _criterion(pk: int) -> ExitCriterion:
    return get_object_or_404(ExitCriterion.objects.select_related("engagement__org"), pk=pk)


@require_http_methods(["GET", "POST"])
@manager_required
def exit_criterion_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Redraw an exit line: its name, combinator and conditions."""
    criterion = _criterion(pk)
    return _correct(
        request,
        _criterion_correction(request, criterion),
        lambda form: services.update_exit_criterion(
            criterion=criterion, by=request.user, values=form.criterion()
        ),
        "Exit criterion saved.",
    )


# Remove an exit criterion (after confirming).
exit_criterion_delete = RecordRemove.as_view(
    model=ExitCriterion,
    related=("engagement__org",),
    object_name="criterion",
    correction=lambda request, criterion: _criterion_correction(request, criterion),
    service=services.delete_exit_criterion,
    confirm_detail="The watcher stops checking it at once.",
    message="Exit criterion removed.",
)
