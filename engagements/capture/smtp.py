"""The SMTP receiver behind ``manage.py smtpd`` (aiosmtpd): point an MX or a forward at it.

It accepts recipients at ``MAIL_INBOUND_DOMAIN`` only (it is no open relay) and messages up
to ``MAIL_MAX_MB`` (a larger one is answered 552 by aiosmtpd before its bytes are kept).
Each accepted message goes through ``services.receive`` in a worker thread, since the ORM
is synchronous; a message is acknowledged (250) only once it is stored, so a crash before
that makes the sender retry instead of losing it.
"""

import asyncio
import logging

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections

from engagements.capture import services

log = logging.getLogger(__name__)


class CaptureHandler:
    """aiosmtpd handler: RCPT filter and DATA → the capture pipeline."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        domain = address.rpartition("@")[2].lower()
        if not settings.MAIL_INBOUND_DOMAIN or domain != settings.MAIL_INBOUND_DOMAIN:
            return "550 5.1.1 Not a capture address here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            message = await asyncio.to_thread(
                _store, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
        except Exception:
            log.exception("capture failed; the sender will retry")
            return "451 4.3.0 Temporary failure, try again later"
        return f"250 2.0.0 Stored as {message.pk} ({message.status})"


def _store(raw: bytes, mail_from: str, rcpt_tos: list[str]):
    close_old_connections()
    try:
        return services.receive(raw=raw, via="smtp", envelope_from=mail_from, envelope_to=rcpt_tos)
    finally:
        close_old_connections()


def controller(host: str | None = None, port: int | None = None) -> Controller:
    """An SMTP receiver on ``host:port`` (``SMTPD_HOST``/``SMTPD_PORT``); call ``start()``."""
    return Controller(
        CaptureHandler(),
        hostname=host or settings.SMTPD_HOST,
        port=port or settings.SMTPD_PORT,
        data_size_limit=settings.MAIL_MAX_MB * 1024 * 1024,
        decode_data=False,
        ident="Vendorwatch capture",
    )
