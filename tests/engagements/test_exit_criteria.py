"""Exit criteria are data: presets validate, and evaluation trips exactly on the line drawn."""

import pytest
from django.core.exceptions import ValidationError

from engagements.delivery.exit_criteria import PRESETS, evaluate, validate


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_is_a_valid_criterion(key):
    assert validate(PRESETS[key])["conditions"]


def test_a_late_milestone_alone_does_not_trip_late_and_burnt():
    criterion = validate(PRESETS["late_and_burnt"])
    evaluation = evaluate(criterion, {"max_milestone_days_late": 20, "budget_spent_pct": 30})
    assert not evaluation.tripped
    assert 0 < evaluation.closeness < 1


def test_late_and_burnt_trips_when_both_are_true():
    evaluation = evaluate(
        validate(PRESETS["late_and_burnt"]), {"max_milestone_days_late": 15, "budget_spent_pct": 51}
    )
    assert evaluation.tripped
    assert evaluation.closeness == 1


def test_any_combinator_trips_on_one_condition():
    criterion = validate(
        {
            "label": "either",
            "combinator": "any",
            "conditions": [
                {"metric": "days_since_held_contact", "op": ">=", "value": 21},
                {"metric": "comfort_avg_last_5", "op": "<", "value": 2},
            ],
        }
    )
    assert evaluate(criterion, {"days_since_held_contact": 3, "comfort_avg_last_5": 1.8}).tripped


def test_an_unmeasurable_metric_never_trips():
    evaluation = evaluate(validate(PRESETS["uncomfortable"]), {"comfort_avg_last_5": None})
    assert not evaluation.tripped
    assert "not measurable yet" in evaluation.conditions[0].text


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (
            {"label": "", "conditions": [{"metric": "budget_spent_pct", "op": ">", "value": 1}]},
            "label",
        ),
        ({"label": "x", "conditions": []}, "conditions"),
        ({"label": "x", "conditions": [{"metric": "vibes", "op": ">", "value": 1}]}, "conditions"),
        (
            {"label": "x", "conditions": [{"metric": "budget_spent_pct", "op": "==", "value": 1}]},
            "conditions",
        ),
        (
            {
                "label": "x",
                "conditions": [{"metric": "budget_spent_pct", "op": ">", "value": "lots"}],
            },
            "conditions",
        ),
        (
            {
                "label": "x",
                "combinator": "xor",
                "conditions": [{"metric": "budget_spent_pct", "op": ">", "value": 1}],
            },
            "combinator",
        ),
    ],
)
def test_malformed_criteria_are_refused_naming_the_field(bad, field):
    with pytest.raises(ValidationError) as info:
        validate(bad)
    assert field in info.value.message_dict


def test_standing_exactly_on_a_strict_line_is_close_but_not_tripped():
    evaluation = evaluate(
        validate(PRESETS["late_and_burnt"]), {"max_milestone_days_late": 14, "budget_spent_pct": 50}
    )
    assert not evaluation.tripped
    assert 0.9 < evaluation.closeness < 1
