"""Run the health sweep synchronously (tests, demos, operators) and print what changed."""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.tenancy import all_organizations
from engagements.alerts import outbox
from engagements.watch import services as watch


class Command(BaseCommand):
    help = "Evaluate every active engagement's health as of now (or --at) and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--at", help="ISO moment to evaluate at, e.g. 2026-12-01T09:00 (UTC)")
        parser.add_argument("--dispatch", action="store_true", help="Also deliver the outbox.")

    @all_organizations()
    def handle(self, *args, at=None, dispatch=False, **options):
        if at:
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                raise CommandError(
                    f"--at {at!r} is not an ISO date-time (2026-12-01T09:00)."
                ) from None
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment, timezone.UTC)
        else:
            moment = timezone.now()
        result = watch.sweep(at=moment)
        for line in result.changes:
            self.stdout.write(line)
        self.stdout.write(
            f"swept {result.engagements} engagements at {moment.isoformat()}: "
            f"{result.health_written} health rows and {result.snapshots_written} snapshots written, "
            f"{len(result.changes)} alert changes, {result.notifications} notifications queued"
        )
        if dispatch:
            sent = outbox.dispatch_outbox(at=moment)
            self.stdout.write(f"delivered {sent} notifications")
