"""Thin Celery entry points of alerts: load, call one service. Harmless twice.

Each works across organizations (the outbox, the digest) and says so. Names stay
``engagements.tasks.*``: the beat schedule and tasks already queued use them.
"""

from celery import shared_task
from django.utils import timezone

from accounts.tenancy import all_organizations
from engagements.alerts import digest, outbox


@shared_task(name="engagements.tasks.dispatch_outbox")
@all_organizations()
def dispatch_outbox() -> None:
    """Claim and deliver due notifications; failures stay in the outbox with a backoff."""
    outbox.dispatch_outbox(at=timezone.now())


@shared_task(name="engagements.tasks.send_digest")
@all_organizations()
def send_digest() -> None:
    """Send the daily digest of open alerts to every member who did not opt out."""
    digest.send_digest(at=timezone.now())
