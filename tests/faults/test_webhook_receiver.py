"""Webhook receivers that answer 500, hang past the timeout, or are not there at all (nothing
listens on the port). Each call is retried with a doubling backoff up to the attempt limit,
then the notification is marked failed with its last error; the alert's page shows which
webhook failed and why, and when the next try is while it is still retrying. The same
alert's e-mail and a working webhook get their message exactly once regardless.

A real Celery worker on Redis delivers; real HTTP receivers listen on loopback; the clock
moves past each backoff with time-machine."""

import re
import socket
from datetime import timedelta
from itertools import pairwise

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from engagements import tasks
from engagements.alerts import outbox
from engagements.alerts import services as alert_services
from engagements.alerts.outbox import MAX_ATTEMPTS
from engagements.models import Alert, Level, Notification
from engagements.models import NotificationState as State
from tests.conftest import wait_for
from tests.factories import EngagementFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]

TIMEOUT = 1  # HEALTH_WEBHOOK_TIMEOUT for this test, in seconds


def _nobody_listens() -> str:
    """A loopback URL whose port was free a moment ago: the connection is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


def _rows(html: str) -> dict[str, str]:
    """The alert page's notification table: channel name -> the rest of its row, as text."""
    table = html.split("<h2>Notifications</h2>", 1)[1]
    return {
        name: re.sub(r"<[^>]+>", " ", rest)
        for name, rest in re.findall(r"<tr><td>([^<]+)</td>(.*?)</tr>", table, re.S)
    }


def test_failing_webhooks_are_retried_with_backoff_until_the_limit_and_shown_on_the_alert(
    empty_broker, celery_worker, receivers, owner, settings
):
    settings.HEALTH_WEBHOOK_TIMEOUT = TIMEOUT
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True  # the receivers listen on loopback
    server_error, hanging, working = (
        receivers(answer=500),
        receivers(hang=10 * TIMEOUT),
        receivers(),
    )
    why = {"Answers 500": "HTTP Error 500", "Hangs": "timed out", "Not there": "refused"}
    urls = {"Answers 500": server_error.url, "Hangs": hanging.url, "Not there": _nobody_listens()}
    for name, url in urls.items():
        alert_services.create_channel(org=owner.org, kind="webhook", name=name, url=url)
    alert_services.create_channel(org=owner.org, kind="webhook", name="Works", url=working.url)
    alert_services.create_channel(org=owner.org, kind="email", name="Team")
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    failing = Notification.unscoped.filter(channel__name__in=why)

    def attempts_done(n: int) -> bool:
        rows = failing.values_list("attempts", "state")
        return len(rows) == len(why) and all(a == n and s != State.CLAIMED for a, s in rows)

    gaps: dict[str, list[timedelta]] = {name: [] for name in why}

    def record() -> None:
        for n in failing.select_related("channel"):
            gaps[n.channel.name].append(n.next_attempt_at - n.claimed_at)

    with time_machine.travel(timezone.now(), tick=True) as clock:
        tasks.sweep_health.delay()  # opens the alert; the sweep enqueues the first delivery
        alert = wait_for(lambda: Alert.objects.filter(engagement=engagement).first(), timeout=30)
        page = reverse("engagements:alert_detail", args=[alert.pk])
        wait_for(lambda: attempts_done(1), timeout=30)
        record()
        retrying = _rows(owner.client().get(page).content.decode())
        for name, reason in why.items():
            assert "Pending, next try" in retrying[name], retrying[name]
            assert reason in retrying[name]
        for attempt in range(2, MAX_ATTEMPTS + 1):
            due = max(failing.values_list("next_attempt_at", flat=True))
            assert not outbox.dispatch_outbox(at=due - timedelta(seconds=1))  # not before
            clock.move_to(due + timedelta(seconds=1))
            tasks.dispatch_outbox.delay()
            wait_for(lambda n=attempt: attempts_done(n), timeout=30)
            record()
        clock.move_to(timezone.now() + timedelta(hours=2))
        assert outbox.dispatch_outbox() == 0  # the limit: nothing is tried again

    for name, reason in why.items():
        n = failing.get(channel__name=name)
        assert (n.state, n.attempts) == (State.FAILED, MAX_ATTEMPTS)
        assert n.last_error.startswith(f"attempt {MAX_ATTEMPTS}: ") and reason in n.last_error
        retries = gaps[name][:-1]  # after the last attempt there is no next one
        assert all(later == 2 * earlier for earlier, later in pairwise(retries)), retries
        assert retries[0] >= timedelta(seconds=30)
    assert len(server_error.keys) == len(hanging.keys) == MAX_ATTEMPTS
    assert len(set(server_error.keys)) == 1, "every retry carries the same Idempotency-Key"

    # The other channels of the same alert: delivered once, on the first attempt.
    assert len(working.keys) == 1
    assert [m.subject for m in mail.outbox] == [f"[{Level(alert.level).label}] {engagement.title}"]
    for name in ("Works", "Team"):
        n = Notification.unscoped.get(channel__name=name)
        assert (n.state, n.attempts, n.last_error) == (State.SENT, 1, "")

    shown = _rows(owner.client().get(page).content.decode())
    for name, reason in why.items():
        assert "Failed" in shown[name] and f"attempt {MAX_ATTEMPTS}:" in shown[name]
        assert reason in shown[name]
        assert "next try" not in shown[name]
    assert "Sent" in shown["Works"] and "Sent" in shown["Team"]


def test_a_hanging_receiver_costs_one_timeout_per_run_not_one_per_alert(
    empty_broker, celery_worker, receivers, owner, settings
):
    settings.HEALTH_WEBHOOK_TIMEOUT = TIMEOUT
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
    hanging, working = receivers(hang=10 * TIMEOUT), receivers()
    alert_services.create_channel(org=owner.org, kind="webhook", name="Hangs", url=hanging.url)
    alert_services.create_channel(org=owner.org, kind="webhook", name="Works", url=working.url)
    alert_services.create_channel(org=owner.org, kind="email", name="Team")
    alerts = 5
    EngagementFactory.create_batch(
        alerts, org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    stuck = Notification.unscoped.filter(channel__name="Hangs")

    def run_done() -> bool:
        others = Notification.unscoped.exclude(channel__name="Hangs")
        return (
            others.filter(state=State.SENT).count() == 2 * alerts
            and not Notification.unscoped.filter(state=State.CLAIMED).exists()
        )

    with time_machine.travel(timezone.now(), tick=True) as clock:
        tasks.sweep_health.delay()  # opens the alerts; the sweep enqueues one delivery run
        wait_for(run_done, timeout=30)
        # One try of the hanging channel in this run; its other rows wait, not counted.
        assert len(hanging.keys) == 1
        assert sorted(stuck.values_list("attempts", flat=True)) == [0] * (alerts - 1) + [1]
        assert len(working.keys) == len(mail.outbox) == alerts

        hanging.hang = 0  # the receiver is back
        clock.move_to(max(stuck.values_list("next_attempt_at", flat=True)) + timedelta(seconds=1))
        tasks.dispatch_outbox.delay()
        wait_for(lambda: stuck.filter(state=State.SENT).count() == alerts, timeout=30)
    assert sorted(set(hanging.keys)) == sorted(stuck.values_list("idempotency_key", flat=True))


def test_a_receiver_that_redirects_fails_and_the_redirect_is_not_followed(
    empty_broker, celery_worker, receivers, owner, settings
):
    # The SSRF guard checks the channel's URL; a redirect would lead past it (to an internal
    # address in production), so a 3xx answer is a failed delivery like any other non-2xx.
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
    internal = receivers()
    redirecting = receivers(answer=302, location=internal.url)
    alert_services.create_channel(
        org=owner.org, kind="webhook", name="Redirects", url=redirecting.url
    )
    EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    tasks.sweep_health.delay()
    tried = Notification.unscoped.filter(attempts=1).exclude(state=State.CLAIMED)
    n = wait_for(tried.first, timeout=30)
    assert (n.state, n.last_error) == (State.PENDING, "attempt 1: HTTPError: HTTP Error 302: Found")
    assert len(redirecting.keys) == 1
    assert internal.keys == []
