"""Provider inbound webhooks through django-anymail: Mailgun, Postmark, SendGrid.

(Amazon SES is not wired: anymail's SES webhook needs boto3, a large dependency.)

Anymail verifies each request (Mailgun's HMAC signature over timestamp and token with the
webhook signing key; HTTP basic auth with ``MAIL_WEBHOOK_SECRET`` for all, when set) and turns
each provider's payload into a standard message; we take its bytes and the envelope
recipient and hand them to ``services.receive``, like the SMTP receiver does. A provider
whose secret is not set has no endpoint (404), so nothing arrives unverified.
"""

from anymail.signals import inbound
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings

from engagements.capture import services

PROVIDERS = {
    "mailgun": MailgunInboundWebhookView,
    "postmark": PostmarkInboundWebhookView,
    "sendgrid": SendGridInboundWebhookView,
}


def configured(provider: str) -> bool:
    """Whether the provider's endpoint is on: its secret is set."""
    anymail = getattr(settings, "ANYMAIL", {})
    if provider == "mailgun":
        return bool(anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY"))
    return provider in PROVIDERS and bool(anymail.get("WEBHOOK_SECRET"))


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    """Anymail's inbound signal → the capture pipeline (bad mail is recorded, not raised)."""
    message = event.message
    recipients = [message.envelope_recipient] if message.envelope_recipient else []
    services.receive(
        raw=message.as_bytes(),
        via="webhook",
        envelope_from=message.envelope_sender or "",
        envelope_to=recipients,
    )


def connect() -> None:
    """Listen to anymail's inbound signal (a third-party signal into this concern only)."""
    inbound.connect(on_inbound, dispatch_uid="vendorwatch-capture-inbound")
