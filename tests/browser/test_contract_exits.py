"""Giving notice on a contract, in Chromium at desktop and phone width: the manager records
notice with a reason and sees the exit date; a notice given on the wrong contract is withdrawn
after confirming, and the decision is open again."""

from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD, VendorFactory
from vendors import services as vendors
from vendors.models import ContractDecision

pytestmark = [pytest.mark.browser]

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.mark.parametrize("width", WIDTHS)
def test_a_manager_gives_notice_then_withdraws_it_after_confirming(
    transactional_db, live_server, page: Page, manager, width
):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    vendor = VendorFactory(org=manager.org, name="Acme Dev")
    contract = vendors.add_contract(
        vendor=vendor,
        by=manager.user,
        title="Platform MSA",
        start_date=date.today().replace(day=1),
        end_date=date(date.today().year + 2, 1, 31),
        auto_renews=True,
        renewal_months=12,
        notice_period=1,
        notice_unit="months",
        currency="EUR",
        payment_schedule="instalments",
        instalment_amount=Decimal("4000"),
        instalment_months=1,
    )
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(f"{live_server.url}/vendors/contracts/{contract.pk}/")
    page.get_by_label("Give notice").check()
    page.get_by_label("Reason").fill("The rebuild moves in house.")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator("#messages")).to_contain_text("Notice given: the contract ends on")
    expect(page.get_by_role("button", name="Record the decision")).to_have_count(0)

    page.get_by_role("link", name="Correct or withdraw").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Give notice")
    questions: list[str] = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Withdraw the decision").click()
    expect(page.get_by_text("Decision withdrawn: the term is undecided again.")).to_be_visible()
    assert questions and questions[0].startswith("Withdraw the decision to give notice?")
    expect(page.get_by_role("button", name="Record the decision")).to_be_visible()
    assert not ContractDecision.objects.exists()
