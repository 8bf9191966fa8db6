"""Cut losses from the alert, write the post-mortem, and meet its lesson again next time."""

import datetime as dt

import pytest
from playwright.sync_api import Page, expect

from accounts.demo import DEMO_PASSWORD, seed_accounts
from engagements.demo import seed_engagements
from engagements.models import Alert, ChecklistItem, Engagement, LessonAcknowledgement
from vendors.demo import seed_vendors

pytestmark = pytest.mark.browser
LESSON = "Ask for a named backup engineer in the contract."


def test_cut_losses_post_mortem_lesson_comes_back_on_the_next_engagement(
    transactional_db, live_server, page: Page
):
    accounts = seed_accounts()
    seed_vendors(accounts)
    seed_engagements(accounts)
    failing = Engagement.objects.get(org=accounts.org, title="Data warehouse migration")
    # The cut-your-losses alert as the watcher would leave it (the sweep's own tests cover
    # raising it; here no broker is needed).
    alert = Alert.objects.create(org=accounts.org, engagement=failing, level="cut_losses")
    vendor = failing.vendor

    page.goto(live_server.url + "/login/")
    page.get_by_label("E-mail").fill(accounts.owner.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(live_server.url + f"/alerts/{alert.pk}/")
    page.locator("form.terminate textarea, form.terminate input[name=reason]").first.fill(
        "Two months without an accepted report; the engineer is leaving."
    )
    page.get_by_role("button", name="Terminate engagement").click()

    expect(
        page.get_by_role("heading", name="Post-mortem: Data warehouse migration")
    ).to_be_visible()
    facts = page.locator("#pm-facts")
    expect(facts).to_contain_text(
        "40,000 EUR"
    )  # spent, filled in for us, as every page writes money
    expect(page.locator("#pm-header")).to_contain_text("Cut losses")

    page.locator("#failure_text").fill("We kept paying for two months after the reports failed.")
    page.locator("#failure_category").select_option("held_on")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#pm-failures")).to_contain_text("We kept paying for two months")

    page.locator("#lesson_text").fill(LESSON)
    page.locator("#lesson_category").select_option("wrong_vendor")
    page.get_by_role("button", name="Add lesson").click()
    expect(page.locator("#pm-lessons")).to_contain_text(LESSON)

    page.get_by_role("button", name="Publish post-mortem").click()
    expect(page.locator("#pm-header")).to_contain_text("read-only except for comments")

    page.goto(live_server.url + f"/vendors/{vendor.pk}/")
    expect(page.locator("#vendor-lessons")).to_contain_text(LESSON)

    page.goto(live_server.url + "/engagements/new/")
    page.locator("#id_vendor").select_option(str(vendor.pk))
    expect(page.locator("#setup-lessons")).to_contain_text(LESSON)
    page.locator("#id_title").fill("Warehouse, second attempt")
    page.locator("#id_goal").fill("Move reporting off the production database.")
    page.locator("#id_definition_of_done").fill("All 40 reports run from the warehouse.")
    page.locator("#id_budget").fill("30000")
    page.locator("#id_target_end_date").fill(str(dt.date.today() + dt.timedelta(days=90)))
    page.locator("#id_has_concrete_target_0").check()
    page.locator("#id_need_is_specific_0").check()
    page.locator("#id_money_alternative").fill("Hire a data engineer.")
    page.locator("#id_internal_owner").fill("Max")
    page.locator("#id_owner_hours_per_week").fill("4")
    page.get_by_role("button", name="Create engagement").click()

    lessons = page.locator("#engagement-lessons")
    row = lessons.locator(".lesson-row", has_text=LESSON)
    row.get_by_role("button", name="I read it and will remember it").click()
    expect(lessons.locator(".lesson-row", has_text=LESSON)).to_contain_text("acknowledged by")
    lessons.locator(".lesson-row", has_text=LESSON).get_by_role(
        "button", name="Make it a checklist item"
    ).click()
    expect(lessons.locator(".checklist")).to_contain_text(LESSON)
    lessons.locator(".checklist li", has_text=LESSON).get_by_role(
        "button", name="Mark done"
    ).click()
    expect(lessons.locator(".checklist li", has_text=LESSON)).to_contain_text("Mark not done")

    new = Engagement.objects.get(title="Warehouse, second attempt")
    assert LessonAcknowledgement.objects.filter(engagement=new, lesson__text=LESSON).exists()
    assert ChecklistItem.objects.get(engagement=new, lesson__text=LESSON).done
