"""The one mechanism that scopes tenant data to the current organization.

``OrganizationMiddleware`` enters ``tenant_scope(org)`` around every request. Inside it,
the default manager of every ``TenantModel`` (``Model.objects``) returns only that
organization's rows -- in views, forms (ModelChoiceField querysets), reverse relations and
templates alike -- so a view cannot forget the filter. An anonymous request, or a user
without a membership, gets a scope that matches nothing.

Outside a request (Celery tasks, management commands, tests) nothing is scoped by default:
system code that works across organizations says so by filtering explicitly
(``.for_org(org)``) or by using ``Model.unscoped``.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from .models import Organization


class _Unscoped:
    def __repr__(self) -> str:
        return "UNSCOPED"


UNSCOPED = _Unscoped()
NOBODY = None  # a scope that matches no organization

_current: ContextVar[Any] = ContextVar("vendorwatch_tenant", default=UNSCOPED)


@contextmanager
def tenant_scope(org: "Organization | None") -> Iterator[None]:
    """Scope every TenantModel query in this block to ``org`` (None: to nothing)."""
    token = _current.set(org)
    try:
        yield
    finally:
        _current.reset(token)


def current_org() -> "Organization | None":
    scope = _current.get()
    return None if scope is UNSCOPED else scope


def is_scoped() -> bool:
    return _current.get() is not UNSCOPED


class TenantQuerySet(models.QuerySet):
    def for_org(self, org: "Organization") -> "TenantQuerySet":
        return self.filter(org=org)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant data: filtered by the scope of the current request."""

    def get_queryset(self) -> TenantQuerySet:
        queryset = super().get_queryset()
        scope = _current.get()
        if scope is UNSCOPED:
            return queryset
        if scope is NOBODY:
            return queryset.none()
        return queryset.filter(org_id=scope.pk)


class TenantModel(models.Model):
    """Base of every model that belongs to an organization."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    unscoped = models.Manager()  # noqa: DJ012 -- declared after objects so objects stays default

    class Meta:
        abstract = True
        base_manager_name = "unscoped"


def activate_tenant(org: "Organization") -> None:
    """Switch the current scope to ``org`` for the rest of the enclosing ``tenant_scope``.

    For authentication layers that find the organization after the middleware ran (API
    tokens, vendor-portal links): the middleware's ``tenant_scope`` restores the previous
    scope when the request ends.
    """
    _current.set(org)
