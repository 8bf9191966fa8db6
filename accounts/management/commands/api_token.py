"""``manage.py api_token ORG_SLUG USER_EMAIL [--write]``: create an API token and print it."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Organization, TokenScope, User
from accounts.services import create_api_token
from accounts.tenancy import all_organizations


class Command(BaseCommand):
    help = "Create an API token for a member of an organization and print it (shown only once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_slug")
        parser.add_argument("user_email")
        parser.add_argument(
            "--write", action="store_true", help="Read and write scope (default: read only)."
        )
        parser.add_argument("--name", default="Command-line token")

    @all_organizations()
    def handle(
        self, *args, org_slug: str, user_email: str, write: bool, name: str, **options
    ) -> None:
        org = Organization.objects.filter(slug=org_slug).first()
        if org is None:
            raise CommandError(f"No organization with slug {org_slug!r}.")
        user = User.objects.filter(email__iexact=user_email).first()
        if user is None:
            raise CommandError(f"No user with e-mail {user_email!r}.")
        try:
            _token, secret = create_api_token(
                org=org, user=user, name=name, scope=TokenScope.WRITE if write else TokenScope.READ
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(secret)
