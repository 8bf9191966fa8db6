"""What the health watcher knows: the current health of each engagement, a daily snapshot for
the trend, alerts with their history, notification channels, the escalation policy and the
notification outbox.

Exactly-once is enforced here, in the database, not only in Python: one open alert per
engagement (partial unique constraint), one notification per (alert, channel, level,
reminder sequence), one snapshot per engagement and day, one digest per member and day.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet

from .delivery import Engagement

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertStatus",
    "DigestSent",
    "EngagementHealth",
    "EscalationPolicy",
    "HealthSnapshot",
    "Level",
    "Notification",
    "NotificationChannel",
    "NotificationPreference",
    "NotificationState",
    "SweepRun",
]

User = settings.AUTH_USER_MODEL


class Level(models.TextChoices):
    HEALTHY = "healthy", "Healthy"
    WATCH = "watch", "Watch"
    WARNING = "warning", "Warning"
    CUT_LOSSES = "cut_losses", "Cut your losses"


LEVEL_RANK = {Level.HEALTHY: 0, Level.WATCH: 1, Level.WARNING: 2, Level.CUT_LOSSES: 3}


def level_rank(level: str) -> int:
    return LEVEL_RANK[Level(level)]


class EngagementHealthQuerySet(TenantQuerySet):
    def for_dashboard(self) -> "EngagementHealthQuerySet":
        """Active engagements ordered by risk, with what a dashboard row shows."""
        return (
            self.filter(engagement__status="active")
            .select_related("engagement__vendor", "engagement__owner")
            .order_by("score", "engagement_id")  # walks health_org_score_idx, stops early
        )


class EngagementHealth(TenantModel):
    """The watcher's current verdict on one engagement (upserted by the sweep, one row each).

    ``raw_level`` is what the signals say now; ``level`` is what we show and alert on: it
    follows ``raw_level`` up at once and down only after the lower level held for
    ``HEALTH_DEESCALATION_HOLD_HOURS`` (``lower_since``), so alerts do not flap.
    """

    engagement = models.OneToOneField(Engagement, on_delete=models.CASCADE, related_name="health")
    score = models.PositiveSmallIntegerField(default=100)
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.HEALTHY)
    raw_level = models.CharField(max_length=12, choices=Level.choices, default=Level.HEALTHY)
    lower_since = models.DateTimeField(null=True, blank=True)
    # [{"kind", "severity", "evidence", "our_fault", "since"}], strongest first.
    signals = models.JSONField(default=list)
    evaluated_at = models.DateTimeField(default=timezone.now)
    snapshot_on = models.DateField(null=True, blank=True)

    objects = TenantManager.from_queryset(EngagementHealthQuerySet)()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="health_score_0_to_100"),
            models.CheckConstraint(condition=Q(level__in=Level.values), name="health_level_valid"),
        ]
        indexes = [
            # The dashboard's risk table: an organization's engagements, riskiest first.
            models.Index(fields=["org", "score", "engagement"], name="health_org_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.engagement_id}: {self.level} ({self.score})"

    @property
    def top_signal(self) -> dict | None:
        return self.signals[0] if self.signals else None


class SweepRun(models.Model):
    """One full sweep of every active engagement, as of ``at``: is the watcher alive, how fast.

    A full sweep runs in ``chunks`` (ranges of engagement ids), possibly on several workers
    at once; each chunk adds itself when it has committed, and the chunk that completes the
    count stamps ``finished_at``. A chunk redelivered after its worker died may count twice;
    ``finished_at`` is then still stamped once. Installation data, not an organization's.
    """

    at = models.DateTimeField()
    chunks = models.PositiveIntegerField()
    chunks_done = models.PositiveIntegerField(default=0)
    engagements = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["-at"], name="sweeprun_at_idx")]

    def __str__(self) -> str:
        return f"sweep at {self.at:%Y-%m-%d %H:%M}: {self.chunks_done}/{self.chunks} chunks"

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None

    @classmethod
    def last_finished(cls) -> "SweepRun | None":
        return cls.objects.filter(finished_at__isnull=False).first()

    @staticmethod
    def late(last: "SweepRun | None", now, watched) -> bool:
        """No full sweep finished within three sweep intervals: the worker or beat is down,
        and "no alerts" means nothing. Before the first sweep, late only once ``watched``
        (a queryset of engagements) holds an active one."""
        if last is None:
            return watched.filter(status="active").exists()
        return (now - last.finished_at).total_seconds() > 3 * settings.HEALTH_SWEEP_INTERVAL_SECONDS


class HealthSnapshot(TenantModel):
    """The health of one engagement on one day (the last sweep of the day wins): the trend."""

    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="health_snapshots"
    )
    date = models.DateField()
    score = models.PositiveSmallIntegerField()
    level = models.CharField(max_length=12, choices=Level.choices)

    class Meta:
        ordering = ["engagement", "date"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "date"], name="snapshot_one_per_day")
        ]


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
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()} alert on {self.engagement_id}"

    @property
    def is_resolved(self) -> bool:
        return self.status == AlertStatus.RESOLVED


class AlertEvent(TenantModel):
    """One change of an alert: who (None = the watcher), when, from → to, why."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    kind = models.CharField(max_length=20)  # opened, escalated, de-escalated, acknowledged, ...
    from_level = models.CharField(max_length=12, blank=True)
    to_level = models.CharField(max_length=12, blank=True)
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12, blank=True)
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


class NotificationChannel(TenantModel):
    """Where an organization's alerts go besides the dashboard: e-mail to members, or a webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail to members"
        WEBHOOK = "webhook", "Webhook (signed JSON POST)"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)
    url = models.URLField(blank=True, max_length=500)
    secret = models.CharField(max_length=64, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="email") | ~Q(url=""), name="channel_webhook_has_url"
            ),
        ]

    def __str__(self) -> str:
        return self.name


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


class Notification(TenantModel):
    """The outbox: one row per (alert, channel, level, reminder sequence), written in the same
    transaction as the level change and delivered by the dispatcher, which claims a row with
    ``UPDATE … WHERE state = 'pending'`` (one row changed = ours)."""

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
    idempotency_key = models.CharField(max_length=80, unique=True)
    state = models.CharField(
        max_length=8, choices=NotificationState.choices, default=NotificationState.PENDING
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
            # The dispatcher's claim query: due pending rows, stale claims.
            models.Index(fields=["state", "next_attempt_at"], name="notification_due_idx"),
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
