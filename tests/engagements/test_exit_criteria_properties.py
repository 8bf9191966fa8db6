"""Hostile input for exit criteria: any thresholds and any metric values, never an exception."""

from hypothesis import given
from hypothesis import strategies as st

from engagements.delivery.exit_criteria import METRICS, OPERATORS, evaluate, validate

metric_values = st.one_of(st.none(), st.floats(min_value=0, max_value=1e9, allow_nan=False))
conditions = st.lists(
    st.fixed_dictionaries(
        {
            "metric": st.sampled_from(sorted(METRICS)),
            "op": st.sampled_from(sorted(OPERATORS)),
            "value": st.floats(min_value=0, max_value=1e6, allow_nan=False),
        }
    ),
    min_size=1,
    max_size=4,
)


@given(
    conditions=conditions,
    combinator=st.sampled_from(["all", "any"]),
    values=st.dictionaries(st.sampled_from(sorted(METRICS)), metric_values),
)
def test_closeness_is_between_0_and_1_and_is_1_exactly_when_tripped(conditions, combinator, values):
    criterion = validate({"label": "x", "combinator": combinator, "conditions": conditions})
    evaluation = evaluate(criterion, values)
    assert 0.0 <= evaluation.closeness <= 1.0
    assert evaluation.tripped == (evaluation.closeness == 1.0)
    for state in evaluation.conditions:
        assert state.text  # always readable, measurable or not


@given(
    conditions=conditions, values=st.dictionaries(st.sampled_from(sorted(METRICS)), metric_values)
)
def test_all_trips_only_when_every_condition_is_met(conditions, values):
    criterion = validate({"label": "x", "combinator": "all", "conditions": conditions})
    evaluation = evaluate(criterion, values)
    assert evaluation.tripped == all(c.met for c in evaluation.conditions)
    either = evaluate({**criterion, "combinator": "any"}, values)
    assert either.tripped == any(c.met for c in either.conditions)
