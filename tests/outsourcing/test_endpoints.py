"""Liveness and readiness endpoints, settings from the environment, the error pages."""

import subprocess
import sys

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_log_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_watcherz_tells_an_uptime_monitor_when_the_watcher_stopped(client, owner, settings):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    from engagements.watch import services as watch
    from tests.factories import EngagementFactory

    assert client.get("/watcherz").status_code == 200  # nothing to watch yet
    EngagementFactory(org=owner.org, activated_at=timezone.now())
    never = client.get("/watcherz")
    assert never.status_code == 503 and never.json()["last_sweep_finished_at"] is None
    watch.sweep(at=timezone.now())
    fresh = client.get("/watcherz")
    assert fresh.status_code == 200 and fresh.json()["status"] == "ok"
    three_ticks = dt.timedelta(seconds=3 * settings.HEALTH_SWEEP_INTERVAL_SECONDS + 60)
    with time_machine.travel(timezone.now() + three_ticks):
        late = client.get("/watcherz")
    assert late.status_code == 503 and late.json()["status"] == "late"
    assert late.json()["last_sweep_finished_at"] == fresh.json()["last_sweep_finished_at"]


def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_readyz_reports_the_broker_down(client, dead_broker):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == "down"


def test_every_page_sends_a_strict_content_security_policy(manager):
    response = manager.client().get(reverse("engagements:dashboard"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def _settings_import(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import django; from django.conf import settings; settings.DEBUG"],
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "outsourcing.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"EMAIL_BACKEND": "smtp", "EMAIL_PORT": "twenty-five"}, "EMAIL_PORT"),
        ({"DJANGO_ENV": "production", "ALLOWED_HOSTS": "x.example"}, "SECRET_KEY"),
        ({"DJANGO_ENV": "staging"}, "DJANGO_ENV"),
    ],
)
def test_malformed_environment_refuses_to_start_naming_the_variable(env, named, tmp_path):
    result = _settings_import({"VAR_DIR": str(tmp_path), **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert named in result.stderr.splitlines()[-1]


def test_production_settings_pass_check_deploy(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_ENV": "production",
            "SECRET_KEY": "x" * 64 + "-a-long-random-secret-key-for-the-check",
            "ALLOWED_HOSTS": "vendorwatch.example.com",
            "VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_file_email_backend_writes_each_message_under_email_file_path(tmp_path):
    # How a worker in another process shows a test what it sent (tests/faults).
    script = (
        "import django; django.setup(); from django.core.mail import send_mail; "
        "send_mail('Hello', 'Body', None, ['someone@example.com'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "outsourcing.settings",
            "VAR_DIR": str(tmp_path / "var"),
            "EMAIL_BACKEND": "file",
            "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (written,) = (tmp_path / "mail").iterdir()
    assert "Subject: Hello" in written.read_text()
