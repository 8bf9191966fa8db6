"""Decisions the watcher respects, in Chromium at desktop and phone width: terminating an
engagement from its alert opens no new alert and sends nobody anything; resolving while the
signals still hold asks for a reason, says it will hold, and holds through the next sweeps."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from engagements.alerts import outbox
from engagements.alerts import services as alerts
from engagements.models import Alert, AlertStatus, Notification, NotificationState
from engagements.watch import services as watch
from engagements.watch import tasks as watch_tasks
from tests.factories import PASSWORD, EngagementFactory

pytestmark = [pytest.mark.browser]

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


def _log_in(page: Page, url: str, member) -> None:
    page.goto(url + "/login/")
    page.get_by_label("E-mail").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _silent_engagement(member, title: str):
    """A vendor silent for 40 days: the sweep opens an alert and queues an e-mail about it."""
    engagement = EngagementFactory(
        org=member.org,
        owner=member.user,
        title=title,
        activated_at=timezone.now() - timedelta(days=40),
    )
    alerts.create_channel(org=member.org, kind="email", name="Team e-mail")
    watch.sweep(at=timezone.now())
    return engagement, Alert.objects.get(engagement=engagement)


def _what_the_watcher_does_next(engagement) -> None:
    """The re-evaluation the decision asked for after commit, then beat's next sweep."""
    watch_tasks.reevaluate_engagement.apply(kwargs={"engagement_id": engagement.pk})
    watch.sweep(at=timezone.now() + timedelta(minutes=5))


@pytest.mark.parametrize("width", WIDTHS)
def test_terminating_from_the_alert_opens_no_new_alert_and_sends_nothing(
    transactional_db, live_server, page: Page, manager, width, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    engagement, alert = _silent_engagement(manager, "Checkout rebuild")
    assert Notification.objects.filter(state=NotificationState.PENDING).exists()
    _log_in(page, live_server.url, manager)

    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    page.get_by_label("Why do we stop?").fill("Silent for six weeks; we hire in-house.")
    page.get_by_role("button", name="Terminate engagement").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout rebuild")
    _what_the_watcher_does_next(engagement)

    page.goto(live_server.url + "/")
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    assert Alert.objects.filter(engagement=engagement).count() == 1
    closed = Alert.objects.get(engagement=engagement)
    assert closed.status == AlertStatus.RESOLVED
    assert closed.events.last().note == (
        f"the engagement was terminated by {manager.user} — Silent for six weeks; we hire in-house."
    )
    # The e-mail queued before the decision is cancelled, not sent after it.
    assert outbox.dispatch_outbox() == 0
    assert mail.outbox == []
    assert set(Notification.objects.values_list("state", flat=True)) == {
        NotificationState.CANCELLED
    }
    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    history = page.locator("section", has=page.get_by_role("heading", name="History"))
    expect(
        history.get_by_text("closed (open → resolved): the engagement was terminated by")
    ).to_be_visible()
    notifications = page.locator("section", has=page.get_by_role("heading", name="Notifications"))
    expect(notifications.get_by_text("cancelled: the engagement was terminated by")).to_be_visible()
    page.screenshot(path=f"/tmp/k-shots/terminated-alert-{width}.png", full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_resolving_while_the_signals_hold_asks_why_and_holds(
    transactional_db, live_server, page: Page, manager, width
):
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    engagement, alert = _silent_engagement(manager, "Data platform")
    _log_in(page, live_server.url, manager)

    page.goto(f"{live_server.url}/alerts/{alert.pk}/")
    # Before anything is sent, the form says what resolving now means.
    expect(page.get_by_text("The signals still hold")).to_be_visible()
    expect(page.get_by_text("To be reminded later instead, snooze it.")).to_be_visible()
    reason = page.get_by_label("Why resolve it while the signals hold?")
    expect(reason).to_have_attribute("required", "")
    page.screenshot(path=f"/tmp/k-shots/resolve-form-{width}.png", full_page=True)
    reason.fill("Vendor on a planned two-week break; agreed in the contract.")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_text("it holds until one gets worse")).to_be_visible()

    _what_the_watcher_does_next(engagement)
    watch.sweep(at=timezone.now() + timedelta(hours=6))
    page.goto(live_server.url + "/")
    expect(page.get_by_text("No open alerts.")).to_be_visible()
    assert Alert.objects.filter(engagement=engagement).count() == 1
    assert Alert.objects.get().held_signals
