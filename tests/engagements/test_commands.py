"""``seed_demo`` gives the demo organization four engagements in believable states, and three
more ended ones for the watcher report."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from engagements.models import Deliverable, Engagement, Interaction

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_healthy_drifting_failing_and_completed_engagements_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=None)
    call_command("seed_demo", stdout=None)  # idempotent
    engagements = {e.title: e for e in Engagement.objects.filter(org__slug="demo").with_burn()}
    assert len(engagements) == 7
    # The watcher report's past: two cut loose, one partly delivered, beside the brand refresh.
    ended = {
        title: engagements[title].postmortem.outcome
        for title in ("Payments integration", "Support chatbot", "Partner portal")
    }
    assert ended == {
        "Payments integration": "cut_losses",
        "Support chatbot": "cut_losses",
        "Partner portal": "partly",
    }
    today = timezone.localdate()

    failing = engagements["Data warehouse migration"]
    assert failing.status == "active"
    assert 75 <= failing.spent * 100 / failing.budget <= 85
    assert failing.accepted_value * 100 / failing.budget < 30
    assert Deliverable.objects.filter(engagement=failing, times_rejected__gte=2).exists()
    assert failing.milestones.filter(
        due_date__lt=today, deliverables__status__in=["in_progress", "submitted"]
    ).exists()

    drifting = engagements["Mobile app redesign"]
    comforts = list(
        Interaction.objects.filter(engagement=drifting, comfort__isnull=False)
        .order_by("occurred_at")
        .values_list("comfort", flat=True)
    )
    assert comforts[0] > comforts[-1] <= 2

    healthy = engagements["Self-service onboarding"]
    assert healthy.spent <= healthy.accepted_value
    assert not healthy.deliverables.filter(due_date__lt=today).exclude(status="accepted").exists()

    assert engagements["Brand refresh"].status == "completed"
