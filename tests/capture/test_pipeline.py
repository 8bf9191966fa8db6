"""The capture pipeline: keep, route, thread, derive; bad input gets a reason, never a 500."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engagements.capture import services as capture
from engagements.capture.models import AddressRule, InboundMessage, MailThread
from engagements.delivery.models import Direction, Interaction, OpenQuestion, Outcome, Source
from tests.capture.conftest import mail, message_id_of
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db
Status = InboundMessage.Status
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def receive(raw: bytes, **kwargs) -> InboundMessage:
    return capture.receive(raw=raw, via="smtp", **kwargs)


@time_machine.travel(NOW, tick=False)
def test_our_mail_bcc_to_the_capture_address_becomes_an_email_interaction(
    engagement, address, manager
):
    raw = mail(
        sender=f"Mia Manager <{manager.user.email}>",
        to="Anna Berg <anna@studio-nord.test>",
        at=NOW - timedelta(minutes=5),
        body="Could you send the spec by Friday?\n\nThanks,\nMia\n-- \nMia Manager\nAcme",
    )
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.ROUTED, message.reason
    assert message.engagement == engagement
    assert message.direction == Direction.WE_TO_VENDOR
    interaction = message.interaction
    assert interaction.source == Source.EMAIL
    assert interaction.channel == "email"
    assert interaction.outcome == Outcome.UNANSWERED
    assert interaction.occurred_at == NOW - timedelta(minutes=5)
    assert "Could you send the spec by Friday?" in interaction.notes
    assert "Mia Manager\nAcme" not in message.new_text  # signature stripped
    assert message.thread.subject == "Spec for the onboarding flow"
    assert set(message.participants) == {manager.user.email, "anna@studio-nord.test"}


@time_machine.travel(NOW, tick=False)
def test_vendor_reply_in_the_thread_answers_our_mail_with_the_response_time(
    engagement, address, manager
):
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=NOW - timedelta(hours=30))
    first = receive(ours, envelope_to=[address])
    reply = mail(
        sender="Anna Berg <anna@studio-nord.test>",
        to=manager.user.email,
        cc=address,
        subject="Re: Spec for the onboarding flow",
        body="Here it is.\n\nOn Mon, Mia wrote:\n> Could you send the spec by Friday?",
        at=NOW - timedelta(hours=3),
        in_reply_to=message_id_of(ours),
    )
    second = receive(reply)
    assert second.status == Status.ROUTED, second.reason
    assert second.direction == Direction.VENDOR_TO_US
    assert second.thread_id == first.thread_id
    assert second.new_text == "Here it is."
    first.interaction.refresh_from_db()
    assert first.interaction.outcome == Outcome.ANSWERED
    assert first.interaction.response_hours == 27
    # The vendor's message now waits for us: a question owed by us.
    question = OpenQuestion.objects.get(interaction=second.interaction)
    assert question.owed_by == "us" and question.answered_at is None
    # ...until we reply in the thread.
    receive(
        mail(
            sender=manager.user.email,
            to="anna@studio-nord.test",
            cc=address,
            subject="Re: Spec for the onboarding flow",
            at=NOW - timedelta(hours=1),
            in_reply_to=message_id_of(reply),
        )
    )
    question.refresh_from_db()
    assert question.answered_at == NOW - timedelta(hours=1)
    assert MailThread.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_a_reply_imported_before_the_message_it_answers_still_settles(engagement, address, manager):
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=NOW - timedelta(hours=10))
    reply = mail(
        sender="anna@studio-nord.test",
        to=[manager.user.email, address],
        at=NOW - timedelta(hours=2),
        in_reply_to=message_id_of(ours),
    )
    receive(reply)
    first = receive(ours, envelope_to=[address])
    first.interaction.refresh_from_db()
    assert first.interaction.outcome == Outcome.ANSWERED
    assert first.interaction.response_hours == 8
    assert MailThread.objects.count() == 1


@time_machine.travel(NOW, tick=False)
def test_the_same_message_id_twice_is_kept_as_a_duplicate_and_counted_once(
    engagement, address, manager
):
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test")
    first = receive(raw, envelope_to=[address])
    again = receive(raw, envelope_to=[address])
    assert again.status == Status.DUPLICATE
    assert again.duplicate_of == first
    assert "same Message-ID" in again.reason
    assert Interaction.objects.filter(source=Source.EMAIL).count() == 1


def test_mail_to_an_unknown_address_is_kept_with_a_reason(org):
    message = receive(
        mail(sender="x@y.test", to="e-0000@in.vendorwatch.test"), envelope_to=["nobody@else.test"]
    )
    assert message.status == Status.REFUSED
    assert message.org is None
    assert "unknown address" in message.reason
    assert InboundMessage.unscoped.filter(pk=message.pk, raw__isnull=False).exists()


def test_mail_when_capture_is_not_configured_is_refused_with_that_reason(
    settings, address, manager
):
    settings.MAIL_INBOUND_DOMAIN = ""
    message = receive(mail(sender=manager.user.email, to="a@b.test"), envelope_to=[address])
    assert message.status == Status.REFUSED
    assert "not configured" in message.reason


def test_capture_is_off_until_switched_on(engagement, manager):
    capture_off = capture.set_capture(engagement=engagement, enabled=False)
    message = receive(
        mail(sender=manager.user.email, to="anna@studio-nord.test"),
        envelope_to=[capture.capture_address(capture_off.token)],
    )
    assert message.status == Status.TRIAGE
    assert "capture is off" in message.reason
    assert not Interaction.objects.filter(source=Source.EMAIL).exists()


def test_a_fifty_megabyte_message_is_refused_but_its_headers_are_kept(address, manager):
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Huge", body="x")
    raw = raw + b"A" * (50 * 1024 * 1024)
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.REFUSED
    assert "50.0 MB, over the 25 MB limit" in message.reason
    assert message.subject == "Huge"
    assert message.raw is None and message.raw_size > 50 * 1024 * 1024


def test_malformed_mime_gets_a_reason_not_an_error(address):
    raw = b"This is not\x00 an e-mail at all\r\n\r\n\xff\xfe"
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.REFUSED
    assert message.reason


def test_a_mail_loop_is_refused(address, manager):
    raw = mail(sender=manager.user.email, to="anna@studio-nord.test")
    raw = b"".join(b"Received: from relay%d by relay%d\r\n" % (i, i + 1) for i in range(30)) + raw
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.REFUSED
    assert message.reason.startswith("mail loop")


@pytest.mark.parametrize(
    "headers, subject",
    [
        ({"Auto-Submitted": "auto-replied"}, "Re: Spec"),
        ({"Precedence": "bulk"}, "Newsletter"),
        ({}, "Out of Office: back on Monday"),
        ({}, "Automatic reply: Spec"),
    ],
)
def test_auto_replies_are_kept_but_are_not_contact(address, contact, headers, subject):
    message = receive(
        mail(sender=contact.email, to="manager@acme.test", subject=subject, headers=headers),
        envelope_to=[address],
    )
    assert message.status == Status.AUTO_REPLY
    assert message.interaction is None
    assert not OpenQuestion.objects.exists()


@time_machine.travel(NOW, tick=False)
def test_html_with_script_is_kept_raw_and_read_as_text_without_the_script(address, contact):
    raw = (
        b"From: anna@studio-nord.test\r\nTo: manager@acme.test\r\nSubject: Hi\r\n"
        b"Message-ID: <html@mail.test>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b"<p>Hello <b>team</b></p><script>alert('x')</script><p>&lt;tag&gt; ok</p>"
    )
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.ROUTED
    assert "alert(" not in message.new_text
    assert "Hello team" in message.new_text
    assert "<tag> ok" in message.new_text  # shown escaped by the templates, not dropped
    assert b"<script>" in bytes(message.raw)


def test_headers_in_odd_encodings_are_decoded(address, contact):
    raw = (
        b"From: =?iso-8859-1?q?J=F6rg_M=FCller?= <anna@studio-nord.test>\r\n"
        b"To: manager@acme.test\r\n"
        b"Subject: =?windows-1252?q?Pr=FCfung_=96_Angebot?= =?x-unknown?q?=FF?=\r\n"
        b"Message-ID: <odd@mail.test>\r\n"
        b"Content-Type: text/plain; charset=x-made-up\r\n\r\n"
        b"Gr\xfc\xdfe\r\n"
    )
    message = receive(raw, envelope_to=[address])
    assert message.status == Status.ROUTED, message.reason
    assert message.from_name == "Jörg Müller"
    assert message.subject.startswith("Prüfung \u2013 Angebot")
    assert message.new_text.startswith("Gr")


@time_machine.travel(NOW, tick=False)
def test_attachments_follow_the_upload_rules(address, contact):
    raw = mail(
        sender=contact.email,
        to="manager@acme.test",
        attachments=[
            ("spec.pdf", b"%PDF-1.7\n...", "application/pdf"),
            ("invoice.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"),
        ],
    )
    message = receive(raw, envelope_to=[address])
    assert [a.name for a in message.attachments.all()] == ["spec.pdf"]
    assert message.attachments_refused[0]["name"] == "invoice.pdf"
    assert "not an allowed type" in message.attachments_refused[0]["reason"]


@time_machine.travel(NOW, tick=False)
def test_metadata_only_keeps_no_body_raw_or_attachments(org, address, contact):
    settings_row = capture.org_settings(org)
    settings_row.metadata_only = True
    settings_row.save()
    raw = mail(
        sender=contact.email,
        to="manager@acme.test",
        body="Secret pricing inside",
        attachments=[("spec.pdf", b"%PDF-1.7\n...", "application/pdf")],
    )
    message = receive(raw, envelope_to=[address])
    message.refresh_from_db()
    assert message.status == Status.ROUTED
    assert message.raw is None and message.new_text == ""
    assert "Secret" not in message.interaction.notes
    assert not message.attachments.exists()


# --- the organization address and triage ------------------------------------------------------


@pytest.fixture
def org_address(org) -> str:
    return capture.capture_address(capture.org_settings(org).token, prefix="o")


@time_machine.travel(NOW, tick=False)
def test_org_address_routes_by_the_vendors_contacts_and_domain(
    org_address, capture_on, engagement, manager
):
    by_contact = receive(
        mail(sender="anna@studio-nord.test", to=manager.user.email), envelope_to=[org_address]
    )
    assert by_contact.status == Status.ROUTED and by_contact.engagement == engagement
    by_domain = receive(
        mail(sender="ben@studio-nord.test", to=manager.user.email), envelope_to=[org_address]
    )
    assert by_domain.status == Status.ROUTED
    assert by_domain.direction == Direction.VENDOR_TO_US


@time_machine.travel(NOW, tick=False)
def test_ambiguous_mail_lands_in_triage_and_the_choice_teaches_the_matcher(
    org, org_address, capture_on, engagement, manager
):
    raw = mail(sender="pat@freelancer.test", to=manager.user.email, at=NOW - timedelta(hours=1))
    message = receive(raw, envelope_to=[org_address])
    assert message.status == Status.TRIAGE
    assert "no participant" in message.reason
    capture.assign_message(message=message, engagement=engagement, by=manager.user)
    message.refresh_from_db()
    assert message.status == Status.ROUTED and message.interaction is not None
    assert AddressRule.objects.get(address="pat@freelancer.test").engagement == engagement
    later = receive(
        mail(sender="pat@freelancer.test", to=manager.user.email), envelope_to=[org_address]
    )
    assert later.status == Status.ROUTED and later.engagement == engagement


@time_machine.travel(NOW, tick=False)
def test_ignoring_a_triaged_sender_ignores_their_next_mail(org_address, capture_on, manager):
    message = receive(
        mail(sender="sales@spam.test", to=manager.user.email), envelope_to=[org_address]
    )
    capture.ignore_message(message=message, by=manager.user)
    assert message.status == Status.IGNORED
    later = receive(
        mail(sender="sales@spam.test", to=manager.user.email), envelope_to=[org_address]
    )
    assert later.status == Status.IGNORED


@time_machine.travel(NOW, tick=False)
def test_two_capturing_engagements_with_the_same_vendor_are_ambiguous(
    org, org_address, capture_on, engagement, manager
):
    second = EngagementFactory(org=org, vendor=engagement.vendor, owner=manager.user)
    capture.set_capture(engagement=second, enabled=True)
    message = receive(
        mail(sender="anna@studio-nord.test", to=manager.user.email), envelope_to=[org_address]
    )
    assert message.status == Status.TRIAGE
    assert "several engagements" in message.reason


@time_machine.travel(NOW, tick=False)
def test_another_organizations_capture_address_never_routes_to_ours(
    other_org, address, engagement, manager
):
    message = receive(mail(sender=manager.user.email, to="x@y.test"), envelope_to=[address])
    assert message.org == engagement.org != other_org


# --- reprocessing and retention ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_reprocess_derives_again_without_doubling_interactions(address, manager):
    message = receive(
        mail(sender=manager.user.email, to="anna@studio-nord.test"), envelope_to=[address]
    )
    capture.reprocess(message=message)
    capture.reprocess(message=message)
    assert Interaction.objects.filter(source=Source.EMAIL).count() == 1
    message.refresh_from_db()
    assert message.status == Status.ROUTED and message.interaction is not None


def test_raw_mail_is_dropped_after_the_retention_period(org, address, manager):
    with time_machine.travel(NOW - timedelta(days=40), tick=False):
        old = receive(
            mail(sender=manager.user.email, to="a@studio-nord.test"), envelope_to=[address]
        )
    with time_machine.travel(NOW, tick=False):
        new = receive(
            mail(sender=manager.user.email, to="a@studio-nord.test"), envelope_to=[address]
        )
        config = capture.org_settings(org)
        config.retention_days = 30
        config.save()
        assert capture.purge_raw_mail() == 1
    assert InboundMessage.unscoped.get(pk=old.pk).raw is None
    assert InboundMessage.unscoped.get(pk=new.pk).raw is not None


@time_machine.travel(NOW, tick=False)
def test_a_closing_thanks_waits_for_no_answer_and_opens_no_question(address, manager):
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=NOW - timedelta(hours=9))
    receive(ours, envelope_to=[address])
    thanks = receive(
        mail(
            sender="anna@studio-nord.test",
            to=[manager.user.email, address],
            body="Thanks, will do!",
            at=NOW - timedelta(hours=8),
            in_reply_to=message_id_of(ours),
        )
    )
    thanks.interaction.refresh_from_db()
    assert thanks.interaction.outcome == Outcome.HELD
    assert not OpenQuestion.objects.filter(interaction=thanks.interaction).exists()
