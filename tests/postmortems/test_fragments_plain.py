"""Every region the pages load with htmx is also a page of its own: a plain GET (no JavaScript,
a bookmarked link, a crawler) gets the same data in a whole page, never an error."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from engagements.models import EngagementStatus
from tests.factories import EngagementFactory, VendorFactory
from vendors.models import VendorStatus

from .conftest import ended_engagement, published_lesson

LESSON = "Ask for a paid trial before signing."


def htmx(target: str) -> dict:
    return {"HX-Request": "true", "HX-Target": target}


@pytest.fixture
def lessons_apply(owner):
    """A vendor with a published lesson, a draft engagement with it, and one overdue post-mortem."""
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="design")
    published_lesson(owner.org, owner.user, vendor=vendor, text=LESSON)
    draft = EngagementFactory(org=owner.org, vendor=vendor, status=EngagementStatus.DRAFT)
    ended_engagement(
        owner.org, title="Overdue rebrand", ended_at=timezone.now() - timedelta(days=30)
    )
    return vendor, draft


def _routes(vendor, draft) -> list[tuple[str, dict, str, bytes]]:
    """(url, query, the region's id, what the region must show)."""
    return [
        (
            reverse("engagements:vendor_lessons", args=[vendor.pk]),
            {},
            "vendor-lessons",
            LESSON.encode(),
        ),
        (
            reverse("engagements:setup_lessons"),
            {"vendor": vendor.pk},
            "setup-lessons",
            LESSON.encode(),
        ),
        (
            reverse("engagements:engagement_lessons", args=[draft.pk]),
            {},
            "engagement-lessons",
            LESSON.encode(),
        ),
        (
            reverse("engagements:engagement_health", args=[draft.pk]),
            {},
            "engagement-health",
            b"Only active engagements are watched.",
        ),
        (reverse("engagements:postmortems_due"), {}, "postmortems-due", b"Overdue rebrand"),
    ]


@pytest.mark.parametrize("who", ["owner", "manager", "viewer"])
@pytest.mark.parametrize("index", range(5))
def test_a_region_link_followed_without_javascript_is_a_whole_page(
    request, lessons_apply, who, index
):
    vendor, draft = lessons_apply
    url, query, region, shows = _routes(vendor, draft)[index]
    member = request.getfixturevalue(who)
    response = member.client().get(url, query)
    assert response.status_code == 200
    assert b"<html" in response.content and f'id="{region}"'.encode() in response.content
    assert shows in response.content


@pytest.mark.parametrize("index", range(5))
def test_the_same_region_with_htmx_is_only_the_region(manager, lessons_apply, index):
    vendor, draft = lessons_apply
    url, query, region, shows = _routes(vendor, draft)[index]
    response = manager.client().get(url, query, headers=htmx(region))
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert (
        response.content.decode().lstrip().startswith("<")
        and f'id="{region}"' in response.content.decode()
    )
    assert shows in response.content
