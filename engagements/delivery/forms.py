"""Forms of the delivery side. They validate shape; the services enforce the rules."""

from datetime import datetime
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import CURRENCIES, User
from engagements.delivery import exit_criteria
from engagements.delivery.models import (
    Channel,
    DeliverableStatus,
    Direction,
    Engagement,
    EngagementStatus,
    Milestone,
    Outcome,
    Risk,
    Side,
    WatchSettings,
)
from engagements.delivery.services import OWNER_ROLES
from outsourcing.forms import Form, IdsOfItsOwn
from outsourcing.validation import check_happened
from vendors.models import ENGAGEABLE_STATUSES, Contract, Vendor

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TEXT = forms.Textarea(attrs={"rows": 3})
MONEY = {"max_digits": 14, "decimal_places": 2}


class EngagementForm(Form):
    """Set-up: the vendor, why, what done means, money, dates, owner, watch settings, exit lines."""

    vendor = forms.ModelChoiceField(queryset=None)
    vendor_override_reason = forms.CharField(
        label="Why this vendor anyway",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Only for a vendor that is not approved or active.",
    )
    title = forms.CharField(max_length=200)
    goal = forms.CharField(
        widget=TEXT, help_text="Why we outsource this: the product or market target it serves."
    )
    definition_of_done = forms.CharField(
        widget=TEXT, help_text="How we will know the engagement delivered."
    )
    budget = forms.DecimalField(min_value=Decimal("0"), **MONEY)
    currency = forms.ChoiceField(choices=CURRENCIES)
    start_date = forms.DateField(widget=DATE)
    target_end_date = forms.DateField(widget=DATE)
    owner = forms.ModelChoiceField(queryset=User.objects.none())
    contract = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No contract",
        help_text="The vendor's contract this work runs under: its notice and renewal dates "
        "bound when stopping is still cheap.",
    )
    presets = forms.MultipleChoiceField(
        label="Exit criteria (cut losses when …)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(key, p["label"]) for key, p in exit_criteria.PRESETS.items()],
        help_text="Draw the line now, while calm. You can add your own on the engagement page.",
    )
    contact_cadence_days = forms.IntegerField(label="Contact every (days)", min_value=1)
    contact_grace_days = forms.IntegerField(label="Grace (days)", min_value=0)
    response_window_hours = forms.IntegerField(label="Response window (hours)", min_value=1)
    review_window_days = forms.IntegerField(label="Review window (days)", min_value=1)
    stall_days = forms.IntegerField(label="Stalled after (days)", min_value=1)
    scope_change_window_days = forms.IntegerField(label="Scope-change window (days)", min_value=1)
    scope_change_limit = forms.IntegerField(label="Scope changes allowed", min_value=1)
    # The readiness check, answered as part of the set-up.
    has_concrete_target = forms.TypedChoiceField(
        label="Is there a concrete product or market target?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    need_is_specific = forms.TypedChoiceField(
        label="Is the need specific enough to write acceptance criteria?",
        choices=[("yes", "Yes"), ("no", "No")],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    money_alternative = forms.CharField(
        label="What would this money do otherwise?", widget=forms.Textarea(attrs={"rows": 2})
    )
    internal_owner = forms.CharField(label="Who on our side owns it?", max_length=200)
    owner_hours_per_week = forms.IntegerField(
        label="Hours a week they have for it", min_value=0, max_value=80
    )

    WATCH_FIELDS = WatchSettings.WATCH_FIELDS
    ENGAGEMENT_FIELDS = (
        "vendor",
        "vendor_override_reason",
        "title",
        "goal",
        "definition_of_done",
        "budget",
        "currency",
        "start_date",
        "target_end_date",
        "owner",
        "contract",
    )
    READINESS_FIELDS = (
        "has_concrete_target",
        "need_is_specific",
        "money_alternative",
        "internal_owner",
        "owner_hours_per_week",
    )

    def __init__(self, *args, org, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.filter(org=org).order_by("name")
        self.fields["vendor"].label_from_instance = lambda v: (
            v.name
            if v.status in ENGAGEABLE_STATUSES
            else f"{v.name} ({v.get_status_display().lower()}: needs a reason)"
        )
        self.fields["owner"].queryset = User.objects.filter(
            memberships__org=org, memberships__role__in=OWNER_ROLES
        ).order_by("email")
        contract_field(self.fields["contract"], org)

    def clean(self) -> dict:
        data = super().clean()
        vendor, contract = data.get("vendor"), data.get("contract")
        if vendor and contract and contract.vendor_id != vendor.pk:
            self.add_error("contract", f"Choose one of {vendor.name}'s contracts (or none).")
        start, end = data.get("start_date"), data.get("target_end_date")
        if start and end and end < start:
            self.add_error("target_end_date", "The target end date is before the start.")
        vendor = data.get("vendor")
        if (
            vendor
            and vendor.status not in ENGAGEABLE_STATUSES
            and not data.get("vendor_override_reason", "").strip()
        ):
            self.add_error(
                "vendor_override_reason",
                f"{vendor.name} is not approved: write down why you engage them anyway.",
            )
        return data

    def engagement_data(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.ENGAGEMENT_FIELDS}
        data["watch"] = {name: self.cleaned_data[name] for name in self.WATCH_FIELDS}
        data["presets"] = self.cleaned_data["presets"]
        return data

    def readiness_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.READINESS_FIELDS}


class WatchSettingsForm(IdsOfItsOwn, Form):
    ids = "watch"

    contact_cadence_days = forms.IntegerField(label="Contact every (days)", min_value=1)
    contact_grace_days = forms.IntegerField(label="Grace (days)", min_value=0)
    response_window_hours = forms.IntegerField(label="Response window (hours)", min_value=1)
    review_window_days = forms.IntegerField(label="Review window (days)", min_value=1)
    stall_days = forms.IntegerField(label="Stalled after (days)", min_value=1)
    scope_change_window_days = forms.IntegerField(label="Scope-change window (days)", min_value=1)
    scope_change_limit = forms.IntegerField(label="Scope changes allowed", min_value=1)


class StatusForm(IdsOfItsOwn, Form):
    ids = "status"

    to = forms.ChoiceField(choices=EngagementStatus.choices)
    reason = forms.CharField(required=False, max_length=2000)


class ReadinessOverrideForm(IdsOfItsOwn, Form):
    ids = "override"

    reason = forms.CharField(
        label="Why go ahead anyway", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class BriefForm(IdsOfItsOwn, Form):
    ids = "brief"

    vision = forms.CharField(label="Our vision, and why this matters", required=False, widget=TEXT)
    short_term_goals = forms.CharField(required=False, widget=TEXT)
    long_term_goals = forms.CharField(required=False, widget=TEXT)
    shared = forms.BooleanField(label="We have shared this brief with the vendor", required=False)


class ExitCriterionForm(IdsOfItsOwn, Form):
    """One custom exit criterion of up to two conditions."""

    ids = "criterion"

    METRIC_CHOICES = [(m.name, m.label) for m in exit_criteria.METRICS.values()]
    OP_CHOICES = [(op, op) for op in exit_criteria.OPERATORS]

    label = forms.CharField(max_length=200)
    combinator = forms.ChoiceField(
        choices=[("all", "all of (and)"), ("any", "any of (or)")], initial="all"
    )
    metric_1 = forms.ChoiceField(label="Metric", choices=METRIC_CHOICES)
    op_1 = forms.ChoiceField(label="Is", choices=OP_CHOICES)
    value_1 = forms.DecimalField(label="Value", min_value=0)
    metric_2 = forms.ChoiceField(
        label="Second metric", choices=[("", "—"), *METRIC_CHOICES], required=False
    )
    op_2 = forms.ChoiceField(label="Is", choices=OP_CHOICES, required=False)
    value_2 = forms.DecimalField(label="Value", min_value=0, required=False)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("metric_2") and data.get("value_2") is None:
            self.add_error("value_2", "Give the second condition a value.")
        return data

    def criterion(self) -> dict:
        d = self.cleaned_data
        conditions = [{"metric": d["metric_1"], "op": d["op_1"], "value": d["value_1"]}]
        if d.get("metric_2"):
            conditions.append(
                {"metric": d["metric_2"], "op": d["op_2"] or ">=", "value": d["value_2"]}
            )
        return {"label": d["label"], "combinator": d["combinator"], "conditions": conditions}


class MilestoneForm(IdsOfItsOwn, Form):
    ids = "milestone"

    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DATE)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DeliverableForm(IdsOfItsOwn, Form):
    ids = "deliverable"

    milestone = forms.ModelChoiceField(queryset=None)
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DATE)
    value = forms.DecimalField(min_value=Decimal("0"), initial=0, **MONEY)
    acceptance_criteria = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What must be true for us to accept it. Needed before accepting.",
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, engagement: Engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Only this engagement's milestones: another organization's id is "not a valid choice".
        self.fields["milestone"].queryset = Milestone.objects.filter(engagement=engagement)


class DeliverableEditForm(Form):
    """Changing a deliverable is a scope change: the form asks why."""

    milestone = forms.ModelChoiceField(queryset=None)
    title = forms.CharField(max_length=200)
    due_date = forms.DateField(widget=DATE)
    value = forms.DecimalField(min_value=Decimal("0"), **MONEY)
    acceptance_criteria = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    why = forms.CharField(label="Why the scope changes", required=False, max_length=2000)
    version = forms.IntegerField(required=False)

    def __init__(self, *args, engagement: Engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = Milestone.objects.filter(engagement=engagement)

    def changes(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("why", "version")}


class TransitionForm(Form):
    to = forms.ChoiceField(choices=DeliverableStatus.choices)
    note = forms.CharField(required=False, max_length=2000)
    version = forms.IntegerField(required=False)


class ScopeChangeForm(IdsOfItsOwn, Form):
    ids = "scope"

    what_changed = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    why = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))


class SpendForm(IdsOfItsOwn, Form):
    ids = "spend"

    date = forms.DateField(widget=DATE)
    amount = forms.DecimalField(**MONEY)
    currency = forms.ChoiceField(choices=CURRENCIES)
    description = forms.CharField(label="What it paid for", max_length=300)
    milestone = forms.ModelChoiceField(queryset=None, required=False)

    def __init__(self, *args, engagement: Engagement, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].queryset = Milestone.objects.filter(engagement=engagement)
        self.fields["currency"].initial = engagement.currency

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        if amount <= 0:
            raise ValidationError("Enter an amount above zero.")
        return amount

    def clean_date(self) -> date:
        check_happened(self.cleaned_data["date"])  # today in the organization's time zone
        return self.cleaned_data["date"]


class InteractionForm(IdsOfItsOwn, Form):
    """The quick-add: a few seconds to log a call, meeting, e-mail or message."""

    ids = "interaction"

    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.CALL)
    direction = forms.ChoiceField(choices=Direction.choices, initial=Direction.WE_TO_VENDOR)
    outcome = forms.ChoiceField(choices=Outcome.choices, initial=Outcome.HELD)
    response_hours = forms.IntegerField(label="Answered after (hours)", min_value=0, required=False)
    comfort = forms.TypedChoiceField(
        label="Comfort",
        choices=[("", "—"), *[(str(i), str(i)) for i in range(1, 6)]],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="1 awful … 5 great",
    )
    occurred_at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty: now.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    question = forms.CharField(label="Open question", required=False, max_length=2000)
    question_owed_by = forms.ChoiceField(
        label="Who owes the answer", choices=[("", "—"), *Side.choices], required=False
    )

    def clean_occurred_at(self) -> datetime | None:
        check_happened(self.cleaned_data["occurred_at"])
        return self.cleaned_data["occurred_at"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("outcome") == Outcome.ANSWERED and data.get("response_hours") is None:
            self.add_error("response_hours", "After how many hours was it answered?")
        if data.get("question", "").strip() and not data.get("question_owed_by"):
            self.add_error("question_owed_by", "Who owes the answer: us or the vendor?")
        return data


class AnswerForm(Form):
    answer = forms.CharField(required=False, max_length=2000)


class RiskForm(IdsOfItsOwn, Form):
    ids = "risk"

    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    likelihood = forms.ChoiceField(choices=Risk.Level.choices, initial=Risk.Level.MEDIUM)
    impact = forms.ChoiceField(choices=Risk.Level.choices, initial=Risk.Level.MEDIUM)
    mitigation = forms.CharField(
        label="Mitigation plan", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, org, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(memberships__org=org).order_by("email")


class RiskStatusForm(Form):
    status = forms.ChoiceField(choices=Risk.Status.choices)


def contract_field(field: forms.ModelChoiceField, org, *, vendor=None) -> None:
    """The contracts an engagement may run under: the organization's (the vendor's, when known),
    each named with its vendor."""
    contracts = (
        Contract.objects.filter(org=org)
        .select_related("vendor")
        .order_by("vendor__name", "title", "pk")
    )
    field.queryset = contracts.filter(vendor=vendor) if vendor is not None else contracts
    field.label_from_instance = lambda c: f"{c.vendor.name}: {c.title}"


class EngagementFilterForm(Form):
    SORTS = {
        "-created": ("-created_at", "Newest"),
        "title": ("title", "Title"),
        "end": ("target_end_date", "Target end"),
        "-budget": ("-budget", "Largest budget"),
        "-spent": ("-spent", "Most spent"),
    }
    q = forms.CharField(label="Search", required=False, max_length=200)
    vendor = forms.ModelChoiceField(queryset=None, required=False, empty_label="All vendors")
    status = forms.ChoiceField(
        choices=[("", "All statuses"), *EngagementStatus.choices], required=False
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="All owners"
    )
    sort = forms.ChoiceField(
        choices=[(k, label) for k, (_f, label) in SORTS.items()], required=False
    )

    def __init__(self, *args, org, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = Vendor.objects.filter(org=org).order_by("name")
        self.fields["owner"].queryset = User.objects.filter(memberships__org=org).order_by("email")

    def apply(self, queryset):
        if not self.is_valid():
            return queryset.order_by("-created_at", "-pk")
        d = self.cleaned_data
        queryset = queryset.filter_for_list(
            status=d["status"], vendor=d["vendor"], owner=d["owner"], q=d["q"]
        )
        order = self.SORTS.get(d.get("sort") or "-created", self.SORTS["-created"])[0]
        return queryset.order_by(order, "-pk")


# --- corrections ----------------------------------------------------------------------------
# Each correction form is shown on its own page or swapped into the engagement page beside
# the page's own forms: its ids carry the record (``auto_id="spend12_%s"``) so they never clash.


class EngagementEditForm(Form):
    """Correct what was typed at set-up: title, why, what done means, budget, dates, owner."""

    title = forms.CharField(max_length=200)
    goal = forms.CharField(widget=TEXT, max_length=10_000)
    definition_of_done = forms.CharField(widget=TEXT, max_length=10_000)
    budget = forms.DecimalField(min_value=Decimal("0"), **MONEY)
    start_date = forms.DateField(widget=DATE)
    target_end_date = forms.DateField(widget=DATE)
    owner = forms.ModelChoiceField(queryset=User.objects.none())
    contract = forms.ModelChoiceField(queryset=None, required=False, empty_label="No contract")

    def __init__(self, *args, org, vendor=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(
            memberships__org=org, memberships__role__in=OWNER_ROLES
        ).order_by("email")
        contract_field(self.fields["contract"], org, vendor=vendor)

    @staticmethod
    def initial_for(engagement: Engagement) -> dict:
        return {
            "title": engagement.title,
            "goal": engagement.goal,
            "definition_of_done": engagement.definition_of_done,
            "budget": engagement.budget,
            "start_date": engagement.start_date,
            "target_end_date": engagement.target_end_date,
            "owner": engagement.owner_id,
            "contract": engagement.contract_id,
        }


YES_NO = [("yes", "Yes"), ("no", "No")]


class ReadinessForm(Form):
    """The readiness check, answered again."""

    has_concrete_target = forms.TypedChoiceField(
        label="Is there a concrete product or market target?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    need_is_specific = forms.TypedChoiceField(
        label="Is the need specific enough to write acceptance criteria?",
        choices=YES_NO,
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    money_alternative = forms.CharField(
        label="What would this money do otherwise?",
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=10_000,
    )
    internal_owner = forms.CharField(label="Who on our side owns it?", max_length=200)
    owner_hours_per_week = forms.IntegerField(
        label="Hours a week they have for it", min_value=0, max_value=80
    )

    @staticmethod
    def initial_for(check) -> dict:
        if check is None:
            return {}
        return {
            "has_concrete_target": "yes" if check.has_concrete_target else "no",
            "need_is_specific": "yes" if check.need_is_specific else "no",
            "money_alternative": check.money_alternative,
            "internal_owner": check.internal_owner,
            "owner_hours_per_week": check.owner_hours_per_week,
        }


class InteractionEditForm(InteractionForm):
    """Correct a logged interaction: when, how, the outcome, comfort and notes (an open
    question raised in it is answered or kept on its own)."""

    question = None
    question_owed_by = None
    occurred_at = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class DeliverableDeleteForm(Form):
    why = forms.CharField(label="Why it is no longer needed", required=False, max_length=2000)
