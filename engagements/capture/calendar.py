"""Calendars in and out (icalendar).

In: ``.ics`` invites found in captured mail (METHOD REQUEST, CANCEL; a higher SEQUENCE is a
reschedule) become ``Meeting`` rows of the engagement. A meeting is *not* contact until its
owner confirms how it went (held, vendor no-show, we cancelled): then a held meeting or a
no-show becomes an interaction (``source=calendar``) the watcher reads; unconfirmed meetings
count as unknown.

Out: a per-member secret feed of what falls due: deliverables, milestones, the next check-in
(last held contact + cadence) and vendor reviews, for the organization's active engagements,
and the decide-by date of each contract with a decision open.
"""

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar, Event

from accounts.models import Membership, User, hash_token
from engagements.capture.models import CalendarFeed, InboundMessage, Meeting
from engagements.delivery import services as delivery
from engagements.delivery.models import (
    Channel,
    Deliverable,
    DeliverableStatus,
    Direction,
    Engagement,
    EngagementStatus,
    Interaction,
    Milestone,
    Outcome,
    Source,
)
from outsourcing.errors import Conflict
from vendors.models import Contract, Vendor

NAG_AFTER = timedelta(days=2)
INVITES = ("REQUEST", "PUBLISH")
TWO_WAY = (Outcome.HELD, Outcome.ANSWERED)


def _moment(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else timezone.make_aware(value, timezone.UTC)
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time(9)), timezone.UTC)
    return None


def _calendars(calendars: list[bytes]):
    """The readable calendars of one message (at most five), with their METHOD."""
    for data in calendars[:5]:
        try:
            calendar = Calendar.from_ical(data)
        except Exception:
            continue
        yield str(calendar.get("METHOD", "REQUEST")).upper(), calendar


def event_uids(calendars: list[bytes]) -> tuple[list[str], list[str]]:
    """The events this message invites to (REQUEST, PUBLISH) and those an attendee answers in
    it (REPLY: accepted, declined, tentative). An answer is calendar bookkeeping, not a
    question for us: it answers the invite."""
    invites, answers = [], []
    for method, calendar in _calendars(calendars):
        into = answers if method == "REPLY" else invites if method in INVITES else None
        if into is not None:
            into += [str(e["UID"])[:255] for e in calendar.walk("VEVENT") if e.get("UID")]
    return invites, answers


def meetings_from_invites(*, message: InboundMessage, calendars: list[bytes]) -> list[Meeting]:
    """Create, reschedule or cancel the meetings of the invites in one routed message."""
    found = []
    for method, calendar in _calendars(calendars):
        if method not in (*INVITES, "CANCEL"):
            continue  # REPLY (accepted/declined) and the rest change nothing here
        for event in calendar.walk("VEVENT"):
            uid = str(event.get("UID", ""))[:255]
            start = _moment(event.decoded("DTSTART", None))
            if not uid or start is None:
                continue
            sequence = int(event.get("SEQUENCE", 0) or 0)
            cancelled = method == "CANCEL" or str(event.get("STATUS", "")).upper() == "CANCELLED"
            found.append(_upsert(message, uid, sequence, event, start, cancelled))
    return [m for m in found if m is not None]


def _upsert(message, uid, sequence, event, start, cancelled) -> Meeting | None:
    meeting = Meeting.unscoped.filter(engagement_id=message.engagement_id, uid=uid).first()
    if meeting and sequence < meeting.sequence:
        return meeting  # an older version of the invite, read late
    end = _moment(event.decoded("DTEND", None)) if event.get("DTEND") else None
    fields = {
        "sequence": sequence,
        "summary": str(event.get("SUMMARY", ""))[:300],
        "starts_at": start,
        "ends_at": end,
    }
    if message.thread_id and (meeting is None or meeting.thread_id is None):
        fields["thread_id"] = message.thread_id
    if meeting is None:
        meeting = Meeting.unscoped.create(
            org_id=message.org_id,
            engagement_id=message.engagement_id,
            uid=uid,
            state=Meeting.State.CANCELLED if cancelled else Meeting.State.SCHEDULED,
            **fields,
        )
        return meeting
    if meeting.state in (Meeting.State.SCHEDULED, Meeting.State.CANCELLED):
        fields["state"] = Meeting.State.CANCELLED if cancelled else Meeting.State.SCHEDULED
    Meeting.unscoped.filter(pk=meeting.pk).update(**fields)
    meeting.refresh_from_db()
    return meeting


def awaiting_confirmation(*, engagement: Engagement, at: datetime | None = None):
    """Meetings that have started and still wait for their owner to say how they went."""
    at = at or timezone.now()
    return Meeting.objects.filter(
        engagement=engagement, state=Meeting.State.SCHEDULED, starts_at__lte=at
    )


def to_confirm(*, at: datetime):
    """The organization's started, unconfirmed meetings of active engagements, oldest first
    (the dashboard's "meetings to confirm"; in the current tenant scope)."""
    return (
        Meeting.objects.filter(
            state=Meeting.State.SCHEDULED,
            starts_at__lte=at,
            engagement__status=EngagementStatus.ACTIVE,
        )
        .select_related("engagement__vendor", "engagement__owner")
        .order_by("starts_at", "pk")
    )


def is_nagging(meeting: Meeting, at: datetime | None = None) -> bool:
    """Unconfirmed two days after its start: shown as overdue for confirmation."""
    at = at or timezone.now()
    return meeting.state == Meeting.State.SCHEDULED and at - meeting.starts_at > NAG_AFTER


CONFIRMABLE = {
    Meeting.State.HELD: Outcome.HELD,
    Meeting.State.VENDOR_NO_SHOW: Outcome.VENDOR_NO_SHOW,
    Meeting.State.WE_CANCELLED: None,  # no contact, and not the vendor's fault
}


@transaction.atomic
def confirm_meeting(*, meeting: Meeting, state: str, by: User) -> Meeting:
    """Record how a meeting went (once, after its start); held or no-show feeds the watcher.

    The row is locked and saved (not a bare ``update()``), so the audit trail records the
    confirmation and who made it; a second confirmation, or one racing it, is a conflict.
    """
    if state not in CONFIRMABLE:
        raise ValidationError({"state": "Held, vendor no-show or we cancelled."})
    now = timezone.now()
    if meeting.starts_at > now:
        raise ValidationError("This meeting has not started yet.")
    current = Meeting.unscoped.select_for_update().get(pk=meeting.pk)
    if current.state != Meeting.State.SCHEDULED:
        raise Conflict(
            f"This meeting was already confirmed or cancelled ({current.get_state_display()})."
        )
    current.state, current.confirmed_by, current.confirmed_at = state, by, now
    outcome = CONFIRMABLE[state]
    if outcome is not None:
        # A held meeting is contact; a vendor no-show counts against the vendor's contact
        # (the watcher's "missed contact" reads VENDOR_NO_SHOW); "we cancelled" is neither.
        current.interaction = delivery.log_interaction(
            engagement=meeting.engagement,
            by=by,
            channel=Channel.MEETING,
            direction=Direction.WE_TO_VENDOR,
            outcome=outcome,
            occurred_at=meeting.starts_at,
            notes=meeting.summary,
            source=Source.CALENDAR,
        )
    current.save(update_fields=["state", "confirmed_by", "confirmed_at", "interaction"])
    meeting.state, meeting.confirmed_by, meeting.confirmed_at = state, by, now
    meeting.interaction = current.interaction
    return meeting


# --- the digest's signed links ----------------------------------------------------------------
#
# A digest tells an engagement's owner which meetings wait for them, with one link per answer
# (held, vendor no-show, we cancelled). Each link is signed (``django.core.signing`` with the
# SECRET_KEY and a salt of its own, so no other signed value of the app passes as one), names
# the meeting, the member and the answer, and expires after ``MEETING_LINK_TTL_DAYS``. It opens
# a confirmation page (a GET changes nothing); only that page's POST records the answer, for
# the member the link was made for, if they may still write in the organization.

LINK_SALT = "vendorwatch.capture.meeting-confirm"


def link_token(*, meeting: Meeting, user: User, state: str) -> str:
    """The signed token of one answer's link for ``user`` (the digest's recipient)."""
    return signing.dumps({"m": meeting.pk, "u": user.pk, "s": state}, salt=LINK_SALT)


@dataclass(frozen=True)
class MeetingLink:
    meeting: Meeting
    user: User
    state: str


def link_for_token(token: str, *, at: datetime | None = None) -> MeetingLink | None:
    """What a link says, if it is ours, unexpired, and its member may still confirm; else None."""
    try:
        data = signing.loads(
            token,
            salt=LINK_SALT,
            max_age=timedelta(days=settings.MEETING_LINK_TTL_DAYS),
        )
        meeting_id, user_id, state = int(data["m"]), int(data["u"]), str(data["s"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if state not in CONFIRMABLE:
        return None
    meeting = (
        Meeting.unscoped.select_related("org", "engagement__vendor").filter(pk=meeting_id).first()
    )
    membership = (
        Membership.objects.select_related("user")
        .filter(org_id=meeting.org_id, user_id=user_id, user__is_active=True)
        .first()
        if meeting
        else None
    )
    if meeting is None or membership is None or not membership.can_write:
        return None
    return MeetingLink(meeting=meeting, user=membership.user, state=state)


def digest_lines(*, org_ids: list[int], at: datetime) -> dict[tuple[int, int], list[str]]:
    """For each (organization, engagement owner): a digest's lines about their meetings to
    confirm, each with its three signed links, overdue ones flagged (one query).

    The receiver of ``delivery.hooks.digest_sections``."""
    lines: dict[tuple[int, int], list[str]] = {}
    meetings = (
        Meeting.unscoped.filter(
            org_id__in=org_ids,
            state=Meeting.State.SCHEDULED,
            starts_at__lte=at,
            engagement__status=EngagementStatus.ACTIVE,
        )
        .select_related("engagement__owner", "org")
        .order_by("starts_at", "pk")
    )
    for m in meetings:
        owner = m.engagement.owner
        if owner is None:
            continue
        since = timezone.localtime(m.starts_at, m.org.tzinfo)
        flag = f"UNCONFIRMED SINCE {since:%d %b %Y}: " if at - m.starts_at > NAG_AFTER else ""
        links = "\n".join(
            f"    {label}: {settings.SITE_URL}"
            + reverse("engagements:meeting_link", args=[link_token(meeting=m, user=owner, state=s)])
            for s, label in ANSWERS
        )
        lines.setdefault((m.org_id, owner.pk), []).append(
            f"- {flag}{m.summary or '(no title)'} ({m.engagement.title}), "
            f"{since:%a %d %b %H:%M}. How did it go?\n{links}"
        )
    return lines


ANSWERS = [
    (Meeting.State.HELD, "Held"),
    (Meeting.State.VENDOR_NO_SHOW, "Vendor did not show"),
    (Meeting.State.WE_CANCELLED, "We cancelled"),
]


# --- the feed ---------------------------------------------------------------------------------


@transaction.atomic
def create_feed(*, org, user: User) -> tuple[CalendarFeed, str]:
    """A new secret feed URL token for a member (shown once; only its hash is kept)."""
    token = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(org=org, user=user, token_hash=hash_token(token))
    return feed, token


@transaction.atomic
def revoke_feed(*, feed: CalendarFeed) -> CalendarFeed:
    """Revoke a feed URL: calendar apps stop getting updates at once."""
    CalendarFeed.objects.filter(pk=feed.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    feed.refresh_from_db()
    return feed


def feed_for_token(token: str) -> CalendarFeed | None:
    return (
        CalendarFeed.unscoped.select_related("org", "user")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )


def feed_ics(*, feed: CalendarFeed) -> bytes:
    """The feed's calendar: what falls due in the organization's active engagements, and its
    contracts' decide-by dates (7 queries)."""
    org_id = feed.org_id
    active = Engagement.unscoped.filter(org_id=org_id, status=EngagementStatus.ACTIVE)
    cal = Calendar()
    cal.add("prodid", "-//Vendorwatch//Due dates//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Vendorwatch: {feed.org.name}")

    def day(uid: str, on: date, summary: str) -> None:
        event = Event()
        event.add("uid", f"{uid}@vendorwatch")
        event.add("dtstamp", timezone.now())
        event.add("dtstart", on)
        event.add("dtend", on + timedelta(days=1))
        event.add("summary", summary)
        cal.add_component(event)

    for d in (
        Deliverable.unscoped.filter(engagement__in=active)
        .exclude(status=DeliverableStatus.ACCEPTED)
        .select_related("engagement")[:2000]
    ):
        day(f"deliverable-{d.pk}", d.due_date, f"Due: {d.title} ({d.engagement.title})")
    for m in Milestone.unscoped.filter(engagement__in=active).select_related("engagement")[:2000]:
        day(f"milestone-{m.pk}", m.due_date, f"Milestone: {m.title} ({m.engagement.title})")
    last = dict(
        Interaction.unscoped.filter(engagement__in=active, outcome__in=TWO_WAY)
        .values("engagement_id")
        .annotate(at=Max("occurred_at"))
        .values_list("engagement_id", "at")
    )
    for e in active.only("pk", "title", "contact_cadence_days", "start_date")[:2000]:
        since = last.get(e.pk)
        base = since.date() if since else e.start_date
        day(
            f"checkin-{e.pk}",
            base + timedelta(days=e.contact_cadence_days),
            f"Check-in due: {e.title}",
        )
    for v in Vendor.unscoped.filter(
        Q(org_id=org_id), review_due_on__isnull=False, engagements__in=active
    ).distinct()[:500]:
        day(f"vendor-review-{v.pk}", v.review_due_on, f"Vendor review due: {v.name}")
    # Every contract's open decision (under an engagement or not): the decide-by date, named
    # with what happens if nobody decides. Its uid carries the date, so a decision or a
    # renewal removes the old entry and a new term brings its own.
    now = timezone.now()
    contracts = Contract.unscoped.filter(org_id=org_id).undecided(now).order_by("pk")[:500]
    for contract, outlook in contracts.with_outlooks(now):
        if outlook.decide_by:
            day(
                f"decide-by-{contract.pk}-{outlook.decide_by.isoformat()}",
                outlook.decide_by,
                f"Decide by: {contract.title} ({contract.vendor.name}): "
                f"without notice it {outlook.consequence}",
            )
    return cal.to_ical()
