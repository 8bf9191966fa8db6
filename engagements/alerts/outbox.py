"""The notification outbox: claim due rows, deliver them by webhook or e-mail, back off on failure.

Rows are written by ``services`` in the transaction that changed the alert; delivery here
needs no broker at write time, and a row is claimed by a conditional UPDATE so two
dispatchers never send it twice.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Membership, Role
from engagements.alerts.models import (
    EscalationPolicy,
    Notification,
    NotificationChannel,
    NotificationState,
)
from engagements.watch import rules
from engagements.watch.models import EngagementHealth, Level

log = logging.getLogger(__name__)

WEBHOOK_PAYLOAD_VERSION = 1
WEBHOOK_SIGNATURE_HEADER = "Vendorwatch-Signature"
# How far a delivery's signed moment may be from the receiver's clock (documented in the
# README's receiver): older ones are replays, refused.
WEBHOOK_SIGNATURE_TOLERANCE = timedelta(minutes=5)
MAX_ATTEMPTS = 6
STALE_CLAIM = timedelta(minutes=10)


def check_webhook_url(url: str) -> None:
    """http(s) only; outside development/tests no private, loopback or link-local target (SSRF)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "A webhook URL must start with http:// or https://."})
    if settings.HEALTH_WEBHOOK_ALLOW_PRIVATE:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except OSError:
        raise ValidationError({"url": f"{parts.hostname} does not resolve."}) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global or ip.is_multicast:
            raise ValidationError({"url": f"{parts.hostname} points at a private address ({ip})."})


def dispatch_outbox(*, at: datetime | None = None, limit: int = 200) -> int:
    """Claim due outbox rows one by one (conditional UPDATE) and deliver them; returns how many sent.

    A channel that fails is not tried again in the same run: its other due rows wait for the
    next run, unclaimed and with no attempt counted. A receiver that hangs thus costs one
    timeout per run instead of one per queued notification, which held back every other
    channel's messages behind it (and, with enough of them, ran the task into its time limit).
    """
    at = at or timezone.now()
    due = Q(state=NotificationState.PENDING, next_attempt_at__lte=at) | Q(
        state=NotificationState.CLAIMED, claimed_at__lt=at - STALE_CLAIM
    )
    failing: set[int] = set()
    sent = tried = 0
    while tried < limit:
        # Rows of failing channels are left out of the query, so they never use up the limit.
        wanted = limit - tried
        rows = list(
            Notification.unscoped.filter(due)
            .exclude(channel_id__in=failing)
            .order_by("next_attempt_at", "pk")
            .values_list("pk", "channel_id")[:wanted]
        )
        for pk, channel_id in rows:
            if channel_id in failing:
                continue
            # Exactly one row changed = claimed by us; works on SQLite where select_for_update does nothing.
            claimed = Notification.unscoped.filter(due, pk=pk).update(
                state=NotificationState.CLAIMED, claimed_at=at, attempts=F("attempts") + 1
            )
            if claimed != 1:
                continue  # another dispatcher has it
            tried += 1
            if deliver_notification(notification_id=pk, at=at):
                sent += 1
            else:
                failing.add(channel_id)
        if len(rows) < wanted or not failing:
            break  # a short batch: nothing more is due; no failure: nothing was skipped
    return sent


def deliver_notification(*, notification_id: int, at: datetime | None = None) -> int:
    """Deliver one claimed outbox row and record the outcome (retry later with backoff on failure)."""
    at = at or timezone.now()
    n = Notification.unscoped.select_related("channel", "alert__engagement__vendor").get(
        pk=notification_id
    )
    if n.state != NotificationState.CLAIMED:
        return 0
    try:
        if n.channel.kind == NotificationChannel.Kind.WEBHOOK:
            _post_webhook(n)
        else:
            _send_email(n)
    except SoftTimeLimitExceeded:
        # The task ran out of time mid-delivery: not the endpoint's failure. Back to pending,
        # the attempt uncounted, and the task ends; the next run delivers it.
        Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
            state=NotificationState.PENDING, attempts=F("attempts") - 1
        )
        raise
    except Exception as exc:  # any failure of one endpoint is recorded; others are unaffected
        retry = n.attempts < MAX_ATTEMPTS
        Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
            state=NotificationState.PENDING if retry else NotificationState.FAILED,
            next_attempt_at=at + timedelta(seconds=min(3600, 30 * 2**n.attempts)),
            last_error=f"attempt {n.attempts}: {type(exc).__name__}: {exc}"[:1000],
        )
        log.warning("notification %s failed (attempt %s): %s", n.pk, n.attempts, exc)
        return 0
    Notification.unscoped.filter(pk=n.pk, state=NotificationState.CLAIMED).update(
        state=NotificationState.SENT, sent_at=at, last_error=""
    )
    return 1


def payload(n: Notification) -> dict:
    """The documented webhook body (``version`` 1)."""
    body = {"version": WEBHOOK_PAYLOAD_VERSION, "id": n.idempotency_key, "test": n.is_test}
    if n.alert_id:
        alert, engagement = n.alert, n.alert.engagement
        health = EngagementHealth.unscoped.filter(engagement=engagement).first()
        body |= {
            "event": "alert.reminder" if n.sequence else "alert.level",
            "level": n.level,
            "reminder": n.sequence,
            "alert": {
                "id": alert.pk,
                "status": alert.status,
                "opened_at": alert.opened_at.isoformat(),
            },
            "engagement": {
                "id": engagement.pk,
                "title": engagement.title,
                "vendor": engagement.vendor.name,
            },
            "health": {
                "score": health.score if health else None,
                "signals": health.signals if health else [],
            },
            "url": f"{settings.SITE_URL}/alerts/{alert.pk}/",
        }
    else:
        body |= {"event": "test", "level": n.level}
    return body


def sign(secret: str, body: bytes, *, timestamp: int) -> str:
    """The ``Vendorwatch-Signature`` header: ``t=<unix seconds>,v1=<hex HMAC-SHA256>`` of
    ``"<t>." + body`` keyed with the channel's secret (Stripe's scheme). The moment is signed
    with the body, so a captured delivery replayed later fails the receiver's tolerance
    check (``WEBHOOK_SIGNATURE_TOLERANCE``) and cannot be re-dated without the secret."""
    signed = str(timestamp).encode() + b"." + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is a failure, not followed: the SSRF guard checked only the channel's URL,
    and a redirect could lead to an internal address."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError for the 3xx


_webhook_opener = urllib.request.build_opener(_NoRedirects)


def _post_webhook(n: Notification) -> None:
    check_webhook_url(n.channel.url)  # again at send time: DNS may have changed
    body = json.dumps(payload(n), sort_keys=True).encode()
    request = urllib.request.Request(
        n.channel.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Vendorwatch-Webhook/1",
            "Idempotency-Key": n.idempotency_key,
            # A fresh moment per attempt: a retry is a new delivery, same Idempotency-Key.
            WEBHOOK_SIGNATURE_HEADER: sign(
                n.channel.secret, body, timestamp=int(timezone.now().timestamp())
            ),
        },
    )
    with _webhook_opener.open(request, timeout=settings.HEALTH_WEBHOOK_TIMEOUT) as response:
        if not 200 <= response.status < 300:
            raise urllib.error.HTTPError(
                n.channel.url, response.status, "not 2xx", response.headers, None
            )


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


def _send_email(n: Notification) -> None:
    if n.is_test:
        to = recipients(org_id=n.org_id, level=Level.CUT_LOSSES, owner_id=None)
        subject, text = "Vendorwatch test notification", "This channel works."
    else:
        engagement = n.alert.engagement
        to = recipients(org_id=n.org_id, level=n.level, owner_id=engagement.owner_id)
        label = Level(n.level).label
        subject = f"[{label}] {engagement.title}" + (
            f" (reminder {n.sequence})" if n.sequence else ""
        )
        body = payload(n)
        lines = [
            f"- {rules.LABELS.get(s['kind'], s['kind'])}: {s['evidence']}"
            + (f"\n  To clear it: {s['clears']}" if s.get("clears") else "")
            for s in body["health"]["signals"]
        ]
        text = (
            f"{engagement.title} ({engagement.vendor.name}) is at {label}.\n\n"
            + "\n".join(lines)
            + f"\n\n{body['url']}\n"
        )
    if to:
        # The same Message-ID on every attempt: if a worker dies after the SMTP server took
        # the message but before we recorded it, the resend is a duplicate mail systems drop.
        EmailMessage(subject, text, to=to, headers={"Message-ID": message_id(n)}).send()


def message_id(n: Notification) -> str:
    host = urlsplit(settings.SITE_URL).hostname or "vendorwatch.invalid"
    return f"<{n.idempotency_key}@{host}>"
