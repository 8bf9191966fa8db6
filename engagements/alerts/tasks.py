"""Thin Celery entry points of alerts: load, call one service. Harmless twice.

Each works across organizations (the outbox, the digest) and says so. Names stay
``engagements.tasks.*``: the beat schedule and tasks already queued use them.
"""

import logging

from celery import shared_task
from django.utils import timezone

from accounts.tenancy import all_organizations
from engagements.alerts import digest, outbox, reminders

log = logging.getLogger(__name__)


@shared_task(name="engagements.tasks.dispatch_outbox")
@all_organizations()
def dispatch_outbox() -> None:
    """Claim and deliver due notifications; failures stay in the outbox with a backoff.

    A run that finds more queued than one batch starts one more run beside it (their claims
    are disjoint, so workers add up), and a run whose time budget ran out with rows still
    due queues the next one at once: the outbox drains without waiting for beat."""
    result = outbox.drain(on_backlog=_another_run)
    if result.more:
        _another_run()


def _another_run() -> None:
    try:
        dispatch_outbox.apply_async(retry=False)
    except Exception as exc:  # broker down: the rows stay due; beat's dispatcher catches up
        log.warning("broker unreachable (%s); the outbox will be dispatched later", exc)


@shared_task(name="engagements.tasks.send_digest")
@all_organizations()
def send_digest() -> None:
    """Send the daily digest of open alerts to every member who did not opt out."""
    digest.send_digest(at=timezone.now())


@shared_task(name="engagements.tasks.remind_contracts")
@all_organizations()
def remind_contracts() -> None:
    """Queue the decide-by reminders of contracts no active engagement runs under (the watcher
    reminds the others), then deliver them."""
    if reminders.remind_unwatched(at=timezone.now()):
        _another_run()
