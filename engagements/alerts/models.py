"""Alerts with their history, notification channels, the escalation policy, the
notification outbox and the digest's record.

Exactly-once is enforced here, in the database, not only in Python: one open alert per
engagement (partial unique constraint), one notification per (alert, channel, level,
reminder sequence), one digest per member and day.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet
from engagements.delivery.models import Engagement
from engagements.watch.models import Level

__all__ = [
    "MAX_REMIND_HOURS",
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "DigestSent",
    "EscalationPolicy",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "NotificationState",
]

User = settings.AUTH_USER_MODEL


class AlertStatus(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"


class AlertQuerySet(TenantQuerySet):
    def unresolved(self) -> "AlertQuerySet":
        return self.exclude(status=AlertStatus.RESOLVED)

    def for_list(self) -> "AlertQuerySet":
        return self.select_related("engagement__vendor", "engagement__owner", "acknowledged_by")

    def filter_for_list(
        self, *, status: str = "", level: str = "", engagement=None, owner=None, vendor=None
    ) -> "AlertQuerySet":
        """The alert list's filters, the same on the dashboard and in the API: a status (none:
        every alert not resolved), a level, an engagement, its owner or its vendor (rows or ids)."""
        queryset = self.filter(status=status) if status else self.unresolved()
        if level:
            queryset = queryset.filter(level=level)
        if engagement:
            queryset = queryset.filter(engagement=engagement)
        if owner:
            queryset = queryset.filter(engagement__owner=owner)
        if vendor:
            queryset = queryset.filter(engagement__vendor=vendor)
        return queryset


class Alert(TenantModel):
    """A health alert: opened by the watcher at watch or above, one unresolved per engagement."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="alerts")
    level = models.CharField(max_length=12, choices=Level.choices)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    opened_at = models.DateTimeField(default=timezone.now)
    level_changed_at = models.DateTimeField(default=timezone.now)
    acknowledged_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    # Resolved by hand: the signals then, ``{kind: severity}``. The watcher opens no new alert
    # on the engagement until one of them gets worse or a new kind appears (then it is
    # cleared); None: no hold (resolved by the watcher, or closed by a decision).
    held_signals = models.JSONField(null=True, blank=True)

    objects = TenantManager.from_queryset(AlertQuerySet)()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # Two overlapping sweeps can never open a second alert for one engagement.
            models.UniqueConstraint(
                fields=["engagement"],
                condition=~Q(status="resolved"),
                name="alert_one_unresolved_per_engagement",
            ),
            models.CheckConstraint(condition=Q(level__in=Level.values), name="alert_level_valid"),
            models.CheckConstraint(
                condition=Q(status__in=AlertStatus.values), name="alert_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False),
                name="alert_snoozed_has_until",
            ),
        ]
        indexes = [
            # Dashboard and sweep: unresolved alerts of an organization / of all.
            models.Index(fields=["org", "status"], name="alert_org_status_idx"),
            # The sweep: the few resolved alerts that still hold back a new one.
            models.Index(
                fields=["engagement"],
                condition=Q(held_signals__isnull=False),
                name="alert_held_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert on {self.engagement_id}"

    @property
    def is_resolved(self) -> bool:
        return self.status == AlertStatus.RESOLVED


class EventKind(models.TextChoices):
    """What happened to an alert (``AlertEvent.kind``)."""

    OPENED = "opened", "Opened"
    ESCALATED = "escalated", "Escalated"
    DE_ESCALATED = "de-escalated", "Eased"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    SNOOZED = "snoozed", "Snoozed"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class AlertEvent(TenantModel):
    """One change of an alert: who (None = the watcher), when, from → to, why."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Choices so every page (the alert's history, the audit trail) shows labels, never codes.
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    from_level = models.CharField(max_length=12, blank=True, choices=Level.choices)
    to_level = models.CharField(max_length=12, blank=True, choices=Level.choices)
    from_status = models.CharField(max_length=12, blank=True, choices=AlertStatus.choices)
    to_status = models.CharField(max_length=12, blank=True, choices=AlertStatus.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            # A bulk open by two overlapping sweeps records "opened" once.
            models.UniqueConstraint(
                fields=["alert"], condition=Q(kind="opened"), name="alert_event_opened_once"
            ),
        ]

    @property
    def who(self) -> str:
        return str(self.by) if self.by_id else "watcher"

    @property
    def kind_label(self) -> str:
        return event_kind_label(self.kind)

    @property
    def from_level_label(self) -> str:
        return level_label(self.from_level)

    @property
    def to_level_label(self) -> str:
        return level_label(self.to_level)

    @property
    def from_status_label(self) -> str:
        return _label(AlertStatus, self.from_status)

    @property
    def to_status_label(self) -> str:
        return _label(AlertStatus, self.to_status)


def _label(choices, value: str) -> str:
    """The display label of a stored code ("" stays ""; an unknown code reads as words)."""
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value.replace("_", " ").replace("-", " ").capitalize()


def level_label(value: str) -> str:
    return _label(Level, value)


def event_kind_label(kind: str) -> str:
    return _label(EventKind, kind)


MAX_REMIND_HOURS = 720  # a month: a channel's reminders, as the escalation policy's cadences


class NotificationChannel(TenantModel):
    """Where an organization's alerts go besides the dashboard: e-mail to members, a webhook,
    or a chat or paging service through Apprise (``chat.py``)."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail to members"
        WEBHOOK = "webhook", "Webhook (signed JSON POST)"
        APPRISE = "apprise", "Chat or paging (Apprise URL)"

    # The Apprise URL carries the service's credentials (tokens, passwords): never exported,
    # never audited, never shown back; ``url`` holds its masked form for people and the trail.
    secret_fields = ("apprise_url",)

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)
    # A webhook's endpoint; for an Apprise channel the masked URL (``slack://T...2/B...D/x...Q/``).
    url = models.CharField("URL", blank=True, max_length=500)
    secret = models.CharField(max_length=64, blank=True)
    apprise_url = models.CharField("Apprise URL", blank=True, max_length=2000)
    # Hours between reminders on this channel while an alert stays open; None: the escalation
    # policy's cadence for the level; 0: no reminders here. Levels the policy never reminds
    # at stay quiet whatever this says.
    remind_hours = models.PositiveSmallIntegerField(
        "Remind every (hours)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_REMIND_HOURS)],
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="email") | ~Q(url=""), name="channel_webhook_has_url"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["email", "webhook", "apprise"]), name="channel_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(remind_hours__isnull=True) | Q(remind_hours__lte=MAX_REMIND_HOURS),
                name="channel_remind_hours_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def secrets_withheld(self) -> None:
        """Imported without its Apprise URL (never exported): paused until one is entered."""
        self.is_active = False

    def remind_every(self, level_hours: int) -> int:
        """Hours between reminders on this channel at a level the policy reminds every
        ``level_hours`` at (0: none)."""
        if not level_hours:
            return 0
        return level_hours if self.remind_hours is None else self.remind_hours


AUDIENCES = {
    "engagement_owner": "the engagement's owner",
    "managers": "all managers",
    "owners": "all owners",
}


class EscalationPolicy(TenantModel):
    """Who is told at which level, and how often they are reminded while nobody acknowledges.

    One row per organization; without a row, ``EscalationPolicy.default(org)`` applies.
    Audiences are keys of ``AUDIENCES``; a reminder cadence of 0 means no reminders.
    """

    watch_audience = models.JSONField(default=list)
    warning_audience = models.JSONField(default=list)
    cut_losses_audience = models.JSONField(default=list)
    watch_remind_hours = models.PositiveSmallIntegerField(default=0)
    warning_remind_hours = models.PositiveSmallIntegerField(default=24)
    cut_losses_remind_hours = models.PositiveSmallIntegerField(default=4)

    DEFAULT_AUDIENCE = {
        Level.WATCH: ["engagement_owner"],
        Level.WARNING: ["engagement_owner", "managers"],
        Level.CUT_LOSSES: ["engagement_owner", "managers", "owners"],
    }

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="escalation_policy_per_org")]
        verbose_name_plural = "escalation policies"

    @classmethod
    def for_org(cls, org_id: int) -> "EscalationPolicy":
        """The organization's saved policy, or the default one."""
        return cls.unscoped.filter(org_id=org_id).first() or cls.default(org_id)

    @classmethod
    def default(cls, org_id: int) -> "EscalationPolicy":
        return cls(
            org_id=org_id,
            watch_audience=cls.DEFAULT_AUDIENCE[Level.WATCH],
            warning_audience=cls.DEFAULT_AUDIENCE[Level.WARNING],
            cut_losses_audience=cls.DEFAULT_AUDIENCE[Level.CUT_LOSSES],
        )

    def audience(self, level: str) -> list[str]:
        return list(getattr(self, f"{level}_audience", []) or [])

    def remind_hours(self, level: str) -> int:
        return int(getattr(self, f"{level}_remind_hours", 0) or 0)


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    # Queued but no longer wanted: the engagement left the watcher (paused, completed,
    # terminated) before the row was sent.
    CANCELLED = "cancelled", "Cancelled"


class Notification(TenantModel):
    """The outbox: one row per (alert, channel, level, reminder sequence), or per (contract,
    decide-by date, days left, channel) for a contract's reminder, written in the same
    transaction as the level change and delivered by the dispatcher, which claims batches with
    ``UPDATE … WHERE state = 'pending'`` on rows locked ``FOR UPDATE SKIP LOCKED`` (a row is
    claimed by one run only; ``claimed_at`` identifies the claim)."""

    exportable = False  # outbox state of this installation; importing it elsewhere would re-send

    alert = models.ForeignKey(
        Alert, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    channel = models.ForeignKey(
        NotificationChannel, on_delete=models.CASCADE, related_name="notifications"
    )
    level = models.CharField(max_length=12, choices=Level.choices)
    sequence = models.PositiveSmallIntegerField(default=0)  # 0 = first, n = n-th reminder
    is_test = models.BooleanField(default=False)
    # A contract's decide-by reminder (no alert): ``sequence`` is the days left (30, 7, 1),
    # the words are written when it is queued, ``owner`` is "the engagement's owner" of the
    # escalation policy (the engagement's, else whoever recorded the contract).
    contract = models.ForeignKey(
        "vendors.Contract", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    decide_by = models.DateField(null=True, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(
        max_length=12, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Notified once per channel and level (plus the reminders the policy asks for).
            models.UniqueConstraint(
                fields=["alert", "channel", "level", "sequence"], name="notification_once"
            ),
            models.CheckConstraint(
                condition=Q(state__in=NotificationState.values), name="notification_state_valid"
            ),
        ]
        indexes = [
            # alerts.reminders: the reminders already queued for the contracts of a chunk.
            models.Index(
                fields=["contract", "decide_by"],
                condition=Q(contract__isnull=False),
                name="notification_contract_idx",
            ),
            # The dispatcher's claim walks undelivered rows in due order and stops at its
            # batch: partial, so the sent history (most of the table) is not in it.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=Q(state__in=["pending", "claimed"]),
                name="notification_undelivered_idx",
            ),
        ]


class NotificationPreference(TenantModel):
    """A member's own notification choices in one organization (absent row = defaults)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    daily_digest = models.BooleanField(
        default=True, help_text="A daily e-mail listing the open alerts."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user"], name="notification_pref_per_member")
        ]


class DigestSent(TenantModel):
    """The daily digest went to this member on this day (a second run sends nothing)."""

    exportable = False  # delivery bookkeeping of this installation

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "user", "date"], name="digest_once_per_day")
        ]
