"""How numbers, money and dates read on every page: the organization's locale, one way.

A template library registered as a builtin (``TEMPLATES.OPTIONS.builtins``), so every
template has ``money``, ``number``, ``day`` and ``moment`` without a ``{% load %}``. The
organization's middleware activates its locale for the request (as it activates its time
zone); outside a request the default locale applies. Templates never format money or a day
by hand (``floatformat``, ``|date:"j M Y"``, slicing an ISO string): a page that did would
disagree with the next one.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils import dateformat, timezone


@dataclass(frozen=True)
class Locale:
    label: str
    thousands: str
    decimal: str
    day: str  # a Django date format
    moment: str  # a date and a time


LOCALES: dict[str, Locale] = {
    "en": Locale("English: 1,234.50 · 31 Dec 2026 14:05", ",", ".", "j M Y", "j M Y H:i"),
    "en-us": Locale(
        "US English: 1,234.50 · Dec 31, 2026 2:05 p.m.", ",", ".", "M j, Y", "M j, Y P"
    ),
    "de": Locale("German: 1.234,50 · 31.12.2026 14:05", ".", ",", "d.m.Y", "d.m.Y H:i"),
    "fr": Locale("French: 1 234,50 · 31/12/2026 14:05", "\u202f", ",", "d/m/Y", "d/m/Y H:i"),
    "iso": Locale("ISO: 1234.50 · 2026-12-31 14:05", "", ".", "Y-m-d", "Y-m-d H:i"),
}
DEFAULT_LOCALE = "en"
LOCALE_CHOICES = [(code, locale.label) for code, locale in LOCALES.items()]

_active: ContextVar[str] = ContextVar("vendorwatch_locale", default=DEFAULT_LOCALE)


@contextmanager
def locale_of(code: str | None) -> Iterator[None]:
    """Format as ``code`` (an organization's locale) inside the block."""
    token = _active.set(code if code in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _active.reset(token)


def active() -> Locale:
    return LOCALES[_active.get()]


register = template.Library()


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_number(value, places: int | None = None) -> str:
    """``value`` with the locale's separators; ``places`` None: up to two, trailing zeros cut."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    loc = active()
    if places is None:  # 42.857142… → 42.86; 40.0 → 40
        number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
        places = max(0, -number.as_tuple().exponent)
    number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = loc.thousands.join(groups)
    return sign + text + (loc.decimal + fraction if fraction else "")


@register.filter
def number(value, places=None) -> str:
    """A number as the organization writes it: ``{{ pct|number }}`` → ``42.86``."""
    return format_number(value, None if places in (None, "") else int(places))


@register.filter
def money(value, currency: str = "") -> str:
    """An amount of money, the one way every page shows it: ``1,234.50 EUR``, ``120,000 EUR``.

    Cents appear only when there are some, so a budget reads ``120,000`` and a spend entry
    ``1,234.50``.
    """
    amount = _decimal(value)
    if amount is None:
        return "—"
    places = 0 if amount == amount.to_integral_value() else 2
    text = format_number(amount, places)
    return f"{text} {currency}".strip() if currency else text


def _as_moment(value) -> date | datetime | None:
    if isinstance(value, (date, datetime)):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return None
    return None


@register.filter
def day(value) -> str:
    """The day of a date, a datetime (in the organization's time zone) or an ISO string."""
    moment = _as_moment(value)
    if moment is None:
        return "" if value in (None, "") else str(value)
    if isinstance(moment, datetime) and timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    return dateformat.format(moment, active().day)


@register.filter
def moment(value) -> str:
    """A date and time in the organization's time zone and format (no seconds)."""
    when = _as_moment(value)
    if when is None:
        return "" if value in (None, "") else str(value)
    if not isinstance(when, datetime):
        return day(when)
    if timezone.is_aware(when):
        when = timezone.localtime(when)
    return dateformat.format(when, active().moment)
