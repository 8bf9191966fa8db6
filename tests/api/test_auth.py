"""API tokens: created once and shown once, hashed at rest, scoped, revocable, rate-limited."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import ApiToken, TokenScope, hash_token
from accounts.services import create_api_token
from tests.factories import VendorFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def read_token(manager) -> str:
    return create_api_token(
        org=manager.org, user=manager.user, name="reporting", scope=TokenScope.READ
    )[1]


def test_the_schema_is_public_and_describes_bearer_auth(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/vendors" in schema["paths"]
    assert any(
        s.get("scheme") == "bearer" for s in schema["components"]["securitySchemes"].values()
    )


def test_no_token_is_a_401_in_the_one_error_shape(client):
    response = client.get("/api/v1/vendors")
    assert response.status_code == 401
    assert response.json() == {
        "error": {
            "code": "unauthenticated",
            "message": "Send a valid token: Authorization: Bearer <token>.",
            "fields": {},
        }
    }
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_is_stored_only_as_a_hash(manager, read_token):
    token = ApiToken.objects.get(user=manager.user)
    assert token.token_hash == hash_token(read_token)
    assert read_token not in {token.token_hash, token.hint}


def test_a_token_reads_its_organizations_vendors_only(client, manager, outsider, read_token):
    VendorFactory(org=manager.org, name="Ours")
    VendorFactory(org=outsider.org, name="Theirs")
    response = client.get("/api/v1/vendors", headers=bearer(read_token))
    assert response.status_code == 200
    assert [v["name"] for v in response.json()["items"]] == ["Ours"]


def test_another_organizations_vendor_is_a_404(client, outsider, read_token):
    theirs = VendorFactory(org=outsider.org)
    response = client.get(f"/api/v1/vendors/{theirs.pk}", headers=bearer(read_token))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_revoked_token_stops_working_at_once(client, manager, read_token):
    token = ApiToken.objects.get(user=manager.user)
    manager.client().post(reverse("accounts:apitoken_revoke", args=[token.pk]), {"confirm": "yes"})
    assert client.get("/api/v1/me", headers=bearer(read_token)).status_code == 401


def test_a_read_token_cannot_write(client, read_token):
    response = client.post(
        "/api/v1/vendors",
        {"name": "X"},
        content_type="application/json",
        headers=bearer(read_token),
    )
    assert response.status_code in (403, 405)
    if response.status_code == 403:
        assert response.json()["error"]["code"] == "forbidden"


def test_me_tells_who_the_token_belongs_to_and_records_last_use(client, manager, read_token):
    response = client.get("/api/v1/me", headers=bearer(read_token))
    assert response.json()["organization_slug"] == manager.org.slug
    assert response.json()["token_scope"] == "read"
    assert ApiToken.objects.get(user=manager.user).last_used_at is not None


def test_a_member_who_left_loses_the_tokens_with_the_membership(client, manager, read_token):
    manager.user.memberships.all().delete()
    assert client.get("/api/v1/me", headers=bearer(read_token)).status_code == 401


def test_too_many_requests_get_429_with_retry_after(client, read_token, manager, rate_limit):
    rate_limit("3/min")
    codes = [client.get("/api/v1/me", headers=bearer(read_token)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    last = client.get("/api/v1/me", headers=bearer(read_token))
    assert last.json()["error"]["code"] == "rate_limited"
    assert int(last["Retry-After"]) > 0
    # Another token of the same organization has its own budget.
    other = create_api_token(
        org=manager.org, user=manager.user, name="other", scope=TokenScope.READ
    )[1]
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200


def test_bad_query_parameters_name_the_field(client, read_token):
    response = client.get("/api/v1/vendors?limit=0", headers=bearer(read_token))
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["fields"]
    bad_cursor = client.get("/api/v1/vendors?cursor=%%%", headers=bearer(read_token))
    assert bad_cursor.status_code == 422
    assert "cursor" in bad_cursor.json()["error"]["fields"]


def test_cursor_pages_walk_every_vendor_once(client, manager, read_token):
    VendorFactory.create_batch(7, org=manager.org)
    seen, cursor = [], None
    while True:
        url = "/api/v1/vendors?limit=3" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=bearer(read_token)).json()
        seen += [v["id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 7


@pytest.mark.parametrize("n", [1, 30])
def test_vendor_list_query_count_is_flat(client, manager, read_token, n, django_assert_num_queries):
    VendorFactory.create_batch(n, org=manager.org)
    client.get(
        "/api/v1/me", headers=bearer(read_token)
    )  # last_used_at written once, not per request
    with django_assert_num_queries(2):  # token with membership, vendors page
        assert client.get("/api/v1/vendors", headers=bearer(read_token)).status_code == 200


def test_token_page_shows_a_new_token_once(manager):
    client = manager.client()
    response = client.post(reverse("accounts:apitoken_create"), {"name": "CRM", "scope": "write"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("vw_") and secret in response.text
    assert secret not in client.get(reverse("accounts:apitoken_list")).text


def test_a_viewer_gets_read_tokens_but_never_write_tokens(viewer):
    client = viewer.client()
    refused = client.post(reverse("accounts:apitoken_create"), {"name": "w", "scope": "write"})
    assert refused.status_code == 422
    assert "Viewers can only have read tokens" in refused.text
    assert (
        client.post(reverse("accounts:apitoken_create"), {"name": "r", "scope": "read"}).status_code
        == 200
    )


def test_one_cannot_revoke_another_organizations_token(manager, outsider):
    token, _ = create_api_token(
        org=outsider.org, user=outsider.user, name="theirs", scope=TokenScope.READ
    )
    assert (
        manager.client().post(reverse("accounts:apitoken_revoke", args=[token.pk])).status_code
        == 404
    )
    token.refresh_from_db()
    assert token.revoked_at is None


def test_operators_create_a_token_from_the_command_line(manager, capsys):
    call_command("api_token", manager.org.slug, manager.user.email, "--write")
    secret = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(token_hash=hash_token(secret)).scope == TokenScope.WRITE
