"""A person logs in with Chromium and lands on the dashboard."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def test_manager_logs_in_and_sees_the_dashboard(transactional_db, live_server, page: Page, manager):
    page.goto(live_server.url + "/")
    expect(page).to_have_url(f"{live_server.url}/login/?next=/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("That e-mail and password do not match an account.")).to_be_visible()

    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text(manager.org.name).first).to_be_visible()
