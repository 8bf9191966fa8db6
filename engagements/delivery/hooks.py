"""The seam between data entry and the health watcher.

Every service that changes what the warning-sign rules read (interactions, deliverable
transitions, spend, scope changes, status changes, questions) calls
``engagement_changed(engagement)`` inside its transaction. The health watcher re-evaluates
that one engagement after the transaction commits. ``dashboards_changed`` marks the
dashboards' cached parts of some organizations stale.
"""

from django.db import transaction
from django.utils import timezone

from accounts.models import Organization


def engagement_changed(engagement) -> None:
    """Re-evaluate ``engagement``'s health right after the current transaction commits."""
    from engagements.services import health  # the health watcher's module

    transaction.on_commit(
        lambda: health.engagement_changed_after_commit(engagement_id=engagement.pk)
    )


def dashboards_changed(org_ids) -> None:
    """What these organizations' dashboards show has changed: their cached parts are stale."""
    if org_ids:
        Organization.objects.filter(pk__in=org_ids).update(health_changed_at=timezone.now())
