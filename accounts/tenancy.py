"""The one mechanism that scopes tenant data to an organization, and fails closed.

``OrganizationMiddleware`` enters ``tenant_scope(org)`` around every request. Inside it,
the default manager of every ``TenantModel`` (``Model.objects``) returns only that
organization's rows -- in views, forms (ModelChoiceField querysets), reverse relations and
templates alike -- so a view cannot forget the filter. An anonymous request, or a user
without a membership, gets a scope that matches nothing.

Outside any scope the default manager **raises** ``TenantScopeMissing``: a queryset built
at import time (a form field's class-level ``queryset=``), or a task that forgot to say
whose data it reads, fails loudly instead of returning every organization's rows. Code
that truly works across organizations says so: ``Model.unscoped`` for one query, or
``all_organizations()`` (a context manager and decorator) around the sweep, the digest,
Celery tasks, management commands and the admin for staff.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:
    from .models import Organization


class _Sentinel:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNSET = _Sentinel("UNSET")  # no scope declared: tenant queries refuse to run
ALL = _Sentinel("ALL_ORGANIZATIONS")  # declared cross-organization work
NOBODY = None  # a scope that matches no organization

_current: ContextVar[Any] = ContextVar("vendorwatch_tenant", default=UNSET)


class TenantScopeMissing(RuntimeError):
    """A tenant model was queried through its default manager outside any tenant scope."""


@contextmanager
def tenant_scope(org: "Organization | None") -> Iterator[None]:
    """Scope every TenantModel query in this block to ``org`` (None: to nothing)."""
    token = _current.set(org)
    try:
        yield
    finally:
        _current.reset(token)


def current_org_id() -> int | None:
    """The id of the one organization the current scope is, or None for any other scope
    (none, all organizations, nobody): the default manager decides what those mean."""
    scope = _current.get()
    return None if scope in (UNSET, ALL, NOBODY) else scope.pk


@contextmanager
def all_organizations() -> Iterator[None]:
    """Declare the block cross-organization work: the default manager returns every row.

    For system code only (the sweep, digests, Celery tasks, management commands, the admin
    for staff). Usable as a decorator.
    """
    token = _current.set(ALL)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def no_tenant_scope() -> Iterator[None]:
    """Leave every scope for the block: the default manager raises inside it (for tests)."""
    token = _current.set(UNSET)
    try:
        yield
    finally:
        _current.reset(token)


class TenantQuerySet(models.QuerySet):
    def for_org(self, org: "Organization") -> "TenantQuerySet":
        return self.filter(org=org)


class TenantManager(models.Manager.from_queryset(TenantQuerySet)):
    """Default manager of tenant data: filtered by the current scope, refused outside one."""

    def get_queryset(self) -> TenantQuerySet:
        scope = _current.get()
        if scope is UNSET:
            raise TenantScopeMissing(
                f"{self.model.__name__}.objects was used outside a tenant scope. Inside a "
                "request the middleware scopes it; elsewhere use tenant_scope(org), "
                f"all_organizations() or {self.model.__name__}.unscoped, and never build "
                "a queryset at import time."
            )
        queryset = super().get_queryset()
        if scope is ALL:
            return queryset
        if scope is NOBODY:
            return queryset.none()
        return queryset.filter(org_id=scope.pk)


READABLE_FIELDS = ("title", "name", "label", "question", "description", "text", "what_changed")
READABLE_FIELDS += ("notes", "note", "reason")


class TenantModel(models.Model):
    """Base of every model that belongs to an organization."""

    org = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects = TenantManager()
    unscoped = models.Manager()  # noqa: DJ012 -- declared after objects so objects stays default

    class Meta:
        abstract = True
        base_manager_name = "unscoped"

    def __str__(self) -> str:
        """A name people can read for a model with none of its own (audit trail, admin):
        never Django's "AlertEvent object (4)"."""
        for name in READABLE_FIELDS:
            value = getattr(self, name, None)
            if isinstance(value, str) and value.strip():
                return value.strip()[:60]
        return f"{self._meta.verbose_name} #{self.pk}"


def activate_tenant(org: "Organization") -> None:
    """Switch the current scope to ``org`` for the rest of the enclosing ``tenant_scope``.

    For authentication layers that find the organization after the middleware ran (API
    tokens, vendor-portal links): the middleware's ``tenant_scope`` restores the previous
    scope when the request ends.
    """
    _current.set(org)
