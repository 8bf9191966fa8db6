"""Fixtures of the post-mortem tests: an ended engagement and its post-mortem, lessons."""

import pytest
from django.utils import timezone

from engagements.models import EngagementStatus, PostMortem
from engagements.postmortems import services
from tests.factories import EngagementFactory, VendorFactory
from vendors.models import VendorStatus


def ended_engagement(org, *, status=EngagementStatus.TERMINATED, vendor=None, **kw):
    vendor = vendor or VendorFactory(org=org, status=VendorStatus.ACTIVE, specialties="design")
    return EngagementFactory(
        org=org,
        vendor=vendor,
        status=status,
        activated_at=timezone.now() - timezone.timedelta(days=40),
        ended_at=kw.pop("ended_at", timezone.now()),
        **kw,
    )


def published_lesson(org, owner_user, *, vendor=None, text="Check two references.", **kw):
    """A lesson in a published post-mortem of a fresh ended engagement."""
    engagement = ended_engagement(org, vendor=vendor)
    pm = services.open_postmortem(engagement=engagement)
    services.add_failure(postmortem=pm, text="Nobody checked references.", category="wrong_vendor")
    lesson = services.add_lesson(
        postmortem=pm, text=text, category=kw.pop("category", "wrong_vendor"), **kw
    )
    services.publish_postmortem(postmortem=PostMortem.objects.get(pk=pm.pk), by=owner_user)
    return lesson


@pytest.fixture
def postmortem(owner):
    return services.open_postmortem(engagement=ended_engagement(owner.org))
