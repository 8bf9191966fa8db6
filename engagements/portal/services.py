"""The vendor portal: private links for vendor contacts, and what they do through them.

A contact's check-in, question and submission go through the delivery services, so they
land in the interaction log and the timeline and feed the health watcher exactly like
our own entries (a low comfort rating counts; a question they ask is owed by *us*).

The portal thread (``thread``) is what both sides see of that exchange, in time order:
the vendor's check-ins, questions and submissions, our answers and review outcomes. Our
calls, notes, spend and budget never appear in it.
"""

from dataclasses import dataclass
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
    DeliverableStatus,
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
from outsourcing.errors import Conflict
from outsourcing.queue import enqueue_on_commit
from vendors.models import VendorContact

ANSWERED_MEANWHILE = "This question was answered in the meantime: the thread shows the answer."
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
    question_row = OpenQuestion.unscoped.get(interaction=interaction)
    enqueue_on_commit(tasks.tell_team_of_question, open_question_id=question_row.pk)
    return question_row


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


# --- our side answers, and the thread both sides see ------------------------------------------


@transaction.atomic
def answer_vendor_question(*, question: OpenQuestion, answer: str, by: User) -> OpenQuestion:
    """Answer a question the vendor asked in the portal: they read it in the portal thread.

    Marks the question answered (so the watcher's "our side slipping" stops counting it),
    audited with who answered; the vendor's portal contacts are e-mailed after commit.
    """
    if not answer.strip():
        raise ValidationError({"answer": "Write the answer the vendor will read."})
    if question.owed_by != Side.US or not _asked_in_portal(question):
        raise ValidationError("Only questions the vendor asked in the portal are answered here.")
    # Checked before and after: the delivery service locks the row, so of two people
    # answering at once one wins and the other is told (their answer is not lost silently).
    if question.answered_at is not None:
        raise Conflict(ANSWERED_MEANWHILE)
    delivery.answer_question(question=question, answer=answer.strip(), by=by)
    if question.answered_by_id != by.pk or question.answer != answer.strip():
        raise Conflict(ANSWERED_MEANWHILE)
    enqueue_on_commit(tasks.tell_vendor_of_answer, open_question_id=question.pk)
    return question


def _asked_in_portal(question: OpenQuestion) -> bool:
    return Interaction.unscoped.filter(pk=question.interaction_id, source=Source.PORTAL).exists()


# The thread shows this many entries at most (the newest); older ones stay in the records.
THREAD_LIMIT = 100
REVIEWED = (DeliverableStatus.SUBMITTED, DeliverableStatus.ACCEPTED, DeliverableStatus.REJECTED)


@dataclass(frozen=True)
class ThreadEntry:
    """One message of the portal thread, as both sides see it."""

    at: datetime
    kind: str  # checkin, question, answer, submitted, accepted, rejected
    side: str  # "vendor" or "us"
    who: str
    text: str
    about: str = ""  # the deliverable, or the question an answer answers
    comfort: int | None = None
    question: OpenQuestion | None = None  # set on an open question (our side answers it)

    @property
    def heading(self) -> str:
        return {
            "checkin": "Check-in",
            "question": "Question",
            "answer": "Answer",
            "submitted": "Submitted",
            "accepted": "Accepted",
            "rejected": "Rejected",
        }[self.kind]


@dataclass(frozen=True)
class Thread:
    entries: list[ThreadEntry]
    truncated: bool  # older entries exist beyond THREAD_LIMIT

    @property
    def open_questions(self) -> int:
        return sum(1 for e in self.entries if e.question is not None)

    @property
    def first_open_question(self) -> OpenQuestion | None:
        return next((e.question for e in self.entries if e.question is not None), None)


def thread(*, engagement: Engagement, limit: int = THREAD_LIMIT) -> Thread:
    """The portal thread of one engagement, oldest first, in three queries whatever its length.

    Only what the vendor may read: their portal check-ins, the questions they asked there
    and our answers, submissions (a note only when the vendor wrote it) and our reviews with
    the reason. Never our interactions, notes, spend or budget.
    """
    vendor = engagement.vendor.name
    entries: list[ThreadEntry] = []
    for i in Interaction.objects.filter(
        engagement=engagement, source=Source.PORTAL, channel=Channel.CHECKIN
    ).order_by("-occurred_at", "-pk")[: limit + 1]:
        entries.append(
            ThreadEntry(i.occurred_at, "checkin", "vendor", vendor, i.notes, comfort=i.comfort)
        )
    for q in (
        OpenQuestion.objects.filter(
            engagement=engagement, owed_by=Side.US, interaction__source=Source.PORTAL
        )
        .select_related("interaction", "answered_by")
        .order_by("-asked_at", "-pk")[: limit + 1]
    ):
        asker = q.interaction.notes.removeprefix("Question from ").strip() or vendor
        open_ = q.answered_at is None
        entries.append(
            ThreadEntry(
                q.asked_at, "question", "vendor", asker, q.question, question=q if open_ else None
            )
        )
        if not open_:
            who = q.answered_by.display_name if q.answered_by else "The team"
            text = q.answer or "Marked answered (outside the portal, e.g. on a call)."
            entries.append(ThreadEntry(q.answered_at, "answer", "us", who, text, about=q.question))
    for t in (
        DeliverableTransition.objects.filter(
            deliverable__engagement=engagement, to_status__in=REVIEWED
        )
        .select_related("deliverable", "by")
        .order_by("-at", "-pk")[: limit + 1]
    ):
        ours = not t.by_vendor
        who = vendor if not ours else (t.by.display_name if t.by else "The team")
        # Our own note on a submission we recorded may be internal; a review's is its reason.
        text = "" if ours and t.to_status == DeliverableStatus.SUBMITTED else t.note
        side = "us" if ours else "vendor"
        entries.append(ThreadEntry(t.at, t.to_status, side, who, text, about=t.deliverable.title))
    entries.sort(key=lambda e: e.at)
    return Thread(entries=entries[-limit:], truncated=len(entries) > limit)
