"""What we asked a vendor to do, what they delivered, what it cost and how it feels.

Every row carries ``org`` (``TenantModel``), children included: the tenant scope then covers
a deliverable fetched by id exactly as it covers an engagement, and sweeps filter without joins.

Modelled for the health watcher: every rule is an aggregate over one of these tables
grouped by ``engagement_id`` (hence ``engagement`` is stored on deliverables and the
counters ``times_rejected`` / ``submitted_at`` / ``accepted_at`` are kept on the row by
the services that move it), so a sweep over all engagements is a handful of queries.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import CURRENCIES
from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet

__all__ = [
    "ActivityKind",
    "ActivityRule",
    "Channel",
    "Deliverable",
    "DeliverableStatus",
    "DeliverableTransition",
    "Direction",
    "Engagement",
    "EngagementDefaults",
    "EngagementStatus",
    "EngagementStatusChange",
    "ExitCriterion",
    "Interaction",
    "Milestone",
    "OpenQuestion",
    "Outcome",
    "ReadinessCheck",
    "ReadinessVerdict",
    "Risk",
    "ScopeChange",
    "Side",
    "Source",
    "SpendEntry",
    "WorkActivity",
]

User = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 14, "decimal_places": 2}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class WatchSettings(models.Model):
    """Thresholds of the warning-sign rules: organization defaults, copied onto each engagement."""

    contact_cadence_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(1)],
        help_text="Expected days between held two-way contacts.",
    )
    contact_grace_days = models.PositiveSmallIntegerField(
        default=3, help_text="Extra days before a missed contact counts."
    )
    response_window_hours = models.PositiveSmallIntegerField(
        default=48,
        validators=[MinValueValidator(1)],
        help_text="How long a message or question may stay unanswered.",
    )
    review_window_days = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1)],
        help_text="How long submitted work may wait for our review.",
    )
    stall_days = models.PositiveSmallIntegerField(
        default=21,
        validators=[MinValueValidator(1)],
        help_text="Days without anything accepted before results count as stalled.",
    )
    scope_change_window_days = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(1)]
    )
    scope_change_limit = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1)],
        help_text="Scope changes within the window that make the lines blurry.",
    )

    WATCH_FIELDS = (
        "contact_cadence_days",
        "contact_grace_days",
        "response_window_hours",
        "review_window_days",
        "stall_days",
        "scope_change_window_days",
        "scope_change_limit",
    )

    class Meta:
        abstract = True

    def watch_settings(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.WATCH_FIELDS}


class EngagementDefaults(TenantModel, WatchSettings):
    """One row per organization: the watch settings new engagements start with."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org"], name="engagement_defaults_one_per_org")
        ]
        verbose_name_plural = "engagement defaults"

    def __str__(self) -> str:
        return f"Engagement defaults of {self.org}"


class EngagementStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    TERMINATED = "terminated", "Terminated (cut losses)"


ENDED_STATUSES = (EngagementStatus.COMPLETED, EngagementStatus.TERMINATED)


def _sum_of(model_name: str, field: str, **filters) -> models.Subquery:
    """A correlated SUM per engagement (no join fan-out when several sums sit side by side)."""
    model = globals()[model_name]  # defined further down this module
    return models.Subquery(
        model.unscoped.filter(engagement=models.OuterRef("pk"), **filters)
        .order_by()
        .values("engagement")
        .annotate(total=models.Sum(field))
        .values("total")[:1],
        output_field=models.DecimalField(**MONEY),
    )


class EngagementQuerySet(TenantQuerySet):
    def active(self) -> "EngagementQuerySet":
        return self.filter(status=EngagementStatus.ACTIVE)

    def with_burn(self) -> "EngagementQuerySet":
        """Annotate ``spent``, ``accepted_value``, ``planned_value`` and ``next_due`` (a date)."""
        zero = models.Value(Decimal("0"), output_field=models.DecimalField(**MONEY))
        return self.annotate(
            spent=Coalesce(_sum_of("SpendEntry", "amount"), zero),
            accepted_value=Coalesce(
                _sum_of("Deliverable", "value", status=DeliverableStatus.ACCEPTED), zero
            ),
            planned_value=Coalesce(_sum_of("Deliverable", "value"), zero),
            next_due=models.Subquery(
                Deliverable.unscoped.filter(engagement=models.OuterRef("pk"))
                .exclude(status=DeliverableStatus.ACCEPTED)
                .order_by("due_date")
                .values("due_date")[:1]
            ),
        )

    def filter_for_list(
        self, *, status: str = "", vendor=None, owner=None, q: str = ""
    ) -> "EngagementQuerySet":
        """The engagement list's filters, the same on the list page and in the API: a status,
        a vendor and an owner (a row or its id), words in the title; empty ones do nothing."""
        queryset = self
        if status:
            queryset = queryset.filter(status=status)
        if vendor:
            queryset = queryset.filter(vendor=vendor)
        if owner:
            queryset = queryset.filter(owner=owner)
        if q.strip():
            queryset = queryset.filter(title__icontains=q.strip())
        return queryset

    def for_list(self) -> "EngagementQuerySet":
        """The engagement list: vendor, owner and the money in one query."""
        return self.select_related("vendor", "owner").with_burn()

    def for_detail(self) -> "EngagementQuerySet":
        """The engagement page's header: vendor, owner, contract, readiness and the money."""
        return self.select_related(
            "vendor",
            "contract",
            "owner",
            "created_by",
            "vendor_override_by",
            "readiness",
            "readiness__answered_by",
            "readiness__override_by",
        ).with_burn()


class Engagement(TenantModel, WatchSettings):
    """Work we asked one vendor to do: why, what done means, budget, dates and how we watch it."""

    vendor = models.ForeignKey(
        "vendors.Vendor", on_delete=models.PROTECT, related_name="engagements"
    )
    # The contract the work runs under: its notice and renewal dates bound when cutting losses
    # is still cheap (the watcher's "decide before renewal", the cut-your-losses summary).
    contract = models.ForeignKey(
        "vendors.Contract",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="engagements",
    )
    title = models.CharField(max_length=200)
    goal = models.TextField(
        help_text="Why we outsource this: the product or market target it serves."
    )
    definition_of_done = models.TextField(help_text="How we will know the engagement delivered.")
    budget = models.DecimalField(**MONEY, validators=NON_NEGATIVE)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    start_date = models.DateField()
    target_end_date = models.DateField()
    owner = models.ForeignKey(User, on_delete=models.PROTECT, related_name="owned_engagements")
    status = models.CharField(
        max_length=12, choices=EngagementStatus.choices, default=EngagementStatus.DRAFT
    )
    # Brief shared with the vendor (vendor portal): vision and goals in our words.
    vision = models.TextField(blank=True, help_text="Our vision, and why this matters.")
    short_term_goals = models.TextField(blank=True)
    long_term_goals = models.TextField(blank=True)
    brief_shared_at = models.DateTimeField(null=True, blank=True)
    # A vendor that is not approved/active needs a recorded override.
    vendor_override_reason = models.TextField(blank=True)
    vendor_override_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager.from_queryset(EngagementQuerySet)()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The health sweep reads all active engagements of all organizations.
            models.Index(fields=["status"], name="engagement_status_idx"),
            models.Index(fields=["org", "status"], name="engagement_org_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=EngagementStatus.values), name="engagement_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(budget__gte=0), name="engagement_budget_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(target_end_date__gte=models.F("start_date")),
                name="engagement_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_ended(self) -> bool:
        return self.status in ENDED_STATUSES


class EngagementStatusChange(TenantModel):
    """Who moved an engagement from one status to another, when and why."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=12, choices=EngagementStatus.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=EngagementStatus.choices)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]


class ReadinessVerdict(models.TextChoices):
    READY = "ready", "Ready"
    RISKY = "risky", "Risky"
    TOO_SOON = "too_soon", "Too soon"


class ReadinessCheck(TenantModel):
    """The answers to "are we ready to outsource this?" and the verdict they gave (kept)."""

    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, related_name="readiness"
    )
    has_concrete_target = models.BooleanField(
        help_text="Is there a concrete product or market target?"
    )
    need_is_specific = models.BooleanField(
        help_text="Is the need specific enough to write acceptance criteria?"
    )
    money_alternative = models.TextField(help_text="What would this money do otherwise?")
    internal_owner = models.CharField(max_length=200, help_text="Who on our side owns it?")
    owner_hours_per_week = models.PositiveSmallIntegerField(
        help_text="How many hours a week they have for it."
    )
    verdict = models.CharField(max_length=10, choices=ReadinessVerdict.choices)
    answered_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    answered_at = models.DateTimeField(default=timezone.now)
    override_reason = models.TextField(blank=True)
    override_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    override_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        """Names its engagement (the services always hold it: no query in the audit trail)."""
        return f"readiness of {self.engagement}"


class ExitCriterion(TenantModel):
    """A line drawn while calm: "cut losses when ..." as data the health watcher evaluates.

    ``conditions`` is a list of ``{"metric": str, "op": ">=" | "<=", "value": number}``,
    combined with ``combinator`` (all = and, any = or). Metrics are named in
    ``engagements.exit_criteria.METRICS``.
    """

    class Combinator(models.TextChoices):
        ALL = "all", "all of (and)"
        ANY = "any", "any of (or)"

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="exit_criteria"
    )
    label = models.CharField(max_length=200)
    combinator = models.CharField(max_length=3, choices=Combinator.choices, default=Combinator.ALL)
    conditions = models.JSONField(default=list)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.label


class Milestone(TenantModel):
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    due_date = models.DateField()

    class Meta:
        ordering = ["position", "due_date", "pk"]
        indexes = [models.Index(fields=["engagement", "due_date"], name="milestone_due_idx")]

    def __str__(self) -> str:
        return self.title


class DeliverableStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    SUBMITTED = "submitted", "Submitted"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"


class Deliverable(TenantModel):
    """A piece of work with acceptance criteria, moved through planned → … → accepted/rejected."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="deliverables"
    )
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="deliverables")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    acceptance_criteria = models.TextField(blank=True)
    due_date = models.DateField()
    value = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    status = models.CharField(
        max_length=12, choices=DeliverableStatus.choices, default=DeliverableStatus.PLANNED
    )
    # Kept by the transition service, so the watcher's rules are plain aggregates.
    times_rejected = models.PositiveSmallIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(default=timezone.now)
    # Kept by the services (transition, scope change); the API's ``updated_since`` reads it.
    updated_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)  # optimistic lock: one of two reviewers wins

    class Meta:
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["engagement", "status"], name="deliverable_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliverableStatus.values), name="deliverable_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0), name="deliverable_value_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.title


class DeliverableTransition(TenantModel):
    """One status change of a deliverable: who, when, from, to and why."""

    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.CASCADE, related_name="transitions"
    )
    from_status = models.CharField(max_length=12, choices=DeliverableStatus.choices)
    to_status = models.CharField(max_length=12, choices=DeliverableStatus.choices)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    by_vendor = models.BooleanField(default=False, help_text="Made by the vendor (portal).")
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]


class ScopeChange(TenantModel):
    """A recorded change of what we asked for: what changed, why, by whom."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="scope_changes"
    )
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.SET_NULL, null=True, blank=True, related_name="scope_changes"
    )
    what_changed = models.TextField()
    why = models.TextField()
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]
        indexes = [models.Index(fields=["engagement", "at"], name="scopechange_at_idx")]


class SpendEntry(TenantModel):
    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="spend")
    date = models.DateField()
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    description = models.CharField(max_length=300)
    milestone = models.ForeignKey(
        Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="spend"
    )
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-pk"]
        verbose_name_plural = "spend entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="spend_amount_positive")
        ]


class Channel(models.TextChoices):
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    EMAIL = "email", "E-mail"
    MESSAGE = "message", "Message"
    CHECKIN = "checkin", "Check-in (vendor portal)"


class Direction(models.TextChoices):
    WE_TO_VENDOR = "we_to_vendor", "We → vendor"
    VENDOR_TO_US = "vendor_to_us", "Vendor → us"


class Outcome(models.TextChoices):
    HELD = "held", "Held (two-way)"
    VENDOR_NO_SHOW = "vendor_no_show", "Vendor no-show"
    WE_NO_SHOW = "we_no_show", "We did not show"
    UNANSWERED = "unanswered", "Unanswered"
    ANSWERED = "answered", "Answered after some hours"


class Source(models.TextChoices):
    UI = "ui", "Web"
    API = "api", "API"
    PORTAL = "portal", "Vendor portal"
    EMAIL = "email", "Captured e-mail"
    CALENDAR = "calendar", "Calendar invite"


class Interaction(TenantModel):
    """A call, meeting, e-mail, message or check-in, with its outcome and how comfortable it felt."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="interactions"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    direction = models.CharField(max_length=14, choices=Direction.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    response_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="For 'answered': after how many hours."
    )
    comfort = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Collaboration comfort, 1 (awful) to 5 (great).",
    )
    notes = models.TextField(blank=True)
    logged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.UI)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            # Last held contact and the last-N comfort window per engagement (health sweep).
            models.Index(fields=["engagement", "occurred_at"], name="interaction_when_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(comfort__isnull=True) | Q(comfort__gte=1, comfort__lte=5),
                name="interaction_comfort_1_to_5",
            ),
        ]


class Side(models.TextChoices):
    US = "us", "Us"
    VENDOR = "vendor", "Vendor"


class OpenQuestion(TenantModel):
    """A question one side owes the other an answer to (unanswered ones are warning signs)."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="questions")
    interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="questions"
    )
    question = models.TextField()
    owed_by = models.CharField(max_length=6, choices=Side.choices, help_text="Who owes the answer.")
    asked_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.TextField(blank=True)
    # Who on our side answered (the vendor portal's thread names them); none for old rows.
    answered_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["answered_at", "-asked_at"]
        indexes = [
            models.Index(fields=["engagement", "owed_by", "answered_at"], name="question_open_idx")
        ]


class Risk(TenantModel):
    class Level(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MITIGATED = "mitigated", "Mitigated"
        OCCURRED = "occurred", "Occurred"
        CLOSED = "closed", "Closed"

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="risks")
    description = models.TextField()
    likelihood = models.CharField(max_length=6, choices=Level.choices, default=Level.MEDIUM)
    impact = models.CharField(max_length=6, choices=Level.choices, default=Level.MEDIUM)
    mitigation = models.TextField(blank=True)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["status", "-created_at"]


class ActivityKind(models.TextChoices):
    """What a trace of work in a code forge or tracker was (``WorkActivity.kind``)."""

    COMMITS = "commits", "Commits pushed"
    OPENED = "opened", "Merge request opened"
    UPDATED = "updated", "Merge request updated"
    MERGED = "merged", "Merge request merged"
    CLOSED = "closed", "Merge request closed unmerged"
    ISSUE_OPENED = "issue_opened", "Issue opened"
    ISSUE_CLOSED = "issue_closed", "Issue closed"
    RELEASE = "release", "Release"
    OTHER = "other", "Other activity"


# Work proposed, and work that landed: the watcher's "merged vs opened" facts.
OPENED_KINDS = (ActivityKind.OPENED, ActivityKind.ISSUE_OPENED)
LANDED_KINDS = (ActivityKind.MERGED, ActivityKind.RELEASE, ActivityKind.ISSUE_CLOSED)


class ActivityRule(TenantModel):
    """What forge activity stands for one deliverable: a branch-name glob, a label or a keyword.

    Kept here, beside the deliverable, because the watcher reads it as much as the forges
    read it: the forges route an event to the deliverable whose rule matches; the stall rule
    names the rule in its evidence ("no commit or merge request on `reports/*` for 12 days")
    and counts the silence from when the rule was set, so a deliverable with no rule is never
    "silent" (nothing said where its work would show)."""

    class Match(models.TextChoices):
        BRANCH = "branch", "Branch name (glob)"
        LABEL = "label", "Label"
        KEYWORD = "keyword", "Keyword in a title or commit message"

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="activity_rules"
    )
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.CASCADE, related_name="activity_rules"
    )
    match = models.CharField(max_length=8, choices=Match.choices)
    pattern = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["deliverable", "match", "pattern"], name="activity_rule_once"
            ),
            models.CheckConstraint(
                condition=Q(match__in=["branch", "label", "keyword"]), name="activity_rule_match"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """How the evidence names it: `reports/*`, label “reporting”, “invoice”."""
        if self.match == self.Match.BRANCH:
            return f"`{self.pattern}`"
        if self.match == self.Match.LABEL:
            return f"label “{self.pattern}”"
        return f"“{self.pattern}”"


class WorkActivity(TenantModel):
    """One trace of work where it happens (commits pushed, a merge request, an issue, a
    release), mapped to an engagement and, when a rule matched, a deliverable.

    Written by the forges concern through ``services.record_activity`` (which marks the
    engagement for the watcher); the watcher's facts read it set-based, the engagement page
    and the dashboard draw its sparkline. ``origin`` makes a redelivered or re-derived
    event land once."""

    audited = False  # written by the webhook pipeline, never by a person

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="activities")
    deliverable = models.ForeignKey(
        Deliverable, on_delete=models.SET_NULL, null=True, blank=True, related_name="activities"
    )
    kind = models.CharField(max_length=12, choices=ActivityKind.choices)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=12, help_text="github, gitlab or the generic source")
    repository = models.CharField(max_length=200, blank=True)
    ref = models.CharField(max_length=200, blank=True, help_text="Branch, tag or issue key.")
    title = models.CharField(max_length=300, blank=True)
    url = models.URLField(max_length=500, blank=True)
    count = models.PositiveIntegerField(default=1, help_text="Commits in a push; else 1.")
    # Where it came from (forge:connection:delivery id:event): a redelivered or re-derived
    # event lands once.
    origin = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [
            # The watcher's facts (last activity, recent counts per engagement) and the
            # sparklines of the engagement page and the dashboard.
            models.Index(fields=["engagement", "occurred_at"], name="activity_when_idx"),
            # Last activity per tracked deliverable (facts: silent work).
            models.Index(fields=["deliverable", "occurred_at"], name="activity_deliverable_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["org", "origin"], name="activity_once_per_origin"),
            models.CheckConstraint(
                condition=Q(kind__in=ActivityKind.values), name="activity_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.title or self.ref}"
