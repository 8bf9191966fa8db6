"""A manager acts on an alert, the watcher refuses (a snooze in the past, a resolve without a
reason, a note too long): whatever they typed stays in the form, the reason sits next to the
field, on the alert page, on the dashboard (htmx) and on the engagement's health fragment."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from engagements.models import Alert, AlertStatus
from engagements.watch import services as watch
from tests.factories import EngagementFactory
from tests.html_forms import form_values

NOTE = "Vendor on holiday, Ana calls them Monday <b>&</b> we decide then."
PAST = "2020-01-01T09:30"
TOO_LONG = "x" * 1001

# Where the alert's forms are shown: the request's htmx headers, the region that comes back.
PLACES = {
    "alert page": {},
    "dashboard": {"HX-Request": "true", "HX-Target": "alert-list"},
    "engagement health": {"HX-Request": "true", "HX-Target": "engagement-health"},
}


@pytest.fixture
def alert(manager) -> Alert:
    EngagementFactory(
        org=manager.org, owner=manager.user, activated_at=timezone.now() - timedelta(days=40)
    )
    watch.sweep(at=timezone.now())
    return Alert.objects.get()


def _post(manager, alert, action, data, place):
    url = reverse(f"engagements:alert_{action}", args=[alert.pk])
    response = manager.client().post(url, data, headers=PLACES[place])
    assert response.status_code == (422 if place == "alert page" else 200)
    return url, response.text


def _error_next_to(html: str, field_id: str, message: str) -> bool:
    """The message is rendered right after the input it is about, and the input points to it."""
    start = html.index(f'id="{field_id}"')
    end = html.index("</form>", start)
    described = re.search(r'aria-describedby="([^"]*)"', html[start:end])
    return f'id="{field_id}-error">{message}' in html[start:end] and (
        described is not None and f"{field_id}-error" in described.group(1).split()
    )


IDS = {  # field ids of each place: (snooze until, snooze note, resolve note, acknowledge note)
    "alert page": ("d-snooze", "d-snooze-note", "d-resolve", "d-ack"),
    "dashboard": ("snooze-until-{}", "snooze-note-{}", "resolve-note-{}", "ack-note-{}"),
    "engagement health": ("eh-snooze-{}", "eh-snooze-note-{}", "eh-resolve-{}", "eh-ack-{}"),
}


@pytest.mark.parametrize("place", PLACES)
def test_a_snooze_into_the_past_keeps_the_note_and_the_date_typed(manager, alert, place):
    url, html = _post(manager, alert, "snooze", {"until": PAST, "note": NOTE}, place)

    assert form_values(html, url) | {"csrfmiddlewaretoken": ""} == {
        "csrfmiddlewaretoken": "",
        "until": PAST,
        "note": NOTE,
    }
    until_id = IDS[place][0].format(alert.pk)
    assert _error_next_to(html, until_id, "Snooze until a moment in the future.")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN and not alert.events.filter(kind="snoozed").exists()


@pytest.mark.parametrize("place", PLACES)
def test_a_snooze_with_a_note_too_long_keeps_both_and_says_which_is_wrong(manager, alert, place):
    until = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    url, html = _post(manager, alert, "snooze", {"until": until, "note": TOO_LONG}, place)

    typed = form_values(html, url)
    assert (typed["until"], typed["note"]) == (until, TOO_LONG)
    note_id = IDS[place][1].format(alert.pk)
    assert _error_next_to(html, note_id, "Ensure this value has at most 1000 characters")


@pytest.mark.parametrize("place", PLACES)
def test_a_resolve_without_a_reason_says_so_next_to_the_field(manager, alert, place):
    """The signals still hold: a reason is needed, and the message says what resolving means."""
    _, html = _post(manager, alert, "resolve", {"note": "   "}, place)

    assert _error_next_to(
        html,
        IDS[place][2].format(alert.pk),
        "The signals still hold (Missed contact, No results): say why",
    )
    assert "to be reminded later instead, snooze it." in html
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN


@pytest.mark.parametrize("place", PLACES)
def test_a_refused_resolve_keeps_the_reason_typed(manager, alert, place):
    url, html = _post(manager, alert, "resolve", {"note": TOO_LONG}, place)

    assert form_values(html, url)["note"] == TOO_LONG
    assert _error_next_to(
        html, IDS[place][2].format(alert.pk), "Ensure this value has at most 1000 characters"
    )


@pytest.mark.parametrize("place", PLACES)
def test_a_refused_acknowledge_keeps_the_note_typed(manager, alert, place):
    url, html = _post(manager, alert, "acknowledge", {"note": TOO_LONG}, place)

    assert form_values(html, url)["note"] == TOO_LONG
    assert _error_next_to(
        html, IDS[place][3].format(alert.pk), "Ensure this value has at most 1000 characters"
    )


@pytest.mark.parametrize("place", PLACES)
def test_only_the_refused_form_is_filled_in_the_others_stay_empty(manager, alert, place):
    _, html = _post(manager, alert, "snooze", {"until": PAST, "note": NOTE}, place)

    resolve_url = reverse("engagements:alert_resolve", args=[alert.pk])
    assert form_values(html, resolve_url)["note"] == ""
    assert escape(NOTE) in html  # escaped, never raw HTML
    assert "<b>&</b>" not in html


def test_a_refused_terminate_keeps_the_reason_typed(manager, alert):
    url = reverse("engagements:engagement_terminate", args=[alert.engagement_id])
    reason = "y" * 2001
    response = manager.client().post(url, {"reason": reason})

    assert response.status_code == 422
    assert form_values(response.text, url)["reason"] == reason
    assert "Ensure this value has at most 2000 characters" in response.text
    alert.engagement.refresh_from_db()
    assert alert.engagement.status == "active"
