"""The vendor portal: private links for vendor contacts, and what they do through them.

A contact's check-in, question and submission go through the delivery services, so they
land in the interaction log and the timeline and feed the health watcher exactly like
our own entries (a low comfort rating counts; a question they ask is owed by *us*).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User, hash_token
from engagements.delivery import hooks
from engagements.delivery import services as delivery
from engagements.delivery.models import (
    Channel,
    Deliverable,
    DeliverableTransition,
    Direction,
    Engagement,
    Interaction,
    OpenQuestion,
    Outcome,
    Side,
    Source,
)
from engagements.portal import tasks
from engagements.portal.models import PortalAccess
from outsourcing.queue import enqueue_on_commit
from vendors.models import VendorContact

# The portal records last use at most this often per link, not on every page view.
LAST_USED_RESOLUTION = timedelta(minutes=5)


@transaction.atomic
def invite_vendor_contact(
    *, engagement: Engagement, contact: VendorContact, by: User
) -> tuple[PortalAccess, str]:
    """Give a contact of the engagement's vendor a private portal link; e-mail it after commit.

    Returns the access and the raw token (shown once; only its hash is stored). Inviting
    shares the brief, so the engagement's ``brief_shared_at`` is set if it was not.
    """
    if contact.vendor_id != engagement.vendor_id or contact.org_id != engagement.org_id:
        raise ValidationError({"contact": "Choose a contact of this engagement's vendor."})
    if engagement.is_ended:
        raise ValidationError("This engagement has ended; there is nothing to share any more.")
    token = PortalAccess.new_token()
    now = timezone.now()
    access = PortalAccess.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        contact=contact,
        token_hash=hash_token(token),
        created_by=by,
        created_at=now,
        expires_at=now + timedelta(days=settings.PORTAL_LINK_TTL_DAYS),
    )
    Engagement.unscoped.filter(pk=engagement.pk, brief_shared_at__isnull=True).update(
        brief_shared_at=now
    )
    if contact.email:
        enqueue_on_commit(tasks.send_portal_link, portal_access_id=access.pk, token=token)
    hooks.engagement_changed(engagement=engagement)
    return access, token


@transaction.atomic
def revoke_portal_access(*, access: PortalAccess) -> bool:
    """Revoke a portal link: it stops working at once. True if this call revoked it."""
    return (
        PortalAccess.unscoped.filter(pk=access.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        == 1
    )


def find_portal_access(token: str) -> PortalAccess | None:
    """The usable access behind a link, or None (wrong, expired and revoked alike)."""
    if not token or len(token) > 200:
        return None
    access = (
        PortalAccess.unscoped.select_related("engagement", "contact", "contact__vendor", "org")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if access is None or not access.is_usable():
        return None
    now = timezone.now()
    if access.last_used_at is None or now - access.last_used_at > LAST_USED_RESOLUTION:
        PortalAccess.unscoped.filter(pk=access.pk).update(last_used_at=now)
        access.last_used_at = now
    return access


@transaction.atomic
def post_check_in(
    *,
    access: PortalAccess,
    progress: str,
    blockers: str = "",
    comfort: int,
    at: datetime | None = None,
) -> Interaction:
    """The vendor's check-in: progress, blockers and how comfortable the collaboration feels."""
    if not progress.strip():
        raise ValidationError({"progress": "Tell us where things stand."})
    notes = f"Progress: {progress.strip()}"
    if blockers.strip():
        notes += f"\nBlockers: {blockers.strip()}"
    return delivery.log_interaction(
        engagement=access.engagement,
        by=None,
        channel=Channel.CHECKIN,
        direction=Direction.VENDOR_TO_US,
        outcome=Outcome.HELD,
        comfort=comfort,
        notes=f"{notes}\n— {access.contact.name}",
        source=Source.PORTAL,
        occurred_at=at,
    )


@transaction.atomic
def ask_question(
    *, access: PortalAccess, question: str, at: datetime | None = None
) -> OpenQuestion:
    """The vendor asks us something: an open question owed by our side (watched)."""
    if not question.strip():
        raise ValidationError({"question": "Write your question."})
    interaction = delivery.log_interaction(
        engagement=access.engagement,
        by=None,
        channel=Channel.MESSAGE,
        direction=Direction.VENDOR_TO_US,
        outcome=Outcome.HELD,
        notes=f"Question from {access.contact.name}",
        question=question,
        question_owed_by=Side.US,
        source=Source.PORTAL,
        occurred_at=at,
    )
    return OpenQuestion.unscoped.get(interaction=interaction)


@transaction.atomic
def submit_deliverable(
    *,
    access: PortalAccess,
    deliverable: Deliverable,
    note: str = "",
    link: str = "",
    at: datetime | None = None,
) -> DeliverableTransition:
    """The vendor marks one of this engagement's deliverables submitted, with a note or link."""
    if deliverable.engagement_id != access.engagement_id:
        raise ValidationError({"deliverable": "Choose a deliverable of this engagement."})
    text = "\n".join(part for part in (note.strip(), link.strip()) if part)
    return delivery.submit_deliverable(
        deliverable=deliverable,
        by=None,
        note=f"{text}\n— {access.contact.name}" if text else f"— {access.contact.name}",
        by_vendor=True,
        at=at,
    )
