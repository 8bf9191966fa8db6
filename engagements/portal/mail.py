"""The portal link's URL and the e-mails of the portal: the link to a vendor contact, our
answer to the vendor's contacts, the vendor's question to the engagement's owner."""

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse

from engagements.delivery.models import OpenQuestion
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


def send_answer_to_vendor(*, question: OpenQuestion, recipients: list[tuple[str, str]]) -> None:
    """Tell the vendor's portal contacts that we answered a question (one e-mail each)."""
    engagement = question.engagement
    who = question.answered_by.display_name if question.answered_by else "The team"
    for name, email in recipients:
        send_mail(
            subject=f"{engagement.title}: your question was answered",
            message=(
                f"Hello {name},\n\n{who} answered the question asked in the portal of "
                f"“{engagement.title}”:\n\n> {question.question}\n\n{question.answer}\n\n"
                "The whole thread is on your portal page (the private link we sent you)."
            ),
            from_email=None,
            recipient_list=[email],
        )


def send_question_to_team(*, question: OpenQuestion) -> None:
    """Tell the engagement's owner that the vendor asked a question in the portal."""
    engagement = question.engagement
    url = settings.SITE_URL + reverse("engagements:engagement_detail", args=[engagement.pk])
    send_mail(
        subject=f"{engagement.title}: {engagement.vendor.name} asked a question",
        message=(
            f"{engagement.vendor.name} asked in the vendor portal of “{engagement.title}”:\n\n"
            f"> {question.question}\n\nAnswer it on the engagement page (Vendor portal); "
            f"until then it counts as our side slipping.\n\n{url}#portal-access"
        ),
        from_email=None,
        recipient_list=[engagement.owner.email],
    )
