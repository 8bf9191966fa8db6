"""Demo organizations and log-ins for a local run (``manage.py seed_demo``)."""

from dataclasses import dataclass

from django.db import transaction

from .models import Membership, Organization, Role, User

DEMO_PASSWORD = "vendorwatch"
DEMO_USERS = [
    ("owner@example.com", "Olivia", "Owner", Role.OWNER),
    ("manager@example.com", "Max", "Manager", Role.MANAGER),
    ("viewer@example.com", "Vera", "Viewer", Role.VIEWER),
]


@dataclass
class DemoAccounts:
    org: Organization
    other_org: Organization
    owner: User
    manager: User
    viewer: User
    outsider: User


def _user(email: str, first: str, last: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(
            email=email, password=DEMO_PASSWORD, first_name=first, last_name=last
        )
    return user


@transaction.atomic
def seed_accounts() -> DemoAccounts:
    """Create (or find) the demo organization, its three members and a second organization."""
    org, _ = Organization.objects.get_or_create(
        slug="demo",
        defaults={"name": "Demo Company", "time_zone": "Europe/Berlin", "currency": "EUR"},
    )
    other, _ = Organization.objects.get_or_create(
        slug="other",
        defaults={"name": "Other Company", "time_zone": "America/New_York", "currency": "USD"},
    )
    users = {}
    for email, first, last, role in DEMO_USERS:
        user = _user(email, first, last)
        Membership.objects.get_or_create(user=user, org=org, defaults={"role": role})
        users[role] = user
    outsider = _user("outsider@example.com", "Otto", "Outsider")
    Membership.objects.get_or_create(user=outsider, org=other, defaults={"role": Role.OWNER})
    return DemoAccounts(
        org, other, users[Role.OWNER], users[Role.MANAGER], users[Role.VIEWER], outsider
    )
