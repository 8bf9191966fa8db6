"""Provider inbound webhooks through django-anymail: Mailgun, Postmark, SendGrid, Amazon SES.

Anymail verifies each request (Mailgun's HMAC signature over timestamp and token with the
webhook signing key; HTTP basic auth with ``MAIL_WEBHOOK_SECRET`` for all, when set) and turns
each provider's payload into a standard message; we take its bytes and the envelope
recipient and queue them (``services.accept_mail``: one INSERT, committed before the 200),
like the SMTP receiver does; the drain task stores them through the pipeline in batches. A provider
whose secret is not set has no endpoint (404), so nothing arrives unverified.

Amazon SES reaches us through an SNS topic (a receipt rule with the *SNS* action, content
included, up to SNS's 150 KB). Anymail's own view does all of it — the basic auth (with the
401 challenge SNS needs before it sends credentials), the SNS headers checked against the
body, ``SubscriptionConfirmation`` confirmed only when the basic auth proved it is meant for
us, the ``Notification``'s raw message (UTF-8 or BASE64) — except the two steps it does with
boto3, a large dependency for one call: we confirm a subscription by loading its
``SubscribeURL`` (SNS's documented alternative to the ConfirmSubscription API, checked to be
that very call on the topic's own regional SNS host), and the *S3* action is refused with a
reason.
"""

import json
import logging
import urllib.request
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from anymail.exceptions import AnymailConfigurationError, AnymailWebhookValidationFailure
from anymail.inbound import AnymailInboundMessage
from anymail.signals import AnymailInboundEvent, EventType, inbound
from anymail.utils import DEFAULT_DOWNLOAD_CHUNK_SIZE
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.base import AnymailBaseWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from anymail.webhooks.postmark import PostmarkInboundWebhookView
from anymail.webhooks.sendgrid import SendGridInboundWebhookView
from django.conf import settings

from engagements.capture import services

log = logging.getLogger(__name__)
SNS_CONFIRM_TIMEOUT = 10  # seconds; SNS gives an HTTP endpoint 15 s to answer


def load_url(url: str) -> None:
    """GET ``url`` (the subscription's confirmation; tests replace this)."""
    # Only ever a URL check_subscribe_url passed: https, the topic's regional SNS host.
    with urllib.request.urlopen(url, timeout=SNS_CONFIRM_TIMEOUT) as response:
        response.read(64 * 1024)


def check_subscribe_url(sns_message: dict) -> str:
    """The ``SubscribeURL``, if it is the ConfirmSubscription call for this very topic and token
    on the topic's regional SNS host; else the subscription is refused (no request to an
    address a payload chose)."""
    url = str(sns_message.get("SubscribeURL", ""))
    topic, token = str(sns_message.get("TopicArn", "")), str(sns_message.get("Token", ""))
    parts = topic.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "sns" or not token:
        raise AnymailWebhookValidationFailure(f"SNS TopicArn {topic!r} is not an SNS topic")
    region = parts[3]
    hosts = {f"sns.{region}.amazonaws.com", f"sns.{region}.amazonaws.com.cn"}
    split = urlsplit(url)
    query = parse_qs(split.query)
    if (
        split.scheme != "https"
        or split.hostname not in hosts
        or split.port not in (None, 443)
        or query.get("Action") != ["ConfirmSubscription"]
        or query.get("TopicArn") != [topic]
        or query.get("Token") != [token]
    ):
        raise AnymailWebhookValidationFailure(
            f"SNS SubscribeURL is not the ConfirmSubscription call for {topic}"
        )
    return url


class SESInboundWebhookView(AmazonSESInboundWebhookView):
    """Anymail's Amazon SES inbound view, without boto3 (see the module's docstring)."""

    def __init__(self, **kwargs):
        # AmazonSESBaseWebhookView.__init__ reads boto3's session parameters (and fails
        # without boto3); everything else it and the inbound view set is set here the same way.
        self.auto_confirm_enabled = kwargs.pop("auto_confirm_sns_subscriptions", True)
        self.kms_key_id = None
        self.chunk_size = DEFAULT_DOWNLOAD_CHUNK_SIZE
        self.session_params, self.client_params = {}, {}
        AnymailBaseWebhookView.__init__(self, **kwargs)

    def auto_confirm_sns_subscription(self, sns_message):
        """As anymail does: only with basic auth proving the topic is meant for us."""
        if not self.auto_confirm_enabled:
            return
        if not self.basic_auth:
            raise AnymailWebhookValidationFailure(
                f"Unexpected SubscriptionConfirmation for SNS topic "
                f"{sns_message.get('TopicArn')!r}: set MAIL_WEBHOOK_SECRET to confirm it"
            )
        url = check_subscribe_url(sns_message)
        load_url(url)
        log.info("confirmed the SNS subscription to %s", sns_message.get("TopicArn"))

    def fetch_s3_chunks(self, bucket_name, object_key):
        raise AnymailConfigurationError(
            "The Amazon SES receipt rule stores the message in S3; use the SNS action "
            "(message content included) for Vendorwatch's inbound webhook"
        )


def _unparsed(request, sender: str | None, recipient: str | None, **event) -> AnymailInboundEvent:
    """An inbound event whose message holds only the envelope: the raw MIME form field is
    queued as it came (``raw_message``) and parsed once, by the drain. Anymail would parse it
    here with ``policy.default`` and we would serialise it again: half a webhook's time."""
    message = AnymailInboundMessage()
    message.envelope_sender, message.envelope_recipient = sender, recipient
    return AnymailInboundEvent(
        event_type=EventType.INBOUND, esp_event=request, message=message, **event
    )


class SendGridInboundView(SendGridInboundWebhookView):
    """Anymail's SendGrid inbound view; "Send Raw" payloads are not parsed at the door."""

    def esp_to_anymail_event(self, request):
        if "headers" in request.POST or "email" not in request.POST:
            return super().esp_to_anymail_event(request)
        try:  # as anymail reads it: no envelope is none, a broken one is refused (400)
            envelope = json.loads(request.POST["envelope"])
        except (KeyError, TypeError, ValueError):
            return _unparsed(request, None, None, timestamp=None, event_id=None)
        return _unparsed(
            request, envelope["from"], envelope["to"][0], timestamp=None, event_id=None
        )


class MailgunInboundView(MailgunInboundWebhookView):
    """Anymail's Mailgun inbound view; raw MIME (``body-mime``) is not parsed at the door."""

    def esp_to_anymail_event(self, request):
        if (
            "body-mime" not in request.POST
            or "attachments" in request.POST
            or request.POST.get("event", "inbound") != "inbound"
        ):
            return super().esp_to_anymail_event(request)  # parsed, or refused as anymail does
        return _unparsed(
            request,
            request.POST.get("sender"),
            request.POST.get("recipient"),
            timestamp=datetime.fromtimestamp(int(request.POST["timestamp"]), tz=UTC),
            event_id=request.POST.get("token"),
        )


PROVIDERS = {
    "mailgun": MailgunInboundView,
    "postmark": PostmarkInboundWebhookView,
    "sendgrid": SendGridInboundView,
    "ses": SESInboundWebhookView,
}


def configured(provider: str) -> bool:
    """Whether the provider's endpoint is on: its secret is set."""
    anymail = getattr(settings, "ANYMAIL", {})
    if provider == "mailgun":
        return bool(anymail.get("MAILGUN_WEBHOOK_SIGNING_KEY"))
    return provider in PROVIDERS and bool(anymail.get("WEBHOOK_SECRET"))


# The form field that carries the raw MIME message, for the providers that post it as it came.
RAW_FIELDS = {"sendgrid": "email", "mailgun": "body-mime"}


def raw_message(event, esp_name: str) -> bytes:
    """The message's bytes: the raw MIME form field the provider posted when there is one
    (kept as it came; anymail did not parse it), else anymail's message as bytes (Postmark's
    JSON, SES's notification, SendGrid's parsed fields)."""
    field = RAW_FIELDS.get(esp_name.lower())
    request = event.esp_event
    posted = getattr(request, "POST", None)
    value = posted.get(field) if field and posted is not None else None
    if isinstance(value, str) and value:
        return value.encode("utf-8", "surrogateescape")
    return event.message.as_bytes()


def on_inbound(sender, event, esp_name, **kwargs) -> None:
    """Anymail's inbound signal → the capture queue (bad mail is recorded by the drain, not
    raised here)."""
    message = event.message
    recipients = [message.envelope_recipient] if message.envelope_recipient else []
    services.accept_mail(
        items=[
            services.Incoming(
                raw=raw_message(event, esp_name),
                via="webhook",
                envelope_from=message.envelope_sender or "",
                envelope_to=recipients,
            )
        ]
    )


def connect() -> None:
    """Listen to anymail's inbound signal (a third-party signal into this concern only)."""
    inbound.connect(on_inbound, dispatch_uid="vendorwatch-capture-inbound")
