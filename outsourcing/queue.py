"""Enqueueing Celery tasks from services without ever failing a web request on the broker."""

import logging
from typing import Any

from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


def enqueue_on_commit(task: Task, **kwargs: Any) -> None:
    """Send ``task`` after the current transaction commits.

    When the broker cannot be reached the task runs in-process instead: the web request
    still succeeds and the work is not lost. (Alerts and notifications use the outbox of
    the health watcher instead, which needs no broker at write time.)
    """

    def send() -> None:
        try:
            task.apply_async(kwargs=kwargs, retry=False)
        except (OperationalError, OSError) as exc:
            log.warning("broker unreachable (%s); running %s in-process", exc, task.name)
            task.apply(kwargs=kwargs)

    transaction.on_commit(send)
