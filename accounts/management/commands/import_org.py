"""``manage.py import_org SLUG FILE.zip [--name NAME]``: recreate an export in an empty organization."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

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
        org, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})
        try:
            counts = import_organization(org=org, data=Path(path).read_bytes())
        except (ImportError_, OSError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Imported into {org.name}: {summary(counts.items()) or 'nothing'}.")
