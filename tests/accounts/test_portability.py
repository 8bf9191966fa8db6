"""An organization exported to a zip and imported into an empty one loses nothing."""

import hashlib
import json
import re
import zipfile
from io import BytesIO, StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEntry, Organization
from accounts.portability import (
    ImportError_,
    export_organization,
    import_organization,
    secret_fields,
    tenant_models_in_dependency_order,
)
from accounts.tenancy import TenantModel
from tests.factories import OrganizationFactory, VendorFactory
from tests.security.test_tenant_isolation import victim_world

pytestmark = pytest.mark.django_db


def normalised(data: bytes) -> dict:
    """The export without what legitimately differs between two organizations: the ids.

    Attachments are compared by content (their paths in the zip carry the old ids).
    """
    archive = zipfile.ZipFile(BytesIO(data))
    document = json.loads(archive.read("organization.json"))

    def value(v):
        if isinstance(v, dict) and "file" in v:
            return hashlib.sha256(archive.read(v["file"])).hexdigest()
        return v

    records = {
        label: sorted(
            json.dumps(
                {
                    k: value(v)
                    for k, v in row["fields"].items()
                    if not (isinstance(v, dict) and "ref" in v)
                },
                sort_keys=True,
            )
            for row in rows
        )
        for label, rows in document["records"].items()
    }
    return {"members": document["members"], "records": records}


def test_export_then_import_into_an_empty_organization_round_trips(org, owner):
    victim_world(org, owner.user)
    data = export_organization(org)
    copy = OrganizationFactory(name="Copy", slug="copy")
    counts = import_organization(org=copy, data=data).counts

    for model in apps.get_models():
        if issubclass(model, TenantModel) and getattr(model, "exportable", True):
            assert (
                model.unscoped.filter(org=copy).count() == model.unscoped.filter(org=org).count()
            ), model
    assert sum(counts.values()) > 10
    assert normalised(export_organization(copy)) == normalised(data)


def test_relations_point_inside_the_new_organization(org, owner):
    victim_world(org, owner.user)
    copy = OrganizationFactory(slug="copy2")
    import_organization(org=copy, data=export_organization(org))
    from engagements.models import Deliverable

    deliverable = Deliverable.unscoped.get(org=copy)
    assert deliverable.engagement.org == copy
    assert deliverable.milestone.org == copy
    assert deliverable.engagement.vendor.org == copy


def test_importing_into_an_organization_with_data_is_refused_and_changes_nothing(
    org, other_org, owner
):
    victim_world(org, owner.user)
    VendorFactory(org=other_org, name="Theirs")
    from engagements.models import Engagement
    from vendors.models import Vendor

    with pytest.raises(ImportError_, match="already has data"):
        import_organization(org=other_org, data=export_organization(org))
    assert list(Vendor.unscoped.filter(org=other_org).values_list("name", flat=True)) == ["Theirs"]
    assert not Engagement.unscoped.filter(org=other_org).exists()


def test_a_file_that_is_not_an_export_is_refused(other_org):
    with pytest.raises(ImportError_, match="not a Vendorwatch organization export"):
        import_organization(org=other_org, data=b"hello")


def test_owner_downloads_the_export_from_settings(owner, org):
    VendorFactory(org=org, name="Exported Vendor")
    response = owner.client().post(reverse("accounts:organization_export"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert b"Exported Vendor" in zipfile.ZipFile(BytesIO(response.content)).read(
        "organization.json"
    )


def test_operators_export_and_import_from_the_command_line(org, owner, tmp_path):
    VendorFactory(org=org, name="CLI Vendor")
    path = tmp_path / "org.zip"
    call_command("export_org", org.slug, str(path))
    call_command("import_org", "restored", str(path), "--name", "Restored")
    restored = Organization.objects.get(slug="restored")
    from vendors.models import Vendor

    assert Vendor.unscoped.filter(org=restored, name="CLI Vendor").exists()


# --- secrets stay home ----------------------------------------------------------------------

CREDENTIAL_LIKE = re.compile(r"secret|token|hash|password|key", re.IGNORECASE)


def _webhook(org, name="Ops hook"):
    from engagements.models import NotificationChannel

    return NotificationChannel.unscoped.create(
        org=org,
        kind="webhook",
        name=name,
        url="https://hooks.example.com/vw",
        secret="9f" * 32,
    )


def test_the_export_carries_no_webhook_signing_secret(org, owner):
    victim_world(org, owner.user)
    channel = _webhook(org)
    data = export_organization(org)
    document = json.loads(zipfile.ZipFile(BytesIO(data)).read("organization.json"))

    assert channel.secret.encode() not in data
    assert channel.secret not in json.dumps(document)
    exported = next(
        row
        for row in document["records"]["engagements.notificationchannel"]
        if row["fields"]["name"] == "Ops hook"
    )
    assert exported["fields"]["secret"] == {"withheld": True}
    assert "token_hash" not in json.dumps(document)


def test_no_exported_field_looks_like_a_credential():
    """A new model with an ``api_key`` column must list it in ``secret_fields`` (or opt out)."""
    for model in tenant_models_in_dependency_order():
        for field in model._meta.concrete_fields:
            if CREDENTIAL_LIKE.search(field.name):
                assert field.name in secret_fields(model), f"{model.__name__}.{field.name}"


def test_an_imported_webhook_gets_a_new_secret_and_the_operator_is_told(org, owner, tmp_path):
    from engagements.models import NotificationChannel

    old = _webhook(org, name="Ops hook")
    NotificationChannel.unscoped.create(org=org, kind="email", name="Team mail")
    path = tmp_path / "org.zip"
    path.write_bytes(export_organization(org))
    out = StringIO()
    call_command("import_org", "restored", str(path), stdout=out)

    restored = Organization.objects.get(slug="restored")
    new = NotificationChannel.unscoped.get(org=restored, name="Ops hook")
    assert re.fullmatch(r"[0-9a-f]{64}", new.secret) and new.secret != old.secret
    assert NotificationChannel.unscoped.get(org=restored, name="Team mail").secret == ""
    said = out.getvalue()
    assert "'Ops hook'" in said and "new one" in said
    assert "Team mail" not in said


# --- speed, without losing the audit trail ----------------------------------------------------


def test_the_import_inserts_each_model_in_one_statement_and_audits_each_row(org, owner):
    for n in range(30):
        VendorFactory(org=org, name=f"Vendor {n}")
    copy = OrganizationFactory(slug="copy3")
    data = export_organization(org)
    with CaptureQueriesContext(connection) as queries:
        import_organization(org=copy, data=data)
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "vendors_vendor"')]
    assert len(inserts) == 1
    audited = AuditEntry.objects.filter(org=copy, content_type__model="vendor", action=0)
    assert audited.count() == 30
