"""Thin Celery entry points of the vendor portal. The name stays ``engagements.tasks.*``:
tasks already queued use it."""

from celery import shared_task

from accounts.tenancy import all_organizations
from engagements.delivery.models import OpenQuestion
from engagements.portal import mail
from engagements.portal.models import PortalAccess


@shared_task(
    name="engagements.tasks.send_portal_link",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
@all_organizations()
def send_portal_link(*, portal_access_id: int, token: str) -> None:
    """E-mail a vendor contact's portal link (skipped once the link no longer works)."""
    access = (
        PortalAccess.unscoped.select_related("engagement", "contact", "created_by")
        .filter(pk=portal_access_id)
        .first()
    )
    if access is not None and access.is_usable() and access.contact.email:
        mail.send_portal_link(access=access, token=token)


@shared_task(
    name="engagements.tasks.tell_vendor_of_answer",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
@all_organizations()
def tell_vendor_of_answer(*, open_question_id: int) -> None:
    """E-mail our answer to the contacts whose portal links still work (each address once)."""
    question = (
        OpenQuestion.unscoped.select_related("engagement", "answered_by")
        .filter(pk=open_question_id, answered_at__isnull=False)
        .first()
    )
    if question is None:
        return
    recipients = dict(
        PortalAccess.objects.usable()
        .filter(engagement_id=question.engagement_id)
        .exclude(contact__email="")
        .values_list("contact__email", "contact__name")
    )
    mail.send_answer_to_vendor(
        question=question, recipients=[(name, email) for email, name in recipients.items()]
    )


@shared_task(
    name="engagements.tasks.tell_team_of_question",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
@all_organizations()
def tell_team_of_question(*, open_question_id: int) -> None:
    """E-mail the engagement's owner a question the vendor asked (skipped once answered)."""
    question = (
        OpenQuestion.unscoped.select_related("engagement__owner", "engagement__vendor")
        .filter(pk=open_question_id, answered_at__isnull=True)
        .first()
    )
    if question is not None and question.engagement.owner.email:
        mail.send_question_to_team(question=question)
