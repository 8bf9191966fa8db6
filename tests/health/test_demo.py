"""The demo tells the product's story: one healthy engagement, one drifting, one to cut."""

import pytest
from django.core.management import call_command

from engagements.models import EngagementHealth, Level

pytestmark = pytest.mark.django_db


def test_seed_demo_then_a_sweep_gives_healthy_drifting_and_cut_losses(capsys):
    call_command("seed_demo", "--force")  # tests run with DEBUG off
    call_command("sweep_health")
    levels = {
        h.engagement.title: h.level
        for h in EngagementHealth.objects.filter(org__slug="demo").select_related("engagement")
    }
    assert levels["Self-service onboarding"] == Level.HEALTHY
    assert levels["Mobile app redesign"] in (Level.WATCH, Level.WARNING)
    assert levels["Data warehouse migration"] == Level.CUT_LOSSES
    assert "Brand refresh" not in levels  # completed: no longer watched
    assert "alert opened at cut_losses" in capsys.readouterr().out
