"""An operator imports a file a customer handed over, and the file was crafted.

Each archive below is a genuine export with one thing changed. The import must refuse it
with one line that names the problem, and leave nothing behind: no new organization, no
rows, no users, no memberships, no files in MEDIA_ROOT; another organization's rows stay
exactly as they were.
"""

import json
import re
import stat
import zipfile
from io import BytesIO
from pathlib import Path

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEntry, Membership, Organization, User
from accounts.portability import DOCUMENT, export_organization
from accounts.tenancy import TenantModel
from outsourcing.validation import DATE_RANGE_MESSAGE, MAX_INT
from tests.factories import EngagementFactory, EvidenceFactory, OrganizationFactory
from tests.security.test_tenant_isolation import victim_world
from vendors.models import Attachment, Vendor

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


@pytest.fixture
def victim(other_org):
    """Another organization with data (and a file) the crafted archive reaches for."""
    engagement = EngagementFactory(org=other_org, title="Victim engagement")
    attachment = Attachment(
        org=other_org,
        vendor=engagement.vendor,
        evidence=EvidenceFactory(vendor=engagement.vendor),
        original_name="victim.txt",
        content_type="text/plain",
        size=6,
    )
    attachment.file.save("victim.txt", ContentFile(b"victim"), save=False)
    attachment.save()
    return {"org": other_org, "engagement": engagement, "vendor": engagement.vendor}


@pytest.fixture
def archive(org, owner, victim):
    """A genuine export of a full organization, unpacked: (document, {member: bytes})."""
    victim_world(org, owner.user)
    data = zipfile.ZipFile(BytesIO(export_organization(org)))
    files = {n: data.read(n) for n in data.namelist() if n != DOCUMENT}
    return json.loads(data.read(DOCUMENT)), files


def pack(document, files, extra=()) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(DOCUMENT, json.dumps(document))
        for name, content in files.items():
            out.writestr(name, content)
        for info, content in extra:
            out.writestr(info, content)
    return buffer.getvalue()


def rows(document, label) -> list[dict]:
    return document["records"][label]


def attachment_row(document) -> dict:
    return rows(document, "vendors.attachment")[0]


def everything(settings) -> dict:
    """Every row of every organization, the users, memberships, audit and stored files."""
    media = Path(settings.MEDIA_ROOT)
    return {
        "organizations": list(Organization.objects.order_by("pk").values_list()),
        "users": list(User.objects.order_by("pk").values_list("email", "is_active")),
        "memberships": list(Membership.objects.order_by("pk").values_list()),
        "audit": AuditEntry.objects.count(),
        "files": sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()),
        **{
            model._meta.label_lower: [repr(r) for r in model.unscoped.order_by("pk").values_list()]
            for model in apps.get_models()
            if issubclass(model, TenantModel)
        },
    }


def refused(tmp_path, settings, data: bytes, pattern: str) -> str:
    """Import ``data``; assert a one-line refusal matching ``pattern`` and no trace left."""
    before = everything(settings)
    path = tmp_path / "crafted.zip"
    path.write_bytes(data)
    with pytest.raises(CommandError) as caught:
        call_command("import_org", "imported", str(path), "--name", "Imported")
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert re.search(pattern, message), message
    assert not Organization.objects.filter(slug="imported").exists()
    assert everything(settings) == before
    return message


# --- references -------------------------------------------------------------------------


def test_a_reference_to_another_organizations_row_is_refused(archive, victim, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.engagement")[0]["fields"]["vendor"]["id"] = victim["vendor"].pk
    refused(
        tmp_path,
        settings,
        pack(document, files),
        rf"engagements.engagement #\d+\.vendor: points at vendors.vendor #{victim['vendor'].pk}, "
        "which the archive lacks",
    )


def test_a_reference_to_an_unrelated_model_is_refused(archive, victim, tmp_path, settings):
    document, files = archive
    milestone = rows(document, "engagements.milestone")[0]
    # The engagement field names a milestone id: followed blindly, it would land on any row.
    milestone["fields"]["engagement"] = {"ref": "engagements.milestone", "id": milestone["id"]}
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"engagements.milestone #\d+\.engagement: points at 'engagements.milestone', "
        "but the field refers to engagements.engagement",
    )


def test_a_row_pointing_at_itself_is_refused(archive, tmp_path, settings):
    document, files = archive
    engagement = rows(document, "engagements.engagement")[0]
    engagement["fields"]["vendor"] = {"ref": "engagements.engagement", "id": engagement["id"]}
    refused(tmp_path, settings, pack(document, files), "but the field refers to vendors.vendor")


def test_a_reference_to_an_unknown_model_is_refused(archive, victim, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.engagement")[0]["fields"]["vendor"] = {
        "ref": "contenttypes.contenttype",
        "id": 1,
    }
    refused(tmp_path, settings, pack(document, files), "points at 'contenttypes.contenttype'")


# --- organization fields ----------------------------------------------------------------


def test_a_row_naming_another_organization_is_refused(archive, victim, tmp_path, settings):
    document, files = archive
    rows(document, "vendors.vendor")[0]["fields"]["org"] = {
        "ref": "accounts.organization",
        "id": victim["org"].pk,
    }
    refused(tmp_path, settings, pack(document, files), "may not name its organization or id")


def test_a_row_naming_its_own_id_in_the_fields_is_refused(archive, victim, tmp_path, settings):
    document, files = archive
    rows(document, "vendors.vendor")[0]["fields"]["id"] = victim["vendor"].pk
    refused(
        tmp_path, settings, pack(document, files), r"may not name its organization or id \('id'\)"
    )


# --- sizes ------------------------------------------------------------------------------


def test_an_organization_json_that_expands_past_its_cap_is_refused(archive, tmp_path, settings):
    document, files = archive
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        with out.open(DOCUMENT, "w") as member:
            member.write(json.dumps(document).encode())
            for _ in range(100):  # trailing blanks are valid JSON: only the cap refuses them
                member.write(b" " * MB)
        for name, content in files.items():
            out.writestr(name, content)
    data = buffer.getvalue()
    assert len(data) < 300 * 1024
    refused(tmp_path, settings, data, "organization.json: 'organization.json' is larger than 20 MB")


def test_an_archive_that_expands_past_the_total_cap_is_refused(archive, tmp_path, settings):
    settings.IMPORT_MAX_TOTAL_MB = 1
    document, files = archive
    first = attachment_row(document)
    second = json.loads(json.dumps(first))
    second["id"] = first["id"] + 1000
    second["fields"]["file"] = {"file": "files/vendors.attachment/extra/file/b.txt"}
    rows(document, "vendors.attachment").append(second)
    files[first["fields"]["file"]["file"]] = b"a" * (MB * 6 // 10)
    files[second["fields"]["file"]["file"]] = b"b" * (MB * 6 // 10)
    refused(tmp_path, settings, pack(document, files), "The archive expands to more than 1 MB")


def test_an_attachment_past_the_upload_limit_is_refused_whatever_its_size_field_says(
    archive, tmp_path, settings
):
    document, files = archive
    row = attachment_row(document)
    row["fields"]["size"] = 10
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(DOCUMENT, json.dumps(document))
        for name, content in files.items():
            if name != row["fields"]["file"]["file"]:
                out.writestr(name, content)
        with out.open(row["fields"]["file"]["file"], "w") as member:
            for _ in range(60):
                member.write(b"a" * MB)
    refused(
        tmp_path,
        settings,
        buffer.getvalue(),
        r"vendors.attachment #\d+\.file: .* is larger than 10 MB uncompressed",
    )


def test_an_attachments_size_and_type_come_from_its_bytes(archive, tmp_path, settings):
    document, files = archive
    row = attachment_row(document)
    row["fields"].update(size=999_999, content_type="application/pdf")
    path = tmp_path / "ok.zip"
    path.write_bytes(pack(document, files))
    call_command("import_org", "imported", str(path))
    imported = Attachment.unscoped.get(org__slug="imported")
    assert imported.size == len(files[row["fields"]["file"]["file"]])
    assert imported.content_type == "text/plain"


# --- content types ----------------------------------------------------------------------


def test_an_html_attachment_is_refused_as_the_upload_path_refuses_it(archive, tmp_path, settings):
    document, files = archive
    row = attachment_row(document)
    row["fields"]["original_name"] = "invoice.html"
    files[row["fields"]["file"]["file"]] = b"<html><script>alert(document.cookie)</script>"
    refused(
        tmp_path,
        settings,
        pack(document, files),
        "invoice.html: this file's content is not an allowed type",
    )


def test_html_disguised_as_a_pdf_is_refused(archive, tmp_path, settings):
    document, files = archive
    row = attachment_row(document)
    row["fields"]["original_name"] = "invoice.pdf"
    files[row["fields"]["file"]["file"]] = b"<html><script>alert(1)</script>"
    refused(
        tmp_path,
        settings,
        pack(document, files),
        "invoice.pdf: this file's content is not an allowed type",
    )


# --- malformed rows ---------------------------------------------------------------------


def test_a_row_without_fields_is_refused(archive, tmp_path, settings):
    document, files = archive
    del rows(document, "engagements.milestone")[0]["fields"]
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"engagements.milestone #\d+: the row has no fields",
    )


def test_a_member_with_an_unknown_role_is_refused(archive, tmp_path, settings):
    document, files = archive
    document["members"][0]["role"] = "superuser"
    refused(tmp_path, settings, pack(document, files), r"member 1 \(.*\): unknown role 'superuser'")


def test_rows_of_an_unknown_model_are_refused(archive, tmp_path, settings):
    document, files = archive
    document["records"]["accounts.apitoken"] = [{"id": 1, "fields": {"name": "x"}}]
    refused(
        tmp_path, settings, pack(document, files), "rows of an unknown model 'accounts.apitoken'"
    )


def test_an_unknown_field_is_refused(archive, tmp_path, settings):
    document, files = archive
    rows(document, "vendors.vendor")[0]["fields"]["is_superuser"] = True
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"vendors.vendor #\d+: unknown field 'is_superuser'",
    )


def test_text_where_a_number_belongs_is_refused(archive, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.engagement")[0]["fields"]["contact_cadence_days"] = "7"
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"engagements.engagement #\d+\.contact_cadence_days: expected a whole number, got str",
    )


def test_a_number_past_the_columns_range_is_refused(archive, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.milestone")[0]["fields"]["position"] = MAX_INT + 1
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"engagements.milestone #\d+\.position: .* is outside",
    )


def test_a_value_outside_the_choices_is_refused(archive, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.interaction")[0]["fields"]["channel"] = "pigeon"
    refused(tmp_path, settings, pack(document, files), "'pigeon' is not one of the allowed values")


@pytest.mark.parametrize(
    ("label", "name", "value"),
    [
        ("engagements.engagement", "start_date", "0001-01-01"),
        ("vendors.vendor", "created_at", "9999-12-31T23:59:59+00:00"),
    ],
)
def test_a_date_outside_the_shared_limits_is_refused(
    archive, tmp_path, settings, label, name, value
):
    document, files = archive
    rows(document, label)[0]["fields"][name] = value
    refused(tmp_path, settings, pack(document, files), re.escape(DATE_RANGE_MESSAGE))


@pytest.mark.parametrize(
    ("text", "problem"),
    [("fine\x00then not", "holds a NUL character"), ("half \ud800", "not valid Unicode")],
)
def test_text_the_database_cannot_store_is_refused(archive, tmp_path, settings, text, problem):
    document, files = archive
    rows(document, "vendors.vendor")[0]["fields"]["description"] = text
    refused(tmp_path, settings, pack(document, files), problem)


def test_a_json_field_of_the_wrong_kind_is_refused(archive, tmp_path, settings):
    document, files = archive
    rows(document, "engagements.exitcriterion")[0]["fields"]["conditions"] = "drop table"
    refused(
        tmp_path,
        settings,
        pack(document, files),
        r"engagements.exitcriterion #\d+\.conditions: expected a list, got str",
    )


# --- the zip itself ---------------------------------------------------------------------


def _point_attachment_at(document, member: str) -> None:
    row = attachment_row(document)
    row["fields"]["file"] = {"file": member}
    row["fields"]["original_name"] = "notes.txt"


def test_a_member_name_climbing_out_of_the_archive_is_refused(archive, tmp_path, settings):
    document, files = archive
    member = "files/../../../etc/cron.d/notes.txt"
    _point_attachment_at(document, member)
    data = pack(document, files, extra=[(member, b"* * * * * root sh")])
    refused(tmp_path, settings, data, "unsafe name: 'files/../../../etc/cron.d/notes.txt'")


def test_a_symbolic_link_in_the_archive_is_refused(archive, tmp_path, settings):
    document, files = archive
    member = "files/link/notes.txt"
    _point_attachment_at(document, member)
    link = zipfile.ZipInfo(member)
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = pack(document, files, extra=[(link, b"/etc/passwd")])
    refused(tmp_path, settings, data, "symbolic link: 'files/link/notes.txt'")


def test_a_member_named_twice_is_refused(archive, tmp_path, settings, victim):
    document, files = archive
    crafted = json.loads(json.dumps(document))
    rows(crafted, "engagements.engagement")[0]["fields"]["vendor"]["id"] = victim["vendor"].pk
    # Tools disagree on which of two same-named members counts: the archive is refused.
    with pytest.warns(UserWarning, match="Duplicate name"):
        data = pack(document, files, extra=[(DOCUMENT, json.dumps(crafted))])
    refused(tmp_path, settings, data, "holds 'organization.json' twice")


def test_a_file_named_by_two_rows_is_refused(archive, tmp_path, settings):
    document, files = archive
    first = attachment_row(document)
    second = json.loads(json.dumps(first))
    second["id"] = first["id"] + 1000
    rows(document, "vendors.attachment").append(second)
    refused(tmp_path, settings, pack(document, files), "is already the file of another row")


# --- half-way -----------------------------------------------------------------------------


def test_a_failure_half_way_leaves_no_organization_rows_or_files(archive, tmp_path, settings):
    """The database refuses a late row (two readiness checks for one engagement) after the
    attachments were written: the rows roll back, the organization goes, the files too."""
    document, files = archive
    check = rows(document, "engagements.readinesscheck")[0]
    twin = json.loads(json.dumps(check))
    twin["id"] = check["id"] + 1000
    rows(document, "engagements.readinesscheck").append(twin)
    refused(
        tmp_path,
        settings,
        pack(document, files),
        "engagements.readinesscheck: the database refuses a row",
    )


def test_a_refused_import_into_an_existing_empty_organization_keeps_it_empty(
    archive, tmp_path, settings
):
    OrganizationFactory(slug="imported", name="Waiting")
    document, files = archive
    document["members"][0]["role"] = "god"
    before = everything(settings)
    path = tmp_path / "crafted.zip"
    path.write_bytes(pack(document, files))
    with pytest.raises(CommandError, match="unknown role"):
        call_command("import_org", "imported", str(path))
    assert everything(settings) == before


# --- the genuine archive still goes in ----------------------------------------------------


def test_the_untouched_archive_imports_beside_the_other_organization(
    archive, tmp_path, settings, victim
):
    document, files = archive
    before = everything(settings)
    path = tmp_path / "genuine.zip"
    path.write_bytes(pack(document, files))
    call_command("import_org", "imported", str(path))
    imported = Organization.objects.get(slug="imported")
    assert Vendor.unscoped.filter(org=imported).count() == len(rows(document, "vendors.vendor"))
    after = everything(settings)
    for label in ("vendors.vendor", "engagements.engagement", "vendors.attachment"):
        assert set(before[label]) < set(after[label])  # everything that was there, unchanged
    assert set(before["files"]) < set(after["files"])
