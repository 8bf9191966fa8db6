"""The dashboard stays live in Chromium: a colleague's acknowledgement appears in the open
alerts without a reload, and a note being typed is never swapped away by the refresh."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from engagements.models import Alert, AlertStatus
from engagements.watch import services as watch
from tests.factories import PASSWORD, EngagementFactory

pytestmark = [pytest.mark.browser]


def _log_in(page: Page, url: str, member) -> None:
    page.goto(url + "/login/")
    page.get_by_label("E-mail").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_dashboard_alert_list_updates_after_a_colleague_acknowledges(
    transactional_db, live_server, browser: Browser, manager, owner, settings
):
    settings.HEALTH_DASHBOARD_POLL_SECONDS = 1
    EngagementFactory(
        org=manager.org,
        owner=manager.user,
        title="Checkout rebuild",
        activated_at=timezone.now() - timedelta(days=40),
    )
    watch.sweep(at=timezone.now())

    mine = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    theirs = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    _log_in(mine, live_server.url, manager)
    _log_in(theirs, live_server.url, owner)
    on_my_screen = mine.get_by_role("article", name="alert on Checkout rebuild")
    expect(on_my_screen.get_by_role("button", name="Acknowledge")).to_be_visible()

    colleague = theirs.get_by_role("article", name="alert on Checkout rebuild")
    colleague.get_by_placeholder("Note (optional)").fill("Calling the vendor today")
    colleague.get_by_role("button", name="Acknowledge").click()
    expect(colleague.get_by_text("Acknowledged")).to_be_visible()
    assert Alert.objects.get().status == AlertStatus.ACKNOWLEDGED

    # No reload on my side: the list refreshes like the counters do.
    expect(on_my_screen.get_by_text("Acknowledged")).to_be_visible(timeout=5000)
    expect(on_my_screen.get_by_role("button", name="Acknowledge")).to_have_count(0)


def test_the_refresh_waits_while_a_note_is_being_typed(
    transactional_db, live_server, page: Page, manager, settings
):
    settings.HEALTH_DASHBOARD_POLL_SECONDS = 1
    EngagementFactory(
        org=manager.org,
        owner=manager.user,
        title="Checkout rebuild",
        activated_at=timezone.now() - timedelta(days=40),
    )
    watch.sweep(at=timezone.now())
    _log_in(page, live_server.url, manager)
    note = page.get_by_role("article", name="alert on Checkout rebuild").get_by_placeholder(
        "Why snooze? (optional)"
    )
    note.fill("Waiting for their new lead")
    polls = []
    page.on(
        "request", lambda r: polls.append(r) if r.headers.get("hx-target") == "alert-list" else None
    )
    page.wait_for_timeout(2500)  # two polls' worth
    expect(note).to_have_value("Waiting for their new lead")
    assert polls == []  # held back while typing
