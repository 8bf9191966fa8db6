"""Captured mail: the raw messages as they came in, their threads, what routing learned, and
the meetings found in calendar invites.

``InboundMessage`` keeps every message that reached us, whatever became of it (routed, in the
triage inbox, ignored, refused with a reason), so nothing is lost and ``reprocess_mail`` can
derive again from ``raw`` after a rule change. A message whose address matched no organization
has no ``org``: tenants never see it (the scoped manager filters on ``org_id``), staff can.

None of these rows is part of an organization export: the capture tokens are credentials and
the raw mail is bulky and personal (kept for its retention period only).
"""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.tenancy import TenantModel

__all__ = [
    "AddressRule",
    "CalendarFeed",
    "CaptureSettings",
    "EngagementCapture",
    "InboundMessage",
    "MailAttachment",
    "MailThread",
    "MailboxCursor",
    "Meeting",
    "QueuedMail",
]


def new_token() -> str:
    # 16 random bytes, lower-case letters and digits only: mail systems may lower-case the
    # local part, so a case-sensitive token could be routed nowhere.
    return secrets.token_hex(16)


class CaptureSettings(TenantModel):
    """An organization's mail capture: its own address, what it keeps and for how long."""

    exportable = False

    token = models.CharField(max_length=40, unique=True, default=new_token)
    metadata_only = models.BooleanField(
        default=False,
        help_text="Keep who wrote to whom and when, but no bodies, raw messages or attachments.",
    )
    retention_days = models.PositiveIntegerField(
        default=365, help_text="Days the raw message is kept for reprocessing (0: not kept)."
    )

    class Meta:
        verbose_name_plural = "capture settings"
        constraints = [models.UniqueConstraint(fields=["org"], name="capture_settings_one_per_org")]


class EngagementCapture(TenantModel):
    """One engagement's capture address ``e-<token>@INBOUND_DOMAIN``; off until switched on."""

    exportable = False

    engagement = models.OneToOneField(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="capture"
    )
    token = models.CharField(max_length=40, unique=True, default=new_token)
    enabled = models.BooleanField(default=False)
    enabled_at = models.DateTimeField(null=True, blank=True)


class MailThread(TenantModel):
    """A conversation: messages linked by Message-ID, In-Reply-To and References."""

    exportable = False
    audited = False  # written by the pipeline

    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="mail_threads"
    )
    subject = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_at", "-pk"]
        indexes = [
            # The engagement page's thread list (newest first).
            models.Index(fields=["engagement", "last_at"], name="mailthread_engagement_idx")
        ]


class InboundMessage(TenantModel):
    """One message as it came in, and what became of it."""

    exportable = False
    # Written by the pipeline, not by a person (what a person decides in triage is audited
    # as the AddressRule it writes, and the interaction as an interaction).
    audited = False

    class Status(models.TextChoices):
        ROUTED = "routed", "Routed to an engagement"
        TRIAGE = "triage", "Waiting in the triage inbox"
        IGNORED = "ignored", "Ignored"
        AUTO_REPLY = "auto_reply", "Auto-reply (not contact)"
        DUPLICATE = "duplicate", "Duplicate"
        REFUSED = "refused", "Refused"

    class Via(models.TextChoices):
        SMTP = "smtp", "SMTP receiver"
        WEBHOOK = "webhook", "Provider webhook"
        IMAP = "imap", "IMAP mailbox"
        MANUAL = "manual", "Imported"

    # Null: the address matched no organization (kept, with the reason, for staff only).
    org = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=Via.choices)
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    raw = models.BinaryField(null=True, blank=True)
    raw_size = models.PositiveIntegerField(default=0)
    raw_sha256 = models.CharField(max_length=64, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    in_reply_to = models.CharField(max_length=255, blank=True)
    references = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    from_address = models.CharField(max_length=320, blank=True)
    from_name = models.CharField(max_length=200, blank=True)
    participants = models.JSONField(default=list, blank=True)  # every address, lower-case
    sent_at = models.DateTimeField(null=True, blank=True)
    direction = models.CharField(max_length=14, blank=True)  # delivery's Direction values
    new_text = models.TextField(blank=True)  # the reply without quotes and signature
    attachments_refused = models.JSONField(default=list, blank=True)  # [{"name", "reason"}]
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=300, blank=True)
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
    )
    thread = models.ForeignKey(
        MailThread, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    interaction = models.OneToOneField(
        "engagements.Interaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_message",
    )
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            # Threading: the parent of a reply by its Message-ID (services.thread_for).
            models.Index(fields=["org", "message_id"], name="inbound_message_id_idx"),
            # A parent arriving after its reply finds the reply's thread (services._thread_for).
            models.Index(fields=["org", "in_reply_to"], name="inbound_in_reply_to_idx"),
            # The triage inbox and the thread view.
            models.Index(fields=["org", "status", "received_at"], name="inbound_status_idx"),
            # Retention: raw messages older than an organization's period (purge_raw_mail).
            models.Index(fields=["received_at"], name="inbound_received_idx"),
        ]
        constraints = [
            # Idempotent on Message-ID within an organization: a second copy is a duplicate
            # row pointing at the first; this decides a race between two receivers.
            models.UniqueConstraint(
                fields=["org", "message_id"],
                condition=Q(duplicate_of__isnull=True) & ~Q(message_id=""),
                name="inbound_message_once_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject or '(no subject)'} from {self.from_address or '?'}"


class QueuedMail(models.Model):
    """A message accepted at the door (SMTP 250, webhook 200) and not yet through the pipeline.

    One cheap INSERT makes the bytes durable before the sender is answered; the drain
    (``services.drain_mail_queue``, a Celery task kicked on commit and beat's safety net)
    turns a batch of these into ``InboundMessage`` rows and deletes them in the same
    transaction, so a message is stored exactly once whatever dies in between. Not a tenant
    row: whose it is is only known once routed (like an ``InboundMessage`` without ``org``).
    """

    received_at = models.DateTimeField(default=timezone.now)
    via = models.CharField(max_length=8, choices=InboundMessage.Via.choices)
    envelope_from = models.CharField(max_length=320, blank=True)
    envelope_to = models.JSONField(default=list, blank=True)
    raw = models.BinaryField()

    class Meta:
        ordering = ["pk"]  # the drain takes the oldest first (the primary key's index)

    def __str__(self) -> str:
        return f"queued mail {self.pk} ({self.raw_size_kb} KB via {self.via})"

    @property
    def raw_size_kb(self) -> int:
        return len(self.raw or b"") // 1024


class MailAttachment(TenantModel):
    """A file that came with a captured message and obeyed the upload rules."""

    exportable = False
    audited = False  # written by the pipeline

    message = models.ForeignKey(
        InboundMessage, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    file = models.FileField(upload_to="capture/%Y/%m/")


class AddressRule(TenantModel):
    """What triage taught the matcher: mail with this address goes to an engagement, or nowhere."""

    exportable = False

    address = models.CharField(max_length=320, help_text="An e-mail address, lower-case.")
    engagement = models.ForeignKey(
        "engagements.Engagement",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: ignore mail from this address.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "address"], name="address_rule_once_per_org")
        ]


class Meeting(TenantModel):
    """A meeting from a calendar invite in captured mail; the owner confirms how it went."""

    exportable = False

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        VENDOR_NO_SHOW = "vendor_no_show", "Vendor did not show"
        WE_CANCELLED = "we_cancelled", "We cancelled"
        CANCELLED = "cancelled", "Cancelled by invite"

    engagement = models.ForeignKey(
        "engagements.Engagement", on_delete=models.CASCADE, related_name="meetings"
    )
    uid = models.CharField(max_length=255)
    sequence = models.IntegerField(default=0)
    summary = models.CharField(max_length=300, blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.SCHEDULED)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    interaction = models.OneToOneField(
        "engagements.Interaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="meeting",
    )
    # The thread of the mail that carried the invite: an attendee's answer (an iCalendar
    # REPLY, which rarely names the invite's Message-ID) joins it by the event's UID.
    thread = models.ForeignKey(
        MailThread, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["engagement", "uid"], name="meeting_once_per_uid")
        ]


class MailboxCursor(TenantModel):
    """How far the IMAP poller has read one mailbox folder (UIDs are only valid with the
    folder's UIDVALIDITY: when that changes, the folder is read again from the start)."""

    exportable = False
    audited = False  # the poller's bookmark

    mailbox = models.CharField(max_length=400, help_text="user@host:port/folder")
    uid_validity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "mailbox"], name="mailbox_cursor_once_per_org")
        ]


class CalendarFeed(TenantModel):
    """A member's secret iCalendar feed URL (only its SHA-256 is stored); revocable."""

    exportable = False

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
