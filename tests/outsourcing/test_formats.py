"""Money, numbers and dates read one way on every page, in the organization's locale."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from outsourcing.formats import day, format_number, locale_of, moment, money
from tests.factories import EngagementFactory, SpendEntryFactory


@pytest.mark.parametrize(
    ("locale", "amount", "text"),
    [
        ("en", Decimal("120000.00"), "120,000 EUR"),
        ("en", Decimal("1234.5"), "1,234.50 EUR"),
        ("de", Decimal("1234.5"), "1.234,50 EUR"),
        ("fr", Decimal("1234567"), "1\u202f234\u202f567 EUR"),
        ("iso", Decimal("-1234.5"), "-1234.50 EUR"),
    ],
)
def test_money_shows_cents_only_when_there_are_some_in_the_locale_of_the_org(locale, amount, text):
    with locale_of(locale):
        assert money(amount, "EUR") == text


def test_numbers_keep_at_most_two_decimals():
    assert format_number(42.857142857) == "42.86"
    assert format_number(40.0) == "40"
    with locale_of("de"):
        assert format_number(Decimal("1234.5")) == "1.234,5"


def test_dates_are_written_in_the_org_format_and_time_zone():
    late_evening_utc = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    with timezone.override("Europe/Berlin"):
        assert day(late_evening_utc) == "1 Dec 2026"  # already the next day in Berlin
        assert moment(late_evening_utc) == "1 Dec 2026 00:30"
        with locale_of("de"):
            assert day("2026-11-30") == "30.11.2026"  # a frozen ISO string too
            assert moment(late_evening_utc) == "01.12.2026 00:30"


def test_the_filters_need_no_load_tag():
    html = Template("{{ x|money:'EUR' }} {{ d|day }}").render(
        Context({"x": Decimal("5"), "d": dt.date(2026, 1, 2)})
    )
    assert html == "5 EUR 2 Jan 2026"


@time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC))
def test_an_engagement_page_writes_money_in_the_organizations_locale(manager):
    org = manager.org
    org.locale = "de"
    org.save(update_fields=["locale"])
    engagement = EngagementFactory(org=org, budget=Decimal("120000"))
    SpendEntryFactory(engagement=engagement, amount=Decimal("1234.50"), date=dt.date(2026, 11, 2))
    page = manager.client().get(reverse("engagements:engagement_detail", args=[engagement.pk])).text
    assert "1.234,50 EUR" in page  # the spend entry, the header's "spent"
    assert "120.000" in page
    assert "02.11.2026" in page
    assert "floatformat" not in page and "1234.5" not in page.replace("1234.50", "")


def test_an_owner_chooses_the_organizations_locale_and_leaving_it_out_keeps_it(owner):
    client = owner.client()
    settings_url = reverse("accounts:organization_settings")
    form = {"name": "Acme", "time_zone": "Europe/Berlin", "currency": "EUR"}
    assert client.post(settings_url, form | {"locale": "de"}).status_code == 302
    owner.org.refresh_from_db()
    assert owner.org.locale == "de"
    assert client.post(settings_url, form).status_code == 302  # an older form, no locale
    owner.org.refresh_from_db()
    assert owner.org.locale == "de"
    assert client.post(settings_url, form | {"locale": "xx"}).status_code == 422
