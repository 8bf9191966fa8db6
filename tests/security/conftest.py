"""Fixtures of the security crawlers."""

import pytest


@pytest.fixture
def loose_rate_limit():
    """The crawl sends thousands of requests with one token: the rate limit is not its subject."""
    from django.core.cache import cache

    from outsourcing.api import api

    saved = [(t, t.num_requests, t.duration) for t in api.throttle]
    for throttle in api.throttle:
        throttle.num_requests, throttle.duration = 1_000_000, 60
    cache.clear()
    yield
    for throttle, num, duration in saved:
        throttle.num_requests, throttle.duration = num, duration
    cache.clear()
