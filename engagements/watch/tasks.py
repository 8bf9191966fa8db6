"""Thin Celery entry points of the health watcher: load, call one service. Harmless twice.

Names stay ``engagements.tasks.*``: the beat schedule and tasks already queued use them.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts.tenancy import all_organizations
from engagements.delivery.models import Engagement
from engagements.watch import marks, services

log = logging.getLogger(__name__)


@shared_task(name="engagements.tasks.sweep_marked")
@all_organizations()
def sweep_marked() -> None:
    """The steady sweep (beat, every ``WATCH_DIRTY_SECONDS``): evaluate the marked engagements
    and those whose deadline came, a chunk at a time, while there is work, for at most
    ``WATCH_RUN_SECONDS``. A backlog starts one more run beside this one (claims are disjoint,
    so workers add up); work left when the time is up queues the next run at once."""
    stop = time.monotonic() + settings.WATCH_RUN_SECONDS
    helped = False
    while True:
        step = services.sweep_marked()
        if not step.more:
            return
        if not helped:
            helped = True
            _another_marked_run()
        if time.monotonic() > stop:
            _another_marked_run()
            return


def _another_marked_run() -> None:
    try:
        sweep_marked.apply_async(retry=False, expires=settings.WATCH_DIRTY_SECONDS * 10)
    except Exception as exc:  # broker down: the marks stay in the database; beat catches up
        log.warning("broker unreachable (%s); marked engagements wait for the next tick", exc)


@shared_task(name="engagements.tasks.sweep_health")
@all_organizations()
def sweep_health() -> None:
    """Reconcile: evaluate every active engagement as of now, in chunks spread over the workers.

    Daily (``HEALTH_SWEEP_INTERVAL_SECONDS``) and on demand: the incremental path (marks and
    deadlines) does the watching; this pass counts what it had to change (``SweepRun.fixed``).

    Beat's entry expires, so outages do not pile up; so do the chunks. A chunk whose worker
    dies is redelivered (acks late) or covered by the next sweep: every write is idempotent.
    """
    at = timezone.now()
    run, ranges = services.start_run(at=at)
    for lo, hi in ranges:
        sweep_health_chunk.apply_async(
            kwargs={"run_id": run.pk, "at": at.isoformat(), "lo": lo, "hi": hi},
            expires=settings.HEALTH_SWEEP_INTERVAL_SECONDS * 0.9,
        )


@shared_task(name="engagements.tasks.sweep_health_chunk")
@all_organizations()
def sweep_health_chunk(*, run_id: int, at: str, lo: int | None, hi: int | None) -> None:
    """Evaluate the active engagements with ids lo..hi as of the run's moment ``at``."""
    services.sweep_chunk(at=datetime.fromisoformat(at), id_range=(lo, hi), run_id=run_id)


@shared_task(name="engagements.tasks.reevaluate_engagement")
@all_organizations()
def reevaluate_engagement(*, engagement_id: int) -> None:
    """Re-evaluate one engagement (kept for tasks queued before dirty marks replaced it)."""
    services.sweep(at=timezone.now(), engagement_ids=[engagement_id])


_collected: ContextVar[set[int] | None] = ContextVar("reevaluations_collected", default=None)


@contextmanager
def reevaluations_collected() -> Iterator[set[int]]:
    """Collect, instead of queueing, the re-evaluations asked for inside: a bulk load (the
    demo) writes hundreds of rows, each asking for one, and then sweeps once itself, so no
    worker is kept busy afterwards re-checking what was just checked."""
    token = _collected.set(set())
    try:
        yield _collected.get()
    finally:
        _collected.reset(token)


def mark_changed(*, engagement: Engagement) -> None:
    """Mark ``engagement`` for re-evaluation in the current transaction (the receiver of
    ``delivery.hooks.engagement_changed``): no task, no broker; the steady sweep picks it up
    within ``WATCH_DIRTY_SECONDS``. Inside ``reevaluations_collected`` the caller sweeps itself."""
    collected = _collected.get()
    if collected is not None:
        collected.add(engagement.pk)
        return
    marks.mark(engagement.pk)


def mark_many_changed(*, engagement_ids) -> None:
    """Mark many engagements in one statement (the receiver of
    ``delivery.hooks.engagements_changed``; a batch of captured mail)."""
    collected = _collected.get()
    if collected is not None:
        collected.update(engagement_ids)
        return
    marks.mark(*engagement_ids)
