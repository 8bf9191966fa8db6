"""/api/v1/vendors: the vendors of the token's organization, their contacts, evidence and
scorecard. Writes call the same ``vendors.services`` functions as the web pages."""

import zoneinfo
from datetime import date, datetime
from decimal import Decimal

from django.shortcuts import get_object_or_404
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
    Criterion,
    Evidence,
    EvidenceKind,
    Vendor,
    VendorContact,
    VendorStatus,
    score_field,
)

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
