"""The vendor portal: a private link to one engagement's brief, and what the vendor does there."""

import datetime as dt
import re

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry, hash_token
from engagements.models import (
    Channel,
    DeliverableStatus,
    Interaction,
    OpenQuestion,
    PortalAccess,
    Side,
    Source,
)
from engagements.portal import services as portal
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    SpendEntryFactory,
    VendorContactFactory,
)

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true", "HX-Target": "portal-access"}


@pytest.fixture
def engagement(org, manager):
    engagement = EngagementFactory(
        org=org,
        owner=manager.user,
        title="Checkout rebuild",
        vision="Customers pay in two clicks.",
        budget="86421.00",
    )
    milestone = MilestoneFactory(engagement=engagement, title="Payments")
    DeliverableFactory(
        milestone=milestone,
        title="Card form",
        acceptance_criteria="Works with 3-D Secure",
        value="13579.00",
    )
    SpendEntryFactory(engagement=engagement, description="INTERNAL invoice 42")
    Interaction.objects.create(
        org=org,
        engagement=engagement,
        channel="call",
        direction="we_to_vendor",
        outcome="held",
        notes="INTERNAL: vendor seems slow",
    )
    return engagement


@pytest.fixture
def contact(engagement):
    return VendorContactFactory(vendor=engagement.vendor, name="Ana Vendor", email="ana@v.example")


@pytest.fixture
def link(engagement, contact, manager):
    _, token = portal.invite_vendor_contact(engagement=engagement, contact=contact, by=manager.user)
    return token


def portal_url(token: str, name: str = "portal_home") -> str:
    return reverse(f"portal:{name}", args=[token])


# --- inviting from the engagement page --------------------------------------------------------
def test_a_manager_invites_a_vendor_contact_and_sees_the_link_once(
    manager, engagement, contact, django_capture_on_commit_callbacks
):
    client = manager.client()
    url = reverse("engagements:portal_access_create", args=[engagement.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"contact": contact.pk}, headers=HTMX)
    assert response.status_code == 200
    assert '<section id="portal-access"' in response.text and "<html" not in response.text
    access = PortalAccess.objects.get()
    shown = response.context["portal_link"]
    token = shown.rsplit("/portal/", 1)[1].strip("/")
    assert access.token_hash != token and len(access.token_hash) == 64
    page = client.get(reverse("engagements:engagement_detail", args=[engagement.pk]))
    assert token not in page.text and "Ana Vendor" in page.text
    from engagements import tasks

    tasks.send_portal_link.apply(kwargs={"portal_access_id": access.pk, "token": token})
    assert mail.outbox[0].to == ["ana@v.example"] and shown in mail.outbox[0].body
    engagement.refresh_from_db()
    assert engagement.brief_shared_at is not None


def test_a_contact_of_another_vendor_cannot_be_invited(manager, engagement, org):
    stranger = VendorContactFactory(vendor__org=org)
    response = manager.client().post(
        reverse("engagements:portal_access_create", args=[engagement.pk]),
        {"contact": stranger.pk},
    )
    assert response.status_code == 422
    assert "Choose a contact of this engagement" in response.text
    assert not PortalAccess.objects.exists()


def test_another_organization_cannot_invite_or_revoke(outsider, engagement, contact, link):
    client = outsider.client()
    access = PortalAccess.objects.get()
    create = reverse("engagements:portal_access_create", args=[engagement.pk])
    assert client.post(create, {"contact": contact.pk}).status_code == 404
    revoke = reverse("engagements:portal_access_revoke", args=[access.pk])
    assert client.post(revoke).status_code == 404
    access.refresh_from_db()
    assert access.revoked_at is None


def test_a_viewer_cannot_invite_or_revoke(viewer, engagement, contact, link):
    client = viewer.client()
    create = reverse("engagements:portal_access_create", args=[engagement.pk])
    assert client.post(create, {"contact": contact.pk}).status_code == 403
    revoke = reverse("engagements:portal_access_revoke", args=[PortalAccess.objects.get().pk])
    assert client.post(revoke).status_code == 403


def test_inviting_and_revoking_only_accept_post(manager, engagement, link):
    client = manager.client()
    create = reverse("engagements:portal_access_create", args=[engagement.pk])
    revoke = reverse("engagements:portal_access_revoke", args=[PortalAccess.objects.get().pk])
    assert client.get(create).status_code == 405
    assert client.get(revoke).status_code == 405


def test_a_revoked_link_stops_working_at_once(manager, link):
    access = PortalAccess.objects.get()
    response = manager.client().post(
        reverse("engagements:portal_access_revoke", args=[access.pk]),
        {"confirm": "yes"},
        headers=HTMX,
    )
    assert response.status_code == 200 and "No active links." in response.text
    assert Client().get(portal_url(link)).status_code == 404


# --- the portal -------------------------------------------------------------------------------
def test_the_portal_shows_the_brief_but_never_money_or_internal_notes(link, engagement):
    response = Client().get(portal_url(link))
    assert response.status_code == 200
    text = response.text
    assert "Customers pay in two clicks." in text and engagement.goal in text
    assert "Card form" in text and "Works with 3-D Secure" in text
    # Money as it could be printed (ids and CSRF tokens can contain short digit runs, not these).
    for secret in (
        "86421",
        "86,421",
        "13579",
        "13,579",
        "INTERNAL",
        "Dashboard",
        "Engagements</a>",
    ):
        assert secret not in text, secret


def test_wrong_expired_and_revoked_links_get_the_same_404(link, engagement, contact, manager):
    wrong = Client().get(portal_url("not-a-real-token"))
    _, expiring = portal.invite_vendor_contact(
        engagement=engagement, contact=contact, by=manager.user
    )
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=365)):
        expired = Client().get(portal_url(expiring))
    portal.revoke_portal_access(access=PortalAccess.objects.get(token_hash=hash_token(link)))
    revoked = Client().get(portal_url(link))
    assert wrong.status_code == expired.status_code == revoked.status_code == 404

    def page(response) -> str:  # the same page, but for the per-response CSRF token
        return re.sub(r'"X-CSRFToken": "[^"]*"', "", response.text)

    assert page(wrong) == page(expired) == page(revoked)


def test_guessing_links_is_rate_limited_per_address(settings, link):
    from django.core.cache import cache

    cache.clear()
    settings.PORTAL_BAD_LINKS_PER_MINUTE = 3
    client = Client()
    codes = [client.get(portal_url(f"guess-{i}")).status_code for i in range(4)]
    assert codes == [404, 404, 404, 429]
    blocked = client.get(portal_url(link))  # even the right link waits: no oracle
    assert blocked.status_code == 429 and blocked["Retry-After"] == "60"
    cache.clear()


def test_a_vendor_check_in_lands_in_the_interaction_log_with_their_comfort(
    link, engagement, manager
):
    response = Client().post(
        portal_url(link, "portal_check_in"),
        {"progress": "Card form done", "blockers": "Waiting for API keys", "comfort": "2"},
    )
    assert response.status_code == 302
    checkin = Interaction.objects.get(channel=Channel.CHECKIN)
    assert checkin.source == Source.PORTAL and checkin.direction == "vendor_to_us"
    assert checkin.comfort == 2 and "Waiting for API keys" in checkin.notes
    page = manager.client().get(reverse("engagements:engagement_detail", args=[engagement.pk]))
    assert "Waiting for API keys" in page.text
    entry = AuditEntry.objects.get_for_object(checkin).get()
    assert entry.via == "portal" and "Ana Vendor" in entry.who


def test_a_check_in_without_a_rating_is_refused_next_to_the_field(link):
    response = Client().post(portal_url(link, "portal_check_in"), {"progress": "ok"})
    assert response.status_code == 422
    assert "Pick a rating" in response.text
    assert not Interaction.objects.filter(channel=Channel.CHECKIN).exists()


def test_a_vendor_question_is_owed_by_us(link):
    Client().post(portal_url(link, "portal_question"), {"question": "Which PSP?"})
    question = OpenQuestion.objects.get()
    assert question.owed_by == Side.US and question.answered_at is None


def test_a_vendor_marks_a_deliverable_submitted_with_a_link(link, engagement, manager):
    deliverable = engagement.deliverables.get()
    response = Client().post(
        portal_url(link, "portal_submit"),
        {"deliverable": deliverable.pk, "note": "Ready", "link": "https://staging.example/card"},
    )
    assert response.status_code == 302
    deliverable.refresh_from_db()
    assert deliverable.status == DeliverableStatus.SUBMITTED
    last = deliverable.transitions.last()
    assert last.by_vendor and "https://staging.example/card" in last.note


def test_a_vendor_cannot_submit_a_deliverable_of_another_engagement(link, org):
    other = DeliverableFactory(milestone=MilestoneFactory(engagement__org=org))
    response = Client().post(portal_url(link, "portal_submit"), {"deliverable": other.pk})
    assert response.status_code == 422
    other.refresh_from_db()
    assert other.status == DeliverableStatus.PLANNED


def test_portal_actions_only_accept_post(link):
    assert Client().get(portal_url(link, "portal_check_in")).status_code == 405
    assert Client().post(portal_url(link)).status_code == 405
