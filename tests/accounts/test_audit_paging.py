"""The audit trail comes in pages, newest first, each page readable on its own."""

import pytest
from django.urls import reverse

from accounts.views import AUDIT_PAGE_SIZE
from tests.factories import VendorFactory

pytestmark = pytest.mark.django_db


def test_a_long_trail_is_paged_newest_first_and_the_older_page_is_reachable(owner, org):
    vendors = VendorFactory.create_batch(AUDIT_PAGE_SIZE + 3, org=org)
    client = owner.client()
    first = client.get(reverse("accounts:audit_list")).text
    assert "Page 1 of 2" in first
    assert f"“{vendors[-1].name}”" in first and f"“{vendors[0].name}”" not in first
    assert 'page=2">Older</a>' in first
    second = client.get(reverse("accounts:audit_list"), {"page": 2}).text
    assert "Page 2 of 2" in second and f"“{vendors[0].name}”" in second
    assert "Newer</a>" in second


def test_a_page_past_the_end_shows_the_last_one(owner, org):
    VendorFactory.create_batch(3, org=org)
    response = owner.client().get(reverse("accounts:audit_list"), {"page": 99})
    assert response.status_code == 200 and "Page 1 of 1" in response.text
