"""The watcher report: our own ended engagements judged again from their stored facts, today
and "what if" the thresholds were different."""

from datetime import date

import pytest
from django.urls import reverse

from engagements.postmortems import report
from engagements.watch.backtest import Scenario
from engagements.watch.rules import Thresholds
from tests.factories import EngagementFactory

from .conftest import ended_engagement as ended_without_postmortem
from .watcher_history import delivered, quiet_partial, silent_vendor

pytestmark = pytest.mark.django_db
URL = reverse("engagements:watcher_report")


def rows_by_title(data: dict) -> dict:
    return {row.title: row for row in data["rows"]}


# --- the figures -----------------------------------------------------------------------------


def test_the_report_says_when_the_watcher_warned_and_cut_and_what_holding_on_cost(org):
    silent_vendor(org)
    data = report.watcher_report(org=org)
    row = rows_by_title(data)["Silent vendor"]
    j = row.now
    # The work in progress went past due on day 30 with a third of the budget paid: warning
    # the next day; the clear signs persisted a week and more: cut your losses two weeks on.
    assert j.warned_on == date(2026, 4, 2) and j.warned_days == 59  # ended on day 90, 31 May
    assert j.cut_on == date(2026, 4, 16) and j.cut_days == 45
    assert j.first_signs[0] == "No results"  # nothing accepted 21 days after the start
    assert "Missed contact" in j.first_signs  # the calls stopped after day 15
    # Paid after the warning: 10,000 (day 40) + 5,000 (day 60) + 5,000 (day 85).
    assert j.spent_after_warning == 20000 and row.spent == 30000
    assert row.failed and row.outcome_label == "Cut losses"


def test_the_organization_figures_count_failures_caught_in_time_misses_and_false_alarms(org):
    silent_vendor(org)
    quiet_partial(org)  # partly delivered; today's watcher warned a day before the end
    delivered(org)
    now = report.watcher_report(org=org)["now"]
    assert (now.failed, now.warned_ahead, now.warned_ahead_pct, now.missed) == (2, 1, 50, 1)
    assert (now.delivered, now.false_alarms, now.touched_watch) == (1, 0, 0)
    assert now.median_warning_days == 1  # the lower middle of 59 and 1
    assert now.median_cut_days == 45
    assert now.held_on == {"EUR": 20000}


def test_only_ended_engagements_with_a_post_mortem_of_this_organization_count(org, other_org):
    silent_vendor(org)
    EngagementFactory(org=org, title="Still running")
    ended_without_postmortem(org, title="Ended, no post-mortem yet")
    silent_vendor(other_org, title="Someone else's")
    assert list(rows_by_title(report.watcher_report(org=org))) == ["Silent vendor"]


def test_a_stricter_stall_threshold_cuts_sooner_and_a_longer_persistence_later(org):
    silent_vendor(org)
    delivered(org)
    stricter = report.watcher_report(org=org, whatif=Scenario("w", watch={"stall_days": 10}))
    row = rows_by_title(stricter)["Silent vendor"]
    assert row.whatif.cut_on < row.now.cut_on and row.changed
    assert stricter["whatif"].median_cut_days > stricter["now"].median_cut_days
    # ... and the delivered one now reaches watch (no alarm yet): the price of stricter.
    assert stricter["whatif"].touched_watch == 1 and stricter["now"].touched_watch == 0

    patient = report.watcher_report(org=org, whatif=Scenario("w", persist_days=14))
    row = rows_by_title(patient)["Silent vendor"]
    assert row.whatif.cut_on > row.now.cut_on
    assert row.whatif.warned_on == row.now.warned_on  # persistence only delays the cut
    assert patient["whatif"].median_cut_days < patient["now"].median_cut_days


def test_a_burn_threshold_nobody_reaches_takes_burn_out_of_the_verdict(org):
    silent_vendor(org)
    blind = Scenario("w", thresholds=Thresholds(burn_gap_mild=1.0, burn_gap_clear=1.0))
    row = rows_by_title(report.watcher_report(org=org, whatif=blind))["Silent vendor"]
    assert "Burn without delivery" in row.now.first_signs
    assert "Burn without delivery" not in row.whatif.first_signs


def test_the_what_if_leaves_today_unchanged(org):
    silent_vendor(org)
    quiet_partial(org)
    alone = report.watcher_report(org=org)
    beside = report.watcher_report(org=org, whatif=Scenario("w", watch={"stall_days": 5}))
    assert [r.now for r in alone["rows"]] == [r.now for r in beside["rows"]]


# --- the page ----------------------------------------------------------------------------------


def test_owner_and_manager_read_the_report_viewer_is_refused(owner, manager, viewer):
    silent_vendor(owner.org)
    for member in (owner, manager):
        response = member.client().get(URL)
        assert response.status_code == 200
        assert b"Silent vendor" in response.content
        assert b"59 days" in response.content
    assert viewer.client().get(URL).status_code == 403


def test_the_report_needs_a_log_in_and_shows_only_the_own_organization(client, org, outsider):
    silent_vendor(org)
    assert client.get(URL).status_code == 302
    response = outsider.client().get(URL)
    assert response.status_code == 200 and b"Silent vendor" not in response.content


def test_the_report_is_read_only(owner):
    assert owner.client().post(URL, {"stall_days": 10}).status_code == 405


def test_a_what_if_shows_both_columns_and_the_changed_verdict(owner):
    silent_vendor(owner.org)
    response = owner.client().get(URL, {"stall_days": 10})
    body = response.content.decode()
    assert response.status_code == 200
    assert "What if</th>" in body and 'data-figure="whatif-warned-ahead"' in body
    assert "<strong>What if:</strong> 11 Apr, 50 days before" in body


def test_htmx_gets_only_the_report_region_and_a_plain_get_the_page(owner):
    silent_vendor(owner.org)
    headers = {"HX-Request": "true", "HX-Target": "watcher-report"}
    part = owner.client().get(URL, {"stall_days": 10}, headers=headers)
    assert part.status_code == 200
    assert part.content.decode().lstrip().startswith('<div id="watcher-report">')
    assert b"<html" not in part.content and b"What if:" in part.content
    page = owner.client().get(URL, {"stall_days": 10})
    assert b"<html" in page.content and b'id="watcher-report"' in page.content


@pytest.mark.parametrize(
    "query, field, message",
    [
        ({"stall_days": "soon"}, "stall_days", "Enter a whole number."),
        ({"stall_days": "0"}, "stall_days", "greater than or equal to 1"),
        ({"persist_days": "999"}, "persist_days", "less than or equal to 90"),
        ({"burn_gap_clear": "10"}, "burn_gap_clear", "At least 25 %"),
        ({"burn_gap_severe": "30"}, "burn_gap_severe", "cannot be below the clear gap (40 %)"),
    ],
)
def test_bad_what_if_input_is_refused_next_to_its_field_and_today_still_shows(
    owner, query, field, message
):
    silent_vendor(owner.org)
    response = owner.client().get(URL, query)
    body = response.content.decode()
    assert response.status_code == 200
    error = body.index(f'id="id_{field}_error"')
    assert body.index(f'id="id_{field}"') < error and message in body[error : error + 200]
    assert "Nothing recomputed" in body
    assert "What if</th>" not in body and "59 days" in body  # today's figures stay


def test_an_organization_without_ended_engagements_is_told_why_the_report_is_empty(owner):
    response = owner.client().get(URL)
    assert b"No ended engagement has a post-mortem yet" in response.content


@pytest.mark.parametrize("n", [1, 6])
def test_the_report_query_count_does_not_grow_with_ended_engagements(
    owner, n, django_assert_num_queries
):
    for i in range(n):
        silent_vendor(owner.org, title=f"Silent {i}")
        delivered(owner.org, title=f"Delivered {i}")
    client = owner.client()
    # The log-in and organization's own, the report's rows, and the stored past in one read
    # per table (engagements, status changes, interactions, deliverables, transitions,
    # spend, questions, scope changes, exit criteria), for today and the what-if alike.
    with django_assert_num_queries(QUERIES):
        response = client.get(URL, {"stall_days": 10})
    assert response.content.count(b'id="report-row-') == 2 * n


QUERIES = 16
