"""A manager takes a prospect from first contact to an approved vendor, in Chromium."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD
from vendors.models import Vendor, VendorStatus

pytestmark = pytest.mark.browser


def test_manager_vets_a_prospect_and_approves_it_over_thin_evidence(
    transactional_db, live_server, page: Page, manager
):
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # First contact: the vendor is recorded as a prospect.
    page.goto(live_server.url + "/vendors/")
    page.get_by_role("link", name="Add a vendor").first.click()
    page.get_by_label("Name").fill("Brightpixel Studio")
    page.get_by_label("Website").fill("https://brightpixel.example")
    page.get_by_label("Specialties").fill("web development, design")
    page.get_by_role("button", name="Add as prospect").click()
    expect(page.get_by_role("heading", name="Brightpixel Studio")).to_be_visible()
    expect(page.get_by_text("No evidence yet.")).to_be_visible()

    # A mistake is explained inside the form, without a page load.
    form = page.locator("#evidence-form")
    form.get_by_label("Kind").select_option("sample")
    form.get_by_label("Link").fill("ftp://portfolio.example")
    form.get_by_role("button", name="Add to the log").click()
    expect(form.get_by_text("Write what you saw or were told.")).to_be_visible()
    expect(form.get_by_text("starting with http:// or https://")).to_be_visible()

    # Verified evidence of previous work, added inline with htmx.
    form = page.locator("#evidence-form")
    form.get_by_label("Summary").fill("Live onboarding flow they built for Tessera; code reviewed.")
    form.get_by_label("Link").fill("https://tessera.example/onboarding")
    form.get_by_label("Verified").check()
    form.get_by_label("Expertise").select_option("5")
    form.get_by_label("Previous work").select_option("4")
    form.get_by_role("button", name="Add to the log").click()
    log = page.locator("#vetting .vw-log")
    expect(log.get_by_text("Live onboarding flow they built for Tessera")).to_be_visible()

    # The scorecard shows where the evidence is thin.
    summary = page.locator(".vw-summary")
    expect(summary).to_contain_text("expertise (1 verified)")
    expect(summary).to_contain_text("business understanding")
    expect(summary).to_contain_text("unproven")
    expect(page.locator(".vw-scorecard .vw-flag").first).to_have_text("not scored")

    # Approving over the flags needs the recorded override.
    page.get_by_role("radio", name="Approve").check()
    page.get_by_label("Rationale").fill("Strongest portfolio; business fit checked in the trial.")
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("These criteria are thin")).to_be_visible()
    page.get_by_role("radio", name="Approve").check()
    page.get_by_label("Approve despite the flagged criteria").check()
    page.get_by_role("button", name="Record decision").click()
    expect(page.get_by_text("Brightpixel Studio is now approved.")).to_be_visible()
    expect(page.get_by_text("Prospect → Approved")).to_be_visible()

    vendor = Vendor.objects.get(name="Brightpixel Studio")
    change = vendor.status_changes.get()
    assert vendor.status == VendorStatus.APPROVED
    assert (
        change.override and "Understanding of our business: not scored" in change.overridden_flags
    )


def test_filtering_the_vendor_list_updates_results_and_a_shareable_url(
    transactional_db, live_server, page: Page, manager
):
    from tests.factories import VendorFactory

    VendorFactory(org=manager.org, name="Pixel Designers", specialties="design")
    VendorFactory(org=manager.org, name="Backend Builders", specialties="web development")
    page.goto(live_server.url + "/login/?next=/vendors/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="Backend Builders")).to_be_visible()

    page.get_by_label("Specialty").fill("design")
    expect(page.get_by_role("link", name="Backend Builders")).to_have_count(0)
    expect(page.get_by_role("link", name="Pixel Designers")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/vendors/\?.*specialty=design"))

    # The pushed URL is shareable: opening it shows the same filtered list.
    page.goto(page.url)
    expect(page.get_by_role("link", name="Backend Builders")).to_have_count(0)
    expect(page.get_by_label("Specialty")).to_have_value("design")
