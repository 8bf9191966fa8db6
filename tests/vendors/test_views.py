"""The vendor pages as people use them: list, vendor page, evidence log, decision, files."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContractFactory, EvidenceFactory, VendorFactory
from vendors.models import Attachment, Contract, Evidence, Vendor, VendorStatus

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def vetting_htmx():
    return {**HTMX, "HX-Target": "vetting"}


def evidence_data(**overrides):
    return {
        "kind": "reference",
        "summary": "Called their last client: on time.",
        "verified": "on",
        "score_expertise": "4",
        **overrides,
    }


# --- vendor list ----------------------------------------------------------------------------


def test_vendor_list_shows_only_this_organizations_vendors(manager, other_org):
    VendorFactory(org=manager.org, name="Brightpixel")
    VendorFactory(org=other_org, name="Rival's Secret Vendor")
    response = manager.client().get(reverse("vendors:vendor_list"))
    assert "Brightpixel" in response.text
    assert (
        "Rival&#x27;s Secret Vendor" not in response.text and "Secret Vendor" not in response.text
    )


def test_filtering_by_status_and_specialty_with_htmx_returns_only_the_results(manager):
    VendorFactory(
        org=manager.org, name="Designers", specialties="design", status=VendorStatus.APPROVED
    )
    VendorFactory(
        org=manager.org, name="Coders", specialties="web development", status=VendorStatus.APPROVED
    )
    VendorFactory(org=manager.org, name="Prospective Designers", specialties="design")
    response = manager.client().get(
        reverse("vendors:vendor_list"),
        {"status": "approved", "specialty": "design"},
        headers={**HTMX, "HX-Target": "vendor-results"},
    )
    assert response.text.lstrip().startswith('<section id="vendor-results"')
    assert "Designers" in response.text
    assert "Coders" not in response.text and "Prospective" not in response.text
    assert "HX-Target" in response["Vary"]


def test_sorting_by_score_puts_the_best_first_and_unscored_last(manager):
    VendorFactory(org=manager.org, name="Aardvark", score=None)
    VendorFactory(org=manager.org, name="Middling", score="3.00")
    VendorFactory(org=manager.org, name="Zenith", score="4.50")
    text = manager.client().get(reverse("vendors:vendor_list"), {"sort": "score"}).text
    assert text.index("Zenith") < text.index("Middling") < text.index("Aardvark")


def test_a_vendor_needing_review_is_marked_in_the_list(manager):
    VendorFactory(
        org=manager.org, name="Stale", status=VendorStatus.ACTIVE, review_due_on=dt.date(2020, 1, 1)
    )
    assert "needs review" in manager.client().get(reverse("vendors:vendor_list")).text


def test_an_empty_list_invites_adding_the_first_vendor(manager):
    assert "No vendors yet" in manager.client().get(reverse("vendors:vendor_list")).text


@pytest.mark.parametrize("n", [1, pytest.param(5000, marks=pytest.mark.slow)])
def test_vendor_list_query_count_is_flat(manager, n, django_assert_num_queries):
    Vendor.objects.bulk_create(VendorFactory.build_batch(n, org=manager.org, score="3.5"))
    expired = [
        EvidenceFactory.build(vendor=v, expires_on=dt.date(2020, 1, 1))
        for v in Vendor.objects.all()[:50]
    ]
    Evidence.objects.bulk_create(expired)
    client = manager.client()
    client.get(reverse("vendors:vendor_list"))  # the first request stores the org in the session
    # session, user, memberships, count, one page of vendors (review flag as a subquery)
    with django_assert_num_queries(5):
        response = client.get(reverse("vendors:vendor_list"), {"sort": "score"})
    assert response.status_code == 200
    assert response.text.count("needs review</span>") == min(n, 50)


def test_posting_to_the_vendor_list_is_not_allowed(manager):
    assert manager.client().post(reverse("vendors:vendor_list")).status_code == 405


# --- creating and editing vendors -------------------------------------------------------------


def test_manager_adds_a_prospect(manager):
    response = manager.client().post(
        reverse("vendors:vendor_create"),
        {
            "name": "Brightpixel",
            "website": "https://brightpixel.example",
            "specialties": "Design, web development, design",
            "currency": "EUR",
            "rate": "700",
        },
    )
    vendor = Vendor.objects.get(name="Brightpixel")
    assert response.status_code == 302
    assert (vendor.org, vendor.status, vendor.created_by) == (
        manager.org,
        VendorStatus.PROSPECT,
        manager.user,
    )
    assert vendor.specialties == "design, web development"


def test_a_duplicate_name_or_a_non_http_website_is_explained_next_to_the_field(manager):
    VendorFactory(org=manager.org, name="Brightpixel")
    response = manager.client().post(
        reverse("vendors:vendor_create"),
        {"name": "brightpixel", "website": "ftp://files.example", "currency": "EUR"},
    )
    assert response.status_code == 422
    assert "A vendor with this name already exists." in response.text
    assert "starting with http:// or https://" in response.text
    assert Vendor.objects.count() == 1


def test_viewer_cannot_add_a_vendor(viewer):
    assert (
        viewer.client()
        .post(reverse("vendors:vendor_create"), {"name": "X", "currency": "EUR"})
        .status_code
        == 403
    )
    assert not Vendor.objects.exists()


def test_outsider_cannot_edit_another_organizations_vendor(outsider, org):
    vendor = VendorFactory(org=org, name="Ours")
    response = outsider.client().post(
        reverse("vendors:vendor_update", args=[vendor.pk]), {"name": "Stolen", "currency": "EUR"}
    )
    assert response.status_code == 404
    vendor.refresh_from_db()
    assert vendor.name == "Ours"


def test_vendor_edit_rejects_delete_method(manager):
    vendor = VendorFactory(org=manager.org)
    assert (
        manager.client().delete(reverse("vendors:vendor_update", args=[vendor.pk])).status_code
        == 405
    )


# --- vendor page ----------------------------------------------------------------------------------


def test_outsider_gets_404_for_another_organizations_vendor_page(outsider, org):
    vendor = VendorFactory(org=org)
    assert (
        outsider.client().get(reverse("vendors:vendor_detail", args=[vendor.pk])).status_code == 404
    )


def test_viewer_reads_the_vendor_page_without_any_forms(viewer):
    vendor = VendorFactory(org=viewer.org, name="Brightpixel")
    text = viewer.client().get(reverse("vendors:vendor_detail", args=[vendor.pk])).text
    assert "Brightpixel" in text and "Scorecard" in text and "Lessons that apply" in text
    assert "Add evidence" not in text and "Record decision" not in text


def test_vendor_page_shows_what_to_renew_when_evidence_expired(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.ACTIVE)
    EvidenceFactory(
        vendor=vendor,
        kind="other",
        summary="Insurance certificate",
        expires_on=dt.date(2026, 10, 3),
    )
    text = manager.client().get(reverse("vendors:vendor_detail", args=[vendor.pk])).text
    assert "Needs review" in text
    assert "Other “Insurance certificate” expired on 3 Oct 2026" in text


def test_deleted_evidence_is_visible_to_owners_only(owner, manager):
    vendor = VendorFactory(org=owner.org)
    EvidenceFactory(
        vendor=vendor,
        summary="Withdrawn reference",
        deleted_at=timezone.now(),
        deleted_by=manager.user,
    )
    url = reverse("vendors:vendor_detail", args=[vendor.pk])
    assert "Withdrawn reference" in owner.client().get(url).text
    assert "Withdrawn reference" not in manager.client().get(url).text


def test_missing_contract_items_are_visible_on_the_vendor_page(manager):
    vendor = VendorFactory(org=manager.org)
    ContractFactory(
        vendor=vendor,
        has_termination=True,
        has_acceptance=True,
        has_ip_ownership=True,
        has_confidentiality=True,
        has_payment_milestones=True,
    )
    text = manager.client().get(reverse("vendors:vendor_detail", args=[vendor.pk])).text
    assert "Missing: a named contact on both sides." in text


@pytest.mark.parametrize("n", [1, 500])
def test_vendor_page_query_count_is_flat(owner, n, django_assert_num_queries):
    vendor = VendorFactory(org=owner.org)
    evidence = Evidence.objects.bulk_create(
        EvidenceFactory.build(
            vendor=vendor,
            recorded_by=owner.user,
            score_expertise=4,
            deleted_at=timezone.now() if i % 7 == 0 else None,
            expires_on=dt.date(2020, 1, 1) if i % 2 else None,
        )
        for i in range(n)
    )
    contracts = Contract.objects.bulk_create(ContractFactory.build(vendor=vendor) for _ in range(n))
    Attachment.objects.bulk_create(
        Attachment(
            org=owner.org,
            vendor=vendor,
            evidence=e,
            contract=c,
            file="x.png",
            original_name="x.png",
            content_type="image/png",
            size=1,
        )
        for e, c in zip(evidence, contracts, strict=True)
    )
    client = owner.client()
    client.get(reverse("vendors:vendor_list"))  # the first request stores the org in the session
    # session, user, memberships, vendor, review reasons, scorecard aggregate, weights,
    # evidence, attachments, contacts, contracts, contract attachments, contract decisions
    # (their decide-by dates), history, engagements
    with django_assert_num_queries(15):
        response = client.get(reverse("vendors:vendor_detail", args=[vendor.pk]))
    assert response.status_code == 200
    assert ("Show the whole evidence log" in response.text) == (n > 50)
    with django_assert_num_queries(15):
        whole = client.get(reverse("vendors:vendor_detail", args=[vendor.pk]), {"evidence": "all"})
    assert whole.text.count('<li class="vw-entry') == n


# --- evidence log (htmx) ------------------------------------------------------------------


def test_adding_evidence_with_htmx_returns_the_updated_vetting_region(manager):
    vendor = VendorFactory(org=manager.org)
    response = manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        evidence_data(),
        headers=vetting_htmx(),
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="vetting"')
    assert "Called their last client: on time." in response.text
    evidence = Evidence.objects.get()
    assert (evidence.org, evidence.recorded_by, evidence.verified, evidence.score_expertise) == (
        manager.org,
        manager.user,
        True,
        4,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"summary": "   "}, "Write what you saw or were told."),
        ({"score_expertise": "6"}, "A score is a whole number from 1 to 5."),
        ({"link": "javascript:alert(1)"}, "starting with http:// or https://"),
        ({"recorded_at": "2199-01-01T10:00"}, "Evidence cannot be recorded in the future."),
        ({"recorded_at": "2999-01-01T10:00"}, "Use a date between the years 1900 and 2200."),
        ({"recorded_at": "0001-01-01T00:00"}, "Use a date between the years 1900 and 2200."),
        ({"expires_on": "9999-12-31"}, "Use a date between the years 1900 and 2200."),
    ],
)
def test_bad_evidence_is_explained_inside_the_form_and_nothing_is_saved(
    manager, overrides, message
):
    vendor = VendorFactory(org=manager.org)
    url = reverse("vendors:evidence_create", args=[vendor.pk])
    response = manager.client().post(url, evidence_data(**overrides), headers=vetting_htmx())
    assert response.status_code == 200  # htmx 2 swaps only 2xx
    assert 'id="evidence-form"' in response.text and message in response.text
    assert manager.client().post(url, evidence_data(**overrides)).status_code == 422
    assert not Evidence.objects.exists()


def test_viewer_cannot_add_evidence(viewer):
    vendor = VendorFactory(org=viewer.org)
    assert (
        viewer.client()
        .post(reverse("vendors:evidence_create", args=[vendor.pk]), evidence_data())
        .status_code
        == 403
    )


def test_outsider_cannot_add_evidence_to_another_organizations_vendor(outsider, org):
    vendor = VendorFactory(org=org)
    assert (
        outsider.client()
        .post(reverse("vendors:evidence_create", args=[vendor.pk]), evidence_data())
        .status_code
        == 404
    )
    assert not Evidence.objects.exists()


def test_evidence_create_needs_post(manager):
    vendor = VendorFactory(org=manager.org)
    assert (
        manager.client().get(reverse("vendors:evidence_create", args=[vendor.pk])).status_code
        == 405
    )


def test_deleting_evidence_with_htmx_keeps_it_for_owners(manager):
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="Second-hand praise")
    response = manager.client().post(
        reverse("vendors:evidence_delete", args=[evidence.pk]),
        {"confirm": "yes"},
        headers=vetting_htmx(),
    )
    assert response.status_code == 200
    assert "Second-hand praise" not in response.text
    evidence.refresh_from_db()
    assert evidence.deleted_at is not None


def test_viewer_and_outsider_cannot_delete_evidence(viewer, outsider):
    evidence = EvidenceFactory(vendor=VendorFactory(org=viewer.org))
    url = reverse("vendors:evidence_delete", args=[evidence.pk])
    assert viewer.client().post(url).status_code == 403
    assert outsider.client().post(url).status_code == 404
    assert manager_get_405(viewer, url)
    evidence.refresh_from_db()
    assert evidence.deleted_at is None


def manager_get_405(member, url) -> bool:
    return member.client().get(url).status_code == 405


def test_a_stale_evidence_edit_shows_a_conflict_instead_of_overwriting(manager):
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="First version")
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    client = manager.client()
    assert "First version" in client.get(url).text
    ok = client.post(url, evidence_data(summary="Edit A", version="1"))
    assert ok.status_code == 302
    stale = client.post(url, evidence_data(summary="Edit B", version="1"))
    assert stale.status_code == 422
    assert "Someone else changed this entry" in stale.text
    evidence.refresh_from_db()
    assert (evidence.summary, evidence.version) == ("Edit A", 2)


def test_outsider_cannot_open_or_edit_another_organizations_evidence(outsider, org):
    evidence = EvidenceFactory(vendor=VendorFactory(org=org))
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    assert outsider.client().get(url).status_code == 404
    assert outsider.client().post(url, evidence_data(version="1")).status_code == 404


def test_viewer_cannot_edit_evidence_and_put_is_not_allowed(viewer, manager):
    evidence = EvidenceFactory(vendor=VendorFactory(org=viewer.org))
    url = reverse("vendors:evidence_update", args=[evidence.pk])
    assert viewer.client().post(url, evidence_data(version="1")).status_code == 403
    assert manager.client().put(url).status_code == 405


# --- attachments -------------------------------------------------------------------------------


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_an_attachment_is_stored_under_the_org_prefix_and_served_only_to_members(
    manager, outsider, media
):
    vendor = VendorFactory(org=manager.org)
    upload = SimpleUploadedFile("certificate.png", PNG, content_type="application/octet-stream")
    manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        {**evidence_data(), "attachments": upload},
    )
    attachment = Attachment.objects.get()
    assert attachment.file.name.startswith(f"org-{manager.org.pk}/vendors/")
    assert "certificate" not in attachment.file.name
    assert attachment.content_type == "image/png"
    url = reverse("vendors:attachment_download", args=[attachment.pk])
    response = manager.client().get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert 'filename="certificate.png"' in response["Content-Disposition"]
    assert outsider.client().get(url).status_code == 404
    assert manager.client().post(url).status_code == 405


def test_several_files_can_back_one_evidence_entry(manager, media):
    vendor = VendorFactory(org=manager.org)
    files = [
        SimpleUploadedFile("reference.pdf", b"%PDF-1.4 letter"),
        SimpleUploadedFile("screenshot.png", PNG),
    ]
    manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        {**evidence_data(), "attachments": files},
    )
    assert sorted(Evidence.objects.get().attachments.values_list("content_type", flat=True)) == [
        "application/pdf",
        "image/png",
    ]


def test_the_service_refuses_a_disguised_file_even_without_the_form(manager, media):
    from django.core.exceptions import ValidationError

    from vendors import services

    with pytest.raises(ValidationError):
        services.add_evidence(
            vendor=VendorFactory(org=manager.org),
            by=manager.user,
            kind="other",
            summary="Sneaky",
            attachments=[SimpleUploadedFile("x.pdf", b"MZ not a pdf")],
        )
    assert not Evidence.objects.exists()


def test_files_of_deleted_evidence_are_served_to_owners_only(manager, owner, media):
    vendor = VendorFactory(org=manager.org)
    upload = SimpleUploadedFile("reference.txt", b"They were great.")
    manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        {**evidence_data(), "attachments": upload},
    )
    attachment = Attachment.objects.get()
    Evidence.objects.update(deleted_at=timezone.now())
    url = reverse("vendors:attachment_download", args=[attachment.pk])
    assert manager.client().get(url).status_code == 404
    assert owner.client().get(url).status_code == 200


def test_junk_filters_and_pages_still_show_the_list(manager):
    VendorFactory(org=manager.org, name="Still here")
    response = manager.client().get(
        reverse("vendors:vendor_list"), {"status": "bogus", "sort": "evil", "page": "999"}
    )
    assert response.status_code == 200
    assert "Still here" in response.text


def test_a_file_whose_content_does_not_match_its_extension_is_refused(manager, media):
    vendor = VendorFactory(org=manager.org)
    fake = SimpleUploadedFile(
        "invoice.pdf", b"MZ\x90\x00 this is an executable", content_type="application/pdf"
    )
    response = manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        {**evidence_data(), "attachments": fake},
        headers=vetting_htmx(),
    )
    assert "content is not an allowed type" in response.text
    assert not Evidence.objects.exists() and not Attachment.objects.exists()


def test_a_file_over_the_size_limit_is_refused(manager, media, settings):
    settings.MAX_UPLOAD_MB = 1
    vendor = VendorFactory(org=manager.org)
    big = SimpleUploadedFile("notes.txt", b"a" * (1024 * 1024 + 1))
    response = manager.client().post(
        reverse("vendors:evidence_create", args=[vendor.pk]),
        {**evidence_data(), "attachments": big},
    )
    assert response.status_code == 422
    assert "larger than 1 MB" in response.text
    assert not Evidence.objects.exists()


# --- decision and lifecycle ------------------------------------------------------------------


def test_approving_thin_evidence_without_override_explains_why_in_the_form(manager):
    vendor = VendorFactory(org=manager.org)
    EvidenceFactory(vendor=vendor, verified=False, score_gut=5)
    response = manager.client().post(
        reverse("vendors:vendor_decide", args=[vendor.pk]),
        {"decision": "approve", "rationale": "Gut says yes."},
    )
    assert response.status_code == 422
    assert (
        "These criteria are thin" in response.text and "Gut feeling: claims only" in response.text
    )
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.PROSPECT


def test_manager_approves_with_rationale_and_override(manager):
    vendor = VendorFactory(org=manager.org)
    response = manager.client().post(
        reverse("vendors:vendor_decide", args=[vendor.pk]),
        {"decision": "approve", "rationale": "Small, urgent job.", "override": "on"},
    )
    assert response.status_code == 302
    vendor.refresh_from_db()
    change = vendor.status_changes.get()
    assert (vendor.status, change.override, change.by) == (
        VendorStatus.APPROVED,
        True,
        manager.user,
    )


def test_a_decision_without_rationale_is_refused(manager):
    vendor = VendorFactory(org=manager.org)
    response = manager.client().post(
        reverse("vendors:vendor_decide", args=[vendor.pk]), {"decision": "reject", "rationale": ""}
    )
    assert response.status_code == 422
    assert "Write down why" in response.text


def test_viewer_outsider_and_get_cannot_decide(viewer, outsider, manager):
    vendor = VendorFactory(org=viewer.org)
    url = reverse("vendors:vendor_decide", args=[vendor.pk])
    data = {"decision": "reject", "rationale": "No.", "override": "on"}
    assert viewer.client().post(url, data).status_code == 403
    assert outsider.client().post(url, data).status_code == 404
    assert manager.client().get(url).status_code == 405
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.PROSPECT


def test_manager_activates_an_approved_vendor_with_a_reason(manager, viewer, outsider):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    url = reverse("vendors:vendor_status", args=[vendor.pk])
    assert viewer.client().post(url, {"to": "active", "reason": "x"}).status_code == 403
    assert outsider.client().post(url, {"to": "active", "reason": "x"}).status_code == 404
    assert manager.client().get(url).status_code == 405
    assert manager.client().post(url, {"to": "active", "reason": ""}).status_code == 422
    assert (
        manager.client().post(url, {"to": "active", "reason": "Contract signed."}).status_code
        == 302
    )
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.ACTIVE


# --- contacts and contracts ------------------------------------------------------------------


def test_manager_adds_a_contact_and_a_contract_with_its_file(manager, viewer, outsider, media):
    vendor = VendorFactory(org=manager.org)
    client = manager.client()
    assert (
        client.post(
            reverse("vendors:contact_create", args=[vendor.pk]),
            {"name": "Ann Lee", "email": "ann@v.example"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            reverse("vendors:contact_create", args=[vendor.pk]), {"name": "", "email": "nope"}
        ).status_code
        == 422
    )
    pdf = SimpleUploadedFile("msa.pdf", b"%PDF-1.7\n...")
    response = client.post(
        reverse("vendors:contract_create", args=[vendor.pk]),
        {
            "title": "MSA",
            "currency": "EUR",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
            "has_termination": "on",
            "attachments": pdf,
        },
    )
    assert response.status_code == 302
    assert vendor.contracts.get().attachments.get().content_type == "application/pdf"
    bad = client.post(
        reverse("vendors:contract_create", args=[vendor.pk]),
        {
            "title": "Backwards",
            "currency": "EUR",
            "start_date": "2026-12-31",
            "end_date": "2026-01-01",
        },
    )
    assert bad.status_code == 422 and "cannot end before it starts" in bad.text
    for url in (
        reverse("vendors:contact_create", args=[vendor.pk]),
        reverse("vendors:contract_create", args=[vendor.pk]),
    ):
        assert viewer.client().post(url, {"name": "x", "title": "x"}).status_code == 403
        assert outsider.client().post(url, {"name": "x", "title": "x"}).status_code == 404
        assert client.get(url).status_code == 405


# --- settings, CSV -------------------------------------------------------------------------


def test_only_owners_change_the_scoring_settings(owner, manager):
    url = reverse("vendors:vendor_settings")
    assert manager.client().get(url).status_code == 403
    assert owner.client().get(url).status_code == 200
    data = {
        "review_interval_months": "6",
        **{
            f"weight_{c}": "1"
            for c in (
                "expertise",
                "previous_work",
                "business",
                "fit",
                "communication",
                "value",
                "gut",
            )
        },
    }
    assert owner.client().post(url, data).status_code == 302
    assert owner.client().post(url, {**data, "review_interval_months": "0"}).status_code == 422
    assert owner.client().delete(url).status_code == 405


def test_export_contains_only_this_organizations_vendors(manager, other_org):
    VendorFactory(org=manager.org, name="=HYPERLINK(evil)", specialties="design")
    VendorFactory(org=other_org, name="Theirs")
    response = manager.client().get(reverse("vendors:vendor_export"))
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("name,website")
    assert "'=HYPERLINK(evil)" in text  # a formula is neutralised
    assert "Theirs" not in text
    assert manager.client().post(reverse("vendors:vendor_export")).status_code == 405


def test_an_import_with_errors_lists_them_by_line_and_column_and_saves_nothing(manager):
    VendorFactory(org=manager.org, name="Existing")
    csv_text = "name,website,rate,currency\nGood One,https://good.example,500,EUR\n,https://x.example,1,EUR\nBad Rate,,lots,EUR\nExisting,,,\n"
    response = manager.client().post(
        reverse("vendors:vendor_import"), {"file": SimpleUploadedFile("v.csv", csv_text.encode())}
    )
    assert response.status_code == 422
    assert "nothing was saved" in response.text
    for line, column in ((3, "name"), (4, "rate"), (5, "name")):
        assert (
            f'<td data-label="Line">{line}</td><td data-label="Column">{column}</td>'
            in response.text
        )
    assert Vendor.objects.count() == 1


def test_a_clean_import_previews_then_saves_on_confirm(manager, viewer):
    csv_text = "name,specialties,rate,currency\nAlpha,design,500,EUR\nBeta,web development,,\n"
    client = manager.client()
    preview = client.post(
        reverse("vendors:vendor_import"), {"file": SimpleUploadedFile("v.csv", csv_text.encode())}
    )
    assert preview.status_code == 200 and "Ready to import 2 vendors" in preview.text
    assert Vendor.objects.count() == 0
    assert (
        viewer.client()
        .post(reverse("vendors:vendor_import"), {"text": csv_text, "confirm": "1"})
        .status_code
        == 403
    )
    done = client.post(reverse("vendors:vendor_import"), {"text": csv_text, "confirm": "1"})
    assert done.status_code == 302
    assert sorted(Vendor.objects.values_list("name", "org")) == [
        ("Alpha", manager.org.pk),
        ("Beta", manager.org.pk),
    ]
    assert client.delete(reverse("vendors:vendor_import")).status_code == 405


def test_export_then_import_round_trips(manager, other_org):
    VendorFactory(org=manager.org, name="Roundtrip", specialties="design", rate="100.00")
    exported = b"".join(manager.client().get(reverse("vendors:vendor_export")).streaming_content)
    from vendors.csv_io import parse

    preview = parse(exported.decode(), org=other_org)
    assert preview.ok, preview.errors
    assert preview.rows[0]["name"] == "Roundtrip"


_ = io


def test_manager_makes_another_contact_primary_and_removes_the_old_one(manager, viewer, outsider):
    vendor = VendorFactory(org=manager.org)
    from vendors import services
    from vendors.models import VendorContact

    ann = services.add_contact(vendor=vendor, name="Ann")
    bob = services.add_contact(vendor=vendor, name="Bob")
    primary_url = reverse("vendors:contact_primary", args=[bob.pk])
    assert viewer.client().post(primary_url).status_code == 403
    assert outsider.client().post(primary_url).status_code == 404
    assert manager.client().get(primary_url).status_code == 405
    assert manager.client().post(primary_url).status_code == 302
    assert list(VendorContact.objects.filter(is_primary=True)) == [bob]

    delete_url = reverse("vendors:contact_delete", args=[bob.pk])
    assert viewer.client().post(delete_url).status_code == 403
    assert outsider.client().post(delete_url).status_code == 404
    assert manager.client().get(delete_url).status_code == 405
    asked = manager.client().post(delete_url)  # confirm first: nothing removed yet
    assert asked.status_code == 200 and "Remove Bob" in asked.text
    assert VendorContact.objects.filter(pk=bob.pk).exists()
    assert manager.client().post(delete_url, {"confirm": "yes"}).status_code == 302
    ann.refresh_from_db()
    assert ann.is_primary  # the remaining contact takes over


def test_vendor_page_lists_the_engagements_with_this_vendor(manager):
    from tests.factories import EngagementFactory

    engagement = EngagementFactory(org=manager.org, title="Onboarding rebuild")
    EngagementFactory(org=manager.org, title="Someone else's job")
    text = manager.client().get(reverse("vendors:vendor_detail", args=[engagement.vendor_id])).text
    assert "Onboarding rebuild" in text
    assert "Someone else&#x27;s job" not in text
    assert "No engagements with this vendor yet." not in text


def test_recording_a_review_schedules_the_next_one_and_is_in_the_history(manager, viewer, outsider):
    vendor = VendorFactory(
        org=manager.org, status=VendorStatus.ACTIVE, review_due_on=dt.date(2020, 1, 1)
    )
    url = reverse("vendors:vendor_review", args=[vendor.pk])
    assert viewer.client().post(url, {"note": "x"}).status_code == 403
    assert outsider.client().post(url, {"note": "x"}).status_code == 404
    assert manager.client().get(url).status_code == 405
    assert manager.client().post(url, {"note": ""}).status_code == 422
    with time_machine.travel(dt.datetime(2026, 3, 15, 9, 0, tzinfo=dt.UTC)):
        assert manager.client().post(url, {"note": "Checked references again."}).status_code == 302
    vendor.refresh_from_db()
    assert vendor.review_due_on == dt.date(2027, 3, 15)
    text = manager.client().get(reverse("vendors:vendor_detail", args=[vendor.pk])).text
    assert "Reviewed (active)" in text and "Checked references again." in text


def test_a_prospect_cannot_be_marked_reviewed(manager):
    vendor = VendorFactory(org=manager.org)
    response = manager.client().post(
        reverse("vendors:vendor_review", args=[vendor.pk]), {"note": "Looked at it."}
    )
    assert response.status_code == 422
    assert "Only approved or active vendors are reviewed" in response.text
