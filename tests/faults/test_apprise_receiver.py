"""A chat service that is down, then back: the Apprise channel's message is retried with the
outbox's backoff and delivered once when the service answers again, never twice; the working
Slack channel of the same alert gets its message once, on the first attempt.

A real Celery worker on Redis delivers; the receivers are HTTP servers on loopback (Apprise's
``json://`` target, and a server playing Slack's incoming webhook, Apprise's Slack endpoint
pointed at it); the clock moves past the backoff with time-machine. Stops neither PostgreSQL
nor Redis."""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from apprise.plugins.slack import NotifySlack
from django.utils import timezone

from engagements import tasks
from engagements.alerts import outbox
from engagements.alerts import services as alert_services
from engagements.models import Alert, Notification
from engagements.models import NotificationState as State
from tests.conftest import wait_for
from tests.factories import EngagementFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

SLACK_TOKENS = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


class Receiver:
    """An HTTP server on a given loopback port recording each request's Idempotency-Key and
    JSON body."""

    def __init__(self, port: int = 0):
        self.keys: list[str | None] = []
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.keys.append(self.headers.get("Idempotency-Key"))
                receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")  # what Slack's incoming webhook answers

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _free_port() -> int:
    """A loopback port nobody listens on (a moment ago): connections to it are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_chat_service_down_then_up_gets_the_alert_once_through_the_retries(
    empty_broker, celery_worker, owner, settings, monkeypatch
):
    settings.HEALTH_WEBHOOK_TIMEOUT = 1
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True  # the receivers listen on loopback
    slack = Receiver()
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{slack.port}/services")
    port = _free_port()
    alert_services.create_channel(
        org=owner.org,
        kind="apprise",
        name="Pager",
        apprise_url=f"json://127.0.0.1:{port}/alerts",
    )
    alert_services.create_channel(
        org=owner.org,
        kind="apprise",
        name="Slack",
        apprise_url=f"https://hooks.slack.com/services/{SLACK_TOKENS}",
    )
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    pager = Notification.unscoped.filter(channel__name="Pager")
    back: Receiver | None = None
    try:
        with time_machine.travel(timezone.now(), tick=True) as clock:
            tasks.sweep_health.delay()  # opens the alert; the sweep enqueues the first delivery
            wait_for(lambda: pager.filter(attempts=1, state=State.PENDING).exists(), timeout=30)
            down = pager.get()
            assert "NotDelivered: JSON POST:" in down.last_error
            assert "refused" in down.last_error.lower()

            back = Receiver(port=port)  # the service is up again, on the same address
            due = down.next_attempt_at
            assert not outbox.dispatch_outbox(at=due - timedelta(seconds=1))  # not before
            clock.move_to(due + timedelta(seconds=1))
            tasks.dispatch_outbox.delay()
            wait_for(lambda: pager.filter(state=State.SENT).exists(), timeout=30)

            # More runs, later ones too: nothing goes out again.
            tasks.dispatch_outbox.delay()
            clock.move_to(timezone.now() + timedelta(hours=2))
            tasks.dispatch_outbox.delay()
            wait_for(
                lambda: not Notification.unscoped.filter(state=State.CLAIMED).exists(), timeout=30
            )
            assert outbox.dispatch_outbox() == 0
    finally:
        slack.close()
        if back is not None:
            back.close()

    delivered = pager.get()
    assert (delivered.state, delivered.attempts, delivered.last_error) == (State.SENT, 2, "")
    assert back.keys == [delivered.idempotency_key]  # once, with the row's key
    alert = Alert.objects.get(engagement=engagement)
    assert back.bodies[0]["title"].endswith(engagement.title)
    assert f"/alerts/{alert.pk}/" in back.bodies[0]["message"]

    chat = Notification.unscoped.get(channel__name="Slack")
    assert (chat.state, chat.attempts) == (State.SENT, 1)
    assert len(slack.bodies) == 1
    assert slack.bodies[0]["attachments"][0]["blocks"][0]["text"]["text"].endswith(engagement.title)
