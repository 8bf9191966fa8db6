"""Tenant data is scoped to the current organization by one mechanism, not per view."""

import pytest
from django.apps import apps

from accounts.tenancy import TenantManager, TenantModel, tenant_scope
from tests.factories import VendorFactory
from vendors.models import Vendor

pytestmark = pytest.mark.django_db


def test_inside_a_scope_only_that_organizations_rows_exist(org, other_org):
    mine = VendorFactory(org=org, name="Mine")
    VendorFactory(org=other_org, name="Theirs")

    with tenant_scope(org):
        assert list(Vendor.objects.all()) == [mine]
        assert Vendor.objects.filter(pk__gt=0).count() == 1


def test_a_scope_of_nobody_sees_nothing(org):
    VendorFactory(org=org)
    with tenant_scope(None):
        assert not Vendor.objects.exists()


def test_system_code_outside_a_request_sees_every_organization(org, other_org):
    VendorFactory(org=org)
    VendorFactory(org=other_org)
    assert Vendor.objects.count() == 2
    assert Vendor.unscoped.count() == 2


def test_the_scope_is_left_when_the_block_ends_even_on_error(org, other_org):
    VendorFactory(org=org)
    VendorFactory(org=other_org)
    with pytest.raises(RuntimeError), tenant_scope(org):
        raise RuntimeError("boom")
    assert Vendor.objects.count() == 2


def test_every_tenant_model_uses_the_scoped_manager_by_default():
    """A new model that forgets the scoped manager would leak across organizations."""
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    assert tenant_models, "no tenant models found"
    for model in tenant_models:
        assert isinstance(model._default_manager, TenantManager), model
