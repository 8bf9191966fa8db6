"""Thin Celery entry points of the health watcher: load, call one service. Harmless twice."""

from celery import shared_task
from django.utils import timezone

from .services import health


@shared_task
def sweep_health() -> None:
    """Evaluate every active engagement as of now (beat; expires, so outages do not pile up)."""
    health.sweep(at=timezone.now())


@shared_task
def reevaluate_engagement(*, engagement_id: int) -> None:
    """Re-evaluate one engagement after a change that matters was committed."""
    health.sweep(at=timezone.now(), engagement_ids=[engagement_id])


@shared_task
def dispatch_outbox() -> None:
    """Claim and deliver due notifications; failures stay in the outbox with a backoff."""
    health.dispatch_outbox(at=timezone.now())


@shared_task
def send_digest() -> None:
    """Send the daily digest of open alerts to every member who did not opt out."""
    health.send_digest(at=timezone.now())
