"""Benchmark of code-forge webhooks: signed GitHub deliveries per second through gunicorn,
with the steady sweep keeping up.

    createdb -h 127.0.0.1 -U postgres vw_h18a
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/vw_h18a \\
        .venv/bin/python bench/forges.py [--deliveries 6000] [--clients 8] [--workers 2]

Sets up an organization with ``--engagements`` active engagements, each with its own GitHub
repository mapped and a deliverable rule, and a GitHub connection. Starts gunicorn (production
settings, ``--workers`` sync workers) and, beside it, one process running the steady sweep
(``watch.services.sweep_marked``: the marks each delivery leaves, every ``--tick`` seconds, as
beat runs it every WATCH_DIRTY_SECONDS). ``--clients`` threads then POST pre-signed push and
pull-request payloads (the shapes GitHub sends, each with its own ``X-GitHub-Delivery``),
round-robin over the repositories. Reported: deliveries/s, latency p50/p95/p99, the oldest
mark's age while the load ran (the watcher's lag) and how long the marks took to drain after
it, and the load average (the machine may be shared). Every answer must be 200."""

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import SERVER_ENV, setup_django  # noqa: E402

PUSH = json.loads((ROOT / "tests/forges/payloads/github_push.json").read_text())
PULL = json.loads((ROOT / "tests/forges/payloads/github_pull_request_opened.json").read_text())


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else 0.0


def set_up(engagements: int):
    """The bench organization: engagements with a repository and a rule each (idempotent)."""
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import Membership, Organization, Role, User
    from engagements.delivery import services as delivery
    from engagements.delivery.models import Engagement
    from engagements.forges import services as forges
    from engagements.forges.models import ForgeConnection, ForgeRepository
    from vendors.models import Vendor

    org, _ = Organization.objects.get_or_create(
        slug="forge-bench", defaults={"name": "Forge bench"}
    )
    user = User.objects.filter(email="forge-bench@buyer.test").first() or User.objects.create_user(
        "forge-bench@buyer.test", "x"
    )
    Membership.objects.get_or_create(org=org, user=user, defaults={"role": Role.MANAGER})
    vendor, _ = Vendor.objects.get_or_create(org=org, name="Bench studio")
    today = timezone.localdate()
    repos = []
    for i in range(engagements):
        title = f"Forge bench {i}"
        e = Engagement.objects.filter(org=org, title=title).first()
        if e is None:
            e = Engagement.objects.create(
                org=org, vendor=vendor, owner=user, title=title, budget=10000, currency="EUR",
                start_date=today - timedelta(days=30), target_end_date=today + timedelta(days=90),
                status="active", activated_at=timezone.now() - timedelta(days=30),
            )  # fmt: skip
            milestone = delivery.add_milestone(
                engagement=e, title="M1", due_date=today + timedelta(days=60)
            )
            d = delivery.add_deliverable(
                engagement=e, milestone=milestone, by=user, title="Reports",
                due_date=today + timedelta(days=50), acceptance_criteria="Numbers match.",
            )  # fmt: skip
            delivery.transition_deliverable(deliverable=d, to="in_progress", by=user)
            forges.add_activity_rule(
                engagement=e, by=user, deliverable=d, match="branch", pattern="reports/*"
            )
        repo = f"bench-vendor/repo-{i}"
        if not ForgeRepository.objects.filter(org=org, forge="github", repository=repo).exists():
            forges.map_repository(engagement=e, by=user, forge="github", repository=repo)
        repos.append(repo)
    connection = ForgeConnection.objects.filter(org=org, forge="github", revoked_at=None).first()
    if connection is None:
        connection = forges.create_connection(org=org, by=user, forge="github", name="Bench")
    from engagements.watch import services as watch

    watch.sweep(
        at=timezone.now(),
        engagement_ids=list(Engagement.objects.filter(org=org).values_list("pk", flat=True)),
    )
    from engagements.watch.models import WatchMark

    WatchMark.objects.all().delete()
    return connection, repos


def requests(connection, repos: list[str], count: int) -> list[tuple[bytes, dict]]:
    """Pre-signed deliveries: pushes on a report branch and pull requests opened, round-robin."""
    out = []
    for n in range(count):
        event, body = ("push", dict(PUSH)) if n % 3 else ("pull_request", dict(PULL))
        body["repository"] = {**body["repository"], "full_name": repos[n % len(repos)]}
        raw = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": "sha256="
            + hmac.new(connection.secret.encode(), raw, hashlib.sha256).hexdigest(),
        }
        out.append((raw, headers))
    return out


def watcher(stop, tick: float, out) -> None:
    """The steady sweep in its own process, as beat and a worker would run it."""
    setup_django()
    from accounts.tenancy import all_organizations
    from engagements.watch import services as watch

    evaluated = 0
    with all_organizations():
        while not stop.is_set():
            started = time.monotonic()
            while (step := watch.sweep_marked()).claimed:
                evaluated += step.claimed
            time.sleep(max(0.0, tick - (time.monotonic() - started)))
        while (step := watch.sweep_marked()).claimed:
            evaluated += step.claimed
    out.put(evaluated)


def backlog_sampler(stop: threading.Event, ages: list[float], marked: list[int]) -> None:
    from django.db import connection
    from django.utils import timezone

    from engagements.watch import marks

    while not stop.is_set():
        b = marks.backlog(timezone.now())
        ages.append(b.oldest_seconds or 0.0)
        marked.append(b.marked)
        time.sleep(0.25)
    connection.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=6000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engagements", type=int, default=200)
    parser.add_argument("--tick", type=float, default=1.0, help="seconds between steady sweeps")
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    from accounts.tenancy import all_organizations
    from engagements.forges.models import ForgeDelivery

    with all_organizations():
        conn, repos = set_up(args.engagements)
        batch = requests(conn, repos, args.deliveries)
        before = ForgeDelivery.unscoped.filter(connection=conn, status="routed").count()
    connection.close()
    port = free_port()
    env = {**os.environ, **SERVER_ENV}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "outsourcing.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning", "--backlog", "2048"],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    stop = multiprocessing.Event()
    results = multiprocessing.Queue()
    sweeper = multiprocessing.Process(target=watcher, args=(stop, args.tick, results))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        path = f"/forges/hooks/github/{conn.token}/"
        # Warm up each worker (imports, the first database connection).
        for raw, headers in requests(conn, repos, 4 * args.workers):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", path, raw, headers)
            c.getresponse().read()
            c.close()
        sweeper.start()
        print(f"{args.deliveries} deliveries, {args.clients} clients, {args.workers} gunicorn "
              f"workers, {len(repos)} engagements; database {connection.vendor}; {load()}")  # fmt: skip
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        chunks = [batch[i :: args.clients] for i in range(args.clients)]

        def client(items):
            mine, codes = [], {}
            for raw, headers in items:
                t0 = time.perf_counter()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", path, raw, headers)
                response = c.getresponse()
                response.read()
                c.close()
                mine.append(time.perf_counter() - t0)
                codes[response.status] = codes.get(response.status, 0) + 1
            with lock:
                latencies.extend(mine)
                for k, v in codes.items():
                    statuses[k] = statuses.get(k, 0) + v

        # The trivial view through the same server and clients: what this machine gives now.
        def ping(n):
            for _ in range(n):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("GET", "/healthz")
                c.getresponse().read()
                c.close()

        probe = max(200, args.deliveries // 4)
        t0 = time.perf_counter()
        pingers = [
            threading.Thread(target=ping, args=(probe // args.clients,))
            for _ in range(args.clients)
        ]
        for t in pingers:
            t.start()
        for t in pingers:
            t.join()
        healthz = (probe // args.clients * args.clients) / (time.perf_counter() - t0)
        ages: list[float] = []
        marked: list[int] = []
        sample_stop = threading.Event()
        sampler = threading.Thread(target=backlog_sampler, args=(sample_stop, ages, marked))
        sampler.start()
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        during_load = load()
        drain_started = time.perf_counter()
        while True:
            from django.utils import timezone

            from engagements.watch import marks

            if (
                marks.backlog(timezone.now()).marked == 0
                or time.perf_counter() - drain_started > 120
            ):
                break
            time.sleep(0.1)
        drained = time.perf_counter() - drain_started
        sample_stop.set()
        sampler.join()
        stop.set()
        sweeper.join(timeout=120)
        evaluated = results.get(timeout=5) if not results.empty() else 0
        with all_organizations():
            routed = (
                ForgeDelivery.unscoped.filter(connection=conn, status="routed").count() - before
            )
        ms = [x * 1000 for x in latencies]
        print(f"\nwebhook deliveries: {len(ms)} in {elapsed:.1f} s = {len(ms) / elapsed:.0f}/s "
              f"(target ≥ 300/s); answers {statuses}; routed {routed}")  # fmt: skip
        print(f"  /healthz through the same server and clients just before: {healthz:.0f}/s "
              f"(deliveries at {len(ms) / elapsed / healthz:.0%} of the trivial view)")  # fmt: skip
        print(f"  latency: p50 {statistics.median(ms):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
              f"p99 {percentile(ms, 99):.1f} ms")  # fmt: skip
        print(f"  watcher: {evaluated} evaluations by the steady sweep (tick {args.tick} s); "
              f"oldest mark while loading p95 {percentile(ages, 95):.1f} s, max {max(ages, default=0):.1f} s; "
              f"marked engagements max {max(marked, default=0)}; drained {drained:.1f} s after the load")  # fmt: skip
        print(f"  {during_load} (at the end of the load)")
        return 0 if set(statuses) == {200} else 1
    finally:
        stop.set()
        if sweeper.is_alive():
            sweeper.terminate()
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
