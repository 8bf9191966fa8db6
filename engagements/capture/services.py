"""The capture pipeline: keep a message, route it, and derive the interactions and facts.

One entry point for every way in (``receive``: the SMTP receiver, the provider webhooks, the
IMAP poller, ``reprocess_mail``). It never raises for bad input: a message that cannot be used
is still stored, with ``status`` and a ``reason`` a person can read.

Facts reach the health watcher only through delivery: each routed message becomes an
``Interaction`` (``source=email``) through ``delivery.services.log_interaction``; a message of
ours waits as *unanswered* until the vendor replies in the thread (then *answered*, with the
response time); a vendor message opens a question *owed by us* until we reply. Those are the
rows the watcher's facts already read (``watch/facts.py``), so the rules need no change.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Membership, Organization, User
from accounts.tenancy import all_organizations
from engagements.capture import calendar
from engagements.capture.models import (
    AddressRule,
    CaptureSettings,
    EngagementCapture,
    InboundMessage,
    MailAttachment,
    MailThread,
)
from engagements.capture.parse import Parsed, is_closing, parse, sha256
from engagements.delivery import hooks
from engagements.delivery import services as delivery
from engagements.delivery.models import (
    Channel,
    Direction,
    Engagement,
    EngagementStatus,
    Interaction,
    OpenQuestion,
    Outcome,
    Side,
    Source,
)
from outsourcing.uploads import check_upload
from vendors.models import Vendor, VendorContact

log = logging.getLogger(__name__)
Status = InboundMessage.Status

# Addresses at these domains say nothing about the organization behind them.
FREE_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "aol.com",
        "mail.com",
        "yandex.ru",
    ]
)
HEADER_BYTES = 256 * 1024  # of an oversized message, the part whose headers we still read


def domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def capture_address(token: str, prefix: str = "e") -> str:
    """``e-<token>@MAIL_INBOUND_DOMAIN`` (empty while no inbound domain is configured)."""
    return (
        f"{prefix}-{token}@{settings.MAIL_INBOUND_DOMAIN}" if settings.MAIL_INBOUND_DOMAIN else ""
    )


def org_settings(org: Organization) -> CaptureSettings:
    """The organization's capture settings (created on first use)."""
    found = CaptureSettings.unscoped.filter(org=org).first()
    if found:
        return found
    try:
        with transaction.atomic():
            return CaptureSettings.unscoped.create(org=org)
    except IntegrityError:  # created meanwhile by another receiver
        return CaptureSettings.unscoped.get(org=org)


@transaction.atomic
def set_capture(*, engagement: Engagement, enabled: bool) -> EngagementCapture:
    """Switch mail capture on or off for one engagement (its address stays the same)."""
    capture, _ = EngagementCapture.unscoped.get_or_create(
        engagement=engagement, defaults={"org_id": engagement.org_id}
    )
    if capture.enabled != enabled:
        capture.enabled = enabled
        capture.enabled_at = timezone.now() if enabled else capture.enabled_at
        capture.save(update_fields=["enabled", "enabled_at"])
    return capture


# --- receiving --------------------------------------------------------------------------------


@dataclass
class Target:
    org: Organization | None = None
    engagement: Engagement | None = None
    reason: str = ""


def _resolve_address(recipients: list[str]) -> Target:
    """The organization (and engagement) named by a capture address among the recipients."""
    inbound = settings.MAIL_INBOUND_DOMAIN
    if not inbound:
        return Target(reason="mail capture is not configured (no MAIL_INBOUND_DOMAIN)")
    for address in recipients:
        local, _, host = address.lower().partition("@")
        if host != inbound or "-" not in local:
            continue
        prefix, _, token = local.partition("-")
        token = token.split("+", 1)[0]
        if prefix == "e":
            capture = (
                EngagementCapture.unscoped.select_related("engagement__org")
                .filter(token=token)
                .first()
            )
            if capture:
                if not capture.enabled:
                    return Target(
                        org=capture.engagement.org,
                        reason=f"capture is off for “{capture.engagement.title}”",
                    )
                return Target(org=capture.engagement.org, engagement=capture.engagement)
        elif prefix == "o":
            found = CaptureSettings.unscoped.select_related("org").filter(token=token).first()
            if found:
                return Target(org=found.org)
    return Target(reason="unknown address: none of the recipients is a capture address of ours")


def receive(
    *,
    raw: bytes,
    via: str,
    envelope_from: str = "",
    envelope_to: list[str] | tuple[str, ...] = (),
    org: Organization | None = None,
) -> InboundMessage:
    """Keep one incoming message and route it; bad input is recorded with a reason, never raised.

    ``org``: the organization a mailbox belongs to (the IMAP poller), else the capture
    address among the recipients decides. Cross-organization by nature (the address says
    whose it is), hence ``all_organizations()``.
    """
    with all_organizations():
        return _receive(raw, via, envelope_from, [a.lower() for a in envelope_to], org)


def _receive(raw, via, envelope_from, envelope_to, org) -> InboundMessage:
    now = timezone.now()
    limit = settings.MAIL_MAX_MB * 1024 * 1024
    oversized = len(raw) > limit
    parsed = parse(raw[:HEADER_BYTES] if oversized else raw, headers_only=oversized)
    message = InboundMessage(
        received_at=now,
        via=via,
        envelope_from=envelope_from[:320],
        envelope_to=envelope_to[:50],
        raw_size=len(raw),
        raw_sha256=sha256(raw),
    )
    _copy(message, parsed)
    if not message.message_id:
        # No Message-ID: the content itself identifies the message (a re-poll is a duplicate).
        message.message_id = f"sha256:{message.raw_sha256}"
    target = (
        Target(org=org)
        if org is not None
        else _resolve_address(list(dict.fromkeys(envelope_to + parsed.to)))
    )
    message.org = target.org
    if oversized:
        return _store(
            message,
            Status.REFUSED,
            f"the message is {len(raw) / 1024 / 1024:.1f} MB, over the {settings.MAIL_MAX_MB} MB limit",
        )
    message.raw = raw
    if target.org is None:
        return _store(message, Status.REFUSED, target.reason)
    first = (
        InboundMessage.unscoped.filter(
            org=target.org, message_id=message.message_id, duplicate_of__isnull=True
        )
        .only("pk")
        .first()
    )
    if first:
        return _duplicate(message, first)
    if parsed.loop:
        return _store(message, Status.REFUSED, f"mail loop: {parsed.loop}")
    if not parsed.from_address:
        return _store(message, Status.REFUSED, "; ".join(parsed.problems) or "no sender address")
    try:
        with transaction.atomic():
            message.save()
            _route(message, parsed, target)
    except IntegrityError:
        # Another receiver stored the same Message-ID a moment ago.
        message.pk = None
        first = InboundMessage.unscoped.filter(
            org=target.org, message_id=message.message_id, duplicate_of__isnull=True
        ).first()
        if first:
            return _duplicate(message, first)
        raise
    return message


def _copy(message: InboundMessage, parsed: Parsed) -> None:
    message.message_id = parsed.message_id[:255]
    message.in_reply_to = parsed.in_reply_to[:255]
    message.references = parsed.references
    message.subject = parsed.subject[:300]
    message.from_address = parsed.from_address
    message.from_name = parsed.from_name
    message.participants = parsed.participants[:100]
    message.sent_at = parsed.sent_at
    message.new_text = parsed.new_text


def _store(message: InboundMessage, status: str, reason: str) -> InboundMessage:
    message.status, message.reason = status, reason[:300]
    if status == Status.REFUSED:
        message.new_text = ""  # kept raw (when within the cap) for reprocessing, not shown
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Same Message-ID stored meanwhile: keep this copy as a duplicate, never lose it.
        message.pk = None
        message.duplicate_of = InboundMessage.unscoped.filter(
            org=message.org, message_id=message.message_id, duplicate_of__isnull=True
        ).first()
        message.save()
    log.info("mail %s: %s (%s)", message.pk, status, reason)
    return message


def _duplicate(message: InboundMessage, first: InboundMessage) -> InboundMessage:
    message.duplicate_of = first
    message.raw = None  # the first copy keeps the bytes
    return _store(message, Status.DUPLICATE, f"duplicate of message {first.pk} (same Message-ID)")


# --- routing ----------------------------------------------------------------------------------


@dataclass
class Sides:
    """Who is who in one organization: our members, and each vendor's contacts and domains."""

    ours: set[str]
    our_domains: set[str]
    vendor_by_address: dict[str, int]
    vendor_by_domain: dict[str, int]

    def vendor_of(self, address: str) -> int | None:
        return self.vendor_by_address.get(address) or self.vendor_by_domain.get(domain(address))

    def is_ours(self, address: str) -> bool:
        return address in self.ours or (
            domain(address) in self.our_domains and self.vendor_of(address) is None
        )


def sides(org_id: int) -> Sides:
    """Our members' addresses, the vendors' contacts and domains, learned addresses (4 queries)."""
    ours = {
        e.lower()
        for e in Membership.objects.filter(org_id=org_id).values_list("user__email", flat=True)
    }
    by_address: dict[str, int] = {}
    by_domain: dict[str, int] = {}
    for email, vendor_id in (
        VendorContact.unscoped.filter(org_id=org_id)
        .exclude(email="")
        .values_list("email", "vendor_id")
    ):
        by_address[email.lower()] = vendor_id
        if domain(email) not in FREE_MAIL:
            by_domain.setdefault(domain(email), vendor_id)
    for website, vendor_id in (
        Vendor.unscoped.filter(org_id=org_id).exclude(website="").values_list("website", "id")
    ):
        host = website.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
        host = host.removeprefix("www.")
        if host and host not in FREE_MAIL:
            by_domain.setdefault(host, vendor_id)
    # What triage taught: an address filed under an engagement speaks for its vendor.
    for address, vendor_id in AddressRule.unscoped.filter(
        org_id=org_id, engagement__isnull=False
    ).values_list("address", "engagement__vendor_id"):
        by_address.setdefault(address, vendor_id)
    our_domains = {domain(a) for a in ours} - FREE_MAIL - set(by_domain)
    return Sides(ours, our_domains, by_address, by_domain)


def _direction(parsed_from: str, participants: list[str], s: Sides, vendor_id: int) -> str:
    if s.is_ours(parsed_from):
        return Direction.WE_TO_VENDOR
    if s.vendor_of(parsed_from) == vendor_id:
        return Direction.VENDOR_TO_US
    if s.vendor_of(parsed_from) is None and any(
        s.vendor_of(a) == vendor_id for a in participants if a != parsed_from
    ):
        # A colleague who is not a member wrote to the vendor: still our side.
        return Direction.WE_TO_VENDOR
    return ""


def _capturing(org_id: int):
    return Engagement.unscoped.filter(
        org_id=org_id, status=EngagementStatus.ACTIVE, capture__enabled=True
    )


def _any(queryset):
    """One row of ``queryset`` or None, without ORDER BY: ordering by pk would let PostgreSQL
    walk the primary key backwards instead of using ``inbound_message_id_idx``."""
    return next(iter(queryset.order_by()[:1]), None)


def _match(message: InboundMessage, s: Sides) -> tuple[Engagement | None, str]:
    """The engagement an organization-address message belongs to, or why it is ambiguous."""
    org_id = message.org_id
    parents = [message.in_reply_to, *message.references]
    parent = (
        _any(
            InboundMessage.unscoped.filter(
                org_id=org_id, message_id__in=[p for p in parents if p], engagement__isnull=False
            ).select_related("engagement")
        )
        if any(parents)
        else None
    )
    if parent:
        return parent.engagement, ""
    rules = {
        r.address: r
        for r in AddressRule.unscoped.filter(
            org_id=org_id, address__in=message.participants
        ).select_related("engagement")
    }
    for address in message.participants:
        rule = rules.get(address)
        if rule is not None:
            return rule.engagement, "" if rule.engagement else f"ignored: mail with {address}"
    vendors = {s.vendor_of(a) for a in message.participants if not s.is_ours(a)} - {None}
    if not vendors:
        return None, "no participant is a contact of a vendor or at a vendor's domain"
    candidates = list(_capturing(org_id).filter(vendor_id__in=vendors)[:2])
    if len(candidates) == 1:
        return candidates[0], ""
    if not candidates:
        return None, "the vendor has no engagement with capture switched on"
    return None, "the vendor has several engagements with capture on: which one?"


def _route(message: InboundMessage, parsed: Parsed, target: Target) -> None:
    s = sides(message.org_id)
    engagement, reason = target.engagement, target.reason
    if engagement is None and not reason:
        engagement, reason = _match(message, s)
        if (
            engagement is not None
            and not _capturing(message.org_id).filter(pk=engagement.pk).exists()
        ):
            engagement, reason = None, f"capture is off for “{engagement.title}”"
    if reason.startswith("ignored:"):
        _finish(message, Status.IGNORED, reason)
        return
    if engagement is None:
        _finish(message, Status.TRIAGE, reason)
        return
    message.engagement = engagement
    message.direction = _direction(
        message.from_address, message.participants, s, engagement.vendor_id
    )
    if parsed.auto_reply:
        _finish(message, Status.AUTO_REPLY, f"auto-reply ({parsed.auto_reply}): not contact")
        return
    if not message.direction:
        message.engagement = None
        _finish(
            message,
            Status.TRIAGE,
            f"{message.from_address} is neither a member nor a contact of the vendor",
        )
        return
    _derive(message, parsed)


def _finish(message: InboundMessage, status: str, reason: str = "") -> None:
    message.status, message.reason = status, reason[:300]
    _apply_privacy(message)
    message.save()


def _config(message: InboundMessage) -> CaptureSettings:
    """The organization's capture settings, read once per message."""
    cached = getattr(message, "_capture_settings", None)
    if cached is None or cached.org_id != message.org_id:
        cached = message._capture_settings = org_settings(message.org)
    return cached


def _apply_privacy(message: InboundMessage) -> None:
    """Metadata-only organizations keep no body; a retention of 0 days keeps no raw bytes."""
    config = _config(message)
    if config.metadata_only:
        message.new_text, message.raw = "", None
    elif config.retention_days == 0:
        message.raw = None


# --- deriving interactions and facts ----------------------------------------------------------


def _thread_for(message: InboundMessage) -> MailThread:
    ids = [i for i in [message.in_reply_to, *message.references] if i]
    parent = (
        _any(
            InboundMessage.unscoped.filter(
                org_id=message.org_id,
                message_id__in=ids,
                thread__engagement_id=message.engagement_id,
            )
        )
        if ids
        else None
    )
    at = message.sent_at or message.received_at
    if parent and parent.thread_id:
        thread = MailThread.unscoped.get(pk=parent.thread_id)
        if at > thread.last_at:
            MailThread.unscoped.filter(pk=thread.pk).update(last_at=at)
        return thread
    # A reply that reached us before its parent: the parent arriving later joins this thread.
    child = (
        InboundMessage.unscoped.filter(
            org_id=message.org_id,
            thread__engagement_id=message.engagement_id,
            in_reply_to=message.message_id,
        ).first()
        if message.message_id
        else None
    )
    if child:
        return MailThread.unscoped.get(pk=child.thread_id)
    subject = message.subject
    return MailThread.unscoped.create(
        org_id=message.org_id,
        engagement_id=message.engagement_id,
        subject=subject,
        started_at=at,
        last_at=at,
    )


def _derive(message: InboundMessage, parsed: Parsed) -> None:
    """Routed: a thread, an interaction, a question owed by us; then settle the thread."""
    engagement = message.engagement
    now = timezone.now()
    sent = min(message.sent_at or message.received_at, now)
    message.sent_at = sent
    message.thread = _thread_for(message)
    config = _config(message)
    notes = message.subject if config.metadata_only else _notes(message)
    try:
        interaction = delivery.log_interaction(
            engagement=engagement,
            by=None,
            channel=Channel.EMAIL,
            direction=message.direction,
            outcome=Outcome.UNANSWERED,
            occurred_at=sent,
            notes=notes,
            question=(
                _question(message)
                if message.direction == Direction.VENDOR_TO_US and not is_closing(message.new_text)
                else ""
            ),
            question_owed_by=Side.US,
            source=Source.EMAIL,
        )
    except ValidationError as exc:  # e.g. a date the app cannot store
        message.engagement = None
        _finish(message, Status.TRIAGE, "; ".join(exc.messages))
        return
    message.interaction = interaction
    _finish(message, Status.ROUTED)
    if parsed.calendars:
        calendar.meetings_from_invites(message=message, calendars=parsed.calendars)
    if not config.metadata_only:
        _keep_attachments(message, parsed)
    settle_thread(thread=message.thread)


def _notes(message: InboundMessage) -> str:
    return (
        f"{message.subject}\n\n{message.new_text}".strip() if message.subject else message.new_text
    )


def _question(message: InboundMessage) -> str:
    text = " ".join(message.new_text.split())
    if len(text) > 280:
        text = text[:279] + "…"
    return (f"{message.subject}: {text}" if text else message.subject) or "(e-mail without text)"


def _keep_attachments(message: InboundMessage, parsed: Parsed) -> None:
    refused = []
    for attachment in parsed.attachments[:20]:
        upload = ContentFile(attachment.data, name=attachment.name)
        try:
            content_type = check_upload(upload)
        except ValidationError as exc:
            refused.append({"name": attachment.name, "reason": " ".join(exc.messages)})
            continue
        MailAttachment.unscoped.create(
            org_id=message.org_id,
            message=message,
            name=attachment.name,
            content_type=content_type,
            size=len(attachment.data),
            file=upload,
        )
    if refused:
        message.attachments_refused = refused
        message.save(update_fields=["attachments_refused"])


def settle_thread(*, thread: MailThread) -> None:
    """Each message in the thread is answered by the first later message from the other side;
    a closing one ("thanks, will do") waits for nothing and counts as held contact.

    Recomputed for the whole thread (threads are short), so a reply imported before the
    message it answers, or a reprocessed message, still settles right. Only rows whose
    outcome changes are written, each by compare-and-set.
    """
    rows = list(
        InboundMessage.unscoped.filter(thread=thread, interaction__isnull=False)
        .select_related("interaction")
        .order_by("sent_at", "pk")
    )
    changed = False
    for i, row in enumerate(rows):
        reply = next(
            (r for r in rows[i + 1 :] if r.direction and r.direction != row.direction), None
        )
        interaction = row.interaction
        if reply:
            hours = max(0, int((reply.sent_at - row.sent_at) / timedelta(hours=1)))
            if interaction.outcome != Outcome.ANSWERED or interaction.response_hours != hours:
                Interaction.unscoped.filter(pk=interaction.pk).update(
                    outcome=Outcome.ANSWERED, response_hours=hours
                )
                changed = True
            changed |= bool(
                OpenQuestion.unscoped.filter(
                    interaction_id=interaction.pk, answered_at__isnull=True
                ).update(
                    answered_at=reply.sent_at, answer=f"Replied by e-mail ({reply.from_address})"
                )
            )
        elif is_closing(row.new_text):
            # "Thanks, will do": contact that expects no answer; it waits for nobody.
            if interaction.outcome != Outcome.HELD:
                Interaction.unscoped.filter(pk=interaction.pk).update(
                    outcome=Outcome.HELD, response_hours=None
                )
                changed = True
        elif interaction.outcome != Outcome.UNANSWERED:
            Interaction.unscoped.filter(pk=interaction.pk).update(
                outcome=Outcome.UNANSWERED, response_hours=None
            )
            OpenQuestion.unscoped.filter(interaction_id=interaction.pk).update(
                answered_at=None, answer=""
            )
            changed = True
    if changed:
        hooks.engagement_changed(engagement=thread.engagement)


# --- what a person does with the triage inbox -------------------------------------------------


def _learnable(message: InboundMessage, s: Sides) -> list[str]:
    """The addresses on the other side that teach the matcher (not ours, not capture ones)."""
    inbound = settings.MAIL_INBOUND_DOMAIN
    return [
        a
        for a in message.participants
        if not s.is_ours(a) and (not inbound or domain(a) != inbound)
    ][:10]


@transaction.atomic
def assign_message(*, message: InboundMessage, engagement: Engagement, by: User) -> InboundMessage:
    """File a triaged message under an engagement; its vendor-side addresses go there next time."""
    if message.status not in (Status.TRIAGE, Status.IGNORED):
        raise ValidationError("This message has already been filed.")
    if engagement.org_id != message.org_id:
        raise ValidationError({"engagement": "Choose one of your engagements."})
    s = sides(message.org_id)
    for address in _learnable(message, s):
        AddressRule.unscoped.update_or_create(
            org_id=message.org_id,
            address=address,
            defaults={"engagement": engagement, "created_by": by},
        )
    message.engagement = engagement
    message.triaged_by = by
    message.direction = _direction(
        message.from_address, message.participants, s, engagement.vendor_id
    ) or (Direction.WE_TO_VENDOR if s.is_ours(message.from_address) else Direction.VENDOR_TO_US)
    parsed = parse(bytes(message.raw)) if message.raw else Parsed()
    _derive(message, parsed)
    return message


@transaction.atomic
def ignore_message(*, message: InboundMessage, by: User) -> InboundMessage:
    """Ignore a triaged message; mail with the same outside addresses is ignored from now on."""
    if message.status != Status.TRIAGE:
        raise ValidationError("Only a message waiting in the triage inbox can be ignored.")
    s = sides(message.org_id)
    for address in _learnable(message, s):
        AddressRule.unscoped.update_or_create(
            org_id=message.org_id,
            address=address,
            defaults={"engagement": None, "created_by": by},
        )
    message.triaged_by = by
    _finish(message, Status.IGNORED, f"ignored by {by}")
    return message


# --- reprocessing and retention ---------------------------------------------------------------


@transaction.atomic
def reprocess(*, message: InboundMessage) -> InboundMessage:
    """Derive again from the kept raw bytes (after a rule change); the interaction is redone."""
    if message.raw is None or message.status == Status.DUPLICATE:
        return message
    with all_organizations():
        thread = message.thread
        if message.interaction_id:
            Interaction.unscoped.filter(pk=message.interaction_id).delete()
        MailAttachment.unscoped.filter(message=message).delete()
        raw = bytes(message.raw)
        parsed = parse(raw)
        _copy(message, parsed)
        if not message.message_id:
            message.message_id = f"sha256:{message.raw_sha256}"
        message.interaction = None
        message.thread = None
        message.engagement = None if message.status != Status.ROUTED else message.engagement
        message.reason = ""
        if message.org_id is None:
            target = _resolve_address(list(dict.fromkeys(message.envelope_to + parsed.to)))
            message.org = target.org
            if target.org is None:
                _store(message, Status.REFUSED, target.reason)
                return message
        else:
            target = Target(org=message.org, engagement=message.engagement)
            if target.engagement is None:
                target = _resolve_address(list(dict.fromkeys(message.envelope_to + parsed.to)))
                target.org = message.org
        if parsed.loop:
            _finish(message, Status.REFUSED, f"mail loop: {parsed.loop}")
        else:
            message.save()
            _route(message, parsed, target)
        if thread is not None and thread.pk != (message.thread_id or 0):
            settle_thread(thread=thread)
    return message


def purge_raw_mail(*, at: datetime | None = None) -> int:
    """Drop raw messages older than their organization's retention period; how many."""
    at = at or timezone.now()
    purged = 0
    with all_organizations():
        for org_id, days in CaptureSettings.unscoped.values_list("org_id", "retention_days"):
            purged += InboundMessage.unscoped.filter(
                org_id=org_id, raw__isnull=False, received_at__lt=at - timedelta(days=days)
            ).update(raw=None)
        # Without settings: the default period; unknown addresses: 30 days.
        purged += (
            InboundMessage.unscoped.filter(
                Q(org__isnull=True, received_at__lt=at - timedelta(days=30))
                | Q(
                    org__isnull=False,
                    received_at__lt=at - timedelta(days=365),
                ),
                raw__isnull=False,
            )
            .exclude(org_id__in=CaptureSettings.unscoped.values("org_id"))
            .update(raw=None)
        )
    return purged
