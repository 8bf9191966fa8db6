"""Interactions and spend record what happened: a date in the future is refused the same way
on the engagement page and through the API, and nothing is saved. Due dates may be future."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts.models import TokenScope
from accounts.services import create_api_token
from engagements.delivery import services
from engagements.delivery.models import Interaction, SpendEntry
from outsourcing.validation import FUTURE_MESSAGE
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"
NOON_IN_BERLIN = dt.datetime(2026, 11, 30, 11, 0, tzinfo=dt.UTC)


@pytest.fixture
def engagement(manager):
    return EngagementFactory(org=manager.org, owner=manager.user, currency="EUR")


@pytest.fixture
def api_headers(manager) -> dict[str, str]:
    _, secret = create_api_token(
        org=manager.org, user=manager.user, name="books", scope=TokenScope.WRITE
    )
    return {"Authorization": f"Bearer {secret}"}


def spend_form(date: str) -> dict:
    return {"date": date, "amount": "4500", "currency": "EUR", "description": "Invoice 12"}


@time_machine.travel(NOON_IN_BERLIN)
def test_spend_dated_next_month_is_refused_next_to_its_date_on_the_page(manager, engagement):
    response = manager.client().post(
        reverse("engagements:spend_create", args=[engagement.pk]),
        spend_form("2026-12-30"),
        headers={"HX-Request": "true", "HX-Target": "spend"},
    )
    assert FUTURE_MESSAGE in response.text
    assert 'id="id_spend-date_error"' in response.text or "field-error" in response.text
    assert not SpendEntry.objects.exists()


@time_machine.travel(NOON_IN_BERLIN)
def test_spend_dated_next_month_is_refused_by_the_api_with_the_same_words(
    client, manager, engagement, api_headers
):
    response = client.post(
        f"/api/v1/engagements/{engagement.pk}/spend",
        spend_form("2026-12-30"),
        content_type=JSON,
        headers=api_headers,
    )
    assert response.status_code in (409, 422)
    assert response.json()["error"]["fields"]["date"] == [FUTURE_MESSAGE]
    assert not SpendEntry.objects.exists()


@time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC))
def test_today_in_the_organizations_time_zone_is_not_the_future(manager, engagement):
    """23:30 UTC is already 1 December in Berlin: spend dated 1 December happened today."""
    services.record_spend(
        engagement=engagement,
        by=manager.user,
        date=dt.date(2026, 12, 1),
        amount=Decimal("10"),
        currency="EUR",
        description="Paid this morning",
    )
    assert SpendEntry.objects.count() == 1


@time_machine.travel(NOON_IN_BERLIN)
def test_an_interaction_five_years_ahead_is_refused_on_the_page_and_by_the_api(
    client, manager, engagement, api_headers
):
    page = manager.client().post(
        reverse("engagements:interaction_create", args=[engagement.pk]),
        {
            "channel": "call",
            "direction": "we_to_vendor",
            "outcome": "held",
            "occurred_at": "2031-11-30T10:00",
        },
        headers={"HX-Request": "true", "HX-Target": "interactions"},
    )
    assert FUTURE_MESSAGE in page.text
    api = client.post(
        f"/api/v1/engagements/{engagement.pk}/interactions",
        {
            "channel": "call",
            "direction": "we_to_vendor",
            "outcome": "held",
            "occurred_at": "2031-11-30T10:00:00+01:00",
        },
        content_type=JSON,
        headers=api_headers,
    )
    assert api.json()["error"]["fields"]["occurred_at"] == [FUTURE_MESSAGE]
    assert not Interaction.objects.exists()


@time_machine.travel(NOON_IN_BERLIN)
def test_a_call_logged_a_minute_ahead_by_a_fast_phone_clock_is_kept(manager, engagement):
    services.log_interaction(
        engagement=engagement,
        by=manager.user,
        channel="call",
        direction="we_to_vendor",
        outcome="held",
        occurred_at=NOON_IN_BERLIN + dt.timedelta(minutes=1),
    )
    assert Interaction.objects.count() == 1
