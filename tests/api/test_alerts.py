"""/api/v1/alerts: a script reads the alert the watcher raised and acts on it."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.models import TokenScope
from accounts.services import create_api_token
from engagements.models import Alert, AlertEvent
from engagements.watch import services as watch
from tests.api.conftest import bearer
from tests.factories import DeliverableFactory, EngagementFactory, InteractionFactory

pytestmark = pytest.mark.django_db
JSON = "application/json"


def failing_engagement(org, **kwargs):
    """Silent for weeks, uncomfortable, overdue: the watcher raises an alert."""
    engagement = EngagementFactory(org=org, **kwargs)
    InteractionFactory(
        engagement=engagement, occurred_at=timezone.now() - dt.timedelta(days=40), comfort=1
    )
    DeliverableFactory(
        milestone__engagement=engagement,
        due_date=timezone.localdate() - dt.timedelta(days=20),
        status="in_progress",
    )
    return engagement


def test_a_script_reads_the_alert_the_watcher_raised_and_acknowledges_it(
    client, manager, write_token
):
    engagement = failing_engagement(manager.org, owner=manager.user)
    watch.sweep(at=timezone.now())

    listed = client.get("/api/v1/alerts", headers=write_token)
    assert listed.status_code == 200, listed.json()
    (alert,) = listed.json()["items"]
    assert alert["engagement_id"] == engagement.pk and alert["engagement_title"] == engagement.title
    assert alert["level"] in ("watch", "warning", "cut_losses") and alert["status"] == "open"

    acknowledged = client.post(
        f"/api/v1/alerts/{alert['id']}/acknowledge",
        {"note": "Calling them today"},
        content_type=JSON,
        headers=write_token,
    )
    assert acknowledged.status_code == 200, acknowledged.json()
    assert acknowledged.json()["status"] == "acknowledged"
    event = AlertEvent.objects.filter(alert_id=alert["id"], kind="acknowledged").get()
    assert event.by == manager.user and event.note == "Calling them today"


def test_alerts_filter_by_level_and_engagement(client, manager, write_token):
    first = failing_engagement(manager.org)
    failing_engagement(manager.org)
    watch.sweep(at=timezone.now())
    one = client.get(f"/api/v1/alerts?engagement={first.pk}", headers=write_token).json()["items"]
    assert [a["engagement_id"] for a in one] == [first.pk]
    level = one[0]["level"]
    assert all(
        a["level"] == level
        for a in client.get(f"/api/v1/alerts?level={level}", headers=write_token).json()["items"]
    )


def test_snoozing_into_the_past_is_a_409_naming_the_field(client, manager, write_token):
    failing_engagement(manager.org)
    watch.sweep(at=timezone.now())
    alert = Alert.objects.get()
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    response = client.post(
        f"/api/v1/alerts/{alert.pk}/snooze", {"until": past}, content_type=JSON, headers=write_token
    )
    # A well-formed moment that has passed: the clock, not the schema, refuses it.
    assert response.status_code == 409
    assert "until" in response.json()["error"]["fields"]


def test_resolving_needs_a_note(client, manager, write_token):
    failing_engagement(manager.org)
    watch.sweep(at=timezone.now())
    alert = Alert.objects.get()
    response = client.post(
        f"/api/v1/alerts/{alert.pk}/resolve", {"note": ""}, content_type=JSON, headers=write_token
    )
    assert response.status_code == 422
    assert "note" in response.json()["error"]["fields"]


def test_another_organizations_alert_is_a_404_and_untouched(client, manager, outsider, write_token):
    failing_engagement(outsider.org)
    watch.sweep(at=timezone.now())
    theirs = Alert.objects.get()
    assert client.get(f"/api/v1/alerts/{theirs.pk}", headers=write_token).status_code == 404
    response = client.post(
        f"/api/v1/alerts/{theirs.pk}/resolve",
        {"note": "mine now"},
        content_type=JSON,
        headers=write_token,
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "open"
    assert client.get("/api/v1/alerts", headers=write_token).json()["items"] == []


def test_a_read_token_cannot_acknowledge(client, manager):
    failing_engagement(manager.org)
    watch.sweep(at=timezone.now())
    alert = Alert.objects.get()
    read = bearer(
        create_api_token(org=manager.org, user=manager.user, name="r", scope=TokenScope.READ)[1]
    )
    response = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge", {"note": ""}, content_type=JSON, headers=read
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("n", [1, 20])
def test_alert_list_query_count_is_flat(client, manager, write_token, n, django_assert_num_queries):
    for _ in range(n):
        failing_engagement(manager.org)
    watch.sweep(at=timezone.now())
    client.get("/api/v1/me", headers=write_token)
    with django_assert_num_queries(2):  # token with membership, alerts page
        response = client.get("/api/v1/alerts", headers=write_token)
    assert len(response.json()["items"]) == n


def test_acting_on_an_alert_someone_already_resolved_is_a_409(client, manager, write_token):
    failing_engagement(manager.org, owner=manager.user)
    watch.sweep(at=timezone.now())
    alert = Alert.objects.get()
    note = {"note": "Vendor called back"}
    first = client.post(
        f"/api/v1/alerts/{alert.pk}/resolve", note, content_type=JSON, headers=write_token
    )
    assert first.status_code == 200 and first.json()["status"] == "resolved"
    again = client.post(
        f"/api/v1/alerts/{alert.pk}/acknowledge", note, content_type=JSON, headers=write_token
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"
    assert "changed meanwhile" in again.json()["error"]["message"]
