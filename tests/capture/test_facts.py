"""Captured mail feeds the warning-sign rules through the facts the watcher already reads."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engagements.capture import services as capture
from engagements.watch import facts, rules
from tests.capture.conftest import mail, message_id_of

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def kinds(engagement, at):
    f = facts.collect(at=at, engagement_ids=[engagement.pk])[engagement.pk]
    return {s.kind: s for s in rules.signals(f, at)}


def test_our_mail_left_unanswered_past_the_window_is_missed_contact_until_the_reply(
    engagement, address, manager
):
    engagement.response_window_hours = 48
    engagement.contact_cadence_days = 30
    engagement.save()
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=T0)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        capture.receive(raw=ours, via="smtp", envelope_to=[address])
    within = T0 + timedelta(hours=47)
    assert "missed_contact" not in kinds(engagement, within)
    past = T0 + timedelta(days=4)
    signal = kinds(engagement, past)["missed_contact"]
    assert "1 message of ours unanswered" in signal.evidence
    reply_at = T0 + timedelta(days=4, hours=1)
    with time_machine.travel(reply_at + timedelta(minutes=1), tick=False):
        capture.receive(
            raw=mail(
                sender="anna@studio-nord.test",
                to=[manager.user.email, address],
                at=reply_at,
                in_reply_to=message_id_of(ours),
            ),
            via="smtp",
        )
    assert "missed_contact" not in kinds(engagement, reply_at + timedelta(hours=2))


def test_a_vendor_mail_we_leave_unanswered_is_our_side_slipping(engagement, address, manager):
    engagement.response_window_hours = 24
    engagement.save()
    theirs = mail(sender="anna@studio-nord.test", to=[manager.user.email, address], at=T0)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        capture.receive(raw=theirs, via="smtp")
    signal = kinds(engagement, T0 + timedelta(days=3))["our_side_slipping"]
    assert "1 vendor question unanswered by us" in signal.evidence
    with time_machine.travel(T0 + timedelta(days=3), tick=False):
        capture.receive(
            raw=mail(
                sender=manager.user.email,
                to="anna@studio-nord.test",
                cc=address,
                at=T0 + timedelta(days=3),
                in_reply_to=message_id_of(theirs),
            ),
            via="smtp",
        )
    assert "our_side_slipping" not in kinds(engagement, T0 + timedelta(days=3, hours=1))


def test_an_out_of_office_reply_does_not_count_as_the_vendors_answer(engagement, address, manager):
    engagement.response_window_hours = 24
    engagement.contact_cadence_days = 30
    engagement.save()
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", at=T0)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        capture.receive(raw=ours, via="smtp", envelope_to=[address])
        capture.receive(
            raw=mail(
                sender="anna@studio-nord.test",
                to=[manager.user.email, address],
                subject="Automatic reply: Spec",
                headers={"Auto-Submitted": "auto-replied"},
                in_reply_to=message_id_of(ours),
                at=T0 + timedelta(minutes=30),
            ),
            via="smtp",
        )
    assert "missed_contact" in kinds(engagement, T0 + timedelta(days=3))
