"""A vendor exported to CSV and opened in a spreadsheet: nothing in its text runs as a formula."""

import csv
import io

import pytest
from django.urls import reverse

from tests.factories import VendorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name", ["=cmd|' /C calc'!A0", "\t=1+1", "\r@SUM(A1)", " -2+3", "  +1", "\u00a0=1"]
)
def test_a_vendor_name_that_is_a_formula_is_exported_as_text(manager, name):
    VendorFactory(org=manager.org, name=name, description=' =HYPERLINK("https://evil.example")')
    response = manager.client().get(reverse("vendors:vendor_export"))
    text = b"".join(response.streaming_content).decode()
    header, row = list(csv.reader(io.StringIO(text, newline="")))
    record = dict(zip(header, row, strict=True))
    assert record["name"] == "'" + name
    assert record["description"] == '\' =HYPERLINK("https://evil.example")'
