"""The JSON API under /api/v1/ (django-ninja): authentication, errors, rate limits, paging.

django-ninja because it derives the OpenAPI 3 schema from typed function signatures and
pydantic schemas we need anyway for validation, with little code and no second
serializer layer; every write calls the same ``services`` function the HTML view calls.

One error shape everywhere: ``{"error": {"code", "message", "fields"}}``.
"""

import base64
import binascii
import json
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle
from pydantic import AfterValidator, AwareDatetime, StringConstraints
from pydantic import Field as PydanticField

from accounts.audit import audit_as
from accounts.middleware import SAFE_METHODS
from accounts.models import ApiToken, Membership, hash_token
from accounts.tenancy import activate_tenant
from outsourcing.validation import DATE_RANGE_MESSAGE, EARLIEST_YEAR, LATEST_YEAR

log = logging.getLogger(__name__)

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class Conflict(Exception):
    """The request lost a race or contradicts the current state (409)."""


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: finds the token, its user's membership and scope.

    Enters the token's organization as the tenant scope for the rest of the request, and
    refuses any non-safe method unless the token has write scope and its user may write.
    """

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = (
            ApiToken.unscoped.select_related("org", "user")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True, user__is_active=True)
            .first()
        )
        if api_token is None:
            return None
        membership = Membership.objects.filter(
            user_id=api_token.user_id, org_id=api_token.org_id
        ).first()
        if membership is None:  # the user left the organization: the token dies with it
            return None
        request.user = api_token.user
        request.org = api_token.org
        request.membership = membership
        activate_tenant(api_token.org)
        audit_as(via="api", label=f"token “{api_token.name}”", user=api_token.user)
        if request.method not in SAFE_METHODS and not (
            api_token.can_write and membership.can_write
        ):
            raise PermissionDenied("This token can only read. Create a token with write scope.")
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.unscoped.filter(pk=api_token.pk).update(last_used_at=now)
        return api_token


class TokenRateThrottle(AuthRateThrottle):
    """Per-token rate limit (API_RATE_LIMIT, e.g. "600/min"); 429 with Retry-After."""

    scope = "api-token"

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)


api = NinjaAPI(
    title="Vendorwatch API",
    version="1",
    description=(
        "Vendors, engagements, deliverables, interactions, spend, alerts and lessons of one "
        "organization. Authenticate with `Authorization: Bearer <token>` (create tokens on the "
        "API tokens page or with `manage.py api_token`). Errors always have the shape "
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`.'
    ),
    urls_namespace="api",
    auth=TokenAuth(),
    throttle=[TokenRateThrottle()],
)


class ErrorBody(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorOut(Schema):
    error: ErrorBody


def error_response(
    request: HttpRequest, status: int, code: str, message: str, fields: dict | None = None
) -> HttpResponse:
    return api.create_response(
        request,
        {"error": {"code": code, "message": message, "fields": fields or {}}},
        status=status,
    )


def _field_name(loc: list) -> str:
    # ninja reports ("body", "payload", "name") / ("query", "limit"): the field is the last part.
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "header", "form")]
    return ".".join(parts) or "request"


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(list(error.get("loc", []))), []).append(
            str(error.get("msg", "Invalid value."))
        )
    return error_response(request, 422, "validation_error", "Some fields are not valid.", fields)


@api.exception_handler(DjangoValidationError)
def _domain_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    if hasattr(exc, "error_dict"):
        fields = {
            ("request" if k == "__all__" else k): list(v) for k, v in exc.message_dict.items()
        }
        return error_response(
            request, 422, "validation_error", "Some fields are not valid.", fields
        )
    return error_response(request, 422, "validation_error", " ".join(exc.messages))


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, "unauthenticated", "Send a valid token: Authorization: Bearer <token>."
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error_response(request, 403, "forbidden", str(exc) or "Not allowed.")


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "No such object in this organization.")


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return error_response(request, 409, "conflict", str(exc))


@api.exception_handler(Throttled)
def _throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    return error_response(
        request, 429, "rate_limited", "Too many requests; retry after the time in Retry-After."
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # a body that is not JSON: a validation error like any other
        return error_response(
            request, 422, "validation_error", "The body is not valid JSON.", {"body": [str(exc)]}
        )
    return error_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    log.exception("unexpected API error on %s %s", request.method, request.path)
    return error_response(
        request, 500, "server_error", "Something went wrong on our side; it has been logged."
    )


# --- cursor pagination ---------------------------------------------------------------------
class Page(Schema):
    next_cursor: str | None = None


def encode_cursor(values: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, dict) or not isinstance(values.get("id"), int):
            raise ValueError
        if not 0 <= values["id"] < 2**63:
            raise ValueError
        if "u" in values:
            values["u"] = datetime.fromisoformat(values["u"])
        return values
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise DjangoValidationError(
            {"cursor": ["This cursor is not valid; use next_cursor from the previous page."]}
        ) from None


def paginate(
    queryset: QuerySet,
    *,
    cursor: str | None,
    limit: int,
    updated_since: datetime | None = None,
    updated_field: str | None = None,
) -> tuple[list, str | None]:
    """Keyset pagination: by (updated_field, id) when syncing with ``updated_since``, else by id.

    Constant cost per page however deep: the cursor is the last row's key, not an offset.
    """
    limit = max(1, min(limit, 200))
    if updated_since is not None and updated_field:
        queryset = queryset.filter(**{f"{updated_field}__gte": updated_since}).order_by(
            updated_field, "id"
        )
        if cursor:
            key = decode_cursor(cursor)
            from django.db.models import Q

            after = key.get("u")
            if not isinstance(after, datetime):
                raise DjangoValidationError(
                    {"cursor": ["This cursor belongs to another listing; start again."]}
                )
            queryset = queryset.filter(
                Q(**{f"{updated_field}__gt": after})
                | Q(**{updated_field: after, "id__gt": key["id"]})
            )
    else:
        queryset = queryset.order_by("id")
        if cursor:
            queryset = queryset.filter(id__gt=decode_cursor(cursor)["id"])
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        key: dict[str, Any] = {"id": last.id}
        if updated_since is not None and updated_field:
            key["u"] = getattr(last, updated_field).isoformat()
        next_cursor = encode_cursor(key)
    return rows, next_cursor


def list_page(queryset: QuerySet, filters: Any, *, updated_field: str | None = None) -> dict:
    """A list endpoint's answer, ``{"items", "next_cursor"}``, for the filters' cursor, limit and
    ``updated_since`` (when the list has an ``updated_field`` to sync by)."""
    items, next_cursor = paginate(
        queryset,
        cursor=filters.cursor,
        limit=filters.limit,
        updated_since=getattr(filters, "updated_since", None) if updated_field else None,
        updated_field=updated_field,
    )
    return {"items": items, "next_cursor": next_cursor}


def login_not_required_urls(patterns: list) -> list:
    """The API authenticates by token, not by session: exempt it from LoginRequiredMiddleware."""
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            login_not_required_urls(pattern.url_patterns)
        elif hasattr(pattern, "callback"):
            pattern.callback.login_required = False
    return patterns


# --- input types: what the database can store, refused with a 422 before any query --------
# The fuzzer's favourites (NUL bytes, year 1 in a far time zone, 30-digit numbers, text
# longer than the column) would otherwise reach PostgreSQL and come back as a 500.
def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("Text cannot contain NUL characters.")
    return value


def _sane_moment(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(DATE_RANGE_MESSAGE)
    return value


def _sane_day(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(DATE_RANGE_MESSAGE)
    return value


def _http_url(value: str) -> str:
    if value:
        try:
            URLValidator(schemes=["http", "https"])(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid http(s) URL.") from None
    return value


def _email(value: str) -> str:
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid e-mail address.") from None
    return value


def Text(max_length: int = 10_000, min_length: int = 0):
    """A string that fits its column (and carries no NUL byte)."""
    return Annotated[
        str,
        StringConstraints(max_length=max_length, min_length=min_length),
        AfterValidator(_no_nul),
    ]


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Url = Annotated[str, StringConstraints(max_length=500), AfterValidator(_http_url)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]
Moment = Annotated[AwareDatetime, AfterValidator(_sane_moment)]
Day = Annotated[date, AfterValidator(_sane_day)]
Money = Annotated[Decimal, PydanticField(ge=0, max_digits=14, decimal_places=2)]
SmallCount = Annotated[int, PydanticField(ge=0, le=10_000)]
Id = Annotated[int, PydanticField(ge=1, le=2**31 - 1)]


class PageQuery(Schema):
    """Paging parameters every list accepts."""

    cursor: Text(200) | None = None
    limit: int = PydanticField(50, ge=1, le=200)


class ListQuery(PageQuery):
    """Paging, and syncing by change time, for lists that have a time to sync by."""

    updated_since: Moment | None = PydanticField(
        None, description="Only rows changed at or after this moment (ISO 8601 with offset)."
    )


READ_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 409: ErrorOut}
