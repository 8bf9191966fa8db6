"""/api/v1/vendors: the vendors of the token's organization."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from outsourcing.api import ErrorOut, Page, paginate

from .models import Vendor, VendorStatus

router = Router(tags=["vendors"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}


class VendorOut(Schema):
    id: int
    name: str
    website: str
    description: str
    status: VendorStatus
    created_at: datetime


class VendorPage(Page):
    items: list[VendorOut]


class VendorFilters(Schema):
    status: VendorStatus | None = None
    q: str | None = Field(None, max_length=200, description="Search in the name.")
    cursor: str | None = None
    limit: int = Field(50, ge=1, le=200)


@router.get("", response={200: VendorPage, **ERRORS}, summary="List vendors")
def vendor_list(request, filters: Query[VendorFilters]):
    queryset = Vendor.objects.all()
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.q:
        queryset = queryset.filter(name__icontains=filters.q)
    items, next_cursor = paginate(queryset, cursor=filters.cursor, limit=filters.limit)
    return {"items": items, "next_cursor": next_cursor}


@router.get("/{int:vendor_id}", response={200: VendorOut, **ERRORS}, summary="One vendor")
def vendor_detail(request, vendor_id: int):
    return get_object_or_404(Vendor.objects.all(), pk=vendor_id)
