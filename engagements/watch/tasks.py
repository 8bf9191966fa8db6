"""Thin Celery entry points of the health watcher: load, call one service. Harmless twice.

Names stay ``engagements.tasks.*``: the beat schedule and tasks already queued use them.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.tenancy import all_organizations
from engagements.delivery.models import Engagement
from engagements.watch import services

log = logging.getLogger(__name__)


@shared_task(name="engagements.tasks.sweep_health")
@all_organizations()
def sweep_health() -> None:
    """Evaluate every active engagement as of now, in chunks spread over the workers.

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
    """Re-evaluate one engagement after a change that matters was committed."""
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


def reevaluate_after_commit(*, engagement: Engagement) -> None:
    """Re-evaluate ``engagement``'s health right after the current transaction commits
    (the receiver of ``delivery.hooks.engagement_changed``)."""
    engagement_id = engagement.pk
    collected = _collected.get()
    if collected is not None:
        collected.add(engagement_id)
        return
    transaction.on_commit(lambda: engagement_changed_after_commit(engagement_id=engagement_id))


def engagement_changed_after_commit(*, engagement_id: int) -> None:
    """Re-evaluate one engagement's health now that a change that matters was committed."""
    try:
        reevaluate_engagement.apply_async(kwargs={"engagement_id": engagement_id}, retry=False)
    except Exception as exc:
        # Broker down: one engagement's sweep is a dozen queries and no network (notifications
        # go to the outbox), so do it here; the request still succeeds.
        log.warning(
            "broker unreachable (%s); re-evaluating engagement %s in-process", exc, engagement_id
        )
        services.sweep(at=timezone.now(), engagement_ids=[engagement_id])
