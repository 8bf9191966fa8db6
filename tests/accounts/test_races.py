"""Two owners invite the same address at the same instant on PostgreSQL: one invitation stays
open and the other owner gets a message, not an error page."""

import pytest

from accounts import services
from accounts.models import Invitation
from accounts.tenancy import tenant_scope
from tests.vendors.test_concurrency import _at_once


@pytest.mark.postgres
def test_two_owners_inviting_the_same_address_at_once_leave_one_open_invitation(
    postgres, transactional_db, owner
):
    def invite():
        with tenant_scope(owner.org):
            services.invite_member(
                org=owner.org, email="new@acme.test", role="viewer", by=owner.user
            )

    for _ in range(5):  # the race is not certain each time; it must never be an IntegrityError
        Invitation.objects.all().delete()
        assert _at_once(invite, invite) in (["ValidationError", "ok"], ["ok", "ok"])
        assert Invitation.objects.filter(accepted_at=None, revoked_at=None).count() == 1
