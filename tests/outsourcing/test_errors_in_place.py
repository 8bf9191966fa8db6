"""A refused form answers where the person is: the first invalid field (or the form's own
errors) carries ``autofocus``, so the page scrolls to it and focuses it, with or without
JavaScript. One mechanism: the base forms' bound fields (outsourcing.forms.FocusFirstError)."""

import re

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from engagements.portal import services as portal
from outsourcing.forms import Form
from tests.factories import EngagementFactory, VendorContactFactory, VendorFactory
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db


def autofocused(html: str) -> list[str]:
    """The tags that ask for the cursor."""
    return re.findall(r"<(?:input|textarea|select|div)\b[^>]*\bautofocus\b[^>]*>", html)


def focused_name(html: str) -> str:
    tags = autofocused(html)
    assert tags, "nothing asks for the cursor"
    name = re.search(r'name="([^"]+)"', tags[0])
    return name.group(1) if name else "(form-wide)"


class One(Form):
    name = forms.CharField()


class Pair(Form):
    a = forms.CharField(required=False)

    def clean(self):
        raise ValidationError("These do not go together.")


def test_an_unbound_or_valid_form_focuses_nothing():
    assert One().error_focus is None
    assert One({"name": "x"}).error_focus is None
    assert "autofocus" not in str(One()["name"])
    refused = One({"name": ""})
    assert refused.error_focus == "name" and "autofocus" in str(refused["name"])


@pytest.fixture
def vendor(manager):
    return VendorFactory(org=manager.org, status=VendorStatus.VETTING)


@pytest.mark.parametrize(
    ("url_name", "data", "field"),
    [
        ("vendors:contact_create", {"name": "", "email": "nope"}, "name"),
        (
            "vendors:contract_create",
            {"title": "", "currency": "EUR", "start_date": "2026-12-31"},
            "title",
        ),
        ("vendors:vendor_decide", {"decision": "approve", "rationale": ""}, "rationale"),
        ("vendors:vendor_review", {"note": ""}, "note"),
    ],
)
def test_a_refused_form_on_the_vendor_page_focuses_its_first_error(
    manager, vendor, url_name, data, field
):
    response = manager.client().post(reverse(url_name, args=[vendor.pk]), data)
    assert response.status_code == 422
    assert focused_name(response.text) == field
    assert len(autofocused(response.text)) == 1  # the page's other forms stay quiet


def test_a_refusal_of_the_service_itself_is_focused_too(manager, vendor):
    response = manager.client().post(
        reverse("vendors:contract_create", args=[vendor.pk]),
        {
            "title": "Backwards",
            "currency": "EUR",
            "start_date": "2026-12-31",
            "end_date": "2026-01-01",
        },
    )
    assert response.status_code == 422 and "cannot end before it starts" in response.text
    assert autofocused(response.text)


def test_a_failed_portal_check_in_focuses_the_field_to_fix(manager):
    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    contact = VendorContactFactory(vendor=engagement.vendor)
    _, token = portal.invite_vendor_contact(engagement=engagement, contact=contact, by=manager.user)
    response = Client().post(reverse("portal:portal_check_in", args=[token]), {"progress": ""})
    assert response.status_code == 422
    assert focused_name(response.text) == "progress"


def test_a_refused_region_swapped_by_htmx_carries_its_focus(manager):
    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    response = manager.client().post(
        reverse("engagements:milestone_create", args=[engagement.pk]),
        {"title": "", "due_date": ""},
        headers={"HX-Request": "true", "HX-Target": "delivery-timeline"},
    )
    assert response.status_code == 200  # htmx swaps only 2xx bodies
    assert focused_name(response.text) == "title"


def test_a_form_wide_refusal_focuses_its_message():
    form = Pair({"a": "x"})
    assert form.error_focus == "__all__"
    box = render_to_string("form_errors.html", {"form": form})
    assert "autofocus" in box and 'tabindex="-1"' in box and "do not go together" in box
