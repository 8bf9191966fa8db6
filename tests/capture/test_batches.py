"""A batch of messages (an IMAP poll's chunk) goes through the pipeline in one transaction:
routing data read once, rows written in bulk, threads settled and engagements marked once.
The cost of a batch does not grow with its size, and nothing is lost or doubled."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounts.models import AuditEntry
from engagements.capture import services as capture
from engagements.capture.models import InboundMessage, MailThread
from engagements.delivery.models import Interaction, OpenQuestion, Outcome
from engagements.watch.models import WatchMark
from tests.capture.conftest import mail, message_id_of
from tests.factories import EngagementFactory, VendorContactFactory, VendorFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
Status = InboundMessage.Status


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def conversation(manager, contact_email: str, n: int, *, tag: str = "c") -> list[bytes]:
    """``n`` messages: ours, the vendor's reply to it, ours again..., an hour apart."""
    raws, parent = [], None
    for i in range(n):
        ours = i % 2 == 0
        raw = mail(
            sender=manager.user.email if ours else contact_email,
            to=contact_email if ours else manager.user.email,
            subject=f"Status {tag}" if i == 0 else f"Re: Status {tag}",
            body=f"Update {i}: where are we with the wizard?",
            at=NOW - timedelta(hours=n - i),
            message_id=f"<{tag}-{i}@mail.test>",
            in_reply_to=parent,
        )
        raws.append(raw)
        parent = f"<{tag}-{i}@mail.test>"
    return raws


def batch(org, raws: list[bytes]) -> list[InboundMessage]:
    items = [capture.Incoming(raw=raw, via="imap") for raw in raws]
    return capture.receive_many(items, org=org)


# The batch's transaction (BEGIN/COMMIT; a savepoint inside the test's own); reads: the stored
# messages the batch repeats or answers, the addresses triage taught, who is who (members,
# vendor contacts and websites, learned vendors: one UNION), the capturing engagements, the
# settings; bulk INSERTs:
# threads, interactions, questions, messages, audit entries; settling: the threads' messages,
# then one UPDATE for the answered interactions and one for their questions; one mark for the
# watcher per batch (an upsert; on PostgreSQL after a share-lock probe).
def batch_queries() -> int:
    ContentType.objects.get_for_models(Interaction, OpenQuestion)  # a per-process cache
    return 15 + (2 if connection.vendor == "postgresql" else 1)


@pytest.mark.parametrize("n", [4, 40])
def test_a_batch_costs_the_same_queries_for_four_messages_or_forty(
    org, manager, vendor, n, django_assert_num_queries
):
    # Forty messages over ten engagements (ten vendors, ten threads of four), or one thread.
    raws = []
    for i in range(n // 4):
        v = vendor if i == 0 else VendorFactory(org=org, name=f"Vendor {i}")
        VendorContactFactory(vendor=v, email=f"pm@vendor{i}.test")
        e = EngagementFactory(org=org, vendor=v, owner=manager.user)
        capture.set_capture(engagement=e, enabled=True)
        raws += conversation(manager, f"pm@vendor{i}.test", 4, tag=f"v{i}")
    capture.org_settings(org)  # created once per organization, not per batch
    with django_assert_num_queries(batch_queries()):
        messages = batch(org, raws)
    assert [m.status for m in messages] == [Status.ROUTED] * n, [m.reason for m in messages]
    assert Interaction.objects.count() == n
    assert MailThread.objects.count() == n // 4
    # Every interaction but the last of each thread is answered; audited like a typed one.
    assert Interaction.objects.filter(outcome=Outcome.ANSWERED).count() == n - n // 4
    assert AuditEntry.objects.filter(content_type__model="interaction").count() == n
    assert WatchMark.objects.count() == n // 4


@pytest.mark.parametrize("n", [10, 100])
def test_a_long_thread_in_one_batch_costs_no_more_queries(
    org, manager, contact, engagement, capture_on, n, django_assert_num_queries
):
    capture.org_settings(org)
    with django_assert_num_queries(batch_queries()):
        batch(org, conversation(manager, contact.email, n))
    assert Interaction.objects.filter(outcome=Outcome.ANSWERED).count() == n - 1


def test_a_reply_earlier_in_the_batch_than_its_parent_still_joins_and_answers_it(
    org, manager, contact, engagement, capture_on
):
    ours, reply = conversation(manager, contact.email, 2)
    first, second = batch(org, [reply, ours])
    assert first.status == second.status == Status.ROUTED
    assert first.thread_id == second.thread_id
    ours_interaction = Interaction.objects.get(pk=second.interaction_id)
    assert ours_interaction.outcome == Outcome.ANSWERED
    assert ours_interaction.response_hours == 1


def test_a_reply_to_mail_of_an_earlier_poll_joins_its_thread(
    org, manager, contact, engagement, capture_on
):
    ours, reply = conversation(manager, contact.email, 2)
    (first,) = batch(org, [ours])
    (second,) = batch(org, [reply])
    assert second.thread_id == first.thread_id
    first.interaction.refresh_from_db()
    assert first.interaction.outcome == Outcome.ANSWERED
    assert OpenQuestion.objects.get(interaction=second.interaction).answered_at is None


def test_the_same_message_twice_in_a_batch_is_kept_once_and_once_as_its_duplicate(
    org, manager, contact, engagement, capture_on
):
    (ours,) = conversation(manager, contact.email, 1)
    first, again = batch(org, [ours, ours])
    assert (first.status, again.status) == (Status.ROUTED, Status.DUPLICATE)
    assert again.duplicate_of_id == first.pk and again.raw is None
    assert Interaction.objects.count() == 1


def test_a_message_stored_meanwhile_by_another_receiver_is_not_lost_nor_doubled(
    org, manager, contact, engagement, address, monkeypatch
):
    """The batch did not see the other receiver's copy (it arrived after the batch read), so
    the unique constraint refuses the batch; it is received again message by message, and the
    loser is kept as a duplicate while the rest of the batch is stored."""
    ours, reply = conversation(manager, contact.email, 2)
    other = capture.receive(raw=reply, via="smtp", envelope_to=[address])  # the other receiver
    assert other.status == Status.ROUTED
    real = capture.Batch.prefetch
    calls = []

    def blind_first_time(self, rows):
        calls.append(1)
        if len(calls) > 1:
            real(self, rows)

    monkeypatch.setattr(capture.Batch, "prefetch", blind_first_time)
    first, second = batch(org, [ours, reply])
    assert first.status == Status.ROUTED
    assert second.status == Status.DUPLICATE and second.duplicate_of_id == other.pk
    assert InboundMessage.objects.filter(message_id=message_id_of(reply)[1:-1]).count() == 2
    assert Interaction.objects.count() == 2


def test_a_failing_batch_stores_nothing_and_the_poll_can_read_it_again(
    org, manager, contact, engagement, capture_on, monkeypatch
):
    raws = conversation(manager, contact.email, 4)

    def broken(self):
        raise RuntimeError("disk full")

    monkeypatch.setattr(capture.Batch, "flush", broken)
    with pytest.raises(RuntimeError):
        batch(org, raws)
    assert not InboundMessage.objects.exists() and not Interaction.objects.exists()
    monkeypatch.undo()
    assert [m.status for m in batch(org, raws)] == [Status.ROUTED] * 4
