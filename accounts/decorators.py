"""Role checks for views: one decorator, so no view re-implements "may this member write?"."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from .models import Role

View = Callable[..., HttpResponse]


def role_required(minimum: str = Role.VIEWER) -> Callable[[View], View]:
    """The request must come from a member of the current organization with at least ``minimum``.

    No membership at all means the user sees nothing (404); a member with a lower role is
    refused (403).
    """

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            membership = getattr(request, "membership", None)
            if membership is None:
                raise Http404("You are not a member of any organization.")
            if not membership.has_role(minimum):
                raise PermissionDenied(f"This needs the {Role(minimum).label.lower()} role.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


member_required = role_required(Role.VIEWER)
manager_required = role_required(Role.MANAGER)
owner_required = role_required(Role.OWNER)


def allow_viewer(view: View) -> View:
    """Let viewers POST to this view (it changes only their own session or read marks)."""
    view.allow_viewer = True
    return view
