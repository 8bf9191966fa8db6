"""The JSON API under /api/v1/ (django-ninja): authentication, errors, rate limits, paging.

django-ninja because it derives the OpenAPI 3 schema from typed function signatures and
pydantic schemas we need anyway for validation, with little code and no second
serializer layer; every write calls the same ``services`` function the HTML view calls.

One error shape everywhere: ``{"error": {"code", "message", "fields"}}``.
"""

import functools
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from django.utils import timezone
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import AwareDatetime, BaseModel, BeforeValidator, WithJsonSchema
from pydantic import Field as PydanticField
from pydantic_core import PydanticCustomError

from accounts.audit import audit_as
from accounts.middleware import SAFE_METHODS
from accounts.models import ApiToken, Membership, Organization, User, hash_token
from accounts.tenancy import activate_tenant
from outsourcing import rows
from outsourcing.throttle import WindowCounterThrottle
from outsourcing.validation import EARLIEST_YEAR, LATEST_YEAR, MAX_INT

log = logging.getLogger(__name__)

# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """``Authorization: Bearer <token>``: finds the token, its user's membership and scope.

    Enters the token's organization as the tenant scope for the rest of the request, and
    refuses any non-safe method unless the token has write scope and its user may write.
    """

    openapi_scheme = "bearer"

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = _token_with_membership(hash_token(token))
        if found is None:
            return None  # unknown or revoked; or its user left the organization: it died too
        api_token, membership = found
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


# Every API call authenticates, and writes arrive by the hundred a second: the token, its
# user and organization and the user's membership there come in one statement whose SQL is
# written once per process (``outsourcing.rows``). (The ORM compiled the same joins anew on
# each call: ~8 ms of a 20 ms write.)
_TOKEN_PARTS = (
    (ApiToken, "t"),
    (User, "u"),
    (Organization, "o"),
    (Membership, "m"),
)


@functools.cache
def _token_statement() -> str:
    token, user, org, membership = (rows.columns(model, alias) for model, alias in _TOKEN_PARTS)
    return (
        f"SELECT {token.select}, {user.select}, {org.select}, {membership.select} "
        f"FROM {token.table} JOIN {user.table} ON u.id = t.user_id "
        f"JOIN {org.table} ON o.id = t.org_id "
        f"JOIN {membership.table} ON m.user_id = t.user_id AND m.org_id = t.org_id "
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active"
    )


def _token_with_membership(token_hash: str) -> tuple[ApiToken, Membership] | None:
    found = rows.fetch_one(
        _token_statement(),
        [token_hash],
        *(rows.columns(model, alias) for model, alias in _TOKEN_PARTS),
    )
    if found is None:
        return None
    api_token, user, org, membership = found
    api_token.user, api_token.org = user, org
    membership.user, membership.org = user, org
    return api_token, membership


class TokenRateThrottle(WindowCounterThrottle):
    """Per-token rate limit (API_RATE_LIMIT, e.g. "600/min"); 429 with Retry-After."""

    scope = "api-token"

    def __init__(self) -> None:
        super().__init__(settings.API_RATE_LIMIT)


def _without_null(schema: dict) -> dict:
    """A query parameter's schema without its ``null`` branch: a query string cannot spell null."""
    branches = [b for b in schema.get("anyOf", []) if b != {"type": "null"}]
    if len(branches) == 1 and len(schema["anyOf"]) == 2:
        rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
        return {**branches[0], **rest}
    return schema


class VendorwatchAPI(NinjaAPI):
    """The API with a schema tuned to what the server really reads."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for path in schema["paths"].values():
            for operation in path.values():
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        parameter["schema"] = _without_null(parameter["schema"])
        return schema


api = VendorwatchAPI(
    title="Vendorwatch API",
    version="1",
    description=(
        "Vendors, engagements, deliverables, interactions, spend, alerts and lessons of one "
        "organization. Authenticate with `Authorization: Bearer <token>` (create tokens on the "
        "API tokens page or with `manage.py api_token`). Errors always have the shape "
        '`{"error": {"code": ..., "message": ..., "fields": {...}}}`, also for paths that do '
        "not exist. **422** (`validation_error`): the request does not match this schema; the "
        "schema is the whole contract (lengths, patterns, formats, ranges), so a request it "
        "admits is never a 422. **409** (`conflict`): the request matches the schema but "
        "contradicts the data it touches (a name already taken, a due date before the "
        "engagement starts, an end before the start, a currency other than the engagement's, "
        "an id of no row of this organization, a step the current state does not allow) or "
        "lost a race; `fields` names the field when there is one."
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
def _refused_by_a_service(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    """The one place a service's refusal becomes a 409: a lost race or a step the current
    state does not allow (``outsourcing.errors.Conflict``), or a value that contradicts the
    stored data or another field. The schema already refused every malformed request (422),
    so the API checks no rule of its own before calling the service."""
    if hasattr(exc, "error_dict"):
        sent = _sent_keys(request)
        fields = {_as_sent(k, sent): list(v) for k, v in exc.message_dict.items()}
        return error_response(
            request, 409, "conflict", " ".join(m for v in fields.values() for m in v), fields
        )
    return error_response(request, 409, "conflict", " ".join(exc.messages))


def _sent_keys(request: HttpRequest) -> set[str]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, RawPostDataException):
        return set()
    return set(body) if isinstance(body, dict) else set()


def _as_sent(field: str, sent: set[str]) -> str:
    """The field as the client spelled it: a service names a related row by its model field
    (``owner``), the API by its id (``owner_id``); a form-wide refusal is the ``request``'s."""
    if field == "__all__":
        return "request"
    return f"{field}_id" if field not in sent and f"{field}_id" in sent else field


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
    next_cursor: str | None = PydanticField(
        None, description="Pass it as cursor= for the next page; null on the last page."
    )


# A sync cursor holds the last row's change time as microseconds since this moment: digits
# only (the schema's pattern), and 16 of them reach past the latest year a row can carry.
CURSOR_EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def encode_cursor(row_id: int, moment: datetime | None = None) -> str:
    if moment is None:
        return str(row_id)
    return f"{row_id}-{(moment - CURSOR_EPOCH) // timedelta(microseconds=1)}"


def decode_cursor(cursor: str) -> tuple[int, datetime | None]:
    """(last id, last change time or None) of a cursor the schema's pattern already checked."""
    row_id, _, micros = cursor.partition("-")
    moment = CURSOR_EPOCH + timedelta(microseconds=int(micros)) if micros else None
    return int(row_id), moment


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
    Every cursor the schema admits means something: a plain one (an id) in a sync listing
    continues after that id at the ``updated_since`` moment itself.
    """
    limit = max(1, min(limit, 200))
    syncing = updated_since is not None and updated_field is not None
    after_id, after_moment = decode_cursor(cursor) if cursor else (None, None)
    if syncing:
        queryset = queryset.filter(**{f"{updated_field}__gte": updated_since}).order_by(
            updated_field, "id"
        )
        if after_id is not None:
            after = after_moment or updated_since
            queryset = queryset.filter(
                Q(**{f"{updated_field}__gt": after})
                | Q(**{updated_field: after, "id__gt": after_id})
            )
    else:
        queryset = queryset.order_by("id")
        if after_id is not None:
            queryset = queryset.filter(id__gt=after_id)
    rows = list(queryset[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more:
        last = rows[-1]
        next_cursor = encode_cursor(last.id, getattr(last, updated_field) if syncing else None)
    return rows, next_cursor


def list_page(
    queryset: QuerySet, filters: Any, *, updated_field: str | None = None, **lookups: str
) -> dict:
    """A list endpoint's answer, ``{"items", "next_cursor"}``, for the filters' cursor, limit and
    ``updated_since`` (when the list has an ``updated_field`` to sync by).

    ``lookups`` narrow the rows by each of the filters' fields that is set
    (``list_page(qs, filters, milestone="milestone_id")``): for the lists no web page shares; a
    list a page shows filters through its model's ``filter_for_list``, the page's own.
    """
    for name, lookup in lookups.items():
        if (value := getattr(filters, name)) not in (None, ""):
            queryset = queryset.filter(**{lookup: value})
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


# --- input types: the schema says exactly what the server accepts --------------------------
# Each type below carries its JSON Schema (what a client may send) and the check the server
# runs, written side by side so the two cannot drift apart: whatever matches the schema is
# accepted, whatever does not is a 422 naming the field. Patterns use explicit character
# classes (no \d, \s or .), which read the same in ECMA-262, Rust and Python regexes.
# tests/api/test_contract.py replays the patterns against the formats they narrow.
Check = Callable[[Any], Any]


def _contract(python_type: Any, schema: dict, *checks: Check) -> Any:
    """``python_type`` read by ``checks`` (before pydantic's own parsing) and documented as ``schema``."""
    return Annotated[
        python_type, *(BeforeValidator(check) for check in reversed(checks)), WithJsonSchema(schema)
    ]


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Send a JSON string.")
    try:  # JSON can escape half of a UTF-16 pair ("\\ud800"); no database stores one
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError("unicode", "Text must be valid Unicode.") from None
    return value


def _matching(pattern: str, message: str) -> Check:
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.search(value):
            raise PydanticCustomError("pattern", message)
        return value

    return check


# Python's str.strip() set (Unicode White_Space plus the four ASCII separators 0x1C-0x1F):
# "blank" means the same to the schema and to every service that strips.
WHITESPACE = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
)
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{WHITESPACE}][^\u0000]*$"
NUL_MESSAGE = "Text cannot contain NUL characters."
BLANK_MESSAGE = "Write something (not only spaces)."


def Text(max_length: int = 10_000, *, blank: bool = True, strip: bool = False) -> Any:
    """A string that fits its column and carries no NUL byte; ``blank=False``: not only spaces."""

    def check(value: str) -> str:
        if len(value) > max_length:
            raise PydanticCustomError("too_long", f"At most {max_length} characters.")
        if "\x00" in value:
            raise PydanticCustomError("nul", NUL_MESSAGE)
        if not blank and not value.strip():
            raise PydanticCustomError("blank", BLANK_MESSAGE)
        return value

    schema: dict[str, Any] = {"type": "string", "maxLength": max_length}
    if blank:
        schema["pattern"] = NO_NUL
    else:
        schema.update(minLength=1, pattern=NOT_BLANK, description="Not blank (not only spaces).")
    checks = [_string, check] + ([str.strip] if strip else [])
    return _contract(str, schema, *checks)


# A name is stored without surrounding spaces; it is measured before they are cut.
Name = Text(200, blank=False, strip=True)


def Choice(values: Any) -> Any:
    """One of a fixed list of codes (currencies, time zones); ``""`` only when it is listed."""
    allowed = sorted(values)
    allowed_set = frozenset(allowed)

    def check(value: str) -> str:
        if value not in allowed_set:
            raise PydanticCustomError("enum", "Use one of the listed values.")
        return value

    return _contract(str, {"type": "string", "enum": allowed}, _string, check)


# --- URLs and e-mail addresses: a pattern that narrows the format to what Django accepts too.
_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,38}[A-Za-z0-9])?"
# At most five labels of 40 and a top-level domain of 24: a host under the 253 that Django allows.
_HOST = rf"({_LABEL}\.){{1,5}}[A-Za-z]{{2,24}}"
_PCHAR = r"([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_QCHAR = r"([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})"
URL_PATTERN = rf"^https?://{_HOST}(:[0-9]{{1,5}})?(/{_PCHAR}*)*(\?{_QCHAR}*)?(#{_QCHAR}*)?$"
URL_MESSAGE = "Enter an http(s) URL with a domain name (percent-encode other characters)."
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
EMAIL_PATTERN = rf"^{_ATEXT}+(\.{_ATEXT}+)*@{_HOST}$"
EMAIL_MESSAGE = "Enter a valid e-mail address."


def _django_url(value: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError:
        raise PydanticCustomError("url", URL_MESSAGE) from None
    return value


def _django_email(value: str) -> str:
    # RFC 5321 limits the part before the @ to 64 characters; the "email" format says so too.
    if len(value.partition("@")[0]) > 64:
        raise PydanticCustomError("email", EMAIL_MESSAGE)
    try:
        validate_email(value)
    except DjangoValidationError:
        raise PydanticCustomError("email", EMAIL_MESSAGE) from None
    return value


def _optional_string(
    max_length: int, fmt: str, pattern: str, message: str, django: Check, description: str
) -> Any:
    """``""`` (none) or a ``fmt`` string matching ``pattern`` and Django's own validator."""
    matches = _matching(pattern, message)

    def check(value: str) -> str:
        if value == "":
            return value
        if len(value) > max_length:
            raise PydanticCustomError("too_long", f"At most {max_length} characters.")
        return django(matches(value))

    schema = {
        "anyOf": [
            {"type": "string", "maxLength": 0},
            {
                "type": "string",
                "format": fmt,
                "pattern": pattern,
                "minLength": 1,
                "maxLength": max_length,
            },
        ],
        "description": description,
    }
    return _contract(str, schema, _string, check)


def Url(max_length: int = 500) -> Any:
    return _optional_string(
        max_length,
        "uri",
        URL_PATTERN,
        URL_MESSAGE,
        _django_url,
        'An http(s) URL with a domain name, or "" for none.',
    )


Email = _optional_string(
    254, "email", EMAIL_PATTERN, EMAIL_MESSAGE, _django_email, 'An e-mail address, or "" for none.'
)

# --- dates and moments: ISO 8601 strings between 1900 and 2200, never numbers --------------
# pydantic's lax mode would read 1898 as a Unix time; JSON has no date type, so a date is a
# string, and the schema's pattern carries the year range the database and time zones hold.
assert (EARLIEST_YEAR, LATEST_YEAR) == (1900, 2200), "the patterns below spell these years"
_YEAR = "(19[0-9]{2}|2[01][0-9]{2}|2200)"
_DATE = rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DAY_PATTERN = rf"^{_DATE}$"
MOMENT_PATTERN = (
    rf"^{_DATE}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,6}})?"
    r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
DAY_MESSAGE = f"Use a date YYYY-MM-DD between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
MOMENT_MESSAGE = (
    "Use an ISO 8601 date and time with an offset, e.g. 2026-05-01T09:30:00+02:00, between "
    f"the years {EARLIEST_YEAR} and {LATEST_YEAR}."
)


def _utc_moment(value: str) -> datetime:
    # The format admits offsets up to ±23:59, PostgreSQL stores ±15:59 at most: the same
    # instant in UTC fits both.
    return datetime.fromisoformat(value).astimezone(UTC)


def _parsed(parse: Callable[[str], Any], message: str) -> Check:
    def check(value: str) -> Any:
        try:
            return parse(value)
        except ValueError:  # 31 April: the pattern allows it, the calendar does not
            raise PydanticCustomError("date", message) from None

    return check


Day = _contract(
    date,
    {"type": "string", "format": "date", "pattern": DAY_PATTERN, "description": DAY_MESSAGE},
    _string,
    _matching(DAY_PATTERN, DAY_MESSAGE),
    _parsed(date.fromisoformat, DAY_MESSAGE),
)
Moment = _contract(
    AwareDatetime,
    {
        "type": "string",
        "format": "date-time",
        "pattern": MOMENT_PATTERN,
        "description": MOMENT_MESSAGE,
    },
    _string,
    _matching(MOMENT_PATTERN, MOMENT_MESSAGE),
    _parsed(_utc_moment, MOMENT_MESSAGE),
)


# --- amounts: decimal strings (a JSON number would lose cents) ------------------------------
def Decimals(integer_digits: int, *, positive: bool = False) -> Any:
    """A decimal string with up to ``integer_digits`` digits and 2 decimals, ``positive``: above 0."""
    whole = f"(0|[1-9][0-9]{{0,{integer_digits - 1}}})"
    if positive:
        pattern = (
            rf"^([1-9][0-9]{{0,{integer_digits - 1}}}(\.[0-9]{{1,2}})?|0\.(0[1-9]|[1-9][0-9]?))$"
        )
        message = f'A decimal string above zero, e.g. "1200.50" (up to {integer_digits} digits before the point).'
    else:
        pattern = rf"^{whole}(\.[0-9]{{1,2}})?$"
        message = (
            f'A decimal string, e.g. "1200.50" (up to {integer_digits} digits before the point).'
        )
    return _contract(
        Decimal,
        {"type": "string", "pattern": pattern, "description": message, "examples": ["1200.50"]},
        _string,
        _matching(pattern, message),
        Decimal,
    )


Money = Decimals(12)
PositiveMoney = Decimals(12, positive=True)


# --- integers ------------------------------------------------------------------------------
def _json_integer(value: Any) -> int:
    # JSON Schema counts 2.0 as an integer; a string, a boolean or 2.5 is not one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PydanticCustomError("int_type", "Send a whole number.")
    return value


# Plain ASCII digits, and a zero fraction: JSON Schema counts 7.0 as an integer, so a client
# (or a generator) reading the schema may write "7.0" in a path. Not "+5", " 5", "05", "5_0",
# "7.5", "1e5" or Arabic-Indic digits.
_DIGITS = re.compile(r"(-?(?:0|[1-9][0-9]{0,18}))(?:\.0+)?")


def _query_integer(value: Any) -> int:
    # A query string or a path spells an integer in plain digits (see _DIGITS).
    if isinstance(value, str) and (digits := _DIGITS.fullmatch(value)):
        return int(digits.group(1))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError("int_parsing", "Use a whole number in plain digits.")


def Int(ge: int, le: int) -> Any:
    """A whole number in a JSON body (``2.0`` counts, ``"2"`` and ``true`` do not)."""
    return Annotated[int, PydanticField(ge=ge, le=le), BeforeValidator(_json_integer)]


def QueryInt(ge: int, le: int) -> Any:
    """A whole number in a query string or path, in plain ASCII digits."""
    return Annotated[int, PydanticField(ge=ge, le=le), BeforeValidator(_query_integer)]


SmallCount = Int(0, 10_000)
Id = Int(1, MAX_INT)
IdParam = QueryInt(1, MAX_INT)


class Input(BaseModel):
    """A JSON request body: an object (an array, a string or null is a 422); unknown keys are
    ignored, as the schema allows them."""


def required_when(field: str, matching: dict, then: str) -> dict:
    """JSON Schema for "when ``field`` matches ``matching``, ``then`` is required and not null";
    the model says the same with a validator on ``then`` (see ``check_required_when``)."""
    return {
        "if": {"properties": {field: matching}, "required": [field]},
        "then": {"properties": {then: {"not": {"type": "null"}}}, "required": [then]},
    }


def check_required_when(
    value: Any, data: dict, field: str, applies: Callable[[Any], bool], message: str
) -> Any:
    """The server side of ``required_when``: ``value`` (the dependent field) is missing."""
    if value is None and field in data and applies(data[field]):
        raise PydanticCustomError("missing", message)
    return value


def not_blank(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# --- cursors -------------------------------------------------------------------------------
CURSOR_PATTERN = r"^([0-9]{1,10}(-[0-9]{1,16})?)?$"
CURSOR_MESSAGE = "Not a cursor: pass the next_cursor of the previous page unchanged."
Cursor = _contract(
    str,
    {
        "type": "string",
        "pattern": CURSOR_PATTERN,
        "maxLength": 27,
        "description": (
            "Opaque: the next_cursor of the previous page, unchanged (empty or left out: the "
            "first page). Its shape is digits, optionally a dash and more digits."
        ),
    },
    _string,
    _matching(CURSOR_PATTERN, CURSOR_MESSAGE),
)


class PageQuery(BaseModel):
    """Paging parameters every list accepts."""

    cursor: Cursor = ""
    limit: QueryInt(1, 200) = 50


class ListQuery(PageQuery):
    """Paging, and syncing by change time, for lists that have a time to sync by."""

    updated_since: Moment | None = PydanticField(
        None, description="Only rows changed at or after this moment (ISO 8601 with offset)."
    )


READ_ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut}
WRITE_ERRORS = {**READ_ERRORS, 409: ErrorOut}
