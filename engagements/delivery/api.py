"""/api/v1/engagements and /api/v1/deliverables: the delivery side of the token's organization.

Every write turns the ids it was sent into rows of the token's organization and calls the
``engagements.delivery.services`` function the engagement page calls; the service decides
(life cycles, who may own, which milestone, which currency) and its refusal, a lost race
included, is the API's 409 (``outsourcing.api``), naming the field the client sent.
"""

from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict, StrictBool, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from accounts.models import CURRENCIES, Membership, User
from engagements.delivery import services
from engagements.delivery.models import (
    Channel,
    Deliverable,
    DeliverableStatus,
    Direction,
    Engagement,
    EngagementStatus,
    Interaction,
    Milestone,
    Outcome,
    ReadinessVerdict,
    Risk,
    ScopeChange,
    Side,
    Source,
    SpendEntry,
)
from outsourcing import rows
from outsourcing.api import (
    MAX_INT,
    NOT_BLANK,
    READ_ERRORS,
    WRITE_ERRORS,
    Choice,
    Day,
    Id,
    IdParam,
    Input,
    Int,
    ListQuery,
    Moment,
    Money,
    Name,
    Page,
    PageQuery,
    PositiveMoney,
    SmallCount,
    Text,
    check_required_when,
    list_page,
    not_blank,
    required_when,
)
from vendors.models import Contract, Vendor

engagements = Router(tags=["engagements"])
deliverables = Router(tags=["deliverables"])

Currency = Choice(code for code, _ in CURRENCIES)


def _member(org, user_id: int, field: str) -> User:
    """A member of this organization by user id, or a 409 naming ``field``; what role the
    member needs is the service's decision."""
    membership = Membership.objects.select_related("user").filter(org=org, user_id=user_id)
    if (found := membership.first()) is None:
        raise ValidationError({field: "No member of this organization has this id."})
    return found.user


def _milestone(milestone_id: int) -> Milestone:
    """A milestone of this organization by id, or a 409 naming ``milestone_id``; whether it
    belongs to the engagement is the service's decision."""
    milestone = Milestone.objects.filter(pk=milestone_id).first()
    if milestone is None:
        raise ValidationError({"milestone_id": "No milestone of this organization has this id."})
    return milestone


def _contract(contract_id: int) -> Contract:
    """A contract of this organization by id, or a 409 naming ``contract_id``; whether it is
    the engagement's vendor's is the service's decision."""
    contract = Contract.objects.filter(pk=contract_id).first()
    if contract is None:
        raise ValidationError({"contract_id": "No contract of this organization has this id."})
    return contract


def _engagement(engagement_id: IdParam) -> Engagement:
    # Every write under an engagement starts here: one statement written once per process.
    engagement = rows.tenant_row(Engagement, engagement_id)
    if engagement is None:
        raise Http404
    return engagement


def _rows(model: type[Model], engagement_id: IdParam) -> QuerySet:
    """``model``'s rows of one engagement of this organization (404 for another's)."""
    return model.objects.filter(engagement=_engagement(engagement_id))


# --- engagements -----------------------------------------------------------------------------
class EngagementOut(Schema):
    id: int
    vendor_id: int
    title: str
    goal: str
    definition_of_done: str
    vision: str
    status: EngagementStatus
    budget: Decimal
    currency: str
    spent: Decimal = Field(description="Sum of the recorded spend.")
    accepted_value: Decimal = Field(description="Value of the accepted deliverables.")
    planned_value: Decimal = Field(description="Value of all deliverables.")
    next_due: date | None = Field(description="Earliest due date of an unaccepted deliverable.")
    start_date: date
    target_end_date: date
    owner_id: int
    contract_id: int | None = Field(description="The vendor's contract this work runs under.")
    created_at: datetime
    updated_at: datetime


class EngagementPage(Page):
    items: list[EngagementOut]


class EngagementFilters(ListQuery):
    status: EngagementStatus | None = None
    vendor: IdParam | None = Field(None, description="Vendor id.")
    owner: IdParam | None = Field(None, description="User id of the engagement's owner.")
    q: Text(200) = Field("", description="Search in the title.")


class EngagementIn(Input):
    vendor_id: Id = Field(description="A vendor of this organization (409 if none has this id).")
    title: Name
    goal: Text(10_000, blank=False)
    definition_of_done: Text(10_000, blank=False)
    budget: Money
    currency: Currency | None = Field(
        None,
        description="The organization's currency when omitted. "
        + ", ".join(c for c, _ in CURRENCIES),
    )
    start_date: Day
    target_end_date: Day = Field(description="On or after start_date (409 if before).")
    owner_id: Id | None = Field(
        None, description="An owner or manager; defaults to the token's user (409 if not one)."
    )
    vendor_override_reason: Text() = Field(
        "", description="Needed when the vendor is not approved or active (409 without)."
    )
    contract_id: Id | None = Field(
        None, description="One of the vendor's contracts (409 if not one), or none."
    )


class EngagementPatch(Input):
    """Only the fields sent change; null leaves a field as it is, except ``contract_id``,
    where null unlinks the contract (an engagement may run without one)."""

    title: Name | None = None
    goal: Text(10_000, blank=False) | None = None
    definition_of_done: Text(10_000, blank=False) | None = None
    budget: Money | None = None
    start_date: Day | None = None
    target_end_date: Day | None = None
    owner_id: Id | None = None
    contract_id: Id | None = Field(
        None,
        description="One of the vendor's contracts (409 if not); null unlinks the contract.",
    )


@engagements.get("", response={200: EngagementPage, **READ_ERRORS}, summary="List engagements")
def engagement_list(request, filters: Query[EngagementFilters]):
    queryset = Engagement.objects.with_burn().filter_for_list(
        status=filters.status or "", vendor=filters.vendor, owner=filters.owner, q=filters.q
    )
    return list_page(queryset, filters, updated_field="updated_at")


@engagements.post(
    "", response={201: EngagementOut, **WRITE_ERRORS}, summary="Set up a (draft) engagement"
)
def engagement_create(request, payload: EngagementIn):
    data = payload.model_dump()
    vendor = Vendor.objects.filter(pk=data.pop("vendor_id")).first()
    if vendor is None:
        raise ValidationError({"vendor_id": "No vendor of this organization has this id."})
    owner_id = data.pop("owner_id")
    owner = _member(request.org, owner_id, "owner_id") if owner_id else request.user
    contract_id = data.pop("contract_id")
    data["contract"] = _contract(contract_id) if contract_id else None
    data["currency"] = data["currency"] or request.org.currency
    engagement = services.create_engagement(
        org=request.org, by=request.user, vendor=vendor, owner=owner, **data
    )
    return Status(201, Engagement.objects.with_burn().get(pk=engagement.pk))


@engagements.get(
    "/{engagement_id}", response={200: EngagementOut, **READ_ERRORS}, summary="One engagement"
)
def engagement_detail(request, engagement_id: IdParam):
    return get_object_or_404(Engagement.objects.with_burn(), pk=engagement_id)


@engagements.patch(
    "/{engagement_id}",
    response={200: EngagementOut, **WRITE_ERRORS},
    summary="Change title, goal, definition of done, budget, dates, owner or contract",
)
def engagement_update(request, engagement_id: IdParam, payload: EngagementPatch):
    engagement = _engagement(engagement_id)
    sent = payload.model_dump(exclude_unset=True)
    changes = {k: v for k, v in sent.items() if v is not None}
    if "owner_id" in changes:
        changes["owner"] = _member(request.org, changes.pop("owner_id"), "owner_id")
    if "contract_id" in sent:  # null unlinks
        contract_id = changes.pop("contract_id", None)
        changes["contract"] = _contract(contract_id) if contract_id else None
    services.update_engagement(engagement=engagement, by=request.user, **changes)
    return Engagement.objects.with_burn().get(pk=engagement.pk)


class ReadinessIn(Input):
    has_concrete_target: StrictBool = Field(
        description="Is there a concrete product or market target?"
    )
    need_is_specific: StrictBool = Field(
        description="Is the need specific enough to write acceptance criteria?"
    )
    money_alternative: Text(10_000, blank=False) = Field(
        description="What would this money do otherwise?"
    )
    internal_owner: Name = Field(description="Who on our side owns it?")
    owner_hours_per_week: SmallCount = Field(description="Hours a week they have for it.")
    override_reason: Text() = Field(
        "", description="Why we go ahead although the verdict is too soon (lets it activate)."
    )


class ReadinessOut(Schema):
    engagement_id: int
    has_concrete_target: bool
    need_is_specific: bool
    money_alternative: str
    internal_owner: str
    owner_hours_per_week: int
    verdict: ReadinessVerdict
    answered_at: datetime
    override_reason: str


@engagements.put(
    "/{engagement_id}/readiness",
    response={200: ReadinessOut, **WRITE_ERRORS},
    summary="Answer the readiness check (its verdict gates activation)",
)
def engagement_readiness(request, engagement_id: IdParam, payload: ReadinessIn):
    engagement = _engagement(engagement_id)
    answers = payload.model_dump()
    override = answers.pop("override_reason").strip()
    with transaction.atomic():
        check = services.update_readiness(engagement=engagement, by=request.user, **answers)
        if override:
            check = services.override_readiness(check=check, by=request.user, reason=override)
    return check


class StatusIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "properties": {"to": {"enum": list(services.REASON_REQUIRED)}},
                        "required": ["to"],
                    },
                    "then": {
                        "properties": {"reason": {"pattern": NOT_BLANK}},
                        "required": ["reason"],
                    },
                }
            ]
        }
    )

    to: EngagementStatus = Field(
        description="409 when the current status cannot move there, or while the readiness "
        "check or unacknowledged lessons stand in the way of activating."
    )
    reason: Text() = Field(
        "", description="Why: required (not blank) to pause or terminate.", validate_default=True
    )

    @field_validator("reason")
    @classmethod
    def _reason_to_stop(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("to") in services.REASON_REQUIRED and not value.strip():
            raise PydanticCustomError("missing", "Say why: the post-mortem will ask.")
        return value


@engagements.post(
    "/{engagement_id}/status",
    response={200: EngagementOut, **WRITE_ERRORS},
    summary="Activate, pause, resume, complete or terminate",
)
def engagement_status(request, engagement_id: IdParam, payload: StatusIn):
    engagement = _engagement(engagement_id)
    services.change_engagement_status(
        engagement=engagement, to=payload.to, by=request.user, reason=payload.reason
    )
    return Engagement.objects.with_burn().get(pk=engagement.pk)


# --- milestones ------------------------------------------------------------------------------
class MilestoneOut(Schema):
    id: int
    engagement_id: int
    title: str
    description: str
    position: int
    due_date: date


class MilestonePage(Page):
    items: list[MilestoneOut]


class MilestoneIn(Input):
    title: Name
    due_date: Day = Field(description="Not before the engagement starts (409 if it is).")
    description: Text() = ""


@engagements.get(
    "/{engagement_id}/milestones",
    response={200: MilestonePage, **READ_ERRORS},
    summary="An engagement's milestones",
)
def milestone_list(request, engagement_id: IdParam, filters: Query[PageQuery]):
    return list_page(_rows(Milestone, engagement_id), filters)


@engagements.post(
    "/{engagement_id}/milestones",
    response={201: MilestoneOut, **WRITE_ERRORS},
    summary="Add a milestone",
)
def milestone_create(request, engagement_id: IdParam, payload: MilestoneIn):
    return Status(
        201, services.add_milestone(engagement=_engagement(engagement_id), **payload.model_dump())
    )


# --- deliverables ----------------------------------------------------------------------------
class DeliverableOut(Schema):
    id: int
    engagement_id: int
    milestone_id: int
    title: str
    description: str
    acceptance_criteria: str
    due_date: date
    value: Decimal
    status: DeliverableStatus
    times_rejected: int
    submitted_at: datetime | None
    accepted_at: datetime | None
    version: int = Field(description="Send it back as expected_version to detect a race.")
    updated_at: datetime


class DeliverablePage(Page):
    items: list[DeliverableOut]


class DeliverableFilters(ListQuery):
    status: DeliverableStatus | None = None
    milestone: IdParam | None = Field(None, description="Milestone id.")


class DeliverableIn(Input):
    milestone_id: Id = Field(description="A milestone of this engagement (409 if not).")
    title: Name
    due_date: Day = Field(description="Not before the engagement starts (409 if it is).")
    acceptance_criteria: Text() = Field(
        "", description="What exactly will be accepted; needed before accepting."
    )
    description: Text() = ""
    value: Money = Decimal("0")


@engagements.get(
    "/{engagement_id}/deliverables",
    response={200: DeliverablePage, **READ_ERRORS},
    summary="An engagement's deliverables",
)
def deliverable_list(request, engagement_id: IdParam, filters: Query[DeliverableFilters]):
    rows = _rows(Deliverable, engagement_id)
    return list_page(
        rows, filters, updated_field="updated_at", status="status", milestone="milestone_id"
    )


@engagements.post(
    "/{engagement_id}/deliverables",
    response={201: DeliverableOut, **WRITE_ERRORS},
    summary="Add a deliverable under one of the engagement's milestones",
)
def deliverable_create(request, engagement_id: IdParam, payload: DeliverableIn):
    engagement = _engagement(engagement_id)
    data = payload.model_dump()
    milestone = _milestone(data.pop("milestone_id"))
    deliverable = services.add_deliverable(
        engagement=engagement, milestone=milestone, by=request.user, **data
    )
    return Status(201, deliverable)


class TransitionIn(Input):
    note: Text() = Field("", description="A note or a link to the work.")
    expected_version: Int(1, MAX_INT) | None = Field(
        None, description="The version you looked at; 409 if it moved on."
    )


class RejectIn(TransitionIn):
    note: Text(10_000, blank=False) = Field(description="Why it is rejected (required).")


def _deliverable(deliverable_id: IdParam) -> Deliverable:
    return get_object_or_404(Deliverable.objects.select_related("engagement"), pk=deliverable_id)


@deliverables.get(
    "/{deliverable_id}",
    response={200: DeliverableOut, **READ_ERRORS},
    summary="One deliverable",
)
def deliverable_detail(request, deliverable_id: IdParam):
    return _deliverable(deliverable_id)


@deliverables.post(
    "/{deliverable_id}/submit",
    response={200: DeliverableOut, **WRITE_ERRORS},
    summary="Mark submitted (a planned deliverable is started first)",
)
def deliverable_submit(request, deliverable_id: IdParam, payload: TransitionIn):
    return _step(request, deliverable_id, payload, services.submit_deliverable)


@deliverables.post(
    "/{deliverable_id}/accept",
    response={200: DeliverableOut, **WRITE_ERRORS},
    summary="Accept submitted work (needs acceptance criteria)",
)
def deliverable_accept(request, deliverable_id: IdParam, payload: TransitionIn):
    review = partial(services.transition_deliverable, to=DeliverableStatus.ACCEPTED)
    return _step(request, deliverable_id, payload, review)


@deliverables.post(
    "/{deliverable_id}/reject",
    response={200: DeliverableOut, **WRITE_ERRORS},
    summary="Reject submitted work, saying why",
)
def deliverable_reject(request, deliverable_id: IdParam, payload: RejectIn):
    review = partial(services.transition_deliverable, to=DeliverableStatus.REJECTED)
    return _step(request, deliverable_id, payload, review)


def _step(request, deliverable_id: IdParam, payload: TransitionIn, service) -> Deliverable:
    """Move a deliverable on with the service the engagement page calls (its note, and the
    version the client looked at: a lost race is a 409)."""
    deliverable = _deliverable(deliverable_id)
    service(
        deliverable=deliverable,
        by=request.user,
        note=payload.note,
        expected_version=payload.expected_version,
    )
    return deliverable


# --- interactions ----------------------------------------------------------------------------
class InteractionOut(Schema):
    id: int
    engagement_id: int
    occurred_at: datetime
    channel: Channel
    direction: Direction
    outcome: Outcome
    response_hours: int | None
    comfort: int | None
    notes: str
    source: Source
    logged_by_id: int | None
    created_at: datetime


class InteractionPage(Page):
    items: list[InteractionOut]


class InteractionFilters(ListQuery):
    channel: Channel | None = None
    direction: Direction | None = None
    source: Source | None = None


class InteractionIn(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                required_when("outcome", {"const": Outcome.ANSWERED.value}, "response_hours"),
                required_when("question", {"pattern": NOT_BLANK}, "question_owed_by"),
            ]
        }
    )

    channel: Channel
    direction: Direction
    outcome: Outcome
    occurred_at: Moment | None = Field(None, description="Now when omitted.")
    comfort: Int(1, 5) | None = Field(None, description="1 (awful) to 5 (great).")
    response_hours: SmallCount | None = Field(
        None, description="Required when the outcome is 'answered'.", validate_default=True
    )
    notes: Text() = ""
    question: Text() = Field("", description="An open question raised in it.")
    question_owed_by: Side | None = Field(
        None, description="Who owes the answer: required with a question.", validate_default=True
    )

    @field_validator("response_hours")
    @classmethod
    def _answered_after(cls, value: int | None, info: ValidationInfo) -> int | None:
        return check_required_when(
            value,
            info.data,
            "outcome",
            lambda outcome: outcome == Outcome.ANSWERED,
            "After how many hours was it answered?",
        )

    @field_validator("question_owed_by")
    @classmethod
    def _owed_by(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_required_when(
            value, info.data, "question", not_blank, "Who owes the answer: us or the vendor?"
        )


@engagements.get(
    "/{engagement_id}/interactions",
    response={200: InteractionPage, **READ_ERRORS},
    summary="An engagement's interaction log",
)
def interaction_list(request, engagement_id: IdParam, filters: Query[InteractionFilters]):
    narrow = {"channel": "channel", "direction": "direction", "source": "source"}
    return list_page(
        _rows(Interaction, engagement_id), filters, updated_field="created_at", **narrow
    )


@engagements.post(
    "/{engagement_id}/interactions",
    response={201: InteractionOut, **WRITE_ERRORS},
    summary="Log a call, meeting, e-mail or message (from a CRM, say)",
)
def interaction_create(request, engagement_id: IdParam, payload: InteractionIn):
    data = payload.model_dump()
    data["question_owed_by"] = data["question_owed_by"] or ""
    interaction = services.log_interaction(
        engagement=_engagement(engagement_id), by=request.user, source=Source.API, **data
    )
    return Status(201, interaction)


# --- spend -----------------------------------------------------------------------------------
class SpendOut(Schema):
    id: int
    engagement_id: int
    date: date
    amount: Decimal
    currency: str
    description: str
    milestone_id: int | None
    created_at: datetime


class SpendPage(Page):
    items: list[SpendOut]


class SpendIn(Input):
    date: Day
    amount: PositiveMoney = Field(description="Above zero, in the engagement's currency.")
    currency: Currency | None = Field(
        None, description="The engagement's currency when omitted (409 if another one)."
    )
    description: Text(300, blank=False)
    milestone_id: Id | None = Field(
        None, description="A milestone of this engagement (409 if not)."
    )


@engagements.get(
    "/{engagement_id}/spend",
    response={200: SpendPage, **READ_ERRORS},
    summary="Money paid on an engagement",
)
def spend_list(request, engagement_id: IdParam, filters: Query[ListQuery]):
    return list_page(_rows(SpendEntry, engagement_id), filters, updated_field="created_at")


@engagements.post(
    "/{engagement_id}/spend",
    response={201: SpendOut, **WRITE_ERRORS},
    summary="Record money paid (an invoice from accounting, say)",
)
def spend_create(request, engagement_id: IdParam, payload: SpendIn):
    engagement = _engagement(engagement_id)
    data = payload.model_dump()
    milestone_id = data.pop("milestone_id")
    milestone = _milestone(milestone_id) if milestone_id else None
    data["currency"] = data["currency"] or engagement.currency
    entry = services.record_spend(
        engagement=engagement, by=request.user, milestone=milestone, **data
    )
    return Status(201, entry)


# --- risks -----------------------------------------------------------------------------------
class RiskOut(Schema):
    id: int
    engagement_id: int
    description: str
    likelihood: Risk.Level
    impact: Risk.Level
    mitigation: str
    owner_id: int | None
    status: Risk.Status
    created_at: datetime


class RiskPage(Page):
    items: list[RiskOut]


class RiskFilters(ListQuery):
    status: Risk.Status | None = None


class RiskIn(Input):
    description: Text(10_000, blank=False)
    likelihood: Risk.Level = Risk.Level.MEDIUM
    impact: Risk.Level = Risk.Level.MEDIUM
    mitigation: Text() = ""
    owner_id: Id | None = Field(None, description="A member of this organization (409 if not).")


@engagements.get(
    "/{engagement_id}/risks",
    response={200: RiskPage, **READ_ERRORS},
    summary="An engagement's risks and obstacles",
)
def risk_list(request, engagement_id: IdParam, filters: Query[RiskFilters]):
    rows = _rows(Risk, engagement_id)
    return list_page(rows, filters, updated_field="created_at", status="status")


@engagements.post(
    "/{engagement_id}/risks",
    response={201: RiskOut, **WRITE_ERRORS},
    summary="Record a risk with its mitigation plan",
)
def risk_create(request, engagement_id: IdParam, payload: RiskIn):
    engagement = _engagement(engagement_id)
    data = payload.model_dump()
    owner_id = data.pop("owner_id")
    owner = _member(request.org, owner_id, "owner_id") if owner_id else None
    return Status(201, services.add_risk(engagement=engagement, owner=owner, **data))


# --- scope changes ---------------------------------------------------------------------------
class ScopeChangeOut(Schema):
    id: int
    engagement_id: int
    deliverable_id: int | None = Field(
        description="Set when a change of this deliverable wrote the record (it cannot be removed)."
    )
    what_changed: str
    why: str
    by_id: int | None
    at: datetime


class ScopeChangePage(Page):
    items: list[ScopeChangeOut]


class ScopeChangeIn(Input):
    what_changed: Text(10_000, blank=False)
    why: Text(10_000, blank=False)


@engagements.get(
    "/{engagement_id}/scope-changes",
    response={200: ScopeChangePage, **READ_ERRORS},
    summary="An engagement's recorded scope changes (the watcher's 'blurry scope' reads them)",
)
def scope_change_list(request, engagement_id: IdParam, filters: Query[ListQuery]):
    return list_page(_rows(ScopeChange, engagement_id), filters, updated_field="at")


@engagements.post(
    "/{engagement_id}/scope-changes",
    response={201: ScopeChangeOut, **WRITE_ERRORS},
    summary="Record that what we asked for changed: what, and why",
)
def scope_change_create(request, engagement_id: IdParam, payload: ScopeChangeIn):
    change = services.record_scope_change(
        engagement=_engagement(engagement_id), by=request.user, **payload.model_dump()
    )
    return Status(201, change)


# --- corrections: PATCH and DELETE call the services the engagement page's corrections call ---
#
# A PATCH changes only the fields sent (null leaves a field as it is); the service checks the
# record as it will be, so a refusal (a day still to come, a milestone of another engagement,
# a post-mortem that froze the facts, a check-in the vendor wrote) is a 409 naming the field.


def _child(model, engagement_id: int, pk: int):
    return get_object_or_404(
        model.objects.select_related("engagement__org"), pk=pk, engagement_id=engagement_id
    )


def _merged(record, payload: Input, fields: tuple[str, ...]) -> dict:
    """The record's current values of ``fields``, with the ones the client sent."""
    sent = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
    return {name: sent.get(name, getattr(record, name)) for name in fields}


class MilestonePatch(Input):
    """Only the fields sent change; null leaves a field as it is."""

    title: Name | None = None
    due_date: Day | None = Field(None, description="Not before the engagement starts (409).")
    description: Text() | None = None


@engagements.patch(
    "/{engagement_id}/milestones/{milestone_id}",
    response={200: MilestoneOut, **WRITE_ERRORS},
    summary="Correct a milestone",
)
def milestone_update(
    request, engagement_id: IdParam, milestone_id: IdParam, payload: MilestonePatch
):
    milestone = _child(Milestone, engagement_id, milestone_id)
    values = _merged(milestone, payload, ("title", "due_date", "description"))
    return services.update_milestone(milestone=milestone, by=request.user, **values)


@engagements.delete(
    "/{engagement_id}/milestones/{milestone_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a milestone that holds no deliverables (409 says why otherwise)",
)
def milestone_delete(request, engagement_id: IdParam, milestone_id: IdParam):
    services.delete_milestone(
        milestone=_child(Milestone, engagement_id, milestone_id), by=request.user
    )
    return Status(204, None)


class SpendPatch(Input):
    """Only the fields sent change; null leaves a field as it is."""

    date: Day | None = Field(None, description="Today or earlier (409 for a day to come).")
    amount: PositiveMoney | None = Field(None, description="Above zero.")
    description: Text(300, blank=False) | None = None
    milestone_id: Id | None = Field(
        None, description="A milestone of this engagement (409 if not)."
    )


@engagements.patch(
    "/{engagement_id}/spend/{spend_id}",
    response={200: SpendOut, **WRITE_ERRORS},
    summary="Correct a spend entry",
)
def spend_update(request, engagement_id: IdParam, spend_id: IdParam, payload: SpendPatch):
    entry = _child(SpendEntry, engagement_id, spend_id)
    values = _merged(entry, payload, ("date", "amount", "currency", "description"))
    milestone_id = payload.milestone_id
    values["milestone"] = _milestone(milestone_id) if milestone_id else entry.milestone
    return services.update_spend(entry=entry, by=request.user, **values)


@engagements.delete(
    "/{engagement_id}/spend/{spend_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a spend entry recorded by mistake",
)
def spend_delete(request, engagement_id: IdParam, spend_id: IdParam):
    services.delete_spend(entry=_child(SpendEntry, engagement_id, spend_id), by=request.user)
    return Status(204, None)


class InteractionPatch(Input):
    """Only the fields sent change; null leaves a field as it is."""

    channel: Channel | None = None
    direction: Direction | None = None
    outcome: Outcome | None = Field(
        None, description="'answered' needs response_hours (sent or already stored; 409)."
    )
    occurred_at: Moment | None = Field(None, description="Not in the future (409).")
    comfort: Int(1, 5) | None = Field(None, description="1 (awful) to 5 (great).")
    response_hours: SmallCount | None = None
    notes: Text() | None = None


INTERACTION_FIELDS = (
    "channel",
    "direction",
    "outcome",
    "occurred_at",
    "comfort",
    "response_hours",
    "notes",
)


class RiskPatch(Input):
    """Only the fields sent change; null leaves a field as it is, except ``owner_id``, where an
    explicit null leaves the risk without an owner."""

    description: Text(10_000, blank=False) | None = None
    likelihood: Risk.Level | None = None
    impact: Risk.Level | None = None
    mitigation: Text() | None = None
    owner_id: Id | None = Field(None, description="A member of this organization (409 if not).")
    status: Risk.Status | None = None


@engagements.patch(
    "/{engagement_id}/risks/{risk_id}",
    response={200: RiskOut, **WRITE_ERRORS},
    summary="Correct a risk, or mark it mitigated, occurred or closed",
)
def risk_update(request, engagement_id: IdParam, risk_id: IdParam, payload: RiskPatch):
    risk = _child(Risk, engagement_id, risk_id)
    values = _merged(risk, payload, ("description", "likelihood", "impact", "mitigation"))
    owner = risk.owner
    if "owner_id" in payload.model_fields_set:
        owner = _member(request.org, payload.owner_id, "owner_id") if payload.owner_id else None
    with transaction.atomic():
        services.update_risk(risk=risk, by=request.user, owner=owner, **values)
        if payload.status is not None:
            services.change_risk_status(risk=risk, status=payload.status)
    return risk


@engagements.delete(
    "/{engagement_id}/risks/{risk_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a risk recorded by mistake",
)
def risk_delete(request, engagement_id: IdParam, risk_id: IdParam):
    services.delete_risk(risk=_child(Risk, engagement_id, risk_id), by=request.user)
    return Status(204, None)


class ScopeChangePatch(Input):
    """Only the fields sent change; null leaves a field as it is."""

    what_changed: Text(10_000, blank=False) | None = None
    why: Text(10_000, blank=False) | None = None


@engagements.patch(
    "/{engagement_id}/scope-changes/{scope_change_id}",
    response={200: ScopeChangeOut, **WRITE_ERRORS},
    summary="Correct the words of a scope change",
)
def scope_change_update(
    request, engagement_id: IdParam, scope_change_id: IdParam, payload: ScopeChangePatch
):
    change = _child(ScopeChange, engagement_id, scope_change_id)
    values = _merged(change, payload, ("what_changed", "why"))
    return services.update_scope_change(change=change, by=request.user, **values)


@engagements.delete(
    "/{engagement_id}/scope-changes/{scope_change_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove a scope change recorded by mistake (not one a deliverable's change wrote: 409)",
)
def scope_change_delete(request, engagement_id: IdParam, scope_change_id: IdParam):
    services.delete_scope_change(
        change=_child(ScopeChange, engagement_id, scope_change_id), by=request.user
    )
    return Status(204, None)


@engagements.patch(
    "/{engagement_id}/interactions/{interaction_id}",
    response={200: InteractionOut, **WRITE_ERRORS},
    summary="Correct a logged interaction (not a vendor's portal check-in: 409)",
)
def interaction_update(
    request, engagement_id: IdParam, interaction_id: IdParam, payload: InteractionPatch
):
    interaction = _child(Interaction, engagement_id, interaction_id)
    values = _merged(interaction, payload, INTERACTION_FIELDS)
    return services.update_interaction(interaction=interaction, by=request.user, **values)


@engagements.delete(
    "/{engagement_id}/interactions/{interaction_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Remove an interaction logged by mistake (not a vendor's portal check-in: 409)",
)
def interaction_delete(request, engagement_id: IdParam, interaction_id: IdParam):
    services.delete_interaction(
        interaction=_child(Interaction, engagement_id, interaction_id), by=request.user
    )
    return Status(204, None)
