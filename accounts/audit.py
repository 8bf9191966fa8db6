"""The audit trail: who changed which tenant row, when, through what, and the fields (old → new).

django-auditlog records every create/update/delete of a registered model from Django's
model signals. We register every ``TenantModel`` automatically (``register_tenant_models``,
called once from ``AccountsConfig.ready``), so a new model cannot be forgotten, and store
entries in our own ``AuditEntry`` (the library's swappable log model) with the
organization as a column, so owners browse their organization's trail with an index.

Compare-and-set state changes (``QuerySet.update``) fire no model signals; each of them
writes its own event row (a deliverable transition, an alert event), which is audited.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from auditlog import receivers as auditlog_receivers
from auditlog.context import auditlog_value
from auditlog.registry import auditlog
from django.apps import apps
from django.utils import dateformat

from outsourcing import formats

from .tenancy import TenantModel

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
        with suppress(LookupError):
            auditlog_value.get()["actor"] = user


def current_channel() -> Channel | None:
    return _channel.get()


# --- entries written together (a batch of captured mail) ------------------------------------

_buffer: ContextVar[list | None] = ContextVar("audit_buffer", default=None)


def buffered_entry(entry) -> bool:
    """Keep ``entry`` (an unsaved ``AuditEntry``) for ``audit_buffer``'s one INSERT, if one is
    open; False when none is (the caller saves it at once)."""
    kept = _buffer.get()
    if kept is None:
        return False
    kept.append(entry)
    return True


@contextmanager
def audit_buffer() -> Iterator[None]:
    """Audit entries of the block are written by one bulk INSERT when it ends (in the block's
    transaction: a rolled-back block leaves neither rows nor entries)."""
    token = _buffer.set([])
    try:
        yield
        entries = _buffer.get()
    finally:
        _buffer.reset(token)
    if entries:
        entries[0].__class__.objects.bulk_create(entries, batch_size=500)


def log_created(model, instances) -> None:
    """Audit rows written by ``bulk_create`` (which sends no model signals) as auditlog does
    for one ``save()``: a "created" entry each, with its fields."""
    if not auditlog.contains(model):
        return
    for instance in instances:
        auditlog_receivers.log_create(sender=model, instance=instance, created=True)


def register_tenant_models() -> None:
    """Register every tenant model with auditlog (secrets excluded)."""
    for model in apps.get_models():
        # ``audited = False``: rows a machine writes in bulk (captured mail), never a person.
        if (
            issubclass(model, TenantModel)
            and getattr(model, "audited", True)
            and not auditlog.contains(model)
        ):
            # Reverse relations are not the row's own data, and reading a reverse one-to-one
            # (a captured message or meeting behind an interaction) costs a query per save.
            reverse = [
                f.name for f in model._meta.get_fields() if f.auto_created and not f.concrete
            ]
            # A model's own ``secret_fields`` (credentials inside an Apprise URL) stay out too.
            hidden = list(getattr(model, "secret_fields", ()))
            auditlog.register(
                model,
                exclude_fields=[
                    "token_hash",
                    "secret",
                    "previous_secret",
                    "version",
                    *hidden,
                    *reverse,
                ],
            )


# --- the trail as people read it -------------------------------------------------------------
HIDDEN_FIELDS = {"org", "id", "version", "token_hash", "secret", "previous_secret", "search"}
CREATED = 0
VERBS = {CREATED: "Created", 1: "Changed", 2: "Deleted", 3: "Opened"}  # auditlog's action codes
CREATION_NOISE = {"created_at", "updated_at", "position"}
GROUP_WINDOW_SECONDS = 2  # entries of one actor this close together are one action
_GENERATED_REPR = re.compile(r"^(?P<model>\w+) object \((?P<pk>\d+)\)$")


@dataclass
class Change:
    field: str
    old: str
    new: str


@dataclass
class Line:
    entry: Any
    what: str  # "Created spend entry “Invoice 12”"
    changes: list[Change]


@dataclass
class Action:
    """Entries of one person (or job) at one moment: what they did, in words."""

    at: Any
    who: str
    via: str
    lines: list[Line]


def _record_name(entry, kind: str) -> str:
    """The record's name as it was logged; a made-up name ("Alert object (4)") becomes '#4'."""
    text = entry.object_repr or ""
    if not text or _GENERATED_REPR.match(text) or text == f"{kind} #{entry.object_id}":
        return f"#{entry.object_id}"
    return f"“{text[:60]}”"


def _value(field, raw, names: dict, tz) -> str:
    if raw in (None, "", "None"):
        return "—"
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(raw, raw))
    if field.is_relation:
        return names.get((field.related_model, str(raw)), f"#{raw}")
    if internal_type(field) == "JSONField":
        return "updated"
    internal = field.get_internal_type()
    try:
        if internal == "DateTimeField":
            moment = datetime.fromisoformat(str(raw))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return dateformat.format(moment.astimezone(tz), formats.active().moment)
        if internal == "DateField":
            return formats.day(date.fromisoformat(str(raw)[:10]))
    except ValueError:
        pass
    if internal == "BooleanField":
        return {"True": "yes", "False": "no"}.get(str(raw), str(raw))
    text = str(raw)
    return text if len(text) <= 80 else text[:79] + "…"


def describe(entries: list, *, tz) -> list[Action]:
    """The page of audit entries as actions in words: field labels, choice names, the names
    of related records (one query per kind of related record on the page), local times."""
    models = {e.content_type_id: e.content_type.model_class() for e in entries}
    wanted: dict[Any, set[str]] = {}
    for e in entries:
        model = models[e.content_type_id]
        for name, (old, new) in (e.changes or {}).items():
            field = None if name in HIDDEN_FIELDS else _field(model, name)
            if field is not None and field.is_relation:
                wanted.setdefault(field.related_model, set()).update(
                    str(v) for v in (old, new) if v not in (None, "", "None")
                )
    names: dict = {}
    for model, pks in wanted.items():
        manager = getattr(model, "unscoped", model._default_manager)
        ids = [pk for pk in pks if pk.isdigit()]
        for obj in manager.filter(pk__in=ids):
            names[(model, str(obj.pk))] = str(obj)
    actions: list[Action] = []
    for e in entries:
        model = models[e.content_type_id]
        kind = model._meta.verbose_name if model else e.content_type.name
        changes = []
        for name, (old, new) in (e.changes or {}).items():
            field = _field(model, name)
            if name in HIDDEN_FIELDS or field is None:
                continue
            before, after = _value(field, old, names, tz), _value(field, new, names, tz)
            if e.action == CREATED and (after == "—" or name in CREATION_NOISE):
                continue  # a new record: only what it was created with
            changes.append(Change(str(field.verbose_name).capitalize(), before, after))
        verb = VERBS.get(e.action, e.get_action_display().capitalize())
        line = Line(e, f"{verb} {kind} {_record_name(e, kind)}", changes)
        last = actions[-1] if actions else None
        if (
            last is not None
            and (last.who, last.via) == (e.who, e.via)
            and abs((last.at - e.timestamp).total_seconds()) <= GROUP_WINDOW_SECONDS
        ):
            last.lines.append(line)
        else:
            actions.append(Action(e.timestamp, e.who, e.via, [line]))
    return actions


def internal_type(field) -> str:
    return field.get_internal_type() if hasattr(field, "get_internal_type") else ""


def _field(model, name: str):
    if model is None:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:  # a field since removed from the model: nothing to label it by
        return None
    return field if getattr(field, "concrete", False) else None
