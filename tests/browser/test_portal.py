"""A manager invites a vendor contact; the contact opens the link, posts a check-in and submits
a deliverable; the manager sees both on the engagement page."""

import pytest
from playwright.sync_api import Page, expect

from engagements.models import DeliverableStatus
from tests.factories import (
    PASSWORD,
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    VendorContactFactory,
)

pytestmark = pytest.mark.browser


def test_a_vendor_contact_checks_in_and_submits_through_the_portal_and_the_manager_sees_both(
    transactional_db, live_server, page: Page, manager
):
    engagement = EngagementFactory(org=manager.org, owner=manager.user, title="Checkout rebuild")
    milestone = MilestoneFactory(engagement=engagement, title="Payments")
    deliverable = DeliverableFactory(milestone=milestone, title="Card form")
    VendorContactFactory(vendor=engagement.vendor, name="Ana Vendor")

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    region = page.locator("#portal-access")
    region.get_by_label("Vendor contact").select_option(label="Ana Vendor")
    region.get_by_role("button", name="Create link").click()
    link = region.get_by_label("Portal link")
    expect(link).to_be_visible()
    url = link.input_value()
    assert "/portal/" in url

    vendor = page.context.browser.new_context().new_page()  # no session: the link is the key
    vendor.goto(live_server.url + url[url.index("/portal/") :])
    expect(vendor.get_by_role("heading", name="Checkout rebuild")).to_be_visible()
    vendor.get_by_label("Progress since the last check-in").fill("Card form ready for review")
    vendor.get_by_label("Blockers, if any").fill("Need production API keys")
    vendor.get_by_label("How is the collaboration going").select_option("4")
    vendor.get_by_role("button", name="Send check-in").click()
    expect(vendor.get_by_text("Thank you: your check-in reached the team.")).to_be_visible()
    vendor.locator("#submit_deliverable").select_option(label="Card form")
    vendor.get_by_label("Link to the work").fill("https://staging.example/card")
    vendor.get_by_role("button", name="Mark submitted").click()
    expect(vendor.get_by_text("Marked as submitted")).to_be_visible()
    expect(vendor.get_by_text("Nothing open to submit right now.")).to_be_visible()

    page.reload()
    expect(page.locator("#interactions")).to_contain_text("Need production API keys")
    expect(page.locator("#interactions")).to_contain_text("Check-in (vendor portal)")
    expect(page.locator(f"#deliverable-{deliverable.pk} .dstatus-submitted")).to_be_visible()
    deliverable.refresh_from_db()
    assert deliverable.status == DeliverableStatus.SUBMITTED
