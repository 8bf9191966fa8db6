"""The notification outbox: claim due rows in batches, deliver them by webhook, e-mail or a chat
service (Apprise, ``chat.py``), back off on failure, and keep draining while there is work.

Rows are written by ``services`` in the transaction that changed the alert; delivery here
needs no broker at write time. A run claims a batch in one statement (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so runs started together take disjoint batches and add up; one
``UPDATE … WHERE id IN (…) RETURNING`` on SQLite, whose writers are serialized), which also
returns everything the payloads need; results are recorded in bulk per batch. A run reuses
one keep-alive HTTP connection per host and one SMTP connection, and stops after a time
budget, saying whether due rows are left so its task can queue the next run at once.
"""

import hashlib
import hmac
import http.client
import json
import logging
import ssl
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Membership, Role
from engagements.alerts import chat, ssrf
from engagements.alerts.models import (
    Alert,
    EscalationPolicy,
    Notification,
    NotificationChannel,
    NotificationState,
)
from engagements.delivery.models import Engagement
from engagements.watch import rules
from engagements.watch.models import EngagementHealth, Level

log = logging.getLogger(__name__)

WEBHOOK_PAYLOAD_VERSION = 1
WEBHOOK_SIGNATURE_HEADER = "Vendorwatch-Signature"
# How far a delivery's signed moment may be from the receiver's clock (documented in the
# README's receiver): older ones are replays, refused.
WEBHOOK_SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
# A receiver's answer body is read (so the connection can serve the next request) up to this
# size; a longer one is not worth the wait: the connection is closed instead.
MAX_ANSWER_BYTES = 64 * 1024


def stale_claim() -> timedelta:
    """How long a claim may stay unrecorded before another run takes the row again (the
    claimer died). A run releases what it has not sent when its budget is spent, so a live
    claim is never older than the budget plus one delivery."""
    return timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS)


def backoff(attempts: int) -> timedelta:
    """The wait before the next try after ``attempts`` failed ones (doubling, capped at 1 h)."""
    return timedelta(seconds=min(3600, 30 * 2**attempts))


def check_webhook_url(url: str) -> None:
    """http(s) only; outside development/tests no private, loopback or link-local target (SSRF)."""
    host, port = _target(url)
    ssrf.check_host(host, port, field="url")


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "A webhook URL must start with http:// or https://."})
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


# --- claiming ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Claimed:
    """One claimed outbox row with what its delivery needs (read by the claim itself)."""

    pk: int
    org_id: int
    channel_id: int
    kind: str
    url: str
    secret: str
    apprise_url: str
    level: str
    sequence: int
    is_test: bool
    idempotency_key: str
    attempts: int
    alert_id: int | None = None
    alert_status: str = ""
    alert_opened_at: datetime | None = None
    engagement_id: int | None = None
    engagement_title: str = ""
    engagement_owner_id: int | None = None
    vendor_name: str = ""
    health_score: int | None = None
    health_signals: list = field(default_factory=list)
    # A contract's decide-by reminder: its words were written when it was queued.
    contract_id: int | None = None
    decide_by: date | None = None
    subject: str = ""
    text: str = ""
    owner_id: int | None = None


CLAIMED_FIELDS = {
    # Claimed attribute: the ORM path from a Notification (the SQLite read, after the claim).
    "pk": "pk",
    "org_id": "org_id",
    "channel_id": "channel_id",
    "kind": "channel__kind",
    "url": "channel__url",
    "secret": "channel__secret",
    "apprise_url": "channel__apprise_url",
    "level": "level",
    "sequence": "sequence",
    "is_test": "is_test",
    "idempotency_key": "idempotency_key",
    "attempts": "attempts",
    "alert_id": "alert_id",
    "alert_status": "alert__status",
    "alert_opened_at": "alert__opened_at",
    "engagement_id": "alert__engagement_id",
    "engagement_title": "alert__engagement__title",
    "engagement_owner_id": "alert__engagement__owner_id",
    "vendor_name": "alert__engagement__vendor__name",
    "health_score": "alert__engagement__health__score",
    "health_signals": "alert__engagement__health__signals",
    "contract_id": "contract_id",
    "decide_by": "decide_by",
    "subject": "subject",
    "text": "text",
    "owner_id": "owner_id",
}


def _due_sql() -> tuple[str, str]:
    """The WHERE clause of due rows (pending and due, or claimed by a run that died) and the
    ORDER BY that walks the partial index of undelivered rows."""
    return (
        "((state = 'pending' AND next_attempt_at <= %s) OR (state = 'claimed' AND claimed_at < %s))",
        "ORDER BY next_attempt_at, id",
    )


def _pg_claim_sql() -> str:
    t = {
        "n": Notification._meta.db_table,
        "c": NotificationChannel._meta.db_table,
        "a": Alert._meta.db_table,
        "e": Engagement._meta.db_table,
        "v": Engagement._meta.get_field("vendor").related_model._meta.db_table,
        "h": EngagementHealth._meta.db_table,
    }
    due, order = _due_sql()
    return f"""
        WITH due AS (
            SELECT id FROM {t["n"]} WHERE {due} {order} LIMIT %s FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE {t["n"]} n SET state = 'claimed', claimed_at = %s, attempts = n.attempts + 1
            FROM due WHERE n.id = due.id
            RETURNING n.id, n.org_id, n.channel_id, n.level, n.sequence, n.is_test,
                      n.idempotency_key, n.attempts, n.alert_id, n.next_attempt_at,
                      n.contract_id, n.decide_by, n.subject, n.text, n.owner_id
        )
        SELECT claimed.id, claimed.org_id, claimed.channel_id, c.kind, c.url, c.secret,
               c.apprise_url, claimed.level, claimed.sequence, claimed.is_test, claimed.idempotency_key,
               claimed.attempts, claimed.alert_id, a.status, a.opened_at, e.id, e.title,
               e.owner_id, v.name, h.score, h.signals, claimed.contract_id,
               claimed.decide_by, claimed.subject, claimed.text, claimed.owner_id
        FROM claimed
        JOIN {t["c"]} c ON c.id = claimed.channel_id
        LEFT JOIN {t["a"]} a ON a.id = claimed.alert_id
        LEFT JOIN {t["e"]} e ON e.id = a.engagement_id
        LEFT JOIN {t["v"]} v ON v.id = e.vendor_id
        LEFT JOIN {t["h"]} h ON h.engagement_id = e.id
        ORDER BY claimed.next_attempt_at, claimed.id
    """


def claim(*, at: datetime, limit: int) -> list[Claimed]:
    """Claim up to ``limit`` due rows for this run (one statement) and return them, oldest due
    first, with the channel, alert, engagement, vendor and health their payloads need.

    Each claim counts an attempt and stamps ``claimed_at = at``, which identifies this run's
    claim when its results are recorded."""
    moment = connection.ops.adapt_datetimefield_value(at)
    stale = connection.ops.adapt_datetimefield_value(at - stale_claim())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_pg_claim_sql(), [moment, stale, limit, moment])
            rows = [Claimed(*row) for row in cursor.fetchall()]
            for row in rows:
                if isinstance(row.health_signals, str | bytes):
                    row.health_signals = json.loads(row.health_signals)
                row.health_signals = row.health_signals or []
            return rows
        # SQLite: one writer at a time, so the conditional UPDATE is the claim by itself.
        table = Notification._meta.db_table
        due, order = _due_sql()
        cursor.execute(
            f"UPDATE {table} SET state = 'claimed', claimed_at = %s, attempts = attempts + 1 "
            f"WHERE id IN (SELECT id FROM {table} WHERE {due} {order} LIMIT %s) RETURNING id",
            [moment, moment, stale, limit],
        )
        ids = [pk for (pk,) in cursor.fetchall()]
    if not ids:
        return []
    values = (
        Notification.unscoped.filter(pk__in=ids)
        .order_by("next_attempt_at", "pk")
        .values_list(*CLAIMED_FIELDS.values())
    )
    rows = [Claimed(*row) for row in values]
    for row in rows:
        row.health_signals = row.health_signals or []
    return rows


# --- a run -------------------------------------------------------------------------------------


@dataclass
class RunResult:
    sent: int = 0
    failed: int = 0
    released: int = 0
    batches: int = 0
    more: bool = False  # due rows were left when the budget ran out


@dataclass
class _Batch:
    """What happened to one claimed batch, recorded in a few statements at its end."""

    stamp: datetime
    fixed_clock: bool
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[Claimed, Exception]] = field(default_factory=list)
    # Claimed but not tried (their channel failed, the budget or the time limit ran out):
    # back to pending, the attempt uncounted, from the given moment.
    released: dict[int, datetime | None] = field(default_factory=dict)


def drain(
    *,
    at: datetime | None = None,
    limit: int | None = None,
    budget: float | None = None,
    batch: int | None = None,
    on_backlog: Callable[[], None] | None = None,
) -> RunResult:
    """Deliver due notifications batch after batch until none is due, ``limit`` rows were
    tried or ``budget`` seconds are spent (then ``more`` says whether due rows remain).

    ``at`` fixes the run's clock (tests, ``sweep_health --at``); without it each batch is due
    as of its own moment, so rows queued during the run are taken too. ``on_backlog`` is
    called once, when a batch comes back full: more is queued than one run takes, and the
    caller may start another run beside this one (their claims never overlap).

    A channel that fails is not tried again in this run, and its other undelivered rows wait
    for the failed row's backoff, unclaimed and with no attempt counted. A receiver that
    hangs thus costs one timeout per run (per process) instead of one per queued
    notification, and cannot hold back the other channels' messages behind it.
    """
    budget = settings.OUTBOX_RUN_SECONDS if budget is None else budget
    batch = batch or settings.OUTBOX_BATCH
    deadline = time.monotonic() + budget
    result = RunResult()
    failing: dict[int, datetime] = {}  # channel -> when its rows are due again
    backlog_told = False
    with _Transport() as transport:
        while limit is None or result.sent + result.failed < limit:
            if time.monotonic() >= deadline:
                result.more = _any_due(at or timezone.now())
                break
            moment = at or timezone.now()
            wanted = batch if limit is None else min(batch, limit - result.sent - result.failed)
            rows = claim(at=moment, limit=wanted)
            if not rows:
                break
            result.batches += 1
            if len(rows) == wanted == batch and on_backlog and not backlog_told:
                backlog_told = True
                on_backlog()
            done = _Batch(stamp=moment, fixed_clock=at is not None)
            try:
                for row in rows:
                    if row.channel_id in failing:
                        done.released[row.pk] = failing[row.channel_id]
                    elif time.monotonic() >= deadline:
                        done.released[row.pk] = None
                    elif transport.deliver(row):
                        done.sent.append(row.pk)
                    else:
                        exc = transport.last_error
                        done.failed.append((row, exc))
                        failing[row.channel_id] = moment + backoff(row.attempts)
            except SoftTimeLimitExceeded:
                # The task ran out of time mid-delivery: not the endpoint's failure. What was
                # not recorded goes back to pending, the attempt uncounted; the next run has it.
                recorded = set(done.sent) | {r.pk for r, _ in done.failed} | set(done.released)
                done.released |= {r.pk: None for r in rows if r.pk not in recorded}
                _record(done, failing)
                raise
            _record(done, failing)
            result.sent += len(done.sent)
            result.failed += len(done.failed)
            result.released += len(done.released)
            if len(rows) < wanted and not done.released:
                break  # a short batch: nothing more was due when it was claimed
    return result


def dispatch_outbox(*, at: datetime | None = None, limit: int | None = None) -> int:
    """Deliver what is due (one run, within its time budget); returns how many were sent."""
    return drain(at=at, limit=limit).sent


def _any_due(at: datetime) -> bool:
    due = Q(state=NotificationState.PENDING, next_attempt_at__lte=at) | Q(
        state=NotificationState.CLAIMED, claimed_at__lt=at - stale_claim()
    )
    return Notification.unscoped.filter(due).exists()


def _record(done: _Batch, failing: dict[int, datetime]) -> None:
    """A batch's outcome in bulk: one UPDATE for the sent rows, one per released moment, one
    per failure (rare), and one per newly failing channel to hold back its other rows. Each
    UPDATE matches only rows still under this run's claim (``claimed_at`` = its stamp): a
    claim that went stale and was taken by another run is that run's to record."""
    ours = Notification.unscoped.filter(state=NotificationState.CLAIMED, claimed_at=done.stamp)
    if done.sent:
        ours.filter(pk__in=done.sent).update(
            state=NotificationState.SENT,
            sent_at=done.stamp if done.fixed_clock else timezone.now(),
            last_error="",
        )
    by_moment: dict[datetime | None, list[int]] = {}
    for pk, moment in done.released.items():
        by_moment.setdefault(moment, []).append(pk)
    for moment, pks in by_moment.items():
        changes = {"state": NotificationState.PENDING, "attempts": F("attempts") - 1}
        if moment is not None:
            changes["next_attempt_at"] = moment
        ours.filter(pk__in=pks).update(**changes)
    for row, exc in done.failed:
        retry = row.attempts < MAX_ATTEMPTS
        ours.filter(pk=row.pk).update(
            state=NotificationState.PENDING if retry else NotificationState.FAILED,
            next_attempt_at=done.stamp + backoff(row.attempts),
            last_error=f"attempt {row.attempts}: {type(exc).__name__}: {exc}"[:1000],
        )
        log.warning("notification %s failed (attempt %s): %s", row.pk, row.attempts, exc)
        # The channel's rows not claimed by this run wait as long as the failed one.
        Notification.unscoped.filter(
            channel_id=row.channel_id,
            state=NotificationState.PENDING,
            next_attempt_at__lt=failing[row.channel_id],
        ).update(next_attempt_at=failing[row.channel_id])


# --- transport: one run's connections ----------------------------------------------------------


class _Transport:
    """One run's connections: a keep-alive HTTP connection per (scheme, host, port), one SMTP
    connection opened at the first e-mail, and the recipients already looked up."""

    def __init__(self) -> None:
        self.http: dict[tuple[str, str, int], http.client.HTTPConnection] = {}
        self.mailer = None
        self.recipients: dict[tuple[int, str, int | None], list[str]] = {}
        self.last_error: Exception | None = None

    def __enter__(self) -> "_Transport":
        return self

    def __exit__(self, *exc) -> None:
        for conn in self.http.values():
            conn.close()
        self.http.clear()
        if self.mailer is not None:
            try:
                self.mailer.close()
            except Exception as error:  # the messages were handed over; closing is courtesy
                log.info("closing the SMTP connection failed: %s", error)
            self.mailer = None

    def deliver(self, row: Claimed) -> bool:
        """Send one claimed row; False (and ``last_error``) when its endpoint failed."""
        try:
            if row.kind == NotificationChannel.Kind.WEBHOOK:
                _post_webhook(row, self)
            elif row.kind == NotificationChannel.Kind.APPRISE:
                chat.deliver(
                    apprise_url=row.apprise_url,
                    message=chat_message(row),
                    idempotency_key=row.idempotency_key,
                )
            else:
                _send_email(row, self)
        except SoftTimeLimitExceeded:
            raise
        except Exception as exc:  # any failure of one endpoint is recorded; others are unaffected
            self.last_error = exc
            return False
        return True

    def connection_for(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        """The run's connection to the URL's host (made on first use) and the request path."""
        parts = urlsplit(url)
        host, port = _target(url)
        key = (parts.scheme, host, port)
        conn = self.http.get(key)
        if conn is None:
            timeout = settings.HEALTH_WEBHOOK_TIMEOUT
            if parts.scheme == "https":
                conn = _GuardedHTTPSConnection(host, port, timeout=timeout)
            else:
                conn = _GuardedHTTPConnection(host, port, timeout=timeout)
            self.http[key] = conn
        path = parts.path or "/"
        return conn, f"{path}?{parts.query}" if parts.query else path

    def mail_connection(self):
        if self.mailer is None:
            self.mailer = mail.mailers.default
            self.mailer.open()  # else each send_messages() opens and closes its own session
        return self.mailer

    def recipients_for(self, *, org_id: int, level: str, owner_id: int | None) -> list[str]:
        key = (org_id, level, owner_id)
        if key not in self.recipients:
            self.recipients[key] = recipients(org_id=org_id, level=level, owner_id=owner_id)
        return self.recipients[key]


# The webhook's host resolved to an address the SSRF guard refuses (kept here for callers).
PrivateAddress = ssrf.PrivateAddress


class _GuardedHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        self.sock = ssrf.open_socket(self.host, self.port, self.timeout)


class _GuardedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, *, timeout: float):
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)

    def connect(self) -> None:
        sock = ssrf.open_socket(self.host, self.port, self.timeout)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


# A kept-alive connection the receiver closed meanwhile fails on reuse before any answer:
# one fresh connection is tried at once (the Idempotency-Key covers a request that did land).
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _post_webhook(row: Claimed, transport: _Transport) -> None:
    body = json.dumps(payload(row), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Vendorwatch-Webhook/1",
        "Idempotency-Key": row.idempotency_key,
        # A fresh moment per attempt: a retry is a new delivery, same Idempotency-Key.
        WEBHOOK_SIGNATURE_HEADER: sign(row.secret, body, timestamp=int(timezone.now().timestamp())),
    }
    conn, path = transport.connection_for(row.url)
    for first_try in (True, False):
        reused = conn.sock is not None
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            # A 3xx is a failure, not followed: the SSRF guard checked the channel's host,
            # and a redirect could lead to an internal address.
            response.read(MAX_ANSWER_BYTES)
            if not response.isclosed():
                conn.close()  # a long answer: not worth reading to keep the connection
        except _STALE_CONNECTION:
            conn.close()
            if first_try and reused:
                continue
            raise
        except BaseException:
            conn.close()  # a timeout leaves the connection mid-exchange: never reuse it
            raise
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(row.url, response.status, response.reason, None, None)
        return


def payload(row: Claimed) -> dict:
    """The documented webhook body (``version`` 1)."""
    body = {"version": WEBHOOK_PAYLOAD_VERSION, "id": row.idempotency_key, "test": row.is_test}
    if row.contract_id:
        body |= {
            "event": "contract.decide_by",
            "level": row.level,
            "days_left": row.sequence,
            "contract": {
                "id": row.contract_id,
                "decide_by": row.decide_by.isoformat() if row.decide_by else None,
                "subject": row.subject,
                "text": row.text,
            },
            "url": f"{settings.SITE_URL}/vendors/contracts/{row.contract_id}/",
        }
    elif row.alert_id:
        body |= {
            "event": "alert.reminder" if row.sequence else "alert.level",
            "level": row.level,
            "reminder": row.sequence,
            "alert": {
                "id": row.alert_id,
                "status": row.alert_status,
                "opened_at": row.alert_opened_at.isoformat(),
            },
            "engagement": {
                "id": row.engagement_id,
                "title": row.engagement_title,
                "vendor": row.vendor_name,
            },
            "health": {"score": row.health_score, "signals": row.health_signals},
            "url": f"{settings.SITE_URL}/alerts/{row.alert_id}/",
        }
    else:
        body |= {"event": "test", "level": row.level}
    return body


def chat_message(row: Claimed) -> chat.Message:
    """What an Apprise channel says about the row's alert, its contract's decide-by date, or
    that the channel works."""
    if row.contract_id:
        return chat.Message(
            level=row.level,
            subject=row.subject,
            text=row.text,
            link=f"{settings.SITE_URL}/vendors/contracts/{row.contract_id}/",
        )
    if not row.alert_id:
        return chat.Message(level="", link=f"{settings.SITE_URL}/notifications/")
    return chat.Message(
        level=row.level,
        engagement=row.engagement_title,
        vendor=row.vendor_name,
        score=row.health_score,
        signals=row.health_signals,
        link=f"{settings.SITE_URL}/alerts/{row.alert_id}/",
        reminder=row.sequence,
    )


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The ``Vendorwatch-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` of
    ``"<t>." + body`` keyed with the channel's secret (Stripe's scheme). The moment is signed
    with the body, so a captured delivery replayed later fails the receiver's tolerance
    check (``WEBHOOK_SIGNATURE_TOLERANCE``) and cannot be re-dated without the secret."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def recipients(*, org_id: int, level: str, owner_id: int | None) -> list[str]:
    """E-mail addresses the escalation policy names for ``level``."""
    policy = EscalationPolicy.for_org(org_id)
    audience = set(policy.audience(level))
    who = Q(pk__in=[])
    roles = [
        r for key, r in (("managers", Role.MANAGER), ("owners", Role.OWNER)) if key in audience
    ]
    if roles:
        who |= Q(role__in=roles)
    if "engagement_owner" in audience and owner_id:
        who |= Q(user_id=owner_id)
    return sorted(
        Membership.objects.filter(who, org_id=org_id)
        .values_list("user__email", flat=True)
        .distinct()
    )


def _send_email(row: Claimed, transport: _Transport) -> None:
    if row.is_test:
        to = transport.recipients_for(org_id=row.org_id, level=Level.CUT_LOSSES, owner_id=None)
        subject, text = "Vendorwatch test notification", "This channel works."
    elif row.contract_id:
        to = transport.recipients_for(org_id=row.org_id, level=row.level, owner_id=row.owner_id)
        subject, text = row.subject, row.text + "\n"
    else:
        to = transport.recipients_for(
            org_id=row.org_id, level=row.level, owner_id=row.engagement_owner_id
        )
        label = Level(row.level).label
        subject = f"[{label}] {row.engagement_title}" + (
            f" (reminder {row.sequence})" if row.sequence else ""
        )
        lines = [
            f"- {rules.LABELS.get(s['kind'], s['kind'])}: {s['evidence']}"
            + (f"\n  To clear it: {s['clears']}" if s.get("clears") else "")
            for s in row.health_signals
        ]
        text = (
            f"{row.engagement_title} ({row.vendor_name}) is at {label}.\n\n"
            + "\n".join(lines)
            + f"\n\n{settings.SITE_URL}/alerts/{row.alert_id}/\n"
        )
    if not to:
        return
    # The same Message-ID on every attempt: if a worker dies after the SMTP server took
    # the message but before we recorded it, the resend is a duplicate mail systems drop.
    message = EmailMessage(subject, text, to=to, headers={"Message-ID": message_id(row)})
    mailer = transport.mail_connection()
    try:
        mailer.send_messages([message])
    except Exception:
        # The SMTP session may be broken: the next message opens a fresh one.
        transport.mailer = None
        try:
            mailer.close()
        except Exception as error:
            log.info("closing a failed SMTP connection failed: %s", error)
        raise


def message_id(row: Claimed | Notification) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "vendorwatch.invalid"
    return f"<{row.idempotency_key}@{host}>"
