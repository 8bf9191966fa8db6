"""Log-in, roles, members and invitations, the organization switcher."""

import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import Invitation, Membership, Role
from accounts.services import invite_member
from tests.conftest import wait_for
from tests.factories import PASSWORD, MembershipFactory

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("engagements:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_wrong_password_says_so_and_reveals_nothing_else(client, manager):
    response = client.post(
        reverse("accounts:login"), {"username": manager.user.email, "password": "nope"}
    )
    assert response.status_code == 200
    assert "That e-mail and password do not match an account." in response.text
    unknown = client.post(
        reverse("accounts:login"), {"username": "nobody@example.com", "password": "nope"}
    )
    assert unknown.text.count("do not match an account") == 1


def test_member_logs_in_with_email_and_sees_the_dashboard(client, manager):
    response = client.post(
        reverse("accounts:login"),
        {"username": manager.user.email, "password": PASSWORD},
        follow=True,
    )
    assert response.status_code == 200
    assert "Dashboard" in response.text
    assert manager.org.name in response.text


def test_log_out_needs_post(manager):
    client = manager.client()
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("engagements:dashboard")).status_code == 302


def test_viewer_posting_a_change_is_refused(viewer, manager):
    membership = Membership.objects.get(user=manager.user)
    response = viewer.client().post(
        reverse("accounts:member_update", args=[membership.pk]), {"role": Role.OWNER}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_only_owners_manage_members(manager, viewer):
    membership = Membership.objects.get(user=viewer.user)
    response = manager.client().post(
        reverse("accounts:member_update", args=[membership.pk]), {"role": Role.OWNER}
    )
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == Role.VIEWER


def test_owner_changes_a_role(owner, viewer):
    membership = Membership.objects.get(user=viewer.user)
    response = owner.client().post(
        reverse("accounts:member_update", args=[membership.pk]), {"role": Role.MANAGER}
    )
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER


def test_the_last_owner_cannot_step_down(owner):
    membership = Membership.objects.get(user=owner.user)
    response = owner.client().post(
        reverse("accounts:member_update", args=[membership.pk]), {"role": Role.VIEWER}, follow=True
    )
    assert "at least one owner" in response.text
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_another_organizations_member_is_a_404_for_an_owner(owner, outsider):
    theirs = Membership.objects.get(user=outsider.user)
    client = owner.client()
    assert (
        client.post(
            reverse("accounts:member_update", args=[theirs.pk]), {"role": Role.VIEWER}
        ).status_code
        == 404
    )
    assert client.post(reverse("accounts:member_remove", args=[theirs.pk])).status_code == 404
    assert Membership.objects.filter(pk=theirs.pk, role=Role.OWNER).exists()


def test_members_page_lists_only_this_organizations_members(owner, manager, outsider):
    response = owner.client().get(reverse("accounts:member_list"))
    assert manager.user.email in response.text
    assert outsider.user.email not in response.text


def test_invited_person_gets_a_link_by_email_creates_an_account_and_joins(
    owner, client, celery_worker
):
    response = owner.client().post(
        reverse("accounts:member_invite"), {"email": "new@acme.test", "role": Role.MANAGER}
    )
    assert response.status_code == 302
    wait_for(lambda: mail.outbox)  # sent by the worker
    assert mail.outbox[0].to == ["new@acme.test"]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/invitations/" in line)
    path = link[link.index("/invitations/") :]
    page = client.get(path)
    assert page.status_code == 200 and "Join Acme Buyers" in page.text

    response = client.post(
        path, {"first_name": "Nia", "last_name": "New", "password": "a-long-unusual-passphrase"}
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__email="new@acme.test").role == Role.MANAGER
    # The link works once.
    assert client.get(path).status_code == 404


def test_invitation_with_a_weak_password_shows_the_message_and_saves_nothing(owner, client):
    _, token = invite_member(org=owner.org, email="weak@acme.test", role=Role.VIEWER, by=owner.user)
    response = client.post(
        reverse("accounts:invitation_accept", args=[token]), {"first_name": "W", "password": "123"}
    )
    assert response.status_code == 422
    assert "too short" in response.text
    assert not Membership.objects.filter(user__email="weak@acme.test").exists()


def test_wrong_or_revoked_invitation_links_are_the_same_404(owner, client):
    invitation, token = invite_member(
        org=owner.org, email="x@acme.test", role=Role.VIEWER, by=owner.user
    )
    assert (
        client.get(reverse("accounts:invitation_accept", args=["not-a-token"])).status_code == 404
    )
    owner.client().post(
        reverse("accounts:invitation_revoke", args=[invitation.pk]), {"confirm": "yes"}
    )
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    assert client.get(reverse("accounts:invitation_accept", args=[token])).status_code == 404


def test_inviting_an_existing_member_says_so_next_to_the_form(owner, manager):
    response = owner.client().post(
        reverse("accounts:member_invite"), {"email": manager.user.email, "role": Role.VIEWER}
    )
    assert response.status_code == 422
    assert "already a member" in response.text


def test_user_in_two_organizations_switches_between_them(manager, other_org):
    MembershipFactory(user=manager.user, org=other_org, role=Role.VIEWER)
    client = manager.client()
    assert manager.org.name in client.get(reverse("engagements:dashboard")).text
    response = client.post(
        reverse("accounts:organization_switch"), {"org": other_org.pk}, follow=True
    )
    assert response.status_code == 200
    assert response.context["org"] == other_org
    assert response.context["membership"].role == Role.VIEWER


def test_switching_to_an_organization_you_are_not_in_is_a_404(manager, other_org):
    response = manager.client().post(reverse("accounts:organization_switch"), {"org": other_org.pk})
    assert response.status_code == 404


def test_times_are_shown_in_the_organizations_time_zone(owner):
    owner.org.time_zone = "Asia/Tokyo"
    owner.org.save()
    response = owner.client().get(reverse("engagements:dashboard"))
    assert "Times shown in Asia/Tokyo" in response.text
    from django.utils import timezone

    assert response.context is not None
    assert str(timezone.get_current_timezone()) == "UTC"  # activation ends with the request


def test_owner_sets_time_zone_and_currency_and_bad_zone_is_refused(owner):
    client = owner.client()
    bad = client.post(
        reverse("accounts:organization_settings"),
        {"name": "Acme", "time_zone": "Mars/Olympus", "currency": "EUR"},
    )
    assert bad.status_code == 422
    assert "Select a valid choice" in bad.text
    ok = client.post(
        reverse("accounts:organization_settings"),
        {"name": "Acme", "time_zone": "America/Chicago", "currency": "USD"},
    )
    assert ok.status_code == 302
    owner.org.refresh_from_db()
    assert (owner.org.time_zone, owner.org.currency) == ("America/Chicago", "USD")


@pytest.mark.parametrize("url_name", ["accounts:member_invite", "accounts:organization_switch"])
def test_write_views_refuse_get(manager, url_name):
    assert manager.client().get(reverse(url_name)).status_code == 405


def test_repeated_wrong_passwords_lock_the_log_in_for_a_while(client, manager, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("accounts:login"), {"username": manager.user.email, "password": "guess"}
        )
    locked = client.post(
        reverse("accounts:login"), {"username": manager.user.email, "password": PASSWORD}
    )
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.text
    assert "_auth_user_id" not in client.session
