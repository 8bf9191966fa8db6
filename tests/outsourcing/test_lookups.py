"""``__any_of`` finds what ``__in`` finds, by one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagements.models import Engagement
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_the_rows_in_finds_with_one_parameter(owner):
    engagements = [EngagementFactory(org=owner.org) for _ in range(4)]
    wanted = [engagements[0].pk, engagements[2].pk, 10**9]
    with CaptureQueriesContext(connection) as queries:
        found = set(Engagement.unscoped.filter(pk__any_of=wanted).values_list("pk", flat=True))
        by_relation = set(
            Engagement.unscoped.filter(org_id__any_of=[owner.org.pk]).values_list("pk", flat=True)
        )
    assert found == set(Engagement.unscoped.filter(pk__in=wanted).values_list("pk", flat=True))
    assert found == {engagements[0].pk, engagements[2].pk}
    assert by_relation == {e.pk for e in engagements}
    if connection.vendor == "postgresql":
        assert "= ANY(" in queries.captured_queries[0]["sql"]
        assert "IN (" not in queries.captured_queries[0]["sql"]


def test_any_of_an_empty_list_finds_nothing(owner):
    EngagementFactory(org=owner.org)
    assert not Engagement.unscoped.filter(pk__any_of=[]).exists()
    assert Engagement.unscoped.exclude(pk__any_of=[]).count() == 1
