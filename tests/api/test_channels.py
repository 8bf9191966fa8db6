"""/api/v1/channels: an owner's script adds the on-call pager with an hourly reminder; members
read the channels (never a credential); managers cannot change them."""

import pytest

from accounts.models import TokenScope
from accounts.services import create_api_token
from engagements.alerts import services as alerts
from engagements.models import NotificationChannel
from tests.api.conftest import bearer

pytestmark = pytest.mark.django_db
JSON = "application/json"
SLACK_URL = "https://hooks.slack.com/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


@pytest.fixture
def owner_token(owner) -> dict[str, str]:
    return bearer(
        create_api_token(org=owner.org, user=owner.user, name="ops", scope=TokenScope.WRITE)[1]
    )


def test_an_owner_adds_an_hourly_pager_and_the_answer_never_holds_the_credentials(
    client, owner_token
):
    created = client.post(
        "/api/v1/channels",
        {"kind": "apprise", "name": "On-call", "apprise_url": SLACK_URL, "remind_hours": 1},
        content_type=JSON,
        headers=owner_token,
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["url"] == "slack://T...2/A...D/T...Q/"
    assert body["remind_hours"] == 1 and "apprise_url" not in body and "secret" not in body
    listed = client.get("/api/v1/channels", headers=owner_token).json()
    assert [c["name"] for c in listed["items"]] == ["On-call"]
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in str(listed)
    assert NotificationChannel.objects.get().apprise_url == SLACK_URL


def test_a_patch_changes_the_interval_and_a_sent_null_returns_to_the_policy(
    client, owner, owner_token
):
    channel = alerts.create_channel(
        org=owner.org, kind="apprise", name="Chat", apprise_url=SLACK_URL, remind_hours=24
    )
    path = f"/api/v1/channels/{channel.pk}"
    renamed = client.patch(path, {"name": "Team chat"}, content_type=JSON, headers=owner_token)
    assert renamed.json()["remind_hours"] == 24  # not sent: unchanged
    hourly = client.patch(path, {"remind_hours": 2}, content_type=JSON, headers=owner_token)
    assert (hourly.json()["name"], hourly.json()["remind_hours"]) == ("Team chat", 2)
    policy = client.patch(path, {"remind_hours": None}, content_type=JSON, headers=owner_token)
    assert policy.json()["remind_hours"] is None
    channel.refresh_from_db()
    assert (channel.apprise_url, channel.remind_hours) == (SLACK_URL, None)


def test_a_url_the_service_refuses_is_a_409_naming_the_field(client, owner_token):
    refused = client.post(
        "/api/v1/channels",
        {"kind": "apprise", "name": "Mail", "apprise_url": "mailto://me:pw@example.com"},
        content_type=JSON,
        headers=owner_token,
    )
    assert refused.status_code == 409
    assert "mailto:// is not allowed" in refused.json()["error"]["fields"]["apprise_url"][0]
    too_long = client.post(
        "/api/v1/channels",
        {"kind": "apprise", "name": "Pager", "apprise_url": SLACK_URL, "remind_hours": 721},
        content_type=JSON,
        headers=owner_token,
    )
    assert too_long.status_code == 422  # the schema says 0..720


def test_managers_read_channels_but_cannot_change_them_and_other_orgs_are_404(
    client, owner, write_token, outsider_token
):
    channel = alerts.create_channel(org=owner.org, kind="apprise", name="C", apprise_url=SLACK_URL)
    assert client.get("/api/v1/channels", headers=write_token).status_code == 200
    for response in (
        client.post("/api/v1/channels", {}, content_type=JSON, headers=write_token),
        client.patch(f"/api/v1/channels/{channel.pk}", {}, content_type=JSON, headers=write_token),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    theirs = client.get(f"/api/v1/channels/{channel.pk}", headers=outsider_token)
    assert theirs.status_code == 404
