"""A manager invites a vendor contact; the contact opens the link, posts a check-in and submits
a deliverable; the manager sees both on the engagement page. A vendor asks a question in the
portal, a manager answers it on the engagement page, the vendor reads the answer in the thread."""

import pytest
from playwright.sync_api import Page, expect

from engagements.models import DeliverableStatus
from engagements.portal import services as portal
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


WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.mark.parametrize("width", WIDTHS)
def test_a_vendor_asks_in_the_portal_a_manager_answers_on_the_engagement_page_and_the_vendor_reads_it(
    transactional_db, live_server, page: Page, manager, width
):
    """One thread both sides see: the question, then the answer, in the vendor's portal."""
    w, h = WIDTHS[width]
    engagement = EngagementFactory(org=manager.org, owner=manager.user, title="Checkout rebuild")
    contact = VendorContactFactory(vendor=engagement.vendor, name="Ana Vendor", email="")
    _, token = portal.invite_vendor_contact(engagement=engagement, contact=contact, by=manager.user)

    vendor = page.context.browser.new_context(viewport={"width": w, "height": h}).new_page()
    vendor.goto(f"{live_server.url}/portal/{token}/")
    vendor.get_by_role("button", name="Send check-in").click()  # refused: no progress, no rating
    expect(vendor.locator("#checkin_progress_error")).to_be_in_viewport()
    vendor.get_by_label("Your question").fill("Which payment provider should we integrate?")
    vendor.get_by_role("button", name="Send question").click()
    thread = vendor.locator("#portal-thread")
    expect(thread).to_contain_text("Your question is with the team.")
    expect(thread).to_contain_text("Which payment provider should we integrate?")
    expect(thread).to_contain_text("Waiting for the team's answer.")
    expect(thread).to_be_in_viewport()  # the redirect lands on the thread, not the page top

    page.set_viewport_size({"width": w, "height": h})
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    ours = page.locator("#portal-thread")
    expect(ours).to_contain_text("Which payment provider should we integrate?")
    ours.get_by_label("Your answer").fill("Stripe, with the EU account.")
    ours.get_by_role("button", name="Send answer").click()  # htmx swaps the region in place
    expect(page.locator("#portal-thread .thread-us")).to_contain_text(
        "Stripe, with the EU account."
    )
    expect(ours.get_by_role("button", name="Send answer")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= w

    vendor.reload()
    answer = vendor.locator("#portal-thread .thread-us")
    expect(answer).to_contain_text("Stripe, with the EU account.")
    expect(answer).to_contain_text("Re: “Which payment provider should we integrate?”")
    expect(vendor.locator("#portal-thread")).not_to_contain_text("Waiting for the team")
    assert vendor.evaluate("document.documentElement.scrollWidth") <= w
    vendor.screenshot(path=f"test-results/portal-thread-vendor-{width}.png", full_page=True)
    page.locator("#portal-access").screenshot(path=f"test-results/portal-thread-ours-{width}.png")
