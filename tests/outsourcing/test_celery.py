"""The Celery app against a real broker: a worker consumes what a service enqueues."""

import pytest
from django.core import mail

from accounts.models import Role
from accounts.services import invite_member
from outsourcing.celery import app
from tests.conftest import wait_for


def test_tasks_are_discovered_and_acknowledged_late():
    assert "accounts.tasks.send_invitation" in app.tasks
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_reject_on_worker_lost is True


@pytest.mark.redis
def test_a_worker_on_redis_sends_the_invitation_a_service_enqueued(
    redis_broker, celery_worker, owner
):
    with app.connection_for_write() as conn:
        assert conn.transport.driver_type == "redis"
    invite_member(org=owner.org, email="colleague@acme.test", role=Role.MANAGER, by=owner.user)
    wait_for(lambda: mail.outbox)
    (message,) = mail.outbox
    assert message.to == ["colleague@acme.test"]
    assert "/invitations/" in message.body


def test_an_unreachable_broker_does_not_fail_the_request_the_work_runs_in_process(
    owner, dead_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invite_member(org=owner.org, email="late@acme.test", role=Role.VIEWER, by=owner.user)
    assert [m.to for m in mail.outbox] == [["late@acme.test"]]
