"""Writes to organizations and memberships."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from outsourcing.queue import enqueue_on_commit

from . import tasks
from .models import (
    ApiToken,
    Invitation,
    Membership,
    Organization,
    Role,
    TokenScope,
    User,
    hash_token,
)

log = logging.getLogger(__name__)


def mark_dashboards_stale(org_ids) -> None:
    """What these organizations' dashboards show has changed: their cached parts are stale.

    Called by whatever changes a row a dashboard shows (a vendor, an engagement, an alert,
    a sweep's verdicts); the dashboard's cache keys carry ``health_changed_at``.
    """
    if org_ids:
        Organization.objects.filter(pk__in=org_ids).update(health_changed_at=timezone.now())


@transaction.atomic
def create_organization(
    *, name: str, slug: str, owner: User, time_zone: str = "UTC", currency: str = "EUR"
) -> Organization:
    """Create an organization with ``owner`` as its first owner (the history replay's
    scratch organizations)."""
    org = Organization.objects.create(name=name, slug=slug, time_zone=time_zone, currency=currency)
    Membership.objects.create(user=owner, org=org, role=Role.OWNER)
    return org


@transaction.atomic
def invite_member(*, org: Organization, email: str, role: str, by: User) -> tuple[Invitation, str]:
    """Invite ``email`` to ``org``; replaces an open invitation; e-mails the link after commit.

    Returns the invitation and the raw token (shown nowhere else; only its hash is stored).
    """
    email = email.strip().lower()
    if Membership.objects.filter(org=org, user__email__iexact=email).exists():
        raise ValidationError({"email": f"{email} is already a member of {org.name}."})
    now = timezone.now()
    Invitation.objects.pending(now).filter(org=org, email=email).update(revoked_at=now)
    token = Invitation.new_token()
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction stays usable
            invitation = Invitation.objects.create(
                org=org, email=email, role=role, token_hash=hash_token(token), invited_by=by
            )
    except IntegrityError:
        # Two owners inviting the same address at the same instant: the one-open-invitation
        # index lets one in; the other is told, instead of an IntegrityError.
        raise ValidationError(
            {"email": f"{email} was invited by someone else just now; see the open invitations."}
        ) from None
    enqueue_on_commit(tasks.send_invitation, invitation_id=invitation.pk, token=token)
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    """The usable invitation behind a link, or None (wrong, expired, used or revoked alike)."""
    invitation = (
        Invitation.objects.select_related("org").filter(token_hash=hash_token(token)).first()
    )
    if invitation is None or not invitation.is_usable():
        return None
    return invitation


@transaction.atomic
def accept_invitation(*, invitation: Invitation, user: User) -> Membership:
    """Make ``user`` a member; the invitation can be used once (compare-and-set on accepted_at)."""
    now = timezone.now()
    claimed = (
        Invitation.objects.pending(now)
        .filter(pk=invitation.pk)
        .update(accepted_at=now, accepted_by=user)
    )
    if claimed != 1:
        raise ValidationError("This invitation has already been used or has expired.")
    membership, _created = Membership.objects.get_or_create(
        user=user, org=invitation.org, defaults={"role": invitation.role}
    )
    return membership


@transaction.atomic
def register_and_accept(
    *, invitation: Invitation, first_name: str, last_name: str, password: str
) -> User:
    """Create the invited person's account and make them a member."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=invitation.email,
                password=password,
                first_name=first_name,
                last_name=last_name,
            )
    except IntegrityError:
        raise ValidationError(
            "An account with this e-mail already exists: log in to accept."
        ) from None
    accept_invitation(invitation=invitation, user=user)
    return user


@transaction.atomic
def revoke_invitation(*, invitation: Invitation) -> None:
    """Revoke an open invitation; its link stops working."""
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _ensure_an_owner_remains(org: Organization, leaving: Membership) -> None:
    others = (
        Membership.objects.select_for_update()
        .filter(org=org, role=Role.OWNER)
        .exclude(pk=leaving.pk)
    )
    if leaving.role == Role.OWNER and not others.exists():
        raise ValidationError("An organization needs at least one owner.")


@transaction.atomic
def change_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role, keeping at least one owner."""
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership.org, membership)
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def remove_member(*, membership: Membership) -> None:
    """Remove a member, keeping at least one owner."""
    _ensure_an_owner_remains(membership.org, membership)
    membership.delete()


@transaction.atomic
def create_api_token(
    *, org: Organization, user: User, name: str, scope: str
) -> tuple[ApiToken, str]:
    """Create a token; returns it with the secret, which is shown once and stored only hashed."""
    membership = Membership.objects.filter(org=org, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of {org.name}.")
    if scope == TokenScope.WRITE and not membership.can_write:
        raise ValidationError({"scope": "Viewers can only have read tokens."})
    secret = ApiToken.new_secret()
    token = ApiToken.objects.create(
        org=org,
        user=user,
        name=name.strip() or "API token",
        scope=scope,
        token_hash=hash_token(secret),
        hint=secret[:10],
    )
    return token, secret


def revoke_api_token(*, token: ApiToken) -> None:
    """Revoke a token: it stops working at once."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
