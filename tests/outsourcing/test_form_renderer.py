"""The fast form renderer writes exactly the HTML Django's widget templates write.

It replaces Django's templates for the common widgets (the engagement page has ~55), so any
difference would show on a page: each case here renders a field both ways and compares."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django import forms
from django.core.management import call_command
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from accounts.models import User
from outsourcing import form_renderer
from outsourcing.form_renderer import FastRenderer
from tests.factories import PASSWORD

TRICKY = "\"><script>alert(1)</script> & 'quoted'"


class EveryWidget(forms.Form):
    title = forms.CharField(max_length=200, help_text="Shown to the vendor")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    count = forms.IntegerField(required=False, widget=forms.NumberInput(attrs={"step": 1}))
    email = forms.EmailField(required=False)
    site = forms.URLField(required=False)
    secret = forms.CharField(widget=forms.PasswordInput(render_value=True), required=False)
    token = forms.CharField(widget=forms.HiddenInput, required=False)
    due = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    done = forms.BooleanField(required=False)
    urgent = forms.BooleanField(
        required=False, widget=forms.CheckboxInput(attrs={"disabled": True})
    )
    channel = forms.ChoiceField(
        choices=[
            ("", "—"),
            ("call", gettext_lazy("Call")),
            ("mail", "E-mail & <b>co</b>"),
            (3, 1000),
        ]
    )
    grouped = forms.ChoiceField(
        choices=[("Ours", [("a", "Alpha"), ("b", mark_safe("<em>Beta</em>"))]), ("c", "Gamma")],
        required=False,
    )
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", TRICKY)], required=False)
    flagged = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"autofocus": True, "hidden": False, "data-x": TRICKY}),
    )


CASES = {
    "unbound": {},
    "initial": {
        "initial": {
            "title": TRICKY,
            "notes": "line one\nline <two>",
            "amount": Decimal("1234.50"),
            "due": date(2026, 1, 31),
            "at": datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            "done": True,
            "channel": "mail",
            "grouped": "b",
            "many": ["x", "y"],
            "token": mark_safe("<safe>"),
        }
    },
    "bound with errors": {
        "data": {
            "title": "",
            "notes": TRICKY,
            "amount": "-3",
            "count": "not a number",
            "email": "nope",
            "secret": TRICKY,
            "due": "31/31/2026",
            "done": "on",
            "channel": "unknown",
            "grouped": "a",
            "many": ["y", "zzz"],
            "flagged": TRICKY,
        }
    },
}


@pytest.mark.parametrize("case", CASES)
def test_every_widget_is_written_as_djangos_templates_write_it(case, monkeypatch):
    slow = DjangoTemplates()
    fast_form = EveryWidget(renderer=FastRenderer(), **CASES[case])
    slow_form = EveryWidget(renderer=slow, **CASES[case])
    fast_form.is_valid(), slow_form.is_valid()
    templates = []
    monkeypatch.setattr(
        DjangoTemplates, "render", lambda self, name, *a, **k: templates.append(name) or ""
    )
    fast = {name: str(fast_form[name]) for name in fast_form.fields}
    assert templates == []  # every widget here took the fast path, none fell back
    monkeypatch.undo()
    for name in fast_form.fields:
        assert fast[name] == str(slow_form[name]), name
    assert "<script>" not in "".join(fast.values())


def test_a_widget_with_a_template_of_its_own_is_rendered_by_that_template():
    class Radios(forms.Form):
        pick = forms.ChoiceField(choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)
        upload = forms.FileField(required=False)

    fast, slow = Radios(renderer=FastRenderer()), Radios(renderer=DjangoTemplates())
    for name in fast.fields:
        assert str(fast[name]) == str(slow[name])
    assert "django/forms/widgets/radio.html" not in form_renderer.WRITERS


@pytest.mark.django_db
def test_every_form_on_the_demos_pages_is_written_as_django_would(client, capsys, monkeypatch):
    """Crawl the seeded demo as its owner; every widget any page renders is compared."""
    call_command("seed_demo", "--force")
    capsys.readouterr()
    owner = User.objects.get(email="owner@example.com")
    owner.set_password(PASSWORD)
    owner.save()
    client.force_login(owner)
    slow, compared, differences = DjangoTemplates(), [], []
    fast_render = FastRenderer.render

    def both(self, template_name, context, request=None):
        html = fast_render(self, template_name, context, request)
        if template_name in form_renderer.WRITERS:
            expected = slow.render(template_name, context, request)
            compared.append(template_name)
            if html != expected:
                differences.append((template_name, html, expected))
        return html

    monkeypatch.setattr(FastRenderer, "render", both)
    seen, todo = set(), ["/"]
    while todo and len(seen) < 80:
        url = todo.pop(0)
        if url in seen:
            continue
        seen.add(url)
        page = client.get(url)
        if page.status_code == 200 and "text/html" in page.get("Content-Type", ""):
            for link in re.findall(r'href="(/[^"#?]*)', page.content.decode()):
                if not any(s in link for s in ("logout", "export", "/api/", "/static/")):
                    todo.append(link)
    assert differences == []
    assert len(compared) > 300 and len(set(compared)) >= 5  # the crawl rendered many widgets
