"""The portal link's URL and the e-mail that carries it to a vendor contact."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from engagements.portal.models import PortalAccess


def portal_url(token: str) -> str:
    return settings.SITE_URL + reverse("portal:portal_home", args=[token])


def send_portal_link(*, access: PortalAccess, token: str) -> None:
    """E-mail the portal link to the contact (a second e-mail carries the same link)."""
    engagement, contact = access.engagement, access.contact
    inviter = access.created_by.display_name if access.created_by else "Your client"
    send_mail(
        subject=f"{engagement.title}: your link to the brief and check-ins",
        message=(
            f"Hello {contact.name},\n\n{inviter} shared the brief of “{engagement.title}” "
            "with you: our vision, the goal, the milestones and deliverables with their "
            "acceptance criteria. Through the same page you can post a check-in, ask us a "
            "question or mark a deliverable as submitted.\n\n"
            f"{portal_url(token)}\n\nThe link is personal and works until "
            f"{access.expires_at:%Y-%m-%d}."
        ),
        from_email=None,
        recipient_list=[contact.email],
    )
