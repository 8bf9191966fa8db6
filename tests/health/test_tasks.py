"""The watcher's tasks on a real Celery worker consuming from Redis, and webhook delivery."""

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from engagements import tasks
from engagements.alerts import outbox
from engagements.alerts import services as alerts
from engagements.models import Alert, Notification, NotificationState, SweepRun
from engagements.watch import services as watch
from outsourcing.celery import app
from tests.conftest import wait_for
from tests.factories import EngagementFactory


def test_tasks_are_registered_and_beat_entries_expire(settings):
    for name in ("sweep_health", "dispatch_outbox", "send_digest", "reevaluate_engagement"):
        assert f"engagements.tasks.{name}" in app.tasks
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        if entry["task"].startswith("engagements."):
            assert entry["options"]["expires"] > 0


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_on_redis_sweeps_raises_the_alert_and_delivers_it_once(
    fresh_broker_pool, celery_worker, owner
):
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    alerts.create_channel(org=owner.org, kind="email", name="Team")
    tasks.sweep_health.delay()
    alert = wait_for(lambda: Alert.objects.filter(engagement=engagement).first())
    wait_for(lambda: mail.outbox)
    assert mail.outbox[0].subject == f"[{alert.get_level_display()}] {engagement.title}"
    tasks.sweep_health.delay()  # a second tick: nothing new
    tasks.dispatch_outbox.delay()
    wait_for(lambda: Notification.objects.filter(state=NotificationState.SENT).count() == 1)
    assert Alert.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_beat_sweep_fans_out_in_chunks_and_records_when_it_finished(
    fresh_broker_pool, celery_worker, owner, settings
):
    settings.HEALTH_SWEEP_CHUNK = 2
    silent = EngagementFactory.create_batch(
        5, org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    tasks.sweep_health.delay()
    run = wait_for(lambda: SweepRun.objects.filter(finished_at__isnull=False).first())
    assert (run.chunks, run.chunks_done, run.engagements) == (3, 3, 5)
    assert Alert.objects.count() == len(silent)


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_a_webhook_is_signed_versioned_and_carries_an_idempotency_key(owner, receiver):
    EngagementFactory(org=owner.org, activated_at=timezone.now() - timedelta(days=40))
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver)
    watch.sweep(at=timezone.now())
    assert outbox.dispatch_outbox() == 1
    ((headers, body),) = Receiver.received
    # Vendorwatch-Signature: t=<unix seconds>,v1=<HMAC-SHA256 of "<t>." + body>
    t, v1 = (part.split("=", 1)[1] for part in headers["Vendorwatch-Signature"].split(","))
    signed = t.encode() + b"." + body
    assert v1 == hmac.new(channel.secret.encode(), signed, hashlib.sha256).hexdigest()
    assert abs(int(t) - timezone.now().timestamp()) < 60
    assert "X-Vendorwatch-Signature" not in headers  # the replayable body-only signature
    payload = json.loads(body)
    assert payload["version"] == 1
    assert payload["event"] == "alert.level"
    assert headers["Idempotency-Key"] == payload["id"] == Notification.objects.get().idempotency_key


def test_a_hanging_webhook_times_out_and_is_retried_later(owner, settings):
    settings.HEALTH_WEBHOOK_TIMEOUT = 1
    import socket

    hanging = socket.socket()
    hanging.bind(("127.0.0.1", 0))
    hanging.listen(1)  # accepts the connection, never answers
    try:
        EngagementFactory(org=owner.org, activated_at=timezone.now() - timedelta(days=40))
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}/hook"
        alerts.create_channel(org=owner.org, kind="webhook", name="Slow", url=url)
        alerts.create_channel(org=owner.org, kind="email", name="Team")
        watch.sweep(at=timezone.now())
        assert outbox.dispatch_outbox() == 1  # the e-mail still went out
    finally:
        hanging.close()
    slow = Notification.objects.get(channel__name="Slow")
    assert slow.state == NotificationState.PENDING
    assert "timed out" in slow.last_error
