"""The post-mortem's facts agree with each other and say what the decision cost and why."""

import datetime as dt
import re
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from engagements.alerts import services as alerts
from engagements.delivery import services as delivery
from engagements.models import (
    AlertEvent,
    DeliverableStatus,
    EngagementStatus,
    HealthSnapshot,
    PostMortem,
    SpendEntry,
)
from engagements.postmortems import services
from engagements.watch import services as watch
from tests.factories import DeliverableFactory, EngagementFactory, SpendEntryFactory

from .conftest import ended_engagement

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


@pytest.fixture
def terminated(owner):
    """An engagement with one deliverable in each state, spend before and after its first
    warning, terminated with a reason."""
    traveller = time_machine.travel(NOW)
    traveller.start()
    engagement = EngagementFactory(
        org=owner.org, budget=Decimal("50000"), activated_at=NOW - dt.timedelta(days=60)
    )
    for status in (
        DeliverableStatus.ACCEPTED,
        DeliverableStatus.REJECTED,
        DeliverableStatus.SUBMITTED,
        DeliverableStatus.PLANNED,
    ):
        DeliverableFactory(milestone__engagement=engagement, status=status)
    SpendEntryFactory(engagement=engagement, amount=Decimal("20000"), date=dt.date(2026, 10, 1))
    SpendEntryFactory(engagement=engagement, amount=Decimal("7500.50"), date=dt.date(2026, 11, 25))
    HealthSnapshot.objects.create(
        org=owner.org, engagement=engagement, date=dt.date(2026, 11, 20), score=40, level="warning"
    )
    delivery.change_engagement_status(
        engagement=engagement,
        to=EngagementStatus.TERMINATED,
        by=owner.user,
        reason="Third missed demo; the data model is still wrong.",
    )
    yield engagement
    traveller.stop()


@time_machine.travel(NOW)
def test_every_deliverable_is_counted_the_submitted_one_too(owner, terminated):
    facts = PostMortem.objects.get(engagement=terminated).facts
    counted = facts["accepted"] + facts["rejected"] + facts["submitted"] + facts["never_delivered"]
    assert counted == facts["deliverables"] == 4
    page = owner.client().get(
        reverse("engagements:engagement_postmortem", args=[terminated.pk]), follow=True
    )
    assert "1 awaiting review" in page.text
    assert "1 / 0 / 2" not in page.text


@time_machine.travel(NOW)
def test_holding_on_is_told_in_days_and_in_money(owner, terminated):
    facts = PostMortem.objects.get(engagement=terminated).facts
    assert facts["days_held_on"] == 10 and facts["spent_after_warning"] == "7500.50"
    page = owner.client().get(
        reverse("engagements:engagement_postmortem", args=[terminated.pk]), follow=True
    )
    assert "10 days, 7,500.50 EUR spent" in page.text


@time_machine.travel(NOW)
def test_the_reason_given_when_terminating_is_in_the_post_mortem_and_its_export(owner, terminated):
    pm = PostMortem.objects.get(engagement=terminated)
    page = owner.client().get(reverse("engagements:postmortem_detail", args=[pm.pk])).text
    export = owner.client().get(reverse("engagements:postmortem_markdown", args=[pm.pk])).text
    for text in (page, export):
        assert "Third missed demo; the data model is still wrong." in text
        assert "Why it ended" in text and "Terminated (cut losses) by" in text


@time_machine.travel(NOW)
def test_the_post_mortem_names_alert_events_and_levels_in_words(owner):
    engagement = EngagementFactory(org=owner.org, activated_at=NOW - dt.timedelta(days=60))
    watch.sweep(at=NOW)  # silent for 60 days: an alert
    alert = engagement.alerts.get()
    AlertEvent.objects.create(
        org=owner.org, alert=alert, kind="escalated", from_level="warning", to_level="cut_losses"
    )
    alerts.terminate_engagement(engagement=engagement, by=owner.user, reason="Enough.")
    pm = PostMortem.objects.get(engagement=engagement)
    page = owner.client().get(reverse("engagements:postmortem_detail", args=[pm.pk])).text
    text = re.sub(r"<[^>]+>", " ", page)  # what a person reads, not attribute values
    assert "Escalated → Cut your losses" in text
    assert "cut_losses" not in text


def test_an_old_post_mortem_without_the_submitted_count_still_counts_every_deliverable(
    owner, postmortem
):
    facts = dict(postmortem.facts, deliverables=4, accepted=1, rejected=0, never_delivered=2)
    facts.pop("submitted", None)
    PostMortem.objects.filter(pk=postmortem.pk).update(facts=facts)
    page = owner.client().get(reverse("engagements:postmortem_detail", args=[postmortem.pk]))
    assert "1 awaiting review" in page.text


def test_the_list_of_post_mortems_is_in_the_navigation_and_links_each(owner, postmortem):
    dashboard = owner.client().get(reverse("engagements:dashboard")).text
    assert reverse("engagements:postmortem_list") in dashboard
    page = owner.client().get(reverse("engagements:postmortem_list"))
    assert page.status_code == 200
    assert reverse("engagements:postmortem_detail", args=[postmortem.pk]) in page.text
    assert postmortem.engagement.title in page.text


def test_the_list_of_post_mortems_shows_only_the_organizations_own(outsider, postmortem):
    page = outsider.client().get(reverse("engagements:postmortem_list")).text
    assert postmortem.engagement.title not in page


def test_the_list_of_post_mortems_only_answers_get(owner):
    assert owner.client().post(reverse("engagements:postmortem_list")).status_code == 405


@pytest.mark.parametrize("n", [1, 12])
def test_the_list_of_post_mortems_query_count_is_flat(owner, n, django_assert_num_queries):
    for _ in range(n):
        services.open_postmortem(engagement=ended_engagement(owner.org))
    client = owner.client()
    client.get(reverse("accounts:member_list"))
    with django_assert_num_queries(5):  # session, user, memberships, count, page
        client.get(reverse("engagements:postmortem_list"))


def test_spend_after_the_first_warning_counts_nothing_dated_in_the_future(owner):
    """The same rule as the burn: spend dated after today is not spent yet."""
    engagement = EngagementFactory(org=owner.org, activated_at=timezone.now())
    HealthSnapshot.objects.create(
        org=owner.org, engagement=engagement, date=timezone.localdate(), score=40, level="warning"
    )
    SpendEntry.objects.create(
        org=owner.org,
        engagement=engagement,
        date=timezone.localdate() + dt.timedelta(days=30),
        amount=Decimal("999"),
        currency="EUR",
        description="Next month",
    )
    delivery.change_engagement_status(
        engagement=engagement, to=EngagementStatus.COMPLETED, by=owner.user
    )
    assert PostMortem.objects.get(engagement=engagement).facts["spent_after_warning"] == "0.00"
