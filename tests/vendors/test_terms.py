"""What a contract's terms mean on a given day (``vendors.terms``): decide-by dates, renewals,
the earliest exit and what is still owed, with the calendar's traps."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from vendors.terms import (
    GIVE_NOTICE,
    INSTALMENTS,
    MILESTONES,
    MONTHS,
    RENEW,
    Decision,
    Terms,
    check_terms,
    cost_of_waiting,
    exit_cost,
    local_day,
)


def yearly(**kw) -> Terms:
    """A one-year contract from 1 Feb 2026 renewing for 12 months, 1 month notice, 4,000 a month."""
    values = {
        "start": date(2026, 2, 1),
        "end": date(2027, 2, 1),
        "auto_renews": True,
        "renewal_months": 12,
        "notice_period": 1,
        "notice_unit": MONTHS,
        "schedule": INSTALMENTS,
        "instalment_amount": Decimal("4000"),
        "instalment_months": 1,
    }
    return Terms(**(values | kw))


def test_a_31_january_end_with_one_month_notice_must_be_decided_by_31_december():
    terms = Terms(
        start=date(2026, 2, 1), end=date(2027, 1, 31), notice_period=1, notice_unit=MONTHS
    )
    assert terms.decide_by(date(2026, 12, 1)) == date(2026, 12, 31)


def test_notice_given_on_31_january_with_one_month_ends_on_the_last_day_of_february():
    terms = Terms(
        start=date(2026, 1, 1),
        end=date(2027, 12, 31),
        notice_period=1,
        notice_unit=MONTHS,
        termination_for_convenience=True,
    )
    assert terms.earliest_exit(date(2027, 1, 31)) == date(2027, 2, 28)
    assert terms.earliest_exit(date(2028, 1, 31)) == date(2027, 12, 31)  # never past the end


def test_a_31_march_end_with_one_month_notice_is_decided_by_the_end_of_february():
    terms = Terms(end=date(2028, 3, 31), notice_period=1, notice_unit=MONTHS)
    assert terms.decide_by(date(2028, 1, 1)) == date(2028, 2, 29)  # a leap year


def test_a_monthly_renewal_from_31_january_does_not_drift_to_the_28th():
    terms = Terms(end=date(2027, 1, 31), auto_renews=True, renewal_months=1)
    ends = list(terms.term_ends())[:4]
    assert ends == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]


def test_a_missed_decide_by_date_rolls_the_decision_to_the_next_term():
    terms = yearly()
    assert terms.decide_by(date(2027, 1, 1)) == date(2027, 1, 1)
    assert terms.renews_on(date(2027, 1, 1)) == date(2027, 2, 1)
    # One day late: the contract renews on 1 Feb 2027; the next decision is a year later.
    assert terms.decide_by(date(2027, 1, 2)) == date(2028, 1, 1)
    assert terms.earliest_exit(date(2027, 1, 2)) == date(2028, 2, 1)


def test_a_fixed_term_has_nothing_to_decide_after_its_decide_by_date_and_ends_on_its_end():
    terms = yearly(auto_renews=False)
    assert terms.decide_by(date(2027, 1, 2)) is None
    assert terms.ends_on(date(2027, 1, 2)) == date(2027, 2, 1)


def test_renewing_moves_the_decision_to_the_next_term_and_notice_fixes_the_exit():
    renewed = yearly(decisions=(Decision(RENEW, date(2027, 2, 1), date(2026, 12, 20)),))
    assert renewed.decide_by(date(2026, 12, 20)) == date(2028, 1, 1)
    noticed = yearly(
        decisions=(Decision(GIVE_NOTICE, date(2027, 2, 1), date(2026, 12, 20), date(2027, 2, 1)),)
    )
    assert noticed.decide_by(date(2026, 12, 20)) is None
    # A month later the exit has not moved: notice was given.
    assert noticed.earliest_exit(date(2027, 1, 20)) == date(2027, 2, 1)


def test_still_owed_with_fixed_instalments_is_the_instalments_until_the_exit():
    cost = exit_cost(yearly(), date(2026, 11, 15))
    # No termination for convenience: the term runs to 1 Feb 2027; instalments on 1 Dec, 1 Jan.
    assert cost.exit_on == date(2027, 2, 1)
    assert [p.on for p in cost.payments] == [date(2026, 12, 1), date(2027, 1, 1)]
    assert cost.still_owed == Decimal("8000")
    assert cost.notice_payments == Decimal("4000")  # 1 Jan falls within the month of notice


def test_still_owed_with_termination_for_convenience_adds_the_fee_for_leaving_early():
    terms = yearly(termination_for_convenience=True, termination_fee=Decimal("2500"))
    cost = exit_cost(terms, date(2026, 6, 10))
    assert cost.exit_on == date(2026, 7, 10)
    assert [p.on for p in cost.payments] == [date(2026, 7, 1)]
    assert cost.still_owed == Decimal("6500")


def test_still_owed_with_milestone_payments_is_what_is_unpaid_before_the_exit():
    terms = yearly(schedule=MILESTONES, instalment_amount=None, instalment_months=None)
    milestones = [
        (date(2026, 10, 1), Decimal("10000"), "Beta"),
        (date(2026, 12, 15), Decimal("6000"), "Launch"),
        (date(2027, 3, 1), Decimal("9000"), "Phase 2"),  # after the exit: not owed
        (date(2026, 9, 1), Decimal("0"), "Paid already"),
    ]
    cost = exit_cost(terms, date(2026, 11, 15), milestones=milestones)
    assert [p.label for p in cost.payments] == ["Beta", "Launch"]
    assert cost.still_owed == Decimal("16000")


def test_waiting_a_month_past_the_decide_by_date_costs_a_whole_renewal_term():
    terms = yearly()
    # On 15 Dec notice still stops it on 1 Feb; a month later it has renewed for a year.
    assert cost_of_waiting(terms, date(2026, 12, 15)) == Decimal("48000")
    # In the spring waiting changes nothing: the term runs to 1 Feb anyway.
    assert cost_of_waiting(terms, date(2026, 4, 15)) == Decimal("0")


def test_waiting_a_month_with_termination_for_convenience_costs_a_month_of_instalments():
    terms = yearly(termination_for_convenience=True)
    assert cost_of_waiting(terms, date(2026, 6, 10)) == Decimal("4000")


def test_the_renewal_amount_is_a_renewal_term_of_instalments_or_the_prorated_value():
    assert yearly().renewal_amount() == Decimal("48000")
    by_value = Terms(
        start=date(2026, 1, 1), end=date(2026, 7, 1), renewal_months=12, value=Decimal("30000")
    )
    assert by_value.renewal_amount() == Decimal("60000")


def test_the_organizations_day_decides_which_day_it_is():
    late_evening_utc = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert local_day(late_evening_utc, ZoneInfo("Europe/Berlin")) == date(2027, 1, 1)
    assert local_day(late_evening_utc, ZoneInfo("America/New_York")) == date(2026, 12, 31)


def test_terms_that_contradict_themselves_are_refused_with_a_message_per_field():
    errors = check_terms(
        Terms(start=date(2026, 1, 1), end=date(2026, 1, 20), notice_period=1, notice_unit=MONTHS)
    )
    assert "longer than the term" in errors["notice_period"]
    assert (
        "renewal term"
        in check_terms(Terms(end=date(2027, 1, 1), auto_renews=True))["renewal_months"]
    )
    assert (
        "cannot end before it starts"
        in check_terms(Terms(start=date(2026, 2, 1), end=date(2026, 1, 1)))["end_date"]
    )
    errors = check_terms(
        Terms(
            end=date(2027, 1, 1),
            auto_renews=True,
            renewal_months=1,
            notice_period=3,
            notice_unit=MONTHS,
        )
    )
    assert "longer than the renewal term (1 month)" in errors["notice_period"]
