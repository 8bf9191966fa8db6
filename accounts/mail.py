"""The e-mails of accounts: what a Celery task sends, kept apart from the services that
queue it (services import tasks, tasks import this)."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from .models import Invitation


def send_invitation(*, invitation: Invitation, token: str) -> None:
    """E-mail the invitation link (idempotent enough: a second e-mail carries the same link)."""
    link = settings.SITE_URL + reverse("accounts:invitation_accept", args=[token])
    inviter = invitation.invited_by.display_name if invitation.invited_by else "A colleague"
    send_mail(
        subject=f"You are invited to {invitation.org.name} on Vendorwatch",
        message=(
            f"{inviter} invited you to join {invitation.org.name} on Vendorwatch as "
            f"{invitation.get_role_display().lower()}.\n\nAccept the invitation: {link}\n\n"
            f"The link expires on {invitation.expires_at:%Y-%m-%d}."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
