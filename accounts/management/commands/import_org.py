"""``manage.py import_org SLUG FILE.zip [--name NAME]``: recreate an export in an empty organization.

The archive is a file a customer handed over: it is checked completely before anything is
written, and a refused import leaves nothing behind (not even the organization it created).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import Organization
from accounts.portability import ImportError_, import_organization, summary
from accounts.tenancy import all_organizations


class Command(BaseCommand):
    help = "Import an organization export into an empty (or new) organization with the given slug."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path")
        parser.add_argument("--name", help="Name of the organization when it is created.")

    @all_organizations()
    def handle(self, *args, slug: str, path: str, name: str | None, **options) -> None:
        try:
            with Path(path).open("rb") as source, transaction.atomic():
                org, _ = Organization.objects.get_or_create(
                    slug=slug, defaults={"name": name or slug}
                )
                report = import_organization(org=org, data=source)
        except (ImportError_, OSError) as exc:
            raise CommandError(" ".join(str(exc).split())) from None
        self.stdout.write(
            f"Imported into {org.name}: {summary(report.counts.items()) or 'nothing'}."
        )
        if report.new_secrets:
            self.stdout.write(
                "Signing secrets are never exported; these got a new one, which their "
                "receivers need (an owner sees it on the Notifications page): "
                + ", ".join(report.new_secrets)
                + "."
            )
        if report.missing_secrets:
            self.stdout.write(
                "Credentials issued by other services (an Apprise channel's URL) are never "
                "exported; these are paused until an owner enters them again on the "
                "Notifications page: " + ", ".join(report.missing_secrets) + "."
            )
