"""Fixtures for the forges: an organization's connections, an engagement with a repository
mapped and a deliverable rule, and helpers that send payloads the way GitHub, GitLab and a
generic tool send them (the real bodies in ``payloads/``, signed as each service signs)."""

import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from engagements.delivery import services as delivery
from engagements.delivery.models import DeliverableStatus
from engagements.forges import services as forges
from tests.factories import EngagementFactory

PAYLOADS = Path(__file__).parent / "payloads"
NOW = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)  # just after the payloads' own moments


def payload(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def url(connection) -> str:
    return reverse("engagements:forge_webhook", args=[connection.forge, connection.token])


def send_github(connection, event: str, body: bytes, *, delivery_id=None, secret=None, **extra):
    """POST as GitHub does: ``X-Hub-Signature-256: sha256=<HMAC of the body>``."""
    key = (secret if secret is not None else connection.secret).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "501234567",
        "User-Agent": "GitHub-Hookshot/7f3a2c1",
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }
    headers.update(extra.pop("headers", {}))
    return Client().post(
        url(connection), body, content_type="application/json", headers=headers, **extra
    )


def send_gitlab(connection, event: str, body: bytes, *, key=None, token=None, **extra):
    """POST as GitLab does: the secret token in ``X-Gitlab-Token``, ``Idempotency-Key``."""
    headers = {
        "X-Gitlab-Event": event,
        "X-Gitlab-Token": token if token is not None else connection.secret,
        "X-Gitlab-Event-UUID": str(uuid.uuid4()),
        "X-Gitlab-Webhook-UUID": str(uuid.uuid4()),
        "X-Gitlab-Instance": "https://gitlab.com",
        "Idempotency-Key": key or str(uuid.uuid4()),
        "User-Agent": "GitLab/17.5.0-pre",
    }
    return Client().post(
        url(connection), body, content_type="application/json", headers=headers, **extra
    )


def send_generic(connection, body: bytes, *, key=None, at=None, secret=None, event=None):
    """POST in the generic format: ``Vendorwatch-Signature: t=…,v1=…`` and ``Idempotency-Key``."""
    moment = int(at if at is not None else time.time())
    headers = {
        "Vendorwatch-Signature": forges.sign_generic(
            secret or connection.secret, body, timestamp=moment
        ),
        "Idempotency-Key": key or str(uuid.uuid4()),
    }
    if event:
        headers["Vendorwatch-Event"] = event
    return Client().post(url(connection), body, content_type="application/json", headers=headers)


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


@pytest.fixture
def github(org, owner):
    return forges.create_connection(org=org, by=owner.user, forge="github", name="Northwind GitHub")


@pytest.fixture
def gitlab(org, owner):
    return forges.create_connection(org=org, by=owner.user, forge="gitlab", name="Northwind GitLab")


@pytest.fixture
def generic(org, owner):
    return forges.create_connection(org=org, by=owner.user, forge="generic", name="Jira automation")


@pytest.fixture
def engagement(org, manager):
    with time_machine.travel(datetime(2026, 9, 1, 9, 0, tzinfo=UTC), tick=False):
        e = EngagementFactory(
            org=org,
            owner=manager.user,
            title="Quarterly reporting",
            start_date=date(2026, 9, 1),
            target_end_date=date(2027, 3, 1),
            activated_at=datetime(2026, 9, 1, 9, 0, tzinfo=UTC),
        )
    return e


@pytest.fixture
def report(engagement, manager):
    """A deliverable in progress whose work shows on ``reports/*`` branches."""
    with time_machine.travel(datetime(2026, 9, 2, 9, 0, tzinfo=UTC), tick=False):
        milestone = delivery.add_milestone(
            engagement=engagement, title="Q3 close", due_date=date(2026, 11, 30)
        )
        d = delivery.add_deliverable(
            engagement=engagement,
            milestone=milestone,
            by=manager.user,
            title="Q3 report",
            due_date=date(2026, 11, 15),
            acceptance_criteria="Numbers match the ledger.",
        )
        delivery.transition_deliverable(
            deliverable=d, to=DeliverableStatus.IN_PROGRESS, by=manager.user
        )
        forges.add_activity_rule(
            engagement=engagement,
            by=manager.user,
            deliverable=d,
            match="branch",
            pattern="reports/*",
        )
    d.refresh_from_db()
    return d


@pytest.fixture
def mapped(engagement, manager, report):
    """The vendor's repositories on each forge mapped to the engagement."""
    for forge, repository in (
        ("github", "Northwind-Studio/Reports"),
        ("gitlab", "https://gitlab.com/northwind/acme/data-pipeline"),
        ("generic", "REP"),
    ):
        forges.map_repository(
            engagement=engagement, by=manager.user, forge=forge, repository=repository
        )
    return engagement


def body_of(response) -> dict:
    return json.loads(response.content)
