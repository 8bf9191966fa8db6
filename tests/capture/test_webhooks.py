"""Provider inbound webhooks (django-anymail): real payload shapes, signatures verified.

Mailgun is checked by its HMAC signature (and the basic auth when set); Postmark and
SendGrid by basic auth."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from engagements.capture.models import InboundMessage
from engagements.delivery.models import Interaction, Source
from tests.capture.conftest import mail

pytestmark = pytest.mark.django_db
SECRET = "inbound:s3cret-basic-auth"
SIGNING_KEY = "key-mailgun-signing-0123456789"


@pytest.fixture(autouse=True)
def _secrets(settings):
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY,
    }


def basic_auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


def url(provider: str) -> str:
    return reverse("engagements:inbound_webhook", args=[provider])


@pytest.fixture
def raw(manager) -> bytes:
    return mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Kick-off agenda")


def captured_once(engagement) -> InboundMessage:
    message = InboundMessage.objects.get()
    assert message.via == "webhook"
    assert message.status == "routed", message.reason
    assert message.subject == "Kick-off agenda"
    assert Interaction.objects.filter(engagement=engagement, source=Source.EMAIL).count() == 1
    return message


def mailgun_signature(key: str = SIGNING_KEY) -> dict:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature}


def test_mailgun_forward_with_raw_mime_is_captured(engagement, address, raw, manager):
    # Mailgun's route forward() to a URL ending in "mime": form fields, body-mime the raw message.
    payload = {
        "recipient": address,
        "sender": manager.user.email,
        "from": manager.user.email,
        "subject": "Kick-off agenda",
        "body-mime": raw.decode(),
        **mailgun_signature(),
    }
    response = Client().post(url("mailgun"), payload, **basic_auth())
    assert response.status_code == 200
    message = captured_once(engagement)
    assert message.envelope_to == [address]


def test_mailgun_with_a_wrong_signature_is_refused(engagement, address, raw):
    payload = {"recipient": address, "body-mime": raw.decode(), **mailgun_signature("wrong")}
    response = Client().post(url("mailgun"), payload, **basic_auth())
    assert response.status_code == 400
    assert not InboundMessage.unscoped.exists()


def test_postmark_inbound_json_is_captured(engagement, address, manager):
    payload = {
        "FromName": "Mia Manager",
        "MessageStream": "inbound",
        "From": manager.user.email,
        "FromFull": {"Email": manager.user.email, "Name": "Mia Manager", "MailboxHash": ""},
        "To": f'"Anna Berg" <anna@studio-nord.test>, {address}',
        "ToFull": [
            {"Email": "anna@studio-nord.test", "Name": "Anna Berg", "MailboxHash": ""},
            {"Email": address, "Name": "", "MailboxHash": ""},
        ],
        "Cc": "",
        "CcFull": [],
        "Bcc": "",
        "BccFull": [],
        "OriginalRecipient": address,
        "Subject": "Kick-off agenda",
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "ReplyTo": "",
        "MailboxHash": "",
        "Date": "Fri, 1 Aug 2025 16:45:32 -04:00",
        "TextBody": "Agenda attached.",
        "HtmlBody": "<p>Agenda attached.</p>",
        "StrippedTextReply": "Agenda attached.",
        "Tag": "",
        "Headers": [
            {"Name": "X-Spam-Status", "Value": "No"},
            {"Name": "Message-ID", "Value": "<kickoff-1@mail.acme.test>"},
        ],
        "Attachments": [],
    }
    response = Client().post(
        url("postmark"), json.dumps(payload), content_type="application/json", **basic_auth()
    )
    assert response.status_code == 200
    message = captured_once(engagement)
    assert message.message_id == "kickoff-1@mail.acme.test"


def test_postmark_without_the_secret_is_refused(engagement, address):
    response = Client().post(
        url("postmark"), "{}", content_type="application/json", **basic_auth("inbound:wrong")
    )
    assert response.status_code == 400
    assert not InboundMessage.unscoped.exists()


def test_sendgrid_inbound_parse_with_raw_mime_is_captured(engagement, address, raw, manager):
    # SendGrid Inbound Parse with "POST the raw, full MIME message": multipart form fields.
    payload = {
        "email": raw.decode(),
        "to": address,
        "from": manager.user.email,
        "subject": "Kick-off agenda",
        "sender_ip": "192.0.2.10",
        "envelope": json.dumps({"to": [address], "from": manager.user.email}),
        "charsets": json.dumps({"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}),
        "SPF": "pass",
        "dkim": "{@acme.test : pass}",
    }
    response = Client().post(url("sendgrid"), payload, **basic_auth())
    assert response.status_code == 200
    captured_once(engagement)


def test_an_unconfigured_provider_has_no_endpoint(settings, raw):
    settings.ANYMAIL = {}
    assert Client().post(url("sendgrid"), {"email": raw.decode()}).status_code == 404
    assert Client().post(url("nosuch"), {}).status_code == 404


def test_the_same_webhook_delivered_twice_is_captured_once(engagement, address, raw, manager):
    payload = {"recipient": address, "body-mime": raw.decode(), **mailgun_signature()}
    Client().post(url("mailgun"), payload, **basic_auth())
    Client().post(url("mailgun"), payload, **basic_auth())
    assert InboundMessage.objects.filter(status="routed").count() == 1
    assert InboundMessage.objects.filter(status="duplicate").count() == 1


def test_a_payload_the_provider_parser_cannot_read_is_a_400_not_a_500(engagement, address, raw):
    payload = {"email": raw.decode(), "envelope": json.dumps({"to": [address]})}  # no "from"
    response = Client().post(url("sendgrid"), payload, **basic_auth())
    assert response.status_code == 400
