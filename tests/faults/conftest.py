"""Real processes for the fault tests: Celery workers and beats started as separate programs
on the test database and the test's Redis, e-mail written to files they share with the test,
webhook receivers on loopback, and a clean sweep's verdict to compare the outcome with.

Every process runs in its own process group and is stopped at teardown whatever happened,
and teardown waits until their database sessions are gone (pytest-django then empties or
drops the test database, which an orphaned session would block).
"""

import contextlib
import email
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Organization, User
from engagements.models import (
    Alert,
    AlertStatus,
    Engagement,
    EngagementHealth,
    EngagementStatus,
    Notification,
    SpendEntry,
)
from tests.conftest import wait_for
from tests.factories import OrganizationFactory, UserFactory, VendorFactory

ROOT = Path(settings.BASE_DIR)


def purge(broker: redis.Redis) -> None:
    """Drop every queued and unacknowledged task (kombu's Redis keys)."""
    queues = [key for key in broker.scan_iter("celery*") if not key.startswith(b"celery-task-meta")]
    broker.delete(*queues, "unacked", "unacked_index", "unacked_mutex")


@pytest.fixture
def empty_broker(fresh_broker_pool) -> redis.Redis:
    """Redis with no task left by an earlier test (other tests' sweeps enqueue a dispatch
    that nobody consumed; a worker started here would run it)."""
    broker = redis.Redis.from_url(fresh_broker_pool)
    purge(broker)
    return broker


def database_url(application_name: str) -> str:
    """The test database (not the configured one), named so its sessions can be found."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{quote(db['USER'])}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}?application_name={application_name}"
    )


def sessions(prefix: str) -> int:
    """Open PostgreSQL sessions of the processes whose application_name starts with ``prefix``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE %s",
            [f"{prefix}%"],
        )
        return cursor.fetchone()[0]


@dataclass
class Program:
    name: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (a prefork worker's main process and its children)."""
        if self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown (SIGTERM to the main process only: it lets its pool finish the
        running task), then SIGKILL to the group if that takes longer than 15 s."""
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        with contextlib.suppress(ProcessLookupError):  # children a killed main process left
            os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Celery:
    """Starts ``celery -A outsourcing …`` programs against the test database and Redis."""

    tmp_path: Path
    env: dict[str, str]
    prefix: str
    programs: list[Program] = field(default_factory=list)

    @property
    def mail_dir(self) -> Path:
        return self.tmp_path / "mail"

    def start(self, name: str, *args: str, **env: str) -> Program:
        log_path = self.tmp_path / f"{name}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "outsourcing", *args],
                cwd=ROOT,
                env={**self.env, "DATABASE_URL": database_url(f"{self.prefix}{name}"), **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: one killpg reaches the pool
            )
        program = Program(name, process, log_path)
        self.programs.append(program)
        return program

    def worker(self, name: str, *, concurrency: int = 1, **env: str) -> Program:
        """A prefork worker, started and ready to consume."""
        worker = self.start(
            name,
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=INFO",
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            **env,
        )
        wait_for(lambda: " ready." in worker.log() or not worker.alive(), timeout=60)
        assert worker.alive(), worker.log()
        return worker

    def beat(self, name: str, **env: str) -> Program:
        return self.start(
            name,
            "beat",
            "--loglevel=INFO",
            f"--schedule={self.tmp_path / name}-schedule",
            f"--pidfile={self.tmp_path / name}.pid",
            **env,
        )

    def kill(self, program: Program) -> None:
        """SIGKILL ``program`` and wait until PostgreSQL noticed: its sessions are gone and
        their open transactions rolled back."""
        program.kill()
        wait_for(lambda: sessions(self.prefix + program.name) == 0, timeout=30)

    def stop_all(self) -> None:
        for program in self.programs:
            program.stop()
            # Captured output: pytest shows it when the test failed.
            print(
                f"--- {program.name} (last lines) ---", *program.log().splitlines()[-30:], sep="\n"
            )
        wait_for(lambda: sessions(self.prefix) == 0, timeout=30)


@pytest.fixture
def celery_programs(empty_broker, postgres, tmp_path) -> Celery:
    """Real worker and beat processes on PostgreSQL (the test database must be a server the
    processes can reach); all stopped after the test, whatever happened."""
    (tmp_path / "var").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
        "DJANGO_ENV": "development",
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "VAR_DIR": str(tmp_path / "var"),
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "HEALTH_WEBHOOK_ALLOW_PRIVATE": "1",  # the receivers listen on loopback
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    celery = Celery(tmp_path, env, prefix=f"vw-faults-{os.getpid()}-")
    try:
        yield celery
    finally:
        celery.stop_all()


def sent_emails(folder: Path) -> list[Message]:
    """Every message the file e-mail backend wrote (one file per connection, messages split
    by a line of 79 dashes)."""
    messages = []
    for path in sorted(folder.glob("*")) if folder.exists() else []:
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk))
    return messages


class Receiver:
    """A webhook receiver on loopback, one thread per request. ``answer`` is the status it
    returns (with ``location`` as its Location header, if given); ``hang`` makes it read the
    request and then say nothing for that many seconds."""

    def __init__(self, answer: int = 204, hang: float = 0.0, location: str = ""):
        self.answer, self.hang, self.location = answer, hang, location
        self.keys: list[str] = []
        self.released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.keys.append(self.headers["Idempotency-Key"])
                if receiver.hang:
                    receiver.released.wait(receiver.hang)
                    return  # the client gave up long ago
                self.send_response(receiver.answer)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()

            do_GET = do_POST  # a followed redirect arrives as a GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    """Make webhook receivers; all closed after the test."""
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    try:
        yield make
    finally:
        for receiver in made:
            receiver.close()


# Days since activation: 0 is healthy; silence and nothing accepted for longer push the level
# through watch and warning; a large spend with nothing delivered adds cut-your-losses.
AGES = (0, 10, 20, 30, 45, 60, 90, 150)


def seed_engagements(
    *, n: int, watched: Organization, owner: User, watched_every: int
) -> list[int]:
    """Bulk-insert ``n`` active engagements (three in four troubled, at every level) in a few
    statements; every ``watched_every``-th belongs to ``watched`` (and is owned by its first
    ``owner``), the rest to an organization without channels that only makes the sweep long.
    Returns the ids of the watched ones."""
    now, today = timezone.now(), timezone.localdate()
    crowd = OrganizationFactory(name="Crowd")
    crowd_owner = UserFactory()
    vendors = {crowd.pk: VendorFactory(org=crowd), watched.pk: VendorFactory(org=watched)}
    rows = []
    for i in range(n):
        org = watched if i % watched_every == 0 else crowd
        days = AGES[i % len(AGES)]
        rows.append(
            Engagement(
                org=org,
                vendor=vendors[org.pk],
                owner=owner if org == watched else crowd_owner,
                title=f"Engagement {i}",
                goal="g",
                definition_of_done="d",
                budget=Decimal("100000"),
                currency="EUR",
                start_date=today - timedelta(days=days),
                target_end_date=today + timedelta(days=180 - days),
                status=EngagementStatus.ACTIVE,
                activated_at=now - timedelta(days=days),
            )
        )
    engagements = Engagement.unscoped.bulk_create(rows, batch_size=5000)
    SpendEntry.unscoped.bulk_create(
        [
            SpendEntry(
                org_id=e.org_id,
                engagement=e,
                date=today,
                amount=Decimal("90000"),
                currency="EUR",
                description="invoice",
            )
            for e in engagements[::3]
        ],
        batch_size=5000,
    )
    return [e.pk for e in engagements if e.org_id == watched.pk]


@dataclass
class Verdict:
    """What a sweep left: each engagement's level, its unresolved alert's level, and the
    notifications queued per (engagement, channel)."""

    levels: dict[int, str]
    alerts: dict[int, str]
    notifications: Counter


def verdict() -> Verdict:
    return Verdict(
        levels=dict(EngagementHealth.unscoped.values_list("engagement_id", "level")),
        alerts=dict(
            Alert.unscoped.exclude(status=AlertStatus.RESOLVED).values_list(
                "engagement_id", "level"
            )
        ),
        notifications=Counter(
            Notification.unscoped.values_list("alert__engagement_id", "channel_id")
        ),
    )


class _Rollback(Exception):
    pass


def clean_sweep_verdict() -> Verdict:
    """What one uninterrupted sweep would leave now: ``manage.py sweep_health`` inside a
    transaction that is rolled back, so the database is as before and nothing was sent."""
    try:
        with transaction.atomic():
            call_command("sweep_health", stdout=io.StringIO())
            reference = verdict()
            raise _Rollback
    except _Rollback:
        pass
    assert not Alert.unscoped.exists(), "the reference sweep was not rolled back"
    return reference


def wait_quietly(seconds: float) -> None:
    """A deliberate wait for something measured in wall-clock time (a broker timeout, a
    beat interval), where there is nothing to poll."""
    time.sleep(seconds)
