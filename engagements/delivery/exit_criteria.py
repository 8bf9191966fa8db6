"""Exit criteria as data: the metrics a condition may name, presets, validation, evaluation.

A criterion is ``{"label", "combinator": "all" | "any", "conditions": [{"metric", "op", "value"}]}``
(stored on ``ExitCriterion``). The health watcher computes the metric values of every
active engagement set-based (``engagements.watch.facts``) and calls ``evaluate`` per criterion;
the engagement page calls the same function to show how close each condition is to tripping.
"""

import operator
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError

from outsourcing.formats import format_number


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    unit: str


METRICS: dict[str, Metric] = {
    m.name: m
    for m in [
        Metric("days_since_held_contact", "days since the last held two-way contact", "days"),
        Metric(
            "max_milestone_days_late",
            "days the most overdue milestone is late with work not accepted",
            "days",
        ),
        Metric("budget_spent_pct", "share of the budget spent", "%"),
        Metric("accepted_value_pct", "share of the planned value accepted", "%"),
        Metric(
            "deliverables_rejected_twice", "deliverables rejected two or more times", "deliverables"
        ),
        Metric("comfort_avg_last_5", "average comfort of the last 5 rated interactions", "of 5"),
        Metric("days_without_acceptance", "days since anything was accepted", "days"),
        Metric(
            "unanswered_vendor_questions",
            "vendor questions we left unanswered past the response window",
            "questions",
        ),
    ]
}

OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}

PRESETS: dict[str, dict] = {
    "late_and_burnt": {
        "label": "A milestone more than 14 days late and more than half the budget spent",
        "combinator": "all",
        "conditions": [
            {"metric": "max_milestone_days_late", "op": ">", "value": 14},
            {"metric": "budget_spent_pct", "op": ">", "value": 50},
        ],
    },
    "rejected_twice": {
        "label": "Two deliverables rejected twice",
        "combinator": "all",
        "conditions": [{"metric": "deliverables_rejected_twice", "op": ">=", "value": 2}],
    },
    "silent_vendor": {
        "label": "No held contact for 21 days",
        "combinator": "all",
        "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    },
    "uncomfortable": {
        "label": "Comfort average below 2 over the last 5 interactions",
        "combinator": "all",
        "conditions": [{"metric": "comfort_avg_last_5", "op": "<", "value": 2}],
    },
    "burn_without_delivery": {
        "label": "80% of the budget spent with less than 30% of the value accepted",
        "combinator": "all",
        "conditions": [
            {"metric": "budget_spent_pct", "op": ">=", "value": 80},
            {"metric": "accepted_value_pct", "op": "<", "value": 30},
        ],
    },
}


def validate(criterion: Mapping) -> dict:
    """Check a criterion's shape; return it normalised, or raise ValidationError naming the problem."""
    label = str(criterion.get("label", "")).strip()
    if not label:
        raise ValidationError({"label": "Give the exit criterion a name."})
    combinator = criterion.get("combinator", "all")
    if combinator not in ("all", "any"):
        raise ValidationError({"combinator": "Combine conditions with 'all' (and) or 'any' (or)."})
    conditions = criterion.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise ValidationError({"conditions": "An exit criterion needs at least one condition."})
    clean = []
    for i, condition in enumerate(conditions, start=1):
        if not isinstance(condition, Mapping):
            raise ValidationError({"conditions": f"Condition {i} is not a condition."})
        metric, op, value = condition.get("metric"), condition.get("op"), condition.get("value")
        if metric not in METRICS:
            raise ValidationError({"conditions": f"Condition {i}: unknown metric {metric!r}."})
        if op not in OPERATORS:
            raise ValidationError(
                {
                    "conditions": f"Condition {i}: the comparison must be one of {', '.join(OPERATORS)}."
                }
            )
        try:
            number = float(Decimal(str(value)))
        except Exception:
            raise ValidationError(
                {"conditions": f"Condition {i}: {value!r} is not a number."}
            ) from None
        if number < 0:
            raise ValidationError(
                {"conditions": f"Condition {i}: the threshold cannot be negative."}
            )
        clean.append({"metric": metric, "op": op, "value": number})
    return {"label": label, "combinator": combinator, "conditions": clean}


def _amount(value: float, unit: str) -> str:
    """A metric's value as the pages write numbers (two decimals at most: 42.86, not 42.8571)."""
    text = format_number(value)
    return f"{text}%" if unit == "%" else f"{text} of 5" if unit == "of 5" else text


@dataclass(frozen=True)
class ConditionState:
    metric: Metric
    op: str
    threshold: float
    current: float | None  # None: not measurable yet (e.g. no rated interaction)
    met: bool

    @property
    def text(self) -> str:
        unit = self.metric.unit
        now = "not measurable yet" if self.current is None else f"now {_amount(self.current, unit)}"
        return f"{self.metric.label} {self.op} {_amount(self.threshold, unit)} ({now})"

    @property
    def closeness(self) -> float:
        """0 = far from tripping, 1 = tripped; how far the current value has travelled to the line."""
        if self.met:
            return 1.0
        if self.current is None or self.threshold == 0:
            return 0.0
        if self.op in (">", ">="):
            travelled = self.current / self.threshold
        else:
            # "below": 5 is as far as a comfort can be; other metrics count down from twice the line.
            ceiling = 5.0 if self.metric.unit == "of 5" else self.threshold * 2
            span = ceiling - self.threshold
            travelled = 0.0 if span <= 0 else (ceiling - self.current) / span
        # Standing exactly on a strict line is close, not tripped: only a met condition is 1.
        return max(0.0, min(0.99, travelled))


@dataclass(frozen=True)
class Evaluation:
    label: str
    combinator: str
    conditions: list[ConditionState]

    @property
    def tripped(self) -> bool:
        results = [c.met for c in self.conditions]
        return all(results) if self.combinator == "all" else any(results)

    @property
    def closeness(self) -> float:
        """How close the whole criterion is to tripping (0..1)."""
        values = [c.closeness for c in self.conditions]
        return (min(values) if self.combinator == "all" else max(values)) if values else 0.0


def evaluate(criterion: Mapping, metrics: Mapping[str, float | None]) -> Evaluation:
    """Evaluate one criterion against an engagement's metric values (a missing value never trips)."""
    states = []
    for condition in criterion["conditions"]:
        current = metrics.get(condition["metric"])
        current = None if current is None else float(current)
        met = current is not None and OPERATORS[condition["op"]](current, float(condition["value"]))
        states.append(
            ConditionState(
                METRICS[condition["metric"]],
                condition["op"],
                float(condition["value"]),
                current,
                met,
            )
        )
    return Evaluation(criterion["label"], criterion.get("combinator", "all"), states)
