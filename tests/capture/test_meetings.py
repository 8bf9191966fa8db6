"""After a captured meeting's start, its owner says how it went in one click: from the
dashboard's "meetings to confirm" region, or from a signed link in the daily digest (a link
only asks on GET; its confirmation page records, for the member it was made for)."""

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEntry, Membership, Role
from engagements.alerts import digest
from engagements.capture import calendar
from engagements.capture.models import Meeting
from engagements.delivery.models import Interaction, Outcome, Source
from engagements.watch import facts, rules
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
REGION = {"HX-Request": "true", "HX-Target": "meetings-to-confirm"}


def meeting(engagement, *, started_ago=timedelta(hours=3), summary="Sprint review", uid=None):
    return Meeting.objects.create(
        org=engagement.org,
        engagement=engagement,
        uid=uid or f"{summary}-{started_ago}",
        summary=summary,
        starts_at=NOW - started_ago,
        ends_at=NOW - started_ago + timedelta(hours=1),
    )


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


# --- the dashboard's region -------------------------------------------------------------------


def test_the_dashboard_loads_the_meetings_to_confirm_region_and_links_it_without_script(manager):
    html = manager.client().get(reverse("engagements:dashboard")).content.decode()
    url = reverse("engagements:meetings_to_confirm")
    assert f'id="meetings-to-confirm" class="card" hx-get="{url}" hx-trigger="load"' in html
    assert f'<a href="{url}">say how they went</a>' in html  # the plain-GET way


def test_a_started_meeting_waits_in_the_region_unconfirmed_since_its_start(engagement, manager):
    meeting(engagement, summary="Sprint review")
    meeting(engagement, summary="Design sync", started_ago=-timedelta(days=1))  # not started
    html = manager.client().get(reverse("engagements:meetings_to_confirm"), headers=REGION)
    html = html.content.decode()
    assert html.lstrip().startswith('<section id="meetings-to-confirm"')  # the partial only
    assert "Sprint review" in html and "Design sync" not in html
    assert "Unconfirmed since" in html and "badge-overdue" not in html
    assert 'name="state" value="vendor_no_show"' in html


def test_two_days_unconfirmed_the_region_flags_it(engagement, manager):
    meeting(engagement, started_ago=timedelta(days=2, hours=1))
    html = manager.client().get(reverse("engagements:meetings_to_confirm")).content.decode()
    assert re.search(r'badge-overdue">Unconfirmed since [^<]+</span>', html)


def test_with_nothing_to_confirm_the_dashboard_region_stays_hidden(engagement, manager):
    response = manager.client().get(reverse("engagements:meetings_to_confirm"), headers=REGION)
    assert b'id="meetings-to-confirm" class="card" hidden' in response.content
    page = manager.client().get(reverse("engagements:meetings_to_confirm")).content.decode()
    assert "No meeting waits for confirmation." in page and " hidden>" not in page


def test_viewers_see_the_meetings_but_no_buttons(engagement, viewer):
    meeting(engagement)
    html = viewer.client().get(reverse("engagements:meetings_to_confirm")).content.decode()
    assert "Sprint review" in html and 'value="held"' not in html


@pytest.mark.parametrize("n", [1, 25])
def test_the_region_query_count_is_flat(org, manager, vendor, n, django_assert_num_queries):
    for i in range(n):
        e = EngagementFactory(org=org, vendor=vendor, owner=manager.user)
        meeting(e, uid=f"m{i}")
    client = manager.client()
    client.get(reverse("accounts:member_list"))  # the session learns its organization
    # session, user, memberships; the meetings with their engagements, vendors and owners;
    # their count when the page is full
    with django_assert_num_queries(4 if n == 1 else 5):
        response = client.get(reverse("engagements:meetings_to_confirm"), headers=REGION)
    assert response.content.count(b'class="meeting-item"') == min(n, 20)


def test_held_in_one_click_from_the_region_becomes_contact_and_is_audited(engagement, manager):
    m = meeting(engagement)
    url = reverse("engagements:meeting_confirm", args=[m.pk])
    response = manager.client().post(url, {"state": "held"}, headers=REGION)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="meetings-to-confirm"')
    assert "Sprint review" not in html and "No meeting waits for confirmation." in html
    interaction = Interaction.objects.get(source=Source.CALENDAR)
    assert interaction.outcome == Outcome.HELD
    m.refresh_from_db()
    assert (m.state, m.confirmed_by, m.interaction) == ("held", manager.user, interaction)
    entry = AuditEntry.objects.get_for_object(m).latest("pk")
    assert entry.actor == manager.user and entry.via == "ui"
    assert entry.changes_dict["state"] == ["scheduled", "held"]


def test_a_plain_post_goes_back_where_it_came_from_and_never_off_site(engagement, manager):
    first, second = meeting(engagement, uid="a"), meeting(engagement, uid="b")
    client = manager.client()
    back = reverse("engagements:meetings_to_confirm")
    answer = client.post(
        reverse("engagements:meeting_confirm", args=[first.pk]),
        {"state": "we_cancelled", "next": back},
    )
    assert answer.status_code == 302 and answer["Location"] == back
    assert not Interaction.objects.exists()  # we cancelled: no contact, not the vendor's fault
    answer = client.post(
        reverse("engagements:meeting_confirm", args=[second.pk]),
        {"state": "held", "next": "https://evil.test/"},
    )
    assert answer["Location"] == reverse("engagements:mail_threads", args=[engagement.pk])


def test_a_meeting_confirmed_meanwhile_is_a_conflict_shown_in_the_region(engagement, manager):
    m = meeting(engagement)
    calendar.confirm_meeting(meeting=m, state="held", by=manager.user)
    url = reverse("engagements:meeting_confirm", args=[m.pk])
    response = manager.client().post(url, {"state": "vendor_no_show"}, headers=REGION)
    assert response.status_code == 200  # htmx swaps only a 2xx body
    assert "already confirmed or cancelled (Held)" in response.content.decode()
    assert manager.client().post(url, {"state": "held"}).status_code == 409
    assert Interaction.objects.count() == 1


def test_an_answer_that_is_not_one_of_the_three_is_refused_next_to_the_meeting(engagement, manager):
    m = meeting(engagement)
    url = reverse("engagements:meeting_confirm", args=[m.pk])
    response = manager.client().post(url, {"state": "rescheduled"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    m.refresh_from_db()
    assert m.state == "scheduled"


def test_viewers_may_not_confirm_and_other_organizations_meetings_are_a_404(
    engagement, viewer, outsider
):
    m = meeting(engagement)
    url = reverse("engagements:meeting_confirm", args=[m.pk])
    assert viewer.client().post(url, {"state": "held"}).status_code == 403
    assert outsider.client().post(url, {"state": "held"}).status_code == 404
    assert outsider.client().get(reverse("engagements:meetings_to_confirm")).status_code == 200
    assert (
        b"Sprint review"
        not in outsider.client().get(reverse("engagements:meetings_to_confirm")).content
    )
    m.refresh_from_db()
    assert m.state == "scheduled"


def test_confirming_is_a_post(engagement, manager):
    url = reverse("engagements:meeting_confirm", args=[meeting(engagement).pk])
    assert manager.client().get(url).status_code == 405


# --- the watcher's facts ----------------------------------------------------------------------


def test_unconfirmed_is_unknown_and_a_vendor_no_show_counts_against_the_vendors_contact(
    engagement, manager
):
    m = meeting(engagement, started_ago=timedelta(days=1))
    before = facts.collect(at=NOW, engagement_ids=[engagement.pk])[engagement.pk]
    assert before.last_two_way_at is None and before.vendor_no_shows == 0
    calendar.confirm_meeting(meeting=m, state="vendor_no_show", by=manager.user)
    after = facts.collect(at=NOW, engagement_ids=[engagement.pk])[engagement.pk]
    assert after.last_two_way_at is None  # a no-show is no contact
    assert after.vendor_no_shows == 1
    signal = rules.missed_contact(after, NOW)
    assert signal is not None and "1 vendor no-show in the last 30 days" in signal.evidence


# --- the digest's signed links ----------------------------------------------------------------


def links_in(body: str) -> dict[str, str]:
    found = re.findall(r"    (Held|Vendor did not show|We cancelled): (\S+)", body)
    return {label: urlsplit(url).path for label, url in found}


def test_the_owners_digest_lists_the_meetings_to_confirm_with_a_link_per_answer(
    engagement, manager, owner, mailoutbox
):
    meeting(engagement, summary="Sprint review", started_ago=timedelta(days=3))
    meeting(engagement, summary="Design sync", started_ago=timedelta(hours=20))
    assert digest.send_digest(at=NOW) == 1  # no alert open: only the engagement's owner
    mail = mailoutbox[0]
    assert mail.to == [manager.user.email]
    assert mail.subject == "2 meetings to confirm in Acme Buyers"
    assert re.search(r"- UNCONFIRMED SINCE \d\d \w+ 2026: Sprint review \(Onboarding", mail.body)
    assert "- Design sync (Onboarding revamp)" in mail.body  # less than two days: no nag
    assert len(re.findall(r"/meetings/link/", mail.body)) == 6


def test_a_digest_link_asks_first_then_records_for_its_member_logged_out(
    engagement, manager, mailoutbox
):
    m = meeting(engagement, started_ago=timedelta(days=1))
    digest.send_digest(at=NOW)
    path = links_in(mailoutbox[0].body)["Vendor did not show"]
    client = Client(enforce_csrf_checks=True)  # nobody logged in
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Record it as <strong>Vendor did not show</strong>" in html
    m.refresh_from_db()
    assert m.state == "scheduled"  # a GET (a mail scanner's preview) changes nothing
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    done = client.post(path, {"csrfmiddlewaretoken": token, "state": "held"})
    assert done.status_code == 200 and "Recorded" in done.content.decode()
    m.refresh_from_db()
    assert (m.state, m.confirmed_by) == ("vendor_no_show", manager.user)  # the link's answer
    entry = AuditEntry.objects.get_for_object(m).latest("pk")
    assert (entry.actor, entry.via, entry.actor_label) == (manager.user, "email", "digest link")
    again = client.post(path, {"csrfmiddlewaretoken": token})
    assert again.status_code == 409 and "already confirmed" in again.content.decode()
    assert Interaction.objects.filter(outcome=Outcome.VENDOR_NO_SHOW).count() == 1


def test_a_link_without_its_csrf_token_records_nothing(engagement, manager):
    m = meeting(engagement)
    path = reverse(
        "engagements:meeting_link",
        args=[calendar.link_token(meeting=m, user=manager.user, state="held")],
    )
    assert Client(enforce_csrf_checks=True).post(path).status_code == 403
    m.refresh_from_db()
    assert m.state == "scheduled"


def link(m, user, state="held") -> str:
    return reverse(
        "engagements:meeting_link", args=[calendar.link_token(meeting=m, user=user, state=state)]
    )


def test_a_tampered_a_foreign_or_an_expired_link_does_nothing(engagement, manager):
    m = meeting(engagement)
    good = link(m, manager.user)
    token = good.rstrip("/").rsplit("/", 1)[1]
    forged = signing.dumps({"m": m.pk, "u": manager.user.pk, "s": "held"}, salt="other-purpose")
    for path in (
        reverse("engagements:meeting_link", args=[token[:-2] + "xx"]),
        reverse("engagements:meeting_link", args=[forged]),
        reverse("engagements:meeting_link", args=["nonsense"]),
    ):
        response = Client().post(path)
        assert response.status_code == 404, path
        assert "This link does not work" in response.content.decode()
    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        assert Client().get(good).status_code == 404
        assert Client().post(good).status_code == 404
    m.refresh_from_db()
    assert m.state == "scheduled"


def test_a_link_stops_working_for_a_member_who_may_no_longer_write(engagement, manager):
    m = meeting(engagement)
    path = link(m, manager.user)
    Membership.objects.filter(user=manager.user, org=engagement.org).update(role=Role.VIEWER)
    assert Client().post(path).status_code == 404
    m.refresh_from_db()
    assert m.state == "scheduled"
