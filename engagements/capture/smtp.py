"""The SMTP receiver behind ``manage.py smtpd`` (aiosmtpd): point an MX or a forward at it.

It accepts recipients at ``MAIL_INBOUND_DOMAIN`` only (it is no open relay) and messages up
to ``MAIL_MAX_MB`` (a larger one is answered 552 by aiosmtpd before its bytes are kept).
Each accepted message is kept durably in the queue (``services.accept_mail``, in a worker
thread since the ORM is synchronous) and acknowledged (250) only once that has committed, so
a crash before that makes the sender retry instead of losing it; the drain task then stores
it through the pipeline in batches (routing, threads, interactions).

Messages that arrive while a queue write is in progress wait and go in together (one INSERT),
up to ``BATCH`` at a time: under load a batch forms by itself, and a lone message waits for
nothing. Each sender still hears 250 only after its batch has committed, 451 (try again
later) if it failed. ``STORERS`` batches are written at once, each from its own queue; a
message's queue is chosen by its recipients, so mail to one capture address (a message and
the reply to it) is queued in order.
"""

import asyncio
import logging
import zlib

from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import close_old_connections

from engagements.capture import services

log = logging.getLogger(__name__)
BATCH = 50  # messages queued in one transaction at most
STORERS = 4  # batches written at once (each its own thread and database connection)


class CaptureHandler:
    """aiosmtpd handler: RCPT filter and DATA → the capture queue, in batches."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue] = []
        self._storers: list[asyncio.Task] = []

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
        incoming = services.Incoming(
            raw=raw,
            via="smtp",
            envelope_from=envelope.mail_from or "",
            envelope_to=list(envelope.rcpt_tos),
        )
        stored = asyncio.get_running_loop().create_future()
        await self._queue(incoming.envelope_to).put((incoming, stored))
        try:
            queued = await stored
        except Exception:
            return "451 4.3.0 Temporary failure, try again later"
        return f"250 2.0.0 Queued as {queued.pk}"

    def _queue(self, recipients: list[str]) -> asyncio.Queue:
        """The queue for these recipients (queues and their storing tasks are made in the
        server's own loop, at the first message)."""
        if not self._queues:
            loop = asyncio.get_running_loop()
            self._queues = [asyncio.Queue() for _ in range(STORERS)]
            self._storers = [loop.create_task(self._store_batches(q)) for q in self._queues]
        key = zlib.crc32("|".join(sorted(a.lower() for a in recipients)).encode())
        return self._queues[key % STORERS]

    async def _store_batches(self, waiting: asyncio.Queue) -> None:
        while True:
            batch = [await waiting.get()]
            while len(batch) < BATCH and not waiting.empty():
                batch.append(waiting.get_nowait())
            try:
                messages = await asyncio.to_thread(_store, [incoming for incoming, _ in batch])
            except Exception as exc:
                log.exception("queueing %d messages failed; the senders will retry", len(batch))
                for _incoming, stored in batch:
                    if not stored.done():
                        stored.set_exception(exc)
                continue
            for (_incoming, stored), queued in zip(batch, messages, strict=True):
                if not stored.done():
                    stored.set_result(queued)


def _store(items: list[services.Incoming]):
    close_old_connections()
    try:
        return services.accept_mail(items=items)
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
