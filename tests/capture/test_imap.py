"""IMAP polling against a real IMAP server: Debian's dovecot, started by the test itself with a
throwaway configuration in a temporary folder on a free port, and stopped after."""

import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from imap_tools import MailBoxUnencrypted

from engagements.capture import imap
from engagements.capture.models import InboundMessage, MailboxCursor
from engagements.delivery.models import Interaction, Source
from tests.capture.conftest import mail, message_id_of
from tests.conftest import need

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "vendors@acme.test", "imap-test-password"

CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{tmp}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {tmp}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/mail/%n
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def dovecot():
    """A dovecot of our own on 127.0.0.1:<free port>; yields (host, port)."""
    need(Path(DOVECOT).exists(), "dovecot is not installed (apt-get install dovecot-imapd)")
    # Not pytest's tmp_path: dovecot's own users (auth, mail) must be able to reach it.
    tmp = Path(tempfile.mkdtemp(prefix="vw-dovecot-"))
    tmp.chmod(0o755)
    try:
        yield from _run_dovecot(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run_dovecot(tmp: Path):
    nobody = pwd.getpwnam("nobody")
    (tmp / "mail").mkdir()
    shutil.chown(tmp / "mail", nobody.pw_uid, nobody.pw_gid)
    (tmp / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    conf = tmp / "dovecot.conf"
    conf.write_text(CONFIG.format(tmp=tmp, port=port, uid=nobody.pw_uid, gid=nobody.pw_gid))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    else:
        process.terminate()
        pytest.fail("dovecot did not start")
    if process.poll() is not None:
        log = (tmp / "dovecot.log").read_text() if (tmp / "dovecot.log").exists() else ""
        pytest.fail(f"dovecot exited: {process.stderr.read().decode()} {log}")
    yield "127.0.0.1", port
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


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
