"""Celery entry points of mail capture (thin: each calls one service)."""

from celery import shared_task

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
