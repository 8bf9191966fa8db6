"""A form renderer that writes the common widgets in Python, byte for byte as Django would.

Django renders each widget through a template: ``input.html`` including ``attrs.html``, a
``select.html`` including one option template per option. The engagement page carries about
55 widgets, and rendering them was half of its template time. ``FastRenderer`` writes the
same HTML for the widgets whose templates it knows (text-like inputs, check boxes, text
areas and single or multiple selects with Django's own option template) and hands every
other template to Django. ``tests/outsourcing/test_form_renderer.py`` holds it to Django's
output for every widget of every form in the project.
"""

from collections.abc import Callable, Mapping
from typing import Any

from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.html import escape
from django.utils.safestring import SafeData, SafeString, mark_safe

WIDGETS = "django/forms/widgets/"
OPTION = WIDGETS + "select_option.html"


# The context a widget template renders in: Django's defaults (autoescape, settings' l10n/tz).
_CONTEXT = Context()


def _value(value: Any) -> str:
    """``{{ value }}`` in a template: Django's own rendering of a variable."""
    return render_value_in_context(value, _CONTEXT)


def _formatted(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: ``str`` of it, escaped unless it was safe."""
    return str(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: Mapping[str, Any]) -> str:
    """``attrs.html``: ``name="value"``, a bare name for True, nothing for False."""
    return "".join(
        f" {_value(name)}" if value is True else f' {_value(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    shown = f' value="{_formatted(value)}"' if value is not None else ""
    return (
        f'<input type="{_value(widget["type"])}" name="{_value(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget: Mapping[str, Any]) -> str:
    value = widget["value"]
    return (
        f'<textarea name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_value(value) if value else ''}</textarea>"
    )


def _select(widget: Mapping[str, Any]) -> str | None:
    parts = [f'<select name="{_value(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_value(group_name)}">')
        for option in options:
            if option["template_name"] != OPTION:
                return None  # a widget of our own: Django's templates render it
            parts.append(
                f'\n  <option value="{_formatted(option["value"])}"{_attrs(option["attrs"])}>'
                f"{_value(option['label'])}</option>\n"
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


INPUTS = (
    "input",
    "text",
    "number",
    "email",
    "url",
    "password",
    "hidden",
    "date",
    "datetime",
    "time",
    "checkbox",
    "color",
    "search",
    "tel",
)
WRITERS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    **{f"{WIDGETS}{name}.html": _input for name in INPUTS},
    WIDGETS + "textarea.html": _textarea,
    WIDGETS + "select.html": _select,
}


class FastRenderer(DjangoTemplates):
    """Django's default renderer, with the common widgets written without a template."""

    def render(self, template_name: str, context: dict, request=None) -> SafeString:
        writer = WRITERS.get(template_name)
        widget = context.get("widget") if writer else None
        if widget is not None and widget.get("template_name") == template_name:
            html = writer(widget)
            if html is not None:
                return mark_safe(html.strip())
        return super().render(template_name, context, request)
