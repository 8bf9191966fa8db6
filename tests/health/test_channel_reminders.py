"""Reminder cadence per channel, not only per level: the on-call pager hourly, the team chat
daily, the e-mail never, while nobody acknowledges; the escalation policy still decides at
which levels anyone is reminded at all."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from engagements.alerts import services as alerts
from engagements.models import (
    Alert,
    EngagementHealth,
    EscalationPolicy,
    Level,
    Notification,
    NotificationChannel,
)
from engagements.watch import services as watch
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def at(days: int, hours: float = 0) -> datetime:
    return START + timedelta(days=days, hours=hours)


def sweep(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return watch.sweep(at=timezone.now())


def reminders(name: str) -> list[int]:
    return sorted(
        Notification.objects.filter(channel__name=name, sequence__gt=0).values_list(
            "sequence", flat=True
        )
    )


@pytest.fixture
def engagement(owner):
    with time_machine.travel(START, tick=False):
        return EngagementFactory(org=owner.org, owner=owner.user, activated_at=START)


@pytest.fixture
def three_channels(owner):
    """Pager every hour, chat as the policy says (24 h at warning), e-mail never."""
    org = owner.org
    EscalationPolicy.objects.create(
        org=org,
        watch_audience=["engagement_owner"],
        warning_audience=["engagement_owner"],
        cut_losses_audience=["engagement_owner"],
        watch_remind_hours=0,
        warning_remind_hours=24,
        cut_losses_remind_hours=4,
    )
    alerts.create_channel(
        org=org, kind="apprise", name="Pager", apprise_url="json://127.0.0.1:9/p", remind_hours=1
    )
    alerts.create_channel(org=org, kind="apprise", name="Chat", apprise_url="json://127.0.0.1:9/c")
    alerts.create_channel(org=org, kind="email", name="Mail", remind_hours=0)


def test_each_channel_reminds_at_its_own_interval_while_nobody_acknowledges(
    engagement, owner, three_channels
):
    sweep(at(25))  # silent for 25 days: warning
    alert = Alert.objects.get()
    assert alert.level == Level.WARNING
    sweep(at(25, 0.5))
    assert reminders("Pager") == []  # not an hour yet
    sweep(at(25, 1))
    assert reminders("Pager") == [1]
    sweep(at(25, 2))
    sweep(at(25, 3))
    assert reminders("Pager") == [1, 2, 3]
    assert reminders("Chat") == [] and reminders("Mail") == []
    sweep(at(26, 0))  # the chat's day (the policy's cadence at warning)
    assert reminders("Chat") == [1]
    assert reminders("Mail") == []  # 0: never on this channel
    alerts.acknowledge_alert(alert=alert, by=owner.user, note="on it", at=at(26, 0.5))
    sweep(at(26, 5))
    assert reminders("Pager") == [1, 2, 3, 4] and reminders("Chat") == [1]  # acknowledged: quiet


def test_the_watcher_comes_back_when_the_fastest_channel_is_due(engagement, three_channels):
    sweep(at(25))
    health = EngagementHealth.objects.get(engagement=engagement)
    assert health.next_check_at <= at(25, 1)  # the pager's hour, not the chat's day


def test_a_level_the_policy_never_reminds_at_stays_quiet_on_every_channel(
    engagement, three_channels
):
    sweep(at(12))  # watch: the policy reminds at watch every 0 hours, i.e. never
    assert Alert.objects.get().level == Level.WATCH
    for hours in (1, 2, 30):
        sweep(at(12, hours))
    assert reminders("Pager") == []


def test_changing_a_channels_interval_is_audited_and_moves_its_reminders(
    engagement, owner, three_channels
):
    sweep(at(25))
    chat = NotificationChannel.objects.get(name="Chat")
    response = owner.client().post(
        reverse("engagements:channel_update", args=[chat.pk]),
        {"name": "Chat", "remind_hours": "2", "is_active": "on"},
    )
    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.remind_hours == 2
    trail = owner.client().get(reverse("accounts:audit_list")).text
    assert "Remind every (hours)" in trail and "— → 2" in trail
    sweep(at(25, 2))
    assert reminders("Chat") == [1]


def test_an_interval_beyond_a_month_is_refused_next_to_the_field(owner, three_channels):
    chat = NotificationChannel.objects.get(name="Chat")
    response = owner.client().post(
        reverse("engagements:channel_update", args=[chat.pk]),
        {"name": "Chat", "remind_hours": "721", "is_active": "on"},
    )
    assert response.status_code == 422
    field = response.text.split(f'id="ch{chat.pk}_remind_hours"', 1)[1].split("</div>", 1)[0]
    assert "field-error" in field and "720" in field
