"""Tenant data is scoped to the current organization by one mechanism, not per view."""

import pytest
from django.apps import apps

from accounts.tenancy import (
    TenantManager,
    TenantModel,
    TenantScopeMissing,
    all_organizations,
    tenant_scope,
)
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


def test_declared_cross_organization_work_sees_every_organization(org, other_org):
    VendorFactory(org=org)
    VendorFactory(org=other_org)
    with all_organizations():
        assert Vendor.objects.count() == 2
    assert Vendor.unscoped.count() == 2


@pytest.mark.no_tenant_scope
@pytest.mark.parametrize(
    "model", [m for m in apps.get_models() if issubclass(m, TenantModel)], ids=lambda m: m.__name__
)
def test_outside_any_scope_every_tenant_model_refuses_to_query(model):
    """A task or form that forgot whose data it reads fails loudly, never sees every row."""
    with pytest.raises(TenantScopeMissing, match="outside a tenant scope"):
        model.objects.all()
    with pytest.raises(TenantScopeMissing):
        model.objects.filter(pk=1).exists()
    assert model.unscoped.filter(pk=-1).count() == 0  # the explicit way still works


@pytest.mark.no_tenant_scope
def test_a_scope_ends_with_its_block_and_refusal_comes_back(org):
    with tenant_scope(org):
        assert not Vendor.objects.exists()
    with pytest.raises(TenantScopeMissing):
        Vendor.objects.exists()


def test_no_form_field_holds_a_tenant_queryset_built_at_import():
    """Querysets are built per request: a class-level one would list every organization's
    rows in a dropdown (or, fail-closed, stop the app from starting)."""
    import importlib
    import pkgutil

    from django import forms

    for app in ("accounts", "vendors", "engagements", "outsourcing"):
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in info.name and ".management" not in info.name:
                importlib.import_module(info.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = [
        form
        for form in subclasses(forms.BaseForm)
        if form.__module__.split(".")[0] in ("accounts", "vendors", "engagements", "outsourcing")
    ]
    assert len(ours) > 20, "the walk found too few forms to mean anything"
    offenders = [
        f"{form.__module__}.{form.__name__}.{name}"
        for form in ours
        for name, field in form.base_fields.items()
        if isinstance(field, forms.ModelChoiceField)
        and field.queryset is not None
        and issubclass(field.queryset.model, TenantModel)
    ]
    assert not offenders, f"set these querysets in __init__, per request: {offenders}"


def test_the_scope_is_left_when_the_block_ends_even_on_error(org, other_org):
    VendorFactory(org=org)
    VendorFactory(org=other_org)
    with pytest.raises(RuntimeError), tenant_scope(org):
        raise RuntimeError("boom")
    assert Vendor.objects.count() == 2  # back in the test's own all-organizations scope


def test_every_tenant_model_uses_the_scoped_manager_by_default():
    """A new model that forgets the scoped manager would leak across organizations."""
    tenant_models = [m for m in apps.get_models() if issubclass(m, TenantModel)]
    assert tenant_models, "no tenant models found"
    for model in tenant_models:
        assert isinstance(model._default_manager, TenantManager), model
