"""An alert raised by the real worker appears on the dashboard and is acknowledged in Chromium."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from engagements import tasks
from engagements.models import Alert, AlertStatus
from tests.conftest import wait_for
from tests.factories import PASSWORD, EngagementFactory

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_an_alert_from_the_worker_is_acknowledged_on_the_dashboard(
    redis_broker, celery_worker, live_server, page: Page, manager
):
    engagement = EngagementFactory(
        org=manager.org,
        title="Checkout rebuild",
        activated_at=timezone.now() - timedelta(days=40),
    )
    page.goto(live_server.url + "/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("No open alerts.")).to_be_visible()

    tasks.sweep_health.delay()
    wait_for(lambda: Alert.objects.filter(engagement=engagement).exists())
    page.reload()
    alert = page.get_by_role("article", name="alert on Checkout rebuild")
    expect(alert).to_be_visible()
    alert.get_by_placeholder("Note (optional)").fill("Calling the vendor today")
    alert.get_by_role("button", name="Acknowledge").click()
    expect(
        page.get_by_role("article", name="alert on Checkout rebuild").get_by_text("Acknowledged")
    ).to_be_visible()
    acknowledged = Alert.objects.get(engagement=engagement)
    assert acknowledged.status == AlertStatus.ACKNOWLEDGED
    assert acknowledged.acknowledged_by == manager.user
