from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet


class VendorStatus(models.TextChoices):
    PROSPECT = "prospect", "Prospect"
    VETTING = "vetting", "Vetting"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ACTIVE = "active", "Active"
    OFFBOARDED = "offboarded", "Offboarded"


# Engagements may be opened with these vendors without an override.
ENGAGEABLE_STATUSES = (VendorStatus.APPROVED, VendorStatus.ACTIVE)


class VendorQuerySet(TenantQuerySet):
    def engageable(self) -> "VendorQuerySet":
        return self.filter(status__in=ENGAGEABLE_STATUSES)

    def needing_review(self, at) -> "VendorQuerySet":
        """Vendors whose vetting evidence expired or whose review is due at ``at``.

        Stand-in: replaced by the vendors issue (which owns the vetting fields).
        """
        return self.none()


class Vendor(TenantModel):
    """An outside firm or freelancer we consider hiring, or have hired."""

    name = models.CharField(max_length=200)
    website = models.URLField(blank=True)
    description = models.TextField("what they do", blank=True)
    status = models.CharField(
        max_length=12, choices=VendorStatus.choices, default=VendorStatus.PROSPECT
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantManager.from_queryset(VendorQuerySet)()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="vendor_name_unique_per_org"),
            models.CheckConstraint(
                condition=models.Q(status__in=VendorStatus.values), name="vendor_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.name
