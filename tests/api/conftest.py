import pytest

from accounts.models import TokenScope
from accounts.services import create_api_token


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def write_token(manager) -> dict[str, str]:
    """Headers of a write-scope token of the manager."""
    return bearer(
        create_api_token(org=manager.org, user=manager.user, name="CRM", scope=TokenScope.WRITE)[1]
    )


@pytest.fixture
def read_headers(viewer) -> dict[str, str]:
    """Headers of a viewer's read token."""
    return bearer(
        create_api_token(org=viewer.org, user=viewer.user, name="report", scope=TokenScope.READ)[1]
    )


@pytest.fixture
def outsider_token(outsider) -> dict[str, str]:
    """Headers of a write token of another organization's owner."""
    return bearer(
        create_api_token(
            org=outsider.org, user=outsider.user, name="theirs", scope=TokenScope.WRITE
        )[1]
    )


@pytest.fixture
def rate_limit():
    """Lower the per-token rate limit for one test (the throttle objects are shared)."""
    from django.core.cache import cache

    from outsourcing.api import api

    saved = [(t, t.num_requests, t.duration) for t in api.throttle]
    cache.clear()

    def set_rate(rate: str) -> None:
        for throttle in api.throttle:
            throttle.num_requests, throttle.duration = throttle.parse_rate(rate)

    yield set_rate
    for throttle, num, duration in saved:
        throttle.num_requests, throttle.duration = num, duration
    cache.clear()
