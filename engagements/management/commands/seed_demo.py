"""``manage.py seed_demo``: demo data for a local run; idempotent."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD, DEMO_USERS, seed_accounts
from accounts.tenancy import all_organizations
from engagements.demo import seed_engagements
from engagements.watch import services as watch
from vendors.demo import seed_vendors


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
        made = seed_engagements(accounts)  # with the approved/active demo vendors
        self.stdout.write(f"Demo engagements: {len(made)} created.")
        # The watcher's first full sweep, now: beat's first tick is an interval away.
        swept = watch.sweep(at=timezone.now())
        self.stdout.write(f"Health: {swept.engagements} active engagements checked.")
        self.stdout.write(self.style.SUCCESS(f"Demo organization '{accounts.org.slug}' is ready."))
        self.stdout.write(
            f"Open {settings.SITE_URL}/ and log in with (password '{DEMO_PASSWORD}'):"
        )
        for email, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {email:<22} {role.label.lower()}")
