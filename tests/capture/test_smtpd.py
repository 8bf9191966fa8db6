"""A real SMTP client (smtplib) sending to the running receiver (aiosmtpd), end to end."""

import smtplib
import socket
from email.message import EmailMessage

import pytest

from engagements.capture import services as capture
from engagements.capture import smtp
from engagements.capture.models import InboundMessage, QueuedMail
from engagements.delivery.models import Interaction, Source
from tests.capture.conftest import mail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(transactional_db, settings):
    settings.MAIL_MAX_MB = 1
    controller = smtp.controller("127.0.0.1", _free_port())
    controller.start()
    yield controller
    controller.stop()


def test_a_message_sent_over_smtp_to_the_capture_address_becomes_an_interaction(
    receiver, address, manager, engagement
):
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test")
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        refused = client.sendmail(manager.user.email, [address], raw)
    assert refused == {}
    # 250 once the bytes are queued; the drain (a Celery task, called directly here) stores it.
    assert QueuedMail.objects.count() == 1
    capture.drain_mail_queue()
    message = InboundMessage.unscoped.get()
    assert message.via == "smtp" and message.status == "routed"
    assert message.envelope_to == [address]
    assert Interaction.unscoped.filter(engagement=engagement, source=Source.EMAIL).count() == 1


def test_the_receiver_is_no_open_relay(receiver, manager):
    with (
        smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused),
    ):
        client.sendmail(manager.user.email, ["someone@elsewhere.test"], b"Subject: x\r\n\r\nx")
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


def test_an_oversized_message_is_refused_at_the_door(receiver, address, manager):
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = manager.user.email, address, "big"
    msg.set_content("x" * (2 * 1024 * 1024))
    with (
        smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client,
        pytest.raises(smtplib.SMTPException) as refused,
    ):
        client.send_message(msg)
    assert "552" in str(refused.value) or "size" in str(refused.value).lower()


def test_unknown_capture_tokens_are_kept_with_a_reason(receiver, manager, settings):
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        client.sendmail(
            manager.user.email,
            [f"e-deadbeef@{settings.MAIL_INBOUND_DOMAIN}"],
            mail(sender=manager.user.email, to="x@y.test"),
        )
    capture.drain_mail_queue()
    message = InboundMessage.unscoped.get()
    assert message.status == "refused" and "unknown address" in message.reason


def test_messages_from_concurrent_senders_are_stored_together_and_each_acknowledged(
    receiver, address, manager, engagement
):
    import threading

    answers = []

    def sender(i: int) -> None:
        raw = mail(sender=manager.user.email, to="anna@studio-nord.test", subject=f"Status {i}")
        with smtplib.SMTP(receiver.hostname, receiver.port, timeout=30) as client:
            client.ehlo()
            client.mail(manager.user.email)
            client.rcpt(address)
            answers.append(client.data(raw))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(code for code, _text in answers) == [250] * 8
    assert all(b"Queued as" in text for _code, text in answers)
    assert QueuedMail.objects.count() == 8
    capture.drain_mail_queue()
    assert InboundMessage.unscoped.filter(status="routed").count() == 8
    assert Interaction.unscoped.filter(engagement=engagement, source=Source.EMAIL).count() == 8


def test_a_batch_that_fails_is_answered_451_so_the_sender_retries(
    receiver, address, manager, engagement, monkeypatch
):
    def broken(items, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(smtp.services, "accept_mail", broken)
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test")
    with (
        smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPDataError) as refused,
    ):
        client.sendmail(manager.user.email, [address], raw)
    assert refused.value.smtp_code == 451
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()
