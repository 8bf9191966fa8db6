"""The triage inbox and an engagement's mail threads, as members see them."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from engagements.capture import services as capture
from engagements.capture.models import AddressRule, EngagementCapture, InboundMessage
from tests.capture.conftest import mail

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def triaged(org, capture_on, manager):
    address = capture.capture_address(capture.org_settings(org).token, prefix="o")
    return capture.receive(
        raw=mail(
            sender="pat@freelancer.test",
            to=manager.user.email,
            subject="Invoice <script>alert(1)</script>",
            body="Please pay <b>now</b>",
        ),
        via="smtp",
        envelope_to=[address],
    )


def test_triage_inbox_lists_waiting_mail_escaped(manager, triaged):
    response = manager.client().get(reverse("engagements:triage_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Invoice &lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body
    assert "no participant is a contact" in body


def test_assigning_from_the_inbox_files_the_mail_and_learns(manager, triaged, engagement):
    response = manager.client().post(
        reverse("engagements:triage_assign", args=[triaged.pk]), {"engagement": engagement.pk}
    )
    assert response.status_code == 302
    triaged.refresh_from_db()
    assert triaged.status == InboundMessage.Status.ROUTED
    assert AddressRule.objects.filter(address="pat@freelancer.test").exists()


def test_a_viewer_may_not_triage(viewer, triaged, engagement):
    response = viewer.client().post(
        reverse("engagements:triage_ignore", args=[triaged.pk]), {"engagement": engagement.pk}
    )
    assert response.status_code == 403


def test_another_organizations_message_is_a_404(outsider, triaged):
    response = outsider.client().post(reverse("engagements:triage_ignore", args=[triaged.pk]))
    assert response.status_code == 404


def test_triage_inbox_refuses_post(manager):
    assert manager.client().post(reverse("engagements:triage_list")).status_code == 405


def test_thread_view_shows_awaiting_then_unanswered_then_answered(manager, engagement, address):
    engagement.response_window_hours = 24
    engagement.save()
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=NOW, body="Spec?")
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        capture.receive(raw=ours, via="smtp", envelope_to=[address])
        page = manager.client().get(reverse("engagements:mail_threads", args=[engagement.pk]))
        assert "awaiting a reply from the vendor" in page.content.decode()
        assert address in page.content.decode()
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        page = manager.client().get(reverse("engagements:mail_threads", args=[engagement.pk]))
        assert "unanswered (waiting for the vendor)" in page.content.decode()


def test_capture_can_be_switched_on_by_a_manager(manager, engagement):
    response = manager.client().post(
        reverse("engagements:capture_toggle", args=[engagement.pk]), {"enabled": "1"}
    )
    assert response.status_code == 302
    assert EngagementCapture.objects.get(engagement=engagement).enabled
