"""An owner opens the watcher report on the demo's past, tries a stricter stall threshold and
sees what the watcher would have caught, before saving anything."""

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD, seed_accounts
from engagements.demo import seed_engagements
from vendors.demo import seed_vendors

pytestmark = pytest.mark.browser


def test_owner_changes_a_threshold_and_sees_the_report_recompute(
    transactional_db, live_server, page: Page, monkeypatch
):
    accounts = seed_accounts()
    seed_vendors(accounts)
    seed_engagements(accounts)

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(accounts.owner.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Watcher report").click()

    expect(page.get_by_role("heading", name="Watcher report")).to_be_visible()
    # Two failures caught weeks ahead, the partly delivered portal warned a day before its
    # end (missed), the brand refresh never alarmed.
    expect(page.locator('[data-figure="warned-ahead"]')).to_have_text("2 of 3 (67 %)")
    expect(page.locator('[data-figure="missed"]')).to_have_text("1")
    expect(page.locator('[data-figure="false-alarms"]')).to_contain_text("0 of 1")
    expect(page.locator("#report-rows")).to_contain_text("Partner portal")

    # Stricter: nothing accepted for 10 days counts as stalled.
    page.get_by_label("Stall (days)").fill("10")
    page.get_by_role("button", name="Recompute").click()
    expect(page.locator('[data-figure="whatif-warned-ahead"]')).to_have_text("3 of 3 (100 %)")
    expect(page.locator('[data-figure="whatif-missed"]')).to_have_text("0")
    expect(page.locator('[data-figure="warned-ahead"]')).to_have_text("2 of 3 (67 %)")  # today
    expect(page.locator("#report-rows")).to_contain_text("What if:")
    assert "stall_days=10" in page.url  # the what-if is a link one can share

    # A severe burn gap below the clear one is refused next to its field; today still shows.
    page.get_by_label("Burn: severe at a gap of (%)").fill("30")
    page.get_by_role("button", name="Recompute").click()
    expect(page.locator("#id_burn_gap_severe_error")).to_contain_text(
        "cannot be below the clear gap"
    )
    expect(page.locator('[data-figure="whatif-warned-ahead"]')).to_have_count(0)
    expect(page.locator('[data-figure="warned-ahead"]')).to_have_text("2 of 3 (67 %)")
