"""Every record named on a page links to its own page; numbers read as people write them."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from engagements.delivery import services as delivery
from engagements.delivery.exit_criteria import METRICS, ConditionState
from engagements.models import EngagementStatus
from tests.factories import ContractFactory, EngagementFactory, SpendEntryFactory

pytestmark = pytest.mark.django_db


def href(name: str, *args) -> str:
    return f'href="{reverse(name, args=args)}'


def test_the_vendor_and_its_contract_link_to_that_vendor_not_the_list(manager):
    engagement = EngagementFactory(org=manager.org)
    html = manager.client().get(reverse("engagements:engagement_detail", args=[engagement.pk])).text
    vendor = reverse("vendors:vendor_detail", args=[engagement.vendor_id])
    assert f'<a href="{vendor}">{engagement.vendor.name}</a>' in html
    # Without a contract linked: the vendor's contracts; with one: the contract's own page.
    assert f'href="{vendor}#contracts">the vendor\'s contracts</a>' in html
    header = html.split('id="engagement-header"', 1)[1].split("</section>", 1)[0]
    assert href("vendors:vendor_list") + '"' not in header


def test_a_linked_contract_links_to_its_own_page(manager):
    contract = ContractFactory(org=manager.org, vendor__org=manager.org, title="MSA")
    engagement = EngagementFactory(org=manager.org, vendor=contract.vendor, contract=contract)
    html = manager.client().get(reverse("engagements:engagement_detail", args=[engagement.pk])).text
    assert f'{href("vendors:contract_detail", contract.pk)}">MSA</a>' in html


def test_the_vendor_page_lists_its_engagements_as_links(manager):
    engagement = EngagementFactory(org=manager.org, title="Checkout rebuild")
    html = manager.client().get(reverse("vendors:vendor_detail", args=[engagement.vendor_id])).text
    assert f'{href("engagements:engagement_detail", engagement.pk)}">Checkout rebuild</a>' in html


def test_an_ended_engagement_links_to_its_post_mortem(manager):
    engagement = EngagementFactory(org=manager.org)
    page = reverse("engagements:engagement_detail", args=[engagement.pk])
    link = href("engagements:engagement_postmortem", engagement.pk)
    header = manager.client().get(page).text.split('id="engagement-header"', 1)[1]
    assert link not in header.split("</section>", 1)[0]
    delivery.change_engagement_status(
        engagement=engagement, to=EngagementStatus.COMPLETED, by=manager.user
    )
    header = manager.client().get(page).text.split('id="engagement-header"', 1)[1]
    assert link in header.split("</section>", 1)[0]
    followed = manager.client().get(
        reverse("engagements:engagement_postmortem", args=[engagement.pk])
    )
    assert followed.status_code == 302 and "/postmortems/" in followed.url


def test_exit_criteria_values_read_like_numbers_not_floats():
    state = ConditionState(
        metric=METRICS["budget_spent_pct"], op=">", threshold=50.0, current=300 / 7, met=False
    )
    assert state.text == "share of the budget spent > 50% (now 42.86%)"
    comfort = ConditionState(
        metric=METRICS["comfort_avg_last_5"], op="<", threshold=2.5, current=7 / 3, met=True
    )
    assert "(now 2.33 of 5)" in comfort.text


def test_the_spend_list_and_the_header_write_money_the_same_way(manager):
    engagement = EngagementFactory(org=manager.org, budget=Decimal("120000"))
    SpendEntryFactory(engagement=engagement, amount=Decimal("1234.50"), date=dt.date.today())
    html = manager.client().get(reverse("engagements:engagement_detail", args=[engagement.pk])).text
    assert html.count("1,234.50 EUR") >= 2  # the header's "spent" and the entry
    assert "120,000" in html
    assert not re.search(r"\b1234\.50?\b", html.replace('value="1234.50"', ""))
