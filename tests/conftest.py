"""Shared fixtures: an organization with an owner, a manager and a viewer, an outsider from
another organization, and the real services (PostgreSQL, Redis, Chromium).

Tests that need a service skip with a one-line reason when it is missing, unless
REQUIRE_SERVICES=1 (as in CI), where a missing service fails the test instead.
"""

import os
import shutil
import uuid
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.servers.basehttp import WSGIServer
from django.db import connection
from django.test import Client
from django.test.testcases import LiveServerThread

from accounts.models import Organization, Role, User
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django must allow the
# (synchronous) ORM calls the tests make beside it.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def pytest_report_header(config) -> list[str]:
    db = settings.DATABASES["default"]
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} {db.get('HOST') or db['NAME']}",
        f"broker: {settings.CELERY_BROKER_URL.split('://')[0]}; chromium: {CHROMIUM if os.path.exists(CHROMIUM) else 'missing'}",
        f"REQUIRE_SERVICES={'1' if REQUIRE_SERVICES else '0'}",
    ]


def need(available: bool, reason: str) -> None:
    """Skip (laptop) or fail (CI, REQUIRE_SERVICES=1) when a real service is missing."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def postgres(db) -> None:
    """The test runs on PostgreSQL (DATABASE_URL=postgres://...)."""
    need(
        connection.vendor == "postgresql",
        "PostgreSQL is not configured (set DATABASE_URL=postgres://...)",
    )


def redis_available() -> bool:
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return False
    import redis

    try:
        return bool(
            redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1).ping()
        )
    except redis.RedisError:
        return False


@pytest.fixture
def redis_broker() -> str:
    """Celery's broker is a reachable Redis (REDIS_URL=redis://...)."""
    need(redis_available(), "Redis is not configured or not reachable (set REDIS_URL=redis://...)")
    return settings.CELERY_BROKER_URL


@dataclass
class Member:
    user: User
    org: Organization
    role: str

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client


@pytest.fixture
def org(db) -> Organization:
    return OrganizationFactory(name="Acme Buyers", slug="acme")


@pytest.fixture
def other_org(db) -> Organization:
    return OrganizationFactory(name="Rival Buyers", slug="rival")


def _member(org: Organization, role: str, email: str) -> Member:
    membership = MembershipFactory(org=org, role=role, user=UserFactory(email=email))
    return Member(membership.user, org, role)


@pytest.fixture
def owner(org) -> Member:
    return _member(org, Role.OWNER, "owner@acme.test")


@pytest.fixture
def manager(org) -> Member:
    return _member(org, Role.MANAGER, "manager@acme.test")


@pytest.fixture
def viewer(org) -> Member:
    return _member(org, Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def outsider(other_org) -> Member:
    """An owner of another organization: must never see or change anything of ``org``."""
    return _member(other_org, Role.OWNER, "owner@rival.test")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    need(os.path.exists(CHROMIUM), f"Chromium is not installed at {CHROMIUM}")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--headless",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


class SerialLiveServer(WSGIServer):
    """The live server answering one request at a time (Django then closes each connection).

    With an in-memory SQLite test database every request thread of Django's threaded live
    server uses the test's one connection, and a page whose regions load at once made two
    threads use it together ("bad parameter or other API misuse", a 500 mid-journey). On
    PostgreSQL each thread has its own connection and the server stays threaded."""

    def __init__(self, *args, connections_override=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connections_override = connections_override


@pytest.fixture(scope="session", autouse=True)
def _serial_live_server_on_sqlite():
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        LiveServerThread.server_class = SerialLiveServer
    yield


@pytest.fixture(scope="session", autouse=True)
def _private_broker():
    """Without Redis, tests use an in-memory broker, never the dev server's queue folder."""
    from outsourcing.celery import app

    if not app.conf.broker_url.startswith("redis"):
        app.conf.broker_url = "memory://"
        app.conf.broker_transport_options = {}
    yield


def redis_db_of_worker(url: str, worker: str) -> str:
    """``url`` moved to a Redis database of its own for pytest-xdist worker ``worker``
    ("gw0", "gw1"...): one worker's Celery worker thread must never take another's tasks
    (they would run against the other worker's test database), nor its cache flush theirs."""
    if not worker.startswith("gw") or not url.startswith("redis"):
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base + 1 + int(worker[2:])) % 16}"))


def pytest_configure(config) -> None:
    """Under pytest-xdist each worker talks to its own Redis database (see above). Runs
    before any connection is made; settings and the Celery app are lazy until then."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return
    from outsourcing.celery import app

    url = redis_db_of_worker(settings.CELERY_BROKER_URL, worker)
    settings.CELERY_BROKER_URL = url
    app.conf.broker_url = url
    for config_ in settings.CACHES.values():
        if str(config_.get("LOCATION", "")).startswith("redis"):
            config_["LOCATION"] = redis_db_of_worker(config_["LOCATION"], worker)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker consuming from the configured broker in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    from outsourcing.celery import app

    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10
    ) as worker:
        yield worker


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    """Poll until ``predicate()`` is truthy (work done by a worker thread or a browser)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture(autouse=True)
def _private_media_root(settings, tmp_path):
    """Uploaded files of a test go to its own folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Each test its own cache namespace: a dashboard cached by an earlier test or CI run
    (same organization id, same frozen time) never leaks in; nor do rate-limit counters."""
    settings.CACHES = {
        alias: {**config, "KEY_PREFIX": f"test-{uuid.uuid4().hex}"}
        for alias, config in settings.CACHES.items()
    }


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests create many users; PBKDF2's deliberate slowness would dominate the suite."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def fresh_broker_pool(redis_broker) -> str:
    """Redis, without the producer pool an earlier test built while pointing at a dead broker."""
    from outsourcing.celery import app

    app._pool = None
    app.amqp._producer_pool = None
    return redis_broker


@pytest.fixture
def dead_broker(monkeypatch):
    """Celery pointed at a port where no broker listens, with no pooled connection left from
    an earlier test (a pool built for the working broker would still deliver), and none left
    behind for the next test."""
    from outsourcing.celery import app

    def drop_pools():
        app._pool = None
        app.amqp._producer_pool = None

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    drop_pools()
    yield
    drop_pools()


@pytest.fixture(autouse=True)
def _system_scope(request):
    """A test body acts as the system: it sets up and inspects every organization's rows.

    Requests still run in the middleware's own scope, Celery worker threads start with
    none (so a task that forgets to declare its scope fails here as it would in
    production), and ``@pytest.mark.no_tenant_scope`` runs a test outside any scope.
    """
    from accounts.tenancy import all_organizations, no_tenant_scope

    scope = (
        no_tenant_scope if request.node.get_closest_marker("no_tenant_scope") else all_organizations
    )
    with scope():
        yield
