"""Engagement data. ``delivery``: what we asked for, what came back, what it cost, how it felt.
``health`` (health-watcher issue): signals, health, alerts and the notification outbox.
``portal``: the vendor contacts' private links to an engagement's brief.
``postmortem``: post-mortems, lessons, acknowledgements and checklist items."""

from .delivery import *  # noqa: F403
from .health import *  # noqa: F403
from .portal import *  # noqa: F403
from .postmortem import *  # noqa: F403
