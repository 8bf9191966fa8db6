"""The issue's journey: a manager maps the vendor's repository on the engagement page, GitHub
delivers a signed push to the live server, and the page shows the work on the deliverable
and its sparkline; at phone width the region stays readable."""

import hashlib
import hmac
import urllib.request
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from engagements.delivery import services as delivery
from engagements.forges import services as forges
from tests.factories import PASSWORD, EngagementFactory
from tests.forges.conftest import payload

pytestmark = pytest.mark.browser


def test_a_mapped_repository_feeds_the_engagement_page(
    transactional_db, live_server, page: Page, manager, owner
):
    engagement = EngagementFactory(org=manager.org, owner=manager.user, title="Quarterly reporting")
    milestone = delivery.add_milestone(
        engagement=engagement, title="Q3", due_date=timezone.localdate() + timedelta(days=40)
    )
    report = delivery.add_deliverable(
        engagement=engagement, milestone=milestone, by=manager.user, title="Q3 report",
        due_date=timezone.localdate() + timedelta(days=30), acceptance_criteria="Matches the ledger.",
    )  # fmt: skip
    delivery.transition_deliverable(deliverable=report, to="in_progress", by=manager.user)
    connection = forges.create_connection(
        org=manager.org, by=owner.user, forge="github", name="Studio GitHub"
    )

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/#code-activity")
    region = page.locator("#code-activity")
    region.get_by_label("Repository").fill("https://github.com/Northwind-Studio/Reports")
    region.get_by_role("button", name="Map repository").click()
    expect(region.get_by_text("northwind-studio/reports")).to_be_visible()
    region.get_by_label("Pattern").fill("reports/*")
    region.get_by_role("button", name="Add rule").click()
    expect(region.get_by_text("→ Q3 report")).to_be_visible()

    # Pushed this morning (the recorded payload's own day, moved to today).
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    body = payload("github_push").replace(b"2026-10-02T", yesterday.encode() + b"T")
    request = urllib.request.Request(
        f"{live_server.url}/forges/hooks/github/{connection.token}/",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256="
            + hmac.new(connection.secret.encode(), body, hashlib.sha256).hexdigest(),
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    page.reload()
    region = page.locator("#code-activity")
    expect(region.locator(".activity-list")).to_contain_text("reports/q3-revenue")
    expect(region.locator(".activity-list .badge")).to_have_text("Q3 report")
    expect(region.locator("figcaption")).to_contain_text("1 trace of work in 30 days")
    region.screenshot(path="/tmp/h18_region_desktop.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    region = page.locator("#code-activity")
    region.screenshot(path="/tmp/h18_region_phone.png")
    page.goto(f"{live_server.url}/forges/triage/")
    page.screenshot(path="/tmp/h18_triage_phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways at phone width ({width} px)"
