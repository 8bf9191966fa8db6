"""The queue at the door: the SMTP receiver and the webhooks keep the raw bytes (one INSERT)
and answer; the drain stores the queue through the pipeline in batches. Nothing is lost when
a drain dies, nothing is stored twice, bad input still gets its reason."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from engagements.capture import services as capture
from engagements.capture import tasks
from engagements.capture.models import InboundMessage, QueuedMail
from engagements.delivery.models import Interaction, Outcome
from tests.capture.conftest import mail
from tests.capture.test_batches import batch_queries
from tests.capture.test_webhooks import SECRET, basic_auth
from tests.conftest import wait_for
from tests.factories import EngagementFactory, VendorContactFactory, VendorFactory

Status = InboundMessage.Status
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def queue(raws: list[bytes], address: str, via: str = "smtp") -> list[QueuedMail]:
    return capture.accept_mail(
        items=[capture.Incoming(raw=raw, via=via, envelope_to=[address]) for raw in raws]
    )


def thread_of(manager, contact_email: str, n: int, tag: str) -> list[bytes]:
    raws, parent = [], None
    for i in range(n):
        ours = i % 2 == 0
        raws.append(
            mail(
                sender=manager.user.email if ours else contact_email,
                to=contact_email if ours else manager.user.email,
                subject=f"Status {tag}",
                body=f"Update {i}: where are we with the wizard?",
                at=NOW - timedelta(hours=n - i),
                message_id=f"<{tag}-{i}@mail.test>",
                in_reply_to=parent,
            )
        )
        parent = f"<{tag}-{i}@mail.test>"
    return raws


@pytest.mark.django_db
def test_queued_mail_is_stored_by_the_drain_in_the_order_it_came_and_leaves_the_queue(
    manager, contact, address
):
    queued = queue(thread_of(manager, contact.email, 2, "q"), address)
    assert not InboundMessage.unscoped.exists()
    result = capture.drain_mail_queue()
    assert (result.stored, result.more, result.busy) == (2, False, False)
    assert not QueuedMail.objects.exists()
    ours, reply = InboundMessage.objects.order_by("sent_at")
    assert ours.status == reply.status == Status.ROUTED
    assert ours.thread_id == reply.thread_id
    assert ours.received_at == queued[0].received_at  # accepted then, not when drained
    assert Interaction.objects.get(pk=ours.interaction_id).outcome == Outcome.ANSWERED
    assert capture.drain_mail_queue().stored == 0  # harmless twice


@pytest.mark.django_db
def test_bad_input_through_the_queue_is_stored_with_its_reason(manager, address, settings):
    good = mail(sender=manager.user.email, to="anna@studio-nord.test")
    looping = mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Loop")
    loop = b"".join(b"Received: from r%d by r%d\r\n" % (i, i + 1) for i in range(30)) + looping
    huge = mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Huge")
    huge += b"A" * (26 * 1024 * 1024)
    queue([b"This is not\x00 an e-mail\r\n\r\n\xff\xfe", loop, huge], address)
    queue([good], f"e-deadbeef@{settings.MAIL_INBOUND_DOMAIN}")
    queue([good, good], address, via="webhook")
    capture.drain_mail_queue()
    rows = list(InboundMessage.unscoped.order_by("pk"))
    assert [m.status for m in rows] == [
        Status.REFUSED,
        Status.REFUSED,
        Status.REFUSED,
        Status.REFUSED,
        Status.ROUTED,
        Status.DUPLICATE,
    ]
    assert all(m.reason for m in rows[:4])
    assert rows[1].reason.startswith("mail loop")
    assert "over the 25 MB limit" in rows[2].reason and rows[2].raw is None
    assert "unknown address" in rows[3].reason
    assert rows[5].duplicate_of_id == rows[4].pk
    assert not QueuedMail.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("n", [4, 40])
def test_a_drained_batch_costs_the_same_queries_for_four_messages_or_forty(
    org, manager, vendor, n, django_assert_num_queries
):
    for i in range(n // 4):
        v = vendor if i == 0 else VendorFactory(org=org, name=f"Vendor {i}")
        VendorContactFactory(vendor=v, email=f"pm@vendor{i}.test")
        e = EngagementFactory(org=org, vendor=v, owner=manager.user)
        cap = capture.set_capture(engagement=e, enabled=True)
        queue(
            thread_of(manager, f"pm@vendor{i}.test", 4, f"v{i}"), capture.capture_address(cap.token)
        )
    capture.org_settings(org)
    # A batch's own queries (test_batches.py; the capture addresses read in one query instead
    # of the mailbox's organization's learned addresses), plus the drain's: its transaction's
    # savepoint, the lock (PostgreSQL), the claim, a savepoint around the pipeline, the
    # queue's DELETE. A batch smaller than DRAIN_BATCH means the queue is empty: no second claim.
    drain = 5 + (1 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(batch_queries() + drain):
        assert capture.drain_mail_queue().stored == n
    assert InboundMessage.objects.filter(status=Status.ROUTED).count() == n


@pytest.mark.django_db
def test_a_drain_whose_database_goes_away_leaves_everything_queued(
    manager, contact, address, monkeypatch
):
    queue(thread_of(manager, contact.email, 4, "lost"), address)

    def gone(self):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(capture.Batch, "flush", gone)
    with pytest.raises(OperationalError):
        capture.drain_mail_queue()
    assert QueuedMail.objects.count() == 4 and not InboundMessage.unscoped.exists()
    monkeypatch.undo()
    assert capture.drain_mail_queue().stored == 4
    assert capture.drain_mail_queue().stored == 0
    assert InboundMessage.objects.filter(status=Status.ROUTED).count() == 4
    assert Interaction.objects.count() == 4


@pytest.mark.django_db
def test_a_message_the_pipeline_fails_on_is_kept_with_a_reason_and_holds_up_no_other(
    manager, contact, address, monkeypatch
):
    good = thread_of(manager, contact.email, 2, "ok")
    poison = mail(sender=manager.user.email, to=contact.email, subject="Poison")
    queue([good[0], poison, good[1]], address)
    real = capture.Batch.process

    def buggy(self, message, *args):
        if message.subject == "Poison":
            raise ZeroDivisionError("a bug")
        return real(self, message, *args)

    monkeypatch.setattr(capture.Batch, "process", buggy)
    assert capture.drain_mail_queue().stored == 3
    assert not QueuedMail.objects.exists()
    assert InboundMessage.objects.filter(status=Status.ROUTED).count() == 2
    kept = InboundMessage.unscoped.get(status=Status.REFUSED)
    assert "ZeroDivisionError" in kept.reason and bytes(kept.raw) == poison


@pytest.mark.django_db(transaction=True)
def test_one_drain_at_a_time_a_second_one_waits_its_turn(manager, contact, address):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's IMMEDIATE transactions serialise drains by themselves")
    from django.db import connections

    queue(thread_of(manager, contact.email, 2, "lock"), address)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:  # another drain holds the lock
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [capture.DRAIN_LOCK])
            result = capture.drain_mail_queue()
            assert result.busy and result.stored == 0
            assert QueuedMail.objects.count() == 2
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert capture.drain_mail_queue().stored == 2


@pytest.mark.django_db
def test_a_burst_queues_one_drain_and_a_drain_that_started_lets_the_next_mail_queue_another(
    manager, address, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(capture.app, "send_task", lambda name, **kw: sent.append(name))
    for i in range(5):
        with django_capture_on_commit_callbacks(execute=True):
            queue(
                [mail(sender=manager.user.email, to="anna@studio-nord.test", subject=f"{i}")],
                address,
            )
    assert sent == [capture.DRAIN_TASK]
    capture.drain_mail_queue()
    with django_capture_on_commit_callbacks(execute=True):
        queue([mail(sender=manager.user.email, to="anna@studio-nord.test")], address)
    assert sent == [capture.DRAIN_TASK] * 2


@pytest.mark.django_db
def test_a_broker_that_is_down_fails_no_webhook_and_beats_drain_stores_the_mail(
    manager, address, monkeypatch, django_capture_on_commit_callbacks, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}

    def down(name, **kw):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(capture.app, "send_task", down)
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            reverse("engagements:inbound_webhook", args=["sendgrid"]),
            {
                "email": raw.decode(),
                "to": address,
                "from": manager.user.email,
                "envelope": json.dumps({"to": [address], "from": manager.user.email}),
            },
            **basic_auth(),
        )
    assert response.status_code == 200
    assert QueuedMail.objects.count() == 1
    monkeypatch.undo()
    assert tasks.drain_mail_queue() == 1  # beat's run of the task
    assert InboundMessage.objects.get().status == Status.ROUTED


@pytest.mark.django_db(transaction=True)
def test_a_webhook_post_is_stored_by_a_real_worker_after_the_200(
    fresh_broker_pool, celery_worker, manager, engagement, address, settings
):
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": SECRET}
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Kick-off")
    response = Client().post(
        reverse("engagements:inbound_webhook", args=["sendgrid"]),
        {
            "email": raw.decode(),
            "to": address,
            "from": manager.user.email,
            "envelope": json.dumps({"to": [address], "from": manager.user.email}),
        },
        **basic_auth(),
    )
    assert response.status_code == 200
    message = wait_for(lambda: InboundMessage.unscoped.filter(status=Status.ROUTED).first())
    assert message.subject == "Kick-off" and message.via == "webhook"
    assert Interaction.unscoped.filter(engagement=engagement).count() == 1
    assert not QueuedMail.objects.exists()
