"""Demo data: believable vendors in several states, seeded once however often it runs."""

import pytest

from accounts.demo import seed_accounts
from vendors.demo import seed_vendors
from vendors.models import Evidence, Vendor, VendorStatus

pytestmark = pytest.mark.django_db


def test_demo_vendors_cover_the_lifecycle_and_are_seeded_once():
    accounts = seed_accounts()
    vendors = seed_vendors(accounts)
    counts = (Vendor.objects.count(), Evidence.objects.count())
    seed_vendors(accounts)
    assert (Vendor.objects.count(), Evidence.objects.count()) == counts
    demo = Vendor.objects.for_org(accounts.org)
    engageable = demo.engageable()
    assert {"web development", "design"} <= {s for v in engageable for s in v.specialty_list}
    assert demo.filter(status=VendorStatus.PROSPECT).exists()
    assert vendors["Atlantic Devs"].org == accounts.other_org
