"""Benchmark of mail capture: SMTP ingest, provider webhooks and an IMAP mailbox import.

Every message goes the whole way: parsed, routed to one of the capturing engagements,
threaded, an interaction written, the thread settled, the engagement marked for the watcher.
The SMTP receiver and the webhooks answer once the raw bytes are queued (one INSERT); a real
Celery worker (a `celery worker` process on REDIS_URL's Redis, else a worker thread on an
in-memory broker) drains the queue in batches. The IMAP poller stores batches of 100 itself.

Printed per way in: how fast mail is accepted, when the queue was empty again, and the lag
from acceptance to the interaction written (p50/p95). A steady sweep runs beside, as beat
would (every WATCH_DIRTY_SECONDS), and the watcher's lag is from acceptance to the end of
the first sweep that started after the message's interaction was written.

    createdb -h 127.0.0.1 -U postgres vw_s
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_s REDIS_URL=redis://127.0.0.1:6379/11 \\
        .venv/bin/python bench/mail.py --smtp 2000 --webhook 2000 --imap 10000

Needs dovecot for the IMAP part (apt-get install dovecot-imapd); --imap 0 skips it.
"""

import argparse
import base64
import json
import os
import smtplib
import socket
import statistics
import subprocess
import sys
import threading
import time
from bisect import bisect_right
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
os.environ.setdefault("MAIL_INBOUND_DOMAIN", "in.bench.test")
os.environ.setdefault("MAIL_WEBHOOK_SECRET", "bench:secret")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from imap_tools import MailBoxUnencrypted  # noqa: E402

from accounts.models import Membership, Organization, Role, User  # noqa: E402
from accounts.tenancy import all_organizations  # noqa: E402
from engagements.capture import imap, services, smtp  # noqa: E402
from engagements.capture.models import InboundMessage, QueuedMail  # noqa: E402
from engagements.delivery.models import Engagement  # noqa: E402
from engagements.watch import services as watch  # noqa: E402
from outsourcing.celery import app  # noqa: E402
from vendors.models import Vendor, VendorContact  # noqa: E402

ENGAGEMENTS = 50


def world():
    org, _ = Organization.objects.get_or_create(slug="mail-bench", defaults={"name": "Mail bench"})
    user = User.objects.filter(email="bench@buyer.test").first() or User.objects.create_user(
        "bench@buyer.test", "x"
    )
    Membership.objects.get_or_create(org=org, user=user, defaults={"role": Role.MANAGER})
    engagements = []
    for i in range(ENGAGEMENTS):
        vendor, _ = Vendor.objects.get_or_create(org=org, name=f"Bench vendor {i}")
        VendorContact.objects.get_or_create(
            org=org, vendor=vendor, email=f"pm@vendor{i}.test", defaults={"name": f"PM {i}"}
        )
        e = Engagement.objects.filter(org=org, title=f"Bench engagement {i}").first()
        if e is None:
            today = timezone.localdate()
            e = Engagement.objects.create(
                org=org, vendor=vendor, owner=user, title=f"Bench engagement {i}",
                budget=10000, currency="EUR", start_date=today, target_end_date=today,
                status="active",
            )  # fmt: skip
        engagements.append((e, services.set_capture(engagement=e, enabled=True)))
    return org, user, engagements


def message(run: str, n: int, engagements, user) -> tuple[bytes, str]:
    # Pairs: our message (even n), then the vendor's reply to it (odd n), same engagement.
    i = (n // 2) % len(engagements)
    _e, cap = engagements[i]
    ours = n % 2 == 0
    parent = "" if ours else f"<{run}-{n - 1}@bench>"
    sender, to = (user.email, f"pm@vendor{i}.test") if ours else (f"pm@vendor{i}.test", user.email)
    raw = (
        f"From: {sender}\r\nTo: {to}\r\nSubject: Status {n}\r\nMessage-ID: <{run}-{n}@bench>\r\n"
        + (f"In-Reply-To: {parent}\r\nReferences: {parent}\r\n" if parent else "")
        + f"Date: {timezone.now():%a, %d %b %Y %H:%M:%S +0000}\r\n"
        + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        + f"Update number {n}.\r\n\r\nOn Monday you wrote:\r\n> earlier text\r\n"
    ).encode()
    return raw, services.capture_address(cap.token)


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def report(name: str, count: int, seconds: float, target: str) -> None:
    print(
        f"{name}: {count} messages accepted in {seconds:.1f} s = {count / seconds:.0f}/s "
        f"(target {target}); {load()}"
    )


class Sweeper:
    """The steady sweep as beat runs it (every WATCH_DIRTY_SECONDS) over the bench's
    engagements; remembers when each pass started and ended."""

    def __init__(self, engagement_ids: list[int]) -> None:
        self.ids, self.passes = engagement_ids, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            with all_organizations():
                while not self._stop.is_set():
                    started = timezone.now()
                    while watch.sweep_marked(within=self.ids).more:
                        pass
                    self.passes.append((started, timezone.now()))
                    self._stop.wait(settings.WATCH_DIRTY_SECONDS)
        finally:
            close_old_connections()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def evaluated(self, written) -> object | None:
        """The end of the first pass that started after ``written`` (None: not yet)."""
        starts = [start for start, _end in self.passes]
        i = bisect_right(starts, written)
        return self.passes[i][1] if i < len(self.passes) else None


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    if not values:
        return "n/a"
    return f"p50 {statistics.median(values):.2f} s, p95 {values[int(len(values) * 0.95)]:.2f} s"


def lag(run: str, sweeper: Sweeper, started: float, timeout: float = 600) -> None:
    """Wait for the queue to empty, then print the lag of this run's messages from acceptance
    to their interaction written, and to the watcher's sweep after it."""
    deadline = time.monotonic() + timeout
    while QueuedMail.objects.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    drained = time.perf_counter() - started
    rows = list(
        InboundMessage.objects.filter(message_id__startswith=f"{run}-").values_list(
            "received_at", "interaction__created_at", "status"
        )
    )
    written = [(r, c) for r, c, _s in rows if c is not None]
    # The watcher's pass that covers the last messages may still be to come.
    while written and sweeper.evaluated(max(c for _r, c in written)) is None:
        time.sleep(0.2)
    watched = [(sweeper.evaluated(c) - r).total_seconds() for r, c in written]
    print(
        f"  stored: {len(written)} of {len(rows)} routed to an interaction; queue empty after "
        f"{drained:.1f} s ({len(rows) / drained:.0f}/s end to end)"
    )
    print(
        f"  lag acceptance → interaction: {percentiles([(c - r).total_seconds() for r, c in written])}"
    )
    print(f"  lag acceptance → watcher's pass: {percentiles(watched)} (target p95 ≤ 10 s)")


def bench_smtp(count: int, clients: int, engagements, user, sweeper) -> None:
    port = _free_port()
    receiver = smtp.controller("127.0.0.1", port)
    receiver.start()
    run = f"smtp{int(time.time())}"
    per = [list(range(c, count, clients)) for c in range(clients)]

    def client(numbers):
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            for n in numbers:
                raw, address = message(run, n, engagements, user)
                s.sendmail(user.email, [address], raw)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(numbers,)) for numbers in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report(f"SMTP ({clients} clients)", count, time.perf_counter() - started, "≥ 100/s")
    receiver.stop()
    lag(run, sweeper, started)


def bench_webhook(count: int, clients: int, engagements, user, sweeper) -> None:
    auth = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"bench:secret").decode()}
    run = f"hook{int(time.time())}"
    times = []

    def post(numbers):
        client = Client()  # one per thread: each thread has its own database connection
        try:
            for n in numbers:
                raw, address = message(run, n, engagements, user)
                t0 = time.perf_counter()
                response = client.post(
                    "/mail/inbound/sendgrid/",
                    {
                        "email": raw.decode(),
                        "to": address,
                        "envelope": json.dumps({"to": [address], "from": user.email}),
                    },
                    **auth,
                )
                times.append(time.perf_counter() - t0)
                assert response.status_code == 200, response.status_code
        finally:
            close_old_connections()

    # Each client posts whole pairs (our message, then its reply), so no reply races its parent.
    pairs = [list(range(p, min(p + 2, count))) for p in range(0, count, 2)]
    per = [[n for pair in pairs[c::clients] for n in pair] for c in range(clients)]
    started = time.perf_counter()
    if clients == 1:
        post(per[0])
    else:
        threads = [threading.Thread(target=post, args=(numbers,)) for numbers in per]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    report(
        f"webhook (SendGrid, {clients} client{'s' if clients > 1 else ''})",
        count,
        time.perf_counter() - started,
        "≥ 200/s",
    )
    times.sort()
    print(f"  per request: median {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms")  # fmt: skip
    lag(run, sweeper, started)


def bench_imap(count: int, org, engagements, user, sweeper) -> None:
    from tests.capture.dovecot import PASSWORD, USER, running_dovecot

    run = f"imap{int(time.time())}"
    with running_dovecot() as (host, port):
        started = time.perf_counter()
        with MailBoxUnencrypted(host, port).login(USER, PASSWORD) as box:
            for n in range(count):
                raw, _ = message(run, n, engagements, user)
                box.append(raw, "INBOX", dt=None, flag_set=())
        print(
            f"IMAP: filled the mailbox with {count} messages in {time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        result = imap.poll_mailbox(
            org=org, host=host, port=port, user=USER, password=PASSWORD, ssl=False
        )
        seconds = time.perf_counter() - started
        print(f"IMAP import: {result.read} messages in {seconds:.1f} s = {result.read / seconds:.0f}/s "
              f"(target {count} in ≤ 60 s); {load()}")  # fmt: skip
        lag(run, sweeper, started)
        started = time.perf_counter()
        again = imap.poll_mailbox(
            org=org, host=host, port=port, user=USER, password=PASSWORD, ssl=False
        )
        print(f"  second poll: {again.read} new in {time.perf_counter() - started:.2f} s")


@contextmanager
def worker():
    """A Celery worker draining the queue: its own process on Redis (as in production), else
    a thread of this process on an in-memory broker."""
    if settings.CELERY_BROKER_URL.startswith("redis"):
        app.control.purge()  # tasks a crashed earlier run left behind
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "outsourcing", "worker",
             "-P", "solo", "-c", "1", "-l", "warning", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=Path(__file__).resolve().parent.parent,
        )  # fmt: skip
        time.sleep(3)  # until it listens (a task sent before waits in Redis anyway)
        print(f"worker: a celery process (pid {proc.pid}) on {settings.CELERY_BROKER_URL}")
        try:
            yield
        finally:
            proc.terminate()
            proc.wait(30)
    else:
        from celery.contrib.testing.worker import start_worker

        app.conf.broker_url = "memory://"
        app.conf.broker_transport_options = {}
        print(
            "worker: a thread of this process on an in-memory broker (set REDIS_URL for a process)"
        )
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False):
            yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--smtp", type=int, default=2000)
    parser.add_argument("--smtp-clients", type=int, default=4)
    parser.add_argument("--webhook", type=int, default=2000)
    parser.add_argument("--webhook-clients", type=int, default=1)
    parser.add_argument("--imap", type=int, default=10000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    with all_organizations():
        org, user, engagements = world()
        ids = [e.pk for e, _ in engagements]
        print(f"database: {connection.vendor}; {len(engagements)} capturing engagements; {load()}")
        with worker(), Sweeper(ids) as sweeper:
            if args.smtp:
                bench_smtp(args.smtp, args.smtp_clients, engagements, user, sweeper)
                close_old_connections()
            if args.webhook:
                bench_webhook(args.webhook, args.webhook_clients, engagements, user, sweeper)
            if args.imap:
                bench_imap(args.imap, org, engagements, user, sweeper)
        started = time.perf_counter()
        swept = watch.sweep(at=timezone.now(), engagement_ids=ids)
        print(f"watcher: a full pass over the {swept.engagements} engagements the mail touched "
              f"in {time.perf_counter() - started:.2f} s")  # fmt: skip
        print(f"stored messages in the bench organization: "
              f"{InboundMessage.objects.filter(org=org).count()}; {load()}")  # fmt: skip


if __name__ == "__main__":
    main()
