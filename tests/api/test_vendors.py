"""/api/v1/vendors: create, change, contacts, evidence and the read-only scorecard."""

import datetime as dt

import pytest

from tests.factories import EvidenceFactory, VendorContactFactory, VendorFactory
from vendors.models import Evidence, Vendor, VendorContact

pytestmark = pytest.mark.django_db
JSON = "application/json"


def post(client, url, data, headers):
    return client.post(url, data, content_type=JSON, headers=headers)


def test_a_script_records_a_vendor_with_a_contact_and_evidence_and_reads_the_scorecard(
    client, manager, write_token
):
    created = post(
        client,
        "/api/v1/vendors",
        {"name": "Acme Dev", "website": "https://acme.example", "specialties": "web"},
        write_token,
    )
    assert created.status_code == 201, created.json()
    vid = created.json()["id"]
    assert created.json()["status"] == "prospect"
    contact = post(
        client,
        f"/api/v1/vendors/{vid}/contacts",
        {"name": "Ana", "email": "ana@acme.example"},
        write_token,
    )
    assert contact.status_code == 201 and contact.json()["is_primary"] is True
    evidence = post(
        client,
        f"/api/v1/vendors/{vid}/evidence",
        {
            "kind": "reference",
            "summary": "Called their last client: on time.",
            "verified": True,
            "scores": {"expertise": 5, "communication": 4},
        },
        write_token,
    )
    assert evidence.status_code == 201, evidence.json()
    card = client.get(f"/api/v1/vendors/{vid}/scorecard", headers=write_token).json()
    by_name = {c["criterion"]: c for c in card["criteria"]}
    assert by_name["expertise"]["average"] == "5.0" and by_name["expertise"]["verified"] == 1
    assert by_name["gut"]["flag"] == "not scored"
    assert Vendor.objects.get().score is not None


def test_a_duplicate_vendor_name_is_a_409_and_nothing_is_saved(client, manager, write_token):
    VendorFactory(org=manager.org, name="Acme Dev")
    response = post(client, "/api/v1/vendors", {"name": "Acme Dev"}, write_token)
    assert response.status_code == 409
    assert Vendor.objects.count() == 1


def test_bad_email_and_url_name_their_fields(client, manager, write_token):
    vendor = VendorFactory(org=manager.org)
    bad = post(
        client, f"/api/v1/vendors/{vendor.pk}/contacts", {"name": "A", "email": "nope"}, write_token
    )
    assert bad.status_code == 422 and "email" in bad.json()["error"]["fields"]
    bad_link = post(
        client,
        f"/api/v1/vendors/{vendor.pk}/evidence",
        {"kind": "sample", "summary": "x", "link": "javascript:alert(1)"},
        write_token,
    )
    assert bad_link.status_code == 422 and "link" in bad_link.json()["error"]["fields"]
    assert not VendorContact.objects.exists() and not Evidence.objects.exists()


def test_patch_keeps_the_status_and_moves_updated_since(client, manager, write_token):
    vendor = VendorFactory(org=manager.org, status="approved")
    Vendor.objects.filter(pk=vendor.pk).update(updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    since = "/api/v1/vendors?updated_since=2024-01-01T00:00:00Z"
    assert client.get(since, headers=write_token).json()["items"] == []
    response = client.patch(
        f"/api/v1/vendors/{vendor.pk}",
        {"description": "Now with a mobile team", "status": "rejected"},
        content_type=JSON,
        headers=write_token,
    )
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert [v["id"] for v in client.get(since, headers=write_token).json()["items"]] == [vendor.pk]


def test_another_organizations_vendor_contacts_and_evidence_are_404(
    client, manager, outsider_token
):
    vendor = VendorFactory(org=manager.org)
    VendorContactFactory(vendor=vendor)
    EvidenceFactory(vendor=vendor)
    for path in ("contacts", "evidence", "scorecard"):
        assert (
            client.get(f"/api/v1/vendors/{vendor.pk}/{path}", headers=outsider_token).status_code
            == 404
        )
    refused = post(
        client, f"/api/v1/vendors/{vendor.pk}/contacts", {"name": "Mole"}, outsider_token
    )
    assert refused.status_code == 404
    assert VendorContact.objects.count() == 1


def test_a_viewer_token_reads_but_cannot_create_a_vendor(client, viewer, read_headers):
    assert client.get("/api/v1/vendors", headers=read_headers).status_code == 200
    assert post(client, "/api/v1/vendors", {"name": "X"}, read_headers).status_code == 403
    assert not Vendor.objects.exists()


def test_deleting_a_vendor_is_not_offered(client, manager, write_token):
    vendor = VendorFactory(org=manager.org)
    assert client.delete(f"/api/v1/vendors/{vendor.pk}", headers=write_token).status_code == 405


@pytest.mark.parametrize("n", [1, pytest.param(10_000, marks=pytest.mark.slow)])
def test_vendor_list_has_a_flat_query_count_at_10000_vendors(
    client, manager, write_token, n, django_assert_num_queries
):
    Vendor.objects.bulk_create(Vendor(org=manager.org, name=f"Vendor {i}") for i in range(n))
    client.get("/api/v1/me", headers=write_token)
    with django_assert_num_queries(2):  # token with membership, page
        page = client.get("/api/v1/vendors?limit=200", headers=write_token).json()
    assert len(page["items"]) == min(n, 200)
    if n > 200:
        with django_assert_num_queries(2):  # sync from a moment: the same cost
            client.get(
                "/api/v1/vendors?limit=200&updated_since=2000-01-01T00:00:00Z",
                headers=write_token,
            )


def test_only_lists_that_can_sync_by_change_time_offer_updated_since(client):
    """A documented parameter that a list silently ignored would hand a sync client every row."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    def params(path: str) -> set[str]:
        return {p["name"] for p in paths[path]["get"].get("parameters", [])}

    assert "updated_since" in params("/api/v1/vendors")
    assert "updated_since" in params("/api/v1/engagements/{engagement_id}/spend")
    for path in (
        "/api/v1/vendors/{vendor_id}/contacts",
        "/api/v1/vendors/{vendor_id}/evidence",
        "/api/v1/engagements/{engagement_id}/milestones",
    ):
        assert "updated_since" not in params(path) and "cursor" in params(path)
