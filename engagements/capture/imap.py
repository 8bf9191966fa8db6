"""The IMAP poller (imap-tools): a shared "vendors@" mailbox read into the capture pipeline.

Idempotent across polls: a cursor per mailbox folder remembers the last UID read (with the
folder's UIDVALIDITY), and the pipeline itself is idempotent on Message-ID, so a poll that
died half-way or a cursor that was reset never makes a second interaction. Messages are
read without setting \\Seen, so people using the same mailbox see them as before.

Messages go to the pipeline in batches of ``BATCH`` (``services.receive_many``: one
transaction, routing data read once, rows written in bulk); the cursor moves past a batch
only once that batch has committed, so a crash re-reads at most one batch, which the
Message-ID makes harmless.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage, U

from accounts.models import Organization
from engagements.capture import services
from engagements.capture.models import MailboxCursor

BATCH = 100  # messages per transaction (and per cursor write)


class RawMessage(MailMessage):
    """imap-tools' message as the server sent it: the bytes and the UID, not parsed into an
    ``email.message`` and serialised again (the pipeline parses each message once; that
    round trip cost more than the pipeline itself, and could alter the bytes we keep)."""

    def __init__(self, fetch_data: list) -> None:
        raw, uid_data, flag_data = self._get_message_data_parts(fetch_data)
        self._raw_uid_data, self._raw_flag_data = uid_data, flag_data
        self.raw = raw


@dataclass
class PollResult:
    read: int = 0
    statuses: dict[str, int] | None = None


def poll_mailbox(
    *,
    org: Organization,
    host: str,
    user: str,
    password: str,
    port: int = 993,
    folder: str = "INBOX",
    ssl: bool = True,
    batch: int = 200,
    timeout: int = 30,
) -> PollResult:
    """Read the messages that arrived since the last poll into ``org``'s capture."""
    key = f"{user}@{host}:{port}/{folder}"[:400]
    cursor, _ = MailboxCursor.unscoped.get_or_create(org=org, mailbox=key)
    box_class = MailBox if ssl else MailBoxUnencrypted
    result = PollResult(statuses={})
    with box_class(host, port, timeout=timeout).login(user, password, initial_folder=folder) as box:
        box.email_message_class = RawMessage
        validity = int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        if validity != cursor.uid_validity:
            cursor.uid_validity, cursor.last_uid = validity, 0
        criteria = AND(uid=U(cursor.last_uid + 1, "*"))
        pending: list[tuple[int, bytes]] = []
        for msg in box.fetch(criteria, mark_seen=False, bulk=batch):
            uid = int(msg.uid or 0)
            if uid <= cursor.last_uid:
                continue  # "n:*" always matches the newest message, even when it is older
            pending.append((uid, msg.raw))
            if len(pending) >= BATCH:
                _receive(org, cursor, pending, result)
                pending = []
        _receive(org, cursor, pending, result)
    cursor.polled_at = timezone.now()
    cursor.save(update_fields=["uid_validity", "last_uid", "polled_at"])
    return result


def _receive(org, cursor: MailboxCursor, pending: list[tuple[int, bytes]], result) -> None:
    """One batch into the pipeline; then the cursor moves past it (the batch has committed)."""
    if not pending:
        return
    messages = services.receive_many(
        [services.Incoming(raw=raw, via="imap") for _uid, raw in pending], org=org
    )
    for message in messages:
        result.statuses[message.status] = result.statuses.get(message.status, 0) + 1
    result.read += len(messages)
    cursor.last_uid = pending[-1][0]
    cursor.save(update_fields=["uid_validity", "last_uid"])


def poll_configured() -> PollResult | None:
    """Poll the mailbox of the IMAP_* settings (None when IMAP_HOST is not set)."""
    if not settings.IMAP_HOST:
        return None
    org = Organization.objects.get(slug=settings.IMAP_ORG)
    return poll_mailbox(
        org=org,
        host=settings.IMAP_HOST,
        port=settings.IMAP_PORT,
        user=settings.IMAP_USER,
        password=settings.IMAP_PASSWORD,
        folder=settings.IMAP_FOLDER,
        ssl=settings.IMAP_SSL,
    )
