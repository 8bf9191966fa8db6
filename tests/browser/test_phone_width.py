"""At a phone's width (390 px) the main pages fit the screen, the charts scale to their box
with readable text and "today" in view, and the API docs render at the device width."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser

from accounts.models import User
from engagements.models import Alert, Engagement, PostMortem
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}

# Elements wider than the screen, outside the boxes that scroll on purpose (wide tables).
OVERFLOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => !e.closest('.table-scroll') && e.getBoundingClientRect().right > innerWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)"""


@pytest.fixture
def phone(transactional_db, live_server, browser: Browser, capsys):
    call_command("seed_demo", "--force")
    capsys.readouterr()
    owner = User.objects.get(email="owner@example.com")
    owner.set_password(PASSWORD)
    owner.save()
    page = browser.new_context(**PHONE).new_page()
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(live_server.url + "/")
    return page


def test_the_main_pages_fit_a_phone_screen(phone, live_server):
    failing = Engagement.objects.get(title="Data warehouse migration")
    pages = [
        "/",
        f"/engagements/{failing.pk}/",
        f"/alerts/{Alert.objects.get(engagement=failing).pk}/",
        f"/postmortems/{PostMortem.objects.first().pk}/",
        "/postmortems/",
        "/audit/",
        "/notifications/",
        f"/vendors/{failing.vendor_id}/",
        f"/vendors/contracts/{failing.contract_id}/",
        f"/vendors/contracts/{failing.contract_id}/edit/",
    ]
    for url in pages:
        phone.goto(live_server.url + url)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, url
        assert phone.evaluate(OVERFLOW) == [], url


def test_the_notification_settings_with_chat_channels_fit_a_phone_screen(phone, live_server):
    from accounts.models import Organization
    from engagements.alerts import services as alerts

    org = Organization.objects.get(slug="demo")
    long_host = "prod-161.westeurope.logic.azure.com"
    alerts.create_channel(
        org=org,
        kind="apprise",
        name="Teams: engineering leadership and on-call escalation",
        apprise_url=f"workflows://{long_host}/643e69f83c8944438d68119179a10a64/KODuebWbDGYFr0z0eu",
        remind_hours=1,
    )
    phone.goto(live_server.url + "/notifications/")
    phone.get_by_text("Chat and paging services (Apprise URLs)").click()
    assert phone.get_by_text("tgram://BOT_TOKEN/CHAT_ID").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate(OVERFLOW) == []
    phone.get_by_role("link", name="Edit Teams: engineering").click()
    phone.wait_for_selector("#channel-edit")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate(OVERFLOW) == []


def test_the_charts_scale_to_their_box_and_stay_readable(phone, live_server):
    failing = Engagement.objects.get(title="Data warehouse migration")
    phone.goto(f"{live_server.url}/engagements/{failing.pk}/")
    for chart in phone.locator("svg.chart").all():
        if not chart.is_visible():
            continue  # the wide drawing, for desktops
        box = chart.bounding_box()
        figure = chart.locator("xpath=..").bounding_box()
        assert box["width"] <= figure["width"] + 1  # scaled to its box, no scrolling
        sizes = chart.evaluate(
            "svg => [...svg.querySelectorAll('text')].map(t => t.getBoundingClientRect().height)"
        )
        assert min(sizes) >= 11, sizes  # ~12 px text, not 8
        today = chart.locator("text", has_text="today")
        t = today.bounding_box()
        assert t and box["x"] - 1 <= t["x"] and t["x"] + t["width"] <= box["x"] + box["width"] + 1
    assert phone.locator("svg.chart-narrow").first.is_visible()
    assert not phone.locator("svg.chart-wide").first.is_visible()


def test_the_api_docs_render_at_the_device_width(phone, live_server):
    phone.goto(live_server.url + "/api/v1/docs")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert phone.evaluate("innerWidth") == 390
