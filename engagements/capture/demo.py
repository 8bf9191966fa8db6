"""Demo mail (``manage.py seed_demo``): captured threads on the healthy engagement and two
messages waiting in the triage inbox. Idempotent: nothing is added once the organization has
captured mail. Goes through the real pipeline (``services.receive`` with the organization's
mailbox), so it works without ``MAIL_INBOUND_DOMAIN``.
"""

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from django.utils import timezone

from engagements.capture import services
from engagements.capture.models import InboundMessage
from engagements.delivery.models import Engagement
from vendors.models import VendorContact

ENGAGEMENT = "Self-service onboarding"


def _mail(sender, to, subject, body, at: datetime, mid: str, parent: str = "") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"], msg["Message-ID"] = format_datetime(at), f"<{mid}@demo.vendorwatch>"
    if parent:
        msg["In-Reply-To"] = msg["References"] = f"<{parent}@demo.vendorwatch>"
    msg.set_content(body)
    return msg.as_bytes()


def seed_mail(accounts) -> int:
    """Capture a few threads for the demo's healthy engagement; how many messages were added."""
    org = accounts.org
    engagement = Engagement.unscoped.filter(org=org, title=ENGAGEMENT).first()
    if engagement is None or InboundMessage.unscoped.filter(org=org).exists():
        return 0
    services.set_capture(engagement=engagement, enabled=True)
    contact = VendorContact.unscoped.filter(vendor=engagement.vendor).exclude(email="").first()
    if contact is None:
        contact = VendorContact.unscoped.create(
            org=org, vendor=engagement.vendor, name="Dana Ortiz", email="dana@vendor-demo.example"
        )
    ours, theirs = f"{accounts.manager.get_full_name()} <{accounts.manager.email}>", contact.email
    now = timezone.now()
    ago = lambda hours: now - timedelta(hours=hours)  # noqa: E731
    messages = [
        (ours, theirs, "Launch checklist scope", "Can we agree the launch checklist by Thursday? I'd like support and sales sign-off on it.", ago(150), "d1", ""),
        (theirs, ours, "Re: Launch checklist scope", "Yes, draft attached by Wednesday. Should the rollback plan be part of it?\n\nOn Mon, you wrote:\n> Can we agree the launch checklist by Thursday?", ago(138), "d2", "d1"),
        (ours, theirs, "Re: Launch checklist scope", "Thanks, yes: include the rollback plan.", ago(134), "d3", "d2"),
        (ours, theirs, "Funnel dashboard access", "Who on your side needs read access to the analytics project?", ago(10), "d4", ""),
        (theirs, ours, "SSO for the wizard?", "Quick one: do enterprise sign-ups need SSO in this phase, or later?", ago(6), "d5", ""),
        ("Sam Reyes <sam@new-agency.example>", accounts.manager.email, "Proposal: mobile onboarding", "We saw your onboarding project and would love to help with the mobile app.", ago(20), "d6", ""),
        ("billing@saas-tools.example", accounts.owner.email, "Your invoice for November", "Your invoice is ready.", ago(30), "d7", ""),
    ]  # fmt: skip
    for sender, to, subject, body, at, mid, parent in messages:
        services.receive(
            raw=_mail(sender, to, subject, body, at, mid, parent), via="manual", org=org
        )
    return len(messages)
