"""A webhook receiver checks each delivery the way docs/webhooks.md shows: the signature covers the
moment it was sent and the body, so a captured delivery replayed later, re-dated or altered
is refused. The documentation's own ``verify`` is run here against real deliveries."""

import hashlib
import hmac
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone

from engagements.alerts import outbox
from engagements.alerts import services as alerts
from engagements.models import Notification, NotificationState
from engagements.watch import services as watch
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db

WEBHOOK_DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
TOLERANCE = outbox.WEBHOOK_SIGNATURE_TOLERANCE.total_seconds()


def readme_receiver() -> dict:
    """The Python receiver documented in docs/webhooks.md, loaded (not served)."""
    (code,) = re.findall(r"```python\n(.*?)```", WEBHOOK_DOCS.read_text(), re.S)
    namespace: dict = {"__name__": "readme_receiver"}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def verify():
    return readme_receiver()["verify"]


class _Capture(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Capture.received.append((dict(self.headers), body))
        self.send_response(_Capture.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True  # it listens on loopback
    _Capture.received, _Capture.status = [], 204
    server = HTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Capture
    server.shutdown()
    server.server_close()


@pytest.fixture
def delivery(owner, receiver):
    """One real alert delivery: (channel secret, headers, body, unix moment it was sent)."""
    url, capture = receiver
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=url)
    EngagementFactory(org=owner.org, activated_at=timezone.now() - timedelta(days=40))
    watch.sweep(at=timezone.now())
    sent_at = timezone.now().timestamp()
    assert outbox.dispatch_outbox() == 1
    ((headers, body),) = capture.received
    return channel.secret.encode(), headers, body, sent_at


def test_the_readme_receiver_accepts_a_fresh_delivery(delivery, verify):
    secret, headers, body, sent_at = delivery
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", headers["Vendorwatch-Signature"])
    assert verify(secret, body, headers["Vendorwatch-Signature"], now=sent_at)
    assert verify(secret, body, headers["Vendorwatch-Signature"], now=sent_at + TOLERANCE - 5)
    assert headers["Idempotency-Key"] == Notification.objects.get().idempotency_key


def test_a_captured_delivery_replayed_after_the_tolerance_is_refused(delivery, verify):
    secret, headers, body, sent_at = delivery
    assert not verify(secret, body, headers["Vendorwatch-Signature"], now=sent_at + TOLERANCE + 2)


def test_a_replay_re_dated_to_now_is_refused_without_the_secret(delivery, verify):
    secret, headers, body, sent_at = delivery
    later = int(sent_at + 3600)
    v1 = headers["Vendorwatch-Signature"].split("v1=")[1]
    assert not verify(secret, body, f"t={later},v1={v1}", now=later)


def test_a_changed_body_or_another_secret_is_refused(delivery, verify):
    secret, headers, body, sent_at = delivery
    signature = headers["Vendorwatch-Signature"]
    assert not verify(secret, body.replace(b'"warning"', b'"healthy"') + b" ", signature, sent_at)
    assert not verify(b"another channel's secret", body, signature, now=sent_at)


@pytest.mark.parametrize(
    "header",
    ["", "sha256=abc", "t=,v1=", "t=abc,v1=00", "v1=00", "t=1", "garbage", "t=1,v1=é", "t=1,,"],
)
def test_a_malformed_signature_header_is_refused_not_an_error(delivery, verify, header):
    secret, _, body, sent_at = delivery
    assert verify(secret, body, header, now=sent_at) is False


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    # A fixed vector receivers in other languages can check their code against.
    header = outbox.sign("whsec_test", b'{"id": "x"}', timestamp=1_700_000_000)
    mac = hmac.new(b"whsec_test", b'1700000000.{"id": "x"}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={mac}"


def test_a_retry_is_signed_afresh_with_the_same_idempotency_key(owner, receiver, verify):
    url, capture = receiver
    capture.status = 500
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=url)
    EngagementFactory(org=owner.org, activated_at=timezone.now() - timedelta(days=40))
    watch.sweep(at=timezone.now())
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert outbox.dispatch_outbox() == 0  # the receiver answered 500
        capture.status = 204
        clock.shift(timedelta(hours=1))
        assert outbox.dispatch_outbox() == 1
        now = timezone.now().timestamp()
    (first_headers, body), (retry_headers, retry_body) = capture.received
    assert body == retry_body
    assert first_headers["Idempotency-Key"] == retry_headers["Idempotency-Key"]
    secret = channel.secret.encode()
    assert not verify(secret, body, first_headers["Vendorwatch-Signature"], now=now)  # stale
    assert verify(secret, body, retry_headers["Vendorwatch-Signature"], now=now)
    assert Notification.objects.get().state == NotificationState.SENT
