"""The one way a write is answered: saved, refused or lost, for htmx and for a plain post."""

import pytest
from django import forms
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from outsourcing.errors import Conflict
from outsourcing.htmx import answer_write


class NameForm(forms.Form):
    name = forms.CharField(max_length=10)


def post(*, htmx: bool, data=None):
    headers = {"HX-Request": "true", "HX-Target": "region"} if htmx else {}
    request = RequestFactory().post("/", data or {"name": "Ada"}, headers=headers)
    request.htmx = HtmxDetails(request)
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def show(**context) -> HttpResponse:
    form = context.get("form")
    return HttpResponse(f"errors={dict(form.errors) if form else None} extra={context}")


def write(request, call, **options) -> HttpResponse:
    form = NameForm(request.POST)
    return answer_write(request, form, call, show=show, done="/page#region", **options)


def test_a_plain_post_that_saves_is_redirected_to_the_page_with_a_message():
    request = post(htmx=False)
    response = write(request, lambda: "saved", message=lambda result: f"It is {result}.")
    assert (response.status_code, response["Location"]) == (302, "/page#region")
    assert [str(m) for m in request._messages] == ["It is saved."]


def test_an_htmx_post_that_saves_gets_the_region_with_a_fresh_form_and_no_message():
    request = post(htmx=True)
    response = write(request, lambda: "saved", message="Saved.", shown=lambda r: {"shown": r})
    assert response.status_code == 200
    assert "errors=None" in response.text and "'shown': 'saved'" in response.text
    assert list(request._messages) == []


@pytest.mark.parametrize(("htmx", "status"), [(True, 200), (False, 422)], ids=["htmx", "plain"])
def test_an_invalid_form_comes_back_with_its_errors_and_the_service_does_not_run(htmx, status):
    ran = []
    response = write(post(htmx=htmx, data={"name": "x" * 11}), lambda: ran.append(1))
    # htmx 2 swaps no 4xx body: an htmx form with errors must come back as 200.
    assert response.status_code == status and "'name': [" in response.text
    assert ran == []


@pytest.mark.parametrize(("htmx", "status"), [(True, 200), (False, 422)], ids=["htmx", "plain"])
def test_a_service_refusal_lands_next_to_its_field(htmx, status):
    def refuse():
        raise ValidationError({"name": "Taken."})

    response = write(post(htmx=htmx), refuse)
    assert response.status_code == status and "'name': ['Taken.']" in response.text


@pytest.mark.parametrize(("htmx", "status"), [(True, 200), (False, 409)], ids=["htmx", "plain"])
def test_a_lost_race_is_told_and_a_plain_post_gets_409(htmx, status):
    def lose():
        raise Conflict("Someone else saved first.")

    response = write(post(htmx=htmx), lose)
    assert response.status_code == status and "Someone else saved first." in response.text


def test_a_page_that_redirects_when_refused_keeps_its_redirect():
    def refuse():
        raise ValidationError("No.")

    request = post(htmx=False)
    form = NameForm(request.POST)
    response = answer_write(
        request, form, refuse, show=lambda **_: HttpResponse(status=302), done="/"
    )
    assert response.status_code == 302
