"""A vendor's name is unique in the organization whatever its case, in the form, the CSV import
and the API alike; and no CSV file, however odd, answers with an error page."""

import csv
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import TokenScope
from accounts.services import create_api_token
from outsourcing.errors import Conflict
from tests.factories import VendorFactory
from vendors import services
from vendors.models import Vendor

pytestmark = pytest.mark.django_db
IMPORT = reverse("vendors:vendor_import")


def upload(client, content: bytes, name: str = "vendors.csv"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


def file_errors(response) -> list[str]:
    return list(response.context["form"].errors.get("file", []))


# --- one rule for names --------------------------------------------------------------------


@pytest.fixture
def api(client, manager):
    token = create_api_token(
        org=manager.org, user=manager.user, name="CRM", scope=TokenScope.WRITE
    )[1]
    headers = {"Authorization": f"Bearer {token}"}

    def call(method: str, path: str, body: dict):
        return getattr(client, method)(
            f"/api/v1{path}", json.dumps(body), content_type="application/json", headers=headers
        )

    return call


@pytest.mark.parametrize("name", ["acme dev", "ACME DEV", "  Acme Dev  ", "Acme Dev"])
def test_the_api_refuses_a_name_that_differs_only_by_case_with_a_409(api, manager, name):
    VendorFactory(org=manager.org, name="Acme Dev")
    response = api("post", "/vendors", {"name": name})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert response.json()["error"]["fields"] == {
        "name": ["A vendor with this name already exists."]
    }
    assert Vendor.objects.count() == 1


def test_renaming_through_the_api_to_another_vendors_name_in_other_case_is_a_409(api, manager):
    VendorFactory(org=manager.org, name="Acme Dev")
    other = VendorFactory(org=manager.org, name="Beta")
    response = api("patch", f"/vendors/{other.pk}", {"name": "ACME DEV"})
    assert response.status_code == 409
    assert Vendor.objects.get(pk=other.pk).name == "Beta"
    assert api("patch", f"/vendors/{other.pk}", {"name": "BETA"}).status_code == 200  # itself


def test_the_same_name_in_another_organization_is_fine(api, manager, other_org):
    VendorFactory(org=other_org, name="Acme Dev")
    assert api("post", "/vendors", {"name": "acme dev"}).status_code == 201


def test_the_form_and_the_import_refuse_the_same_names_as_the_api(manager):
    VendorFactory(org=manager.org, name="Acme Dev")
    client = manager.client()
    form = client.post(reverse("vendors:vendor_create"), {"name": "ACME dev", "currency": "EUR"})
    assert form.status_code == 422
    assert form.context["form"].errors["name"] == ["A vendor with this name already exists."]
    preview = upload(client, b"name\nacme DEV\n")
    assert preview.status_code == 422
    assert [e.message for e in preview.context["preview"].errors] == [
        "A vendor with this name already exists."
    ]
    assert Vendor.objects.count() == 1


def test_the_service_refuses_a_case_variant_even_when_the_caller_skips_the_form(manager):
    VendorFactory(org=manager.org, name="Acme Dev")
    with pytest.raises(Conflict):
        services.create_vendor(org=manager.org, by=manager.user, name="aCME dEV")


def test_the_database_refuses_a_case_variant_that_slips_past_the_service(manager):
    from django.db import IntegrityError, transaction

    VendorFactory(org=manager.org, name="Acme Dev")
    with pytest.raises(IntegrityError), transaction.atomic():
        Vendor.unscoped.create(org=manager.org, name="ACME DEV")


def test_an_import_confirmed_twice_saves_once_and_says_so_the_second_time(manager):
    client = manager.client()
    text = "name\nAlpha\nBeta\n"
    assert client.post(IMPORT, {"text": text, "confirm": "1"}).status_code == 302
    again = client.post(IMPORT, {"text": text, "confirm": "1"})
    assert again.status_code == 422
    assert Vendor.objects.count() == 2


def test_a_name_taken_between_preview_and_save_refuses_the_whole_import(manager, monkeypatch):
    """The confirm that loses the race (its check ran before the other import committed) gets
    the message, not an IntegrityError, and saves nothing."""
    VendorFactory(org=manager.org, name="Beta")
    monkeypatch.setattr(services.Vendor.unscoped, "filter", _no_existing_names(services))
    with pytest.raises(Conflict) as refused:
        services.import_vendors(
            org=manager.org, by=manager.user, rows=[_row("Alpha"), _row("beta")]
        )
    assert "nothing was imported" in refused.value.messages[0]
    monkeypatch.undo()
    assert list(Vendor.objects.values_list("name", flat=True)) == ["Beta"]


def _no_existing_names(services_module):
    """``Vendor.unscoped.filter`` whose name list comes back empty (the other import has not
    committed yet when this one looks)."""
    real = services_module.Vendor.unscoped.filter

    def filter(*args, **kwargs):
        queryset = real(*args, **kwargs)
        return queryset.none() if set(kwargs) == {"org"} else queryset

    return filter


def _row(name: str) -> dict:
    return {
        "name": name,
        "website": "",
        "description": "",
        "specialties": "",
        "rate": None,
        "currency": "EUR",
        "time_zone": "",
        "review_interval_months": None,
    }


# --- no CSV file is an error page ----------------------------------------------------------


def test_an_old_mac_file_with_cr_only_line_endings_imports(manager):
    response = upload(manager.client(), b'name,specialties\rAlpha,design\rBeta,"web,\rdesign"\r')
    assert response.status_code == 200, file_errors(response)
    rows = response.context["preview"].rows
    assert [r["name"] for r in rows] == ["Alpha", "Beta"]


def test_windows_line_endings_and_a_byte_order_mark_import(manager):
    response = upload(manager.client(), "\ufeffname,rate\r\nAlpha,100\r\n".encode())
    assert response.status_code == 200
    assert response.context["preview"].rows[0]["name"] == "Alpha"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (
            b'name,description\nAlpha,"' + b"x" * (csv.field_size_limit() + 10) + b'"\n',
            "longer than",
        ),
        (
            b'name,description\nAlpha,"never closed' + b"x" * (csv.field_size_limit() + 10),
            "longer than",
        ),
        (b"name\nAl\x00pha\n", "NUL bytes"),
        ("name\nZürich GmbH\n".encode("latin-1"), "not UTF-8"),
        ("name\nAlpha\n".encode("utf-16"), "not UTF-8"),
        (b"   \n\n", "empty"),
        (b"name,website\n", "only a header row"),
        (b"name,website\r\n\r\n", "only a header row"),
        (b"", "empty"),
    ],
)
def test_a_file_that_cannot_be_imported_is_explained_beside_the_file_field(manager, content, says):
    response = upload(manager.client(), content)
    assert response.status_code == 422
    assert any(says in error for error in file_errors(response)), file_errors(response)
    assert not Vendor.objects.exists()


def test_the_confirm_step_with_a_tampered_text_is_explained_too(manager):
    client = manager.client()
    for text in ("name\nAl\x00pha\n", "name\n" + "x" * (csv.field_size_limit() + 1)):
        response = client.post(IMPORT, {"text": text, "confirm": "1"})
        assert response.status_code == 422 and file_errors(response)
    assert not Vendor.objects.exists()
