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


def test_the_demo_is_coherent_from_its_first_page_view(capsys, caplog, monkeypatch):
    """Every vendor with engagements was approved first, readiness was answered before each
    start, nothing ended carries an alert, the post-mortem's facts agree with its words, the
    trend has a month of history, and seeding leaves no re-check queued and warns of nothing."""
    from datetime import timedelta

    from engagements.delivery.models import Deliverable, Engagement, EngagementStatus
    from engagements.postmortems.models import PostMortem
    from engagements.watch import tasks as watch_tasks
    from engagements.watch.models import WatchMark
    from vendors.models import Vendor, VendorStatus, VendorStatusChange

    queued = []
    monkeypatch.setattr(
        watch_tasks.reevaluate_engagement, "apply_async", lambda **kw: queued.append(kw)
    )
    with caplog.at_level("WARNING"):
        call_command("seed_demo", "--force")
    _out, err = capsys.readouterr()
    assert err == "" and not [r for r in caplog.records if r.levelname != "INFO"]
    assert queued == [], "seeding left re-checks for the worker"
    assert not WatchMark.objects.exists(), "seeding left engagements marked for the worker"

    demo = Engagement.objects.filter(org__slug="demo")
    for vendor in Vendor.objects.filter(engagements__in=demo).distinct():
        approval = VendorStatusChange.objects.get(vendor=vendor, to_status=VendorStatus.APPROVED)
        first_start = min(e.activated_at for e in demo.filter(vendor=vendor))
        assert approval.at < first_start, vendor.name
    assert (
        not Vendor.objects.filter(status=VendorStatus.ACTIVE)
        .exclude(status_changes__to_status=VendorStatus.APPROVED)
        .exists()
    )
    for engagement in demo:
        assert engagement.readiness.answered_at < engagement.activated_at, engagement.title
    assert not Alert.objects.unresolved().exclude(engagement__status=EngagementStatus.ACTIVE)

    pm = PostMortem.objects.get(engagement__title="Brand refresh")
    assert (
        pm.facts["days_over_schedule"] == 0 and pm.facts["ended_on"] == pm.facts["target_end_date"]
    )
    assert "five days late" in pm.failures.get().text
    templates = Deliverable.objects.get(engagement=pm.engagement, title="Templates")
    assert (templates.submitted_at.date() - templates.due_date) == timedelta(days=5)

    for engagement in demo.filter(status=EngagementStatus.ACTIVE):
        snapshots = engagement.health_snapshots.order_by("date")
        assert snapshots.count() == 31, engagement.title
    drifting = demo.get(title="Mobile app redesign").health_snapshots.order_by("date")
    assert drifting.first().level == Level.HEALTHY and drifting.last().level != Level.HEALTHY


def test_the_demo_has_a_failing_engagement_to_decide_next_week_and_a_healthy_renewal(capsys):
    call_command("seed_demo", "--force")
    health = {
        h.engagement.title: {s["kind"]: s for s in h.signals}
        for h in EngagementHealth.objects.filter(org__slug="demo").select_related("engagement")
    }
    failing = health["Data warehouse migration"]["decide_before_renewal"]
    assert "in 7 days" in failing["evidence"] and "48,000 EUR" in failing["evidence"]
    assert "decide_before_renewal" not in health["Self-service onboarding"]
    # The demo has no notification channel: the reminders due show as the digest's lines.
    from django.utils import timezone

    from engagements.alerts import reminders
    from vendors.models import Contract

    outlooks = {
        c.title: o
        for c, o in Contract.objects.filter(org__slug="demo")
        .undecided(timezone.now())
        .with_outlooks(timezone.now())
    }
    assert outlooks["Warehouse retainer"].days_left == 7
    assert reminders.stage(outlooks["Warehouse retainer"]) == 7
    assert (outlooks["Onboarding statement of work"].term_end - timezone.localdate()).days == 25
    assert reminders.stage(outlooks["Onboarding statement of work"]) == 30
