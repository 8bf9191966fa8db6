from celery import shared_task

from . import mail
from .models import Invitation


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation(*, invitation_id: int, token: str) -> None:
    """E-mail an invitation link (skipped once the invitation is no longer usable)."""
    invitation = (
        Invitation.objects.select_related("org", "invited_by").filter(pk=invitation_id).first()
    )
    if invitation is not None and invitation.is_usable():
        mail.send_invitation(invitation=invitation, token=token)
