"""The warning-sign rules as plain functions of an engagement's facts and a moment."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from engagements.models import Engagement
from engagements.watch import rules as health
from engagements.watch.facts import Facts, metrics
from vendors.terms import Terms, outlook

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEFAULTS = {f.name: f.default for f in Engagement._meta.fields if f.name in Engagement.WATCH_FIELDS}


def facts(**overrides) -> Facts:
    values = {
        "engagement_id": 1,
        "org_id": 1,
        "vendor_id": 1,
        "owner_id": 1,
        "title": "Onboarding",
        "budget": Decimal("10000"),
        "start_date": date(2026, 10, 1),
        "target_end_date": date(2027, 1, 31),
        "baseline": AT - timedelta(days=60),
        "settings": dict(DEFAULTS),
        "last_two_way_at": AT - timedelta(days=2),
        "last_accepted_at": AT - timedelta(days=3),
    }
    return Facts(**(values | overrides))


def test_vendor_silent_past_cadence_and_grace_raises_missed_contact():
    signal = health.missed_contact(facts(last_two_way_at=AT - timedelta(days=19)), AT)
    assert signal.kind == "missed_contact"
    assert signal.severity == 2
    assert signal.evidence == "last held contact 19 days ago; cadence 7 + grace 3"


def test_contact_within_cadence_and_grace_is_no_signal():
    assert health.missed_contact(facts(last_two_way_at=AT - timedelta(days=10)), AT) is None


def test_vendor_no_shows_and_our_unanswered_messages_count_as_missed_contact():
    signal = health.missed_contact(
        facts(
            last_two_way_at=AT - timedelta(days=4),
            vendor_no_shows=2,
            unanswered_ours=1,
            oldest_unanswered_ours=AT - timedelta(days=3),
            newest_unanswered_ours=AT - timedelta(days=3),
        ),
        AT,
    )
    assert signal.severity == 2
    assert "2 vendor no-shows in the last 30 days" in signal.evidence
    assert (
        "1 message of ours unanswered, the oldest for 3 days; response window 48 h"
        in signal.evidence
    )


def test_messages_unanswered_before_a_later_held_contact_no_longer_count():
    f = facts(
        last_two_way_at=AT - timedelta(days=1),
        unanswered_ours=2,
        oldest_unanswered_ours=AT - timedelta(days=5),
        newest_unanswered_ours=AT - timedelta(days=4),
    )
    assert health.missed_contact(f, AT) is None


def test_nothing_accepted_past_the_stall_threshold_raises_no_results():
    signal = health.no_results(facts(last_accepted_at=AT - timedelta(days=30)), AT)
    assert signal.severity == 1
    assert signal.evidence == "nothing accepted for 30 days; stall threshold 21 days"


def test_milestone_past_due_with_work_not_accepted_raises_no_results():
    signal = health.no_results(
        facts(late_milestones=1, oldest_late_milestone_due=AT.date() - timedelta(days=12)), AT
    )
    assert signal.severity == 2
    assert "1 milestone past due with work not accepted; the oldest 12 days late" in signal.evidence


# Submitted work waiting for our review used to be part of "stalled deliverable" (flagged
# as our fault); it now counts where the rest of our neglect counts, in "our side slipping",
# so that it can grow with age and raise the level on its own.
def test_submitted_work_we_did_not_review_is_our_side_slipping_not_a_vendor_stall():
    f = facts(
        submitted_waiting=2,
        oldest_submitted_at=datetime(2026, 11, 23, 10, tzinfo=UTC),
        newest_submitted_at=datetime(2026, 11, 25, 10, tzinfo=UTC),
    )
    assert health.stalled_deliverable(f, AT) is None
    signal = health.our_side_slipping(f, AT)
    assert signal.our_fault is True
    assert "2 submitted deliverables waiting for our review, the oldest for 7 days" in (
        signal.evidence
    )
    assert signal.clears == "accept or reject the 2 deliverables submitted on 23 and 25 Nov"


def test_deliverable_rejected_twice_and_in_progress_past_due_stalls_on_the_vendor():
    signal = health.stalled_deliverable(
        facts(
            rejected_twice_open=1,
            in_progress_overdue=1,
            oldest_in_progress_due=AT.date() - timedelta(days=4),
        ),
        AT,
    )
    assert signal.severity == 2
    assert signal.our_fault is False
    assert "1 deliverable rejected 2 or more times" in signal.evidence


def test_low_recent_comfort_raises_uncomfortable_collaboration():
    signal = health.uncomfortable_collaboration(facts(comfort_last=[2, 3, 2, 2, 3]), AT)
    assert signal.severity == 2
    assert signal.evidence == "average comfort of the last 5 ratings 2.4 of 5"


def test_falling_comfort_raises_uncomfortable_collaboration_before_it_is_low():
    signal = health.uncomfortable_collaboration(
        facts(comfort_last=[3, 3, 3], comfort_before=[5, 4, 5, 4]), AT
    )
    assert signal.severity == 1
    assert "(was 4.5 before)" in signal.evidence


def test_comfortable_collaboration_is_no_signal():
    assert health.uncomfortable_collaboration(facts(comfort_last=[4, 4, 5]), AT) is None


def test_deliverables_without_criteria_and_piling_scope_changes_blur_the_lines():
    signal = health.blurry_lines(
        facts(without_criteria=1, scope_changes=[AT - timedelta(days=d) for d in (1, 5, 9)]), AT
    )
    assert signal.severity == 2
    assert "1 deliverable without acceptance criteria" in signal.evidence
    assert "3 scope changes in 30 days; limit 3" in signal.evidence


def test_old_scope_changes_outside_the_window_do_not_count():
    old = [AT - timedelta(days=d) for d in (40, 50, 60)]
    assert health.blurry_lines(facts(scope_changes=old), AT) is None


def test_spend_far_ahead_of_accepted_value_due_by_now_is_severe_burn_without_delivery():
    # Burn now also needs value that was due by now and is not accepted (due_value).
    signal = health.burn_without_delivery(
        facts(
            spent=Decimal("8500"),
            planned_value=Decimal("10000"),
            accepted_value=Decimal("1000"),
            due_value=Decimal("8000"),
            due_open=3,
            due_open_value=Decimal("7000"),
        ),
        AT,
    )
    assert signal.severity == 3
    assert signal.evidence == (
        "85% of the budget spent, 10% of the planned value accepted while 80% was due by now"
    )
    assert signal.clears == (
        "get the 3 deliverables due by now accepted (worth 7,000), "
        "or hold further payments until they are"
    )


def test_a_front_loaded_payment_with_nothing_due_yet_is_no_burn():
    f = facts(spent=Decimal("6000"), planned_value=Decimal("10000"), due_value=Decimal("0"))
    assert health.burn_without_delivery(f, AT) is None


def test_burn_counts_only_as_far_as_due_value_is_not_accepted():
    # 60% paid, 20% due and not accepted: the vendor is behind by 20%, not by 60%.
    f = facts(spent=Decimal("6000"), planned_value=Decimal("10000"), due_value=Decimal("2000"))
    assert health.burn_without_delivery(f, AT) is None
    f.due_value = Decimal("5000")
    assert health.burn_without_delivery(f, AT).severity == 2


def test_a_single_severe_burn_needs_the_same_persistence_as_two_signs():
    burn = health.Signal("burn_without_delivery", 3, "…")
    assert health.assess([burn], {}, AT) == (64, "warning")
    fresh = {"burn_without_delivery": AT - timedelta(days=2)}
    assert health.assess([burn], fresh, AT)[1] == "warning"
    old = {"burn_without_delivery": AT - timedelta(days=8)}
    assert health.assess([burn], old, AT)[1] == "cut_losses"


def test_an_exit_criterion_cuts_losses_at_once_and_says_why():
    criterion = {
        "label": "Silent vendor",
        "combinator": "all",
        "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    }
    signal = health.exit_criteria_met(
        facts(last_two_way_at=AT - timedelta(days=25), exit_criteria=[criterion]), AT
    )
    assert "cut your losses now, no waiting for persistence" in signal.evidence
    assert health.assess([signal], {}, AT)[1] == "cut_losses"


def test_two_clear_signs_at_a_watch_score_warn_before_they_cut():
    found = [health.Signal("blurry_lines", 2, "…"), health.Signal("no_results", 2, "…")]
    assert health.assess(found, {}, AT) == (70, "watch")
    week = {s.kind: AT - timedelta(days=8) for s in found}
    assert health.assess(found, week, AT) == (64, "warning")
    fortnight = {s.kind: AT - timedelta(days=15) for s in found}
    assert health.assess(found, fortnight, AT)[1] == "cut_losses"


def test_our_side_slipping_warns_but_never_counts_towards_cutting_the_vendor_loose():
    found = [
        health.Signal("our_side_slipping", 3, "…", our_fault=True),
        health.Signal("missed_contact", 2, "…"),
    ]
    old = {s.kind: AT - timedelta(days=30) for s in found}
    assert health.assess(found, old, AT) == (44, "warning")


def test_spend_in_step_with_accepted_value_is_no_burn():
    f = facts(spent=Decimal("5000"), planned_value=Decimal("10000"), accepted_value=Decimal("4000"))
    assert health.burn_without_delivery(f, AT) is None


def test_vendor_questions_we_left_unanswered_and_meetings_we_missed_mean_our_side_slips():
    signal = health.our_side_slipping(
        facts(vendor_questions_asked=[AT - timedelta(days=4)], we_no_shows=1), AT
    )
    assert signal.our_fault is True
    assert "1 vendor question unanswered by us, the oldest for 4 days" in signal.evidence
    assert "we missed 1 meeting" in signal.evidence


def test_an_unanswered_question_weighs_more_the_longer_it_waits():
    def severity(days: int) -> int:
        return health.our_side_slipping(
            facts(vendor_questions_asked=[AT - timedelta(days=days)]), AT
        ).severity

    # Response window 48 h: one, two and three weeks past it.
    assert [severity(4), severity(12), severity(20)] == [1, 2, 3]
    levels = [
        health.assess(
            [health.our_side_slipping(facts(vendor_questions_asked=[AT - timedelta(days=d)]), AT)],
            {},
            AT,
        )[1]
        for d in (4, 20)
    ]
    assert levels == ["watch", "warning"]


def test_our_side_slipping_says_which_questions_to_answer():
    asked = [datetime(2026, 11, 3, 10, tzinfo=UTC), datetime(2026, 11, 6, 15, tzinfo=UTC)]
    signal = health.our_side_slipping(facts(vendor_questions_asked=asked), AT)
    assert signal.clears == "answer the 2 questions the vendor asked on 3 and 6 Nov"


def test_every_signal_says_what_would_clear_it():
    criterion = {
        "label": "Silent vendor",
        "combinator": "all",
        "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    }
    f = facts(
        last_two_way_at=AT - timedelta(days=30),
        last_accepted_at=AT - timedelta(days=40),
        in_progress_overdue=1,
        oldest_in_progress_due=AT.date() - timedelta(days=3),
        comfort_last=[1, 2, 1],
        without_criteria=1,
        spent=Decimal("9000"),
        planned_value=Decimal("10000"),
        due_value=Decimal("9000"),
        vendor_questions_asked=[AT - timedelta(days=5)],
        exit_criteria=[criterion],
        vendor_needs_review=True,
        contract_title="MSA",
        contract_outlook=outlook(
            Terms(
                end=AT.date() + timedelta(days=40),
                auto_renews=True,
                renewal_months=12,
                notice_period=30,
            ),
            AT.date(),
        ),
    )
    found = health.signals(f, AT)
    # Asked after the verdict, as the sweep does (it reads the level).
    found.append(health.decide_before_renewal(f, AT, "cut_losses", found))
    assert {s.kind for s in found if s} == set(health.WEIGHTS)
    assert all(s.clears for s in found)


def test_a_met_exit_criterion_raises_cut_losses_on_its_own():
    criterion = {
        "label": "Silent vendor",
        "combinator": "all",
        "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    }
    f = facts(last_two_way_at=AT - timedelta(days=25), exit_criteria=[criterion])
    signal = health.exit_criteria_met(f, AT)
    assert signal.severity == 3
    assert "Silent vendor" in signal.evidence
    score, level = health.assess([signal], {}, AT)
    assert level == "cut_losses"
    assert score <= 30


def test_vendor_review_due_is_a_reminder_without_penalty():
    signal = health.vendor_needs_review(facts(vendor_needs_review=True), AT)
    assert signal.kind == "vendor_needs_review"
    assert health.assess([signal], {}, AT) == (100, "healthy")


def test_two_clear_signs_persisting_a_week_mean_cut_losses_but_not_before():
    found = [
        health.Signal("missed_contact", 2, "…"),
        health.Signal("uncomfortable_collaboration", 2, "…"),
    ]
    fresh = {s.kind: AT - timedelta(days=2) for s in found}
    old = {s.kind: AT - timedelta(days=8) for s in found}
    assert health.assess(found, fresh, AT) == (64, "warning")
    assert health.assess(found, old, AT)[1] == "cut_losses"


def test_a_mild_sign_is_watch_and_no_sign_is_healthy():
    assert health.assess([health.Signal("missed_contact", 1, "…")], {}, AT) == (90, "watch")
    assert health.assess([health.Signal("blurry_lines", 1, "…")], {}, AT) == (95, "healthy")
    assert health.assess([health.Signal("no_results", 2, "…")], {}, AT) == (80, "watch")
    assert health.assess([], {}, AT) == (100, "healthy")


def test_metrics_provide_every_exit_criteria_metric():
    from engagements.delivery.exit_criteria import METRICS

    assert set(metrics(facts(), AT)) == set(METRICS)


def test_a_signal_stored_by_the_sweep_keeps_every_field_and_its_label():
    from dataclasses import fields

    from engagements.watch.rules import Signal

    stored = Signal("missed_contact", 2, "no call for 20 days", our_fault=True).as_dict()
    assert set(stored) == {f.name for f in fields(Signal)} | {"label"}
    assert stored["label"] == "Missed contact" and stored["our_fault"] is True


def _renewing_in(days: int) -> dict:
    """A contract renewing for a year at 4,000 a month whose decide-by date is ``days`` away."""
    terms = Terms(
        start=AT.date() - timedelta(days=300),
        end=AT.date() + timedelta(days=days + 30),
        auto_renews=True,
        renewal_months=12,
        notice_period=30,
        schedule="instalments",
        instalment_amount=Decimal("4000"),
        instalment_months=1,
    )
    return {"contract_title": "MSA", "contract_outlook": outlook(terms, AT.date())}


def test_decide_before_renewal_shows_only_for_a_failing_engagement_within_30_days():
    for days, level, shown in [
        (20, "warning", True),
        (20, "cut_losses", True),
        (20, "watch", False),  # not failing: the reminders tell it, not the watcher
        (31, "cut_losses", False),  # not yet
        (0, "warning", True),  # the last day
    ]:
        found = health.decide_before_renewal(facts(**_renewing_in(days)), AT, level, [])
        assert bool(found) is shown, (days, level)


def test_decide_before_renewal_names_the_date_the_term_and_the_amount():
    signal = health.decide_before_renewal(facts(**_renewing_in(20)), AT, "warning", [])
    assert signal.evidence.startswith("“MSA”: decide by 21 Dec 2026: without notice it renews")
    assert "for 12 months, 48,000 EUR (the decide-by date is in 20 days)" in signal.evidence
    assert signal.severity == 2
    assert health.decide_before_renewal(facts(**_renewing_in(5)), AT, "warning", []).severity == 3
