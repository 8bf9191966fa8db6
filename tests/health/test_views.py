"""The dashboard, an engagement's health fragment, acting on alerts, notification settings."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from engagements.delivery import services as delivery
from engagements.models import Alert, AlertStatus, EngagementStatus, NotificationChannel
from engagements.watch import services as watch
from tests.factories import EngagementFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def failing(owner):
    """An engagement whose vendor has been silent for 40 days, swept: an open alert."""
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    watch.sweep(at=timezone.now())
    return engagement


def alert_of(engagement) -> Alert:
    return Alert.objects.get(engagement=engagement)


def test_dashboard_lists_engagements_by_risk_with_counts_and_open_alerts(failing, manager):
    EngagementFactory(org=manager.org, title="Calm work", activated_at=timezone.now())
    watch.sweep(at=timezone.now())
    response = manager.client().get(reverse("engagements:dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.index(failing.title) < html.index("Calm work")
    assert "no held contact since the start" in html
    assert 'id="alert-list"' in html and "Acknowledge" in html
    assert "<polyline" in html


def test_dashboard_polling_returns_only_the_live_fragment(failing, viewer):
    response = viewer.client().get(
        reverse("engagements:dashboard"), headers=HTMX | {"HX-Target": "dashboard-live"}
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dashboard-live"')
    assert "<h1>" not in html
    assert "Acknowledge" not in html  # viewers see no actions anywhere


def test_dashboard_filters_by_level_and_shows_an_empty_state(failing, manager):
    response = manager.client().get(reverse("engagements:dashboard"), {"level": "healthy"})
    assert "No engagement matches these filters." in response.content.decode()


# session, user, memberships, owners and vendors (the filter form), the last sweep
PAGE_QUERIES = 6
# on a miss: alerts and their count; the risk table's rows, sparklines (health, code activity)
# and counts by level
MISS_QUERIES = 6


@pytest.mark.parametrize("n", [1, 15])
def test_dashboard_query_count_is_flat(manager, n, django_assert_num_queries):
    for _ in range(n):
        EngagementFactory(org=manager.org, activated_at=timezone.now() - timedelta(days=40))
    watch.sweep(at=timezone.now())
    client = manager.client()
    client.get(reverse("accounts:member_list"))  # the session learns its organization
    with django_assert_num_queries(PAGE_QUERIES + MISS_QUERIES):
        client.get(reverse("engagements:dashboard"))
    with django_assert_num_queries(PAGE_QUERIES):  # nothing changed: served from the cache
        client.get(reverse("engagements:dashboard"))


def test_the_cached_dashboard_shows_what_the_next_sweep_changed(owner):
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=5)
    )
    watch.sweep(at=timezone.now())
    client = owner.client()
    assert "No open alerts." in client.get(reverse("engagements:dashboard")).content.decode()
    watch.sweep(at=timezone.now() + timedelta(days=40))  # the vendor went silent
    html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "No open alerts." not in html
    assert f"{engagement.title}</a> <small" in html  # in the alert list
    assert "no held contact since the start" in html  # in the risk table


def test_an_engagement_renamed_shows_on_the_cached_dashboard_at_once(failing, owner):
    client = owner.client()
    client.get(reverse("engagements:dashboard"))
    # Renamed through the service the UI and the API use (it marks the dashboards stale).
    delivery.update_engagement(engagement=failing, by=owner.user, title="Website relaunch, phase 2")
    assert (
        "Website relaunch, phase 2" in client.get(reverse("engagements:dashboard")).content.decode()
    )


def test_a_cached_alert_list_carries_each_visitors_own_csrf_token(failing, owner, manager):
    from django.test import Client

    owner.client().get(reverse("engagements:dashboard"))  # fills the cache
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager.user)
    html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "csrf-token-of-the-request" not in html
    token = html.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        reverse("engagements:alert_acknowledge", args=[alert_of(failing).pk]),
        {"note": "on it", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert alert_of(failing).status == AlertStatus.ACKNOWLEDGED


def test_the_dashboard_cache_holds_rows_not_html(failing, owner, monkeypatch):
    """Cached HTML would carry one visitor's forms (and CSRF token) to the next: rows only."""
    from engagements.alerts import views

    stored = {}

    class Recording:
        def get(self, key, default=None):
            return stored.get(key, default)

        def set(self, key, value, timeout=None):
            stored[key] = value

    monkeypatch.setattr(views, "cache", Recording())
    html = owner.client().get(reverse("engagements:dashboard")).content.decode()
    assert len(stored) == 2 and all(isinstance(rows, dict) for rows in stored.values())
    assert not any(
        isinstance(v, str) and "<" in v for rows in stored.values() for v in rows.values()
    )
    assert [a.engagement for a in next(r["alerts"] for r in stored.values() if "alerts" in r)] == [
        failing
    ]
    assert 'id="alert-list"' in html and f"{failing.title}</a>" in html


def test_the_risk_table_pages_through_a_large_organization(owner):
    EngagementFactory.create_batch(
        53, org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=1)
    )
    watch.sweep(at=timezone.now())
    client = owner.client()
    first = client.get(reverse("engagements:dashboard")).content.decode()
    assert first.count('class="sparkline"') == 50 and "1\u201350, riskiest first" in first
    assert "?page=2" in first
    second = client.get(reverse("engagements:dashboard"), {"page": 2}).content.decode()
    assert (
        second.count('class="sparkline"') == 3 and "51\u201353" in second and "← Riskier" in second
    )
    for odd in ("abc", "-3", "0"):
        response = client.get(reverse("engagements:dashboard"), {"page": odd})
        assert response.status_code == 200 and "1\u201350" in response.content.decode()
    beyond = client.get(reverse("engagements:dashboard"), {"page": 99}).content.decode()
    assert "No more engagements." in beyond


def test_the_dashboard_says_when_the_watcher_last_checked_and_warns_when_it_stopped(
    owner, settings
):
    client = owner.client()
    html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "The watcher has not" not in html  # nothing to watch yet: nothing to worry about
    EngagementFactory(org=owner.org, activated_at=timezone.now() - timedelta(days=1))
    html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "The watcher has not checked any engagement yet" in html
    watch.sweep(at=timezone.now())
    html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "The watcher last checked every active engagement" in html
    assert "has not finished a check" not in html
    later = timezone.now() + 3 * timedelta(seconds=settings.HEALTH_SWEEP_INTERVAL_SECONDS)
    with time_machine.travel(later + timedelta(minutes=1)):  # the worker died: no sweep since
        html = client.get(reverse("engagements:dashboard")).content.decode()
    assert "The watcher has not finished a check since" in html
    assert "Is the Celery worker (and beat) running?" in html


def test_acknowledging_in_place_re_renders_the_alert_list(failing, manager):
    alert = alert_of(failing)
    response = manager.client().post(
        reverse("engagements:alert_acknowledge", args=[alert.pk]),
        {"note": "calling them today"},
        headers=HTMX | {"HX-Target": "alert-list"},
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card" id="alert-list"')
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.events.get(kind="acknowledged").note == "calling them today"


def test_snoozing_into_the_past_shows_the_message_next_to_the_alert(failing, manager):
    alert = alert_of(failing)
    past = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    url = reverse("engagements:alert_snooze", args=[alert.pk])
    response = manager.client().post(
        url, {"until": past}, headers=HTMX | {"HX-Target": "alert-list"}
    )
    assert response.status_code == 200
    assert "Snooze until a moment in the future." in response.content.decode()
    plain = manager.client().post(url, {"until": past})
    assert plain.status_code == 422
    assert alert_of(failing).status == AlertStatus.OPEN


def test_resolving_from_the_engagement_health_fragment(failing, manager):
    alert = alert_of(failing)
    response = manager.client().post(
        reverse("engagements:alert_resolve", args=[alert.pk]),
        {"note": "vendor replaced"},
        headers=HTMX | {"HX-Target": "engagement-health"},
    )
    assert (
        response.content.decode()
        .lstrip()
        .startswith('<section class="card" id="engagement-health"')
    )
    assert alert_of(failing).status == AlertStatus.RESOLVED


def test_the_engagement_health_fragment_shows_score_signals_and_alert(failing, viewer):
    response = viewer.client().get(reverse("engagements:engagement_health", args=[failing.pk]))
    html = response.content.decode()
    assert "Missed contact" in html and "cadence 7 + grace 3" in html
    assert "details and cut-your-losses summary" in html


def test_the_alert_page_shows_the_summary_and_terminates_in_one_click(failing, manager):
    alert = alert_of(failing)
    page = manager.client().get(reverse("engagements:alert_detail", args=[alert.pk]))
    assert "Cut-your-losses summary" in page.content.decode()
    response = manager.client().post(
        reverse("engagements:engagement_terminate", args=[failing.pk]), {"reason": "silent"}
    )
    assert response.status_code == 302
    failing.refresh_from_db()
    assert failing.status == EngagementStatus.TERMINATED
    assert alert_of(failing).status == AlertStatus.RESOLVED


def test_terminating_without_a_reason_is_refused_with_a_message(failing, manager):
    response = manager.client().post(
        reverse("engagements:engagement_terminate", args=[failing.pk]), {"reason": ""}
    )
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("alert_acknowledge", "post"),
        ("alert_snooze", "post"),
        ("alert_resolve", "post"),
        ("alert_detail", "get"),
    ],
)
def test_another_organizations_alert_is_not_found(failing, outsider, name, method):
    url = reverse(f"engagements:{name}", args=[alert_of(failing).pk])
    response = getattr(outsider.client(), method)(url, {"note": "x"})
    assert response.status_code == 404
    assert alert_of(failing).status == AlertStatus.OPEN


def test_another_organizations_engagement_health_and_termination_are_not_found(failing, outsider):
    client = outsider.client()
    assert (
        client.get(reverse("engagements:engagement_health", args=[failing.pk])).status_code == 404
    )
    url = reverse("engagements:engagement_terminate", args=[failing.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404


@pytest.mark.parametrize("name", ["alert_acknowledge", "alert_snooze", "alert_resolve"])
def test_a_viewer_cannot_act_on_alerts(failing, viewer, name):
    url = reverse(f"engagements:{name}", args=[alert_of(failing).pk])
    assert viewer.client().post(url, {"note": "x"}).status_code == 403


def test_wrong_methods_are_refused(failing, manager):
    client = manager.client()
    alert = alert_of(failing)
    assert client.get(reverse("engagements:alert_acknowledge", args=[alert.pk])).status_code == 405
    assert client.post(reverse("engagements:alert_detail", args=[alert.pk])).status_code == 405
    assert client.post(reverse("engagements:dashboard")).status_code == 405
    assert (
        client.post(reverse("engagements:engagement_health", args=[failing.pk])).status_code == 405
    )
    assert (
        client.get(reverse("engagements:engagement_terminate", args=[failing.pk])).status_code
        == 405
    )
    assert client.get(reverse("engagements:channel_test", args=[1])).status_code == 405


def test_an_owner_adds_a_webhook_and_sends_a_test(owner, settings):
    client = owner.client()
    response = client.post(
        reverse("engagements:channel_create"),
        {"kind": "webhook", "name": "Ops", "url": "https://hooks.example.com/vw"},
    )
    assert response.status_code == 302
    channel = NotificationChannel.objects.get()
    assert len(channel.secret) == 64
    client.post(reverse("engagements:channel_test", args=[channel.pk]))
    assert channel.notifications.get().is_test


def test_a_private_webhook_address_is_refused_in_production(owner, settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    response = owner.client().post(
        reverse("engagements:channel_create"),
        {"kind": "webhook", "name": "Internal", "url": "http://10.0.0.5/hook"},
    )
    assert response.status_code == 422
    assert "points at a private address" in response.content.decode()
    assert not NotificationChannel.objects.exists()


def test_a_manager_cannot_change_channels_but_a_viewer_may_turn_off_the_digest(manager, viewer):
    url = reverse("engagements:channel_create")
    assert manager.client().post(url, {"kind": "email", "name": "x"}).status_code == 403
    assert viewer.client().post(reverse("engagements:channel_create"), {}).status_code == 403
    response = viewer.client().post(reverse("engagements:digest_toggle"), {})
    assert response.status_code == 302
    page = viewer.client().get(reverse("engagements:notification_settings"))
    assert 'name="daily_digest" checked' not in page.content.decode()


def test_the_engagement_page_loads_just_the_health_region(manager):
    from django.urls import reverse

    from tests.factories import EngagementFactory

    engagement = EngagementFactory(org=manager.org)
    response = manager.client().get(
        reverse("engagements:engagement_health", args=[engagement.pk]),
        headers={"HX-Request": "true", "HX-Target": "engagement-health"},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section class="card" id="engagement-health"')
    assert "<h1>" not in response.text


def test_owners_see_a_webhook_channels_signing_secret_and_viewers_do_not(owner, viewer):
    from django.urls import reverse

    from engagements.alerts.services import create_channel

    channel = create_channel(
        org=owner.org, kind="webhook", name="Chat", url="https://hooks.example.com/x"
    )
    assert channel.secret
    assert channel.secret in owner.client().get(reverse("engagements:notification_settings")).text
    assert (
        channel.secret not in viewer.client().get(reverse("engagements:notification_settings")).text
    )
