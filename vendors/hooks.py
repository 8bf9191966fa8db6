"""What vendors tell the apps built on them, without importing them (vendors never imports
engagements): receivers are registered from the other side (``engagements/wiring.py``).

``review_changed(vendor_id=…)``: something that decides whether the vendor needs a review
(its status, its review date, its evidence) changed, inside the write's transaction; the health
watcher re-evaluates the vendor's engagements (their "vendor needs review" reminder).
"""

from collections.abc import Callable

_review_changed: list[Callable[..., None]] = []


def on_review_changed(receiver: Callable[..., None]) -> None:
    """Register ``receiver(vendor_id=…)`` once."""
    if receiver not in _review_changed:
        _review_changed.append(receiver)


def review_changed(*, vendor_id: int) -> None:
    for receiver in _review_changed:
        receiver(vendor_id=vendor_id)
