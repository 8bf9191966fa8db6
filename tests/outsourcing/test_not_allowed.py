"""Opening a form's address as a page (a reload after sending, a pasted link) gets a page
that says what happened and where to go on, not a blank screen; nothing is sent again."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from engagements.delivery.models import Interaction
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def engagement(manager):
    return EngagementFactory(org=manager.org, owner=manager.user)


def test_a_form_address_opened_as_a_page_explains_and_leads_back(client, manager, engagement):
    client.force_login(manager.user)
    page = reverse("engagements:engagement_detail", args=[engagement.pk])
    form = reverse("engagements:interaction_create", args=[engagement.pk])
    response = client.get(form, headers={"Referer": f"http://testserver{page}"})
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    html = response.content.decode()
    assert "only receives a form" in html and "nothing was sent again" in html
    assert f'href="http://testserver{page}"' in html  # back to the engagement page
    assert not Interaction.objects.filter(engagement=engagement).exists()


def test_without_a_page_of_ours_to_go_back_to_it_offers_the_dashboard(client, manager, engagement):
    client.force_login(manager.user)
    form = reverse("engagements:interaction_create", args=[engagement.pk])
    for referer in (
        {},
        {"Referer": "https://evil.example/phish"},
        {"Referer": f"http://testserver{form}"},
    ):
        html = client.get(form, headers=referer).content.decode()
        assert 'href="/">Back to the dashboard' in html
        assert "evil.example" not in html


def test_a_vendor_on_the_portal_gets_the_portals_page_without_staff_links(engagement, manager):
    from engagements.portal import services as portal
    from tests.factories import VendorContactFactory

    contact = VendorContactFactory(vendor=engagement.vendor, email="ana@v.example")
    _, token = portal.invite_vendor_contact(engagement=engagement, contact=contact, by=manager.user)
    response = Client().get(reverse("portal:portal_check_in", args=[token]))
    assert response.status_code == 405
    html = response.content.decode()
    assert "vendor portal" in html and "only receives a form" in html
    assert "dashboard" not in html.lower()


def test_the_api_still_answers_a_wrong_method_in_json(client, manager):
    client.force_login(manager.user)
    schema = client.get("/api/v1/openapi.json").json()
    post_only = next(path for path, ops in schema["paths"].items() if set(ops) == {"post"})
    response = client.get(re.sub(r"\{[^}]+\}", "1", post_only))
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
