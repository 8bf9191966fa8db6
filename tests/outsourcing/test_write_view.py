"""A write view declared as role + form + service + page (``outsourcing.htmx.WriteView``)."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails

from outsourcing.htmx import WriteView
from tests.factories import VendorFactory
from vendors.models import Vendor

pytestmark = pytest.mark.django_db


class NoteForm(forms.Form):
    note = forms.CharField(max_length=20)


class VendorPage(WriteView):
    """A page of a vendor: shows what it was given, goes back to the vendor's page."""

    model = Vendor

    def show(self, **context) -> HttpResponse:
        return HttpResponse(f"shown {sorted(context)}")

    def done(self, result) -> str:
        return f"/vendors/{self.object.pk}/#notes"


def request_for(vendor, method: str = "post", data=None, *, htmx: bool = False):
    headers = {"HX-Request": "true", "HX-Target": "notes"} if htmx else {}
    request = getattr(RequestFactory(), method)("/", data or {}, headers=headers)
    request.htmx = HtmxDetails(request)
    request.org = vendor.org
    request.user = vendor.created_by
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def refuse(view):
    def wrapper(request, *args, **kwargs):
        raise PermissionDenied

    return wrapper


def test_a_declared_write_calls_its_service_with_the_object_who_and_the_forms_data():
    vendor = VendorFactory()
    calls = []
    view = VendorPage.as_view(
        form_class=NoteForm,
        service=lambda **kwargs: calls.append(kwargs) or "saved",
        by=True,
        org=True,
        message="Noted on {vendor.name}.",
    )
    response = view(request_for(vendor, data={"note": "hello"}), pk=vendor.pk)
    assert calls == [
        {"vendor": vendor, "org": vendor.org, "by": vendor.created_by, "note": "hello"}
    ]
    assert (response.status_code, response["Location"]) == (302, f"/vendors/{vendor.pk}/#notes")


def test_the_message_names_the_objects_and_an_htmx_write_gets_the_region_without_one():
    vendor = VendorFactory(name="Acme")
    view = VendorPage.as_view(
        form_class=NoteForm, service=lambda **_: None, message="Noted on {vendor.name}."
    )
    plain = request_for(vendor, data={"note": "hi"})
    view(plain, pk=vendor.pk)
    assert [str(m) for m in get_messages(plain)] == ["Noted on Acme."]
    htmx = request_for(vendor, data={"note": "hi"}, htmx=True)
    response = view(htmx, pk=vendor.pk)
    assert (response.status_code, response.content) == (200, b"shown []")
    assert list(get_messages(htmx)) == []


def test_a_refused_write_shows_the_form_by_its_name_with_422_and_the_service_unrun():
    vendor = VendorFactory()
    calls = []
    view = VendorPage.as_view(
        form_class=NoteForm, service=lambda **kw: calls.append(kw), form_name="note_form"
    )
    response = view(request_for(vendor, data={"note": ""}), pk=vendor.pk)
    assert (response.status_code, response.content) == (422, b"shown ['note_form']")
    assert calls == []


def test_a_service_refusal_lands_in_the_form():
    vendor = VendorFactory()

    def refuse_note(**_):
        raise ValidationError({"note": "Not that."})

    view = VendorPage.as_view(form_class=NoteForm, service=refuse_note)
    response = view(request_for(vendor, data={"note": "x"}), pk=vendor.pk)
    assert (response.status_code, response.content) == (422, b"shown ['form']")


def test_a_form_with_service_kwargs_says_what_the_service_gets():
    class ShoutForm(NoteForm):
        def service_kwargs(self) -> dict:
            return {"text": self.cleaned_data["note"].upper()}

    vendor = VendorFactory()
    calls = []
    view = VendorPage.as_view(form_class=ShoutForm, service=lambda **kw: calls.append(kw))
    view(request_for(vendor, data={"note": "hey"}), pk=vendor.pk)
    assert calls == [{"vendor": vendor, "text": "HEY"}]


def test_the_method_is_checked_before_the_role_and_the_role_before_the_lookup():
    vendor = VendorFactory()
    view = VendorPage.as_view(form_class=NoteForm, service=lambda **_: None, role=refuse)
    assert view(request_for(vendor, "get"), pk=vendor.pk).status_code == 405
    with pytest.raises(PermissionDenied):
        view(request_for(vendor), pk=10**9)


def test_another_id_is_a_404():
    vendor = VendorFactory()
    view = VendorPage.as_view(form_class=NoteForm, service=lambda **_: None)
    with pytest.raises(Http404):
        view(request_for(vendor, data={"note": "x"}), pk=10**9)
