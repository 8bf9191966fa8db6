"""The demo's code activity tells its story: the drifting engagement's stall is explained by
missing activity, fed by GitHub, GitLab and the generic format through the real pipeline."""

import pytest
from django.core.management import call_command

from engagements.delivery.models import WorkActivity
from engagements.forges.models import ForgeDelivery
from engagements.models import EngagementHealth

pytestmark = pytest.mark.django_db


def test_the_demo_explains_the_drifting_engagements_stall_by_missing_activity(capsys):
    call_command("seed_demo", "--force")
    health = EngagementHealth.objects.get(engagement__title="Mobile app redesign")
    evidence = {s["kind"]: s["evidence"] for s in health.signals}
    assert (
        "no commit or merge request on `components/*` or label “components” for 16 days "
        "(“Component library”, in progress)" in evidence["stalled_deliverable"]
    )
    assert "busy but not delivering" in evidence["no_results"]
    routed = ForgeDelivery.objects.filter(org__slug="demo", status="routed")
    assert set(routed.values_list("forge", flat=True)) == {"github", "gitlab", "generic"}
    assert ForgeDelivery.objects.filter(org__slug="demo", status="triage").count() == 1
    assert not ForgeDelivery.objects.filter(org__slug="demo", status="refused").exists()
    assert WorkActivity.objects.filter(engagement=health.engagement).count() == 15
    call_command("seed_demo", "--force")  # idempotent
    assert WorkActivity.objects.filter(engagement=health.engagement).count() == 15
