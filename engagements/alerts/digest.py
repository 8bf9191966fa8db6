"""The daily digest: each opted-in member gets their organization's open alerts and the
contract decisions due within 30 days, once a day, and what the concerns above delivery add
through ``delivery.hooks.digest_sections`` (mail capture: the meetings the member should
confirm, each with its signed links)."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Membership
from engagements.alerts.models import Alert, AlertStatus, DigestSent, NotificationPreference
from engagements.delivery import hooks
from engagements.delivery.models import EngagementStatus
from engagements.watch.models import Level
from vendors.models import Contract
from vendors.terms import REMINDER_DAYS, short_day

log = logging.getLogger(__name__)

DIGEST_HOUR = 7  # in each organization's own time zone


def send_digest(*, at: datetime | None = None) -> int:
    """E-mail each opted-in member a list of their organization's open alerts, once a day,
    from ``DIGEST_HOUR`` o'clock in the organization's time zone (beat asks every hour, so
    a missed hour is caught up; the day is the organization's local day)."""
    at = at or timezone.now()
    # Who is due first (cheap: members, preferences, today's digests), so the 17 hourly runs
    # a day after 07:00 read no alert at all once everyone has had theirs.
    opted_out = set(
        NotificationPreference.unscoped.filter(daily_digest=False).values_list("org_id", "user_id")
    )
    days = (at - timedelta(days=1)).date(), (at + timedelta(days=1)).date()  # any time zone
    had = set(DigestSent.unscoped.filter(date__range=days).values_list("org_id", "user_id", "date"))
    due = []
    for m in Membership.objects.select_related("user", "org"):
        local = at.astimezone(m.org.tzinfo)
        if (
            local.hour >= DIGEST_HOUR
            and (m.org_id, m.user_id) not in opted_out
            and (m.org_id, m.user_id, local.date()) not in had
        ):
            due.append((m, local))
    if not due:
        return 0
    alerts: dict[int, list[Alert]] = {}
    for alert in (
        Alert.unscoped.exclude(status=AlertStatus.RESOLVED)
        # An engagement out of the watcher (paused, ended) is nobody's alarm any more.
        .filter(org_id__in={m.org_id for m, _ in due}, engagement__status=EngagementStatus.ACTIVE)
        .select_related("engagement__vendor")
    ):
        alerts.setdefault(alert.org_id, []).append(alert)
    extra: dict[tuple[int, int], list[str]] = {}
    for section in hooks.digest_sections(org_ids=sorted({m.org_id for m, _ in due}), at=at):
        for key, lines in section.items():
            extra.setdefault(key, []).extend(lines)
    decisions = _decisions_due({m.org_id for m, _ in due}, at)
    sent = 0
    for m, local in due:
        own = extra.get((m.org_id, m.user_id), [])
        if m.org_id not in alerts and m.org_id not in decisions and not own:
            continue  # nothing open, nothing to decide or confirm: no digest
        try:
            with transaction.atomic():  # the constraint decides when two runs race
                DigestSent.unscoped.create(
                    org_id=m.org_id, user_id=m.user_id, date=local.date(), sent_at=at
                )
        except IntegrityError:
            continue  # already sent today
        lines = [
            f"- [{Level(a.level).label}] {a.engagement.title} ({a.engagement.vendor.name}): "
            f"{settings.SITE_URL}/alerts/{a.pk}/"
            for a in alerts.get(m.org_id, [])
        ]
        decide = decisions.get(m.org_id, [])
        try:
            send_mail(
                _subject(len(lines), len(decide), len(own), m.org.name),
                _body(lines, decide, own),
                from_email=None,
                recipient_list=[m.user.email],
            )
        except Exception:
            DigestSent.unscoped.filter(
                org_id=m.org_id, user_id=m.user_id, date=local.date()
            ).delete()
            log.exception("digest to %s failed; it will be retried on the next run", m.user.email)
            continue
        sent += 1
    return sent


def _subject(alerts: int, decisions: int, confirm: int, org_name: str) -> str:
    parts = [f"{alerts} open alert{'s' if alerts != 1 else ''}"] if alerts else []
    if decisions:
        parts.append(f"{decisions} contract decision{'s' if decisions != 1 else ''} due")
    if confirm:
        parts.append(f"{confirm} meeting{'s' if confirm != 1 else ''} to confirm")
    return f"{' and '.join(parts)} in {org_name}"


def _body(alert_lines: list[str], decide: list[str], own: list[str]) -> str:
    sections = []
    if alert_lines:
        sections.append("\n".join(alert_lines))
    if decide:
        sections.append("Contract decisions due:\n" + "\n".join(decide))
    if own:
        sections.append(
            "Meetings to confirm (until you do, the watcher counts them as unknown, "
            "not as contact; each link asks once more before it records):\n" + "\n".join(own)
        )
    return "\n\n".join(sections) + "\n\nTurn this digest off on the notifications page.\n"


def _decisions_due(org_ids: set[int], at: datetime) -> dict[int, list[str]]:
    """Per organization, its contracts whose decide-by date is within the reminders' 30 days,
    as digest lines (three queries)."""
    found: dict[int, list[str]] = {}
    contracts = Contract.unscoped.filter(org_id__in=org_ids).undecided(at).order_by("pk")
    for contract, o in contracts.with_outlooks(at):
        if o.decide_by is None or not 0 <= o.days_left <= max(REMINDER_DAYS):
            continue
        left = {0: "today", 1: "tomorrow"}.get(o.days_left, f"in {o.days_left} days")
        found.setdefault(contract.org_id, []).append(
            f"- Decide by {short_day(o.decide_by)} ({left}): {contract.title} "
            f"({contract.vendor.name}) {o.consequence}: "
            f"{settings.SITE_URL}/vendors/contracts/{contract.pk}/"
        )
    return found
