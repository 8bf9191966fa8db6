"""Celery entry points of mail capture (thin: each calls one service)."""

from celery import shared_task
from django.conf import settings

from accounts.tenancy import all_organizations
from engagements.capture import imap, services


@shared_task(name="engagements.tasks.purge_raw_mail", acks_late=True)
def purge_raw_mail() -> int:
    """Drop raw messages past their organization's retention period."""
    return services.purge_raw_mail()


@shared_task(name="engagements.tasks.poll_imap", acks_late=True)
def poll_imap() -> int:
    """Read new mail from the configured IMAP mailbox."""
    with all_organizations():
        result = imap.poll_configured()
    return result.read if result else 0


@shared_task(name="engagements.tasks.drain_mail_queue", acks_late=True)
def drain_mail_queue() -> int:
    """Store the mail the SMTP receiver and the webhooks queued (queued on commit, and beat's
    safety net); more left when the run's time is up, or another drain at work, queues the
    next run. Harmless twice: each batch leaves the queue in the transaction that stores it."""
    result = services.drain_mail_queue(seconds=settings.MAIL_DRAIN_RUN_SECONDS)
    if result.more or result.busy:
        services.kick_drain(countdown=0 if result.more else 1)
    return result.stored
