"""Staff can inspect every vendors model in the Django admin, across organizations."""

import pytest
from django.urls import reverse

from tests.factories import ContractFactory, EvidenceFactory, UserFactory, VendorContactFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "vendor",
    "evidence",
    "contract",
    "attachment",
    "vendorsettings",
    "vendorstatuschange",
    "vendorcontact",
]


@pytest.mark.parametrize("model", MODELS)
def test_staff_see_every_organizations_rows_in_the_admin(client, org, other_org, model):
    evidence = EvidenceFactory(vendor__org=other_org, vendor__name="Zebra Works")
    VendorContactFactory(vendor=evidence.vendor, name="Ines Inline")
    ContractFactory(vendor=evidence.vendor)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.get(reverse(f"admin:vendors_{model}_changelist"))
    assert response.status_code == 200
    if model == "vendor":
        assert "Zebra Works" in response.text
        detail = client.get(reverse("admin:vendors_vendor_change", args=[evidence.vendor_id]))
        assert detail.status_code == 200
        assert "Ines Inline" in detail.text  # inlines see the other organization too


def test_a_member_who_is_not_staff_gets_no_cross_organization_scope_from_the_admin(
    client, manager, other_org
):
    EvidenceFactory(vendor__org=other_org, vendor__name="Zebra Works")
    client.force_login(manager.user)
    response = client.get(reverse("admin:vendors_vendor_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
