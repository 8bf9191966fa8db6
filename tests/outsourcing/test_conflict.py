"""A write that lost a race is one exception everywhere: the form shows it beside the field it
names, the view can tell it from bad input, and the API answers it 409 in one place."""

import pytest
from django import forms
from django.core.exceptions import ValidationError

from engagements.alerts import services as alerts
from engagements.delivery import services as delivery
from outsourcing.errors import Conflict
from outsourcing.forms import Form, apply_service, lost_race
from vendors import services as vendors


class NameForm(Form):
    name = forms.CharField()


def _refuse(error: Exception):
    def call():
        raise error

    return call


def test_a_lost_race_on_a_field_is_shown_beside_that_field_and_known_as_a_lost_race():
    form = NameForm({"name": "Acme"})
    assert not apply_service(form, _refuse(Conflict("Taken meanwhile.", field="name")))
    assert form.errors == {"name": ["Taken meanwhile."]}
    assert lost_race(form)


def test_a_lost_race_without_a_field_is_a_form_wide_message_in_plain_words():
    form = NameForm({"name": "Acme"})
    assert not apply_service(form, _refuse(Conflict("Someone else just changed it.")))
    assert form.non_field_errors() == ["Someone else just changed it."]
    assert str(Conflict("Someone else just changed it.")) == "Someone else just changed it."
    assert lost_race(form)


def test_bad_input_refused_by_a_service_is_not_mistaken_for_a_lost_race():
    form = NameForm({"name": "Acme"})
    assert not apply_service(form, _refuse(ValidationError({"name": "Too vague."})))
    assert form.errors == {"name": ["Too vague."]} and not lost_race(form)
    assert not lost_race(NameForm({}))  # a field left empty is not a race either


@pytest.mark.parametrize("module", [vendors, delivery, alerts], ids=lambda m: m.__name__)
def test_every_app_raises_the_one_conflict(module):
    """No app keeps a race exception of its own for the API and the forms to learn about."""
    assert module.Conflict is Conflict
    own = [
        name
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, Exception) and value is not Conflict
        if value.__module__ == module.__name__
    ]
    assert own == []
