"""Fixtures for mail capture: an engagement with capture on, its vendor's contact, and a
helper that writes real RFC 5322 messages (bytes, as they arrive on the wire)."""

from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from engagements.capture import services as capture
from tests.capture.dovecot import dovecot  # noqa: F401 -- the IMAP tests' fixture
from tests.factories import EngagementFactory, VendorContactFactory, VendorFactory

INBOUND = "in.vendorwatch.test"


@pytest.fixture(autouse=True)
def _inbound_domain(settings):
    settings.MAIL_INBOUND_DOMAIN = INBOUND


@pytest.fixture
def vendor(org):
    return VendorFactory(org=org, name="Studio Nord", website="https://www.studio-nord.test")


@pytest.fixture
def contact(vendor):
    return VendorContactFactory(vendor=vendor, name="Anna Berg", email="anna@studio-nord.test")


@pytest.fixture
def engagement(org, vendor, manager, contact):
    return EngagementFactory(org=org, vendor=vendor, owner=manager.user, title="Onboarding revamp")


@pytest.fixture
def capture_on(engagement):
    return capture.set_capture(engagement=engagement, enabled=True)


@pytest.fixture
def address(capture_on) -> str:
    return capture.capture_address(capture_on.token)


def mail(
    *,
    sender: str,
    to: str | list[str],
    subject: str = "Spec for the onboarding flow",
    body: str = "Could you send the spec by Friday?",
    at: datetime | None = None,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    html: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to if isinstance(to, str) else ", ".join(to)
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id or make_msgid(domain="mail.test")
    if at is not None:
        msg["Date"] = format_datetime(at)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes()


def message_id_of(raw: bytes) -> str:
    for line in raw.split(b"\n"):
        if line.lower().startswith(b"message-id:"):
            return line.split(b":", 1)[1].strip().decode()
    raise AssertionError("no Message-ID")
