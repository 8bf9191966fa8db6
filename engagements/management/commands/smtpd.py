"""Run the SMTP receiver that captures mail sent to the capture addresses."""

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from engagements.capture import smtp


class Command(BaseCommand):
    help = "Receive mail for MAIL_INBOUND_DOMAIN on SMTPD_HOST:SMTPD_PORT until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=None, help="Default: SMTPD_HOST (127.0.0.1).")
        parser.add_argument("--port", type=int, default=None, help="Default: SMTPD_PORT (2525).")

    def handle(self, *args, host=None, port=None, **options):
        if not settings.MAIL_INBOUND_DOMAIN:
            raise CommandError("Set MAIL_INBOUND_DOMAIN first: capture addresses live there.")
        receiver = smtp.controller(host, port)
        try:
            receiver.start()
        except Exception as exc:
            raise CommandError(
                f"Cannot listen on {receiver.hostname}:{receiver.port}: {exc}"
            ) from exc
        self.stdout.write(
            f"capturing mail for @{settings.MAIL_INBOUND_DOMAIN} on "
            f"{receiver.hostname}:{receiver.port} (Ctrl-C stops)",
        )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            receiver.stop()
