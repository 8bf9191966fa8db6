"""``manage.py export_org SLUG FILE.zip``: everything of one organization, with attachments."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization
from accounts.portability import export_organization
from accounts.tenancy import all_organizations


class Command(BaseCommand):
    help = "Export one organization's data and attachments to a zip file."

    def add_arguments(self, parser) -> None:
        parser.add_argument("slug")
        parser.add_argument("path")

    @all_organizations()
    def handle(self, *args, slug: str, path: str, **options) -> None:
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {slug!r}.")
        data = export_organization(org)
        Path(path).write_bytes(data)
        self.stdout.write(f"Exported {org.name} to {path} ({len(data):,} bytes).")
