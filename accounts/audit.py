"""The audit trail: who changed which tenant row, when, through what, and the fields (old → new).

django-auditlog records every create/update/delete of a registered model from Django's
model signals. We register every ``TenantModel`` automatically (``register_tenant_models``,
called once from ``AccountsConfig.ready``), so a new model cannot be forgotten, and store
entries in our own ``AuditEntry`` (the library's swappable log model) with the
organization as a column, so owners browse their organization's trail with an index.

Compare-and-set state changes (``QuerySet.update``) fire no model signals; each of them
writes its own event row (a deliverable transition, an alert event), which is audited.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass

from django.apps import apps

_channel: ContextVar["Channel | None"] = ContextVar("audit_channel", default=None)


@dataclass(frozen=True)
class Channel:
    via: str  # "ui", "api", "portal", "system"
    label: str  # e.g. "token 'CRM sync'" or "portal: Ana (Acme Dev)"


@contextmanager
def audit_channel(via: str, label: str = "") -> Iterator[None]:
    """Changes in this block are audited as made through ``via``; restored afterwards."""
    token = _channel.set(Channel(via, label))
    try:
        yield
    finally:
        _channel.reset(token)


def audit_as(*, via: str, label: str = "", user=None) -> None:
    """Record later changes of this request as made through ``via`` (and by ``user``).

    Called by authentication layers that identify the caller after the middleware ran (API
    tokens, vendor-portal links), inside the middleware's ``audit_channel`` block, which
    restores the previous value when the request ends.
    """
    _channel.set(Channel(via, label))
    if user is not None:
        from auditlog.context import auditlog_value

        with suppress(LookupError):
            auditlog_value.get()["actor"] = user


def current_channel() -> Channel | None:
    return _channel.get()


def register_tenant_models() -> None:
    """Register every tenant model with auditlog (secrets excluded)."""
    from auditlog.registry import auditlog

    from .tenancy import TenantModel

    for model in apps.get_models():
        if issubclass(model, TenantModel) and not auditlog.contains(model):
            auditlog.register(model, exclude_fields=["token_hash", "secret", "version"])
