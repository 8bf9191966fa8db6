"""The composition root: where the concerns built on delivery register with its hooks.

Called once from ``EngagementsConfig.ready()``. A lower concern never imports a higher one;
it calls a hook, and this module (the only one that sees every concern) connects the
receivers. Registering twice is harmless.
"""

from engagements.alerts import services as alerts
from engagements.capture import calendar as capture_calendar
from engagements.capture import inbound as capture_inbound
from engagements.delivery import hooks as delivery
from engagements.forges import pages as forge_pages
from engagements.portal import pages as portal_pages
from engagements.postmortems import services as postmortems
from engagements.watch import facts, marks
from engagements.watch import hooks as watch
from engagements.watch import tasks as watch_tasks
from vendors import hooks as vendor_hooks


def connect() -> None:
    """Register every receiver (idempotent)."""
    # A change the watcher's rules read marks the engagement; the steady sweep re-evaluates it.
    delivery.engagement_changed.register(watch_tasks.mark_changed)
    delivery.engagements_changed.register(watch_tasks.mark_many_changed)
    vendor_hooks.on_review_changed(marks.mark_vendor_engagements)
    vendor_hooks.on_contract_changed(marks.mark_contract_engagements)
    delivery.engagement_metrics.register(facts.metrics_now)
    # Alerts follow the watcher's verdicts.
    watch.evaluated.register(alerts.apply_alerts)
    # A decision that takes an engagement out of the watcher closes its alert and its queue.
    delivery.status_changed.register(alerts.close_when_out_of_watch)
    # Lessons must be acknowledged before the first activation; the end opens a post-mortem.
    delivery.status_changing.register(postmortems.require_lessons_acknowledged)
    delivery.status_changed.register(postmortems.open_when_ended)
    # A published post-mortem freezes the facts of its engagement: no more corrections.
    delivery.record_frozen.register(postmortems.frozen_reason)
    # The engagement page's vendor-portal region.
    delivery.engagement_page.register(portal_pages.engagement_page_context)
    # The code-activity region: the forges' repository mapping and deliverable rules.
    delivery.activity_page.register(forge_pages.engagement_page_context)
    # Mail capture hears the providers' inbound webhooks (django-anymail's signal).
    capture_inbound.connect()
    # ...and adds the meetings a member should confirm to their daily digest.
    delivery.digest_sections.register(capture_calendar.digest_lines)
