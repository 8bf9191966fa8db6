"""Code activity in the watcher's judgement: silent work stalls early with its evidence named,
busy-but-not-delivering is told apart from silent, and a forge delivery marks the engagement
so the steady sweep (not only the daily reconciliation) sees it."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engagements.delivery import services as delivery
from engagements.delivery.models import ActivityKind, DeliverableStatus
from engagements.watch import facts as facts_module
from engagements.watch import rules
from engagements.watch import services as watch
from engagements.watch.models import EngagementHealth
from tests.forges.conftest import payload, send_github

pytestmark = pytest.mark.django_db


def facts_at(engagement, at):
    return facts_module.collect(at=at, engagement_ids=[engagement.pk])[engagement.pk]


def signal(kind, f, at):
    return next((s for s in rules.signals(f, at) if s.kind == kind), None)


def work(engagement, at, *, kind=ActivityKind.COMMITS, deliverable=None, origin=None):
    with time_machine.travel(at, tick=False):
        delivery.record_activity(
            engagement=engagement,
            activities=[
                delivery.Activity(
                    origin=origin or f"test:{at.isoformat()}:{kind}",
                    kind=kind,
                    occurred_at=at,
                    source="github",
                    deliverable_id=deliverable.pk if deliverable else None,
                    ref="reports/q3",
                )
            ],
        )


def test_work_in_progress_with_no_commit_on_its_branch_stalls_before_its_due_date(
    engagement, report
):
    """Due 15 Nov; the rule `reports/*` was set on 2 Sep and nothing came since."""
    at = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
    s = signal("stalled_deliverable", facts_at(engagement, at), at)
    assert s is not None and s.severity == 1
    assert "no commit or merge request on `reports/*` for 12 days" in s.evidence
    assert "Q3 report" in s.evidence
    assert at.date() < report.due_date  # earlier than the past-due rule could


def test_a_commit_on_the_branch_restarts_the_silence(engagement, report):
    work(engagement, datetime(2026, 9, 12, 10, 0, tzinfo=UTC), deliverable=report)
    at = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
    assert signal("stalled_deliverable", facts_at(engagement, at), at) is None
    later = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)  # 23 days after: twice the threshold
    s = signal("stalled_deliverable", facts_at(engagement, later), later)
    assert s.severity == 2 and "for 23 days" in s.evidence


def test_activity_not_on_the_deliverable_does_not_count_for_it(engagement, report):
    work(engagement, datetime(2026, 9, 12, 10, 0, tzinfo=UTC))  # engagement-wide only
    at = datetime(2026, 9, 14, 12, 0, tzinfo=UTC)
    assert signal("stalled_deliverable", facts_at(engagement, at), at) is not None


def test_a_deliverable_without_a_rule_is_never_called_silent(engagement, manager):
    milestone = delivery.add_milestone(
        engagement=engagement, title="M", due_date=datetime(2026, 12, 1).date()
    )
    d = delivery.add_deliverable(
        engagement=engagement,
        milestone=milestone,
        by=manager.user,
        title="Untracked",
        due_date=datetime(2026, 11, 1).date(),
        acceptance_criteria="x",
    )
    delivery.transition_deliverable(
        deliverable=d, to=DeliverableStatus.IN_PROGRESS, by=manager.user
    )
    at = datetime(2026, 10, 1, tzinfo=UTC)
    assert signal("stalled_deliverable", facts_at(engagement, at), at) is None


def test_busy_but_not_delivering_is_told_apart_from_silent(engagement, report):
    at = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)  # 34 days since the start, nothing accepted
    silent = signal("no_results", facts_at(engagement, at), at)
    assert "silent: no commit, merge request or issue at all so far" in silent.evidence
    for day, kind in (
        (20, ActivityKind.OPENED),
        (25, ActivityKind.COMMITS),
        (28, ActivityKind.MERGED),
    ):
        work(engagement, datetime(2026, 9, day, 10, 0, tzinfo=UTC), kind=kind)
    busy = signal("no_results", facts_at(engagement, at), at)
    assert (
        "busy but not delivering: 3 traces of work in 30 days (1 opened, 1 merged" in busy.evidence
    )
    assert busy.severity < silent.severity  # silence is the worse sign


def test_activity_after_a_rejection_is_named(engagement, report, manager):
    delivery.transition_deliverable(
        deliverable=report, to=DeliverableStatus.SUBMITTED, by=manager.user
    )
    for _ in range(2):
        report.refresh_from_db()
        delivery.transition_deliverable(
            deliverable=report, to=DeliverableStatus.REJECTED, by=manager.user, note="no"
        )
        report.refresh_from_db()
        if report.times_rejected < 2:
            delivery.transition_deliverable(
                deliverable=report, to=DeliverableStatus.SUBMITTED, by=manager.user
            )
    now = datetime.now(UTC)
    work(engagement, now + timedelta(minutes=1), deliverable=report)
    f = facts_at(engagement, now + timedelta(hours=1))
    assert f.reworked_after_rejection == 1
    s = signal("stalled_deliverable", f, now + timedelta(hours=1))
    assert "work pushed since the rejection on 1 rejected deliverable" in s.evidence


def test_a_forge_push_reaches_the_health_through_the_steady_sweep(github, mapped, report):
    """Silent on 6 Oct; the push arrives; the steady sweep (marks), not the daily pass, clears
    the stall of the report."""
    at = datetime(2026, 10, 6, 9, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        watch.sweep(at=at, engagement_ids=[mapped.pk])
        health = EngagementHealth.objects.get(engagement=mapped)
        assert "stalled_deliverable" in {s["kind"] for s in health.signals}
        assert send_github(github, "push", payload("github_push")).status_code == 200
        assert watch.sweep_marked(at=at).claimed == 1
    health.refresh_from_db()
    stalled = [s for s in health.signals if s["kind"] == "stalled_deliverable"]
    assert not stalled  # the push on reports/q3-revenue was 4 days ago: not silent


def test_the_deadline_falls_when_the_silence_crosses_the_threshold(engagement, report):
    at = datetime(2026, 9, 5, 12, 0, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        watch.sweep(at=at, engagement_ids=[engagement.pk])
    health = EngagementHealth.objects.get(engagement=engagement)
    # The rule was set on 2 Sep 09:00: 11 whole days later the report is silent.
    assert health.next_check_at <= datetime(2026, 9, 13, 9, 0, tzinfo=UTC)
