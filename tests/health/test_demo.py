"""The demo tells the product's story: one healthy engagement, one drifting, one to cut."""

import pytest
from django.core.management import call_command

from engagements.models import Alert, EngagementHealth, Level, SweepRun

pytestmark = pytest.mark.django_db


def test_seed_demo_leaves_one_healthy_one_drifting_and_one_to_cut_already_swept(capsys):
    call_command("seed_demo", "--force")  # tests run with DEBUG off
    assert "Health: 3 active engagements checked." in capsys.readouterr().out
    levels = {
        h.engagement.title: h.level
        for h in EngagementHealth.objects.filter(org__slug="demo").select_related("engagement")
    }
    assert levels["Self-service onboarding"] == Level.HEALTHY
    assert levels["Mobile app redesign"] in (Level.WATCH, Level.WARNING)
    assert levels["Data warehouse migration"] == Level.CUT_LOSSES
    assert "Brand refresh" not in levels  # completed: no longer watched
    assert Alert.objects.filter(org__slug="demo", level=Level.CUT_LOSSES).count() == 1
    assert SweepRun.objects.filter(finished_at__isnull=False).exists()  # the dashboard says so
    call_command("sweep_health")  # beat's next tick: nothing new
    assert "0 alert changes" in capsys.readouterr().out
