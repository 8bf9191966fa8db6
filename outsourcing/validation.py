"""Limits on what a person or a program may type, shared by forms, the API and services.

One rule per kind of value: an HTML form, a JSON body, a CSV row and a service called from
a task all refuse the same inputs with the same words. The limits are what the database
and the organization's time zone can hold: year 1 or 9999 overflows when converted to a
far time zone, and integers past 2**31 - 1 overflow PostgreSQL's ``integer`` columns.
"""

from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import DecimalValidator
from django.db import models
from django.utils import timezone

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
DATE_RANGE_MESSAGE = f"Use a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
MAX_INT = 2**31 - 1  # PostgreSQL integer; also the largest id any URL or query string may name
MIN_INT = -(2**31)
MAX_SMALL_INT = 2**15 - 1  # PostgreSQL smallint (the watch settings, scores, hours)

# What each integer column holds on PostgreSQL. SQLite would take 64 bits in all of them;
# the app refuses the same numbers on both so a test on one proves the other.
COLUMN_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": (-(2**15), MAX_SMALL_INT),
    "PositiveSmallIntegerField": (0, MAX_SMALL_INT),
    "IntegerField": (MIN_INT, MAX_INT),
    "PositiveIntegerField": (0, MAX_INT),
    "BigIntegerField": (-(2**63), 2**63 - 1),
    "PositiveBigIntegerField": (0, 2**63 - 1),
}


FUTURE_SLACK = timedelta(minutes=5)  # a phone's clock may run a little ahead of the server's
FUTURE_MESSAGE = "That is in the future: record it once it has happened (today or earlier)."


def check_happened(value: date | datetime | None, *, tz: tzinfo | None = None) -> None:
    """Refuse a moment or a day after now: interactions and spend record what happened.

    A day is compared with today in ``tz`` (the organization's time zone; default: the
    active one), a moment with now plus a few minutes' slack. Due dates may be future and
    do not use this.
    """
    if value is None:
        return
    now = timezone.now()
    if isinstance(value, datetime):
        if value > now + FUTURE_SLACK:
            raise ValidationError(FUTURE_MESSAGE, code="future")
    elif value > timezone.localdate(now, tz):
        raise ValidationError(FUTURE_MESSAGE, code="future")


def check_date_range(value: date | datetime | None) -> None:
    """Refuse a date or moment outside the years the app can store and show."""
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")


def int_range_message(low: int, high: int) -> str:
    return f"Use a whole number between {low} and {high}."


def check_int_range(value: int | None, low: int = MIN_INT, high: int = MAX_INT) -> None:
    """Refuse an integer its column cannot hold."""
    if value is not None and not low <= value <= high:
        raise ValidationError(int_range_message(low, high), code="int_range")


def parse_id(value: object) -> int | None:
    """The id a query string names, or None for anything that is not one.

    Only ASCII digits count (``"²".isdigit()`` is true but ``int("²")`` fails), at most
    ten of them and within 1..MAX_INT (PostgreSQL refuses anything larger); empty, negative,
    ``1e5``, spaces inside and ``None`` are all "no id".
    """
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not (0 < len(value) <= 10 and value.isascii() and value.isdigit()):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_INT else None


def check_values(model: type[models.Model], **values: object) -> None:
    """Refuse, field by field, values of ``model`` that its columns cannot hold.

    Services call it with the values they are about to write, so a task, the CSV import and
    the API meet the same limits as the HTML forms: dates within the app's years, integers
    within the column's range, decimals within the column's digits.
    """
    errors: dict[str, list[ValidationError]] = {}
    for name, value in values.items():
        if value is None:
            continue
        try:
            field = model._meta.get_field(name)
        except Exception:  # not a column (a helper argument): nothing to check
            continue
        try:
            _check_field(field, value)
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.error_list)
    if errors:
        raise ValidationError(errors)


def _check_field(field: models.Field, value: object) -> None:
    if isinstance(field, models.DateField) and isinstance(value, date):
        check_date_range(value)
    elif isinstance(field, models.IntegerField) and isinstance(value, int):
        check_int_range(value, *COLUMN_RANGES.get(field.get_internal_type(), (MIN_INT, MAX_INT)))
    elif isinstance(field, models.DecimalField) and value is not None:
        try:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        except InvalidOperation:
            raise ValidationError("Enter a number.", code="invalid") from None
        DecimalValidator(field.max_digits, field.decimal_places)(number)
