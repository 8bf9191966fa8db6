"""The contract page: terms, the decide-by date and the decision it asks for, as a manager, a
viewer and an outsider meet them."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from tests.factories import EngagementFactory, VendorFactory
from vendors import services
from vendors.models import ContractDecision

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 10, 9, tzinfo=UTC)

TERMS = {
    "title": "Platform MSA",
    "start_date": "2026-02-01",
    "end_date": "2027-02-01",
    "auto_renews": "on",
    "renewal_months": "12",
    "notice_period": "1",
    "notice_unit": "months",
    "currency": "EUR",
    "payment_schedule": "instalments",
    "instalment_amount": "4000",
    "instalment_months": "1",
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def contract(manager):
    vendor = VendorFactory(org=manager.org, name="Acme Dev")
    manager.client().post(reverse("vendors:contract_create", args=[vendor.pk]), TERMS)
    return vendor.contracts.get()


def test_the_contract_page_shows_the_decide_by_date_and_what_waiting_a_month_costs(
    contract, viewer
):
    page = viewer.client().get(reverse("vendors:contract_detail", args=[contract.pk]))
    assert page.status_code == 200
    text = page.text
    assert "Decide by" in text and "(22 days)" in text
    assert "48,000 EUR" in text  # the renewal, and what a month's wait costs
    assert "Cost of waiting one more month" in text
    assert "Record the decision" not in text  # a viewer reads, does not decide


def test_renewal_without_a_term_is_refused_next_to_the_field(manager):
    vendor = VendorFactory(org=manager.org)
    response = manager.client().post(
        reverse("vendors:contract_create", args=[vendor.pk]), TERMS | {"renewal_months": ""}
    )
    assert response.status_code == 422
    form = response.context["contract_form"]
    assert form.errors["renewal_months"] == [
        "An auto-renewing contract needs a renewal term (in months)."
    ]
    assert 'id="id_renewal_months_error"' in response.text


def test_a_notice_longer_than_the_term_is_refused_on_the_edit_page(manager, contract):
    response = manager.client().post(
        reverse("vendors:contract_update", args=[contract.pk]),
        TERMS | {"notice_period": "13"},
    )
    assert response.status_code == 422
    assert "longer than the term" in response.context["form"].errors["notice_period"][0]


def test_a_manager_gives_notice_with_a_reason_and_the_reminders_end(manager, contract):
    client = manager.client()
    url = reverse("vendors:contract_decide", args=[contract.pk])
    refused = client.post(url, {"kind": "give_notice", "reason": ""})
    assert refused.status_code == 422
    assert "reason" in refused.context["decision_form"].errors
    done = client.post(url, {"kind": "give_notice", "reason": "Moving in house."})
    assert done.status_code == 302
    decision = ContractDecision.objects.get()
    assert decision.exit_on.isoformat() == "2027-02-01" and decision.by == manager.user
    page = client.get(reverse("vendors:contract_detail", args=[contract.pk])).text
    assert "Notice given on" in page and "Moving in house." in page
    assert "Record the decision" not in page


def test_the_decision_is_audited(manager, owner, contract):
    manager.client().post(
        reverse("vendors:contract_decide", args=[contract.pk]),
        {"kind": "renew", "reason": "They deliver."},
    )
    trail = owner.client().get(reverse("accounts:audit_list")).text
    assert "They deliver." in trail


def test_an_outsider_gets_404_and_a_viewer_cannot_decide_or_edit(contract, viewer, outsider):
    for name in ("contract_detail", "contract_update"):
        assert (
            outsider.client().get(reverse(f"vendors:{name}", args=[contract.pk])).status_code == 404
        )
    decide = reverse("vendors:contract_decide", args=[contract.pk])
    assert outsider.client().post(decide, {"kind": "renew", "reason": "x"}).status_code == 404
    assert viewer.client().post(decide, {"kind": "renew", "reason": "x"}).status_code == 403
    assert (
        viewer.client().get(reverse("vendors:contract_update", args=[contract.pk])).status_code
        == 403
    )
    assert viewer.client().get(decide).status_code == 405
    assert not ContractDecision.objects.exists()


def test_the_engagement_and_vendor_pages_show_the_decide_by_date(manager, contract):
    engagement = EngagementFactory(org=manager.org, vendor=contract.vendor, owner=manager.user)
    services.update_contract(contract=contract, title="Platform MSA")
    from engagements.delivery import services as delivery

    delivery.update_engagement(engagement=engagement, by=manager.user, contract=contract)
    client = manager.client()
    page = client.get(reverse("engagements:engagement_detail", args=[engagement.pk])).text
    assert "Platform MSA" in page and "Decide by" in page
    vendor_page = client.get(reverse("vendors:vendor_detail", args=[contract.vendor_id])).text
    assert "Decide by" in vendor_page


def decide(client, contract, kind="renew", reason="They deliver."):
    client.post(
        reverse("vendors:contract_decide", args=[contract.pk]), {"kind": kind, "reason": reason}
    )
    return ContractDecision.objects.get(contract=contract)


def test_a_manager_withdraws_a_renewal_after_confirming_and_the_term_is_undecided_again(
    manager, owner, contract
):
    client = manager.client()
    decision = decide(client, contract)
    page = client.get(reverse("vendors:contract_detail", args=[contract.pk])).text
    assert "Correct or withdraw" in page
    edit = client.get(reverse("vendors:decision_update", args=[decision.pk]))
    assert edit.status_code == 200 and "data-confirm=" in edit.text
    url = reverse("vendors:decision_withdraw", args=[decision.pk])
    asked = client.post(url)  # no JavaScript: the question first, nothing removed
    assert asked.status_code == 200 and "Withdraw the decision to renew?" in asked.text
    assert ContractDecision.objects.exists()
    done = client.post(url, {"confirm": "yes"}, follow=True)
    assert not ContractDecision.objects.exists()
    assert "Decision withdrawn: the term is undecided again. Decide by 1 Jan 2027." in done.text
    assert "Record the decision" in done.text
    trail = owner.client().get(reverse("accounts:audit_list")).text
    assert "Deleted" in trail and "Renew" in trail


def test_a_decision_past_its_decide_by_date_says_why_it_stands_and_keeps_its_reason_editable(
    manager, contract
):
    decision = decide(manager.client(), contract)
    with time_machine.travel(datetime(2027, 1, 2, 9, tzinfo=UTC), tick=False):
        client = manager.client()  # a session of that day
        page = client.get(reverse("vendors:contract_detail", args=[contract.pk])).text
        assert "Correct the reason" in page and "Correct or withdraw" not in page
        edit = client.get(reverse("vendors:decision_update", args=[decision.pk])).text
        assert "has passed: the decision stands" in edit and "data-confirm" not in edit
        refused = client.post(
            reverse("vendors:decision_withdraw", args=[decision.pk]), {"confirm": "yes"}
        )
        assert refused.status_code == 409
        assert "has passed: the decision stands" in refused.text
        assert ContractDecision.objects.filter(pk=decision.pk).exists()
        url = reverse("vendors:decision_update", args=[decision.pk])
        blank = client.post(url, {"reason": "  "})
        assert blank.status_code == 422 and "reason" in blank.context["form"].errors
        saved = client.post(url, {"reason": "They deliver, and the price is fixed."})
        assert saved.status_code == 302
    decision.refresh_from_db()
    assert decision.reason == "They deliver, and the price is fixed."


def test_an_outsider_gets_404_and_a_viewer_cannot_correct_or_withdraw(
    manager, contract, viewer, outsider
):
    decision = decide(manager.client(), contract)
    edit = reverse("vendors:decision_update", args=[decision.pk])
    withdraw = reverse("vendors:decision_withdraw", args=[decision.pk])
    assert outsider.client().get(edit).status_code == 404
    assert outsider.client().post(withdraw, {"confirm": "yes"}).status_code == 404
    assert viewer.client().get(edit).status_code == 403
    assert viewer.client().post(edit, {"reason": "x"}).status_code == 403
    assert viewer.client().post(withdraw, {"confirm": "yes"}).status_code == 403
    assert (
        "Correct or withdraw"
        not in viewer.client().get(reverse("vendors:contract_detail", args=[contract.pk])).text
    )
    decision.refresh_from_db()
    assert decision.reason == "They deliver."
