"""Invariants live in the database, so a task or the shell cannot break them either."""

import pytest
from django.db import IntegrityError, connection

from accounts.models import Membership
from tests.factories import MembershipFactory


def test_the_suite_runs_on_postgresql_when_ci_says_so(postgres):
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 130000


@pytest.mark.django_db
def test_a_role_outside_owner_manager_viewer_is_refused_by_the_database(manager):
    with pytest.raises(IntegrityError):
        Membership.objects.filter(user=manager.user).update(role="admin")


@pytest.mark.django_db
def test_a_user_has_one_membership_per_organization(manager):
    with pytest.raises(IntegrityError):
        MembershipFactory(user=manager.user, org=manager.org)
