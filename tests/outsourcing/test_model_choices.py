"""A select of model choices costs one plain query: Django's own iterator reads it through a
server-side cursor, three round trips on PostgreSQL (DECLARE, FETCH, CLOSE)."""

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tenancy import tenant_scope
from outsourcing.forms import Form
from tests.factories import VendorFactory
from vendors.models import Vendor

pytestmark = pytest.mark.django_db


class PickVendor(Form):
    vendor = forms.ModelChoiceField(queryset=Vendor.unscoped.none())


def test_a_select_of_vendors_is_read_with_one_plain_query(owner):
    VendorFactory(org=owner.org, name="Acme Dev")
    VendorFactory(org=owner.org, name="Globex")
    with tenant_scope(owner.org):
        form = PickVendor()
        form.fields["vendor"].queryset = Vendor.objects.order_by("name")
        with CaptureQueriesContext(connection) as queries:
            html = str(form["vendor"])
    assert html.index("Acme Dev") < html.index("Globex")
    assert len(queries.captured_queries) == 1
    assert not any("DECLARE" in q["sql"] for q in queries.captured_queries)
