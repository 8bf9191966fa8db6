"""Dates and numbers the app cannot hold are refused next to the field, in every form and in
the services behind them, with the words the API uses; nothing is saved."""

import datetime as dt
import importlib
import inspect
import pkgutil

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse

import accounts
import engagements
import outsourcing
import vendors
from engagements.delivery import services as delivery
from engagements.models import Engagement, Interaction, Milestone, SpendEntry
from outsourcing.forms import InputLimits
from outsourcing.validation import DATE_RANGE_MESSAGE
from tests.factories import EngagementFactory, VendorFactory
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def url(name: str, *args) -> str:
    return reverse(f"engagements:{name}", args=args)


def _project_forms() -> list[type]:
    for package in (accounts, engagements, outsourcing, vendors):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" not in module.name and "management" not in module.name:
                importlib.import_module(module.name)
    found, todo = [], [forms.BaseForm]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in {"accounts", "engagements", "outsourcing", "vendors"}:
            found.append(cls)
    return found


def test_every_form_of_the_app_applies_the_shared_input_limits():
    project_forms = _project_forms()
    assert len(project_forms) > 30  # the walk found the forms
    forgot = [
        f"{c.__module__}.{c.__name__}" for c in project_forms if not issubclass(c, InputLimits)
    ]
    assert forgot == [], "derive from outsourcing.forms.Form / ModelForm"


@pytest.fixture
def far_east(manager):
    """The organization lives at UTC+14, where year 1 and year 9999 overflow."""
    manager.org.time_zone = "Pacific/Kiritimati"
    manager.org.save(update_fields=["time_zone"])
    return manager


def _setup(vendor, owner, **overrides) -> dict:
    return {
        "vendor": vendor.pk,
        "title": "Checkout rebuild",
        "goal": "Cut checkout drop-off in half.",
        "definition_of_done": "Drop-off below 20% for a month.",
        "budget": "30000",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "target_end_date": "2026-06-30",
        "owner": owner.pk,
        "contact_cadence_days": 7,
        "contact_grace_days": 3,
        "response_window_hours": 48,
        "review_window_days": 5,
        "stall_days": 21,
        "scope_change_window_days": 30,
        "scope_change_limit": 3,
        "has_concrete_target": "yes",
        "need_is_specific": "yes",
        "money_alternative": "Hire a designer.",
        "internal_owner": "Max",
        "owner_hours_per_week": 4,
    } | overrides


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"start_date": "0001-01-01"}, "start_date", DATE_RANGE_MESSAGE),
        ({"target_end_date": "9999-12-31"}, "target_end_date", DATE_RANGE_MESSAGE),
        ({"start_date": "1899-12-31"}, "start_date", DATE_RANGE_MESSAGE),
        ({"review_window_days": "2147483648"}, "review_window_days", "whole number"),
        ({"contact_cadence_days": "40000"}, "contact_cadence_days", "between 0 and 32767"),
        ({"budget": "1" + "0" * 20}, "budget", "digits"),
    ],
)
def test_setting_up_an_engagement_with_impossible_dates_or_numbers_says_why(
    far_east, overrides, field, message
):
    vendor = VendorFactory(org=far_east.org, status=VendorStatus.APPROVED)
    response = far_east.client().post(
        url("engagement_create"), _setup(vendor, far_east.user, **overrides)
    )
    assert response.status_code == 422
    assert message in response.context["form"].errors[field][0]
    assert not Engagement.objects.exists()


@pytest.fixture
def engagement(far_east):
    return EngagementFactory(org=far_east.org, owner=far_east.user)


@pytest.mark.parametrize(
    ("name", "data", "model", "message"),
    [
        (
            "milestone_create",
            {"title": "Far", "due_date": "9999-12-31"},
            Milestone,
            DATE_RANGE_MESSAGE,
        ),
        (
            "spend_create",
            {"date": "0001-01-01", "amount": "10", "currency": "EUR", "description": "x"},
            SpendEntry,
            DATE_RANGE_MESSAGE,
        ),
        (
            "spend_create",
            {"date": "2026-01-01", "amount": "1e20", "currency": "EUR", "description": "x"},
            SpendEntry,
            "digits",
        ),
        (
            "interaction_create",
            {
                "channel": "call",
                "direction": "we_to_vendor",
                "outcome": "held",
                "occurred_at": "9999-12-31T23:59",
            },
            Interaction,
            DATE_RANGE_MESSAGE,
        ),
        (
            "interaction_create",
            {
                "channel": "email",
                "direction": "we_to_vendor",
                "outcome": "answered",
                "response_hours": "99999999999",
            },
            Interaction,
            "whole number",
        ),
    ],
)
def test_engagement_page_forms_refuse_what_the_database_cannot_hold(
    far_east, engagement, name, data, model, message
):
    before = model.objects.count()
    plain = far_east.client().post(url(name, engagement.pk), data)
    assert plain.status_code == 422 and message in plain.text
    in_place = far_east.client().post(url(name, engagement.pk), data, headers=HX)
    assert in_place.status_code == 200 and message in in_place.text
    assert model.objects.count() == before


def test_watch_settings_past_the_column_are_refused_next_to_the_field(far_east, engagement):
    settings = engagement.watch_settings()
    response = far_east.client().post(
        url("watch_settings_update", engagement.pk), settings | {"stall_days": "70000"}
    )
    assert response.status_code == 422 and "between 0 and 32767" in response.text
    assert Engagement.objects.get().stall_days == settings["stall_days"]


# --- the same rule in the services (tasks, the CSV import and the API call these) -----------


def test_services_refuse_dates_outside_the_app_years_naming_the_field(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    with pytest.raises(ValidationError) as refused:
        delivery.create_engagement(
            org=manager.org,
            by=manager.user,
            vendor=vendor,
            title="t",
            goal="g",
            definition_of_done="d",
            budget=1,
            currency="EUR",
            start_date=dt.date(1, 1, 1),
            target_end_date=dt.date(2026, 1, 1),
            owner=manager.user,
        )
    assert refused.value.message_dict == {"start_date": [DATE_RANGE_MESSAGE]}
    assert not Engagement.objects.exists()


def test_services_refuse_integers_past_the_column_naming_the_field(manager):
    engagement = EngagementFactory(org=manager.org, owner=manager.user)
    with pytest.raises(ValidationError) as refused:
        delivery.update_watch_settings(engagement=engagement, contact_grace_days=2**15)
    assert "contact_grace_days" in refused.value.message_dict
    with pytest.raises(ValidationError) as refused:
        delivery.log_interaction(
            engagement=engagement,
            by=manager.user,
            channel="email",
            direction="we_to_vendor",
            outcome="answered",
            response_hours=2**31,
        )
    assert "response_hours" in refused.value.message_dict
    assert not Interaction.objects.exists()


@pytest.mark.parametrize(
    ("form_class", "data", "field", "message"),
    [
        (
            "engagements.delivery.forms.SpendForm",
            {"date": "0001-01-01", "amount": "1", "currency": "EUR", "description": "x"},
            "date",
            DATE_RANGE_MESSAGE,
        ),
        (
            "engagements.delivery.forms.MilestoneForm",
            {"title": "x", "due_date": "9999-12-31"},
            "due_date",
            DATE_RANGE_MESSAGE,
        ),
        (
            "engagements.alerts.forms.SnoozeForm",
            {"until": "9999-12-31T23:59"},
            "until",
            DATE_RANGE_MESSAGE,
        ),
        (
            "engagements.postmortems.forms.LessonFilterForm",
            {"since": "0001-01-01"},
            "since",
            DATE_RANGE_MESSAGE,
        ),
        (
            "engagements.delivery.forms.WatchSettingsForm",
            {
                "contact_cadence_days": 7,
                "contact_grace_days": 3,
                "response_window_hours": 48,
                "review_window_days": 5,
                "stall_days": str(2**31),
                "scope_change_window_days": 30,
                "scope_change_limit": 3,
            },
            "stall_days",
            "Use a whole number between 1 and 2147483647.",
        ),
        ("engagements.delivery.forms.ExitCriterionForm", {"value_1": "1e30"}, "value_1", "digits"),
    ],
)
def test_the_forms_refuse_impossible_values_before_any_service_runs(
    engagement, form_class, data, field, message
):
    module, name = form_class.rsplit(".", 1)
    cls = getattr(importlib.import_module(module), name)
    wants = inspect.signature(cls.__init__).parameters
    form = cls(data, **({"engagement": engagement} if "engagement" in wants else {}))
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field])
