"""/api/v1/vendors: the vendors of the token's organization, their contacts, evidence and
scorecard. Writes call the same ``vendors.services`` functions as the web pages."""

import zoneinfo
from datetime import date, datetime
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import StrictBool

from outsourcing.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    Choice,
    Day,
    Decimals,
    Email,
    IdParam,
    Input,
    Int,
    ListQuery,
    Moment,
    Name,
    Page,
    PageQuery,
    Text,
    Url,
    list_page,
)

from . import services
from .models import (
    CURRENCIES,
    Contract,
    ContractDecision,
    ContractDecisionKind,
    Criterion,
    Evidence,
    EvidenceKind,
    NoticeUnit,
    PaymentSchedule,
    Vendor,
    VendorContact,
    VendorStatus,
    score_field,
)
from .terms import local_day

router = Router(tags=["vendors"])

Currency = Choice(code for code, _ in CURRENCIES)
# "" (none) or a name of the IANA database the server knows (what validate_time_zone accepts).
TimeZone = Choice({"", *zoneinfo.available_timezones()})
Rate = Decimals(8)  # the column holds 10 digits, 2 of them after the point


class VendorOut(Schema):
    id: int
    name: str
    website: str
    description: str
    specialties: str
    rate: Decimal | None
    currency: str
    time_zone: str
    status: VendorStatus
    score: Decimal | None = Field(description="Weighted overall score 1-5 from the evidence.")
    review_due_on: date | None = None
    created_at: datetime
    updated_at: datetime


class VendorPage(Page):
    items: list[VendorOut]


class VendorFilters(ListQuery):
    status: VendorStatus | None = None
    q: Text(200) = Field(
        "", description="Search in the name, description and specialties (as the vendor list)."
    )
    specialty: Text(200) = Field("", description="Vendors with this specialty.")


class VendorIn(Input):
    name: Name = Field(description="Unique in the organization, whatever the case (409 if taken).")
    website: Url(200) = ""
    description: Text() = ""
    specialties: Text(300) = ""
    rate: Rate | None = None
    currency: Currency = "EUR"
    time_zone: TimeZone = Field("", description="An IANA time zone, e.g. Europe/Kyiv, or empty.")
    review_interval_months: Int(1, 120) | None = None


class VendorPatch(Input):
    """Only the fields sent change; null leaves a text field as it is and clears the rate or
    the review interval."""

    name: Name | None = Field(None, description="Unique in the organization (409 if taken).")
    website: Url(200) | None = None
    description: Text() | None = None
    specialties: Text(300) | None = None
    rate: Rate | None = None
    currency: Currency | None = None
    time_zone: TimeZone | None = None
    review_interval_months: Int(1, 120) | None = None


def _vendor(vendor_id: int) -> Vendor:
    return get_object_or_404(Vendor.objects.all(), pk=vendor_id)


@router.get("", response={200: VendorPage, **READ_ERRORS}, summary="List vendors")
def vendor_list(request, filters: Query[VendorFilters]):
    queryset = Vendor.objects.filter_for_list(
        q=filters.q, status=filters.status or "", specialty=filters.specialty
    )
    return list_page(queryset, filters, updated_field="updated_at")


@router.post(
    "",
    response={201: VendorOut, **WRITE_ERRORS},
    summary="Record a new vendor",
    description="409 when another vendor of the organization has this name, ignoring case.",
)
def vendor_create(request, payload: VendorIn):
    vendor = services.create_vendor(org=request.org, by=request.user, **payload.model_dump())
    return Status(201, vendor)


@router.get("/{vendor_id}", response={200: VendorOut, **READ_ERRORS}, summary="One vendor")
def vendor_detail(request, vendor_id: IdParam):
    return _vendor(vendor_id)


@router.patch(
    "/{vendor_id}",
    response={200: VendorOut, **WRITE_ERRORS},
    summary="Change a vendor's details (not its status)",
    description="409 when another vendor of the organization has the new name, ignoring case.",
)
def vendor_update(request, vendor_id: IdParam, payload: VendorPatch):
    vendor = _vendor(vendor_id)
    changes = payload.model_dump(exclude_unset=True)
    for name in ("name", "website", "description", "specialties", "currency", "time_zone"):
        if name in changes and changes[name] is None:
            changes.pop(name)  # null means "leave as is" for text columns
    return services.update_vendor(vendor=vendor, **changes)


# --- contacts --------------------------------------------------------------------------------
class ContactOut(Schema):
    id: int
    vendor_id: int
    name: str
    role: str
    email: str
    phone: str
    is_primary: bool


class ContactPage(Page):
    items: list[ContactOut]


class ContactIn(Input):
    name: Name
    role: Text(120) = ""
    email: Email = ""
    phone: Text(40) = ""
    is_primary: StrictBool = False


@router.get(
    "/{vendor_id}/contacts",
    response={200: ContactPage, **READ_ERRORS},
    summary="A vendor's contacts",
)
def contact_list(request, vendor_id: IdParam, filters: Query[PageQuery]):
    return list_page(VendorContact.objects.filter(vendor=_vendor(vendor_id)), filters)


@router.post(
    "/{vendor_id}/contacts",
    response={201: ContactOut, **WRITE_ERRORS},
    summary="Add a contact (a new primary replaces the old one)",
)
def contact_create(request, vendor_id: IdParam, payload: ContactIn):
    contact = services.add_contact(vendor=_vendor(vendor_id), **payload.model_dump())
    return Status(201, contact)


# --- evidence --------------------------------------------------------------------------------
class EvidenceOut(Schema):
    id: int
    vendor_id: int
    kind: EvidenceKind
    summary: str
    link: str
    verified: bool
    recorded_at: datetime
    expires_on: date | None = None
    scores: dict[str, int | None]

    @staticmethod
    def resolve_scores(obj: Evidence) -> dict[str, int | None]:
        return {c.value: getattr(obj, score_field(c)) for c in Criterion}


class EvidencePage(Page):
    items: list[EvidenceOut]


Score = Int(1, 5)


class Scores(Input):
    expertise: Score | None = None
    previous_work: Score | None = None
    business: Score | None = None
    fit: Score | None = None
    communication: Score | None = None
    value: Score | None = None
    gut: Score | None = None


class EvidenceIn(Input):
    kind: EvidenceKind
    summary: Text(10_000, blank=False) = Field(description="What you saw or were told.")
    link: Url(500) = ""
    verified: StrictBool = False
    recorded_at: Moment | None = None
    expires_on: Day | None = None
    scores: Scores = Scores()


@router.get(
    "/{vendor_id}/evidence",
    response={200: EvidencePage, **READ_ERRORS},
    summary="A vendor's vetting evidence (deleted entries left out)",
)
def evidence_list(request, vendor_id: IdParam, filters: Query[PageQuery]):
    return list_page(Evidence.objects.live().filter(vendor=_vendor(vendor_id)), filters)


@router.post(
    "/{vendor_id}/evidence",
    response={201: EvidenceOut, **WRITE_ERRORS},
    summary="Log a piece of vetting evidence and re-score the vendor",
)
def evidence_create(request, vendor_id: IdParam, payload: EvidenceIn):
    evidence = services.add_evidence(
        vendor=_vendor(vendor_id), by=request.user, **payload.model_dump()
    )
    return Status(201, evidence)


# --- scorecard -------------------------------------------------------------------------------
class CriterionOut(Schema):
    criterion: Criterion
    label: str
    weight: int
    average: Decimal | None
    entries: int
    verified: int
    flag: str = Field(description='"not scored", "claims only", or empty when backed.')


class ScorecardOut(Schema):
    overall: Decimal | None
    summary: str
    flags: str
    criteria: list[CriterionOut]


@router.get(
    "/{vendor_id}/scorecard",
    response={200: ScorecardOut, **READ_ERRORS},
    summary="The vendor's scorecard (read-only): per criterion average, backing and flags",
)
def scorecard(request, vendor_id: IdParam):
    card = services.vendor_scorecard(vendor=_vendor(vendor_id))
    return {
        "overall": card.overall,
        "summary": card.summary,
        "flags": card.flag_text,
        "criteria": [
            {
                "criterion": c.criterion,
                "label": c.label,
                "weight": c.weight,
                "average": c.average,
                "entries": c.entries,
                "verified": c.verified,
                "flag": c.flag,
            }
            for c in card.criteria
        ],
    }


# --- contracts -------------------------------------------------------------------------------
contracts = Router(tags=["contracts"])

Amount = Decimals(12)
NoticeUnitIn = Choice(NoticeUnit.values)
ScheduleIn = Choice(PaymentSchedule.values)
TERMS_RULES = (
    "409 naming the field when the terms contradict each other: an end before the start, "
    "a notice period longer than the term or the renewal term, auto-renewal without a "
    "renewal term or an end date, a termination fee without termination for convenience, "
    "fixed instalments without an amount, an interval or a start date."
)


class ContractOut(Schema):
    id: int
    vendor_id: int
    title: str
    start_date: date | None
    end_date: date | None = Field(description="The end of the first term.")
    auto_renews: bool
    renewal_months: int | None
    notice_period: int | None
    notice_unit: NoticeUnit
    termination_for_convenience: bool
    termination_fee: Decimal | None
    value: Decimal | None
    currency: str
    payment_schedule: PaymentSchedule
    instalment_amount: Decimal | None
    instalment_months: int | None
    payment_terms: str
    decide_by: date | None = Field(
        description="Computed on the organization's day: the last day notice still stops the "
        "current term (end minus notice); null when nothing is open to decide."
    )
    renews_on: date | None = Field(description="When it renews if nobody decides.")
    ends_on: date | None = Field(description="When it stops if nobody does anything more.")
    earliest_exit: date | None = Field(description="When it would stop with notice given today.")
    renewal_amount: Decimal | None = Field(description="What one renewal term costs.")
    notice_given_on: date | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_decide_by(obj) -> date | None:
        return obj._outlook.decide_by

    @staticmethod
    def resolve_renews_on(obj) -> date | None:
        return obj._outlook.term_end if obj._outlook.renews else None

    @staticmethod
    def resolve_ends_on(obj) -> date | None:
        return obj._outlook.ends_on

    @staticmethod
    def resolve_earliest_exit(obj) -> date | None:
        return obj._outlook.earliest_exit

    @staticmethod
    def resolve_renewal_amount(obj) -> Decimal | None:
        return obj._outlook.renewal_amount

    @staticmethod
    def resolve_notice_given_on(obj) -> date | None:
        return obj._outlook.notice.on if obj._outlook.notice else None


class ContractPage(Page):
    items: list[ContractOut]


class ContractIn(Input):
    title: Name
    start_date: Day | None = None
    end_date: Day | None = Field(None, description="The end of the first term.")
    auto_renews: StrictBool = Field(False, description="Renews unless notice is given.")
    renewal_months: Int(1, 120) | None = None
    notice_period: Int(0, 3650) | None = None
    notice_unit: NoticeUnitIn = "days"
    termination_for_convenience: StrictBool = False
    termination_fee: Amount | None = None
    value: Amount | None = None
    currency: Currency = "EUR"
    payment_schedule: ScheduleIn = Field("", description='"" (none), instalments or milestones.')
    instalment_amount: Decimals(12, positive=True) | None = None
    instalment_months: Int(1, 24) | None = None
    payment_terms: Text(200) = ""
    has_termination: StrictBool = False
    has_acceptance: StrictBool = False
    has_ip_ownership: StrictBool = False
    has_confidentiality: StrictBool = False
    has_payment_milestones: StrictBool = False
    has_named_contacts: StrictBool = False


class ContractPatch(Input):
    """Only the fields sent change; null clears a date or a number, and leaves a text, a
    choice or a yes/no as it is."""

    title: Name | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    auto_renews: StrictBool | None = None
    renewal_months: Int(1, 120) | None = None
    notice_period: Int(0, 3650) | None = None
    notice_unit: NoticeUnitIn | None = None
    termination_for_convenience: StrictBool | None = None
    termination_fee: Amount | None = None
    value: Amount | None = None
    currency: Currency | None = None
    payment_schedule: ScheduleIn | None = None
    instalment_amount: Decimals(12, positive=True) | None = None
    instalment_months: Int(1, 24) | None = None
    payment_terms: Text(200) | None = None
    has_termination: StrictBool | None = None
    has_acceptance: StrictBool | None = None
    has_ip_ownership: StrictBool | None = None
    has_confidentiality: StrictBool | None = None
    has_payment_milestones: StrictBool | None = None
    has_named_contacts: StrictBool | None = None


KEPT_WHEN_NULL = {
    "title",
    "auto_renews",
    "notice_unit",
    "termination_for_convenience",
    "currency",
    "payment_schedule",
    "payment_terms",
    *(name for name, _ in Contract.CHECKLIST),
}


def _with_outlook(contract: Contract, decisions=None) -> Contract:
    """The contract with its outlook on the organization's day (what the computed fields read)."""
    on = local_day(timezone.now(), contract.org.tzinfo)
    contract._outlook = contract.outlook(on, decisions)
    return contract


def _contract(contract_id: int) -> Contract:
    return get_object_or_404(Contract.objects.select_related("org"), pk=contract_id)


@router.get(
    "/{vendor_id}/contracts",
    response={200: ContractPage, **READ_ERRORS},
    summary="A vendor's contracts, with their decide-by dates",
)
def contract_list(request, vendor_id: IdParam, filters: Query[PageQuery]):
    rows = Contract.objects.filter(vendor=_vendor(vendor_id)).select_related("org")
    page = list_page(rows.prefetch_related("decisions"), filters)
    page["items"] = [_with_outlook(c, c.decisions.all()) for c in page["items"]]
    return page


@router.post(
    "/{vendor_id}/contracts",
    response={201: ContractOut, **WRITE_ERRORS},
    summary="Record a contract and its terms",
    description=TERMS_RULES,
)
def contract_create(request, vendor_id: IdParam, payload: ContractIn):
    contract = services.add_contract(
        vendor=_vendor(vendor_id), by=request.user, **payload.model_dump()
    )
    return Status(201, _with_outlook(_contract(contract.pk)))


@contracts.get("/{contract_id}", response={200: ContractOut, **READ_ERRORS}, summary="One contract")
def contract_detail(request, contract_id: IdParam):
    return _with_outlook(_contract(contract_id))


@contracts.patch(
    "/{contract_id}",
    response={200: ContractOut, **WRITE_ERRORS},
    summary="Change a contract's terms or checklist (its decide-by date follows)",
    description=TERMS_RULES
    + " 409 too once notice was given: the terms that led to the exit stay.",
)
def contract_update(request, contract_id: IdParam, payload: ContractPatch):
    contract = _contract(contract_id)
    changes = payload.model_dump(exclude_unset=True)
    for name in KEPT_WHEN_NULL:
        if name in changes and changes[name] is None:
            changes.pop(name)
    services.update_contract(contract=contract, by=request.user, **changes)
    return _with_outlook(_contract(contract_id))


class DecisionOut(Schema):
    id: int
    contract_id: int
    kind: ContractDecisionKind
    reason: str
    term_end: date = Field(description="The term end the decision was about.")
    decided_on: date = Field(description="The organization's day it was taken.")
    exit_on: date | None = Field(description="Give notice: when the contract stops.")
    by_id: int | None
    at: datetime


class DecisionPage(Page):
    items: list[DecisionOut]


class DecisionIn(Input):
    kind: ContractDecisionKind = Field(
        description="renew (the term continues for the renewal term) or give_notice (the "
        "contract stops at the earliest exit). 409 once notice was given, or with nothing to "
        "renew (no end date, a fixed term over, no renewal term)."
    )
    reason: Text(2000, blank=False) = Field(description="Why: required, not blank.")


@contracts.get(
    "/{contract_id}/decisions",
    response={200: DecisionPage, **READ_ERRORS},
    summary="The decisions taken on a contract (renew, give notice)",
)
def decision_list(request, contract_id: IdParam, filters: Query[PageQuery]):
    return list_page(ContractDecision.objects.filter(contract=_contract(contract_id)), filters)


@contracts.post(
    "/{contract_id}/decisions",
    response={201: DecisionOut, **WRITE_ERRORS},
    summary="Renew or give notice, with a reason (ends that term's reminders)",
)
def decision_create(request, contract_id: IdParam, payload: DecisionIn):
    decision = services.decide_contract(
        contract=_contract(contract_id), by=request.user, **payload.model_dump()
    )
    return Status(201, decision)


def _decision(contract_id: int, decision_id: int) -> ContractDecision:
    # The decision of this contract, scoped to the caller's organization: anything else 404s.
    return get_object_or_404(
        ContractDecision.objects.select_related("contract"),
        pk=decision_id,
        contract=_contract(contract_id),
    )


class DecisionPatch(Input):
    reason: Text(2000, blank=False) = Field(
        description="Why: required, not blank. What was decided changes only by withdrawing it."
    )


@contracts.patch(
    "/{contract_id}/decisions/{decision_id}",
    response={200: DecisionOut, **WRITE_ERRORS},
    summary="Correct a decision's reason (audited)",
)
def decision_update(request, contract_id: IdParam, decision_id: IdParam, payload: DecisionPatch):
    return services.update_contract_decision(
        decision=_decision(contract_id, decision_id), by=request.user, **payload.model_dump()
    )


@contracts.delete(
    "/{contract_id}/decisions/{decision_id}",
    response={204: None, **WRITE_ERRORS},
    summary="Withdraw a decision while the choice is still open (its reminders return)",
    description="Allowed the day the decision was taken, or later while its decide-by date has "
    "not passed (and, for notice, before the contract stops), and only for the latest "
    "decision. Otherwise 409, with the reason.",
)
def decision_delete(request, contract_id: IdParam, decision_id: IdParam):
    services.withdraw_contract_decision(
        decision=_decision(contract_id, decision_id), by=request.user
    )
    return Status(204, None)
