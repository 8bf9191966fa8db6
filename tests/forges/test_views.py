"""The forges' pages: the owner's connections (secret shown once, rotation and revocation
confirmed), the deliveries log, triage, and the mapping on the engagement page."""

import pytest
from django.urls import reverse

from engagements.delivery.models import ActivityRule
from engagements.forges import services as forges
from engagements.forges.models import ForgeConnection, ForgeDelivery, ForgeRepository
from tests.forges.conftest import payload, send_github

pytestmark = pytest.mark.django_db


def test_an_owner_creates_a_connection_and_sees_its_secret_only_once(owner):
    client = owner.client()
    response = client.post(
        reverse("engagements:forge_create"), {"forge": "github", "name": "Studio"}
    )
    assert response.status_code == 200
    connection = ForgeConnection.objects.get()
    page = response.content.decode()
    assert connection.secret in page and connection.token in page
    again = client.get(reverse("engagements:forge_list")).content.decode()
    assert connection.secret not in again and connection.token in again  # the URL stays visible


def test_a_connection_without_a_name_shows_the_error_next_to_the_field(owner):
    response = owner.client().post(
        reverse("engagements:forge_create"), {"forge": "github", "name": ""}
    )
    assert response.status_code == 422
    assert 'id="connection_name_error"' in response.content.decode()
    assert not ForgeConnection.objects.exists()


def test_managers_and_viewers_cannot_manage_connections(manager, viewer, github):
    for member in (manager, viewer):
        client = member.client()
        assert client.get(reverse("engagements:forge_list")).status_code == 403
        assert client.post(reverse("engagements:forge_revoke", args=[github.pk])).status_code == 403


def test_rotating_asks_first_then_shows_the_new_secret_once(owner, github):
    client = owner.client()
    url = reverse("engagements:forge_rotate", args=[github.pk])
    asked = client.post(url)
    assert "Rotate the secret" in asked.content.decode()
    github.refresh_from_db()
    old = github.secret
    response = client.post(url, {"confirm": "yes"})
    github.refresh_from_db()
    assert github.secret != old and github.previous_secret == old
    assert github.secret in response.content.decode()


def test_revoking_asks_first(owner, github):
    client = owner.client()
    url = reverse("engagements:forge_revoke", args=[github.pk])
    client.post(url)
    github.refresh_from_db()
    assert github.revoked_at is None
    client.post(url, {"confirm": "yes"})
    github.refresh_from_db()
    assert github.revoked_at is not None


def test_the_deliveries_log_shows_why_a_call_was_refused(now, owner, github):
    send_github(github, "push", payload("github_push"), secret="wrong")
    page = (
        owner.client().get(reverse("engagements:forge_list") + "?status=refused").content.decode()
    )
    assert "bad signature" in page and "401" in page


def test_another_organizations_connection_is_404(outsider, github):
    client = outsider.client()
    for name in ("forge_rotate", "forge_revoke"):
        url = reverse(f"engagements:{name}", args=[github.pk])
        assert client.post(url, {"confirm": "yes"}).status_code == 404
    github.refresh_from_db()
    assert github.revoked_at is None


def test_triage_lists_unmapped_repositories_and_a_manager_assigns_one(
    now, github, manager, engagement
):
    send_github(github, "push", payload("github_push"))
    send_github(github, "pull_request", payload("github_pull_request_opened"))
    client = manager.client()
    page = client.get(reverse("engagements:forge_triage")).content.decode()
    assert "northwind-studio/reports" in page and "2 deliveries waiting" in page
    response = client.post(
        reverse("engagements:forge_triage_assign"),
        {"forge": "github", "repository": "northwind-studio/reports", "engagement": engagement.pk},
    )
    assert response.status_code == 302
    assert set(ForgeDelivery.objects.values_list("status", flat=True)) == {"routed"}
    assert engagement.activities.count() == 2


def test_a_viewer_reads_triage_but_cannot_assign(viewer, engagement):
    client = viewer.client()
    assert client.get(reverse("engagements:forge_triage")).status_code == 200
    response = client.post(
        reverse("engagements:forge_triage_assign"),
        {"forge": "github", "repository": "x/y", "engagement": engagement.pk},
    )
    assert response.status_code == 403


@pytest.mark.parametrize("n", [1, 20])
def test_the_triage_list_and_deliveries_log_query_counts_are_flat(
    now, owner, github, n, django_assert_num_queries
):
    for i in range(n):
        body = payload("github_push").replace(
            b"Northwind-Studio/Reports", f"vendor/repo-{i}".encode()
        )
        send_github(github, "push", body)
    client = owner.client()
    client.get(reverse("engagements:forge_triage"))
    # session, user, memberships, the waiting repositories, the engagements to choose from
    with django_assert_num_queries(5):
        client.get(reverse("engagements:forge_triage"))
    with django_assert_num_queries(5):  # session, user, memberships, connections, the log
        client.get(reverse("engagements:forge_list"))


def test_a_manager_maps_a_repository_on_the_engagement_page_with_htmx(manager, engagement, report):
    response = manager.client().post(
        reverse("engagements:repository_map", args=[engagement.pk]),
        {"forge": "gitlab", "repository": "https://gitlab.com/Northwind/Acme/Data-Pipeline.git"},
        headers={"HX-Request": "true", "HX-Target": "code-activity"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="code-activity"')
    assert "northwind/acme/data-pipeline" in body
    assert ForgeRepository.objects.get().engagement == engagement


def test_a_repository_mapped_elsewhere_is_refused_next_to_its_field(manager, engagement, org):
    from tests.factories import EngagementFactory

    other = EngagementFactory(org=org, owner=manager.user, title="Other work")
    forges.map_repository(engagement=other, by=manager.user, forge="github", repository="a/b")
    response = manager.client().post(
        reverse("engagements:repository_map", args=[engagement.pk]),
        {"forge": "github", "repository": "a/b"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="repository_repository_error"' in page and "Other work" in page


def test_a_manager_adds_and_removes_a_deliverable_rule(manager, engagement, report):
    client = manager.client()
    response = client.post(
        reverse("engagements:activity_rule_add", args=[engagement.pk]),
        {"deliverable": report.pk, "match": "label", "pattern": "reporting"},
    )
    assert response.status_code == 302 and response["Location"].endswith("#code-activity")
    rule = ActivityRule.objects.get(match="label")
    url = reverse("engagements:activity_rule_remove", args=[rule.pk])
    assert "Remove the rule" in client.post(url).content.decode()  # asks first
    assert ActivityRule.objects.filter(pk=rule.pk).exists()
    client.post(url, {"confirm": "yes"})
    assert not ActivityRule.objects.filter(pk=rule.pk).exists()


def test_the_engagement_page_shows_the_sparkline_the_mapping_and_recent_work(
    now, manager, github, mapped
):
    send_github(github, "push", payload("github_push"))
    page = manager.client().get(reverse("engagements:engagement_detail", args=[mapped.pk]))
    body = page.content.decode()
    assert 'class="activity-bars"' in body and "<rect" in body
    assert (
        "northwind-studio/reports" in body and "Branch name (glob) <code>reports/*</code>" in body
    )
    assert "reports/q3-revenue" in body


def test_the_dashboard_row_shows_code_activity(now, manager, github, mapped):
    from engagements.watch import services as watch

    send_github(github, "push", payload("github_push"))
    watch.sweep(at=now, engagement_ids=[mapped.pk])
    body = manager.client().get(reverse("engagements:dashboard")).content.decode()
    assert "Code activity over the last 30 days: 1" in body


def test_another_organization_cannot_map_or_remove(outsider, engagement, report, manager):
    rule = ActivityRule.objects.get()
    client = outsider.client()
    assert (
        client.post(
            reverse("engagements:repository_map", args=[engagement.pk]),
            {"forge": "github", "repository": "a/b"},
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("engagements:activity_rule_remove", args=[rule.pk]), {"confirm": "yes"}
        ).status_code
        == 404
    )
