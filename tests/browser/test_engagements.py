"""A manager sets up an engagement, plans it, logs contact and spend, and reviews a deliverable."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from engagements.models import Deliverable, DeliverableTransition, Engagement
from tests.factories import PASSWORD, VendorFactory
from vendors.models import VendorStatus

pytestmark = pytest.mark.browser


def test_manager_runs_an_engagement_from_set_up_to_an_accepted_deliverable(
    transactional_db, live_server, page: Page, manager
):
    VendorFactory(org=manager.org, name="Northwind Studio", status=VendorStatus.APPROVED)
    today = dt.date.today()
    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(manager.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.get_by_role("link", name="Engagements").click()
    expect(page.get_by_text("No engagements")).to_be_visible()
    page.get_by_role("link", name="New engagement").click()
    page.locator("#id_vendor").select_option(label="Northwind Studio")
    page.locator("#id_title").fill("Checkout rebuild")
    page.locator("#id_goal").fill("Cut checkout drop-off in half before the spring campaign.")
    page.locator("#id_definition_of_done").fill("Drop-off below 20% for a month.")
    page.locator("#id_budget").fill("30000")
    page.locator("#id_target_end_date").fill(str(today + dt.timedelta(days=90)))
    page.get_by_label("Two deliverables rejected twice").check()
    page.locator("#id_has_concrete_target_0").check()
    page.locator("#id_need_is_specific_0").check()
    page.locator("#id_money_alternative").fill("Hire a designer.")
    page.locator("#id_internal_owner").fill("Max")
    page.locator("#id_owner_hours_per_week").fill("4")
    page.get_by_role("button", name="Create engagement").click()

    expect(page.get_by_role("heading", name="Checkout rebuild")).to_be_visible()
    header = page.locator("#engagement-header")
    expect(header.locator(".verdict-ready")).to_have_text("Ready")
    header.get_by_role("button", name="Activate").click()
    expect(header.locator(".status-active")).to_be_visible()

    due = str(today + dt.timedelta(days=30))
    page.locator("#milestone_title").fill("Payment flow")
    page.locator("#milestone_due_date").fill(due)
    page.get_by_role("button", name="Add milestone").click()
    expect(page.get_by_role("heading", name="Payment flow")).to_be_visible()

    page.locator("#deliverable_milestone").select_option(label="Payment flow")
    page.locator("#deliverable_title").fill("Card form")
    page.locator("#deliverable_due_date").fill(due)
    page.locator("#deliverable_value").fill("8000")
    page.locator("#deliverable_acceptance_criteria").fill("3-D Secure works on staging.")
    page.get_by_role("button", name="Add deliverable").click()
    card = page.locator(".deliverable", has_text="Card form")
    expect(card).to_contain_text("Planned")

    page.locator("#interaction_comfort").select_option("4")
    page.get_by_role("button", name="Log interaction").click()
    expect(page.locator("#interactions")).to_contain_text("1 in all")

    page.locator("#spend_amount").fill("5000")
    page.locator("#spend_description").fill("Deposit")
    page.get_by_role("button", name="Record spend").click()
    expect(page.locator("#spend")).to_contain_text("Deposit")

    card.get_by_role("button", name="Start work").click()
    expect(card).to_contain_text("In progress")
    card.get_by_role("button", name="Mark submitted").click()
    expect(card).to_contain_text("Submitted")
    card.get_by_role("button", name="Reject").click()
    expect(card).to_contain_text("Say why it is rejected")
    card.get_by_placeholder("Reason (needed to reject)").fill("3-D Secure fails on Safari.")
    card.get_by_role("button", name="Reject").click()
    expect(card.locator(".badge-rejections")).to_have_text("rejected 1\u00d7")
    card.get_by_role("button", name="Resubmit").click()
    expect(card).to_contain_text("Submitted")
    card.get_by_role("button", name="Accept").click()
    expect(card).to_contain_text("Accepted")

    deliverable = Deliverable.objects.get()
    assert (deliverable.status, deliverable.times_rejected) == ("accepted", 1)
    assert list(
        DeliverableTransition.objects.order_by("pk").values_list("to_status", flat=True)
    ) == ["in_progress", "submitted", "rejected", "submitted", "accepted"]
    assert Engagement.objects.get().status == "active"
