"""The module Celery discovers: every task of the app, each defined with its concern.

Task names stay ``engagements.tasks.<name>`` (set explicitly where each is defined): the
beat schedule, tasks already queued in Redis and the tests name them so.
"""

from engagements.alerts.tasks import dispatch_outbox, remind_contracts, send_digest
from engagements.capture.tasks import drain_mail_queue, poll_imap, purge_raw_mail
from engagements.portal.tasks import (
    send_portal_link,
    tell_team_of_question,
    tell_vendor_of_answer,
)
from engagements.watch.tasks import (
    reevaluate_engagement,
    sweep_health,
    sweep_health_chunk,
    sweep_marked,
)

__all__ = [
    "dispatch_outbox",
    "drain_mail_queue",
    "poll_imap",
    "purge_raw_mail",
    "reevaluate_engagement",
    "remind_contracts",
    "send_digest",
    "send_portal_link",
    "sweep_health",
    "sweep_health_chunk",
    "sweep_marked",
    "tell_team_of_question",
    "tell_vendor_of_answer",
]
