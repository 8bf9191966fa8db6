"""The per-token rate limit counts the last period, not the calendar one, and Retry-After
tells the truth: a client that waits that long gets through, one that retries sooner does
not, and its refused retries do not push the moment back. The same with Redis and with the
embedded cache."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import caches

from accounts.models import TokenScope
from accounts.services import create_api_token
from outsourcing.cache import FailOpenRedisCache
from tests.api.conftest import bearer
from tests.conftest import need, redis_available

pytestmark = pytest.mark.django_db
MINUTE = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # a period of "5/min" starts here


@pytest.fixture(params=["redis", "embedded cache"])
def limited(request, settings, rate_limit, manager):
    """A read token limited to 5 requests a minute; a function that calls the API at a moment."""
    if request.param == "redis":
        need(redis_available(), "Redis is not configured or not reachable (set REDIS_URL=...)")
        assert isinstance(caches["default"], FailOpenRedisCache)
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    caches["default"].clear()
    rate_limit("5/min")
    token = create_api_token(org=manager.org, user=manager.user, name="CRM", scope=TokenScope.READ)[
        1
    ]
    client = request.getfixturevalue("client")

    def call(at: datetime):
        with time_machine.travel(at, tick=False):
            return client.get("/api/v1/me", headers=bearer(token))

    yield call
    caches["default"].clear()


def test_a_token_over_its_rate_waits_exactly_what_retry_after_says(limited):
    start = MINUTE + timedelta(seconds=10)
    assert [limited(start).status_code for _ in range(5)] == [200] * 5
    refused = limited(start)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    wait = int(refused["Retry-After"])
    # Five in the last minute until 10:01:10; then the fifth fades as the window slides on.
    assert 55 <= wait <= 65
    assert limited(start + timedelta(seconds=wait - 3)).status_code == 429
    assert limited(start + timedelta(seconds=wait)).status_code == 200


def test_a_new_minute_does_not_double_the_budget(limited):
    end_of_minute = MINUTE + timedelta(seconds=59)
    assert [limited(end_of_minute).status_code for _ in range(5)] == [200] * 5
    # Two seconds later the calendar minute is new, but the last 60 s still hold five.
    assert limited(end_of_minute + timedelta(seconds=2)).status_code == 429


def test_refused_retries_do_not_push_the_moment_back(limited):
    start = MINUTE + timedelta(seconds=10)
    for _ in range(5):
        limited(start)
    wait = int(limited(start)["Retry-After"])
    hammering = [limited(start + timedelta(seconds=s)).status_code for s in range(1, 40)]
    assert set(hammering) == {429}
    assert limited(start + timedelta(seconds=wait)).status_code == 200


def test_each_token_has_its_own_budget(limited, manager, client):
    for _ in range(6):
        limited(MINUTE)
    other = create_api_token(org=manager.org, user=manager.user, name="BI", scope=TokenScope.READ)[
        1
    ]
    with time_machine.travel(MINUTE, tick=False):
        assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
