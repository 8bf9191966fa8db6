"""A list asked the same question answers the same rows on the page and in the API: both
filter through one QuerySet method (``filter_for_list``) of the listed model."""

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements.alerts.models import Alert
from engagements.watch.models import Level
from tests.factories import EngagementFactory, VendorFactory
from tests.postmortems.conftest import published_lesson

pytestmark = pytest.mark.django_db


def api_ids(client, path: str, headers, **filters) -> set[int]:
    response = client.get(path, {**filters, "limit": 200}, headers=headers)
    assert response.status_code == 200, response.json()
    assert response.json()["next_cursor"] is None  # every row on one page
    return {row["id"] for row in response.json()["items"]}


def page_ids(member, url_name: str, rows: str, **filters) -> set[int]:
    response = member.client().get(reverse(url_name), filters)
    assert response.status_code == 200
    return {row.pk for row in response.context[rows]}


VENDOR_FILTERS = [
    {},
    {"q": "design"},  # in a description: the API once searched names only
    {"q": "react"},  # in the specialties
    {"q": "acme"},  # in a name
    {"status": "approved"},
    {"specialty": "react"},
    {"q": "design", "status": "prospect"},
]


@pytest.mark.parametrize("filters", VENDOR_FILTERS, ids=str)
def test_the_vendor_list_and_the_api_find_the_same_vendors(client, manager, write_token, filters):
    VendorFactory(org=manager.org, name="Acme Dev", status="approved")
    VendorFactory(org=manager.org, name="Pixel", description="Brand design studio")
    VendorFactory(org=manager.org, name="Stackers", specialties="React, Django")
    VendorFactory(org=manager.org, name="Quiet Ltd", status="approved", description="Payroll")
    on_page = page_ids(manager, "vendors:vendor_list", "page", **filters)
    assert on_page == api_ids(client, "/api/v1/vendors", write_token, **filters)
    if filters:
        assert len(on_page) < 4  # the filter did something on both sides


def test_the_engagement_list_and_the_api_find_the_same_engagements(client, manager, write_token):
    acme, pixel = VendorFactory(org=manager.org), VendorFactory(org=manager.org)
    EngagementFactory(org=manager.org, vendor=acme, title="Checkout rewrite", owner=manager.user)
    EngagementFactory(org=manager.org, vendor=acme, title="Brand refresh", status="draft")
    EngagementFactory(org=manager.org, vendor=pixel, title="Checkout audit", status="paused")
    EngagementFactory(org=manager.org, vendor=pixel, title="Logo", owner=manager.user)
    for filters in [
        {},
        {"status": "active"},
        {"vendor": acme.pk},
        {"owner": manager.user.pk},
        {"q": "checkout"},
        {"q": "checkout", "vendor": pixel.pk},
        {"owner": manager.user.pk, "status": "active", "vendor": pixel.pk},
    ]:
        on_page = page_ids(manager, "engagements:engagement_list", "page", **filters)
        assert on_page == api_ids(client, "/api/v1/engagements", write_token, **filters), filters
        assert not filters or len(on_page) < 4, filters


def test_the_lessons_page_and_the_api_find_the_same_lessons(client, owner, write_token):
    acme = VendorFactory(org=owner.org, name="Acme Dev")
    published_lesson(owner.org, owner.user, vendor=acme, text="Ask for two references.")
    published_lesson(
        owner.org, owner.user, text="Agree the cadence first.", category="neglected", tags="calls"
    )
    published_lesson(owner.org, owner.user, vendor=acme, text="Write acceptance criteria.")
    for filters in [
        {},
        {"q": "references"},
        {"q": "cadence calls"},
        {"vendor": acme.pk},
        {"category": "neglected"},
        {"tag": "calls"},
        {"vendor": acme.pk, "q": "acceptance"},
        {"since": (timezone.localdate() + dt.timedelta(days=1)).isoformat()},
    ]:
        on_page = page_ids(owner, "engagements:lesson_list", "lessons", **filters)
        assert on_page == api_ids(client, "/api/v1/lessons", write_token, **filters), filters
        assert not filters or len(on_page) < 3, filters


def test_the_dashboard_and_the_api_list_the_same_open_alerts(client, manager, write_token):
    acme, pixel = VendorFactory(org=manager.org), VendorFactory(org=manager.org)
    mine = EngagementFactory(org=manager.org, vendor=acme, owner=manager.user)
    Alert.objects.create(org=manager.org, engagement=mine, level=Level.WARNING)
    theirs = EngagementFactory(org=manager.org, vendor=pixel)
    Alert.objects.create(org=manager.org, engagement=theirs, level=Level.WATCH)
    other = EngagementFactory(org=manager.org, vendor=pixel)
    Alert.objects.create(org=manager.org, engagement=other, level=Level.CUT_LOSSES)
    done = EngagementFactory(org=manager.org, vendor=acme, owner=manager.user)
    Alert.objects.create(org=manager.org, engagement=done, level=Level.WATCH, status="resolved")
    link = re.compile(
        re.escape(reverse("engagements:alert_detail", args=[0])).replace("0", r"(\d+)")
    )
    for filters in [
        {},
        {"level": "watch"},
        {"owner": manager.user.pk},
        {"vendor": pixel.pk},
        {"vendor": acme.pk, "level": "warning"},
    ]:
        page = manager.client().get(reverse("engagements:dashboard"), filters)
        alert_list = page.text.split('id="alert-list"', 1)[1].split("</section>", 1)[0]
        on_page = {int(pk) for pk in link.findall(alert_list)}
        assert on_page == api_ids(client, "/api/v1/alerts", write_token, **filters), filters
        assert not filters or len(on_page) < 3, filters
