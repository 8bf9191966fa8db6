"""Process-level endpoints (liveness, readiness, the watcher's pulse) and error pages."""

import logging
import sys

from django import db
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found

from engagements.models import Engagement, SweepRun
from engagements.watch import marks
from outsourcing.celery import app

log = logging.getLogger(__name__)


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive and answering (no dependency is checked)."""
    return JsonResponse({"status": "ok"})


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("readyz: database unreachable: %s", exc)
        return False


def broker_ok() -> bool:
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception as exc:
        log.warning("readyz: broker unreachable: %s", exc)
        return False


@login_not_required
@never_cache
@require_safe
def watcherz(request: HttpRequest) -> HttpResponse:
    """For an uptime monitor: the health watcher finished a full sweep (the reconciliation)
    within three sweep intervals, and the steady sweep keeps up with the marks and deadlines
    (503 when not, once there is an active engagement to watch). The web app keeps serving
    either way; this is what tells someone the worker or beat is down. It also says what the
    last reconciliation had to fix (0 in a healthy system)."""
    now = timezone.now()
    last = SweepRun.last_finished()
    steady = marks.backlog(now)
    late = SweepRun.late(last, now, Engagement.unscoped.all()) or steady.overdue
    return JsonResponse(
        {
            "status": "late" if late else "ok",
            "last_sweep_finished_at": last.finished_at.isoformat() if last else None,
            "sweep_interval_seconds": settings.HEALTH_SWEEP_INTERVAL_SECONDS,
            # What the last reconciliation (full sweep) had to change that the incremental
            # path missed: 0 when marks and deadlines are right.
            "reconciliation_fixed": last.fixed if last else None,
            "marked": steady.marked,
            "oldest_mark_seconds": steady.oldest_seconds,
        },
        status=503 if late else 200,
    )


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    """Ready to serve: the database and the Celery broker both answer."""
    checks = {"database": database_ok(), "broker": broker_ok()}
    ready = all(checks.values())
    return JsonResponse(
        {
            "status": "ok" if ready else "unavailable",
            "checks": {k: "ok" if v else "down" for k, v in checks.items()},
        },
        status=200 if ready else 503,
    )


@login_not_required
def server_error(request: HttpRequest) -> HttpResponse:
    """500, except when the database is unreachable: that is a clean, retryable 503."""
    exc = sys.exc_info()[1]
    if isinstance(exc, (db.OperationalError, db.InterfaceError)):
        response = render(request, "503.html", status=503)
        response["Retry-After"] = "5"
        return response
    return render(request, "500.html", status=500)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """404: under /api/ in the API's one error shape (no HTML for a script), else the page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "not_found",
                    "message": "No such object in this organization.",
                    "fields": {},
                }
            },
            status=404,
        )
    return page_not_found(request, exception)
