"""HTTP latency and throughput of the main pages, served as in production.

    python bench/load.py [--clients 1,8,32] [--duration 10] [--port 8765] [--workers 4]

Starts gunicorn with production settings (DJANGO_ENV=production, DEBUG off) against the
database in DATABASE_URL (PostgreSQL with `manage.py seed_scale` data for the published
figures), logs in as the owner of the largest organization, and loads each page with wrk
from loopback at each concurrency. Every figure is also given as a ratio to a trivial
view (/healthz) measured by the same server in the same run, so it holds on a noisy
machine. Prints a Markdown table (the README's) and exits non-zero on any error response.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LUA = """
done = function(summary, latency, requests)
  io.write(string.format('{"p50": %f, "p95": %f, "p99": %f, "requests": %d, "seconds": %f, "errors": %d, "non2xx": %d}\\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
"""


SERVER_ENV = {
    "DJANGO_ENV": "production",
    "DEBUG": "false",
    "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-" + "x" * 60,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "false",
    "SECURE_HSTS_SECONDS": "0",
    "API_RATE_LIMIT": "100000000/s",
    "LOG_LEVEL": "WARNING",
}


def setup_django() -> None:
    # The same settings as the server: the session signed here must verify there.
    os.environ.update(SERVER_ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outsourcing.settings")
    import django

    django.setup()


FRAGMENT = {"HX-Request": "true", "HX-Target": "dashboard-live"}  # what the 30 s poll sends


def headers_for(label: str) -> dict[str, str]:
    return FRAGMENT if "fragment" in label else {}


def pages(org) -> list[tuple[str, str]]:
    """(label, path) of the measured pages that exist in this build, for ``org``."""
    from django.urls import NoReverseMatch, reverse

    from engagements.models import Engagement

    engagement = Engagement.unscoped.filter(org=org).order_by("pk").first()
    wanted = [
        ("trivial view (/healthz)", "healthz", []),
        ("dashboard", "engagements:dashboard", []),
        ("dashboard refresh fragment", "engagements:dashboard", []),
        (
            "engagement page",
            "engagements:engagement_detail",
            [engagement.pk] if engagement else None,
        ),
        ("vendor list", "vendors:vendor_list", []),
        ("lessons search", "engagements:lesson_list", []),
        ("alert list API", "api:alert_list", []),
    ]
    out = []
    for label, name, args in wanted:
        if args is None:
            continue
        try:
            path = reverse(name, args=args)
        except NoReverseMatch:
            continue
        if name == "engagements:lesson_list":
            path += "?q=vendor"
        out.append((label, path))
    return out


def seed_lessons(org, count: int) -> None:
    """The lessons search needs lessons to search: bench/lessons.py's, in this organization."""
    from accounts.models import Membership, Role
    from engagements.models import Lesson

    if count and not Lesson.unscoped.filter(org=org).exists():
        from lessons import seed_into

        owner = Membership.objects.filter(org=org, role=Role.OWNER).first().user
        seed_into(org, count, owner)
        print(f"seeded {count} lessons into {org.slug}", file=sys.stderr)


def credentials(org) -> tuple[str, str]:
    """A session cookie and an API token of an owner of ``org`` (no password needed)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Membership, Role, TokenScope
    from accounts.services import create_api_token

    user = Membership.objects.filter(org=org, role=Role.OWNER).select_related("user").first().user
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session["org_id"] = org.pk
    session.create()
    _, token = create_api_token(org=org, user=user, name="bench", scope=TokenScope.READ)
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}", token


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def wrk(url: str, clients: int, seconds: int, headers: list[str], script: str) -> dict:
    cmd = [
        "wrk",
        "-t",
        str(min(clients, 2)),
        "-c",
        str(clients),
        "-d",
        f"{seconds}s",
        "--timeout",
        "10s",
        "-s",
        script,
    ]
    for header in headers:
        cmd += ["-H", header]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"] if result["seconds"] else 0.0
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,8,32")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--warmup", type=int, default=2, help="seconds of load per page first")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn's advice"
    )
    parser.add_argument(
        "--lessons",
        type=int,
        default=5000,
        help="published lessons to seed into the measured organization when it has none",
    )
    parser.add_argument(
        "--org", help="slug of the measured organization (default: the one with most engagements)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2

    setup_django()
    from accounts.tenancy import all_organizations

    with all_organizations():  # a benchmark sets up and reads every organization
        return measure(args)


def measure(args) -> int:
    from django.conf import settings
    from django.db.models import Count

    from accounts.models import Organization

    orgs = Organization.objects.annotate(n=Count("memberships"))
    if args.org:
        org = orgs.get(slug=args.org)
    else:
        from engagements.models import Engagement

        top = Engagement.unscoped.values("org").annotate(n=Count("id")).order_by("-n").first()
        org = Organization.objects.get(pk=top["org"]) if top else orgs.first()
    seed_lessons(org, args.lessons)
    cookie, token = credentials(org)
    measured = pages(org)

    env = {**os.environ, **SERVER_ENV}
    base = f"http://127.0.0.1:{args.port}"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
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
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        for label, path in measured:  # a page that answers with a redirect would measure nothing
            headers = (
                {"Authorization": f"Bearer {token}"}
                if path.startswith("/api/")
                else {"Cookie": cookie}
            )
            request = urllib.request.Request(
                base + path,
                headers={**headers, **headers_for(label), "X-Forwarded-Proto": "https"},
            )
            opener = urllib.request.build_opener(NoRedirect)
            status = opener.open(request, timeout=30).status
            if status != 200:
                raise SystemExit(f"{label} ({path}) answered {status}, not 200")
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(LUA)

        def headers_of(label: str, path: str) -> list[str]:
            return [
                f"Authorization: Bearer {token}"
                if path.startswith("/api/")
                else f"Cookie: {cookie}",
                "X-Forwarded-Proto: https",
                *(f"{k}: {v}" for k, v in headers_for(label).items()),
            ]

        # Warm up: every worker process compiles each page's templates and opens its database
        # connection once; a server in production is past that.
        for label, path in measured:
            wrk(base + path, args.workers, args.warmup, headers_of(label, path), f.name)
        rows, errors = [], 0
        for clients in [int(c) for c in args.clients.split(",")]:
            baseline = None
            for label, path in measured:
                headers = headers_of(label, path)
                result = wrk(base + path, clients, args.duration, headers, f.name)
                errors += result["errors"] + result["non2xx"]
                if baseline is None:
                    baseline = result
                rows.append((clients, label, result, baseline))
                print(
                    f"  {clients:>2} clients  {label:<28} p95 {result['p95']:7.1f} ms  {result['rps']:8.1f} req/s  errors {result['errors'] + result['non2xx']}",
                    file=sys.stderr,
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)

    from engagements.models import Engagement

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(
        f"\nMachine: {os.cpu_count()} cores; {database}; gunicorn {args.workers} sync workers; wrk {args.duration} s per cell; "
        f"organization '{org.slug}' with {Engagement.unscoped.filter(org=org).count():,} engagements "
        f"({Engagement.unscoped.count():,} overall).\n"
    )
    print("| clients | page | p50 ms | p95 ms | p99 ms | req/s | p95 / trivial | errors |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for clients, label, r, base_r in rows:
        ratio = r["p95"] / base_r["p95"] if base_r["p95"] else float("nan")
        print(
            f"| {clients} | {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['rps']:.0f} | {ratio:.1f}x | {r['errors'] + r['non2xx']} |"
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
