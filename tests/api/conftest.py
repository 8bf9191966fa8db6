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
