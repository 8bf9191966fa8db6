"""Destructive actions confirm first, with or without script: a post without ``confirm=yes``
answers the question with a page (nothing removed), the page's button posts it confirmed.

Before, the forms carried ``hx-confirm`` but posted plainly (no ``hx-post``), so htmx never
handled them and the question was never asked."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import ApiToken, Membership, TokenScope
from accounts.services import create_api_token
from tests.factories import MembershipFactory, UserFactory, VendorFactory
from vendors.models import VendorContact
from vendors.services import add_contact

pytestmark = pytest.mark.django_db


def test_revoking_a_token_asks_first_then_revokes(manager):
    token, _ = create_api_token(
        org=manager.org, user=manager.user, name="CRM", scope=TokenScope.READ
    )
    client = manager.client()
    url = reverse("accounts:apitoken_revoke", args=[token.pk])
    asked = client.post(url)
    assert "Revoke the token “CRM”?" in asked.text
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
    client.post(url, {"confirm": "yes"})
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_removing_a_member_asks_first_then_removes(owner):
    member = MembershipFactory(org=owner.org, user=UserFactory(email="ann@acme.test"))
    client = owner.client()
    url = reverse("accounts:member_remove", args=[member.pk])
    asked = client.post(url)
    assert "Remove" in asked.text and "ann@acme.test" in asked.text
    assert Membership.objects.filter(pk=member.pk).exists()
    client.post(url, {"confirm": "yes"})
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_removing_a_contact_asks_first_then_removes(manager):
    contact = add_contact(vendor=VendorFactory(org=manager.org), name="Ana")
    client = manager.client()
    url = reverse("vendors:contact_delete", args=[contact.pk])
    assert "Remove Ana from the contacts?" in client.post(url).text
    assert VendorContact.objects.filter(pk=contact.pk).exists()
    client.post(url, {"confirm": "yes"})
    assert not VendorContact.objects.filter(pk=contact.pk).exists()


def test_htmx_without_confirm_shows_the_question_in_the_page(manager):
    contact = add_contact(vendor=VendorFactory(org=manager.org), name="Ana")
    response = manager.client().post(
        reverse("vendors:contact_delete", args=[contact.pk]), headers={"HX-Request": "true"}
    )
    assert response["HX-Retarget"] == "#main"
    assert response.text.lstrip().startswith('<section id="confirm-box"')


def test_no_template_uses_hx_confirm_and_every_destructive_form_asks():
    """One mechanism: data-confirm (app.js), never hx-confirm (fires only for htmx requests)."""
    root = Path(settings.BASE_DIR) / "templates"
    for path in root.rglob("*.html"):
        text = path.read_text()
        assert "hx-confirm" not in text, path
        for form in re.findall(r"<form[^>]*>", text):
            if re.search(r"(_delete|_remove|_revoke)'", form):
                assert "data-confirm=" in form, (path, form)
