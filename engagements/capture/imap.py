"""The IMAP poller (imap-tools): a shared "vendors@" mailbox read into the capture pipeline.

Idempotent across polls: a cursor per mailbox folder remembers the last UID read (with the
folder's UIDVALIDITY), and the pipeline itself is idempotent on Message-ID, so a poll that
died half-way or a cursor that was reset never makes a second interaction. Messages are
read without setting \\Seen, so people using the same mailbox see them as before.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from imap_tools import AND, MailBox, MailBoxUnencrypted, U

from accounts.models import Organization
from engagements.capture import services
from engagements.capture.models import MailboxCursor

SAVE_EVERY = 50  # cursor writes: after this many messages, so a crash re-reads at most these


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
        validity = int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])
        if validity != cursor.uid_validity:
            cursor.uid_validity, cursor.last_uid = validity, 0
        criteria = AND(uid=U(cursor.last_uid + 1, "*"))
        for msg in box.fetch(criteria, mark_seen=False, bulk=batch):
            uid = int(msg.uid or 0)
            if uid <= cursor.last_uid:
                continue  # "n:*" always matches the newest message, even when it is older
            message = services.receive(raw=msg.obj.as_bytes(), via="imap", org=org)
            result.read += 1
            result.statuses[message.status] = result.statuses.get(message.status, 0) + 1
            cursor.last_uid = uid
            if result.read % SAVE_EVERY == 0:
                cursor.save(update_fields=["uid_validity", "last_uid"])
    cursor.polled_at = timezone.now()
    cursor.save(update_fields=["uid_validity", "last_uid", "polled_at"])
    return result


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
