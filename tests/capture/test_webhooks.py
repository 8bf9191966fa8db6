"""Provider inbound webhooks (django-anymail): real payload shapes, signatures verified.

Mailgun is checked by its HMAC signature (and the basic auth when set); Postmark and
SendGrid by basic auth; Amazon SES (through SNS) by basic auth and the SNS headers."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.test import Client
from django.urls import reverse

from engagements.capture import inbound
from engagements.capture import services as capture
from engagements.capture.models import InboundMessage, QueuedMail
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
    # The webhook answered once the bytes were queued; the drain (a Celery task kicked on
    # commit, called directly here) stores them through the pipeline.
    assert QueuedMail.objects.count() == 1 and not InboundMessage.unscoped.exists()
    capture.drain_mail_queue()
    assert not QueuedMail.objects.exists()
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
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


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
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


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
    capture.drain_mail_queue()
    assert InboundMessage.objects.filter(status="routed").count() == 1
    assert InboundMessage.objects.filter(status="duplicate").count() == 1


def test_a_payload_the_provider_parser_cannot_read_is_a_400_not_a_500(engagement, address, raw):
    payload = {"email": raw.decode(), "envelope": json.dumps({"to": [address]})}  # no "from"
    response = Client().post(url("sendgrid"), payload, **basic_auth())
    assert response.status_code == 400


# --- Amazon SES (an SNS topic posting to the webhook) -----------------------------------------

TOPIC = "arn:aws:sns:eu-west-1:123456789012:vendorwatch-inbound"


def sns_post(body: dict, *, auth: dict | None = None, header_type: str | None = None):
    """POST as SNS does: a JSON body sent as text/plain, with the x-amz-sns-* headers."""
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": header_type or body["Type"],
        "HTTP_X_AMZ_SNS_MESSAGE_ID": body["MessageId"],
        "HTTP_X_AMZ_SNS_TOPIC_ARN": body["TopicArn"],
        "HTTP_USER_AGENT": "Amazon Simple Notification Service Agent",
    }
    return Client().post(
        url("ses"),
        json.dumps(body),
        content_type="text/plain; charset=UTF-8",
        **headers,
        **(basic_auth() if auth is None else auth),
    )


def ses_received(raw: bytes, address: str, sender: str, *, encoding: str = "UTF8") -> dict:
    """An SNS Notification carrying an SES receipt with the SNS action (content included)."""
    content = base64.b64encode(raw).decode() if encoding == "BASE64" else raw.decode()
    receipt = {
        "notificationType": "Received",
        "mail": {
            "timestamp": "2026-11-10T08:55:12.936Z",
            "source": sender,
            "messageId": "o3vrnil0e2ic28trm7dfhrc2v0clambfb3gs09g1",
            "destination": ["anna@studio-nord.test", address],
            "headersTruncated": False,
            "headers": [{"name": "Subject", "value": "Kick-off agenda"}],
            "commonHeaders": {
                "from": [sender],
                "to": ["anna@studio-nord.test"],
                "subject": "Kick-off agenda",
            },
        },
        "receipt": {
            "timestamp": "2026-11-10T08:55:12.936Z",
            "processingTimeMillis": 362,
            "recipients": [address],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": "PASS"},
            "dkimVerdict": {"status": "PASS"},
            "dmarcVerdict": {"status": "GRAY"},
            "action": {"type": "SNS", "topicArn": TOPIC, "encoding": encoding},
        },
        "content": content,
    }
    return {
        "Type": "Notification",
        "MessageId": "fc6a6a1a-2f6b-5a8e-9d1d-8f0f5b6c2b11",
        "TopicArn": TOPIC,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": json.dumps(receipt),
        "Timestamp": "2026-11-10T08:55:13.301Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+..",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
        + TOPIC
        + ":0b9c6f1e",
    }


def subscription(token: str = "2336412f37fb687f5d51e6e2425dacbba", **changes) -> dict:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": token,
        "TopicArn": TOPIC,
        "Message": f"You have chosen to subscribe to the topic {TOPIC}.\n"
        "To confirm the subscription, visit the SubscribeURL included in this message.",
        "SubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC}&Token={token}",
        "Timestamp": "2026-11-10T08:50:04.751Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEpH+..",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000.pem",
        **changes,
    }


@pytest.fixture
def sns_confirmations(monkeypatch) -> list[str]:
    """The SubscribeURLs the webhook loaded (no request leaves the test)."""
    loaded: list[str] = []
    monkeypatch.setattr(inbound, "load_url", loaded.append)
    return loaded


@pytest.mark.parametrize("encoding", ["UTF8", "BASE64"])
def test_ses_receipt_through_sns_with_the_message_content_is_captured(
    engagement, address, raw, manager, encoding
):
    response = sns_post(ses_received(raw, address, manager.user.email, encoding=encoding))
    assert response.status_code == 200
    message = captured_once(engagement)
    assert message.envelope_to == [address]
    assert message.envelope_from == manager.user.email


def test_ses_asks_for_basic_auth_first_as_sns_needs_then_refuses_a_wrong_one(
    engagement, address, raw, manager
):
    body = ses_received(raw, address, manager.user.email)
    challenge = sns_post(body, auth={})
    assert challenge.status_code == 401  # SNS sends the credentials only after a 401
    assert challenge["WWW-Authenticate"].startswith("Basic ")
    assert sns_post(body, auth=basic_auth("inbound:wrong")).status_code == 400
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


def test_ses_headers_that_contradict_the_body_are_refused(engagement, address, raw, manager):
    body = ses_received(raw, address, manager.user.email)
    assert sns_post(body, header_type="SubscriptionConfirmation").status_code == 400
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


def test_the_sns_subscription_is_confirmed_through_its_subscribe_url(db, sns_confirmations):
    body = subscription()
    response = sns_post(body)
    assert response.status_code == 200
    assert sns_confirmations == [body["SubscribeURL"]]
    # ...and the "topic validated" notification that follows changes nothing.
    validated = {
        **ses_received(b"", "x@y", "z@y"),
        "Message": "Successfully validated SNS topic for Amazon SES event publishing.",
    }
    assert sns_post(validated).status_code == 200
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


def test_a_subscription_without_our_basic_auth_is_not_confirmed(db, sns_confirmations):
    assert sns_post(subscription(), auth=basic_auth("inbound:wrong")).status_code == 400
    assert sns_confirmations == []


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "https://attacker.test/?Action=ConfirmSubscription",
        "http://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425dacbba",
        "https://sns.eu-west-1.amazonaws.com.attacker.test/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425dacbba",
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"
        f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425dacbba",
        "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe"
        f"&TopicArn={TOPIC}&Token=2336412f37fb687f5d51e6e2425dacbba",
    ],
)
def test_a_subscribe_url_other_than_the_topics_own_sns_call_is_never_loaded(
    db, sns_confirmations, subscribe_url
):
    assert sns_post(subscription(SubscribeURL=subscribe_url)).status_code == 400
    assert sns_confirmations == []


def test_ses_rules_that_store_the_message_in_s3_are_refused_with_a_reason(
    engagement, address, raw, manager
):
    body = ses_received(raw, address, manager.user.email)
    receipt = json.loads(body["Message"])
    receipt["receipt"]["action"] = {
        "type": "S3",
        "topicArn": TOPIC,
        "bucketName": "inbound-mail",
        "objectKey": "o3vrnil0e2ic28trm7dfhrc2v0clambfb3gs09g1",
    }
    del receipt["content"]
    response = sns_post({**body, "Message": json.dumps(receipt)})
    assert response.status_code == 400
    assert b"AnymailConfigurationError" in response.content
    assert not InboundMessage.unscoped.exists() and not QueuedMail.objects.exists()


def test_an_sns_body_that_is_not_json_is_a_400_not_a_500(db):
    response = Client().post(
        url("ses"),
        "not json",
        content_type="text/plain",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID="x",
        **basic_auth(),
    )
    assert response.status_code == 400


def test_the_same_ses_notification_delivered_twice_is_captured_once(
    engagement, address, raw, manager
):
    body = ses_received(raw, address, manager.user.email)
    sns_post(body)
    sns_post(body)
    capture.drain_mail_queue()
    assert InboundMessage.objects.filter(status="routed").count() == 1
    assert InboundMessage.objects.filter(status="duplicate").count() == 1
