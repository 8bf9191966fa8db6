"""Limits on what a person or a program may type, shared by forms, the API and services.

One rule per kind of value: an HTML form, a JSON body, a CSV row and a service called from
a task all refuse the same inputs with the same words. The limits are what the database
and the organization's time zone can hold: year 1 or 9999 overflows when converted to a
far time zone, and integers past 2**31 - 1 overflow PostgreSQL's ``integer`` columns.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
DATE_RANGE_MESSAGE = f"Use a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
MAX_INT = 2**31 - 1  # PostgreSQL integer; also the largest id any URL or query string may name


def check_date_range(value: date | datetime | None) -> None:
    """Refuse a date or moment outside the years the app can store and show."""
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(DATE_RANGE_MESSAGE, code="date_range")
