"""The OpenAPI document is the whole contract: what it admits is accepted, what it refuses is
a 422, and every answer under /api/ is JSON.

The schemathesis run (test_schemathesis.py) probes this with generated requests; these
tests pin the classes it found, one story each, and run in the quick suite.
"""

import json
import re
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from accounts.models import TokenScope
from accounts.services import create_api_token
from outsourcing import api as contract
from outsourcing.urls import api
from tests.api.conftest import bearer
from tests.factories import (
    ContractFactory,
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    RiskFactory,
    ScopeChangeFactory,
    SpendEntryFactory,
    VendorFactory,
)

jsonschema_rs = pytest.importorskip("jsonschema_rs")
JSON = "application/json"
SCHEMA = api.get_openapi_schema()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def operations(predicate):
    """(method, path) of every operation of the schema for which ``predicate(operation)``."""
    return [
        (method.upper(), path)
        for path, item in SCHEMA["paths"].items()
        for method, operation in item.items()
        if predicate(operation)
    ]


def concrete(path: str, ids: dict[str, int]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


@pytest.fixture
def world(manager):
    vendor = VendorFactory(org=manager.org)
    engagement = EngagementFactory(org=manager.org, vendor=vendor, owner=manager.user)
    deliverable = DeliverableFactory(milestone=MilestoneFactory(engagement=engagement))
    interaction = InteractionFactory(engagement=engagement)
    return {
        "vendor_id": vendor.pk,
        "contract_id": ContractFactory(vendor=vendor).pk,
        "engagement_id": engagement.pk,
        "deliverable_id": deliverable.pk,
        "milestone_id": deliverable.milestone_id,
        "spend_id": SpendEntryFactory(engagement=engagement).pk,
        "interaction_id": interaction.pk,
        "alert_id": 1,
        "postmortem_id": 1,
        "channel_id": 1,
        "decision_id": 1,
        "risk_id": RiskFactory(engagement=engagement).pk,
        "scope_change_id": ScopeChangeFactory(engagement=engagement).pk,
    }


# --- bodies are objects -----------------------------------------------------------------------
WITH_BODY = operations(lambda op: "requestBody" in op)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), WITH_BODY)
@pytest.mark.parametrize("body", ["[]", "[null, null]", '"note"', "null", "7"])
def test_a_body_that_is_not_a_json_object_is_refused_on_every_endpoint(
    client, world, owner, method, path, body
):
    """An action with only optional fields took `[null, null]` for `{}` and acted on it.

    An owner's token: it may write every endpoint (a manager's is refused the owners' ones,
    the channels, with a 403 before the body is read)."""
    token = create_api_token(org=owner.org, user=owner.user, name="o", scope=TokenScope.WRITE)
    response = client.generic(
        method, concrete(path, world), body, content_type=JSON, headers=bearer(token[1])
    )
    assert response.status_code == 422, (path, body, response.content)
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
def test_acknowledging_with_an_array_body_leaves_the_alert_open(client, manager, write_token):
    from engagements.models import Alert

    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    alert = Alert.objects.create(org=manager.org, engagement=engagement, level="warning")
    response = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge",
        "[null, null]",
        content_type=JSON,
        headers=write_token,
    )
    assert response.status_code == 422
    alert.refresh_from_db()
    assert alert.status == "open"


# --- moments and dates are ISO 8601 strings, never numbers -----------------------------------
SYNCED_LISTS = operations(
    lambda op: any(p["name"] == "updated_since" for p in op.get("parameters", []))
)


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), SYNCED_LISTS)
@pytest.mark.parametrize(
    "since",
    ["1898", "-1887", "1767225600", "2026-01-01", "2026-01-01T00:00:00", "1899-12-31T23:00:00Z"],
)
def test_updated_since_is_a_moment_with_an_offset_never_a_unix_time(
    client, world, write_token, method, path, since
):
    response = client.get(concrete(path, world), {"updated_since": since}, headers=write_token)
    assert response.status_code == 422, (path, since)
    assert "updated_since" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_a_moment_with_an_offset_is_accepted(client, world, write_token):
    response = client.get(
        "/api/v1/vendors", {"updated_since": "2026-01-01T00:00:00+02:00"}, headers=write_token
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (contract.Day, 1898),
        (contract.Day, 20260101),
        (contract.Day, "0001-01-01"),
        (contract.Day, "9999-12-31"),
        (contract.Day, "2026-02-30"),
        (contract.Moment, 1898),
        (contract.Moment, 1898.5),
        (contract.Moment, "2026-05-01T09:30:00"),  # no offset
        (contract.Moment, "2026-05-01 09:30:00Z"),
        (contract.Money, 1200.5),  # a JSON number loses cents: amounts are strings
        (contract.Money, "-5"),
        (contract.Money, "1e3"),
        (contract.Money, ""),
        (contract.Id, "5"),
        (contract.Id, True),
        (contract.Id, 2.5),
    ],
)
def test_a_value_the_schema_refuses_is_refused(kind, value):
    with pytest.raises(PydanticError):
        TypeAdapter(kind).validate_python(value)


# --- the patterns say what Django and the schema's formats say ------------------------------
def format_check(fmt: str):
    validator = jsonschema_rs.validator_for(
        {"type": "string", "format": fmt}, validate_formats=True
    )
    return validator.is_valid


def django_accepts(check, value) -> bool:
    try:
        check(value)
    except ValidationError:
        return False
    return True


@FUZZ
@given(st.from_regex(contract.URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_admits_is_a_uri_django_accepts(value):
    assert format_check("uri")(value)
    assert django_accepts(URLValidator(schemes=["http", "https"]), value), value


@FUZZ
@given(st.from_regex(contract.EMAIL_PATTERN, fullmatch=True))
def test_an_email_the_pattern_admits_is_accepted_exactly_when_the_format_admits_it(value):
    # The format also limits the part before the @ to 64 characters; the server says the same.
    server = django_accepts(validate_email, value) and len(value.partition("@")[0]) <= 64
    assert server == format_check("email")(value), value


@FUZZ
@given(st.from_regex(contract.MOMENT_PATTERN, fullmatch=True))
def test_a_moment_the_pattern_admits_is_accepted_exactly_when_it_is_a_real_date_time(value):
    try:
        TypeAdapter(contract.Moment).validate_python(value)
        server = True
    except PydanticError:
        server = False
    assert server == format_check("date-time")(value), value


@FUZZ
@given(st.text(alphabet=st.sampled_from(" \t\n\x0b\x0c\r\x1c\x1f\x85\xa0\u2003\u3000\ufeffa\x00")))
def test_blank_means_the_same_to_the_schema_and_to_the_services(value):
    """Services check `not text.strip()`; the schema's pattern must agree, character for character."""
    schema_ok = jsonschema_rs.validator_for(
        {"type": "string", "pattern": contract.NOT_BLANK}
    ).is_valid(value)
    assert schema_ok == (bool(value.strip()) and "\x00" not in value), repr(value)


# --- cursors ---------------------------------------------------------------------------------
LISTS = operations(lambda op: any(p["name"] == "cursor" for p in op.get("parameters", [])))


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "path"), LISTS)
@pytest.mark.parametrize("cursor", ["", "0", "9999999999", "1-0", "3-9999999999999999"])
def test_any_cursor_of_the_documented_shape_is_accepted_on_every_list(
    client, world, write_token, method, path, cursor
):
    for since in ({}, {"updated_since": "2026-01-01T00:00:00Z"}):
        response = client.get(
            concrete(path, world), {"cursor": cursor, **since}, headers=write_token
        )
        assert response.status_code == 200, (path, cursor, response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("cursor", ["abc", "eyJpZCI6IDF9", "1-", "-1", "1.5", " 1", "1" * 11])
def test_a_cursor_of_another_shape_is_a_422(client, world, write_token, cursor):
    response = client.get("/api/v1/vendors", {"cursor": cursor}, headers=write_token)
    assert response.status_code == 422
    assert "cursor" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_syncing_by_change_time_pages_through_every_row_once(client, manager, write_token):
    from django.utils import timezone

    start = timezone.now() - timedelta(days=1)
    vendors = [VendorFactory(org=manager.org) for _ in range(7)]
    for i, vendor in enumerate(vendors):  # two rows share each moment: the id breaks the tie
        type(vendor).unscoped.filter(pk=vendor.pk).update(
            updated_at=start + timedelta(hours=i // 2)
        )
    seen, cursor = [], ""
    while True:
        page = client.get(
            "/api/v1/vendors",
            {"updated_since": "2000-01-01T00:00:00Z", "limit": 2, "cursor": cursor},
            headers=write_token,
        ).json()
        seen += [v["id"] for v in page["items"]]
        assert page["next_cursor"] is None or re.fullmatch(
            contract.CURSOR_PATTERN, page["next_cursor"]
        )
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert seen == [v.pk for v in vendors]


# --- every answer under /api/ is JSON ----------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/", 404),
        ("GET", "/api/v1/nope", 404),
        ("GET", "/api/v2/vendors", 404),
        ("GET", "/api/v1/vendors/", 404),
        ("POST", "/api/v1/nope", 404),
        ("DELETE", "/api/v1/vendors", 405),
        ("PUT", "/api/v1/me", 405),
    ],
)
def test_every_answer_under_api_is_json_also_for_unknown_paths_and_with_debug_on(
    settings, write_token, debug, method, path, status
):
    settings.DEBUG = debug
    response = Client(raise_request_exception=False).generic(method, path, headers=write_token)
    assert response.status_code == status
    assert response["Content-Type"].startswith(JSON), response.content[:200]
    error = json.loads(response.content)["error"]
    assert error["code"] and error["message"] and error["fields"] == {}
    if status == 405:
        assert response["Allow"]


@pytest.mark.django_db
def test_a_page_outside_the_api_keeps_its_html_404(client, manager):
    client.force_login(manager.user)
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["+20:10", "-23:59", "+00:00", "-00:00"])
def test_any_offset_the_format_admits_is_read_as_the_same_instant(
    client, world, write_token, offset
):
    """PostgreSQL refuses offsets past ±15:59; the server keeps the instant, in UTC."""
    for path in ("/api/v1/vendors", f"/api/v1/engagements/{world['engagement_id']}/spend"):
        response = client.get(
            path, {"updated_since": f"2200-11-30T21:59:45{offset}"}, headers=write_token
        )
        assert response.status_code == 200, response.content
    moment = TypeAdapter(contract.Moment).validate_python(f"2026-05-01T09:30:00{offset}")
    assert moment.utcoffset() == timedelta(0)


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["\\ud800", "a\\udfffb"])
def test_text_with_a_lone_surrogate_is_a_422_not_a_database_error(client, world, write_token, text):
    """JSON can spell half of a UTF-16 pair; PostgreSQL cannot store it."""
    response = client.post(
        "/api/v1/vendors", f'{{"name": "{text}"}}', content_type=JSON, headers=write_token
    )
    assert response.status_code == 422
    assert "name" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_an_id_in_a_path_is_read_in_every_spelling_of_an_integer_the_schema_admits(
    client, world, write_token
):
    """The schema says ``integer``, and JSON Schema counts 7.0 as one: a generated "7.0" in a
    path reaches row 7. What is not an integer, or not in plain digits, is a 422."""
    base = f"/api/v1/engagements/{world['engagement_id']}/milestones/"
    milestone = world["milestone_id"]
    for spelling in (f"{milestone}", f"{milestone}.0", f"{milestone}.00"):
        patched = client.patch(f"{base}{spelling}", "{}", content_type=JSON, headers=write_token)
        assert patched.status_code == 200, (spelling, patched.content)
        assert patched.json()["id"] == milestone
    for junk in (f"+{milestone}", f"0{milestone}", f"{milestone}.5", "1e5", f"{milestone}."):
        refused = client.patch(f"{base}{junk}", "{}", content_type=JSON, headers=write_token)
        assert refused.status_code == 422, junk
