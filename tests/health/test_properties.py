"""Hostile input for the warning-sign rules and the health score (hypothesis).

Any combination of dates, counts and amounts: no rule raises, the score stays within
0-100, and the level never improves when a signal is added.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from engagements.watch.facts import Facts, metrics
from engagements.watch.rules import WEIGHTS, Signal, assess, signals

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RANK = {"healthy": 0, "watch": 1, "warning": 2, "cut_losses": 3}

moments = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
)
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 1, 1))
money = st.decimals(
    min_value=0, max_value=Decimal("1e9"), places=2, allow_nan=False, allow_infinity=False
)
counts = st.integers(min_value=0, max_value=10_000)
comforts = st.lists(st.integers(min_value=1, max_value=5), max_size=5)
window = st.integers(min_value=1, max_value=365)


@st.composite
def facts(draw) -> Facts:
    start = draw(days)
    return Facts(
        engagement_id=1,
        org_id=1,
        vendor_id=1,
        owner_id=1,
        title="x",
        budget=draw(money),
        start_date=start,
        target_end_date=start + timedelta(days=draw(st.integers(0, 2000))),
        baseline=draw(moments) or AT - timedelta(days=30),
        settings={
            "contact_cadence_days": draw(window),
            "contact_grace_days": draw(st.integers(0, 60)),
            "response_window_hours": draw(st.integers(1, 2000)),
            "review_window_days": draw(window),
            "stall_days": draw(window),
            "scope_change_window_days": draw(window),
            "scope_change_limit": draw(st.integers(1, 50)),
        },
        last_two_way_at=draw(moments),
        vendor_no_shows=draw(counts),
        we_no_shows=draw(counts),
        unanswered_ours=draw(counts),
        oldest_unanswered_ours=draw(moments),
        newest_unanswered_ours=draw(moments),
        comfort_last=draw(comforts),
        comfort_before=draw(comforts),
        planned_value=draw(money),
        accepted_value=draw(money),
        last_accepted_at=draw(moments),
        without_criteria=draw(counts),
        rejected_twice=draw(counts),
        rejected_twice_open=draw(counts),
        submitted_waiting=draw(counts),
        oldest_submitted_at=draw(moments),
        in_progress_overdue=draw(counts),
        oldest_in_progress_due=draw(st.one_of(st.none(), days)),
        late_milestones=draw(counts),
        oldest_late_milestone_due=draw(st.one_of(st.none(), days)),
        spent=draw(money),
        vendor_questions_asked=draw(
            st.lists(
                st.datetimes(
                    min_value=datetime(2000, 1, 1),
                    max_value=datetime(2040, 1, 1),
                    timezones=st.just(UTC),
                ),
                max_size=5,
            )
        ),
        scope_changes=draw(
            st.lists(
                st.datetimes(
                    min_value=datetime(2000, 1, 1),
                    max_value=datetime(2040, 1, 1),
                    timezones=st.just(UTC),
                ),
                max_size=5,
            )
        ),
        exit_criteria=[],
        vendor_needs_review=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(f=facts())
def test_no_combination_of_dates_and_amounts_breaks_a_rule_or_the_score(f):
    found = signals(f, AT)
    for signal in found:
        assert 1 <= signal.severity <= 3
        assert signal.evidence
    score, level = assess(found, {}, AT)
    assert 0 <= score <= 100
    assert level in RANK
    values = metrics(f, AT)
    assert all(v is None or v == v for v in values.values())  # no NaN


signal_lists = st.lists(
    st.builds(
        Signal,
        kind=st.sampled_from(sorted(WEIGHTS)),
        severity=st.integers(1, 3),
        evidence=st.just("e"),
    ),
    max_size=6,
)


@given(
    found=signal_lists,
    extra=st.builds(
        Signal,
        kind=st.sampled_from(sorted(WEIGHTS)),
        severity=st.integers(1, 3),
        evidence=st.just("e"),
    ),
    age=st.integers(0, 60),
)
def test_adding_a_signal_never_raises_the_score_or_lowers_the_level(found, extra, age):
    since = {s.kind: AT - timedelta(days=age) for s in [*found, extra]}
    score, level = assess(found, since, AT)
    more_score, more_level = assess([*found, extra], since, AT)
    assert more_score <= score
    assert RANK[more_level] >= RANK[level]


@given(found=signal_lists)
def test_more_severe_signals_never_look_healthier(found):
    worse = [Signal(s.kind, 3, s.evidence) for s in found]
    assert assess(worse, {}, AT)[0] <= assess(found, {}, AT)[0]
