"""``manage.py seed_demo``: demo data for a local run; idempotent."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from accounts.tenancy import all_organizations
from engagements.capture.demo import seed_mail
from engagements.demo import seed_engagements
from engagements.forges.demo import seed_forges
from engagements.watch import services as watch
from engagements.watch.tasks import reevaluations_collected
from vendors.demo import seed_vendors

HISTORY_DAYS = 30  # the dashboard's trend


class Command(BaseCommand):
    help = "Load demo data: organization 'demo' with three log-ins, and a second organization. Idempotent."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="Run even with DEBUG off (never on real data)."
        )

    @all_organizations()
    def handle(self, *args, force: bool = False, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo adds demo log-ins with a known password; it refuses to run with DEBUG off. Use --force if you mean it."
            )
        accounts = seed_accounts()
        seed_vendors(accounts)
        # Each row written asks for a re-evaluation; the sweeps below answer them all.
        with reevaluations_collected():
            made = seed_engagements(accounts)  # with the approved/active demo vendors
            mail = seed_mail(accounts)  # captured threads and a triage inbox
            hooks = seed_forges(accounts)  # GitHub, GitLab and Jira activity; a silent branch
        self.stdout.write(
            f"Demo engagements: {len(made)} created; {mail} captured e-mails; "
            f"{hooks} forge deliveries."
        )
        now = timezone.now()
        if made:
            # A month of history, swept day by day through the same code as beat's sweep
            # (facts as of each day): the trend is real, alerts open and escalate when they
            # would have. Only for engagements made now: re-seeding never rewrites the past.
            for days in range(HISTORY_DAYS, 0, -1):
                watch.sweep(at=now - timedelta(days=days))
        # The watcher's full sweep, now: beat's first tick is an interval away.
        swept = watch.sweep(at=now)
        self.stdout.write(f"Health: {swept.engagements} active engagements checked.")
        self.stdout.write(self.style.SUCCESS(f"Demo organization '{accounts.org.slug}' is ready."))
        self.stdout.write(
            f"Open {settings.SITE_URL}/ and log in with (password '{DEMO_PASSWORD}'):"
        )
        for email, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {email:<22} {role.label.lower()}")
