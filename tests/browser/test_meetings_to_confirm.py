"""The owner confirms a captured meeting in one click from the dashboard (htmx swaps the region
in place), and from the digest's signed link, logged out, after one more question."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from engagements.capture import calendar
from engagements.capture.models import Meeting
from engagements.delivery.models import Interaction, Outcome
from tests.factories import PASSWORD, EngagementFactory

pytestmark = pytest.mark.browser


def meeting(engagement, summary: str, started_ago: timedelta) -> Meeting:
    return Meeting.objects.create(
        org=engagement.org,
        engagement=engagement,
        uid=summary,
        summary=summary,
        starts_at=timezone.now() - started_ago,
    )


def test_a_meeting_is_confirmed_from_the_dashboard_and_another_from_the_digest_link(
    transactional_db, live_server, page: Page, manager, tmp_path
):
    engagement = EngagementFactory(org=manager.org, owner=manager.user, title="Checkout rebuild")
    meeting(engagement, "Sprint review", timedelta(days=3))
    late = meeting(engagement, "Design sync", timedelta(hours=5))

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/")
    region = page.locator("#meetings-to-confirm")
    review = region.get_by_role("article", name="Sprint review on Checkout rebuild")
    expect(review.locator(".badge-overdue")).to_contain_text("Unconfirmed since")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        region.screenshot(path=str(tmp_path / f"meetings-{width}.png"))
    review.get_by_role("button", name="Vendor no-show").click()
    expect(review).to_have_count(0)  # swapped in place, no reload
    expect(region.get_by_role("article")).to_have_count(1)
    assert Interaction.objects.get().outcome == Outcome.VENDOR_NO_SHOW

    # The digest's link for the other meeting, opened in a browser that is not logged in.
    page.context.clear_cookies()
    token = calendar.link_token(meeting=late, user=manager.user, state="held")
    page.goto(f"{live_server.url}/meetings/link/{token}/")
    expect(page.get_by_role("heading", name="How did the meeting go?")).to_be_visible()
    page.screenshot(path=str(tmp_path / "link-390.png"), full_page=True)
    late.refresh_from_db()
    assert late.state == "scheduled"
    page.get_by_role("button", name="Yes: held").click()
    expect(page.get_by_role("heading", name="Recorded")).to_be_visible()
    late.refresh_from_db()
    assert late.state == "held" and late.confirmed_by == manager.user
