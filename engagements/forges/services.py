"""Activity in: verify a forge's webhook delivery, keep it, map it, derive traces of work.

One entry point for every webhook (``receive``). It never raises for bad input: every call is
recorded as a ``ForgeDelivery`` with a status, the HTTP status we answer and a reason a person
can read (the owner's deliveries log). In order, a call is refused when

- its address is no connection of ours (404) or a revoked one (410);
- its body is over ``FORGE_WEBHOOK_MAX_KB`` (413: the view stops reading at the limit);
- it is unsigned or its signature is wrong (401): GitHub's ``X-Hub-Signature-256`` (HMAC-SHA256
  of the body), GitLab's ``X-Gitlab-Token`` (the secret itself), the generic format's
  ``Vendorwatch-Signature: t=…,v1=…`` (HMAC-SHA256 of ``"<t>." + body``, our outgoing
  webhooks' scheme) whose moment must be within 5 minutes of our clock (a replay later is 401);
- it names an event we do not take, has no delivery id, or its JSON is not that event's (400);
- its delivery id was accepted before on this connection (409: a redelivery or a replay).

An accepted delivery is routed by its repository (``ForgeRepository``): to an engagement (its
traces of work become ``WorkActivity`` rows through ``delivery.services.record_activity``, which
marks the engagement for the watcher), to nowhere (a repository set to be ignored), or to the
triage list when nobody mapped the repository yet (the payload is kept; assigning the repository
derives it then). Within the engagement, each event goes to the first deliverable whose
``ActivityRule`` matches (a branch glob, a label, a keyword); none: the engagement's own.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from urllib.parse import parse_qs

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Organization, User
from accounts.tenancy import all_organizations
from engagements.delivery import hooks
from engagements.delivery import services as delivery
from engagements.delivery.models import ActivityRule, Deliverable, Engagement
from engagements.forges import parse
from engagements.forges.models import Forge, ForgeConnection, ForgeDelivery, ForgeRepository

log = logging.getLogger(__name__)
Status = ForgeDelivery.Status

SIGNATURE_TOLERANCE = timedelta(minutes=5)  # the generic format's signed moment vs our clock
GENERIC_SIGNATURE_HEADER = "Vendorwatch-Signature"
TRIAGE_BATCH = 500  # waiting deliveries one assignment derives at once


def max_bytes() -> int:
    return settings.FORGE_WEBHOOK_MAX_KB * 1024


# --- verifying --------------------------------------------------------------------------------


@dataclass
class Call:
    """One webhook call as the view read it (headers lower-cased)."""

    forge: str
    token: str
    headers: dict[str, str]
    body: bytes = b""
    size: int = 0  # what the caller said or sent, even past the limit
    too_large: bool = False
    content_type: str = ""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Refusal(Exception):
    status: int
    reason: str


def _digest(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def _same(a: str, b: str) -> bool:
    # Bytes: compare_digest refuses str holding non-ASCII characters (a crafted header).
    return hmac.compare_digest(a.encode(), b.encode())


def sign_generic(secret: str, body: bytes, *, timestamp: int) -> str:
    """The generic format's ``Vendorwatch-Signature`` header (as our outgoing webhooks sign)."""
    return f"t={timestamp},v1={_digest(secret, str(timestamp).encode() + b'.' + body)}"


def verify(call: Call, connection: ForgeConnection, at: datetime) -> None:
    """Raise ``Refusal`` (401) unless the call is signed with one of the connection's secrets."""
    keys = connection.secrets_at(at)
    if call.forge == Forge.GITHUB:
        header = call.header("X-Hub-Signature-256")
        if not header:
            raise Refusal(401, "unsigned: no X-Hub-Signature-256 header (set the secret in GitHub)")
        given = header.removeprefix("sha256=")
        if not any(_same(_digest(k, call.body), given) for k in keys):
            raise Refusal(401, "bad signature: X-Hub-Signature-256 does not match the body")
    elif call.forge == Forge.GITLAB:
        given = call.header("X-Gitlab-Token")
        if not given:
            raise Refusal(
                401, "unsigned: no X-Gitlab-Token header (set the secret token in GitLab)"
            )
        if not any(_same(k, given) for k in keys):
            raise Refusal(401, "bad secret: X-Gitlab-Token is not this connection's secret")
    else:
        header = call.header(GENERIC_SIGNATURE_HEADER)
        if not header:
            raise Refusal(401, f"unsigned: no {GENERIC_SIGNATURE_HEADER} header")
        try:
            parts = dict(item.split("=", 1) for item in header.split(","))
            timestamp = int(parts["t"])
        except (KeyError, ValueError):
            raise Refusal(
                401, f"unreadable {GENERIC_SIGNATURE_HEADER}: expected t=…,v1=…"
            ) from None
        signed = str(timestamp).encode() + b"." + call.body
        if not any(_same(_digest(k, signed), parts.get("v1", "")) for k in keys):
            raise Refusal(401, f"bad signature: {GENERIC_SIGNATURE_HEADER} does not match the body")
        off = abs(at.timestamp() - timestamp)
        if off > SIGNATURE_TOLERANCE.total_seconds():
            raise Refusal(
                401,
                f"replay or wrong clock: signed {off:.0f} s away from our clock "
                f"(at most {SIGNATURE_TOLERANCE.total_seconds():.0f} s)",
            )


def event_name(call: Call) -> str:
    if call.forge == Forge.GITHUB:
        return call.header("X-GitHub-Event")
    if call.forge == Forge.GITLAB:
        return call.header("X-Gitlab-Event")
    return call.header("Vendorwatch-Event") or "activity"


def delivery_id(call: Call) -> str:
    """The forge's id of this delivery, the same on its retries."""
    if call.forge == Forge.GITHUB:
        return call.header("X-GitHub-Delivery")
    if call.forge == Forge.GITLAB:
        # Idempotency-Key (GitLab 17.4+) stays the same on a retry; the event UUID before it.
        return call.header("Idempotency-Key") or call.header("X-Gitlab-Event-UUID")
    return call.header("Idempotency-Key")


# --- receiving --------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    delivery: ForgeDelivery
    body: dict = field(default_factory=dict)


def receive(call: Call, *, at: datetime | None = None) -> Answer:
    """Verify, keep and route one webhook call; bad input is recorded with a reason, never raised.

    Cross-organization by nature (the address says whose it is), hence ``all_organizations()``."""
    at = at or timezone.now()
    with all_organizations():
        return _receive(call, at)


def _receive(call: Call, at: datetime) -> Answer:
    row = ForgeDelivery(forge=call.forge[:8], received_at=at, size=call.size)
    connection = (
        ForgeConnection.unscoped.filter(token=call.token, forge=call.forge).first()
        if call.forge in Forge.values
        else None
    )
    try:
        if connection is None:
            raise Refusal(404, "unknown webhook address: no connection of ours has it")
        row.org_id, row.connection = connection.org_id, connection
        if connection.revoked_at:
            raise Refusal(410, f"the connection “{connection.name}” was revoked")
        if call.too_large:
            raise Refusal(
                413,
                f"body of {call.size / 1024:.0f} KB is over the {settings.FORGE_WEBHOOK_MAX_KB} KB "
                "limit (not read)",
            )
        verify(call, connection, at)
        row.event = event_name(call)[:60]
        row.delivery_id = delivery_id(call)[:100]
        if not row.event:
            raise Refusal(400, "no event header (X-GitHub-Event, X-Gitlab-Event)")
        if not row.delivery_id:
            raise Refusal(
                400, "no delivery id (X-GitHub-Delivery, Idempotency-Key, X-Gitlab-Event-UUID)"
            )
        # A redelivery or a replay is found by the unique constraint when its row is written
        # (``_keep``, ``_route``): no look-up before, one statement less per delivery.
        if row.event == "ping" and call.forge == Forge.GITHUB:
            return _keep(row, Status.IGNORED, 200, "GitHub ping: the webhook is set up")
        payload = _json(call)
        try:
            parsed = parse.parse(call.forge, row.event, payload)
        except parse.UnknownEvent as exc:
            raise Refusal(400, f"unknown event: {exc}") from None
        except parse.Unreadable as exc:
            raise Refusal(400, f"unreadable payload: {exc}") from None
        row.action, row.repository = parsed.action[:40], parsed.repository[:200]
        row.payload = payload
        try:
            with transaction.atomic():
                _route(row, parsed)
        except IntegrityError:
            # The same delivery id accepted a moment ago by another worker.
            row.pk = None
            first = _accepted(connection, row.delivery_id)
            if first is None:
                raise
            raise _replay(row, first) from None
        return Answer(row.http_status, row, _body(row))
    except Refusal as refusal:
        row.payload = None
        return _keep(row, row.status or Status.REFUSED, refusal.status, refusal.reason)


def _json(call: Call):
    """The decoded body: JSON, or GitHub's form encoding (``payload=<JSON>``, its default)."""
    kind = call.content_type.split(";")[0].strip().lower()
    body = call.body
    if kind == "application/x-www-form-urlencoded" and call.forge == Forge.GITHUB:
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if not values:
            raise Refusal(400, "form-encoded body without a payload field")
        body = values[0].encode()
    elif kind and kind != "application/json":
        raise Refusal(415, f"content type {kind[:60]}: send application/json")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Refusal(400, f"unreadable JSON ({exc.__class__.__name__})") from None


def _accepted(connection: ForgeConnection, delivery_id: str) -> ForgeDelivery | None:
    return (
        ForgeDelivery.unscoped.filter(
            connection=connection, delivery_id=delivery_id, status__in=ForgeDelivery.ACCEPTED
        )
        .only("pk", "received_at")
        .first()
    )


def _replay(row: ForgeDelivery, first: ForgeDelivery) -> Refusal:
    row.status, row.duplicate_of = Status.DUPLICATE, first
    return Refusal(
        409,
        f"delivery {row.delivery_id[:60]} was already received at "
        f"{first.received_at:%Y-%m-%d %H:%M:%S} UTC (a redelivery or a replay): nothing done twice",
    )


def _keep(row: ForgeDelivery, status: str, http_status: int, reason: str) -> Answer:
    row.status, row.http_status, row.reason = status, http_status, reason[:300]
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # a ping accepted a moment ago under the same delivery id
        row.pk = None
        first = _accepted(row.connection, row.delivery_id)
        refusal = _replay(row, first) if first else Refusal(409, "a concurrent duplicate")
        return _keep(row, Status.DUPLICATE, refusal.status, refusal.reason)
    log.info("forge delivery %s: %s %s (%s)", row.pk, http_status, status, reason)
    return Answer(http_status, row, _body(row))


def _body(row: ForgeDelivery) -> dict:
    if row.http_status >= 400:
        return {"error": {"code": row.status, "message": row.reason, "fields": {}}}
    return {
        "status": row.status,
        "delivery": row.pk,
        "activities": row.activities,
        "reason": row.reason,
    }


# --- routing ----------------------------------------------------------------------------------


def _route(row: ForgeDelivery, parsed: parse.Parsed) -> None:
    """Where a verified delivery goes; saves ``row`` (in the caller's transaction)."""
    mapping = (
        ForgeRepository.unscoped.filter(
            org_id=row.org_id, forge=row.forge, repository=parsed.repository
        )
        .select_related("engagement")
        .first()
    )
    row.http_status = 200
    if mapping is None:
        row.status = Status.TRIAGE
        row.reason = (
            f"repository {parsed.repository} is not mapped to an engagement: waiting in triage"
        )
        if not parsed.events:  # nothing to derive later either
            row.status, row.payload = Status.IGNORED, None
            row.reason = parsed.ignored or "no work in it"
        row.save()
        return
    if mapping.engagement is None:
        row.status, row.payload = Status.IGNORED, None
        row.reason = f"repository {parsed.repository} is set to be ignored"
        row.save()
        return
    row.engagement = mapping.engagement
    if not parsed.events:
        row.status, row.payload = Status.IGNORED, None
        row.reason = parsed.ignored or "no work in it"
        row.save()
        return
    row.status = Status.ROUTED
    _derive(row, parsed, mapping.engagement)
    row.save()


def _derive(row: ForgeDelivery, parsed: parse.Parsed, engagement: Engagement) -> None:
    """The delivery's traces of work on ``engagement`` (``row`` is saved by the caller, in the
    same transaction: a duplicate delivery id rolls them back with it)."""
    rules = list(ActivityRule.unscoped.filter(engagement=engagement).order_by("pk"))
    activities = [
        delivery.Activity(
            origin=f"{row.forge}:{row.connection_id}:{row.delivery_id}:{i}",
            kind=event.kind,
            occurred_at=event.occurred_at,
            source=row.forge,
            deliverable_id=match(rules, event),
            repository=parsed.repository,
            ref=event.ref,
            title=event.title,
            url=event.url,
            count=event.count,
        )
        for i, event in enumerate(parsed.events)
    ]
    row.activities = delivery.record_activity(engagement=engagement, activities=activities)
    matched = sum(1 for a in activities if a.deliverable_id)
    row.reason = f"{row.activities} trace{'s' if row.activities != 1 else ''} of work" + (
        f", {matched} on a deliverable" if matched else ""
    )


def match(rules: list[ActivityRule], event: parse.Event) -> int | None:
    """The deliverable of the first rule the event matches (rules in the order they were set)."""
    labels = {label.lower() for label in event.labels}
    words = f"{event.title}\n{event.text}".lower()
    for rule in rules:
        if rule.match == ActivityRule.Match.BRANCH:
            hit = bool(event.ref) and fnmatchcase(event.ref, rule.pattern)
        elif rule.match == ActivityRule.Match.LABEL:
            hit = rule.pattern.lower() in labels
        else:
            hit = rule.pattern.lower() in words
        if hit:
            return rule.deliverable_id
    return None


# --- connections (the owner's) ----------------------------------------------------------------


@transaction.atomic
def create_connection(*, org: Organization, by: User, forge: str, name: str) -> ForgeConnection:
    """A new webhook address and secret for one forge (the secret is shown once)."""
    if forge not in Forge.values:
        raise ValidationError({"forge": "Choose GitHub, GitLab or the generic format."})
    if not name.strip():
        raise ValidationError({"name": "Give the connection a name."})
    return ForgeConnection.objects.create(org=org, forge=forge, name=name.strip(), created_by=by)


@transaction.atomic
def rotate_secret(*, connection: ForgeConnection, at: datetime | None = None) -> ForgeConnection:
    """A new secret (shown once); the previous one verifies for the grace period still."""
    if connection.revoked_at:
        raise ValidationError("This connection was revoked: make a new one.")
    at = at or timezone.now()
    connection.previous_secret = connection.secret
    connection.previous_until = at + timedelta(hours=settings.FORGE_ROTATION_GRACE_HOURS)
    connection.secret = ForgeConnection._meta.get_field("secret").default()
    connection.rotated_at = at
    connection.save(update_fields=["secret", "previous_secret", "previous_until", "rotated_at"])
    return connection


@transaction.atomic
def revoke_connection(
    *, connection: ForgeConnection, at: datetime | None = None
) -> ForgeConnection:
    """Stop accepting calls at this address (they get 410, recorded); the log stays."""
    if connection.revoked_at is None:
        connection.revoked_at = at or timezone.now()
        connection.previous_secret, connection.previous_until = "", None
        connection.save(update_fields=["revoked_at", "previous_secret", "previous_until"])
    return connection


# --- mapping (on the engagement page, and from triage) ----------------------------------------


def normal_repository(value: str) -> str:
    """``https://github.com/Acme/Reports.git`` → ``acme/reports``: how payloads name it."""
    text = value.strip().lower().removesuffix("/").removesuffix(".git")
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :].partition("/")[2]
    return text.strip("/")[:200]


@transaction.atomic
def map_repository(
    *, engagement: Engagement, by: User, forge: str, repository: str
) -> ForgeRepository:
    """Map a repository to this engagement; its deliveries waiting in triage are derived now."""
    name = normal_repository(repository)
    if not name:
        raise ValidationError({"repository": "Name the repository, e.g. acme/reports."})
    if forge not in Forge.values:
        raise ValidationError({"forge": "Choose GitHub, GitLab or the generic format."})
    taken = (
        ForgeRepository.objects.filter(forge=forge, repository=name)
        .exclude(engagement=engagement)
        .select_related("engagement")
        .first()
    )
    if taken and taken.engagement is not None:
        raise ValidationError(
            {"repository": f"{name} is mapped to “{taken.engagement.title}” already."}
        )
    mapping, _ = ForgeRepository.objects.update_or_create(
        org_id=engagement.org_id,
        forge=forge,
        repository=name,
        defaults={"engagement": engagement, "created_by": by},
    )
    derive_waiting(org_id=engagement.org_id, forge=forge, repository=name, by=by)
    return mapping


@transaction.atomic
def unmap_repository(*, mapping: ForgeRepository) -> None:
    """Stop routing a repository (new deliveries wait in triage); what it brought stays."""
    mapping.delete()


@transaction.atomic
def assign_repository(
    *, org: Organization, by: User, forge: str, repository: str, engagement: Engagement | None
) -> ForgeRepository:
    """From triage: the repository goes to ``engagement`` (or is ignored from now on); its
    waiting deliveries are derived (or set ignored)."""
    if engagement is None:
        mapping, _ = ForgeRepository.objects.update_or_create(
            org=org,
            forge=forge,
            repository=repository,
            defaults={"engagement": None, "created_by": by},
        )
        ForgeDelivery.objects.filter(
            forge=forge, repository=repository, status=Status.TRIAGE
        ).update(status=Status.IGNORED, payload=None, triaged_by=by, reason=f"ignored by {by}")
        return mapping
    return map_repository(engagement=engagement, by=by, forge=forge, repository=repository)


def derive_waiting(*, org_id: int, forge: str, repository: str, by: User | None = None) -> int:
    """Route the deliveries of a newly mapped repository that wait in triage; how many."""
    waiting = list(
        ForgeDelivery.unscoped.filter(
            org_id=org_id, forge=forge, repository=repository, status=Status.TRIAGE
        ).order_by("received_at", "pk")[:TRIAGE_BATCH]
    )
    for row in waiting:
        try:
            parsed = parse.parse(row.forge, row.event, row.payload)
        except (parse.Unreadable, parse.UnknownEvent) as exc:
            ForgeDelivery.unscoped.filter(pk=row.pk).update(
                status=Status.IGNORED, reason=str(exc)[:300], payload=None
            )
            continue
        row.triaged_by = by
        _route(row, parsed)
    return len(waiting)


@transaction.atomic
def add_activity_rule(
    *, engagement: Engagement, by: User, deliverable: Deliverable, match: str, pattern: str
) -> ActivityRule:
    """Say what forge activity stands for a deliverable (the watcher reads it from now on)."""
    pattern = pattern.strip()
    if deliverable.engagement_id != engagement.pk:
        raise ValidationError({"deliverable": "Choose a deliverable of this engagement."})
    if match not in ActivityRule.Match.values:
        raise ValidationError({"match": "Choose branch, label or keyword."})
    if not pattern:
        raise ValidationError({"pattern": "Give a branch glob, a label or a keyword."})
    if ActivityRule.objects.filter(deliverable=deliverable, match=match, pattern=pattern).exists():
        raise ValidationError({"pattern": "This deliverable has that rule already."})
    rule = ActivityRule.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        deliverable=deliverable,
        match=match,
        pattern=pattern,
        created_by=by,
    )
    hooks.engagement_changed(engagement=engagement)
    return rule


@transaction.atomic
def remove_activity_rule(*, rule: ActivityRule) -> None:
    """Forget a deliverable rule (the activity it routed stays on the deliverable)."""
    engagement = rule.engagement
    rule.delete()
    hooks.engagement_changed(engagement=engagement)
