"""What the health watcher knows: the current health of each engagement (upserted by the
sweep), a daily snapshot for the trend, and the record of each full sweep.

One snapshot per engagement and day is enforced in the database.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet
from engagements.delivery.models import Engagement

__all__ = ["EngagementHealth", "HealthSnapshot", "Level", "SweepRun", "WatchMark"]


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
    # The next moment a time-based rule (a threshold, a hold, a snooze, a reminder) could change
    # this verdict without any write; the steady sweep picks the engagement up then. None: never.
    next_check_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager.from_queryset(EngagementHealthQuerySet)()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(score__lte=100), name="health_score_0_to_100"),
            models.CheckConstraint(condition=Q(level__in=Level.values), name="health_level_valid"),
        ]
        indexes = [
            # The dashboard's risk table: an organization's engagements, riskiest first.
            models.Index(fields=["org", "score", "engagement"], name="health_org_score_idx"),
            # The steady sweep: which verdicts are due for a re-check.
            models.Index(
                fields=["next_check_at"],
                name="health_next_check_idx",
                condition=Q(next_check_at__isnull=False),
            ),
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
    # What this full sweep (a reconciliation) had to change that the incremental path (dirty
    # marks and deadlines) had not: 0 in a healthy system.
    fixed = models.PositiveIntegerField(default=0)
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


class WatchMark(models.Model):
    """An engagement marked for re-evaluation: a write its rules read, a decision, a snooze.

    One row per engagement however many writes (coalesced: each mark only bumps ``seq``); the
    steady sweep claims marks in chunks (``claimed_until``: a lease, so a worker killed while
    holding marks only delays them), evaluates, and deletes each mark whose ``seq`` is still the
    one it claimed: a mark made during the evaluation survives it. Installation bookkeeping, not
    an organization's data (the sweep works across organizations).
    """

    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    marked_at = models.DateTimeField()  # the first mark since the last evaluation (the lag)
    seq = models.PositiveBigIntegerField(default=1)
    claimed_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"engagement {self.engagement_id} marked at {self.marked_at:%H:%M:%S} (#{self.seq})"
