"""The outbox drains while it has work: a run goes on batch after batch, reuses its
connections, records results in bulk, and runs started together share the work instead of
splitting one batch. A newly queued notification is dispatched right after commit, and the
SSRF guard checks the address every connection actually goes to."""

import socket
import threading
import time
from collections import Counter
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagements import tasks
from engagements.alerts import outbox
from engagements.alerts import services as alerts
from engagements.models import Alert, Level, Notification, NotificationChannel, NotificationState
from tests.conftest import wait_for
from tests.factories import EngagementFactory


class KeepAliveReceiver:
    """A webhook receiver speaking HTTP/1.1 keep-alive; counts its TCP connections and the
    Idempotency-Keys it received (``delay``: seconds it takes to answer)."""

    def __init__(self, delay: float = 0.0):
        self.keys: list[str] = []
        self.connections = 0
        self.delay = delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                receiver.connections += 1
                super().setup()

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.keys.append(self.headers["Idempotency-Key"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True  # it listens on loopback
    made = KeepAliveReceiver()
    yield made
    made.close()


def queue(channel: NotificationChannel, n: int, *, at=None) -> list[Notification]:
    """``n`` alerts opened now, each with its outbox row on ``channel`` (what a sweep writes)."""
    at = at or timezone.now()
    engagements = EngagementFactory.create_batch(n, org=channel.org)
    opened = Alert.unscoped.bulk_create(
        [Alert(org=channel.org, engagement=e, level=Level.WATCH, opened_at=at) for e in engagements]
    )
    return Notification.unscoped.bulk_create(
        [
            Notification(
                org=channel.org,
                alert=a,
                channel=channel,
                level=a.level,
                idempotency_key=f"alert-{a.pk}-channel-{channel.pk}-watch-0",
                next_attempt_at=at,
                created_at=at,
            )
            for a in opened
        ]
    )


def sent() -> int:
    return Notification.unscoped.filter(state=NotificationState.SENT).count()


@pytest.mark.django_db
def test_one_run_drains_batch_after_batch_over_one_kept_alive_connection(owner, receiver, settings):
    settings.OUTBOX_BATCH = 7
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    rows = queue(channel, 30)
    with CaptureQueriesContext(connection) as queries:
        assert outbox.dispatch_outbox() == 30  # not only the first batch of 7
    assert Counter(receiver.keys) == Counter(n.idempotency_key for n in rows)
    assert receiver.connections == 1, "one keep-alive connection for the whole run"
    # Per batch of 7 one claim (with everything the payloads need; SQLite reads it in a
    # second query) and one bulk record of the results: the queries grow with the batches,
    # not with the notifications.
    per_batch = 2 if connection.vendor == "postgresql" else 3
    assert len(queries) == per_batch * 5, [q["sql"][:80] for q in queries]


@pytest.mark.django_db
def test_the_claim_is_one_statement_that_returns_what_the_payload_needs(owner, receiver):
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    (row,) = queue(channel, 1)
    with CaptureQueriesContext(connection) as queries:
        (claimed,) = outbox.claim(at=timezone.now(), limit=10)
    if connection.vendor == "postgresql":
        assert len(queries) == 1
    body = outbox.payload(claimed)
    assert body["id"] == row.idempotency_key
    assert body["engagement"]["title"] == row.alert.engagement.title
    assert body["engagement"]["vendor"] == row.alert.engagement.vendor.name
    assert body["alert"]["opened_at"] == row.alert.opened_at.isoformat()
    assert (claimed.url, claimed.secret) == (channel.url, channel.secret)
    assert Notification.unscoped.get().state == NotificationState.CLAIMED


class CountingMailer(LocmemBackend):
    """The locmem backend, counting the connections made and opened."""

    created = opened = 0

    def __init__(self, *args, **kwargs):
        CountingMailer.created += 1
        super().__init__(*args, **kwargs)

    def open(self):
        CountingMailer.opened += 1
        return super().open()


@pytest.mark.django_db
def test_a_run_sends_its_e_mails_over_one_smtp_connection(owner, settings, mailoutbox):
    settings.MAILERS = {"default": {"BACKEND": f"{__name__}.CountingMailer"}}
    CountingMailer.created = CountingMailer.opened = 0
    channel = alerts.create_channel(org=owner.org, kind="email", name="Team")
    rows = queue(channel, 4)  # each engagement's owner is told (the default policy at watch)
    assert outbox.dispatch_outbox() == 4
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        n.alert.engagement.owner.email for n in rows
    )
    assert (CountingMailer.created, CountingMailer.opened) == (1, 1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runs_started_together_claim_disjoint_batches_and_each_row_is_sent_once(
    postgres, owner, receiver, settings
):
    settings.OUTBOX_BATCH = 5
    receiver.delay = 0.002  # long enough for the runs to overlap
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    rows = queue(channel, 120)
    claimed: list[list[int]] = []

    def run() -> None:
        from accounts.tenancy import all_organizations

        try:
            with all_organizations():
                outbox.drain(on_backlog=lambda: None)
        finally:
            connection.close()

    original = outbox.claim

    def recording(**kwargs):
        got = original(**kwargs)
        claimed.append([r.pk for r in got])
        return got

    outbox.claim = recording
    try:
        runners = [threading.Thread(target=run) for _ in range(4)]
        for t in runners:
            t.start()
        for t in runners:
            t.join(timeout=60)
    finally:
        outbox.claim = original
    everything = [pk for batch in claimed for pk in batch]
    assert len(everything) == len(set(everything)) == len(rows), "a row was claimed twice"
    assert Counter(receiver.keys) == Counter(n.idempotency_key for n in rows)
    assert sent() == len(rows)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_rows_another_run_is_claiming_instead_of_waiting(postgres, owner, receiver):
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    queue(channel, 10)
    holding, release = threading.Event(), threading.Event()
    theirs: list[int] = []

    def other_run() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():  # its claim is not committed yet: the rows stay locked
                theirs.extend(r.pk for r in outbox.claim(at=timezone.now(), limit=4))
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=other_run)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        ours = [r.pk for r in outbox.claim(at=timezone.now(), limit=10)]
        assert time.monotonic() - started < 2, "the claim waited for the other run's locks"
    finally:
        release.set()
        thread.join(10)
    assert len(theirs) == 4
    assert len(ours) == 6 and not set(ours) & set(theirs)


@pytest.mark.django_db
def test_a_run_out_of_budget_says_more_is_due_and_releases_nothing_twice(owner, receiver):
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    queue(channel, 3)
    result = outbox.drain(budget=0)
    assert (result.sent, result.more) == (0, True)
    assert set(Notification.unscoped.values_list("state", "attempts")) == {("pending", 0)}
    assert outbox.drain().sent == 3


@pytest.mark.django_db
def test_the_guard_checks_the_address_each_connection_goes_to_not_only_the_saved_one(
    owner, receiver, settings, monkeypatch
):
    """DNS rebinding: the host resolved to a public address when the channel was saved, and
    to loopback when the notification is sent. Nothing may reach the internal address."""
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.server.server_port
    answers = {"hooks.example.com": "93.184.216.34"}
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in answers:
            return real(answers[host], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    channel = alerts.create_channel(
        org=owner.org, kind="webhook", name="Ops", url=f"http://hooks.example.com:{port}/hook"
    )
    queue(channel, 2)
    answers["hooks.example.com"] = "127.0.0.1"  # rebound after the check at save time
    assert outbox.dispatch_outbox() == 0
    assert receiver.keys == [] and receiver.connections == 0
    tried = Notification.unscoped.get(attempts=1)
    assert "private address (127.0.0.1)" in tried.last_error
    assert tried.state == NotificationState.PENDING


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_with_a_worker_and_no_beat_the_whole_outbox_is_delivered(
    fresh_broker_pool, celery_worker, owner, receiver, settings
):
    """Runs that stop at their budget queue the next one at once: nobody but the first
    trigger (the sweep's commit) asks for delivery, yet every notification goes out."""
    settings.OUTBOX_RUN_SECONDS = 1
    receiver.delay = 0.05  # 40 notifications (one batch) take ~2 s: more than one run's budget
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    rows = queue(channel, 40)
    tasks.dispatch_outbox.delay()
    wait_for(lambda: sent() == len(rows), timeout=30)
    assert Counter(receiver.keys) == Counter(n.idempotency_key for n in rows)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_notification_queued_on_an_idle_system_is_delivered_within_seconds(
    fresh_broker_pool, celery_worker, owner, receiver
):
    channel = alerts.create_channel(org=owner.org, kind="webhook", name="Ops", url=receiver.url)
    started = time.monotonic()
    notification = alerts.send_test_notification(channel=channel)  # dispatched after commit
    wait_for(lambda: receiver.keys, timeout=10, interval=0.01)
    assert time.monotonic() - started < 3
    assert receiver.keys == [notification.idempotency_key]
    wait_for(lambda: sent() == 1)
    assert Notification.unscoped.get().sent_at - notification.created_at < timedelta(seconds=3)
