"""What delivery tells the concerns built on it, without importing them.

Delivery is the bottom layer: the health watcher, alerts, post-mortems and the vendor portal
import delivery, never the other way round. Where delivery must let them act (a change the
warning-sign rules read, an engagement that ends, what the engagement page shows of them),
it calls one of the hooks below, and the higher concern registers its receiver from
``EngagementsConfig.ready()``, the one place that wires the concerns together.

Receivers run in registration order, inside the caller's transaction; one that raises
(``ValidationError``) refuses the change.
"""

from collections.abc import Callable
from typing import Any


class Hook:
    """An ordered set of receivers called with keyword arguments."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Callable[..., Any]] = []

    def register(self, receiver: Callable[..., Any]) -> Callable[..., Any]:
        """Add ``receiver`` once (``ready()`` may run twice in tests)."""
        if receiver not in self.receivers:
            self.receivers.append(receiver)
        return receiver

    def __call__(self, **kwargs: Any) -> list[Any]:
        return [receiver(**kwargs) for receiver in self.receivers]

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self.receivers)} receivers>"


# ``engagement``: something the warning-sign rules read changed (inside its transaction).
engagement_changed = Hook("engagement_changed")
# ``engagement_ids``: the same for many engagements at once (a batch of captured mail): one
# mark per engagement, however many rows of it the batch wrote.
engagements_changed = Hook("engagements_changed")
# ``engagement``, ``to``: before a status change is written; a receiver may refuse it.
status_changing = Hook("status_changing")
# ``engagement``, ``change``, ``at``: a status change was written (same transaction).
status_changed = Hook("status_changed")
# ``engagement`` → the exit-criteria metric values now (the watcher's facts), or nothing.
engagement_metrics = Hook("engagement_metrics")
# ``request``, ``engagement`` → extra context the engagement page shows (the portal links).
engagement_page = Hook("engagement_page")
# ``engagement`` (an ended one) → why its records can no longer change (a published
# post-mortem froze their facts), or None; the corrections refuse with the first reason.
record_frozen = Hook("record_frozen")
# ``org_ids``, ``at`` → ``{(org_id, user_id): [lines]}``: what a member's daily digest adds
# besides the open alerts (mail capture: the meetings they should confirm, with signed links).
digest_sections = Hook("digest_sections")

# ``request``, ``engagement`` → extra context of the engagement page's code-activity region
# (the forges' repository mapping and deliverable rules, and their forms).
activity_page = Hook("activity_page")
