"""A throwaway dovecot (Debian's dovecot-imapd) for the IMAP tests and bench/mail.py: its own
configuration in a temporary folder, on a free port of 127.0.0.1, started and stopped by the
caller, so it works on a laptop as in CI."""

import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

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
    with running_dovecot() as address:
        yield address


@contextmanager
def running_dovecot():
    """Start a dovecot in a temporary folder; (host, port) while the block runs."""
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
        raise RuntimeError("dovecot did not start")
    if process.poll() is not None:
        log = (tmp / "dovecot.log").read_text() if (tmp / "dovecot.log").exists() else ""
        raise RuntimeError(f"dovecot exited: {process.stderr.read().decode()} {log}")
    yield "127.0.0.1", port
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
