"""Health watcher services (warning signs, health, alerts, outbox). Built by the health-watcher issue."""


def engagement_changed_after_commit(*, engagement_id: int) -> None:
    """Re-evaluate one engagement's health (placeholder until the health watcher lands)."""
    return None
