"""Calendar in (invites in captured mail → meetings, confirmed in one click) and out (a
member's secret, revocable iCalendar feed)."""

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import urlsplit

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from engagements.capture import calendar
from engagements.capture import services as capture
from engagements.capture.models import InboundMessage, Meeting
from engagements.delivery.models import Interaction, OpenQuestion, Outcome, Source
from engagements.watch import facts
from tests.factories import DeliverableFactory, MilestoneFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def invite(sender, to, *, method="REQUEST", uid="kickoff-1", sequence=0, start="20261112T100000Z"):
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n"
        f"METHOD:{method}\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:{sequence}\r\n"
        f"DTSTAMP:20261110T080000Z\r\nDTSTART:{start}\r\nDTEND:{start[:9]}110000Z\r\n"
        "SUMMARY:Sprint review\r\n"
        f"{'STATUS:CANCELLED' if method == 'CANCEL' else ''}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    ).replace("\r\n\r\n", "\r\n")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, "Invitation: Sprint review"
    msg["Message-ID"] = make_msgid(domain="mail.test")
    msg.set_content("You are invited.")
    msg.add_attachment(
        ics.encode(), maintype="text", subtype="calendar", filename="invite.ics",
        params={"method": method},
    )  # fmt: skip
    return msg.as_bytes()


@time_machine.travel(NOW, tick=False)
def test_an_invite_becomes_a_scheduled_meeting_and_a_reschedule_moves_it(
    engagement, address, manager
):
    capture.receive(
        raw=invite(manager.user.email, "anna@studio-nord.test"), via="smtp", envelope_to=[address]
    )
    meeting = Meeting.objects.get()
    assert meeting.state == "scheduled"
    assert meeting.starts_at == datetime(2026, 11, 12, 10, 0, tzinfo=UTC)
    capture.receive(
        raw=invite(
            manager.user.email, "anna@studio-nord.test", sequence=1, start="20261113T100000Z"
        ),
        via="smtp",
        envelope_to=[address],
    )
    meeting.refresh_from_db()
    assert meeting.starts_at == datetime(2026, 11, 13, 10, 0, tzinfo=UTC)
    capture.receive(
        raw=invite(manager.user.email, "anna@studio-nord.test", method="CANCEL", sequence=2),
        via="smtp",
        envelope_to=[address],
    )
    meeting.refresh_from_db()
    assert meeting.state == "cancelled"
    assert Meeting.objects.count() == 1


def test_an_unconfirmed_meeting_is_not_contact_until_confirmed_held(engagement, address, manager):
    with time_machine.travel(NOW, tick=False):
        capture.receive(
            raw=invite(manager.user.email, "anna@studio-nord.test"),
            via="smtp",
            envelope_to=[address],
        )
    meeting = Meeting.objects.get()
    after = datetime(2026, 11, 15, 9, 0, tzinfo=UTC)
    f = facts.collect(at=after, engagement_ids=[engagement.pk])[engagement.pk]
    held_before = f.last_two_way_at
    assert not Interaction.objects.filter(source=Source.CALENDAR).exists()
    with time_machine.travel(after, tick=False):
        assert calendar.is_nagging(meeting)  # three days after the start, still unconfirmed
        response = manager.client().post(
            reverse("engagements:meeting_confirm", args=[meeting.pk]), {"state": "held"}
        )
    assert response.status_code == 302
    interaction = Interaction.objects.get(source=Source.CALENDAR)
    assert interaction.outcome == Outcome.HELD
    assert interaction.occurred_at == meeting.starts_at
    f = facts.collect(at=after, engagement_ids=[engagement.pk])[engagement.pk]
    assert f.last_two_way_at == meeting.starts_at != held_before


def test_a_vendor_no_show_counts_and_a_meeting_is_confirmed_once(engagement, address, manager):
    with time_machine.travel(NOW, tick=False):
        capture.receive(
            raw=invite(manager.user.email, "anna@studio-nord.test"),
            via="smtp",
            envelope_to=[address],
        )
    meeting = Meeting.objects.get()
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        calendar.confirm_meeting(meeting=meeting, state="vendor_no_show", by=manager.user)
        with pytest.raises(Exception, match="already confirmed"):
            calendar.confirm_meeting(meeting=meeting, state="held", by=manager.user)
    assert Interaction.objects.get(source=Source.CALENDAR).outcome == Outcome.VENDOR_NO_SHOW


def test_a_meeting_cannot_be_confirmed_before_it_starts(engagement, address, manager):
    with time_machine.travel(NOW, tick=False):
        capture.receive(
            raw=invite(manager.user.email, "anna@studio-nord.test"),
            via="smtp",
            envelope_to=[address],
        )
        with pytest.raises(Exception, match="not started"):
            calendar.confirm_meeting(meeting=Meeting.objects.get(), state="held", by=manager.user)


def test_the_feed_lists_due_dates_and_stops_when_revoked(org, engagement, viewer):
    milestone = MilestoneFactory(engagement=engagement, title="Beta")
    DeliverableFactory(milestone=milestone, title="Wizard front end")
    page = viewer.client().post(reverse("engagements:calendar_feed_create"))
    assert page.status_code == 200
    url = page.context["new_url"]
    path = urlsplit(url).path
    response = Client().get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    summaries = {str(e["SUMMARY"]) for e in Calendar.from_ical(response.content).walk("VEVENT")}
    assert "Milestone: Beta (Onboarding revamp)" in summaries
    assert "Due: Wizard front end (Onboarding revamp)" in summaries
    assert "Check-in due: Onboarding revamp" in summaries
    feed = page.context["feeds"][0]
    revoke = reverse("engagements:calendar_feed_revoke", args=[feed.pk])
    asked = viewer.client().post(revoke)
    assert "Revoke this calendar feed?" in asked.content.decode()
    assert Client().get(path).status_code == 200  # nothing revoked by one click
    viewer.client().post(revoke, {"confirm": "yes"})
    assert Client().get(path).status_code == 404


def test_a_wrong_feed_token_is_a_404(db):
    assert Client().get(reverse("engagements:calendar_feed", args=["nope"])).status_code == 404


def attendee_reply(sender, to, *, uid="kickoff-1", partstat="ACCEPTED", text=None):
    """What a calendar app mails when its user answers an invite: a new message (no
    In-Reply-To), METHOD:REPLY, and generated words that may read like a question."""
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Other calendar//EN\r\nMETHOD:REPLY\r\n"
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20261110T120000Z\r\n"
        "DTSTART:20261112T100000Z\r\nSUMMARY:Sprint review\r\n"
        f"ATTENDEE;PARTSTAT={partstat}:mailto:{sender}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    msg = EmailMessage()
    msg["From"], msg["To"] = sender, to
    msg["Subject"] = f"{partstat.title()}: Sprint review"
    msg["Message-ID"] = make_msgid(domain="studio-nord.test")
    msg.set_content(text or f"Anna Berg has {partstat.lower()} this invitation. Going?")
    msg.add_attachment(
        ics.encode(), maintype="text", subtype="calendar", filename="reply.ics",
        params={"method": "REPLY"},
    )  # fmt: skip
    return msg.as_bytes()


def test_a_vendor_accepting_our_invite_answers_it_and_asks_us_nothing(engagement, address, manager):
    with time_machine.travel(NOW, tick=False):
        capture.receive(
            raw=invite(manager.user.email, "anna@studio-nord.test"),
            via="smtp",
            envelope_to=[address],
        )
    ours = Interaction.objects.get(engagement=engagement)
    assert ours.outcome == Outcome.UNANSWERED
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        capture.receive(
            raw=attendee_reply("anna@studio-nord.test", address), via="smtp", envelope_to=[address]
        )
    ours.refresh_from_db()
    assert (ours.outcome, ours.response_hours) == (Outcome.ANSWERED, 3)
    assert not OpenQuestion.objects.filter(engagement=engagement).exists()  # "Going?" asks nothing
    threads = set(InboundMessage.objects.values_list("thread_id", flat=True))
    assert len(threads) == 1  # the answer joined the invite's thread by the event's UID
    later = NOW + timedelta(days=5)
    f = facts.collect(at=later, engagement_ids=[engagement.pk])[engagement.pk]
    assert f.unanswered_ours == 0


def test_an_answer_about_an_event_we_never_sent_is_kept_but_asks_us_nothing(
    engagement, address, manager
):
    with time_machine.travel(NOW, tick=False):
        capture.receive(
            raw=attendee_reply(
                "anna@studio-nord.test", address, uid="someone-elses", partstat="DECLINED"
            ),
            via="smtp",
            envelope_to=[address],
        )
    message = InboundMessage.objects.get()
    assert message.status == "routed" and message.interaction is not None
    assert not OpenQuestion.objects.filter(engagement=engagement).exists()
    assert not Meeting.objects.exists()


def test_an_invite_and_its_answer_imported_together_are_one_thread(engagement, address, manager):
    """A mailbox imported at once (IMAP) has both in one batch, before the meeting exists."""
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        capture.receive_many(
            [
                capture.Incoming(
                    raw=invite(manager.user.email, "anna@studio-nord.test"),
                    via="imap",
                    envelope_to=[address],
                ),
                capture.Incoming(
                    raw=attendee_reply("anna@studio-nord.test", address),
                    via="imap",
                    envelope_to=[address],
                ),
            ]
        )
    assert len(set(InboundMessage.objects.values_list("thread_id", flat=True))) == 1
    ours = Interaction.objects.get(engagement=engagement, direction="we_to_vendor")
    assert ours.outcome == Outcome.ANSWERED
    assert not OpenQuestion.objects.filter(engagement=engagement).exists()
