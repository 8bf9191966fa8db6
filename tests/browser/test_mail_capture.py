"""The issue's journey: mail a vendor through the capture address, see the interaction appear,
let the reply window pass and see "unanswered", receive the reply, see it answered.

Real parts end to end: Chromium, the live server, the SMTP receiver (aiosmtpd), smtplib, and a
Celery worker draining the queue the receiver answers from.
"""

import smtplib
import socket
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from engagements.capture import smtp
from engagements.capture.models import QueuedMail
from tests.conftest import wait_for
from tests.factories import PASSWORD, EngagementFactory, VendorContactFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(settings):
    settings.MAIL_INBOUND_DOMAIN = "in.vendorwatch.test"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    controller = smtp.controller("127.0.0.1", port)
    controller.start()
    yield controller
    controller.stop()


def send(receiver, *, sender, to, bcc, subject, body, hours_ago, in_reply_to=None) -> str:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(timezone.now() - timedelta(hours=hours_ago))
    msg["Message-ID"] = mid = make_msgid(domain="mail.test")
    if in_reply_to:
        msg["In-Reply-To"] = msg["References"] = in_reply_to
    msg.set_content(body)
    with smtplib.SMTP(receiver.hostname, receiver.port, timeout=10) as client:
        client.send_message(msg, to_addrs=[to, bcc])
    # 250 came once the message was queued; the worker's drain stores it (and empties the queue
    # in the same transaction).
    wait_for(lambda: not QueuedMail.objects.exists())
    return mid


def test_a_mail_to_the_vendor_is_captured_turns_unanswered_and_then_answered(
    transactional_db, fresh_broker_pool, celery_worker, live_server, page: Page, manager, receiver
):
    engagement = EngagementFactory(
        org=manager.org, owner=manager.user, title="Checkout rebuild", response_window_hours=1
    )
    VendorContactFactory(vendor=engagement.vendor, name="Ana Vendor", email="ana@vendor.test")

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    page.get_by_role("link", name="captured mail").click()
    page.get_by_role("button", name="Switch capture on").click()
    address = page.get_by_label("Capture address").input_value()
    assert address.startswith("e-") and address.endswith("@in.vendorwatch.test")

    # Written two hours ago: the one-hour reply window has passed.
    ours = send(
        receiver,
        sender=manager.user.email,
        to="ana@vendor.test",
        bcc=address,
        subject="Card form: go-live date?",
        body="When can the card form go live?",
        hours_ago=2,
    )
    page.reload()
    threads = page.locator("#mail-threads")
    expect(threads).to_contain_text("Card form: go-live date?")
    expect(threads).to_contain_text("unanswered (waiting for the vendor)")
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    expect(page.locator("#interactions")).to_contain_text("When can the card form go live?")

    send(
        receiver,
        sender="ana@vendor.test",
        to=manager.user.email,
        bcc=address,
        subject="Re: Card form: go-live date?",
        body="Thursday.\n\nOn Monday you wrote:\n> When can the card form go live?",
        hours_ago=0,
        in_reply_to=ours,
    )
    page.get_by_role("link", name="captured mail").click()
    expect(threads).to_contain_text("answered after 2 h")
    expect(threads).to_contain_text("Thursday.")
    expect(threads).to_contain_text("awaiting a reply from us")
