"""Alerts where people talk: Apprise channels (Slack, Teams, ntfy, any JSON receiver…) are
checked when saved, never show their credentials back, and deliver through the same outbox
(idempotency, retries, backoff, SSRF guard) as webhooks.

Every receiver here is a local HTTP(S) server thread on loopback: Apprise's generic ``json://``
target, a server playing Slack's incoming webhook (Apprise's Slack endpoint pointed at it),
and a TLS server playing a Teams Workflows webhook. Nothing leaves the machine.
"""

import json
import socket
import ssl
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from apprise.plugins.slack import NotifySlack
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Organization
from accounts.portability import export_organization, import_organization
from engagements.alerts import chat, outbox
from engagements.alerts import services as alerts
from engagements.models import Alert, Notification, NotificationChannel, NotificationState
from engagements.watch import services as watch
from tests.factories import EngagementFactory, VendorFactory

pytestmark = pytest.mark.django_db

SLACK_TOKENS = "T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"
SLACK_URL = f"https://hooks.slack.com/services/{SLACK_TOKENS}"
WORKFLOW_ID, WORKFLOW_SIG = "643e69f83c8944438d68119179a10a64", "KODuebWbDGYFr0z0eu6Rj8aUKz7108W3"


class Receiver:
    """A local HTTP(S) server recording each request (path, headers, JSON body); ``answer`` is
    the status it returns, ``location`` a Location header to send with it."""

    def __init__(self, *, answer: int = 200, tls: ssl.SSLContext | None = None, port: int = 0):
        self.answer, self.location = answer, ""
        self.requests: list[tuple[str, dict, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((self.path, dict(self.headers), json.loads(body or b"{}")))
                self.send_response(receiver.answer)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def bodies(self) -> list[dict]:
        return [body for _, _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True  # it listens on loopback, as webhook tests do
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def slack(receiver, monkeypatch):
    """Apprise's Slack plugin posts to our receiver instead of hooks.slack.com."""
    monkeypatch.setattr(NotifySlack, "webhook_url", f"http://127.0.0.1:{receiver.port}/services")
    return receiver


def alerting(owner, **kwargs):
    """An engagement silent for 40 days: the sweep opens an alert on it."""
    vendor = VendorFactory(org=owner.org, name="Acme Dev")
    return EngagementFactory(
        org=owner.org,
        owner=owner.user,
        vendor=vendor,
        activated_at=timezone.now() - timedelta(days=40),
        **kwargs,
    )


def sweep_and_dispatch() -> int:
    watch.sweep(at=timezone.now())
    return outbox.dispatch_outbox()


# --- saving: the URL is checked, and never shown back ------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mailto://me:pw@gmail.com", "mailto:// is not allowed"),
        ("file:///etc/passwd", "file:// is not allowed"),
        ("syslog://", "syslog:// is not allowed"),
        ("windows://", "windows:// is not allowed"),
        (f"slack://{SLACK_TOKENS}?template=/etc/passwd", "Remove template="),
        ("tgram://123", "should look like tgram://BOT_TOKEN/CHAT_ID"),
        ("https://example.com/hook", "add a Webhook channel instead"),
        ("slack", "starts with its service"),
        ("", "Paste the service's Apprise URL"),
    ],
)
def test_an_apprise_url_that_is_not_allowed_or_not_readable_is_refused_with_the_reason(
    owner, url, why
):
    with pytest.raises(ValidationError) as refused:
        alerts.create_channel(org=owner.org, kind="apprise", name="Chat", apprise_url=url)
    (message,) = refused.value.message_dict["apprise_url"]
    assert why in message
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in message
    assert not NotificationChannel.objects.exists()


def test_slack_teams_and_json_urls_are_kept_whole_and_shown_masked(owner):
    native = alerts.create_channel(org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL)
    teams = alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Teams",
        apprise_url=f"workflows://127.0.0.1:9443/{WORKFLOW_ID}/{WORKFLOW_SIG}",
    )
    generic = alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Pager",
        apprise_url="jsons://bot:hunter2pass@127.0.0.1:9/hooks/abcdefghijklmnopqrstuvwxyz",
    )
    assert native.apprise_url == SLACK_URL
    assert native.url == "slack://T...2/A...D/T...Q/"
    assert teams.url == "workflow://127.0.0.1:9443/6...4/K...3/"
    assert generic.url == "jsons://bot:****@127.0.0.1:9/hooks/a...z/"
    for channel in (native, teams, generic):
        assert chat.service_label(channel.url) in ("Slack", "Microsoft Teams", "JSON POST")
        assert channel.secret == ""  # no signing secret: the service's own credentials rule


def test_the_credentials_never_show_on_the_page_in_the_audit_trail_or_in_the_export(owner):
    channel = alerts.create_channel(
        org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL
    )
    alerts.update_channel(channel=channel, name="Eng alerts", remind_hours=1)
    secret = "TIiajkdnlazkcOXrIdevi7FQ"
    page = owner.client().get(reverse("engagements:notification_settings")).text
    assert (
        "Eng alerts" in page and "slack://T...2/A...D/T...Q/" in page and "Slack (Apprise)" in page
    )
    edit = owner.client().get(reverse("engagements:channel_update", args=[channel.pk])).text
    assert "credentials hidden" in edit
    trail = owner.client().get(reverse("accounts:audit_list")).text
    assert "Remind every (hours)" in trail
    for text in (page, edit, trail, export_organization(owner.org).decode("latin-1")):
        assert secret not in text
        assert "A1BRTD4JD" not in text


def test_an_imported_apprise_channel_comes_back_paused_without_its_url(owner, tmp_path):
    alerts.create_channel(org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL)
    restored = Organization.objects.create(name="Restored", slug="restored")
    report = import_organization(org=restored, data=export_organization(owner.org))
    channel = NotificationChannel.unscoped.get(org=restored)
    assert (channel.apprise_url, channel.is_active) == ("", False)
    assert channel.url == "slack://T...2/A...D/T...Q/"  # people still see where it went
    assert report.missing_secrets == ["notification channel 'Eng'"]
    with pytest.raises(ValidationError, match="Paste the service's Apprise URL"):
        alerts.update_channel(channel=channel, name="Eng", is_active=True)
    alerts.update_channel(channel=channel, name="Eng", apprise_url=SLACK_URL, is_active=True)
    channel.refresh_from_db()
    assert (channel.apprise_url, channel.is_active) == (SLACK_URL, True)


# --- delivering through the outbox ---------------------------------------------------------------


def test_a_json_receiver_gets_the_alert_once_with_its_idempotency_key(owner, receiver, settings):
    settings.SITE_URL = "https://vw.example.com"
    alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Ops JSON",
        apprise_url=f"json://127.0.0.1:{receiver.port}/alerts",
    )
    engagement = alerting(owner, title="Website rebuild")
    assert sweep_and_dispatch() == 1
    assert outbox.dispatch_outbox() == 0  # nothing sent twice
    notification = Notification.objects.get()
    alert = Alert.objects.get(engagement=engagement)
    ((path, headers, body),) = receiver.requests
    assert path == "/alerts"
    assert headers["Idempotency-Key"] == notification.idempotency_key
    label = {"watch": "Watch", "warning": "Warning", "cut_losses": "Cut your losses"}[alert.level]
    assert body["title"] == f"{label}: Website rebuild"
    assert body["type"] in ("info", "warning", "failure")
    assert f"(https://vw.example.com/alerts/{alert.pk}/)" in body["message"]
    assert "Acme Dev" in body["message"]
    assert (notification.state, notification.attempts) == (NotificationState.SENT, 1)


def test_slack_gets_a_block_kit_message_with_level_engagement_top_signals_and_a_button(
    owner, slack, settings
):
    settings.SITE_URL = "https://vw.example.com"
    alerts.create_channel(org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL)
    engagement = alerting(owner, title="Rebuild <site> & app")
    assert sweep_and_dispatch() == 1
    alert = Alert.objects.get(engagement=engagement)
    ((path, _, body),) = slack.requests
    assert path == f"/services/{SLACK_TOKENS}"
    (attachment,) = body["attachments"]
    assert attachment["color"] == chat.SLACK_COLORS[alert.level]
    header, facts, signals, actions, footer = attachment["blocks"]
    assert header["type"] == "header"
    assert header["text"]["text"].endswith("Rebuild &lt;site&gt; &amp; app")
    fields = [f["text"] for f in facts["fields"]]
    assert f"*Level*\n{chat.LEVEL_LABELS[alert.level]}" in fields
    assert "*Engagement*\nRebuild &lt;site&gt; &amp; app" in fields
    assert "*Vendor*\nAcme Dev" in fields
    assert any(f.startswith("*Health*\n") and f.endswith("/100") for f in fields)
    lines = signals["text"]["text"].splitlines()
    assert 1 <= len(lines) <= chat.TOP_SIGNALS + 1
    assert lines[0].startswith("• *") and "*: " in lines[0]
    (button,) = actions["elements"]
    assert button["url"] == f"https://vw.example.com/alerts/{alert.pk}/"
    assert button["text"]["text"] == "Open the alert"
    assert footer["elements"][0]["text"] == "Vendorwatch"


def test_a_channels_test_message_says_it_works_with_a_link_to_the_settings(owner, slack):
    channel = alerts.create_channel(
        org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL
    )
    alerts.send_test_notification(channel=channel)
    assert outbox.dispatch_outbox() == 1
    blocks = slack.bodies[0]["attachments"][0]["blocks"]
    assert blocks[0]["text"]["text"] == "Vendorwatch test notification"
    assert "This channel works" in blocks[2]["text"]["text"]
    assert blocks[3]["elements"][0]["url"].endswith("/notifications/")


@pytest.fixture
def tls_receiver(settings, tmp_path, monkeypatch):
    """A TLS receiver on 127.0.0.1 with a certificate made for the test, trusted by requests."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    made = subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        capture_output=True,
        check=False,
    )
    if made.returncode:
        pytest.skip(f"openssl cannot make a test certificate: {made.stderr[:200]!r}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
    server = Receiver(answer=202, tls=context)
    yield server
    server.close()


def test_teams_gets_an_adaptive_card_with_the_facts_the_signals_and_an_open_button(
    owner, tls_receiver, settings
):
    settings.SITE_URL = "https://vw.example.com"
    alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Teams",
        apprise_url=f"workflows://127.0.0.1:{tls_receiver.port}/{WORKFLOW_ID}/{WORKFLOW_SIG}",
    )
    engagement = alerting(owner, title="Data_pipeline *v2*")
    assert sweep_and_dispatch() == 1
    alert = Alert.objects.get(engagement=engagement)
    ((path, _, body),) = tls_receiver.requests
    assert path.startswith(f"/workflows/{WORKFLOW_ID}/triggers/manual/paths/invoke?")
    assert f"sig={WORKFLOW_SIG}" in path
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    banner, facts, signals = card["body"]
    assert banner["style"] == chat.TEAMS_STYLES[alert.level]
    assert banner["items"][0]["text"] == chat.LEVEL_LABELS[alert.level]
    assert banner["items"][1]["text"].endswith(r"Data\_pipeline \*v2\*")  # literal, not Markdown
    named = {f["title"]: f["value"] for f in facts["facts"]}
    assert named["Vendor"] == "Acme Dev" and named["Health"].endswith("/100")
    assert signals["text"].startswith("- **")
    (action,) = card["actions"]
    assert action == {
        "type": "Action.OpenUrl",
        "title": "Open the alert",
        "url": f"https://vw.example.com/alerts/{alert.pk}/",
    }


def test_a_receiver_that_fails_is_retried_with_backoff_and_gets_it_once_when_back(owner, receiver):
    receiver.answer = 503
    alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Ops JSON",
        apprise_url=f"json://bot:hunter2pass@127.0.0.1:{receiver.port}/alerts",
    )
    alerting(owner)
    assert sweep_and_dispatch() == 0
    n = Notification.objects.get()
    assert (n.state, n.attempts) == (NotificationState.PENDING, 1)
    assert n.last_error.startswith("attempt 1: NotDelivered: JSON POST: ")
    assert "503" in n.last_error and "hunter2pass" not in n.last_error
    assert n.next_attempt_at - n.claimed_at == outbox.backoff(1)
    assert outbox.dispatch_outbox(at=n.next_attempt_at - timedelta(seconds=1)) == 0  # not yet
    receiver.answer = 200
    assert outbox.dispatch_outbox(at=n.next_attempt_at) == 1
    assert outbox.dispatch_outbox(at=n.next_attempt_at + timedelta(hours=2)) == 0
    n.refresh_from_db()
    assert (n.state, n.attempts, n.last_error) == (NotificationState.SENT, 2, "")
    keys = [headers["Idempotency-Key"] for _, headers, _ in receiver.requests]
    assert keys == [n.idempotency_key] * 2  # the failed try and the one that landed


def test_a_redirect_is_a_failure_and_is_not_followed(owner, receiver):
    other = Receiver()
    try:
        receiver.answer, receiver.location = 302, f"http://127.0.0.1:{other.port}/inside"
        alerts.create_channel(
            org=owner.org,
            kind="apprise",
            name="Redirects",
            apprise_url=f"json://127.0.0.1:{receiver.port}/alerts",
        )
        alerting(owner)
        assert sweep_and_dispatch() == 0
        assert len(receiver.requests) == 1 and other.requests == []
        assert Notification.objects.get().state == NotificationState.PENDING
    finally:
        other.close()


# --- the SSRF guard: at save time, and on every connection Apprise makes -------------------------


def test_in_production_a_private_apprise_host_is_refused_when_saved(owner, settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    for url in (
        "json://127.0.0.1:8080/hook",
        "ntfy://10.1.2.3/topic",
        f"workflows://169.254.169.254/{WORKFLOW_ID}/{WORKFLOW_SIG}",
    ):
        with pytest.raises(ValidationError) as refused:
            alerts.create_channel(org=owner.org, kind="apprise", name="Inside", apprise_url=url)
        assert "points at a private address" in refused.value.message_dict["apprise_url"][0]


def test_the_guard_checks_the_host_apprise_really_dials_not_only_the_url(owner, slack, settings):
    # Slack's URL names no host (its tokens): Apprise dials hooks.slack.com itself. Pointed at
    # loopback here, as DNS that changed after the save would do, the connection is refused
    # before anything is sent.
    alerts.create_channel(org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL)
    alerting(owner)
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    assert sweep_and_dispatch() == 0
    assert slack.requests == []
    n = Notification.objects.get()
    assert n.state == NotificationState.PENDING
    assert "private address (127.0.0.1)" in n.last_error


def test_the_guard_is_off_outside_the_send_so_other_http_clients_are_untouched(receiver, settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = False
    with (
        chat.ssrf.guarded_connections(),
        pytest.raises(requests.ConnectionError, match="private address"),
    ):
        requests.post(f"http://127.0.0.1:{receiver.port}/x", timeout=2)
    assert requests.post(f"http://127.0.0.1:{receiver.port}/x", timeout=2).ok
    assert len(receiver.requests) == 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_channel_whose_service_is_down_records_why(owner, settings):
    settings.HEALTH_WEBHOOK_ALLOW_PRIVATE = True
    settings.HEALTH_WEBHOOK_TIMEOUT = 1
    alerts.create_channel(
        org=owner.org,
        kind="apprise",
        name="Down",
        apprise_url=f"json://127.0.0.1:{_free_port()}/alerts",
    )
    alerting(owner)
    assert sweep_and_dispatch() == 0
    error = Notification.objects.get().last_error
    assert "NotDelivered: JSON POST:" in error and "refused" in error.lower()


# --- the notification settings page --------------------------------------------------------------


def test_an_owner_adds_a_slack_channel_from_the_page_and_sees_it_masked(owner):
    response = owner.client().post(
        reverse("engagements:channel_create"),
        {"kind": "apprise", "name": "Eng chat", "apprise_url": SLACK_URL, "remind_hours": "24"},
    )
    assert response.status_code == 302
    channel = NotificationChannel.objects.get()
    assert (channel.kind, channel.apprise_url, channel.remind_hours) == ("apprise", SLACK_URL, 24)
    page = owner.client().get(reverse("engagements:notification_settings")).text
    assert "Slack (Apprise) · " in page and "reminders every 24 h" in page
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in page
    # The examples of every allowed service are on the page, for the person filling it in.
    for service in chat.SERVICES:
        assert f"<dt>{service.label}</dt>" in page


def test_a_refused_apprise_url_is_explained_next_to_the_field_as_typed(owner):
    response = owner.client().post(
        reverse("engagements:channel_create"),
        {"kind": "apprise", "name": "Mail", "apprise_url": "mailto://me:pw@mail.example.com"},
    )
    assert response.status_code == 422
    field = response.text.split('id="id_apprise_url"', 1)[1].split("</div>", 1)[0]
    assert "mailto:// is not allowed" in field
    assert "autofocus" in response.text.split('id="id_apprise_url"', 1)[0].rsplit("<input", 1)[1]
    assert not NotificationChannel.objects.exists()
    missing = owner.client().post(
        reverse("engagements:channel_create"), {"kind": "apprise", "name": "Chat"}
    )
    assert "needs its Apprise URL" in missing.text


def test_an_apprise_channel_is_edited_without_retyping_its_url(owner):
    channel = alerts.create_channel(
        org=owner.org, kind="apprise", name="Eng", apprise_url=SLACK_URL
    )
    edit = reverse("engagements:channel_update", args=[channel.pk])
    form = owner.client().get(edit).text
    assert f'id="ch{channel.pk}_apprise_url"' in form and f'id="ch{channel.pk}_url"' not in form
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in form
    owner.client().post(edit, {"name": "Eng alerts", "apprise_url": "", "is_active": "on"})
    channel.refresh_from_db()
    assert (channel.name, channel.apprise_url) == ("Eng alerts", SLACK_URL)
    owner.client().post(
        edit, {"name": "Eng alerts", "apprise_url": "ntfys://ntfy.sh/vw-eng", "is_active": "on"}
    )
    channel.refresh_from_db()
    assert (channel.apprise_url, channel.url) == (
        "ntfys://ntfy.sh/vw-eng",
        "ntfys://ntfy.sh/vw-eng/",
    )


def test_managers_cannot_add_apprise_channels_and_other_orgs_channels_are_404(
    owner, manager, outsider
):
    response = manager.client().post(
        reverse("engagements:channel_create"),
        {"kind": "apprise", "name": "Eng", "apprise_url": SLACK_URL},
    )
    assert response.status_code == 403
    theirs = alerts.create_channel(
        org=outsider.org, kind="apprise", name="Theirs", apprise_url=SLACK_URL
    )
    edit = reverse("engagements:channel_update", args=[theirs.pk])
    assert owner.client().get(edit).status_code == 404
    assert owner.client().post(edit, {"name": "Mine"}).status_code == 404
