"""Derive captured mail again from the kept raw messages (after a change to the rules)."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from accounts.tenancy import all_organizations
from engagements.capture import services as capture
from engagements.capture.models import InboundMessage


class Command(BaseCommand):
    help = "Re-parse and re-route captured messages whose raw bytes are still kept."

    def add_arguments(self, parser):
        parser.add_argument("--org", help="Only this organization (slug).")
        parser.add_argument("--status", help="Only messages with this status (e.g. triage).")
        parser.add_argument("--id", type=int, action="append", help="Only these message ids.")

    @all_organizations()
    def handle(self, *args, org=None, status=None, id=None, **options):
        messages = InboundMessage.unscoped.filter(raw__isnull=False).exclude(
            status=InboundMessage.Status.DUPLICATE
        )
        if org:
            found = Organization.objects.filter(slug=org).first()
            if found is None:
                raise CommandError(f"No organization with slug {org!r}.")
            messages = messages.filter(org=found)
        if status:
            if status not in InboundMessage.Status.values:
                raise CommandError(
                    f"--status must be one of {', '.join(InboundMessage.Status.values)}."
                )
            messages = messages.filter(status=status)
        if id:
            messages = messages.filter(pk__in=id)
        counts: dict[str, int] = {}
        for pk in messages.order_by("sent_at", "pk").values_list("pk", flat=True).iterator():
            message = capture.reprocess(message=InboundMessage.unscoped.get(pk=pk))
            counts[message.status] = counts.get(message.status, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to do"
        self.stdout.write(f"reprocessed: {summary}")
