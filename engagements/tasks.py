from celery import shared_task

from .models import PortalAccess
from .services import portal


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_portal_link(*, portal_access_id: int, token: str) -> None:
    """E-mail a vendor contact's portal link (skipped once the link no longer works)."""
    access = (
        PortalAccess.unscoped.select_related("engagement", "contact", "created_by")
        .filter(pk=portal_access_id)
        .first()
    )
    if access is not None and access.is_usable() and access.contact.email:
        portal.send_portal_link(access=access, token=token)
