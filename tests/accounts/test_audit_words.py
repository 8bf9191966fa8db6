"""The audit trail is written for people: record names, field labels, choice names and the
names of related records, in the organization's local time, one action per group."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse

from accounts.tenancy import TenantModel
from engagements.delivery import services
from tests.factories import EngagementFactory, MilestoneFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "model", [m for m in apps.get_models() if issubclass(m, TenantModel)], ids=lambda m: m.__name__
)
def test_no_record_is_named_the_way_django_makes_names_up(model):
    """'AlertEvent object (4)' tells nobody anything; every tenant model has a readable name."""
    row = model(pk=4)
    try:
        name = str(row)
    except ObjectDoesNotExist:
        pytest.skip(f"{model.__name__} names itself by a related record")  # has its own __str__
    assert "object (" not in name


@time_machine.travel(dt.datetime(2026, 11, 30, 21, 30, tzinfo=dt.UTC))
def test_an_owner_reads_what_a_manager_changed_in_words_and_in_berlin_time(owner, manager, org):
    engagement = EngagementFactory(org=org, owner=manager.user, currency="EUR")
    milestone = MilestoneFactory(engagement=engagement, title="Beta release")
    entry = services.record_spend(
        engagement=engagement,
        by=manager.user,
        date=dt.date(2026, 11, 30),
        amount=Decimal("4500"),
        currency="EUR",
        description="Invoice 12",
        milestone=milestone,
    )
    client = owner.client()
    page = client.get(reverse("accounts:audit_list")).text

    assert "Created spend entry “Invoice 12”" in page
    assert "Beta release" in page  # the milestone by its name, not its id
    assert f"→ {milestone.pk}<" not in page
    assert "Org:" not in page and "org:" not in page  # the organization is not a change
    assert "object (" not in page
    assert "30 Nov 2026 22:30" in page  # 21:30 UTC is 22:30 in Berlin
    assert "Times in Europe/Berlin" in page
    assert entry.pk


def test_changes_made_together_show_as_one_action(owner, manager, org):
    engagement = EngagementFactory(org=org, owner=manager.user)
    MilestoneFactory(engagement=engagement, title="Alpha")
    MilestoneFactory(engagement=engagement, title="Gamma")
    page = owner.client().get(reverse("accounts:audit_list")).text
    assert page.count('class="audit-action"') < page.count("Created ")
