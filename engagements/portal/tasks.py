"""Thin Celery entry points of the vendor portal. The name stays ``engagements.tasks.*``:
tasks already queued use it."""

from celery import shared_task

from accounts.tenancy import all_organizations
from engagements.portal import mail
from engagements.portal.models import PortalAccess


@shared_task(
    name="engagements.tasks.send_portal_link",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
@all_organizations()
def send_portal_link(*, portal_access_id: int, token: str) -> None:
    """E-mail a vendor contact's portal link (skipped once the link no longer works)."""
    access = (
        PortalAccess.unscoped.select_related("engagement", "contact", "created_by")
        .filter(pk=portal_access_id)
        .first()
    )
    if access is not None and access.is_usable() and access.contact.email:
        mail.send_portal_link(access=access, token=token)
