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
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import groupby

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, InterfaceError, OperationalError, connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from accounts.audit import audit_buffer
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
    Meeting,
    QueuedMail,
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
from outsourcing.celery import app
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


@dataclass
class Incoming:
    """One message as a receiver got it: its bytes and the SMTP envelope, if any."""

    raw: bytes
    via: str
    envelope_from: str = ""
    envelope_to: list[str] = field(default_factory=list)
    received_at: datetime | None = None  # when it was accepted at the door (queued), else now


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
    incoming = Incoming(raw, via, envelope_from, list(envelope_to))
    return receive_many([incoming], org=org)[0]


def receive_many(items: list[Incoming], *, org: Organization | None = None) -> list[InboundMessage]:
    """Keep and route a batch of messages (an IMAP poll's chunk) in one transaction.

    What routing reads (members, vendor contacts and domains, learned addresses, the capturing
    engagements, the messages the batch's replies answer) is read once per organization; the
    messages, threads, interactions, questions and their audit entries are written by one
    bulk INSERT each; each touched thread is settled once and each engagement marked once for
    the watcher. No savepoint per message: should another receiver store one of these
    Message-IDs meanwhile (the unique constraint), the batch is rolled back and received again
    one message at a time, the race's loser then kept as a duplicate. Nothing is lost: the
    batch commits whole or not at all, and the caller (the poller's cursor, the SMTP 250)
    acknowledges only what committed.
    """
    with all_organizations():
        try:
            return _attempt(items, org)
        except IntegrityError:
            if len(items) > 1:
                return [_receive_one(item, org) for item in items]
            return _attempt(items, org)  # the winner is visible now: this one is its duplicate


def _receive_one(item: Incoming, org: Organization | None) -> InboundMessage:
    try:
        return _attempt([item], org)[0]
    except IntegrityError:
        return _attempt([item], org)[0]


def _attempt(items: list[Incoming], org: Organization | None) -> list[InboundMessage]:
    with transaction.atomic(), audit_buffer():
        batch = Batch()
        read = [batch.prepare(item) for item in items]
        if org is None:  # the capture addresses of the whole batch: one query
            batch.load_addresses([recipients for *_, recipients in read])
        prepared = []
        for message, parsed, oversized, recipients in read:
            target = Target(org=org) if org is not None else batch.resolve(recipients)
            message.org = target.org
            prepared.append((message, parsed, target, oversized))
        batch.prefetch([(m, p) for m, p, _t, _o in prepared if m.org_id])
        messages = [batch.process(*row) for row in prepared]
        batch.flush()
    for message in messages:
        if message.status != Status.ROUTED:
            log.info("mail %s: %s (%s)", message.pk, message.status, message.reason)
    return messages


# --- the queue at the door -------------------------------------------------------------------
# The SMTP receiver and the webhooks answer once the bytes are durable (one INSERT), not once
# the message went through the pipeline: a drain stores what is queued in batches of
# ``DRAIN_BATCH`` (``receive_many``: routing read once per organization, bulk writes).

DRAIN_TASK = "engagements.tasks.drain_mail_queue"  # by name: the task module imports this one
DRAIN_KICKED = "capture:drain-kicked"  # cache flag: a drain is queued and has not started yet
DRAIN_BATCH = 100  # messages per transaction of the drain (as the IMAP poller's batches)
# The PostgreSQL advisory lock the one drain at work holds for its transaction: queued mail is
# stored in the order it was accepted, never by two transactions that cannot see each other
# (a reply and the message it answers would then start two threads). SQLite's IMMEDIATE
# transactions serialise the drains by themselves.
DRAIN_LOCK = 0x56574D41494C  # "VWMAIL"


def accept_mail(*, items: list[Incoming]) -> list[QueuedMail]:
    """Keep the bytes of messages accepted at the door (one INSERT) and queue a drain after
    commit; the sender is answered only once this has committed.

    No ``transaction.atomic``: the one INSERT statement is atomic by itself and commits at
    once outside a transaction (a webhook's request), without the BEGIN/COMMIT round trips."""
    rows = QueuedMail.objects.bulk_create(
        [
            QueuedMail(
                received_at=item.received_at or timezone.now(),
                via=item.via,
                envelope_from=item.envelope_from[:320],
                envelope_to=list(item.envelope_to)[:100],
                raw=item.raw,
            )
            for item in items
        ]
    )
    transaction.on_commit(kick_drain, robust=True)
    return rows


def kick_drain(*, countdown: float = 0) -> None:
    """Queue one drain for a burst of accepted mail: while one is queued and has not started,
    more mail queues nothing (a cache flag, expiring so a lost task blocks nothing for long).
    A broker that cannot be reached leaves the mail queued for beat's drain."""
    try:
        if not cache.add(DRAIN_KICKED, True, timeout=settings.MAIL_DRAIN_SECONDS):
            return
    except Exception as exc:  # a cache that is down: send anyway (a drain too many is harmless)
        log.warning("cache unreachable (%s); queueing a drain regardless", exc)
    try:
        app.send_task(
            DRAIN_TASK,
            retry=False,
            countdown=countdown or None,
            expires=settings.MAIL_DRAIN_SECONDS,
        )
    except Exception as exc:
        _forget_kick()
        log.warning("broker unreachable (%s); queued mail waits for beat's drain", exc)


def _forget_kick() -> None:
    try:
        cache.delete(DRAIN_KICKED)
    except Exception as exc:
        log.warning("cache unreachable (%s)", exc)


@dataclass
class Drained:
    stored: int = 0  # messages taken from the queue into the pipeline
    more: bool = False  # the time was up with mail still queued
    busy: bool = False  # another drain was at work (it drains until the queue is empty)


def drain_mail_queue(*, seconds: float = 10, batch: int = DRAIN_BATCH) -> Drained:
    """Store queued mail through the pipeline, one transaction per batch, oldest first, until
    the queue is empty or ``seconds`` have passed."""
    _forget_kick()  # mail accepted from now on queues another drain: no wake-up is lost
    stop = time.monotonic() + seconds
    result = Drained()
    while True:
        taken = _drain_batch(batch)
        if taken is None:
            result.busy = True
            return result
        result.stored += taken
        if taken < batch:
            return result
        if time.monotonic() > stop:
            result.more = True
            return result


def _drain_batch(limit: int) -> int | None:
    """One batch: claimed, stored and deleted from the queue in one transaction, so a drain
    that dies half-way leaves its messages queued and a committed one never sees them again."""
    with all_organizations(), transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DRAIN_LOCK])
                if not cursor.fetchone()[0]:
                    return None
        queued = list(QueuedMail.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        if not queued:
            return 0
        items = [
            Incoming(bytes(q.raw), q.via, q.envelope_from, list(q.envelope_to), q.received_at)
            for q in queued
        ]
        try:
            with transaction.atomic():
                receive_many(items)
        except (OperationalError, InterfaceError):
            raise  # the database went away: everything stays queued for the next drain
        except Exception:
            # A bug the pipeline met on some message: the others must not wait behind it.
            log.exception(
                "a batch of %d queued messages failed; storing them one by one", len(items)
            )
            for item in items:
                _receive_or_keep(item)
        QueuedMail.objects.filter(pk__in=[q.pk for q in queued]).delete()
    return len(queued)


def _receive_or_keep(item: Incoming) -> None:
    try:
        with transaction.atomic():
            receive_many([item])
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        log.exception("a queued message failed in the pipeline; kept as refused")
        InboundMessage.unscoped.create(
            received_at=item.received_at or timezone.now(),
            via=item.via,
            envelope_from=item.envelope_from[:320],
            envelope_to=[a.lower() for a in item.envelope_to][:50],
            raw=item.raw,
            raw_size=len(item.raw),
            raw_sha256=sha256(item.raw),
            status=Status.REFUSED,
            reason=f"the pipeline failed on this message ({exc.__class__.__name__}); "
            "reprocess_mail derives it again once fixed",
        )


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
    """Our members' addresses, the vendors' contacts and domains, learned addresses: one query
    (a UNION of the four lists, each in the order its ``setdefault``s below rely on)."""
    members = Membership.objects.filter(org_id=org_id).values_list(
        Value("m"), "user__email", Value(0), "pk"
    )
    contacts = (
        VendorContact.unscoped.filter(org_id=org_id)
        .exclude(email="")
        .values_list(Value("c"), "email", "vendor_id", "pk")
    )
    websites = (
        Vendor.unscoped.filter(org_id=org_id)
        .exclude(website="")
        .values_list(Value("v"), "website", "id", "pk")
    )
    # What triage taught: an address filed under an engagement speaks for its vendor.
    learned = AddressRule.unscoped.filter(org_id=org_id, engagement__isnull=False).values_list(
        Value("r"), "address", "engagement__vendor_id", "pk"
    )
    rows = sorted(
        members.order_by()
        .union(contacts.order_by(), websites.order_by(), learned.order_by(), all=True)
        .order_by(),
        key=lambda row: ("mcvr".index(row[0]), row[3]),
    )
    ours: set[str] = set()
    by_address: dict[str, int] = {}
    by_domain: dict[str, int] = {}
    for kind, value, vendor_id, _pk in rows:
        if kind == "m":
            ours.add(value.lower())
        elif kind == "c":
            by_address[value.lower()] = vendor_id
            if domain(value) not in FREE_MAIL:
                by_domain.setdefault(domain(value), vendor_id)
        elif kind == "v":
            host = value.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
            host = host.removeprefix("www.")
            if host and host not in FREE_MAIL:
                by_domain.setdefault(host, vendor_id)
        else:
            by_address.setdefault(value, vendor_id)
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


class Batch:
    """One batch of messages: what routing reads once per organization, what is written
    together at the end (``flush``), and the messages of the batch itself (a reply may answer a
    message that arrived a moment earlier in the same batch, or the other way round)."""

    def __init__(self) -> None:
        self.targets: dict[str, Target] = {}
        # Capture addresses read so far, by prefix and token (None: no such address).
        self._tokens: dict[str, dict[str, EngagementCapture | CaptureSettings | None]] = {
            "e": {},
            "o": {},
        }
        self._sides: dict[int, Sides] = {}
        self._configs: dict[int, CaptureSettings] = {}
        self._capturing: dict[int, dict[int, Engagement]] = {}
        self._engagements: dict[int, Engagement] = {}
        self._rules: dict[int, dict[str, AddressRule]] = {}
        self._participants: dict[int, set[str]] = {}
        # The first copy of each Message-ID (stored before, or of this batch), and the
        # messages by the Message-ID they reply to: duplicates, parents and early replies.
        self.known: dict[tuple[int, str], InboundMessage] = {}
        self.replies: dict[tuple[int, str], list[InboundMessage]] = {}
        self.stubs: dict[int, MailThread] = {}  # threads stored before, by pk (never saved)
        # (engagement, event UID) → the thread of this batch's mail that invited to it
        self.invites: dict[tuple[int, str], MailThread] = {}
        self.messages: list[InboundMessage] = []
        self._kept: set[int] = set()  # id() of each of self.messages (a model's == is by pk)
        self.interactions: list[tuple[InboundMessage, dict]] = []
        self.new_threads: list[MailThread] = []
        self.thread_last: dict[int, datetime] = {}
        self.settle: dict[int, MailThread] = {}  # by id() until flushed
        self.after: list[tuple[InboundMessage, Parsed]] = []

    # --- reading once ---

    def sides(self, org_id: int) -> Sides:
        if org_id not in self._sides:
            self._sides[org_id] = sides(org_id)
        return self._sides[org_id]

    def config(self, message: InboundMessage) -> CaptureSettings:
        if message.org_id not in self._configs:
            self._configs[message.org_id] = org_settings(message.org)
        return self._configs[message.org_id]

    def capturing(self, org_id: int) -> dict[int, Engagement]:
        if org_id not in self._capturing:
            self._capturing[org_id] = {e.pk: e for e in _capturing(org_id)}
            self._engagements.update(self._capturing[org_id])
        return self._capturing[org_id]

    def engagement(self, pk: int) -> Engagement:
        if pk not in self._engagements:
            self._engagements[pk] = Engagement.unscoped.get(pk=pk)
        return self._engagements[pk]

    def load_addresses(self, recipient_lists: list[list[str]]) -> None:
        """Read the capture addresses among these recipients that were not read yet: one
        query for engagement addresses, one for organization addresses (when there are any)."""
        wanted: dict[str, set[str]] = {"e": set(), "o": set()}
        for recipients in recipient_lists:
            for prefix, token in _capture_tokens(recipients):
                if token not in self._tokens[prefix]:
                    wanted[prefix].add(token)
        if wanted["e"]:
            found = EngagementCapture.unscoped.select_related("engagement__org").filter(
                token__in=wanted["e"]
            )
            self._tokens["e"].update(dict.fromkeys(wanted["e"]) | {c.token: c for c in found})
        if wanted["o"]:
            found = CaptureSettings.unscoped.select_related("org").filter(token__in=wanted["o"])
            self._tokens["o"].update(dict.fromkeys(wanted["o"]) | {c.token: c for c in found})

    def resolve(self, recipients: list[str]) -> Target:
        key = "|".join(recipients)
        if key not in self.targets:
            self.load_addresses([recipients])
            self.targets[key] = _resolve_address(recipients, self._tokens)
        return self.targets[key]

    def prefetch(self, rows: list[tuple[InboundMessage, Parsed]]) -> None:
        """Per organization, one query for the stored messages the batch's messages repeat,
        answer or are answered by (and the addresses whose learned rules ``rule`` may read)."""
        by_org: dict[int, list[InboundMessage]] = {}
        for message, _parsed in rows:
            by_org.setdefault(message.org_id, []).append(message)
        for org_id, messages in by_org.items():
            own = {m.message_id for m in messages if m.message_id}
            ids = own | {i for m in messages for i in [m.in_reply_to, *m.references] if i}
            for row in (
                InboundMessage.unscoped.filter(org_id=org_id, duplicate_of__isnull=True)
                .filter(Q(message_id__in=ids) | Q(in_reply_to__in=own))
                .only("pk", "org_id", "message_id", "in_reply_to", "engagement_id", "thread_id")
                .order_by("pk")
            ):
                self._remember(row)
            self._participants.setdefault(org_id, set()).update(
                a for m in messages for a in m.participants
            )

    def _remember(self, message: InboundMessage) -> None:
        if message.org_id is None or not message.message_id:
            return
        if message.pk is None and message.duplicate_of is not None:
            return  # a duplicate of this batch is nobody's parent
        self.known.setdefault((message.org_id, message.message_id), message)
        if message.in_reply_to:
            self.replies.setdefault((message.org_id, message.in_reply_to), []).append(message)

    def rule(self, org_id: int, address: str) -> AddressRule | None:
        """What triage taught about ``address`` (read at the first question, for the whole
        batch: mail to an engagement's own address never asks)."""
        if org_id not in self._rules:
            self._rules[org_id] = {
                r.address: r
                for r in AddressRule.unscoped.filter(
                    org_id=org_id, address__in=self._participants.get(org_id, ())
                ).select_related("engagement")
            }
        return self._rules[org_id].get(address)

    # --- one message ---

    def prepare(self, item: Incoming):
        """Parse; the row to keep (not saved yet), and the recipients that name its owner."""
        raw = item.raw
        limit = settings.MAIL_MAX_MB * 1024 * 1024
        oversized = len(raw) > limit
        parsed = parse(raw[:HEADER_BYTES] if oversized else raw, headers_only=oversized)
        envelope_to = [a.lower() for a in item.envelope_to]
        message = InboundMessage(
            received_at=item.received_at or timezone.now(),
            via=item.via,
            envelope_from=item.envelope_from[:320],
            envelope_to=envelope_to[:50],
            raw_size=len(raw),
            raw_sha256=sha256(raw),
        )
        _copy(message, parsed)
        if not message.message_id:
            # No Message-ID: the content itself identifies the message (a re-poll is a duplicate).
            message.message_id = f"sha256:{message.raw_sha256}"
        if not oversized:
            message.raw = raw
        return message, parsed, oversized, list(dict.fromkeys(envelope_to + parsed.to))

    def process(self, message, parsed, target, oversized) -> InboundMessage:
        if oversized:
            return self.store(
                message,
                Status.REFUSED,
                f"the message is {message.raw_size / 1024 / 1024:.1f} MB, over the "
                f"{settings.MAIL_MAX_MB} MB limit",
            )
        if target.org is None:
            return self.store(message, Status.REFUSED, target.reason)
        first = self.known.get((message.org_id, message.message_id))
        if first is not None:
            message.duplicate_of = first
            message.raw = None  # the first copy keeps the bytes
            return self.store(
                message,
                Status.DUPLICATE,
                f"duplicate of message {first.pk or 'earlier in the batch'} (same Message-ID)",
            )
        if parsed.loop:
            return self.store(message, Status.REFUSED, f"mail loop: {parsed.loop}")
        if not parsed.from_address:
            return self.store(
                message, Status.REFUSED, "; ".join(parsed.problems) or "no sender address"
            )
        self.route(message, parsed, target)
        return message

    def store(self, message: InboundMessage, status: str, reason: str) -> InboundMessage:
        message.status, message.reason = status, reason[:300]
        if status == Status.REFUSED:
            message.new_text = ""  # kept raw (when within the cap) for reprocessing, not shown
        self._keep(message)
        return message

    def _keep(self, message: InboundMessage) -> None:
        if id(message) not in self._kept:
            self._kept.add(id(message))
            self.messages.append(message)
        self._remember(message)

    def finish(self, message: InboundMessage, status: str, reason: str = "") -> None:
        message.status, message.reason = status, reason[:300]
        config = self.config(message)
        if config.metadata_only:  # metadata-only organizations keep no body
            message.new_text, message.raw = "", None
        elif config.retention_days == 0:  # a retention of 0 days keeps no raw bytes
            message.raw = None
        self._keep(message)

    def match(self, message: InboundMessage, s: Sides) -> tuple[Engagement | None, str]:
        """The engagement an organization-address message belongs to, or why it is ambiguous."""
        org_id = message.org_id
        for parent_id in [message.in_reply_to, *message.references]:
            parent = self.known.get((org_id, parent_id)) if parent_id else None
            if parent is not None and parent.engagement_id:
                return self.engagement(parent.engagement_id), ""
        for address in message.participants:
            rule = self.rule(org_id, address)
            if rule is not None:
                return rule.engagement, "" if rule.engagement else f"ignored: mail with {address}"
        vendors = {s.vendor_of(a) for a in message.participants if not s.is_ours(a)} - {None}
        if not vendors:
            return None, "no participant is a contact of a vendor or at a vendor's domain"
        candidates = [e for e in self.capturing(org_id).values() if e.vendor_id in vendors]
        if len(candidates) == 1:
            return candidates[0], ""
        if not candidates:
            return None, "the vendor has no engagement with capture switched on"
        return None, "the vendor has several engagements with capture on: which one?"

    def route(self, message: InboundMessage, parsed: Parsed, target: Target) -> None:
        s = self.sides(message.org_id)
        engagement, reason = target.engagement, target.reason
        if engagement is None and not reason:
            engagement, reason = self.match(message, s)
            if engagement is not None and engagement.pk not in self.capturing(message.org_id):
                engagement, reason = None, f"capture is off for “{engagement.title}”"
        if reason.startswith("ignored:"):
            self.finish(message, Status.IGNORED, reason)
            return
        if engagement is None:
            self.finish(message, Status.TRIAGE, reason)
            return
        message.engagement = engagement
        message.direction = _direction(
            message.from_address, message.participants, s, engagement.vendor_id
        )
        if parsed.auto_reply:
            self.finish(
                message, Status.AUTO_REPLY, f"auto-reply ({parsed.auto_reply}): not contact"
            )
            return
        if not message.direction:
            message.engagement = None
            self.finish(
                message,
                Status.TRIAGE,
                f"{message.from_address} is neither a member nor a contact of the vendor",
            )
            return
        self.derive(message, parsed)

    # --- deriving interactions and facts ---

    def _stub(self, thread_id: int, row: InboundMessage) -> MailThread:
        if thread_id not in self.stubs:
            self.stubs[thread_id] = MailThread(
                pk=thread_id, org_id=row.org_id, engagement_id=row.engagement_id
            )
        return self.stubs[thread_id]

    def _thread_of(self, row: InboundMessage) -> MailThread | None:
        if row.thread_id:
            return self._stub(row.thread_id, row)
        return getattr(row, "_pending_thread", None)

    def _invite_thread(
        self, message: InboundMessage, uids: list[str], at: datetime
    ) -> MailThread | None:
        """The thread of the invite an attendee's answer is about, when the answer names no
        message we know (calendar apps send it as a new mail, threaded only by the UID)."""
        parents = [p for p in [message.in_reply_to, *message.references] if p]
        if any(self.known.get((message.org_id, p)) for p in parents):
            return None
        thread = next(
            (
                self.invites[k]
                for uid in uids
                if (k := (message.engagement_id, uid)) in self.invites
            ),
            None,
        )
        if thread is None:
            thread_id = (
                Meeting.unscoped.filter(
                    engagement_id=message.engagement_id, uid__in=uids, thread__isnull=False
                )
                .values_list("thread_id", flat=True)
                .first()
            )
            if thread_id is None:
                return None
            thread = self._stub(thread_id, message)
        if thread.pk is None:
            thread.last_at = max(thread.last_at, at)
        elif at > self.thread_last.get(thread.pk, at - timedelta(seconds=1)):
            self.thread_last[thread.pk] = at
        return thread

    def thread_for(self, message: InboundMessage, at: datetime) -> MailThread:
        org_id, engagement_id = message.org_id, message.engagement_id
        for parent_id in [message.in_reply_to, *message.references]:
            parent = self.known.get((org_id, parent_id)) if parent_id else None
            if parent is None or parent.engagement_id != engagement_id:
                continue
            thread = self._thread_of(parent)
            if thread is not None:
                if thread.pk is None:
                    thread.last_at = max(thread.last_at, at)
                elif at > self.thread_last.get(thread.pk, at - timedelta(seconds=1)):
                    self.thread_last[thread.pk] = at
                return thread
        # A reply that reached us before its parent: the parent arriving later joins this thread.
        for child in self.replies.get((org_id, message.message_id), []):
            thread = self._thread_of(child) if child.engagement_id == engagement_id else None
            if thread is not None:
                return thread
        thread = MailThread(
            org_id=org_id,
            engagement_id=engagement_id,
            subject=message.subject,
            started_at=at,
            last_at=at,
        )
        self.new_threads.append(thread)
        return thread

    def derive(self, message: InboundMessage, parsed: Parsed) -> None:
        """Routed: a thread, an interaction, a question owed by us; the thread settles at flush."""
        sent = min(message.sent_at or message.received_at, timezone.now())
        message.sent_at = sent
        try:
            delivery.check_interaction(
                occurred_at=sent,
                channel=Channel.EMAIL,
                direction=message.direction,
                outcome=Outcome.UNANSWERED,
                comfort=None,
                response_hours=None,
            )
        except ValidationError as exc:  # e.g. a date the app cannot store
            message.engagement = None
            self.finish(message, Status.TRIAGE, "; ".join(exc.messages))
            return
        # An attendee's answer to an invite (accepted, declined) answers the invite's mail
        # and asks us nothing, whatever its generated text says.
        invites, answers = calendar.event_uids(parsed.calendars) if parsed.calendars else ([], [])
        thread = (answers and self._invite_thread(message, answers, sent)) or self.thread_for(
            message, sent
        )
        for uid in invites:  # an answer later in this batch finds it before its meeting exists
            self.invites.setdefault((message.engagement_id, uid), thread)
        message.thread = thread
        message._pending_thread = thread
        config = self.config(message)
        vendor_asks = (
            message.direction == Direction.VENDOR_TO_US
            and not answers
            and not is_closing(message.new_text)
        )
        self.interactions.append(
            (
                message,
                {
                    "engagement": message.engagement,
                    "by": None,
                    "channel": Channel.EMAIL,
                    "direction": message.direction,
                    "outcome": Outcome.UNANSWERED,
                    "occurred_at": sent,
                    "notes": message.subject if config.metadata_only else _notes(message),
                    "question": _question(message) if vendor_asks else "",
                    "question_owed_by": Side.US,
                    "source": Source.EMAIL,
                },
            )
        )
        self.finish(message, Status.ROUTED)
        self.settle[id(thread)] = thread
        if parsed.calendars or (parsed.attachments and not config.metadata_only):
            self.after.append((message, parsed))

    # --- writing together ---

    def flush(self) -> None:
        """Write what the batch decided: threads, interactions (with questions and audit
        entries), messages; then invites, attachments, thread settlement and marks."""
        MailThread.unscoped.bulk_create(self.new_threads)
        if self.interactions:
            created = delivery.log_interactions(rows=[row for _m, row in self.interactions])
            for (message, _row), interaction in zip(self.interactions, created, strict=True):
                message.interaction = interaction
        for message in self.messages:
            if message.thread_id is None and message.thread is not None:
                message.thread_id = message.thread.pk
        fresh = [m for m in self.messages if m.pk is None]
        firsts = [m for m in fresh if m.duplicate_of is None]
        InboundMessage.unscoped.bulk_create(firsts)
        InboundMessage.unscoped.bulk_create([m for m in fresh if m.duplicate_of is not None])
        fresh_ids = {id(m) for m in fresh}
        for message in self.messages:
            if message.pk is not None and id(message) not in fresh_ids:
                message.save()
        if self.thread_last:
            MailThread.unscoped.filter(pk__in=self.thread_last).update(
                last_at=Case(
                    *[
                        When(pk=pk, last_at__lt=at, then=Value(at))
                        for pk, at in self.thread_last.items()
                    ],
                    default=F("last_at"),
                )
            )
        for message, parsed in self.after:
            if parsed.calendars:
                calendar.meetings_from_invites(message=message, calendars=parsed.calendars)
            if parsed.attachments and not self.config(message).metadata_only:
                _keep_attachments(message, parsed)
        marked = {row["engagement"].pk for _m, row in self.interactions}
        settle_threads(thread_ids=[t.pk for t in self.settle.values()], marked=marked)


def _capture_tokens(recipients: list[str]) -> list[tuple[str, str]]:
    """``(prefix, token)`` of each capture address among the recipients, in their order."""
    inbound = settings.MAIL_INBOUND_DOMAIN
    found = []
    for address in recipients:
        local, _, host = address.lower().partition("@")
        if host != inbound or "-" not in local:
            continue
        prefix, _, token = local.partition("-")
        if prefix in ("e", "o"):
            found.append((prefix, token.split("+", 1)[0]))
    return found


def _resolve_address(recipients: list[str], tokens: dict[str, dict]) -> Target:
    """The organization (and engagement) named by a capture address among the recipients
    (``tokens``: the addresses ``Batch.load_addresses`` read)."""
    if not settings.MAIL_INBOUND_DOMAIN:
        return Target(reason="mail capture is not configured (no MAIL_INBOUND_DOMAIN)")
    for prefix, token in _capture_tokens(recipients):
        found = tokens[prefix].get(token)
        if found is None:
            continue
        if prefix == "e":
            if not found.enabled:
                return Target(
                    org=found.engagement.org,
                    reason=f"capture is off for “{found.engagement.title}”",
                )
            return Target(org=found.engagement.org, engagement=found.engagement)
        return Target(org=found.org)
    return Target(reason="unknown address: none of the recipients is a capture address of ours")


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
    """Settle one thread (``settle_threads``)."""
    settle_threads(thread_ids=[thread.pk])


def settle_threads(*, thread_ids: list[int], marked: set[int] | None = None) -> None:
    """Each message in a thread is answered by the first later message from the other side;
    a closing one ("thanks, will do") waits for nothing and counts as held contact.

    Recomputed for whole threads (threads are short), so a reply imported before the message
    it answers, or a reprocessed message, still settles right: one read for all the threads,
    then one UPDATE per kind of change for the rows whose outcome changes, and one mark per
    engagement whose facts changed (``marked``: engagements this transaction marked already).
    """
    if not thread_ids:
        return
    rows = list(
        InboundMessage.unscoped.filter(thread_id__in=thread_ids, interaction__isnull=False)
        .select_related("interaction")
        .only(
            "pk",
            "thread_id",
            "sent_at",
            "direction",
            "new_text",
            "from_address",
            "interaction",
            "interaction__outcome",
            "interaction__response_hours",
            "interaction__engagement_id",
        )
        .order_by("thread_id", "sent_at", "pk")
    )
    answered: dict[int, int] = {}  # interaction → response hours
    replies: dict[int, InboundMessage] = {}  # interaction → the reply that answers it
    held: list[int] = []
    reopened: list[int] = []
    changed: set[int] = set()  # engagements
    for _thread_id, group in groupby(rows, key=lambda r: r.thread_id):
        thread = list(group)
        for i, row in enumerate(thread):
            reply = next(
                (r for r in thread[i + 1 :] if r.direction and r.direction != row.direction), None
            )
            interaction = row.interaction
            if reply:
                hours = max(0, int((reply.sent_at - row.sent_at) / timedelta(hours=1)))
                replies[interaction.pk] = reply
                if interaction.outcome != Outcome.ANSWERED or interaction.response_hours != hours:
                    answered[interaction.pk] = hours
                    changed.add(interaction.engagement_id)
            elif is_closing(row.new_text):
                # "Thanks, will do": contact that expects no answer; it waits for nobody.
                if interaction.outcome != Outcome.HELD:
                    held.append(interaction.pk)
                    changed.add(interaction.engagement_id)
            elif interaction.outcome != Outcome.UNANSWERED:
                reopened.append(interaction.pk)
                changed.add(interaction.engagement_id)
    if answered:
        by_hours: dict[int, list[int]] = {}
        for pk, hours in answered.items():
            by_hours.setdefault(hours, []).append(pk)
        Interaction.unscoped.filter(pk__in=answered).update(
            outcome=Outcome.ANSWERED,
            # One WHEN per response time, not per row: most replies share a few values.
            response_hours=Case(*[When(pk__in=pks, then=Value(h)) for h, pks in by_hours.items()]),
        )
    if held:
        Interaction.unscoped.filter(pk__in=held).update(outcome=Outcome.HELD, response_hours=None)
    if reopened:
        Interaction.unscoped.filter(pk__in=reopened).update(
            outcome=Outcome.UNANSWERED, response_hours=None
        )
        OpenQuestion.unscoped.filter(interaction_id__in=reopened).update(
            answered_at=None, answer=""
        )
    if answered:
        # A question is answered when its message is: the interactions answered just now.
        OpenQuestion.unscoped.filter(interaction_id__in=answered, answered_at__isnull=True).update(
            answered_at=Case(
                *[When(interaction_id=pk, then=Value(replies[pk].sent_at)) for pk in answered]
            ),
            answer=Case(
                *[
                    When(
                        interaction_id=pk,
                        then=Value(f"Replied by e-mail ({replies[pk].from_address})"),
                    )
                    for pk in answered
                ]
            ),
        )
    changed -= marked or set()
    if changed:
        hooks.engagements_changed(engagement_ids=sorted(changed))


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
    with audit_buffer():
        batch = Batch()
        batch.prefetch([(message, parsed)])
        batch.derive(message, parsed)
        batch.flush()
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
    batch = Batch()
    batch.finish(message, Status.IGNORED, f"ignored by {by}")
    batch.flush()
    return message


# --- reprocessing and retention ---------------------------------------------------------------


@transaction.atomic
def reprocess(*, message: InboundMessage) -> InboundMessage:
    """Derive again from the kept raw bytes (after a rule change); the interaction is redone."""
    if message.raw is None or message.status == Status.DUPLICATE:
        return message
    with all_organizations(), audit_buffer():
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
        batch = Batch()
        if message.org_id is None:
            target = batch.resolve(list(dict.fromkeys(message.envelope_to + parsed.to)))
            message.org = target.org
        else:
            target = Target(org=message.org, engagement=message.engagement)
            if target.engagement is None:
                target = batch.resolve(list(dict.fromkeys(message.envelope_to + parsed.to)))
                target.org = message.org
        if message.org_id is None:
            batch.store(message, Status.REFUSED, target.reason)
        elif parsed.loop:
            batch.finish(message, Status.REFUSED, f"mail loop: {parsed.loop}")
        else:
            batch.prefetch([(message, parsed)])
            batch.route(message, parsed, target)
        batch.flush()
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
