"""Find the current organization of a request, scope tenant data to it, keep viewers read-only."""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from outsourcing.formats import locale_of

from .audit import audit_channel
from .models import Membership
from .tenancy import NOBODY, all_organizations, tenant_scope

SESSION_KEY = "org_id"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class OrganizationMiddleware:
    """Sets ``request.org`` and ``request.membership`` from the session (or the user's
    first membership), activates the organization's time zone, and runs the view inside
    ``tenant_scope(request.org)``. Staff in the Django admin work across organizations,
    and say so (``all_organizations``); nobody else ever does in a request.

    Viewers may never change anything: a non-safe method from a viewer is refused here,
    for every view, unless the view is marked with ``@allow_viewer`` (log-out, switching
    organization, marking something read).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.memberships = self._memberships(request)
        membership = self._current(request, request.memberships)
        request.membership = membership
        request.org = membership.org if membership else None
        if request.org is not None:
            timezone.activate(request.org.tzinfo)
        try:
            with (
                locale_of(request.org.locale if request.org is not None else None),
                self._scope(request),
                audit_channel("ui" if request.org is not None else "", ""),
            ):
                return self.get_response(request)
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        membership = getattr(request, "membership", None)
        if (
            request.method not in SAFE_METHODS
            and membership is not None
            and not membership.can_write
            and not getattr(view_func, "allow_viewer", False)
        ):
            raise PermissionDenied("Viewers can read everything but change nothing.")

    @staticmethod
    def _scope(request: HttpRequest):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_active
            and user.is_staff
            and request.path.startswith(reverse("admin:index"))
        ):
            # Inlines, foreign-key choices and changelists alike see every organization.
            return all_organizations()
        return tenant_scope(request.org if request.org is not None else NOBODY)

    @staticmethod
    def _memberships(request: HttpRequest) -> list[Membership]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return []
        # One query for the current membership and the organization switcher alike.
        return list(
            Membership.objects.select_related("org").filter(user=user).order_by("org__name")
        )

    @staticmethod
    def _current(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
        if not memberships:
            return None
        org_id = request.session.get(SESSION_KEY)
        for membership in memberships:
            if membership.org_id == org_id:
                return membership
        first = min(memberships, key=lambda m: (m.joined_at, m.pk))
        request.session[SESSION_KEY] = first.org_id
        return first
