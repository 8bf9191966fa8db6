"""Code forges and trackers: the organization's webhook connections, which repository belongs to
which engagement, and the log of every delivery that reached us.

``ForgeDelivery`` keeps every call to a webhook address, whatever became of it (routed, waiting
in triage, ignored, a duplicate, refused with a reason and the status we answered), so the
owner can see why a forge's delivery failed and nothing mapped later is lost: a delivery from
a repository nobody mapped keeps its payload until someone assigns the repository. A call to an
address that is no connection of ours has no ``org``: tenants never see it, staff can.

The traces of work these deliveries carry are ``WorkActivity`` rows of delivery (with the
deliverable rules, ``ActivityRule``): the health watcher reads them without knowing forges.
None of these rows is exported: the secrets are credentials, the payloads bulky.
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantModel

__all__ = ["ForgeConnection", "ForgeDelivery", "ForgeRepository"]


class Forge(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    GENERIC = "generic", "Other tool (generic JSON)"


def new_token() -> str:
    return secrets.token_urlsafe(18)


def new_secret() -> str:
    return secrets.token_hex(32)


class ForgeConnection(TenantModel):
    """One webhook address of the organization for one forge, with the secret that signs it.

    The address carries ``token`` (which connection); ``secret`` verifies each call (GitHub:
    the HMAC key; GitLab: the token it sends; generic: the HMAC key). The secret is kept in
    clear because verifying an HMAC needs it; it is shown once, when made or rotated. After a
    rotation the previous secret still verifies until ``previous_until``, so the forge's
    setting can be changed without losing deliveries in between."""

    exportable = False

    forge = models.CharField(max_length=8, choices=Forge.choices)
    name = models.CharField(max_length=100)
    token = models.CharField(max_length=40, unique=True, default=new_token)
    secret = models.CharField(max_length=64, default=new_secret)
    previous_secret = models.CharField(max_length=64, blank=True)
    previous_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["revoked_at", "name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_forge_display()})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def secrets_at(self, at) -> list[str]:
        """The secrets that verify a call at ``at``: the current one, and the previous one
        within its grace period after a rotation."""
        found = [self.secret]
        if self.previous_secret and self.previous_until and at < self.previous_until:
            found.append(self.previous_secret)
        return found


class ForgeRepository(TenantModel):
    """A repository or project (GitHub ``owner/name``, GitLab ``group/project``, a generic
    tool's ``repository``) ↔ an engagement; no engagement: its deliveries are ignored."""

    exportable = False

    forge = models.CharField(max_length=8, choices=Forge.choices)
    repository = models.CharField(max_length=200, help_text="Full path, lower-case.")
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="forge_repositories",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["forge", "repository"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "forge", "repository"], name="forge_repository_once"
            )
        ]

    def __str__(self) -> str:
        return self.repository


class ForgeDelivery(TenantModel):
    """One call to a webhook address, and what became of it."""

    exportable = False
    audited = False  # written by the webhook pipeline; a person's triage is audited as the mapping

    class Status(models.TextChoices):
        ROUTED = "routed", "Routed to an engagement"
        TRIAGE = "triage", "Waiting in triage"
        IGNORED = "ignored", "Ignored"
        DUPLICATE = "duplicate", "Duplicate (replayed)"
        REFUSED = "refused", "Refused"

    # Null: the address is no connection of ours (kept, with the reason, for staff only).
    org = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    connection = models.ForeignKey(
        ForgeConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    forge = models.CharField(max_length=8)
    event = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=40, blank=True)
    delivery_id = models.CharField(max_length=100, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    http_status = models.PositiveSmallIntegerField()
    size = models.PositiveIntegerField(default=0)
    payload = models.JSONField(null=True, blank=True)  # kept while it may still be derived
    repository = models.CharField(max_length=200, blank=True)
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    activities = models.PositiveIntegerField(default=0)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    ACCEPTED = (Status.ROUTED, Status.TRIAGE, Status.IGNORED)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name_plural = "forge deliveries"
        indexes = [
            # The owner's deliveries log (newest first, by status) and the triage list.
            models.Index(fields=["org", "status", "received_at"], name="forge_delivery_status_idx"),
            models.Index(fields=["org", "received_at"], name="forge_delivery_log_idx"),
            # Assigning a repository in triage re-routes its waiting deliveries.
            models.Index(
                fields=["org", "forge", "repository", "status"], name="forge_delivery_repo_idx"
            ),
        ]
        constraints = [
            # Idempotent on the forge's delivery id per connection: a redelivery or a replay
            # is a duplicate row pointing at the first; this decides a race between two workers.
            models.UniqueConstraint(
                fields=["connection", "delivery_id"],
                condition=Q(status__in=["routed", "triage", "ignored"]),
                name="forge_delivery_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.forge} {self.event or '?'} {self.delivery_id or ''}".strip()
