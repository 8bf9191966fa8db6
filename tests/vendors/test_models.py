"""Vendor facts: needing review (for the health watcher), constraints, scorecard maths."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError

from tests.factories import EvidenceFactory, VendorContactFactory, VendorFactory
from vendors import scorecard
from vendors.models import Vendor, VendorStatus

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 10, 10, 12, 0, tzinfo=dt.UTC)


def test_approved_vendor_past_its_review_date_needs_review(org):
    due = VendorFactory(org=org, status=VendorStatus.APPROVED, review_due_on=dt.date(2026, 10, 1))
    VendorFactory(org=org, status=VendorStatus.APPROVED, review_due_on=dt.date(2026, 11, 1))
    assert list(Vendor.objects.needing_review(AT)) == [due]
    assert due.review_reasons(AT) == ["review was due on 1 Oct 2026"]


def test_expired_evidence_makes_a_vendor_need_review_and_says_what_to_renew(org):
    vendor = VendorFactory(org=org, status=VendorStatus.ACTIVE)
    EvidenceFactory(
        vendor=vendor,
        kind="other",
        summary="Insurance certificate",
        expires_on=dt.date(2026, 10, 3),
    )
    EvidenceFactory(vendor=vendor, expires_on=dt.date(2027, 1, 1))  # still valid
    assert list(Vendor.objects.needing_review(AT)) == [vendor]
    assert vendor.review_reasons(AT) == ["other “Insurance certificate” expired on 3 Oct 2026"]


def test_deleted_expired_evidence_and_rejected_vendors_do_not_need_review(org):
    vendor = VendorFactory(org=org, status=VendorStatus.ACTIVE)
    EvidenceFactory(vendor=vendor, expires_on=dt.date(2026, 1, 1), deleted_at=AT)
    rejected = VendorFactory(
        org=org, status=VendorStatus.REJECTED, review_due_on=dt.date(2026, 1, 1)
    )
    assert not Vendor.objects.needing_review(AT).exists()
    assert vendor.review_reasons(AT) == []
    assert rejected.review_reasons(AT) == []


def test_needing_review_is_one_query_for_any_number_of_vendors(org, django_assert_num_queries):
    for _ in range(30):
        EvidenceFactory(
            vendor=VendorFactory(org=org, status=VendorStatus.ACTIVE),
            expires_on=dt.date(2026, 1, 1),
        )
    with django_assert_num_queries(1):
        assert len(list(Vendor.objects.needing_review(AT))) == 30


def test_a_vendor_has_at_most_one_primary_contact(org):
    vendor = VendorFactory(org=org)
    VendorContactFactory(vendor=vendor, is_primary=True)
    with pytest.raises(IntegrityError):
        VendorContactFactory(vendor=vendor, is_primary=True)


def test_a_score_outside_one_to_five_is_refused_by_the_database(org):
    with pytest.raises(IntegrityError):
        EvidenceFactory(vendor=VendorFactory(org=org), score_expertise=6)


def test_scorecard_flags_criteria_backed_only_by_claims_or_not_at_all():
    row = {
        "expertise_avg": 4.5,
        "expertise_n": 3,
        "expertise_verified": 3,
        "business_avg": 2.0,
        "business_n": 1,
        "business_verified": 0,
    }
    card = scorecard.build(row, {"expertise": 3, "business": 1})
    flags = {c.criterion.value: c.flag for c in card.criteria}
    assert flags["expertise"] == ""
    assert flags["business"] == "claims only"
    assert flags["gut"] == "not scored"
    assert card.overall == Decimal("3.88")  # (4.5*3 + 2*1) / 4
    assert card.summary.startswith(
        "Strong expertise, backed by 3 verified entries; weak business understanding on claims only;"
    )
    assert "gut feeling unproven" in card.summary


def test_a_criterion_weighted_zero_neither_counts_nor_flags():
    card = scorecard.build(
        {"expertise_avg": 4, "expertise_n": 1, "expertise_verified": 1},
        dict.fromkeys(("previous_work", "business", "fit", "communication", "value", "gut"), 0)
        | {"expertise": 1},
    )
    assert card.flagged == []
    assert card.overall == Decimal("4.00")
