"""Vendor portal links: a private, expiring, revocable link for one vendor contact to one
engagement's brief. Only the SHA-256 of the link's token is stored."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet

__all__ = ["PortalAccess"]


class PortalAccessQuerySet(TenantQuerySet):
    def usable(self, at=None) -> "PortalAccessQuerySet":
        """Links that still open the portal: not revoked, not expired."""
        at = at or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=at)


class PortalAccess(TenantModel):
    """One vendor contact's link to one engagement's portal."""

    exportable = False  # a credential of this installation, never part of an organization export

    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="portal_accesses"
    )
    contact = models.ForeignKey(
        "vendors.VendorContact", on_delete=models.CASCADE, related_name="portal_accesses"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantManager.from_queryset(PortalAccessQuerySet)()

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "portal accesses"
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="portal_access_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Portal link of contact {self.contact_id} to engagement {self.engagement_id}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.revoked_at is None and self.expires_at > at
