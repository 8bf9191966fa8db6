"""Form helpers shared by the apps' views, and the base forms every form of the app uses."""

from collections.abc import Callable

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import DecimalValidator
from django.forms.boundfield import BoundField
from django.forms.models import ModelChoiceField, ModelChoiceIterator

from .errors import CONFLICT
from .validation import COLUMN_RANGES, MAX_INT, MIN_INT, check_date_range, int_range_message

DEFAULT_MAX_DIGITS = 14  # the money columns' size, for a decimal field that names none


class ListedChoices(ModelChoiceIterator):
    """A model choice list read with one plain query.

    Django's iterator reads the choices with ``.iterator()``, which on PostgreSQL is a
    server-side cursor: DECLARE (WITH HOLD outside a transaction), FETCH and CLOSE, three
    round trips for the handful of rows of a select (a page of the engagement page's forms
    paid 18 of them)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class FocusFirstError(BoundField):
    """A field that asks for the cursor when it holds the form's first error.

    A refused full-page post reloads the page at its top; with ``autofocus`` on the first
    invalid field the browser scrolls to it and focuses it (a phone too), and htmx does the
    same for a swapped region. Rendered through ``field.html`` or ``{{ field }}`` alike.

    Every field of our forms is rendered through it, so it is also where a model choice
    field gets ``ListedChoices``.
    """

    def __init__(self, form, field, name) -> None:
        if isinstance(field, ModelChoiceField) and field.iterator is ModelChoiceIterator:
            field.iterator = ListedChoices
            field.widget.choices = field.choices  # the widget took the old iterator's choices
        super().__init__(form, field, name)

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        if self.form.is_bound and getattr(self.form, "error_focus", None) == self.name:
            attrs["autofocus"] = True
        return attrs


class InputLimits:
    """Every date, integer and decimal field of the form meets ``outsourcing.validation``.

    Applied to every field the form has when it validates, so no field can forget it: dates within the app's years (year 1 or 9999 overflows in the organization's time
    zone), integers that PostgreSQL's ``integer`` holds, decimals with bounded digits. A
    field's own tighter ``min_value``/``max_value`` still applies; the service checks the
    exact column (a ``smallint``) with the same words.
    """

    bound_field_class = FocusFirstError

    @property
    def error_focus(self) -> str | None:
        """Where a refused form puts the cursor: its first field with an error (in the form's
        order, a service's refusal added later included), else ``"__all__"`` for the
        form-wide errors (``form_errors.html``); None when nothing was refused."""
        if not self.is_bound or not self.errors:
            return None
        for name in self.fields:
            if name in self.errors and not self[name].is_hidden:
                return name
        return "__all__"

    def full_clean(self) -> None:
        # At validation, not in __init__: a field a subclass adds in its own __init__ counts.
        model = getattr(getattr(self, "_meta", None), "model", None)
        for name, field in self.fields.items():
            limit_field(field, column=_column(model, name))
        super().full_clean()


def _column(model, name: str) -> tuple[int, int]:
    """The range of the integer column a model form's field writes (``integer`` otherwise)."""
    try:
        internal = model._meta.get_field(name).get_internal_type()
    except (AttributeError, LookupError, FieldDoesNotExist):
        return (MIN_INT, MAX_INT)
    return COLUMN_RANGES.get(internal, (MIN_INT, MAX_INT))


def limit_field(field: forms.Field, *, column: tuple[int, int] = (MIN_INT, MAX_INT)) -> None:
    """Add the shared limits to one form field (idempotent)."""
    if getattr(field, "_input_limits", False):
        return
    field._input_limits = True
    if isinstance(field, (forms.DateField, forms.DateTimeField)):
        field.validators.append(check_date_range)
    elif isinstance(field, forms.DecimalField):
        if field.max_digits is None:
            field.validators.append(DecimalValidator(DEFAULT_MAX_DIGITS, field.decimal_places))
    elif isinstance(field, forms.IntegerField):
        field.validators.append(_IntRange(*column, field.min_value, field.max_value))


class _IntRange:
    """The column's ``low <= value <= high``, said the way the API and services say it.

    A value the field's own ``min_value``/``max_value`` already refuses gets that one message,
    not two.
    """

    def __init__(self, low: int, high: int, own_min: int | None, own_max: int | None) -> None:
        self.low = low if own_min is None else max(low, own_min)
        self.high = high if own_max is None else min(high, own_max)
        self.own_min, self.own_max = own_min, own_max

    def __call__(self, value: int | None) -> None:
        if value is None or self.low <= value <= self.high:
            return
        if (self.own_min is not None and value < self.own_min) or (
            self.own_max is not None and value > self.own_max
        ):
            return  # the field's own validator says so already
        raise ValidationError(int_range_message(self.low, self.high), code="int_range")


class IdsOfItsOwn:
    """Forms sharing one page get ids of their own (``milestone_title``, not ``id_title``)."""

    ids = "id"

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("auto_id", f"{self.ids}_%s")
        super().__init__(*args, **kwargs)


class Form(InputLimits, forms.Form):
    """The app's plain form: ``django.forms.Form`` with the shared input limits."""


class ModelForm(InputLimits, forms.ModelForm):
    """The app's model form: ``django.forms.ModelForm`` with the shared input limits."""


def apply_service(form: forms.BaseForm, call: Callable[[], object]) -> bool:
    """Validate ``form`` and run the service; a refusal lands next to the field it concerns.

    ``call`` runs only when the form is valid; a ``ValidationError`` it raises (a lost race,
    ``outsourcing.errors.Conflict``, among them) is added to the form, per field when it
    names fields the form has, else as a form-wide error, with its code kept for
    ``lost_race``.
    """
    if not form.is_valid():
        return False
    try:
        call()
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.error_list)
        return False
    return True


def lost_race(form: forms.BaseForm) -> bool:
    """Whether the form was refused because the service lost a race (a ``Conflict``)."""
    return any(
        error.code == CONFLICT for errors in form.errors.as_data().values() for error in errors
    )
