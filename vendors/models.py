"""Vendors, their contacts, the vetting evidence log, contracts and per-organization settings.

Every row is a ``TenantModel``; children copy their vendor's ``org``. The scorecard is not
stored: it is one aggregate over ``Evidence`` (see ``vendors.scorecard``). Only the overall
``Vendor.score`` is kept on the row, recomputed by the services that change evidence, so
the vendor list can sort 5,000 vendors by score with an index instead of an aggregate.
"""

import datetime
import uuid
from decimal import Decimal
from pathlib import PurePath

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import CURRENCIES, validate_time_zone
from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet
from outsourcing.formats import day

from . import terms as contract_terms

User = settings.AUTH_USER_MODEL


class VendorStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    VETTING = "vetting", "Vetting"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ACTIVE = "active", "Active"
    OFFBOARDED = "offboarded", "Offboarded"


# Engagements may be opened with these vendors without an override.
ENGAGEABLE_STATUSES = (VendorStatus.APPROVED, VendorStatus.ACTIVE)

# The lifecycle: which status may follow which. Approve/reject go through the decision
# (rationale, override); the others through a plain transition with a reason.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    VendorStatus.PROSPECT: (VendorStatus.VETTING, VendorStatus.APPROVED, VendorStatus.REJECTED),
    VendorStatus.VETTING: (VendorStatus.APPROVED, VendorStatus.REJECTED),
    VendorStatus.APPROVED: (VendorStatus.ACTIVE, VendorStatus.VETTING, VendorStatus.OFFBOARDED),
    VendorStatus.REJECTED: (VendorStatus.VETTING,),
    VendorStatus.ACTIVE: (VendorStatus.OFFBOARDED, VendorStatus.VETTING),
    VendorStatus.OFFBOARDED: (VendorStatus.VETTING,),
}
DECISION_STATUSES = (VendorStatus.APPROVED, VendorStatus.REJECTED)
# A rejected or offboarded vendor is not re-vetted on a schedule.
REVIEWED_STATUSES = (
    VendorStatus.PROSPECT,
    VendorStatus.VETTING,
    VendorStatus.APPROVED,
    VendorStatus.ACTIVE,
)


class Criterion(models.TextChoices):
    EXPERTISE = "expertise", "Expertise in the field"
    PREVIOUS_WORK = "previous_work", "Evidence of previous work"
    BUSINESS = "business", "Understanding of our business"
    FIT = "fit", "Personality and attitude fit"
    COMMUNICATION = "communication", "Communication and responsiveness"
    VALUE = "value", "Value for money"
    GUT = "gut", "Gut feeling"


# Short names for the plain-language summary ("strong expertise, ...").
CRITERION_SHORT = {
    Criterion.EXPERTISE: "expertise",
    Criterion.PREVIOUS_WORK: "previous work",
    Criterion.BUSINESS: "business understanding",
    Criterion.FIT: "attitude fit",
    Criterion.COMMUNICATION: "communication",
    Criterion.VALUE: "value for money",
    Criterion.GUT: "gut feeling",
}


def score_field(criterion: Criterion) -> str:
    return f"score_{criterion.value}"


class EvidenceKind(models.TextChoices):
    REFERENCE = "reference", "Reference check"
    SAMPLE = "sample", "Sample of previous work"
    BACKGROUND = "background", "Background question and answer"
    BUSINESS = "business", "Business-understanding check"
    TRIAL = "trial", "Paid trial task"
    INTERVIEW = "interview", "Interview impression"
    GUT = "gut", "Gut feeling"
    CONTRACT = "contract", "Contract review"
    OTHER = "other", "Other"


def attachment_path(instance: "Attachment", filename: str) -> str:
    """Under the organization's prefix, with an unguessable name; the original name is kept
    on the row (and in the download header), never in the path."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"org-{instance.org_id}/vendors/{uuid.uuid4().hex}{suffix}"


WEIGHT = [MaxValueValidator(10)]  # 0 leaves a criterion out of the score and the flags


class VendorSettings(TenantModel):
    """How one organization weighs the scorecard and how often it re-vets vendors."""

    review_interval_months = models.PositiveSmallIntegerField(
        "review interval (months)",
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Default months between reviews of an approved vendor.",
    )
    weight_expertise = models.PositiveSmallIntegerField(default=3, validators=WEIGHT)
    weight_previous_work = models.PositiveSmallIntegerField(default=3, validators=WEIGHT)
    weight_business = models.PositiveSmallIntegerField(default=2, validators=WEIGHT)
    weight_fit = models.PositiveSmallIntegerField(default=1, validators=WEIGHT)
    weight_communication = models.PositiveSmallIntegerField(default=2, validators=WEIGHT)
    weight_value = models.PositiveSmallIntegerField(default=1, validators=WEIGHT)
    weight_gut = models.PositiveSmallIntegerField(default=1, validators=WEIGHT)

    class Meta:
        verbose_name_plural = "vendor settings"
        constraints = [
            models.UniqueConstraint(fields=["org"], name="vendor_settings_one_per_org"),
            models.CheckConstraint(
                condition=Q(review_interval_months__gte=1), name="vendor_settings_interval_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    **{f"weight_{c.value}__lte": 10 for c in Criterion},
                ),
                name="vendor_settings_weights_at_most_10",
            ),
        ]

    def __str__(self) -> str:
        return f"Vendor settings of org {self.org_id}"

    @classmethod
    def for_org(cls, org) -> "VendorSettings":
        """The organization's settings, or unsaved defaults until an owner saves them (one
        query, never a write: GET pages call it)."""
        org_id = getattr(org, "pk", org)
        return cls.unscoped.filter(org_id=org_id).first() or cls(org_id=org_id)

    @property
    def weights(self) -> dict[str, int]:
        return {c.value: getattr(self, f"weight_{c.value}") for c in Criterion}


class VendorQuerySet(TenantQuerySet):
    def engageable(self) -> "VendorQuerySet":
        return self.filter(status__in=ENGAGEABLE_STATUSES)

    def _expired_evidence(self, on: datetime.date) -> Exists:
        return Exists(
            Evidence.unscoped.filter(
                vendor_id=OuterRef("pk"), deleted_at__isnull=True, expires_on__lte=on
            )
        )

    def needing_review(self, at: datetime.datetime) -> "VendorQuerySet":
        """Vendors (not rejected or offboarded) whose review date has come, or with live
        evidence expired, as of ``at``. One query, whatever the number of vendors."""
        on = at.date()
        return self.filter(status__in=REVIEWED_STATUSES).filter(
            Q(review_due_on__lte=on) | self._expired_evidence(on)
        )

    def with_review_flag(self, at: datetime.datetime) -> "VendorQuerySet":
        """Annotate ``needs_review`` (a boolean) for list pages: a subquery, not a query per row."""
        on = at.date()
        return self.annotate(
            needs_review=Q(status__in=REVIEWED_STATUSES)
            & (Q(review_due_on__lte=on) | self._expired_evidence(on))
        )

    def filter_for_list(
        self, *, q: str = "", status: str = "", specialty: str = ""
    ) -> "VendorQuerySet":
        """The vendor list's filters, the same on the list page and in the API: words in the
        name, description or specialties, a status, a specialty; empty ones do nothing."""
        queryset = self
        if q := q.strip():
            queryset = queryset.filter(
                Q(name__icontains=q) | Q(description__icontains=q) | Q(specialties__icontains=q)
            )
        if status:
            queryset = queryset.filter(status=status)
        if specialty := specialty.strip():
            queryset = queryset.filter(specialties__icontains=specialty)
        return queryset

    def search(
        self, *, q: str = "", status: str = "", specialty: str = "", sort: str = "name"
    ) -> "VendorQuerySet":
        """The vendor list page: its filters, sorted by name, score (best first) or recent."""
        queryset = self.filter_for_list(q=q, status=status, specialty=specialty)
        order = {
            "score": [models.F("score").desc(nulls_last=True), "name"],
            "recent": ["-created_at", "name"],
        }.get(sort, ["name"])
        return queryset.order_by(*order)


class Vendor(TenantModel):
    """An outside firm or freelancer we consider hiring, or have hired."""

    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField("what they do", blank=True)
    specialties = models.CharField(
        max_length=300, blank=True, help_text="Comma-separated, e.g. web development, design."
    )
    rate = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Usual rate per day.",
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    time_zone = models.CharField(
        max_length=64, blank=True, validators=[validate_time_zone], help_text="e.g. Europe/Kyiv"
    )
    status = models.CharField(
        max_length=12, choices=VendorStatus.choices, default=VendorStatus.PROSPECT
    )
    review_interval_months = models.PositiveSmallIntegerField(
        "review interval (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Leave empty for the organization's default.",
    )
    # Set by the decision to approve (last_reviewed_at + interval); needing_review() uses it.
    last_reviewed_at = models.DateTimeField(null=True, blank=True)
    review_due_on = models.DateField(null=True, blank=True)
    # Weighted overall score 1-5, recomputed by the evidence services (vendor list sorts by it).
    score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Kept by the services that change the row; the API's ``updated_since`` sync reads it.
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantManager.from_queryset(VendorQuerySet)()

    class Meta:
        ordering = ["name"]
        constraints = [
            # One name per organization whatever its case: the form, the CSV import and the
            # API refuse "acme" beside "Acme" (a Conflict on the name); this decides a race.
            models.UniqueConstraint(
                Lower("name"),
                "org",
                name="vendor_name_ci_unique_per_org",
                violation_error_message="A vendor with this name already exists.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=VendorStatus.values), name="vendor_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5),
                name="vendor_score_1_to_5",
            ),
        ]
        indexes = [
            # vendor list: filter by status, sort by score (VendorQuerySet.search)
            models.Index(fields=["org", "status"], name="vendor_org_status"),
            models.Index(fields=["org", "score"], name="vendor_org_score"),
            # needing_review(): the health watcher's sweep
            models.Index(fields=["review_due_on"], name="vendor_review_due"),
            # API: GET /api/v1/vendors?updated_since=… (sync by change time)
            models.Index(fields=["org", "updated_at", "id"], name="vendor_org_updated"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def specialty_list(self) -> list[str]:
        return [s.strip() for s in self.specialties.split(",") if s.strip()]

    @property
    def allowed_transitions(self) -> tuple[str, ...]:
        return TRANSITIONS.get(self.status, ())

    @property
    def is_engageable(self) -> bool:
        return self.status in ENGAGEABLE_STATUSES

    @property
    def awaiting_decision(self) -> bool:
        return any(s in DECISION_STATUSES for s in self.allowed_transitions)

    @property
    def other_transitions(self) -> list[str]:
        """Lifecycle steps that are not a decision (start vetting, activate, offboard)."""
        return [s for s in self.allowed_transitions if s not in DECISION_STATUSES]

    def review_reasons(self, at: datetime.datetime) -> list[str]:
        """Why this vendor needs review as of ``at``, as sentences; empty if it does not.

        Queries the vendor's evidence (one query)."""
        if self.status not in REVIEWED_STATUSES:
            return []
        on = at.date()
        reasons = []
        if self.review_due_on and self.review_due_on <= on:
            reasons.append(f"review was due on {day(self.review_due_on)}")
        expired = Evidence.unscoped.filter(
            vendor_id=self.pk, deleted_at__isnull=True, expires_on__lte=on
        ).order_by("expires_on", "pk")
        for evidence in expired:
            reasons.append(
                f"{evidence.get_kind_display().lower()} “{evidence.summary[:60]}” expired on "
                f"{day(evidence.expires_on)}"
            )
        return reasons


class VendorStatusChange(TenantModel):
    """One step of a vendor's lifecycle: who, when, why (and any override of flags)."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=VendorStatus.choices)
    to_status = models.CharField(max_length=12, choices=VendorStatus.choices)
    reason = models.TextField()
    override = models.BooleanField(default=False)
    overridden_flags = models.TextField(blank=True)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="vendor_status_change_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor_id}: {self.from_status} → {self.to_status}"

    @property
    def is_review(self) -> bool:
        return self.from_status == self.to_status


class VendorContact(TenantModel):
    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=120, blank=True)
    email = models.EmailField("e-mail", blank=True)
    phone = models.CharField(max_length=40, blank=True)
    is_primary = models.BooleanField("primary contact", default=False)

    class Meta:
        ordering = ["-is_primary", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor"], condition=Q(is_primary=True), name="vendor_one_primary_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class EvidenceQuerySet(TenantQuerySet):
    def live(self) -> "EvidenceQuerySet":
        return self.filter(deleted_at__isnull=True)

    def for_log(self) -> "EvidenceQuerySet":
        """The evidence log of a vendor page: people and attachments loaded up front."""
        return self.select_related("recorded_by", "deleted_by").prefetch_related("attachments")


class Evidence(TenantModel):
    """One entry of a vendor's vetting log: what we saw or were told, and how much it proves."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="evidence")
    kind = models.CharField(max_length=12, choices=EvidenceKind.choices)
    summary = models.TextField()
    link = models.URLField(blank=True, max_length=500)
    verified = models.BooleanField(
        default=False, help_text="Hard evidence we saw ourselves, not only the vendor's claim."
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    expires_on = models.DateField(
        null=True, blank=True, help_text="e.g. an insurance certificate's end date."
    )
    score_expertise = models.PositiveSmallIntegerField(null=True, blank=True)
    score_previous_work = models.PositiveSmallIntegerField(null=True, blank=True)
    score_business = models.PositiveSmallIntegerField(null=True, blank=True)
    score_fit = models.PositiveSmallIntegerField(null=True, blank=True)
    score_communication = models.PositiveSmallIntegerField(null=True, blank=True)
    score_value = models.PositiveSmallIntegerField(null=True, blank=True)
    score_gut = models.PositiveSmallIntegerField(null=True, blank=True)
    # Optimistic locking: an edit names the version it started from (update_evidence).
    version = models.PositiveIntegerField(default=1)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantManager.from_queryset(EvidenceQuerySet)()

    class Meta:
        verbose_name_plural = "evidence"
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{score_field(c)}__isnull": True})
                    | Q(**{f"{score_field(c)}__gte": 1, f"{score_field(c)}__lte": 5}),
                    name=f"evidence_{c.value}_1_to_5",
                )
                for c in Criterion
            ),
            models.CheckConstraint(condition=~Q(summary=""), name="evidence_has_summary"),
        ]
        indexes = [
            # needing_review(): expired live evidence per vendor
            models.Index(fields=["vendor", "expires_on"], name="evidence_vendor_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary[:40]}"

    @property
    def scores(self) -> list[tuple[str, int]]:
        return [
            (CRITERION_SHORT[c], getattr(self, score_field(c)))
            for c in Criterion
            if getattr(self, score_field(c))
        ]


class EvidenceRevision(TenantModel):
    """The state of an evidence entry before an edit: editing never loses what was there."""

    evidence = models.ForeignKey(Evidence, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    edited_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    edited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence", "version"], name="evidence_revision_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"evidence {self.evidence_id} v{self.version}"


class NoticeUnit(models.TextChoices):
    DAYS = contract_terms.DAYS, "days"
    MONTHS = contract_terms.MONTHS, "months"


class PaymentSchedule(models.TextChoices):
    NONE = contract_terms.NO_SCHEDULE, "No fixed schedule"
    INSTALMENTS = contract_terms.INSTALMENTS, "Fixed instalments"
    MILESTONES = contract_terms.MILESTONES, "Tied to milestones (their deliverables' value)"


class ContractQuerySet(TenantQuerySet):
    def undecided(self, at: datetime.datetime) -> "ContractQuerySet":
        """Contracts that may still have a decision open at ``at``: an end date, renewing (or
        a fixed term not over yet in any time zone), no notice given. ``with_outlooks`` says
        which really do, on each organization's day."""
        before_any_today = at.date() - datetime.timedelta(days=2)
        return (
            self.filter(end_date__isnull=False)
            .filter(Q(auto_renews=True) | Q(end_date__gt=before_any_today))
            .exclude(decisions__kind=contract_terms.GIVE_NOTICE)
        )

    def with_outlooks(
        self, at: datetime.datetime
    ) -> list[tuple["Contract", "contract_terms.Outlook"]]:
        """Each contract with its outlook on its organization's day of ``at``: three queries
        (contracts with their organization and vendor, decisions), whatever their number."""
        contracts = list(self.select_related("org", "vendor"))
        decisions: dict[int, list[ContractDecision]] = {}
        for d in ContractDecision.unscoped.filter(contract__in=contracts).order_by("at", "pk"):
            decisions.setdefault(d.contract_id, []).append(d)
        return [
            (c, c.outlook(contract_terms.local_day(at, c.org.tzinfo), decisions.get(c.pk, [])))
            for c in contracts
        ]


class Contract(TenantModel):
    """A contract with a vendor: its terms as data (what the watcher reads to say when cutting
    losses is still cheap) and the checklist of what a reliable contract covers.

    The decide-by date is never stored: it moves with the calendar (a renewing contract's next
    term) and with the decisions, so ``terms()`` computes it (``vendors.terms``)."""

    CHECKLIST = (
        ("has_termination", "termination clause"),
        ("has_acceptance", "acceptance of deliverables"),
        ("has_ip_ownership", "ownership of the work (IP)"),
        ("has_confidentiality", "confidentiality"),
        ("has_payment_milestones", "payment schedule tied to milestones"),
        ("has_named_contacts", "a named contact on both sides"),
    )
    TERM_FIELDS = (
        "start_date",
        "end_date",
        "auto_renews",
        "renewal_months",
        "notice_period",
        "notice_unit",
        "termination_for_convenience",
        "termination_fee",
        "payment_schedule",
        "instalment_amount",
        "instalment_months",
        "value",
        "currency",
    )

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="contracts")
    title = models.CharField(max_length=200)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(
        "end of the first term", null=True, blank=True, help_text="The end date the contract names."
    )
    value = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    payment_terms = models.CharField(max_length=200, blank=True, help_text="e.g. 30 days net")
    notice_period = models.PositiveSmallIntegerField(
        "notice period",
        null=True,
        blank=True,
        validators=[MaxValueValidator(3650)],
        help_text="How long before an end notice must be given.",
    )
    notice_unit = models.CharField(
        "notice in", max_length=6, choices=NoticeUnit.choices, default=NoticeUnit.DAYS
    )
    auto_renews = models.BooleanField(
        "renews automatically",
        default=False,
        help_text="Evergreen: it renews unless notice is given.",
    )
    renewal_months = models.PositiveSmallIntegerField(
        "renewal term (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
    )
    termination_for_convenience = models.BooleanField(
        "termination for convenience",
        default=False,
        help_text="We may end it at any time by giving notice.",
    )
    termination_fee = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    payment_schedule = models.CharField(
        max_length=12, choices=PaymentSchedule.choices, default=PaymentSchedule.NONE, blank=True
    )
    instalment_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    instalment_months = models.PositiveSmallIntegerField(
        "an instalment every (months)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(24)],
    )
    has_termination = models.BooleanField("termination clause", default=False)
    has_acceptance = models.BooleanField("acceptance of deliverables", default=False)
    has_ip_ownership = models.BooleanField("ownership of the work (IP)", default=False)
    has_confidentiality = models.BooleanField("confidentiality", default=False)
    has_payment_milestones = models.BooleanField(
        "payment schedule tied to milestones", default=False
    )
    has_named_contacts = models.BooleanField("a named contact on both sides", default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    objects = TenantManager.from_queryset(ContractQuerySet)()
    # Across organizations (the reminders' hourly pass): the same queryset methods.
    unscoped = models.Manager.from_queryset(ContractQuerySet)()

    class Meta:
        ordering = ["-start_date", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_date__isnull=True)
                | Q(end_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="contract_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(auto_renews=False)
                | Q(renewal_months__isnull=False, end_date__isnull=False),
                name="contract_renewal_has_term",
            ),
            models.CheckConstraint(
                condition=Q(notice_unit__in=NoticeUnit.values), name="contract_notice_unit_valid"
            ),
            models.CheckConstraint(
                condition=Q(payment_schedule__in=PaymentSchedule.values),
                name="contract_schedule_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def missing_items(self) -> list[str]:
        return [label for field, label in self.CHECKLIST if not getattr(self, field)]

    def terms(self, decisions=None) -> contract_terms.Terms:
        """The terms as plain values with the decisions taken (``decisions``: rows already
        loaded; else ``self.decisions.all()``, one query unless prefetched)."""
        rows = self.decisions.all() if decisions is None else decisions
        return contract_terms.Terms(
            start=self.start_date,
            end=self.end_date,
            auto_renews=self.auto_renews,
            renewal_months=self.renewal_months,
            notice_period=self.notice_period,
            notice_unit=self.notice_unit,
            termination_for_convenience=self.termination_for_convenience,
            termination_fee=self.termination_fee,
            schedule=self.payment_schedule,
            instalment_amount=self.instalment_amount,
            instalment_months=self.instalment_months,
            value=self.value,
            currency=self.currency,
            decisions=tuple(d.as_terms() for d in rows),
        )

    def outlook(self, on: datetime.date, decisions=None) -> contract_terms.Outlook:
        """The contract on the organization's day ``on``: decide-by date, renewal, exit."""
        return contract_terms.outlook(self.terms(decisions), on)

    @property
    def notice_text(self) -> str:
        return contract_terms.notice_words(self.terms(decisions=())) if self.notice_period else ""


class ContractDecisionKind(models.TextChoices):
    RENEW = contract_terms.RENEW, "Renew"
    GIVE_NOTICE = contract_terms.GIVE_NOTICE, "Give notice"


class ContractDecision(TenantModel):
    """The decision a decide-by date asks for: renew for another term, or give notice. Ends the
    reminders of that term; notice also fixes when the contract stops (``exit_on``)."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="decisions")
    kind = models.CharField(max_length=12, choices=ContractDecisionKind.choices)
    reason = models.TextField()
    term_end = models.DateField(help_text="The term end this decision was about.")
    decided_on = models.DateField(help_text="The organization's day it was taken.")
    exit_on = models.DateField(null=True, blank=True, help_text="Notice: when the contract stops.")
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [
            # One decision per term end: two people clicking at once cannot both decide.
            models.UniqueConstraint(
                fields=["contract", "term_end"], name="contract_decision_once_per_term"
            ),
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(kind="give_notice"),
                name="contract_notice_once",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="contract_decision_has_reason"),
            models.CheckConstraint(
                condition=Q(kind__in=ContractDecisionKind.values), name="contract_decision_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.term_end})"

    def as_terms(self) -> contract_terms.Decision:
        return contract_terms.Decision(self.kind, self.term_end, self.decided_on, self.exit_on)


class Attachment(TenantModel):
    """A file attached to an evidence entry or a contract; served only to the org's members."""

    vendor = models.ForeignKey(Vendor, on_delete=models.CASCADE, related_name="attachments")
    evidence = models.ForeignKey(
        Evidence, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to=attachment_path, max_length=300)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)
    uploaded_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(evidence__isnull=False) | Q(contract__isnull=False),
                name="attachment_belongs_somewhere",
            ),
        ]

    def __str__(self) -> str:
        return self.original_name
