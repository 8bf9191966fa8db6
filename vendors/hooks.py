"""What vendors tell the apps built on them, without importing them (vendors never imports
engagements): receivers are registered from the other side (``engagements/wiring.py``).

``contract_changed(contract_id=…)``: a contract's terms or decisions changed; the watcher
re-evaluates the engagements under it (their decide-by date, "decide before renewal").

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


_contract_changed: list[Callable[..., None]] = []


def on_contract_changed(receiver: Callable[..., None]) -> None:
    """Register ``receiver(contract_id=…)`` once: a contract's terms or decisions changed
    (inside the write's transaction); the watcher re-evaluates the engagements under it."""
    if receiver not in _contract_changed:
        _contract_changed.append(receiver)


def contract_changed(*, contract_id: int) -> None:
    for receiver in _contract_changed:
        receiver(contract_id=contract_id)
