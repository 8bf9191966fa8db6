"""Read new mail from an IMAP mailbox into mail capture (the IMAP_* settings by default)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from accounts.tenancy import all_organizations
from engagements.capture import imap


class Command(BaseCommand):
    help = "Poll the IMAP mailbox once (idempotent: only what arrived since the last poll)."

    def add_arguments(self, parser):
        parser.add_argument("--org", default=None, help="Organization slug (default IMAP_ORG).")
        parser.add_argument("--host", default=None)
        parser.add_argument("--port", type=int, default=None)
        parser.add_argument("--user", default=None)
        parser.add_argument("--password", default=None)
        parser.add_argument("--folder", default=None)
        parser.add_argument("--no-ssl", action="store_true", help="Plain IMAP (tests only).")

    @all_organizations()
    def handle(self, *args, **o):
        host = o["host"] or settings.IMAP_HOST
        if not host:
            raise CommandError("No IMAP mailbox: set IMAP_HOST (and IMAP_USER, IMAP_PASSWORD).")
        slug = o["org"] or settings.IMAP_ORG
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {slug!r} (IMAP_ORG).")
        try:
            result = imap.poll_mailbox(
                org=org,
                host=host,
                port=o["port"] or settings.IMAP_PORT,
                user=o["user"] or settings.IMAP_USER,
                password=o["password"] or settings.IMAP_PASSWORD,
                folder=o["folder"] or settings.IMAP_FOLDER,
                ssl=settings.IMAP_SSL and not o["no_ssl"],
            )
        except Exception as exc:  # a refused login, a host that does not answer
            raise CommandError(f"IMAP poll failed: {exc}") from exc
        statuses = ", ".join(f"{n} {s}" for s, n in sorted((result.statuses or {}).items()))
        self.stdout.write(f"read {result.read} messages{': ' + statuses if statuses else ''}")
