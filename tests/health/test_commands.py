"""``manage.py sweep_health`` runs the same sweep synchronously and prints what changed."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from engagements.models import Alert, Level
from tests.factories import EngagementFactory


def test_sweep_health_at_a_moment_prints_the_alerts_it_opened(owner):
    engagement = EngagementFactory(org=owner.org, activated_at=datetime(2026, 11, 1, 9, tzinfo=UTC))
    out = StringIO()
    call_command("sweep_health", "--at", "2026-12-01T09:00", stdout=out)
    assert f"engagement {engagement.pk}: alert opened at warning" in out.getvalue()
    assert "swept 1 engagements at 2026-12-01T09:00:00+00:00" in out.getvalue()
    assert Alert.objects.get().level == Level.WARNING  # cut losses only once the signs persist
    again = StringIO()
    call_command("sweep_health", "--at", "2026-12-01T09:00", stdout=again)
    assert "0 health rows and 0 snapshots written, 0 alert changes" in again.getvalue()


def test_sweep_health_refuses_a_moment_that_is_not_a_date(db):
    with pytest.raises(CommandError, match="not an ISO date-time"):
        call_command("sweep_health", "--at", "next tuesday")
