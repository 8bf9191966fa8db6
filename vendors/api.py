"""/api/v1/vendors: the vendors of the token's organization, their contacts, evidence and
scorecard. Writes call the same ``vendors.services`` functions as the web pages."""

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from outsourcing.api import (
    READ_ERRORS,
    WRITE_ERRORS,
    Day,
    Email,
    ListQuery,
    Moment,
    Name,
    Page,
    PageQuery,
    Text,
    Url,
    api,
    error_response,
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

Currency = Text(3)  # checked against the list by the model's full_clean


@api.exception_handler(services.Conflict)
def _vendor_conflict(request: HttpRequest, exc: services.Conflict):
    return error_response(request, 409, "conflict", str(exc))


@api.exception_handler(services.NameTaken)
def _vendor_name_taken(request: HttpRequest, exc: services.NameTaken):
    # A uniqueness conflict (another vendor has this name, whatever its case; or an identical
    # create won the race) is a 409 naming the field, like the form's message beside it.
    return error_response(request, 409, "conflict", " ".join(exc.messages), exc.message_dict)


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
    q: Text(200) | None = Field(None, description="Search in the name.")


class VendorIn(Schema):
    name: Name
    website: Url = ""
    description: Text() = ""
    specialties: Text(300) = ""
    rate: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2)
    currency: Currency = Field("EUR", description=", ".join(c for c, _ in CURRENCIES))
    time_zone: Text(64) = Field("", description="e.g. Europe/Kyiv")
    review_interval_months: int | None = Field(None, ge=1, le=120)


class VendorPatch(Schema):
    name: Name | None = None
    website: Url | None = None
    description: Text() | None = None
    specialties: Text(300) | None = None
    rate: Decimal | None = Field(None, ge=0, max_digits=10, decimal_places=2)
    currency: Currency | None = None
    time_zone: Text(64) | None = None
    review_interval_months: int | None = Field(None, ge=1, le=120)


def _vendor(vendor_id: int) -> Vendor:
    return get_object_or_404(Vendor.objects.all(), pk=vendor_id)


@router.get("", response={200: VendorPage, **READ_ERRORS}, summary="List vendors")
def vendor_list(request, filters: Query[VendorFilters]):
    queryset = Vendor.objects.all()
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.q:
        queryset = queryset.filter(name__icontains=filters.q)
    return list_page(queryset, filters, updated_field="updated_at")


@router.post(
    "",
    response={201: VendorOut, **WRITE_ERRORS},
    summary="Record a new vendor",
    description="409 when another vendor of the organization has this name, ignoring case.",
)
def vendor_create(request, payload: VendorIn):
    vendor = services.create_vendor(org=request.org, by=request.user, **payload.dict())
    return Status(201, vendor)


@router.get("/{int:vendor_id}", response={200: VendorOut, **READ_ERRORS}, summary="One vendor")
def vendor_detail(request, vendor_id: int):
    return _vendor(vendor_id)


@router.patch(
    "/{int:vendor_id}",
    response={200: VendorOut, **WRITE_ERRORS},
    summary="Change a vendor's details (not its status)",
    description="409 when another vendor of the organization has the new name, ignoring case.",
)
def vendor_update(request, vendor_id: int, payload: VendorPatch):
    vendor = _vendor(vendor_id)
    changes = payload.dict(exclude_unset=True)
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


class ContactIn(Schema):
    name: Name
    role: Text(120) = ""
    email: Email = ""
    phone: Text(40) = ""
    is_primary: bool = False


@router.get(
    "/{int:vendor_id}/contacts",
    response={200: ContactPage, **READ_ERRORS},
    summary="A vendor's contacts",
)
def contact_list(request, vendor_id: int, filters: Query[PageQuery]):
    vendor = _vendor(vendor_id)
    return list_page(VendorContact.objects.filter(vendor=vendor), filters)


@router.post(
    "/{int:vendor_id}/contacts",
    response={201: ContactOut, **WRITE_ERRORS},
    summary="Add a contact (a new primary replaces the old one)",
)
def contact_create(request, vendor_id: int, payload: ContactIn):
    contact = services.add_contact(vendor=_vendor(vendor_id), **payload.dict())
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


class Scores(Schema):
    expertise: int | None = Field(None, ge=1, le=5)
    previous_work: int | None = Field(None, ge=1, le=5)
    business: int | None = Field(None, ge=1, le=5)
    fit: int | None = Field(None, ge=1, le=5)
    communication: int | None = Field(None, ge=1, le=5)
    value: int | None = Field(None, ge=1, le=5)
    gut: int | None = Field(None, ge=1, le=5)


class EvidenceIn(Schema):
    kind: EvidenceKind
    summary: Text(10_000, min_length=1)
    link: Url = ""
    verified: bool = False
    recorded_at: Moment | None = None
    expires_on: Day | None = None
    scores: Scores = Scores()


@router.get(
    "/{int:vendor_id}/evidence",
    response={200: EvidencePage, **READ_ERRORS},
    summary="A vendor's vetting evidence (deleted entries left out)",
)
def evidence_list(request, vendor_id: int, filters: Query[PageQuery]):
    vendor = _vendor(vendor_id)
    return list_page(Evidence.objects.live().filter(vendor=vendor), filters)


@router.post(
    "/{int:vendor_id}/evidence",
    response={201: EvidenceOut, **WRITE_ERRORS},
    summary="Log a piece of vetting evidence and re-score the vendor",
)
def evidence_create(request, vendor_id: int, payload: EvidenceIn):
    data = payload.dict()
    if not data["summary"].strip():
        raise DjangoValidationError({"summary": "Write what you saw or were told."})
    evidence = services.add_evidence(vendor=_vendor(vendor_id), by=request.user, **data)
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
    "/{int:vendor_id}/scorecard",
    response={200: ScorecardOut, **READ_ERRORS},
    summary="The vendor's scorecard (read-only): per criterion average, backing and flags",
)
def scorecard(request, vendor_id: int):
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
