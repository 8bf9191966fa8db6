"""Celery entry points of mail capture (thin: each calls one service)."""

from celery import shared_task

from engagements.capture import services


@shared_task(name="engagements.tasks.purge_raw_mail", acks_late=True)
def purge_raw_mail() -> int:
    """Drop raw messages past their organization's retention period."""
    return services.purge_raw_mail()
