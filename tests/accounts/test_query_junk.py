"""Whatever a query string holds where a number or an id is expected (``?type=²``, huge or
negative numbers, ``1e5``, spaces, nothing), every page answers as if the filter were absent,
plain and with htmx, never with an error page."""

import pytest
from django.urls import reverse

from accounts.models import AuditEntry
from outsourcing.validation import parse_id
from tests.factories import EngagementFactory, VendorFactory
from tests.postmortems.conftest import published_lesson
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db

JUNK = [
    "²",
    "١٢",
    "\uff11\uff12",
    "9" * 30,
    "9" * 5000,
    str(2**31),
    "-1",
    "0",
    "",
    " ",
    "1e5",
    " 7 ",
    "0x10",
    "1.5",
    "\x00",
    "null",
]
PARAMS = [
    "type",
    "object",
    "vendor",
    "owner",
    "page",
    "level",
    "status",
    "since",
    "category",
    "sort",
    "evidence",
    "q",
    "tag",
    "specialty",
]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42", 42), (" 42 ", 42), (str(2**31 - 1), 2**31 - 1)]
    + [(junk, None) for junk in JUNK if junk.strip() not in {"7"}],
)
def test_parse_id_takes_only_a_plain_id_within_range(value, expected):
    assert parse_id(value) == expected


@pytest.fixture
def pages(owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    engagement = EngagementFactory(org=owner.org, vendor=vendor, owner=owner.user)
    published_lesson(owner.org, owner.user, vendor=vendor, text="Ask for a paid trial.")
    return [
        reverse("engagements:dashboard"),
        reverse("engagements:engagement_list"),
        reverse("engagements:engagement_create"),
        reverse("engagements:engagement_detail", args=[engagement.pk]),
        reverse("engagements:engagement_health", args=[engagement.pk]),
        reverse("engagements:engagement_lessons", args=[engagement.pk]),
        reverse("engagements:lesson_list"),
        reverse("engagements:lesson_export"),
        reverse("engagements:lesson_patterns"),
        reverse("engagements:setup_lessons"),
        reverse("engagements:vendor_lessons", args=[vendor.pk]),
        reverse("engagements:postmortems_due"),
        reverse("engagements:notification_settings"),
        reverse("vendors:vendor_list"),
        reverse("vendors:vendor_detail", args=[vendor.pk]),
        reverse("vendors:vendor_export"),
        reverse("vendors:vendor_import"),
        reverse("vendors:vendor_settings"),
        reverse("accounts:audit_list"),
        reverse("accounts:member_list"),
        reverse("accounts:apitoken_list"),
        reverse("accounts:organization_settings"),
    ]


@pytest.mark.parametrize("junk", JUNK)
def test_no_page_answers_junk_in_its_query_string_with_an_error(owner, pages, junk):
    client = owner.client()
    query = dict.fromkeys(PARAMS, junk)
    for url in pages:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, query, headers=headers)
            assert response.status_code < 500, (url, junk, headers)


def test_the_audit_page_ignores_a_non_ascii_digit_and_keeps_a_real_filter(owner):
    VendorFactory(org=owner.org, name="Alpha")
    client = owner.client()
    entry = AuditEntry.objects.filter(org=owner.org).first()
    assert client.get(reverse("accounts:audit_list"), {"type": "²"}).status_code == 200
    if entry is not None:
        filtered = client.get(
            reverse("accounts:audit_list"), {"type": entry.content_type_id, "object": "²"}
        )
        assert filtered.status_code == 200 and filtered.context["type"] == str(
            entry.content_type_id
        )


def test_the_set_up_lessons_panel_treats_a_junk_vendor_as_no_vendor(manager):
    for junk in ("²", "9" * 30, "-3", "1e5"):
        response = manager.client().get(reverse("engagements:setup_lessons"), {"vendor": junk})
        assert response.status_code == 200 and response.context["vendor"] is None
