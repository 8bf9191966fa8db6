"""IMAP polling against a real IMAP server: Debian's dovecot, started by the test itself with a
throwaway configuration in a temporary folder on a free port, and stopped after."""

import pytest
from imap_tools import MailBoxUnencrypted

from engagements.capture import imap
from engagements.capture.models import InboundMessage, MailboxCursor
from engagements.delivery.models import Interaction, Source
from tests.capture.conftest import mail, message_id_of
from tests.capture.dovecot import PASSWORD, USER


def append(host: str, port: int, *raws: bytes) -> None:
    with MailBoxUnencrypted(host, port).login(USER, PASSWORD) as box:
        for raw in raws:
            box.append(raw, "INBOX", dt=None, flag_set=())


def poll(org, host, port):
    return imap.poll_mailbox(org=org, host=host, port=port, user=USER, password=PASSWORD, ssl=False)


@pytest.mark.django_db
def test_the_shared_mailbox_is_imported_and_a_second_poll_adds_nothing(
    dovecot, org, engagement, capture_on, manager
):
    host, port = dovecot
    ours = mail(sender=manager.user.email, to="anna@studio-nord.test", subject="Weekly status")
    reply = mail(
        sender="anna@studio-nord.test",
        to=manager.user.email,
        subject="Re: Weekly status",
        in_reply_to=message_id_of(ours),
    )
    stranger = mail(sender="sales@elsewhere.test", to=USER, subject="Hello")
    append(host, port, ours, reply, stranger)

    first = poll(org, host, port)
    assert first.read == 3
    assert first.statuses == {"routed": 2, "triage": 1}
    assert Interaction.objects.filter(source=Source.EMAIL, engagement=engagement).count() == 2
    assert InboundMessage.objects.filter(via="imap").count() == 3

    again = poll(org, host, port)
    assert again.read == 0
    assert InboundMessage.objects.count() == 3

    append(host, port, mail(sender="anna@studio-nord.test", to=manager.user.email))
    assert poll(org, host, port).read == 1
    # Nothing was marked read for the people who use the same mailbox.
    with MailBoxUnencrypted(host, port).login(USER, PASSWORD) as box:
        assert all("\\Seen" not in m.flags for m in box.fetch(mark_seen=False))


@pytest.mark.django_db
def test_a_reset_cursor_reads_again_without_a_second_interaction(
    dovecot, org, engagement, capture_on, manager
):
    host, port = dovecot
    append(host, port, mail(sender=manager.user.email, to="anna@studio-nord.test"))
    poll(org, host, port)
    MailboxCursor.objects.update(last_uid=0)
    poll(org, host, port)
    assert Interaction.objects.filter(source=Source.EMAIL).count() == 1
    assert InboundMessage.objects.filter(status="duplicate").count() == 1


@pytest.mark.django_db
def test_a_wrong_password_fails_loudly(dovecot, org):
    host, port = dovecot
    with pytest.raises(Exception, match=r"(?i)auth|login"):
        imap.poll_mailbox(org=org, host=host, port=port, user=USER, password="wrong", ssl=False)
