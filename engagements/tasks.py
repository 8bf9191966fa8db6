"""Thin Celery entry points of the health watcher: load, call one service. Harmless twice.

Each works across organizations (the sweep, the outbox, the digest) and says so.
"""

from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from accounts.tenancy import all_organizations

from .models import PortalAccess
from .services import health, portal


@shared_task
@all_organizations()
def sweep_health() -> None:
    """Evaluate every active engagement as of now, in chunks spread over the workers.

    Beat's entry expires, so outages do not pile up; so do the chunks. A chunk whose worker
    dies is redelivered (acks late) or covered by the next sweep: every write is idempotent.
    """
    at = timezone.now()
    run, ranges = health.start_run(at=at)
    for lo, hi in ranges:
        sweep_health_chunk.apply_async(
            kwargs={"run_id": run.pk, "at": at.isoformat(), "lo": lo, "hi": hi},
            expires=settings.HEALTH_SWEEP_INTERVAL_SECONDS * 0.9,
        )


@shared_task
@all_organizations()
def sweep_health_chunk(*, run_id: int, at: str, lo: int | None, hi: int | None) -> None:
    """Evaluate the active engagements with ids lo..hi as of the run's moment ``at``."""
    health.sweep_chunk(at=datetime.fromisoformat(at), id_range=(lo, hi), run_id=run_id)


@shared_task
@all_organizations()
def reevaluate_engagement(*, engagement_id: int) -> None:
    """Re-evaluate one engagement after a change that matters was committed."""
    health.sweep(at=timezone.now(), engagement_ids=[engagement_id])


@shared_task
@all_organizations()
def dispatch_outbox() -> None:
    """Claim and deliver due notifications; failures stay in the outbox with a backoff."""
    health.dispatch_outbox(at=timezone.now())


@shared_task
@all_organizations()
def send_digest() -> None:
    """Send the daily digest of open alerts to every member who did not opt out."""
    health.send_digest(at=timezone.now())


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
@all_organizations()
def send_portal_link(*, portal_access_id: int, token: str) -> None:
    """E-mail a vendor contact's portal link (skipped once the link no longer works)."""
    access = (
        PortalAccess.unscoped.select_related("engagement", "contact", "created_by")
        .filter(pk=portal_access_id)
        .first()
    )
    if access is not None and access.is_usable() and access.contact.email:
        portal.send_portal_link(access=access, token=token)
