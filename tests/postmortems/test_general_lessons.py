"""Lessons about how we work come back for every engagement, and the panels say which."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from engagements.postmortems import services
from tests.factories import VendorFactory
from tests.postmortems.conftest import published_lesson
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db


def test_a_new_vendors_panel_shows_the_general_lessons_and_says_why(owner):
    published_lesson(owner.org, owner.user, text="Keep a weekly call.", category="neglected")
    published_lesson(owner.org, owner.user, text="Ask for a design trial.", category="wrong_vendor")
    newcomer = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="legal")
    client = owner.client()
    panel = client.get(
        reverse("engagements:vendor_lessons", args=[newcomer.pk]),
        headers={"HX-Request": "true", "HX-Target": "vendor-lessons"},
    ).text
    assert "Keep a weekly call." in panel and "every engagement" in panel
    assert "Ask for a design trial." not in panel
    assert "No lessons from past engagements apply" not in panel
    assert "apply to every engagement" in panel  # the rule, in words
    setup = client.get(reverse("engagements:setup_lessons"), {"vendor": newcomer.pk}).text
    assert "Keep a weekly call." in setup and escape(services.APPLIES_RULE) in setup
