"""Redis stops for a while: the web app keeps serving and taking data, /readyz says the
broker is down, and once Redis is back the missed sweep runs and each notification goes
out once. The test stops the real Redis and always starts it again."""

import shutil
import subprocess
import time
from urllib.parse import urlparse

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import TokenScope
from accounts.services import create_api_token
from engagements.alerts import outbox
from engagements.models import Alert, Interaction, Notification
from outsourcing.celery import app
from tests.conftest import need, wait_for
from tests.factories import DeliverableFactory, EngagementFactory, InteractionFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _redis_address() -> tuple[str, int]:
    url = urlparse(settings.CELERY_BROKER_URL)
    return url.hostname or "127.0.0.1", url.port or 6379


def _ping(host: str, port: int) -> bool:
    return (
        subprocess.run(
            ["redis-cli", "-h", host, "-p", str(port), "ping"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        == "PONG"
    )


@pytest.fixture
def stoppable_redis(fresh_broker_pool):
    """The local Redis, stoppable; started again after the test whatever happens."""
    host, port = _redis_address()
    need(
        host in ("127.0.0.1", "localhost") and bool(shutil.which("redis-server")),
        "needs a local redis-server to stop and start",
    )

    def stop() -> None:
        subprocess.run(
            ["redis-cli", "-h", host, "-p", str(port), "shutdown", "nosave"],
            capture_output=True,
            check=False,
        )
        wait_for(lambda: not _ping(host, port), timeout=10)

    def start() -> None:
        if not _ping(host, port):
            subprocess.run(
                [
                    "redis-server",
                    "--daemonize",
                    "yes",
                    "--bind",
                    host,
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                ],
                check=True,
                capture_output=True,
            )
        wait_for(lambda: _ping(host, port), timeout=15)
        app._pool = None  # connections of the pool died with the old server
        app.amqp._producer_pool = None

    try:
        yield stop, start
    finally:
        start()


def test_while_redis_is_down_pages_and_data_entry_work_and_the_missed_sweep_catches_up(
    stoppable_redis, manager
):
    stop, start = stoppable_redis
    from engagements.alerts.services import create_channel

    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    create_channel(org=manager.org, kind="email", name="Team inbox")
    # Silent for weeks, comfort low, burning money with nothing accepted: at least "watch".
    InteractionFactory(
        engagement=engagement, occurred_at=timezone.now() - timezone.timedelta(days=40), comfort=1
    )
    DeliverableFactory(
        milestone__engagement=engagement,
        due_date=timezone.localdate() - timezone.timedelta(days=20),
        status="in_progress",
    )
    client = manager.client()

    stop()
    page = client.get(reverse("engagements:engagement_detail", args=[engagement.pk]))
    assert page.status_code == 200
    logged = client.post(
        reverse("engagements:interaction_create", args=[engagement.pk]),
        {"channel": "call", "direction": "we_to_vendor", "outcome": "unanswered", "comfort": ""},
    )
    assert logged.status_code in (200, 302), logged.content[:500]
    assert Interaction.objects.filter(engagement=engagement, outcome="unanswered").exists()
    _, token = create_api_token(
        org=manager.org, user=manager.user, name="crm", scope=TokenScope.READ
    )
    api = client.get("/api/v1/vendors", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200  # the rate limiter's cache fails open
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["broker"] == "down"

    start()
    assert client.get("/readyz").status_code == 200
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, shutdown_timeout=10
    ):
        from engagements import tasks

        tasks.sweep_health.delay()  # the next beat tick after the outage
        wait_for(lambda: Alert.objects.filter(engagement=engagement).exists(), timeout=20)
        tasks.dispatch_outbox.delay()
        wait_for(
            lambda: Notification.objects.filter(
                alert__engagement=engagement, state="sent"
            ).exists(),
            timeout=20,
        )
        sent = len(mail.outbox)
        assert sent >= 1
        tasks.sweep_health.delay()  # a second tick, and a redelivered dispatch, change nothing
        tasks.dispatch_outbox.delay()
        time.sleep(2)
    outbox.dispatch_outbox(at=timezone.now())
    assert len(mail.outbox) == sent
    assert Alert.objects.filter(engagement=engagement).count() == 1
