"""Tenant isolation crawler: every route that takes an id, asked by another organization.

The victim organization gets one row of every tenant model, each carrying a marker text.
An owner of another (empty) organization then requests every URL pattern of the URL conf
that takes an integer, with every id the victim's rows have (two ids: each victim row with
every row it belongs to, and each id twice), with every method, through
the session (HTML) and a write-scope token (API). Each answer must be 404 (403/405 where a
method or role is refused first), never contain the marker, and the victim's data must be
unchanged afterwards. The URL conf is enumerated here, so a new route cannot escape.
"""

import re
from datetime import date, timedelta

import pytest
from django.apps import apps
from django.core import serializers
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.models import ApiToken, Role, TokenScope
from accounts.services import create_api_token
from accounts.tenancy import TenantModel
from tests import factories as f

MARKER = "VICTIM-SECRET-7f3a"
ALLOWED = {403, 404, 405}
METHODS = ["get", "post", "put", "patch", "delete"]


def victim_world(org, user, marker: str = MARKER) -> dict[type, list]:
    """One row of every tenant model in ``org``, text fields carrying ``marker``."""
    vendor = f.VendorFactory(org=org, name=f"{marker} vendor", description=marker)
    engagement = f.EngagementFactory(
        org=org, vendor=vendor, owner=user, title=f"{marker} engagement", goal=marker
    )
    milestone = f.MilestoneFactory(engagement=engagement, title=f"{marker} milestone")
    deliverable = f.DeliverableFactory(milestone=milestone, title=f"{marker} deliverable")
    interaction = f.InteractionFactory(engagement=engagement, notes=marker)
    rows = [vendor, engagement, milestone, deliverable, interaction]
    rows.append(f.SpendEntryFactory(engagement=engagement, description=marker))
    rows.append(f.OpenQuestionFactory(engagement=engagement, question=marker))
    rows += victim_extras(
        org=org,
        user=user,
        engagement=engagement,
        vendor=vendor,
        deliverable=deliverable,
        milestone=milestone,
        marker=marker,
    )
    rows += capture_extras(org=org, user=user, engagement=engagement, marker=marker)
    rows += forge_extras(
        org=org, user=user, engagement=engagement, deliverable=deliverable, marker=marker
    )
    create_api_token(org=org, user=user, name=marker, scope=TokenScope.WRITE)
    world: dict[type, list] = {}
    for row in rows:
        world.setdefault(type(row), []).append(row)
    return world


def victim_extras(*, org, user, engagement, vendor, deliverable, milestone, marker) -> list:
    """Rows of the remaining tenant models (kept in one place as models are added)."""
    from django.core.files.base import ContentFile

    from engagements.models import (
        DeliverableTransition,
        EngagementDefaults,
        EngagementStatusChange,
        ExitCriterion,
        ReadinessCheck,
        Risk,
        ScopeChange,
    )
    from vendors.models import (
        Attachment,
        ContractDecision,
        EvidenceRevision,
        VendorSettings,
        VendorStatusChange,
    )

    common = {"org": org}
    evidence = f.EvidenceFactory(vendor=vendor, summary=marker)
    contract = f.ContractFactory(
        vendor=vendor,
        title=marker,
        payment_terms=marker,
        end_date=date.today() + timedelta(days=200),
        auto_renews=True,
        renewal_months=12,
        notice_period=30,
    )
    engagement.contract = contract  # the engagement page and its summary show the contract
    engagement.save(update_fields=["contract"])
    attachment = Attachment(
        **common,
        vendor=vendor,
        evidence=evidence,
        original_name=f"{marker}.txt",
        content_type="text/plain",
        size=len(marker),
    )
    attachment.file.save("marker.txt", ContentFile(marker.encode()), save=False)
    attachment.save()
    from django.utils import timezone

    from accounts.models import hash_token
    from engagements.models import PortalAccess
    from engagements.watch.rules import Signal

    contact = f.VendorContactFactory(
        vendor=vendor, name=marker, email=f"{marker.lower()}@victim.example"
    )
    portal_access = PortalAccess.objects.create(
        **common,
        engagement=engagement,
        contact=contact,
        token_hash=hash_token(marker),
        created_by=user,
        expires_at=timezone.now() + timedelta(days=30),
    )
    from engagements.models import (
        Alert,
        AlertEvent,
        DigestSent,
        EngagementHealth,
        EscalationPolicy,
        HealthSnapshot,
        Notification,
        NotificationChannel,
        NotificationPreference,
    )

    alert = Alert.objects.create(**common, engagement=engagement, level="warning", note=marker)
    channel = NotificationChannel.objects.create(
        **common, kind="webhook", name=marker, url="https://hooks.victim.example/x", secret=marker
    )
    health_rows = [
        alert,
        channel,
        AlertEvent.objects.create(
            **common, alert=alert, kind="opened", to_level="warning", note=marker
        ),
        EngagementHealth.objects.create(
            **common,
            engagement=engagement,
            score=40,
            level="warning",
            signals=[Signal("missed_contact", 2, marker).as_dict()],
        ),
        HealthSnapshot.objects.create(
            **common, engagement=engagement, date=engagement.start_date, score=40, level="warning"
        ),
        EscalationPolicy.objects.create(**common),
        Notification.objects.create(
            **common,
            alert=alert,
            channel=channel,
            level="warning",
            idempotency_key=marker,
            last_error=marker,
        ),
        NotificationPreference.objects.create(**common, user=user, daily_digest=False),
        DigestSent.objects.create(**common, user=user, date=engagement.start_date),
    ]
    return [
        *health_rows,
        evidence,
        contract,
        attachment,
        contact,
        portal_access,
        VendorSettings.objects.create(**common),
        VendorStatusChange.objects.create(
            **common,
            vendor=vendor,
            from_status="prospect",
            to_status="vetting",
            reason=marker,
            by=user,
        ),
        EvidenceRevision.objects.create(
            **common, evidence=evidence, version=1, snapshot={"summary": marker}, edited_by=user
        ),
        ContractDecision.objects.create(
            **common,
            contract=contract,
            kind="renew",
            reason=marker,
            term_end=contract.end_date,
            decided_on=date.today(),
            by=user,
        ),
        EngagementDefaults.objects.create(**common),
        EngagementStatusChange.objects.create(
            **common, engagement=engagement, to_status="active", by=user, reason=marker
        ),
        ReadinessCheck.objects.create(
            **common,
            engagement=engagement,
            has_concrete_target=True,
            need_is_specific=True,
            money_alternative=marker,
            internal_owner=marker,
            owner_hours_per_week=4,
            verdict="ready",
        ),
        ExitCriterion.objects.create(**common, engagement=engagement, label=marker, conditions=[]),
        DeliverableTransition.objects.create(
            **common,
            deliverable=deliverable,
            from_status="planned",
            to_status="in_progress",
            note=marker,
        ),
        ScopeChange.objects.create(
            **common, engagement=engagement, what_changed=marker, why=marker, by=user
        ),
        Risk.objects.create(**common, engagement=engagement, description=marker, mitigation=marker),
        *postmortem_rows(org=org, user=user, engagement=engagement, vendor=vendor, marker=marker),
    ]


def postmortem_rows(*, org, user, engagement, vendor, marker) -> list:
    """Post-mortems, lessons, read marks, acknowledgements, checklist items and comments."""
    from django.utils import timezone

    from engagements.models import (
        ChecklistItem,
        FailureItem,
        Lesson,
        LessonAcknowledgement,
        LessonRead,
        PostMortem,
        PostMortemComment,
    )

    common = {"org": org}
    pm = PostMortem.objects.create(
        **common,
        engagement=engagement,
        outcome="cut_losses",
        went_well=marker,
        facts={"m": marker},
        # Published, so its lessons are what searches, lists and set-up pages would show.
        status="published",
        published_at=timezone.now(),
    )
    lesson = Lesson.objects.create(
        **common, postmortem=pm, vendor=vendor, text=marker, category="other", tags=marker
    )
    return [
        pm,
        lesson,
        FailureItem.objects.create(**common, postmortem=pm, text=marker, category="other"),
        LessonRead.objects.create(**common, lesson=lesson, user=user),
        LessonAcknowledgement.objects.create(
            **common, lesson=lesson, engagement=engagement, user=user
        ),
        ChecklistItem.objects.create(**common, engagement=engagement, lesson=lesson, text=marker),
        PostMortemComment.objects.create(**common, postmortem=pm, by=user, text=marker),
    ]


def capture_extras(*, org, user, engagement, marker) -> list:
    """Mail capture's rows: a routed message in a thread, one in triage, what triage learned."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from engagements.models import (
        AddressRule,
        CalendarFeed,
        CaptureSettings,
        EngagementCapture,
        InboundMessage,
        MailAttachment,
        MailboxCursor,
        MailThread,
        Meeting,
    )

    now = timezone.now()
    common = {"org": org}
    thread = MailThread.objects.create(
        **common, engagement=engagement, subject=marker, started_at=now, last_at=now
    )
    message = InboundMessage.objects.create(
        **common,
        via="smtp",
        subject=marker,
        new_text=marker,
        from_address=f"{marker.lower()}@victim.example",
        status="routed",
        engagement=engagement,
        thread=thread,
        message_id=f"{marker}@victim",
    )
    triage = InboundMessage.objects.create(
        **common, via="smtp", subject=marker, new_text=marker, status="triage", reason=marker
    )
    return [
        CaptureSettings.objects.create(**common),
        EngagementCapture.objects.create(**common, engagement=engagement, enabled=True),
        thread,
        message,
        triage,
        MailAttachment.objects.create(
            **common,
            message=message,
            name=f"{marker}.txt",
            content_type="text/plain",
            size=len(marker),
            file=ContentFile(marker.encode(), name=f"{marker}.txt"),
        ),
        AddressRule.objects.create(
            **common, address=f"{marker.lower()}@victim.example", engagement=engagement
        ),
        Meeting.objects.create(
            **common, engagement=engagement, uid=marker, summary=marker, starts_at=now
        ),
        CalendarFeed.objects.create(**common, user=user, token_hash=marker[:64]),
        MailboxCursor.objects.create(**common, mailbox=marker),
    ]


def forge_extras(*, org, user, engagement, deliverable, marker) -> list:
    """Code forges' rows: a connection, a mapped repository, a delivery (routed and waiting),
    a deliverable rule and the activity it brought."""
    from django.utils import timezone

    from engagements.models import (
        ActivityRule,
        ForgeConnection,
        ForgeDelivery,
        ForgeRepository,
        WorkActivity,
    )

    now = timezone.now()
    common = {"org": org}
    connection = ForgeConnection.objects.create(**common, forge="github", name=marker)
    return [
        connection,
        ForgeRepository.objects.create(
            **common, forge="github", repository=marker.lower(), engagement=engagement
        ),
        ForgeDelivery.objects.create(
            **common,
            connection=connection,
            forge="github",
            event="push",
            delivery_id=marker,
            status="triage",
            reason=marker,
            http_status=200,
            repository=marker,
            payload={"marker": marker},
        ),
        ActivityRule.objects.create(
            **common, engagement=engagement, deliverable=deliverable, match="branch", pattern=marker
        ),
        WorkActivity.objects.create(
            **common,
            engagement=engagement,
            deliverable=deliverable,
            kind="commits",
            occurred_at=now,
            source="github",
            title=marker,
            origin=marker,
        ),
    ]


def routes_with_ids() -> list[tuple[str, list[str]]]:
    """(regex of the full path, names of its int parameters) for every pattern that takes one."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            regex = prefix + p.pattern.regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
            if isinstance(p, URLResolver):
                walk(p.url_patterns, regex)
            elif isinstance(p, URLPattern):
                converters = {**getattr(p.pattern, "converters", {})}
                names = [n for n, c in converters.items() if type(c).__name__ == "IntConverter"]
                if names:
                    found.append((regex, names))

    walk(get_resolver().url_patterns, "")
    # Resolvers above an included conf may carry their own converters (none here yet).
    return found


def fill(regex: str, values: dict[str, int]) -> str:
    def sub(match: re.Match) -> str:
        return str(values[match.group(1)])

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", sub, regex)
    return "/" + path.replace("\\", "")


def related_pairs(world: dict[type, list]) -> set[tuple[int, int]]:
    """(ancestor id, row id) for every row of ``world`` and each row it belongs to through
    its foreign keys, transitively (a deliverable's milestone, engagement and vendor)."""

    def ancestors(row, depth: int = 0):
        if depth > 4:
            return
        for field in row._meta.concrete_fields:
            if field.is_relation and field.many_to_one and field.name != "org":
                parent = getattr(row, field.name, None)
                if parent is not None and hasattr(parent, "_meta"):
                    yield parent
                    yield from ancestors(parent, depth + 1)

    return {
        (parent.pk, row.pk) for rows in world.values() for row in rows for parent in ancestors(row)
    }


def snapshot(org) -> str:
    from accounts.models import Invitation, Membership

    rows = [
        *Membership.objects.filter(org=org).order_by("pk"),
        *Invitation.objects.filter(org=org).order_by("pk"),
    ]
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            rows += list(model.unscoped.filter(org=org).order_by("pk"))
    return serializers.serialize("json", rows)


# The routes are crawled in this many parts, so that a parallel run (pytest-xdist) shares them
# out; each part builds the victim's world afresh and checks it unchanged at the end.
PARTS = 4


@pytest.mark.django_db
@pytest.mark.parametrize("part", range(PARTS), ids=lambda part: f"part-{part + 1}-of-{PARTS}")
def test_another_organization_gets_404_for_every_route_that_takes_an_id(
    client, org, owner, other_org, loose_rate_limit, part
):
    attacker = f.MembershipFactory(
        pk=999_999, org=other_org, role=Role.OWNER, user=f.UserFactory(email="attacker@rival.test")
    )
    world = victim_world(org, owner.user)

    tenant_models = {m for m in apps.get_models() if issubclass(m, TenantModel)}
    covered = set(world) | {apps.get_model("accounts", "ApiToken")}
    # The health watcher's outbox: no route takes its id, and a victim row would break the
    # export round-trip (import copies its installation-wide unique idempotency_key).
    covered |= {apps.get_model("engagements", "Notification")}
    assert tenant_models <= covered, (
        f"add rows of {sorted(m.__name__ for m in tenant_models - covered)} to victim_world"
    )

    ids = sorted({row.pk for rows in world.values() for row in rows})
    before = snapshot(org)
    client.force_login(attacker.user)
    token, secret = create_api_token(
        org=other_org, user=attacker.user, name="attacker", scope=TokenScope.WRITE
    )
    # The attacker's own rows get ids no victim row has (sequences are shared on PostgreSQL).
    ApiToken.objects.filter(pk=token.pk).update(id=999_998)
    routes = routes_with_ids()
    assert len(routes) >= 3, routes
    routes = routes[part::PARTS]

    related = related_pairs(world)
    failures = []
    for regex, names in routes:
        if len(names) == 1:
            combos = [(i,) for i in ids]
        elif len(names) == 2:
            # A parent and its child (an engagement and its milestone, a vendor and its
            # evidence...) is what reaches a row: every such pair of the victim's, plus each
            # id in both places. Every pair of ids would be 2,000 paths per route, almost all
            # a 404 for being of the wrong kinds, whoever asks.
            combos = sorted(related | {(i, i) for i in ids})
        else:
            combos = [(i,) * len(names) for i in ids]
        for combo in combos:
            path = fill(regex, dict(zip(names, combo, strict=True)))
            api = path.startswith("/api/")
            for method in METHODS:
                kwargs = {"headers": {"Authorization": f"Bearer {secret}"}} if api else {}
                if method != "get":
                    kwargs["content_type"] = (
                        "application/json" if api else "application/x-www-form-urlencoded"
                    )
                    kwargs["data"] = "{}" if api else ""
                response = getattr(client, method)(path, **kwargs)
                body = response.content.decode(errors="replace")
                # The API validates a body before it looks anything up, so an empty body is a
                # 422 for every id alike (existing or not): it tells nothing about the victim.
                allowed = ALLOWED | {422} if api and method != "get" else ALLOWED
                if response.status_code not in allowed or MARKER in body:
                    failures.append(
                        f"{method.upper()} {path} -> {response.status_code}{' with victim data' if MARKER in body else ''}"
                    )
    assert not failures, "\n".join(failures[:40])
    assert snapshot(org) == before, "the victim's data changed"
