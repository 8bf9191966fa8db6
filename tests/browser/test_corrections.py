"""A manager corrects and removes what was typed on the engagement page, at desktop and phone
width; an owner then reads every change in the audit trail in words. Removing asks first
(cancelling keeps the record), and future-dated spend is refused the same way by the form
and the API."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import TokenScope
from accounts.services import create_api_token
from engagements.alerts import services as alerts
from engagements.delivery import services
from engagements.models import ExitCriterion, FailureItem, Interaction, Milestone, SpendEntry
from engagements.postmortems import services as postmortems
from engagements.watch import marks as watch_marks
from outsourcing.validation import FUTURE_MESSAGE
from tests.factories import (
    PASSWORD,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    SpendEntryFactory,
)

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}


@pytest.fixture
def reevaluated(monkeypatch) -> list[int]:
    """The engagements the watcher was asked to re-evaluate (each write's dirty mark)."""
    calls: list[int] = []
    monkeypatch.setattr(watch_marks, "mark", lambda *ids, **kw: calls.extend(ids))
    return calls


def _log_in(page: Page, url: str, member, width: str) -> None:
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    page.goto(url + "/login/")
    page.get_by_label("E-mail").fill(member.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _engagement(manager):
    engagement = EngagementFactory(
        org=manager.org, owner=manager.user, currency="EUR", title="Checkout rebuild"
    )
    MilestoneFactory(engagement=engagement, title="Beta")
    SpendEntryFactory(engagement=engagement, description="Deposit", amount=Decimal("1000"))
    InteractionFactory(engagement=engagement, notes="Kick-off call")
    services.add_exit_criterion(
        engagement=engagement,
        by=manager.user,
        criterion={
            "label": "Silent vendor",
            "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
        },
    )
    return engagement


def _settled(page: Page) -> None:
    """Wait until htmx has finished every request, swap and settle (a link clicked while its
    region is being replaced would be lost with it)."""
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


def _open_editor(page: Page, region: str, row_text: str):
    _settled(page)
    row = page.locator(f"#{region} :is(li, tr, h3)", has_text=row_text).first
    row.locator(".edit-link").click()
    editor = page.locator(f"#{region}-editor .record-edit")
    expect(editor).to_be_visible()
    return editor


@pytest.mark.parametrize("width", WIDTHS)
def test_a_manager_corrects_and_removes_each_record_and_the_owner_reads_it_in_words(
    transactional_db, live_server, page: Page, manager, owner, width, reevaluated
):
    engagement = _engagement(manager)
    _log_in(page, live_server.url, manager, width)
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())

    # The engagement: a new title, in place (the page's heading follows).
    page.locator("#engagement-header").get_by_role(
        "link", name="Edit title, goal, budget, dates or owner"
    ).click()
    editor = page.locator("#engagement-header-editor .record-edit")
    editor.get_by_label("Title").fill("Checkout rebuild, phase 1")
    editor.get_by_label("Budget").fill("42000")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#engagement-title")).to_have_text("Checkout rebuild, phase 1")
    expect(page.locator("#engagement-header")).to_contain_text("of 42,000")

    # Spend: the amount corrected, then removed after confirming.
    editor = _open_editor(page, "spend", "Deposit")
    editor.get_by_label("Amount").fill("1250")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#spend")).to_contain_text("1,250 EUR")
    editor = _open_editor(page, "spend", "Deposit")
    editor.get_by_role("button", name="Remove").click()
    expect(page.locator("#spend")).to_contain_text("No spend recorded yet.")

    # An interaction: comfort corrected, then removed.
    editor = _open_editor(page, "interactions", "Kick-off call")
    editor.get_by_label("Comfort").select_option("2")
    editor.get_by_label("Notes").fill("Kick-off call, tense")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#interactions")).to_contain_text("2/5")
    editor = _open_editor(page, "interactions", "Kick-off call")
    editor.get_by_role("button", name="Remove").click()
    expect(page.locator("#interactions")).to_contain_text("0 in all")

    # A milestone: renamed, then removed (it holds no deliverables).
    editor = _open_editor(page, "delivery-timeline", "Beta")
    editor.get_by_label("Title").fill("Public beta")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#delivery-timeline h3", has_text="Public beta")).to_be_visible()
    editor = _open_editor(page, "delivery-timeline", "Public beta")
    editor.get_by_role("button", name="Remove").click()
    expect(page.locator("#delivery-timeline")).to_contain_text("No milestones yet.")

    # An exit criterion: redrawn, then removed.
    editor = _open_editor(page, "exit-criteria", "Silent vendor")
    editor.get_by_label("Label").fill("Silent for two weeks")
    editor.get_by_label("Value").first.fill("14")
    editor.get_by_role("button", name="Save").click()
    expect(page.locator("#exit-criteria")).to_contain_text("Silent for two weeks")
    editor = _open_editor(page, "exit-criteria", "Silent for two weeks")
    editor.get_by_role("button", name="Remove").click()
    expect(page.locator("#exit-criteria")).to_contain_text("No exit criteria written down.")

    assert not SpendEntry.objects.exists() and not Interaction.objects.exists()
    assert not Milestone.objects.exists() and not ExitCriterion.objects.exists()
    assert set(reevaluated) == {engagement.pk} and len(reevaluated) >= 8

    # The owner reads all of it in words.
    page.context.clear_cookies()
    _log_in(page, live_server.url, owner, width)
    page.goto(f"{live_server.url}/audit/")
    trail = page.locator("main")
    for words in (
        "Changed engagement “Checkout rebuild, phase 1”",
        "Changed spend entry “Deposit”",
        "Deleted spend entry “Deposit”",
        "Changed interaction “Kick-off call, tense”",
        "Deleted interaction “Kick-off call, tense”",
        "Changed milestone “Public beta”",
        "Deleted milestone “Public beta”",
        "Changed exit criterion “Silent for two weeks”",
        "Deleted exit criterion “Silent for two weeks”",
    ):
        expect(trail).to_contain_text(words)
    expect(trail).not_to_contain_text("object (")


@pytest.mark.parametrize("width", WIDTHS)
def test_cancelling_the_question_removes_nothing(
    transactional_db, live_server, page: Page, manager, width, reevaluated
):
    engagement = _engagement(manager)
    _log_in(page, live_server.url, manager, width)
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")
    asked: list[str] = []

    def dismiss(dialog) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    editor = _open_editor(page, "spend", "Deposit")
    editor.get_by_role("button", name="Remove").click()
    expect(editor).to_be_visible()
    assert asked and asked[0].startswith("Remove the spend of 1,000 EUR")
    assert SpendEntry.objects.exists()


@pytest.mark.parametrize("width", WIDTHS)
def test_future_dated_spend_is_refused_the_same_way_in_the_form_and_the_api(
    transactional_db, live_server, page: Page, manager, width, reevaluated
):
    engagement = _engagement(manager)
    next_month = (timezone.localdate() + dt.timedelta(days=31)).isoformat()
    _log_in(page, live_server.url, manager, width)
    page.goto(f"{live_server.url}/engagements/{engagement.pk}/")

    # A new entry, then a correction: the message sits next to the date both times.
    page.locator("#spend_date").fill(next_month)
    page.locator("#spend_amount").fill("5000")
    page.locator("#spend_description").fill("Next month's invoice")
    page.get_by_role("button", name="Record spend").click()
    expect(page.locator("#spend .has-error", has=page.locator("#spend_date"))).to_contain_text(
        FUTURE_MESSAGE
    )
    editor = _open_editor(page, "spend", "Deposit")
    editor.get_by_label("Date").fill(next_month)
    editor.get_by_role("button", name="Save").click()
    expect(editor.locator(".has-error", has=page.locator("input[name=date]"))).to_contain_text(
        FUTURE_MESSAGE
    )
    entry = SpendEntry.objects.get()
    assert entry.date != dt.date.fromisoformat(next_month)

    # The API refuses both with the same words, as a 409 on the date.
    _, secret = create_api_token(
        org=manager.org, user=manager.user, name="Books", scope=TokenScope.WRITE
    )
    api = Client(headers={"Authorization": f"Bearer {secret}"})
    base = f"/api/v1/engagements/{engagement.pk}/spend"
    created = api.post(
        base,
        json.dumps({"date": next_month, "amount": "5000", "description": "Next month"}),
        content_type="application/json",
    )
    patched = api.patch(
        f"{base}/{entry.pk}", json.dumps({"date": next_month}), content_type="application/json"
    )
    for response in (created, patched):
        assert response.status_code == 409
        assert response.json()["error"]["fields"]["date"] == [FUTURE_MESSAGE]
    assert SpendEntry.objects.count() == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_an_owner_pauses_and_removes_a_notification_channel(
    transactional_db, live_server, page: Page, owner, width
):
    alerts.create_channel(org=owner.org, kind="email", name="Team e-mail")
    _log_in(page, live_server.url, owner, width)
    page.goto(f"{live_server.url}/notifications/")
    page.on("dialog", lambda dialog: dialog.accept())
    channels = page.locator("#channels")
    channels.get_by_role("link", name="Edit Team e-mail").click()
    editor = page.locator("#channels-editor .record-edit")
    editor.get_by_label("Name").fill("Managers' e-mail")
    editor.get_by_label("Active (unticked: paused, nothing is sent)").uncheck()
    editor.get_by_role("button", name="Save").click()
    expect(channels).to_contain_text("Managers' e-mail")
    expect(channels.locator(".badge", has_text="paused")).to_be_visible()
    channels.get_by_role("link", name="Edit Managers' e-mail").click()
    page.locator("#channels-editor").get_by_role("button", name="Remove").click()
    expect(channels).to_contain_text("No channels yet")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_post_mortem_item_is_removed_after_confirming_and_comes_back_with_undo(
    transactional_db, live_server, page: Page, manager, width, reevaluated
):
    engagement = EngagementFactory(org=manager.org, owner=manager.user, status="terminated")
    pm = postmortems.open_postmortem(engagement=engagement)
    for text in ("No references checked.", "Scope grew weekly."):
        postmortems.add_failure(postmortem=pm, text=text, category="poor_needs")
    _log_in(page, live_server.url, manager, width)
    page.goto(f"{live_server.url}/postmortems/{pm.pk}/")
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    failures = page.locator("#pm-failures")
    failures.locator("ol.pm-items > li", has_text="No references checked.").get_by_role(
        "button", name="Delete"
    ).click()
    expect(failures.locator(".undo-bar")).to_contain_text("Removed: “No references checked.”")
    assert asked == ["Remove “No references checked.”? You can undo it right after."]
    expect(failures.locator("ol.pm-items > li")).to_have_count(1)
    _settled(page)
    failures.get_by_role("button", name="Undo").click()
    expect(failures.locator(".undo-bar")).to_have_count(0)
    expect(failures).to_contain_text("No references checked.")
    assert list(FailureItem.objects.order_by("position").values_list("text", flat=True)) == [
        "No references checked.",
        "Scope grew weekly.",
    ]
