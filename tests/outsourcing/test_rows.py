"""The hot rows read by SQL written once per process are the rows the ORM would give, and
stay inside the organization's scope."""

import pytest

from accounts.tenancy import all_organizations, tenant_scope
from engagements.models import Engagement
from outsourcing import rows
from tests.factories import EngagementFactory

pytestmark = pytest.mark.django_db


def test_an_engagement_read_by_its_statement_equals_the_orms(owner):
    engagement = EngagementFactory(org=owner.org, budget="12500.50", title="Checkout rebuild")
    with tenant_scope(owner.org):
        by_orm = Engagement.objects.get(pk=engagement.pk)
        by_statement = rows.tenant_row(Engagement, engagement.pk)
    assert by_statement is not None and not by_statement._state.adding
    for field in Engagement._meta.concrete_fields:
        assert getattr(by_statement, field.attname) == getattr(by_orm, field.attname), field.name
        assert type(getattr(by_statement, field.attname)) is type(getattr(by_orm, field.attname))


def test_another_organizations_engagement_is_not_found(owner, outsider):
    theirs = EngagementFactory(org=outsider.org)
    with tenant_scope(owner.org):
        assert rows.tenant_row(Engagement, theirs.pk) is None
    with all_organizations():  # declared cross-organization work reads it, through the manager
        assert rows.tenant_row(Engagement, theirs.pk).pk == theirs.pk
