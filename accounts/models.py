import hashlib
import secrets
import zoneinfo
from datetime import timedelta

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from outsourcing.formats import DEFAULT_LOCALE, LOCALE_CHOICES

from .audit import buffered_entry, current_channel
from .tenancy import TenantModel

CURRENCIES = [
    ("EUR", "EUR — euro"),
    ("USD", "USD — US dollar"),
    ("GBP", "GBP — pound sterling"),
    ("CHF", "CHF — Swiss franc"),
    ("CAD", "CAD — Canadian dollar"),
    ("AUD", "AUD — Australian dollar"),
    ("JPY", "JPY — yen"),
    ("SEK", "SEK — Swedish krona"),
    ("DKK", "DKK — Danish krone"),
    ("NOK", "NOK — Norwegian krone"),
    ("PLN", "PLN — złoty"),
    ("INR", "INR — Indian rupee"),
    ("BRL", "BRL — real"),
    ("UAH", "UAH — hryvnia"),
]


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


def hash_token(token: str) -> str:
    """Tokens in links are stored as SHA-256: a leaked table opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        if not email:
            raise ValueError("Users need an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person; logs in with the e-mail address. Roles live on Membership, per organization."""

    username = None
    email = models.EmailField("e-mail address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.email


class Organization(models.Model):
    """A tenant: everything else belongs to exactly one organization."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="EUR")
    # How its pages write numbers, money and dates (outsourcing.formats).
    locale = models.CharField(max_length=8, choices=LOCALE_CHOICES, default=DEFAULT_LOCALE)
    created_at = models.DateTimeField(default=timezone.now)
    # When something the health dashboard shows last changed (the sweep's verdicts, an
    # engagement's title or status, a vendor's name): part of the dashboard's cache key.
    health_changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    MANAGER = "manager", "Manager"
    VIEWER = "viewer", "Viewer"


ROLE_RANK = {Role.VIEWER: 0, Role.MANAGER: 1, Role.OWNER: 2}


class MembershipQuerySet(models.QuerySet):
    def owners(self) -> "MembershipQuerySet":
        return self.filter(role=Role.OWNER)


class Membership(models.Model):
    """A user's role in one organization."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    joined_at = models.DateTimeField(default=timezone.now)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["org__name", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["user", "org"], name="membership_one_per_user_and_org"),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.org}"

    def has_role(self, minimum: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(minimum)]

    @property
    def can_write(self) -> bool:
        return self.has_role(Role.MANAGER)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER


def _invitation_expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


class InvitationQuerySet(models.QuerySet):
    def pending(self, at=None) -> "InvitationQuerySet":
        at = at or timezone.now()
        return self.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=at)


class Invitation(models.Model):
    """An e-mailed link that makes its recipient a member with the given role."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=_invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open invitation per address and organization: re-inviting replaces it.
            models.UniqueConstraint(
                fields=["org", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="invitation_one_open_per_email",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.org}"

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(32)

    def is_usable(self, at=None) -> bool:
        at = at or timezone.now()
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > at


class TokenScope(models.TextChoices):
    READ = "read", "Read"
    WRITE = "write", "Read and write"


class ApiToken(TenantModel):
    """A bearer token for the JSON API, for one user in one organization; stored hashed."""

    PREFIX = "vw_"
    exportable = False  # a credential of this installation, never part of an organization export

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'CRM sync'.")
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.READ)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(
        max_length=12, help_text="The first characters, to recognise the token."
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(scope__in=TokenScope.values), name="apitoken_scope_valid"
            ),
        ]

    def __str__(self) -> str:
        # Used by the API's rate limiter as the identity of the caller.
        return f"api-token:{self.pk}"

    @classmethod
    def new_secret(cls) -> str:
        return cls.PREFIX + secrets.token_urlsafe(32)

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.WRITE


class AuditEntryManager(LogEntryManager):
    def log_create(self, instance, force_log: bool = False, **kwargs):
        """Stamp each entry with the row's organization and the channel of the change."""
        channel = current_channel()
        kwargs.setdefault("org_id", getattr(instance, "org_id", None))
        kwargs.setdefault("via", channel.via if channel else "")
        kwargs.setdefault("actor_label", channel.label if channel else "")
        return super().log_create(instance, force_log=force_log, **kwargs)

    def create(self, **kwargs):
        """One entry, or kept for the enclosing ``audit_buffer``'s bulk INSERT."""
        entry = self.model(**kwargs)
        if buffered_entry(entry):
            return entry
        entry.save(force_insert=True, using=self.db)
        return entry


class AuditEntry(AbstractLogEntry):
    """One audited change of a tenant row (django-auditlog's log entry, with the organization)."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, related_name="+")
    via = models.CharField(
        max_length=8, blank=True, help_text="ui, api, portal, or empty for system jobs."
    )
    actor_label = models.CharField(max_length=200, blank=True)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name_plural = "audit entries"
        indexes = [
            # The organization's trail, newest first (audit pages).
            models.Index(fields=["org", "-timestamp"], name="audit_org_time_idx"),
        ]

    @property
    def who(self) -> str:
        if self.via == "portal":
            return self.actor_label
        name = (
            self.actor.display_name
            if self.actor_id and self.actor
            else (self.actor_email or "system")
        )
        return f"{name} via {self.actor_label}" if self.via == "api" and self.actor_label else name
