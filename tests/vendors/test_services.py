"""Writes: decisions with rationale and override, lifecycle, evidence history, scores."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tests.factories import EvidenceFactory, VendorFactory
from vendors import services
from vendors.models import (
    Criterion,
    Evidence,
    EvidenceRevision,
    Vendor,
    VendorContact,
    VendorSettings,
    VendorStatus,
    VendorStatusChange,
)

pytestmark = pytest.mark.django_db

ALL_VERIFIED = {c.value: 4 for c in Criterion}


def _fully_vetted(org):
    vendor = VendorFactory(org=org, status=VendorStatus.VETTING)
    services.add_evidence(
        vendor=vendor,
        by=None,
        kind="trial",
        summary="Paid trial went well.",
        verified=True,
        scores=ALL_VERIFIED,
    )
    return vendor


def test_approving_with_thin_evidence_without_override_is_refused_and_changes_nothing(org, manager):
    vendor = VendorFactory(org=org)
    services.add_evidence(
        vendor=vendor, by=manager.user, kind="gut", summary="Nice people.", scores={"gut": 5}
    )
    with pytest.raises(ValidationError) as exc:
        services.decide(vendor=vendor, by=manager.user, approve=True, rationale="Looks fine.")
    assert "override" in exc.value.message_dict
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.PROSPECT
    assert not VendorStatusChange.objects.exists()


def test_approving_with_an_override_records_who_why_and_which_flags(org, manager):
    vendor = VendorFactory(org=org)
    services.add_evidence(
        vendor=vendor, by=manager.user, kind="gut", summary="Nice people.", scores={"gut": 5}
    )
    change = services.decide(
        vendor=vendor,
        by=manager.user,
        approve=True,
        rationale="Urgent; small scope.",
        override=True,
    )
    vendor.refresh_from_db()
    assert vendor.status == VendorStatus.APPROVED
    assert (change.by, change.reason, change.override) == (
        manager.user,
        "Urgent; small scope.",
        True,
    )
    assert "Gut feeling: claims only" in change.overridden_flags
    assert "Expertise in the field: not scored" in change.overridden_flags


@time_machine.travel(dt.datetime(2026, 1, 31, 9, 0, tzinfo=dt.UTC))
def test_approval_sets_the_next_review_from_the_organization_default(org, owner):
    VendorSettings.objects.create(org=org, review_interval_months=1)
    vendor = _fully_vetted(org)
    change = services.decide(vendor=vendor, by=owner.user, approve=True, rationale="All verified.")
    vendor.refresh_from_db()
    assert change.override is False
    assert vendor.review_due_on == dt.date(2026, 2, 28)


def test_a_decision_needs_a_rationale(org, owner):
    vendor = _fully_vetted(org)
    with pytest.raises(ValidationError):
        services.decide(vendor=vendor, by=owner.user, approve=False, rationale="  ")


def test_a_rejected_vendor_cannot_be_approved_without_vetting_again(org, owner):
    vendor = _fully_vetted(org)
    services.decide(vendor=vendor, by=owner.user, approve=False, rationale="Too expensive.")
    with pytest.raises(ValidationError):
        services.decide(vendor=vendor, by=owner.user, approve=True, rationale="Changed our mind.")
    services.change_status(
        vendor=vendor, by=owner.user, to=VendorStatus.VETTING, reason="They cut the rate."
    )
    services.decide(vendor=vendor, by=owner.user, approve=True, rationale="Rate is fine now.")
    assert list(VendorStatusChange.objects.values_list("to_status", flat=True)) == [
        "approved",
        "vetting",
        "rejected",
    ]


def test_two_decisions_on_the_same_vendor_only_one_wins(org, owner, manager):
    vendor = _fully_vetted(org)
    stale = Vendor.objects.get(pk=vendor.pk)
    services.decide(vendor=vendor, by=owner.user, approve=True, rationale="Yes.")
    with pytest.raises(services.Conflict):
        services.decide(vendor=stale, by=manager.user, approve=False, rationale="No.")
    assert VendorStatusChange.objects.count() == 1


def test_editing_evidence_keeps_the_previous_version(org, manager):
    evidence = EvidenceFactory(vendor=VendorFactory(org=org), summary="Reference: fine.")
    services.update_evidence(
        evidence=evidence,
        by=manager.user,
        version=1,
        scores={"expertise": 4},
        summary="Reference: excellent.",
        kind="reference",
        link="",
        verified=True,
        recorded_at=evidence.recorded_at,
        expires_on=None,
    )
    evidence.refresh_from_db()
    assert (evidence.summary, evidence.version, evidence.score_expertise) == (
        "Reference: excellent.",
        2,
        4,
    )
    revision = EvidenceRevision.objects.get()
    assert (revision.version, revision.snapshot["summary"], revision.edited_by) == (
        1,
        "Reference: fine.",
        manager.user,
    )


def test_a_stale_edit_does_not_overwrite_a_newer_one(org, manager, owner):
    evidence = EvidenceFactory(vendor=VendorFactory(org=org), summary="Original.")
    common = {
        "kind": "reference",
        "link": "",
        "verified": True,
        "recorded_at": evidence.recorded_at,
        "expires_on": None,
        "scores": {},
    }
    services.update_evidence(
        evidence=evidence, by=owner.user, version=1, summary="Owner's edit.", **common
    )
    with pytest.raises(services.Conflict):
        services.update_evidence(
            evidence=evidence, by=manager.user, version=1, summary="Manager's edit.", **common
        )
    evidence.refresh_from_db()
    assert evidence.summary == "Owner's edit."
    assert EvidenceRevision.objects.count() == 1


def test_deleting_evidence_is_soft_and_drops_its_scores(org, manager):
    vendor = VendorFactory(org=org)
    evidence = services.add_evidence(
        vendor=vendor,
        by=manager.user,
        kind="sample",
        summary="Portfolio.",
        verified=True,
        scores={"expertise": 5},
    )
    vendor.refresh_from_db()
    assert vendor.score == Decimal("5.00")
    assert services.delete_evidence(evidence=evidence, by=manager.user) is True
    assert services.delete_evidence(evidence=evidence, by=manager.user) is False
    vendor.refresh_from_db()
    assert vendor.score is None
    evidence.refresh_from_db()
    assert evidence.deleted_by == manager.user
    assert Evidence.objects.count() == 1


def test_changing_weights_rescores_every_vendor_of_the_organization(org, owner, other_org):
    vendor = VendorFactory(org=org)
    services.add_evidence(
        vendor=vendor,
        by=None,
        kind="sample",
        summary="a",
        verified=True,
        scores={"expertise": 5, "value": 1},
    )
    elsewhere = VendorFactory(org=other_org)
    services.add_evidence(
        vendor=elsewhere,
        by=None,
        kind="sample",
        summary="b",
        verified=True,
        scores={"expertise": 5, "value": 1},
    )
    vendor.refresh_from_db()
    before, untouched = vendor.updated_at, Vendor.objects.get(pk=elsewhere.pk).updated_at
    services.update_vendor_settings(org=org, weight_expertise=1, weight_value=3)
    vendor.refresh_from_db()
    elsewhere.refresh_from_db()
    assert vendor.score == Decimal("2.00")  # (5*1 + 1*3) / 4
    assert elsewhere.score == Decimal("4.00")  # defaults: (5*3 + 1*1) / 4
    # A re-scored vendor counts as changed for API clients syncing by updated_since.
    assert vendor.updated_at > before and elsewhere.updated_at == untouched


def test_a_new_primary_contact_replaces_the_old_one(org):
    vendor = VendorFactory(org=org)
    first = services.add_contact(vendor=vendor, name="Ann")
    assert first.is_primary  # the first contact is the primary one
    services.add_contact(vendor=vendor, name="Bob", is_primary=True)
    assert list(VendorContact.objects.filter(is_primary=True).values_list("name", flat=True)) == [
        "Bob"
    ]


def test_a_lifecycle_step_that_does_not_exist_is_refused(org, owner):
    vendor = VendorFactory(org=org, status=VendorStatus.PROSPECT)
    with pytest.raises(ValidationError):
        services.change_status(
            vendor=vendor, by=owner.user, to=VendorStatus.ACTIVE, reason="Skip ahead."
        )


def test_editing_details_does_not_undo_a_decision_made_meanwhile(org, owner):
    vendor = _fully_vetted(org)
    stale = Vendor.objects.get(pk=vendor.pk)
    services.decide(vendor=vendor, by=owner.user, approve=False, rationale="Too expensive.")
    services.update_vendor(vendor=stale, name="Renamed", description="New text")
    stale.refresh_from_db()
    assert (stale.name, stale.status) == ("Renamed", VendorStatus.REJECTED)


def test_a_reference_without_an_expiry_date_expires_after_a_year(org):
    vendor = VendorFactory(org=org, status=VendorStatus.ACTIVE)
    taken = dt.datetime(2025, 6, 10, 12, 0, tzinfo=dt.UTC)
    reference = services.add_evidence(
        vendor=vendor, by=None, kind="reference", summary="Call.", recorded_at=taken
    )
    sample = services.add_evidence(
        vendor=vendor, by=None, kind="sample", summary="Portfolio.", recorded_at=taken
    )
    assert reference.expires_on == dt.date(2026, 6, 10)
    assert sample.expires_on is None
    assert not Vendor.objects.needing_review(dt.datetime(2026, 6, 9, tzinfo=dt.UTC)).exists()
    assert list(Vendor.objects.needing_review(dt.datetime(2026, 6, 10, tzinfo=dt.UTC))) == [vendor]
