"""Forms of post-mortems and lessons. They validate shape; the services enforce the rules."""

from django import forms
from django.conf import settings

from engagements.postmortems.models import FailureCategory, PostMortemOutcome
from engagements.watch import rules
from engagements.watch.backtest import Scenario
from outsourcing.forms import Form, IdsOfItsOwn
from vendors.models import Vendor

TEXT = forms.Textarea(attrs={"rows": 2})


class SummaryForm(IdsOfItsOwn, Form):
    ids = "summary"

    outcome = forms.ChoiceField(choices=PostMortemOutcome.choices)
    went_well = forms.CharField(
        label="What went well", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FailureForm(IdsOfItsOwn, Form):
    ids = "failure"

    text = forms.CharField(label="What went wrong", max_length=2000, widget=TEXT)
    category = forms.ChoiceField(choices=FailureCategory.choices)


class LessonForm(IdsOfItsOwn, Form):
    ids = "lesson"

    text = forms.CharField(
        label="Lesson",
        max_length=2000,
        widget=TEXT,
        help_text="A short imperative sentence, e.g. “Check two references before signing.”",
    )
    category = forms.ChoiceField(choices=FailureCategory.choices)
    tags = forms.CharField(required=False, max_length=200, help_text="Comma-separated.")


class MoveForm(Form):
    direction = forms.ChoiceField(choices=[("up", "up"), ("down", "down")])


class CommentForm(IdsOfItsOwn, Form):
    ids = "comment"

    text = forms.CharField(label="Comment", max_length=4000, widget=TEXT)


class LessonFilterForm(Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    category = forms.ChoiceField(
        required=False, choices=[("", "Any category"), *FailureCategory.choices]
    )
    vendor = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any vendor")
    tag = forms.CharField(required=False, max_length=60)
    since = forms.DateField(
        label="Since", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Built per form, inside the request's tenant scope: this organization's vendors.
        self.fields["vendor"].queryset = Vendor.objects.order_by("name")


class ToggleForm(Form):
    done = forms.BooleanField(required=False)


def _percent(label: str, default: float, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=100,
        help_text=f"{help_text} Now {round(default * 100)} %.",
        widget=forms.NumberInput(
            attrs={"placeholder": round(default * 100), "inputmode": "numeric"}
        ),
    )


class WhatIfForm(Form):
    """Other thresholds to judge the past with; a blank field keeps today's."""

    contact_grace_days = forms.IntegerField(
        label="Contact grace (days)",
        required=False,
        min_value=0,
        max_value=60,
        help_text="Days past the agreed cadence before missed contact counts. "
        "Blank: each engagement's own (3 by default).",
        widget=forms.NumberInput(attrs={"placeholder": "own"}),
    )
    stall_days = forms.IntegerField(
        label="Stall (days)",
        required=False,
        min_value=1,
        max_value=365,
        help_text="Days without accepted work before results count as stalled. "
        "Blank: each engagement's own (21 by default).",
        widget=forms.NumberInput(attrs={"placeholder": "own"}),
    )
    burn_gap_clear = _percent(
        "Burn: clear at a gap of (%)",
        rules.BURN_GAP_CLEAR,
        "Budget spent ahead of the value accepted (as far as it was due) that makes burn a clear sign.",
    )
    burn_gap_severe = _percent(
        "Burn: severe at a gap of (%)",
        rules.BURN_GAP_SEVERE,
        "The gap that makes burn severe (alone enough to cut losses once it persists).",
    )
    burn_late_spent = _percent(
        "Burn: most of the budget (%)",
        rules.BURN_LATE_SPENT,
        "Spent this much with under 30 % of the value accepted is severe too.",
    )
    persist_days = forms.IntegerField(
        label="Persistence (days)",
        required=False,
        min_value=0,
        max_value=90,
        help_text="How long clear signs must last before cut your losses. "
        f"Now {settings.HEALTH_CUT_LOSSES_PERSIST_DAYS}.",
        widget=forms.NumberInput(attrs={"placeholder": settings.HEALTH_CUT_LOSSES_PERSIST_DAYS}),
    )

    def clean(self) -> dict:
        data = super().clean()
        clear = data.get("burn_gap_clear") or round(rules.BURN_GAP_CLEAR * 100)
        severe = data.get("burn_gap_severe") or round(rules.BURN_GAP_SEVERE * 100)
        mild = round(rules.BURN_GAP_MILD * 100)
        if data.get("burn_gap_clear") and clear < mild:
            self.add_error(
                "burn_gap_clear", f"At least {mild} %: below that the gap is not even a mild sign."
            )
        elif (data.get("burn_gap_clear") or data.get("burn_gap_severe")) and severe < clear:
            field = "burn_gap_severe" if data.get("burn_gap_severe") else "burn_gap_clear"
            self.add_error(
                field, f"The severe gap ({severe} %) cannot be below the clear gap ({clear} %)."
            )
        return data

    def scenario(self) -> Scenario | None:
        """The thresholds asked for, or None when every field is blank (or the form refused)."""
        if not self.is_valid():
            return None
        data = {k: v for k, v in self.cleaned_data.items() if v is not None}
        if not data:
            return None
        burn = {
            k: data[k] / 100
            for k in ("burn_gap_clear", "burn_gap_severe", "burn_late_spent")
            if k in data
        }
        return Scenario(
            "what if",
            thresholds=rules.Thresholds(**burn),
            watch={k: data[k] for k in ("contact_grace_days", "stall_days") if k in data},
            persist_days=data.get("persist_days"),
        )
