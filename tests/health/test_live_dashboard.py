"""Everything on the dashboard is live: the open alerts refresh like the counters, and the
cut-your-losses summary counts lateness the way the warning signs do."""

import datetime as dt
import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from engagements.alerts import services as alerts
from engagements.models import Alert, EngagementHealth
from engagements.watch import services as watch
from tests.factories import DeliverableFactory, EngagementFactory, MilestoneFactory

HTMX = {"HX-Request": "true"}


@pytest.fixture
def failing(owner):
    engagement = EngagementFactory(
        org=owner.org, owner=owner.user, activated_at=timezone.now() - timedelta(days=40)
    )
    watch.sweep(at=timezone.now())
    return engagement


def test_the_open_alerts_list_polls_like_the_live_counters(failing, manager):
    html = manager.client().get(reverse("engagements:dashboard")).text
    alert_list = re.search(r'<section class="card" id="alert-list"[^>]*>', html).group(0)
    assert 'hx-trigger="every ' in alert_list and "hx-get=" in alert_list
    assert "data-poll-waits-for-typing" in alert_list  # app.js: never swapped while typing


def test_a_colleagues_acknowledgement_appears_at_the_next_poll(failing, manager, owner):
    client = manager.client()
    poll = {"headers": HTMX | {"HX-Target": "alert-list"}}
    before = client.get(reverse("engagements:dashboard"), **poll).text
    assert before.lstrip().startswith('<section class="card" id="alert-list"')
    assert "Acknowledged" not in before  # cached now

    alerts.acknowledge_alert(alert=Alert.objects.get(), by=owner.user, note="On it")

    after = client.get(reverse("engagements:dashboard"), **poll).text
    assert "Acknowledged" in after


# session, user, memberships, owners and vendors (the filter form), the last sweep
PAGE_QUERIES = 6


@pytest.mark.parametrize("n", [1, 15])
def test_polling_the_alert_list_costs_the_same_queries_whatever_the_count(
    manager, n, django_assert_num_queries
):
    for _ in range(n):
        EngagementFactory(org=manager.org, activated_at=timezone.now() - timedelta(days=40))
    watch.sweep(at=timezone.now())
    client = manager.client()
    client.get(reverse("engagements:dashboard"))  # fills the cache
    with django_assert_num_queries(PAGE_QUERIES):  # rows from the cache
        client.get(reverse("engagements:dashboard"), headers=HTMX | {"HX-Target": "alert-list"})


def test_dashboard_rows_open_the_engagement_and_name_its_vendor_as_a_link(failing, manager):
    html = manager.client().get(reverse("engagements:dashboard")).text
    assert f'href="{reverse("engagements:engagement_detail", args=[failing.pk])}"' in html
    assert f'href="{reverse("vendors:vendor_detail", args=[failing.vendor_id])}"' in html


def test_the_health_page_links_to_its_engagement(failing, manager):
    html = manager.client().get(reverse("engagements:engagement_health", args=[failing.pk])).text
    assert f'href="{reverse("engagements:engagement_detail", args=[failing.pk])}"' in html


def test_the_alert_page_links_to_its_engagement_and_tells_its_history_in_words(failing, manager):
    alert = Alert.objects.get()
    html = manager.client().get(reverse("engagements:alert_detail", args=[alert.pk])).text
    assert f'href="{reverse("engagements:engagement_detail", args=[failing.pk])}"' in html
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "watcher · Opened" in text
    assert "watcher · opened" not in text and "cut_losses" not in text


@time_machine.travel(dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC))
def test_the_summarys_days_late_is_the_warning_signs_count(owner):
    engagement = EngagementFactory(
        org=owner.org,
        start_date=dt.date(2026, 8, 1),
        target_end_date=dt.date(2027, 2, 1),  # the engagement is not past its end
        activated_at=dt.datetime(2026, 8, 1, tzinfo=dt.UTC),
    )
    milestone = MilestoneFactory(engagement=engagement, due_date=dt.date(2026, 10, 11))
    DeliverableFactory(milestone=milestone)
    watch.sweep(at=timezone.now())
    summary = alerts.loss_summary(engagement=engagement, at=timezone.now())
    assert summary.days_late == 50
    health = EngagementHealth.objects.get(engagement=engagement)
    evidence = " ".join(s["evidence"] for s in health.signals)
    assert "the oldest 50 days late" in evidence
    html = owner.client().get(reverse("engagements:alert_detail", args=[Alert.objects.get().pk]))
    assert "Days late" in html.text and "Days overdue" not in html.text
    assert re.search(r"<dd>50 <small>\(the oldest of 1 late milestone", html.text)
