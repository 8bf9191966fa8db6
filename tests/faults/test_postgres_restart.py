"""PostgreSQL restarts under load: requests during the restart get a clean 503 page, and
the app recovers by itself (no restart of its processes). The test restarts the real
server and always makes sure it is running again."""

import glob
import shutil
import subprocess
import threading
import time

import pytest
from django.db import close_old_connections, connection
from django.test import Client

from tests.conftest import need, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _cluster() -> tuple[str, str] | None:
    versions = sorted(glob.glob("/etc/postgresql/*/main"))
    if not versions or not shutil.which("pg_ctlcluster"):
        return None
    return versions[-1].split("/")[3], "main"


def _ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"], check=False).returncode == 0


@pytest.fixture
def restartable_postgres(postgres):
    cluster = _cluster()
    need(
        cluster is not None and connection.settings_dict.get("HOST") in ("127.0.0.1", "localhost"),
        "needs the local PostgreSQL cluster",
    )
    version, name = cluster

    def restart() -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"],
            check=True,
            capture_output=True,
        )

    try:
        yield restart
    finally:
        if not _ready():
            subprocess.run(
                ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
                check=False,
                capture_output=True,
            )
        wait_for(_ready, timeout=60)


def test_requests_during_a_restart_fail_cleanly_and_the_app_recovers(restartable_postgres, manager):
    client = Client(raise_request_exception=False)  # answer like a server: the error page
    client.force_login(manager.user)
    assert client.get("/").status_code == 200
    codes: list[int] = []
    stop = threading.Event()

    def load() -> None:
        # Requests in a loop while the server restarts (the same process, the same connections).
        try:
            while not stop.is_set():
                close_old_connections()  # what Django's handler does at each request start
                codes.append(client.get("/").status_code)
                time.sleep(0.05)
        finally:
            connection.close()

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(0.5)
    restartable_postgres()
    wait_for(_ready, timeout=60)
    time.sleep(1.5)
    stop.set()
    worker.join(timeout=30)

    assert set(codes) <= {200, 503}, f"unexpected answers during the restart: {sorted(set(codes))}"
    assert 503 in codes or codes.count(200) == len(codes)
    # Django's test client skips the request-start hook that drops a dead connection; a real
    # server runs it on every request. Run it, as the server would, and the app is back.
    close_old_connections()
    recovered = client.get("/")
    assert recovered.status_code == 200
