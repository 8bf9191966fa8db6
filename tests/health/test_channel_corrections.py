"""Owners correct a notification channel (name, webhook URL, paused) or remove one that
never carried an alert; what went out through a channel keeps it."""

import pytest
from django.urls import reverse

from engagements.alerts import services
from engagements.alerts.models import Notification, NotificationChannel
from engagements.watch.models import Level

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


@pytest.fixture
def channel(owner):
    return services.create_channel(
        org=owner.org, kind="webhook", name="Chat", url="http://127.0.0.1:9/hook"
    )


def url(name: str, pk: int) -> str:
    return reverse(f"engagements:{name}", args=[pk])


def _sent(channel) -> Notification:
    return Notification.objects.create(
        org=channel.org,
        channel=channel,
        level=Level.WARNING,
        idempotency_key=f"alert-{channel.pk}",
    )


def test_an_owner_renames_repoints_and_pauses_a_channel_keeping_its_secret(owner, channel):
    secret = channel.secret
    response = owner.client().post(
        url("channel_update", channel.pk),
        {"name": "Ops chat", "url": "http://127.0.0.1:9/other"},  # is_active unticked: paused
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.url, channel.is_active) == (
        "Ops chat",
        "http://127.0.0.1:9/other",
        False,
    )
    assert channel.secret == secret
    page = owner.client().get(reverse("engagements:notification_settings")).text
    assert "paused" in page


def test_a_webhook_to_a_private_address_is_refused_next_to_the_url(owner, channel, settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    response = owner.client().post(
        url("channel_update", channel.pk),
        {"name": "Chat", "url": "http://10.0.0.5/hook", "is_active": "on"},
    )
    assert response.status_code == 422
    text = response.text
    assert "points at a private address" in text[text.index(f'id="ch{channel.pk}_url_error"') :]
    assert NotificationChannel.objects.get(pk=channel.pk).url == "http://127.0.0.1:9/hook"


def test_htmx_edits_the_channel_in_place(owner, channel):
    client = owner.client()
    editor = client.get(url("channel_update", channel.pk), headers=HX)
    assert editor.text.lstrip().startswith('<div class="card record-edit" id="channel-edit"')
    saved = client.post(
        url("channel_update", channel.pk),
        {"name": "Ops", "url": channel.url, "is_active": "on"},
        headers=HX,
    )
    assert saved["HX-Retarget"] == "#channels"
    assert saved.text.lstrip().startswith('<section class="card" id="channels"')


def test_a_channel_nothing_went_through_is_removed_after_confirming(owner, channel):
    client = owner.client()
    asked = client.post(url("channel_delete", channel.pk))
    assert 'name="confirm" value="yes"' in asked.text
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()
    assert client.post(url("channel_delete", channel.pk), {"confirm": "yes"}).status_code == 302
    assert not NotificationChannel.objects.exists()


def test_a_channel_that_carried_alerts_says_why_it_stays(owner, channel):
    _sent(channel)
    client = owner.client()
    edit = client.get(url("channel_update", channel.pk)).text
    assert "Cannot be removed." in edit and "Pause the channel instead" in edit
    response = client.post(url("channel_delete", channel.pk), {"confirm": "yes"})
    assert response.status_code == 409
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()


def test_managers_and_viewers_cannot_change_channels(manager, viewer, channel):
    for member in (manager, viewer):
        client = member.client()
        assert client.get(url("channel_update", channel.pk)).status_code == 403
        assert client.post(url("channel_delete", channel.pk), {"confirm": "yes"}).status_code == 403
    assert NotificationChannel.objects.filter(pk=channel.pk).exists()


def test_another_organizations_channel_is_a_404(outsider, channel):
    assert outsider.client().get(url("channel_update", channel.pk)).status_code == 404


def test_the_channel_change_is_in_the_audit_trail_in_words(owner, channel):
    owner.client().post(
        url("channel_update", channel.pk),
        {"name": "Ops chat", "url": channel.url, "is_active": "on"},
    )
    trail = owner.client().get(reverse("accounts:audit_list")).text
    assert "Changed notification channel “Ops chat”" in trail
    assert "Chat → Ops chat" in trail
