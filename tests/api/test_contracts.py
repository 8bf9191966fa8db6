"""/api/v1/vendors/{id}/contracts and /api/v1/contracts: terms and decisions, with the rules
the contract page has (409 naming the field), and the computed decide-by date."""

from datetime import UTC, datetime

import pytest
import time_machine

from tests.factories import EngagementFactory, VendorFactory
from vendors.models import ContractDecision

pytestmark = pytest.mark.django_db
JSON = "application/json"
NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)

TERMS = {
    "title": "Platform MSA",
    "start_date": "2026-02-01",
    "end_date": "2027-02-01",
    "auto_renews": True,
    "renewal_months": 12,
    "notice_period": 1,
    "notice_unit": "months",
    "payment_schedule": "instalments",
    "instalment_amount": "4000",
    "instalment_months": 1,
}


def post(client, url, data, headers):
    return client.post(url, data, content_type=JSON, headers=headers)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_a_script_records_a_contract_reads_its_decide_by_date_and_gives_notice(
    client, manager, write_token
):
    vendor = VendorFactory(org=manager.org)
    created = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["decide_by"] == "2027-01-01"
    assert body["renews_on"] == "2027-02-01"
    assert body["renewal_amount"] == "48000.00"
    assert body["earliest_exit"] == "2027-02-01"
    cid = body["id"]
    listed = client.get(f"/api/v1/vendors/{vendor.pk}/contracts", headers=write_token).json()
    assert [c["id"] for c in listed["items"]] == [cid]
    decided = post(
        client,
        f"/api/v1/contracts/{cid}/decisions",
        {"kind": "give_notice", "reason": "Moving in house."},
        write_token,
    )
    assert decided.status_code == 201, decided.json()
    assert decided.json()["exit_on"] == "2027-02-01"
    after = client.get(f"/api/v1/contracts/{cid}", headers=write_token).json()
    assert after["decide_by"] is None and after["notice_given_on"] == "2026-12-10"
    again = post(
        client,
        f"/api/v1/contracts/{cid}/decisions",
        {"kind": "renew", "reason": "Changed our mind."},
        write_token,
    )
    assert again.status_code == 409
    assert "Notice was already given" in again.json()["error"]["fields"]["kind"][0]
    listed = client.get(f"/api/v1/contracts/{cid}/decisions", headers=write_token).json()
    assert [d["kind"] for d in listed["items"]] == ["give_notice"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"auto_renews": True, "renewal_months": None}, "renewal_months", "renewal term"),
        ({"notice_period": 13}, "notice_period", "longer than the term"),
        ({"end_date": "2026-01-01"}, "end_date", "cannot end before it starts"),
        ({"termination_fee": "500"}, "termination_fee", "termination for convenience"),
        ({"instalment_amount": None}, "instalment_amount", "need an amount"),
    ],
)
def test_terms_that_contradict_each_other_are_a_409_naming_the_field(
    client, manager, write_token, change, field, words
):
    vendor = VendorFactory(org=manager.org)
    refused = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS | change, write_token)
    assert refused.status_code == 409, refused.json()
    assert words in " ".join(refused.json()["error"]["fields"][field])


def test_changing_the_terms_moves_the_decide_by_date(client, manager, write_token):
    vendor = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token).json()["id"]
    changed = client.patch(
        f"/api/v1/contracts/{cid}",
        {"notice_period": 60, "notice_unit": "days"},
        content_type=JSON,
        headers=write_token,
    )
    assert changed.status_code == 200, changed.json()
    # 60 days before 1 Feb 2027 was 3 Dec 2026, already passed: it renews; next year's decision.
    assert changed.json()["decide_by"] == "2027-12-03"
    assert changed.json()["renews_on"] == "2028-02-01"
    refused = client.patch(
        f"/api/v1/contracts/{cid}", {"renewal_months": None}, content_type=JSON, headers=write_token
    )
    assert refused.status_code == 409


def test_an_engagement_runs_under_its_vendors_contract_only(client, manager, write_token):
    vendor = VendorFactory(org=manager.org)
    other = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{other.pk}/contracts", TERMS, write_token).json()["id"]
    engagement = EngagementFactory(org=manager.org, vendor=vendor, owner=manager.user)
    refused = client.patch(
        f"/api/v1/engagements/{engagement.pk}",
        {"contract_id": cid},
        content_type=JSON,
        headers=write_token,
    )
    assert refused.status_code == 409
    assert "contract_id" in refused.json()["error"]["fields"]


def test_another_organizations_contract_is_a_404_and_a_viewer_cannot_decide(
    client, manager, write_token, outsider_token, read_headers
):
    vendor = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token).json()["id"]
    assert client.get(f"/api/v1/contracts/{cid}", headers=outsider_token).status_code == 404
    decision = {"kind": "renew", "reason": "Fine."}
    assert (
        post(client, f"/api/v1/contracts/{cid}/decisions", decision, outsider_token).status_code
        == 404
    )
    assert (
        post(client, f"/api/v1/contracts/{cid}/decisions", decision, read_headers).status_code
        == 403
    )
    assert not ContractDecision.objects.exists()


def test_a_script_corrects_a_reason_and_withdraws_notice_given_too_soon(
    client, manager, write_token, outsider_token, read_headers
):
    vendor = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token).json()["id"]
    decision = post(
        client,
        f"/api/v1/contracts/{cid}/decisions",
        {"kind": "give_notice", "reason": "Moving in hosue."},
        write_token,
    ).json()
    url = f"/api/v1/contracts/{cid}/decisions/{decision['id']}"
    blank = client.patch(url, {"reason": " "}, content_type=JSON, headers=write_token)
    assert blank.status_code == 422
    fixed = client.patch(
        url, {"reason": "Moving in house."}, content_type=JSON, headers=write_token
    )
    assert fixed.status_code == 200 and fixed.json()["reason"] == "Moving in house."
    assert client.delete(url, headers=outsider_token).status_code == 404
    assert client.delete(url, headers=read_headers).status_code == 403
    assert client.delete(url, headers=write_token).status_code == 204
    after = client.get(f"/api/v1/contracts/{cid}", headers=write_token).json()
    assert after["notice_given_on"] is None and after["decide_by"] == "2027-01-01"
    assert client.delete(url, headers=write_token).status_code == 404  # already gone


def test_a_renewal_past_its_decide_by_date_cannot_be_withdrawn(client, manager, write_token):
    vendor = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token).json()["id"]
    did = post(
        client,
        f"/api/v1/contracts/{cid}/decisions",
        {"kind": "renew", "reason": "Fine."},
        write_token,
    ).json()["id"]
    with time_machine.travel(datetime(2027, 1, 2, 9, tzinfo=UTC), tick=False):
        refused = client.delete(f"/api/v1/contracts/{cid}/decisions/{did}", headers=write_token)
    assert refused.status_code == 409
    assert "has passed: the decision stands" in refused.json()["error"]["message"]
    assert ContractDecision.objects.filter(pk=did).exists()


def test_an_engagement_is_linked_to_its_vendors_contract_and_unlinked_with_null(
    client, manager, write_token
):
    vendor = VendorFactory(org=manager.org)
    cid = post(client, f"/api/v1/vendors/{vendor.pk}/contracts", TERMS, write_token).json()["id"]
    engagement = EngagementFactory(org=manager.org, vendor=vendor, owner=manager.user)
    url = f"/api/v1/engagements/{engagement.pk}"
    linked = client.patch(url, {"contract_id": cid}, content_type=JSON, headers=write_token)
    assert linked.status_code == 200 and linked.json()["contract_id"] == cid
    kept = client.patch(url, {"title": "Renamed"}, content_type=JSON, headers=write_token)
    assert kept.json()["contract_id"] == cid  # a field not sent stays
    unlinked = client.patch(url, {"contract_id": None}, content_type=JSON, headers=write_token)
    assert unlinked.status_code == 200 and unlinked.json()["contract_id"] is None
    engagement.refresh_from_db()
    assert engagement.contract_id is None
