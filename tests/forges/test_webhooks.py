"""The webhook endpoints, fed the bodies GitHub, GitLab and a generic tool really send, signed
as each signs, through the live URL (the Django test client, the whole middleware stack).

Each accepted delivery is kept in the log and turned into traces of work on the engagement
(the deliverable whose rule matches); each refused one gets a clear 4xx and a recorded reason."""

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

from accounts.tenancy import tenant_scope
from engagements.delivery.models import ActivityKind, WorkActivity
from engagements.forges import services as forges
from engagements.forges.models import ForgeDelivery
from engagements.watch.models import WatchMark
from tests.forges.conftest import (
    body_of,
    payload,
    send_generic,
    send_github,
    send_gitlab,
    url,
)

pytestmark = pytest.mark.django_db


def only_delivery() -> ForgeDelivery:
    return ForgeDelivery.unscoped.get()


# --- GitHub -----------------------------------------------------------------------------------


def test_a_github_push_on_a_report_branch_counts_as_work_on_the_report(now, github, mapped, report):
    WatchMark.objects.all().delete()
    response = send_github(github, "push", payload("github_push"))
    assert response.status_code == 200, response.content
    assert body_of(response)["status"] == "routed"
    activity = WorkActivity.objects.get()
    assert (activity.kind, activity.count, activity.ref) == (
        ActivityKind.COMMITS,
        2,
        "reports/q3-revenue",
    )
    assert activity.deliverable == report  # the rule `reports/*` matched the branch
    assert activity.repository == "northwind-studio/reports"
    # The newest commit's own moment (11:32:44 +02:00), not the moment it reached us.
    assert activity.occurred_at == datetime(2026, 10, 2, 9, 32, 44, tzinfo=UTC)
    assert only_delivery().status == "routed"
    assert WatchMark.objects.filter(engagement_id=mapped.pk).exists()  # the watcher will look


@pytest.mark.parametrize(
    ("event", "name", "kind"),
    [
        ("pull_request", "github_pull_request_opened", ActivityKind.OPENED),
        ("pull_request", "github_pull_request_merged", ActivityKind.MERGED),
        ("issues", "github_issues_opened", ActivityKind.ISSUE_OPENED),
        ("release", "github_release_published", ActivityKind.RELEASE),
    ],
)
def test_github_pull_requests_issues_and_releases_become_traces_of_work(
    now, github, mapped, event, name, kind
):
    response = send_github(github, event, payload(name))
    assert response.status_code == 200, response.content
    activity = WorkActivity.objects.get()
    assert activity.kind == kind
    assert activity.url.startswith("https://github.com/Northwind-Studio/Reports/")


def test_github_form_encoded_delivery_is_read_too(now, github, mapped):
    """GitHub's default content type is a form with the JSON in ``payload``; the signature
    covers the form body as sent."""
    import hashlib
    import hmac
    from urllib.parse import urlencode

    body = urlencode({"payload": payload("github_pull_request_opened").decode()}).encode()
    signature = hmac.new(github.secret.encode(), body, hashlib.sha256).hexdigest()
    response = Client().post(
        url(github),
        body,
        content_type="application/x-www-form-urlencoded",
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "X-Hub-Signature-256": f"sha256={signature}",
        },
    )
    assert response.status_code == 200, response.content
    assert WorkActivity.objects.get().kind == ActivityKind.OPENED


def test_github_ping_answers_that_the_webhook_is_set_up(now, github):
    response = send_github(github, "ping", payload("github_ping"))
    assert response.status_code == 200
    assert "ping" in only_delivery().reason
    assert not WorkActivity.objects.exists()


def test_a_label_added_to_a_pull_request_is_not_work(now, github, mapped):
    response = send_github(github, "pull_request", payload("github_pull_request_labeled"))
    assert response.status_code == 200
    assert only_delivery().status == "ignored"
    assert "labeled" in only_delivery().reason
    assert not WorkActivity.objects.exists()


# --- GitLab -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "name", "kind"),
    [
        ("Push Hook", "gitlab_push", ActivityKind.COMMITS),
        ("Merge Request Hook", "gitlab_merge_request_open", ActivityKind.OPENED),
        ("Merge Request Hook", "gitlab_merge_request_merge", ActivityKind.MERGED),
        ("Issue Hook", "gitlab_issue_open", ActivityKind.ISSUE_OPENED),
        ("Release Hook", "gitlab_release_create", ActivityKind.RELEASE),
    ],
)
def test_gitlab_pushes_merge_requests_issues_and_releases_become_traces_of_work(
    now, gitlab, mapped, event, name, kind
):
    response = send_gitlab(gitlab, event, payload(name))
    assert response.status_code == 200, response.content
    activity = WorkActivity.objects.get()
    assert activity.kind == kind
    assert activity.repository == "northwind/acme/data-pipeline"
    assert activity.occurred_at < now


def test_gitlab_time_format_with_utc_suffix_is_read(now, gitlab, mapped):
    send_gitlab(gitlab, "Merge Request Hook", payload("gitlab_merge_request_merge"))
    assert WorkActivity.objects.get().occurred_at == datetime(2026, 10, 5, 9, 30, tzinfo=UTC)


# --- the generic format -----------------------------------------------------------------------


def test_a_generic_tool_posts_its_own_events_signed_like_our_webhooks(now, generic, mapped):
    response = send_generic(generic, payload("generic_activity"), at=now.timestamp())
    assert response.status_code == 200, response.content
    kinds = sorted(WorkActivity.objects.values_list("kind", flat=True))
    assert kinds == [ActivityKind.ISSUE_CLOSED, ActivityKind.ISSUE_OPENED]
    assert body_of(response)["activities"] == 2


def test_a_generic_event_of_an_unknown_kind_is_refused_with_the_kinds_we_take(now, generic, mapped):
    body = json.dumps(
        {
            "version": 1,
            "repository": "REP",
            "events": [{"kind": "deployed", "at": "2026-10-05T10:00:00Z"}],
        }
    ).encode()
    response = send_generic(generic, body, at=now.timestamp())
    assert response.status_code == 400
    assert "deployed" in body_of(response)["error"]["message"]
    assert only_delivery().status == "refused"


def test_a_generic_delivery_signed_long_ago_is_a_replay(now, generic, mapped):
    body = payload("generic_activity")
    response = send_generic(generic, body, at=(now - timedelta(minutes=6)).timestamp())
    assert response.status_code == 401
    assert "replay" in only_delivery().reason
    assert not WorkActivity.objects.exists()


# --- refusals ---------------------------------------------------------------------------------


def test_a_bad_github_signature_is_refused_and_recorded(now, github, mapped):
    response = send_github(github, "push", payload("github_push"), secret="not-the-secret")
    assert response.status_code == 401
    assert body_of(response)["error"]["message"].startswith("bad signature")
    row = only_delivery()
    assert (row.status, row.http_status, row.payload) == ("refused", 401, None)
    assert not WorkActivity.objects.exists()


def test_a_tampered_body_fails_the_signature(now, github, mapped):
    body = payload("github_push")
    signed_for = body.replace(b"Q3 report", b"Q4 report")
    import hashlib
    import hmac

    signature = hmac.new(github.secret.encode(), signed_for, hashlib.sha256).hexdigest()
    response = send_github(
        github, "push", body, headers={"X-Hub-Signature-256": f"sha256={signature}"}
    )
    assert response.status_code == 401


def test_an_unsigned_call_is_refused(now, github, gitlab):
    response = Client().post(
        url(github),
        payload("github_push"),
        content_type="application/json",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "abc"},
    )
    assert response.status_code == 401
    assert "unsigned" in body_of(response)["error"]["message"]
    response = send_gitlab(gitlab, "Push Hook", payload("gitlab_push"), token="")
    assert response.status_code == 401


def test_a_wrong_gitlab_token_is_refused(now, gitlab, mapped):
    response = send_gitlab(gitlab, "Push Hook", payload("gitlab_push"), token="guess")
    assert response.status_code == 401
    assert "bad secret" in ForgeDelivery.unscoped.get().reason


def test_a_replayed_github_delivery_is_refused_and_nothing_counts_twice(now, github, mapped):
    first = send_github(github, "push", payload("github_push"), delivery_id="d-1")
    assert first.status_code == 200
    again = send_github(github, "push", payload("github_push"), delivery_id="d-1")
    assert again.status_code == 409
    assert "already received" in body_of(again)["error"]["message"]
    assert WorkActivity.objects.count() == 1
    assert list(ForgeDelivery.unscoped.order_by("pk").values_list("status", flat=True)) == [
        "routed",
        "duplicate",
    ]


def test_a_gitlab_retry_with_the_same_idempotency_key_is_a_duplicate(now, gitlab, mapped):
    assert send_gitlab(gitlab, "Push Hook", payload("gitlab_push"), key="k-9").status_code == 200
    assert send_gitlab(gitlab, "Push Hook", payload("gitlab_push"), key="k-9").status_code == 409
    assert WorkActivity.objects.count() == 1


def test_a_10_mb_body_is_refused_with_413_without_being_read(now, github):
    read = []

    class Stream(io.RawIOBase):
        """10 MB that count what is read of them."""

        def __init__(self):
            self.left = 10 * 1024 * 1024

        def readable(self):
            return True

        def readinto(self, buffer):
            n = min(len(buffer), self.left)
            buffer[:n] = b"x" * n
            self.left -= n
            read.append(n)
            return n

    response = Client().post(
        url(github),
        b"",
        content_type="application/json",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "big"},
        CONTENT_LENGTH=str(10 * 1024 * 1024),
        **{"wsgi.input": Stream()},
    )
    assert response.status_code == 413
    assert "over the 1024 KB limit" in body_of(response)["error"]["message"]
    assert sum(read) == 0  # the declared length alone refused it
    assert only_delivery().size == 10 * 1024 * 1024


def test_a_body_that_lies_about_its_length_is_cut_at_the_limit(now, github, settings):
    settings.FORGE_WEBHOOK_MAX_KB = 16
    big = b"[" + b"1," * 200_000 + b"1]"
    response = Client().post(
        url(github),
        big,
        content_type="application/json",
        headers={"X-GitHub-Event": "push", "X-GitHub-Delivery": "lies"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("sender", "event", "name"),
    [
        ("github", "star", "github_star"),
        ("gitlab", "Pipeline Hook", "gitlab_pipeline"),
    ],
)
def test_an_event_we_do_not_take_is_refused_with_400(now, github, gitlab, sender, event, name):
    if sender == "github":
        response = send_github(github, event, payload(name))
    else:
        response = send_gitlab(gitlab, event, payload(name))
    assert response.status_code == 400
    assert "unknown event" in body_of(response)["error"]["message"]
    assert ForgeDelivery.unscoped.get().status == "refused"


def test_an_unknown_address_is_404_and_kept_for_staff_only(now, github, client, owner):
    response = Client().post(
        f"/forges/hooks/github/{'x' * 24}/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    row = ForgeDelivery.unscoped.get()
    assert row.org_id is None and "unknown webhook address" in row.reason
    with tenant_scope(owner.org):
        assert not ForgeDelivery.objects.exists()  # tenants never see it


def test_a_revoked_connection_answers_410(now, github, mapped):
    forges.revoke_connection(connection=github)
    response = send_github(github, "push", payload("github_push"))
    assert response.status_code == 410
    assert not WorkActivity.objects.exists()


def test_after_a_rotation_the_previous_secret_works_for_the_grace_period_only(
    now, github, mapped, settings
):
    old = github.secret
    forges.rotate_secret(connection=github)
    assert send_github(github, "push", payload("github_push"), secret=old).status_code == 200
    with time_machine.travel(now + timedelta(hours=settings.FORGE_ROTATION_GRACE_HOURS + 1)):
        assert send_github(github, "push", payload("github_push"), secret=old).status_code == 401
        assert send_github(github, "push", payload("github_push")).status_code == 200


def test_the_webhook_takes_post_only(github):
    assert Client().get(url(github)).status_code == 405


def test_garbage_json_is_a_clear_400(now, github):
    response = send_github(github, "push", b"{not json")
    assert response.status_code == 400
    assert "unreadable JSON" in body_of(response)["error"]["message"]


def test_a_push_without_its_repository_is_unreadable(now, github):
    response = send_github(github, "push", b'{"ref": "refs/heads/main"}')
    assert response.status_code == 400
    assert "repository" in body_of(response)["error"]["message"]


# --- triage -----------------------------------------------------------------------------------


def test_a_delivery_from_an_unmapped_repository_waits_in_triage_then_counts_when_assigned(
    now, github, engagement, manager
):
    response = send_github(github, "push", payload("github_push"))
    assert response.status_code == 200
    row = only_delivery()
    assert row.status == "triage" and row.payload is not None
    assert not WorkActivity.objects.exists()
    forges.assign_repository(
        org=engagement.org,
        by=manager.user,
        forge="github",
        repository="northwind-studio/reports",
        engagement=engagement,
    )
    row.refresh_from_db()
    assert row.status == "routed" and row.engagement == engagement
    activity = WorkActivity.objects.get()
    assert activity.occurred_at == datetime(2026, 10, 2, 9, 32, 44, tzinfo=UTC)  # its own date
    # From now on the repository goes straight to the engagement.
    send_github(github, "pull_request", payload("github_pull_request_opened"))
    assert WorkActivity.objects.count() == 2


def test_an_ignored_repository_drops_its_waiting_deliveries_and_the_next_ones(
    now, github, org, manager
):
    send_github(github, "push", payload("github_push"))
    forges.assign_repository(
        org=org,
        by=manager.user,
        forge="github",
        repository="northwind-studio/reports",
        engagement=None,
    )
    assert only_delivery().status == "ignored"
    send_github(github, "pull_request", payload("github_pull_request_opened"))
    assert set(ForgeDelivery.unscoped.values_list("status", flat=True)) == {"ignored"}
    assert not WorkActivity.objects.exists()
