"""Writes at ingest speed: interactions through the API while the watcher keeps up.

    python bench/ingest.py [--clients 8] [--duration 10] [--port 8766] [--workers 2] [--probes 20]

Starts gunicorn (production settings, ``--workers`` sync workers) and one Celery worker with
an embedded beat (the steady sweep every WATCH_DIRTY_SECONDS) against DATABASE_URL and
REDIS_URL, then, with wrk from loopback in the same run:

1. ``/healthz`` (the trivial view) and ``POST /api/v1/engagements/ID/interactions`` (one
   engagement, a held call with a comfort rating) at ``--clients`` connections;
2. the watcher's lag under that write load: ``--probes`` writes that each tip a healthy
   engagement to "watch" (we missed a meeting), one every half second while wrk writes; for
   each, from the API's answer to its health row re-evaluated, and to its alert's
   notification queued in the outbox (p50/p95).

Prints the load average beside the figures (the machine may be shared) and a Markdown table.
Needs wrk (apt-get install wrk), PostgreSQL and Redis; exits non-zero on any error response.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import LUA, SERVER_ENV, setup_django, wrk  # noqa: E402

POST_LUA = """
wrk.method = "POST"
wrk.body = '{"channel": "call", "direction": "we_to_vendor", "outcome": "held", "comfort": 4}'
wrk.headers["Content-Type"] = "application/json"
"""


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f}"


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def set_up(probes: int):
    """A measured organization with a write token, its busiest engagement, and ``probes``
    healthy engagements in a probe organization with an e-mail channel (already evaluated)."""
    from django.db.models import Count
    from django.utils import timezone

    from accounts.models import Membership, Organization, Role, TokenScope, User
    from accounts.services import create_api_token
    from engagements.alerts import services as alerts
    from engagements.models import Engagement, EngagementStatus, Interaction, Outcome
    from engagements.watch import services as watch
    from vendors.models import Vendor, VendorStatus

    top = (
        Engagement.unscoped.filter(status=EngagementStatus.ACTIVE)
        .values("org")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if top is None:
        raise SystemExit("no active engagement: run manage.py seed_scale first")
    org = Organization.objects.get(pk=top["org"])
    user = Membership.objects.filter(org=org, role=Role.OWNER).first().user
    _, token = create_api_token(org=org, user=user, name="ingest bench", scope=TokenScope.WRITE)
    target = Engagement.unscoped.filter(org=org, status=EngagementStatus.ACTIVE).first()

    now = timezone.now()
    stamp = f"{now:%Y%m%d%H%M%S}"
    probe_org = Organization.objects.create(name=f"Ingest probes {stamp}", slug=f"probes-{stamp}")
    owner = User.objects.create(email=f"probe-owner-{stamp}@ingest.test")
    Membership.objects.create(org=probe_org, user=owner, role=Role.OWNER)
    _, probe_token = create_api_token(
        org=probe_org, user=owner, name="probes", scope=TokenScope.WRITE
    )
    vendor = Vendor.unscoped.create(org=probe_org, name="Probe vendor", status=VendorStatus.ACTIVE)
    alerts.create_channel(org=probe_org, kind="email", name="Probe mail")
    start = now.date() - timedelta(days=3)
    engagements = Engagement.unscoped.bulk_create(
        [
            Engagement(
                org=probe_org,
                vendor=vendor,
                owner=owner,
                title=f"Probe {i}",
                goal="g",
                definition_of_done="d",
                budget=100000,
                currency="EUR",
                start_date=start,
                target_end_date=start + timedelta(days=180),
                status=EngagementStatus.ACTIVE,
                activated_at=now - timedelta(days=3),
            )
            for i in range(probes)
        ]
    )
    Interaction.unscoped.bulk_create(
        [
            Interaction(
                org=probe_org,
                engagement=e,
                occurred_at=now - timedelta(days=1),
                channel="call",
                direction="we_to_vendor",
                outcome=Outcome.HELD,
                comfort=4,
            )
            for e in engagements
        ]
    )
    watch.sweep(at=now, engagement_ids=[e.pk for e in engagements])  # healthy, evaluated
    return target.pk, token, [e.pk for e in engagements], probe_token


def post(url: str, token: str, body: dict) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 201:
            raise SystemExit(f"a probe write answered {response.status}")


def probe(base: str, token: str, ids: list[int], out: dict, stop_after: float) -> None:
    """One tipping write per probe engagement, every half second, while polling the database
    every 50 ms for each one's re-evaluation and notification."""
    from engagements.models import EngagementHealth, Notification

    sent: dict[int, float] = {}
    health: dict[int, float] = {}
    notified: dict[int, float] = {}
    waiting = list(ids)
    next_write = time.monotonic()
    deadline = time.monotonic() + len(ids) * 0.5 + stop_after
    while (len(health) < len(ids) or len(notified) < len(ids)) and time.monotonic() < deadline:
        if waiting and time.monotonic() >= next_write:
            pk = waiting.pop(0)
            post(
                f"{base}/api/v1/engagements/{pk}/interactions",
                token,
                {"channel": "meeting", "direction": "we_to_vendor", "outcome": "we_no_show"},
            )
            sent[pk] = time.monotonic()
            next_write += 0.5
        now = time.monotonic()
        for pk in EngagementHealth.unscoped.filter(
            engagement_id__in=[p for p in sent if p not in health], level="watch"
        ).values_list("engagement_id", flat=True):
            health[pk] = now - sent[pk]
        for pk in Notification.unscoped.filter(
            alert__engagement_id__in=[p for p in sent if p not in notified]
        ).values_list("alert__engagement_id", flat=True):
            notified[pk] = now - sent[pk]
        time.sleep(0.05)
    out["health"], out["notified"], out["probes"] = (
        list(health.values()),
        list(notified.values()),
        len(ids),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probes", type=int, default=20)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    setup_django()
    from accounts.tenancy import all_organizations

    with all_organizations():
        return measure(args)


def measure(args) -> int:
    from django.conf import settings
    from django.db import connection

    target, token, probes, probe_token = set_up(args.probes)
    connection.close()  # the server and the worker get the database to themselves
    env = {**os.environ, **SERVER_ENV}
    base = f"http://127.0.0.1:{args.port}"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    tmp = Path(tempfile.mkdtemp(prefix="ingest-"))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "outsourcing.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "outsourcing",
            "worker",
            "--beat",
            f"--schedule={tmp / 'beat-schedule'}",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env={**env, "EMAIL_BACKEND": "file", "EMAIL_FILE_PATH": str(tmp / "mail")},
        stdout=open(tmp / "worker.log", "w"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    rows, errors = [], 0
    lag: dict = {}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        time.sleep(3)  # the worker is ready and beat has ticked
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as get_lua:
            get_lua.write(LUA)
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as post_lua:
            post_lua.write(POST_LUA + LUA)
        write_url = f"{base}/api/v1/engagements/{target}/interactions"
        auth = [f"Authorization: Bearer {token}", "X-Forwarded-Proto: https"]
        # Warm up: each worker process opens its connection and loads its code once.
        wrk(base + "/healthz", args.workers, 2, [], get_lua.name)
        wrk(write_url, args.workers, 2, auth, post_lua.name)
        trivial = wrk(base + "/healthz", args.clients, args.duration, [], get_lua.name)
        rows.append(("trivial view (/healthz)", trivial, load()))
        prober = threading.Thread(
            target=probe, args=(base, probe_token, probes, lag, 60), daemon=True
        )
        prober.start()
        writes = wrk(write_url, args.clients, args.duration, auth, post_lua.name)
        rows.append(("POST interactions (API), worker running", writes, load()))
        prober.join()
        errors = sum(r["errors"] + r["non2xx"] for _, r, _ in rows)
    finally:
        for process in (server, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker):
            process.wait(timeout=30)

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\nMachine: {os.cpu_count()} cores (shared); {database}; gunicorn {args.workers} sync "
        f"workers; one Celery worker with beat (steady sweep every "
        f"{settings.WATCH_DIRTY_SECONDS} s); wrk {args.clients} connections, {args.duration} s.\n"
    )
    print("| figure | p50 ms | p95 ms | p99 ms | req/s | errors | load average |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, r, avg in rows:
        print(
            f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['rps']:.0f} | "
            f"{r['errors'] + r['non2xx']} | {avg.removeprefix('load average ')} |"
        )
    health, notified = lag.get("health", []), lag.get("notified", [])
    print(
        f"\nWatcher lag under that load ({len(health)}/{lag.get('probes', 0)} re-evaluated, "
        f"{len(notified)}/{lag.get('probes', 0)} notified; {load()}):"
    )
    for label, values in (
        ("write → health updated", health),
        ("write → notification queued", notified),
    ):
        if values:
            print(
                f"  {label}: p50 {statistics.median(values):.2f} s, p95 {percentile(values, 95):.2f} s, "
                f"max {max(values):.2f} s"
            )
    missing = len(health) < lag.get("probes", 0) or len(notified) < lag.get("probes", 0)
    return 1 if errors or missing else 0


if __name__ == "__main__":
    sys.exit(main())
