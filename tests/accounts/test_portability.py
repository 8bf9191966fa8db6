"""An organization exported to a zip and imported into an empty one loses nothing."""

import hashlib
import json
import zipfile
from io import BytesIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Organization
from accounts.portability import ImportError_, export_organization, import_organization
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
