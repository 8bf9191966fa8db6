"""Rows read on every API write, by SQL written once per process.

The ORM compiles a queryset's SQL anew on every call: for a lookup by primary key that is
~1-3 ms, more than the database takes to answer. The hottest reads (the API token with its
user, organization and membership on every call; the engagement an interaction is written
to) are plain statements here, built once from the models' own columns, whose values are
converted exactly as the ORM would convert them (``from_db``, the fields' and the backend's
converters), so the instances are the ones a queryset would have returned.
"""

import functools
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model

from accounts.tenancy import current_org_id


@dataclass(frozen=True)
class Columns:
    """A model's concrete columns under a table alias, and how to turn them into an instance."""

    model: type[Model]
    alias: str
    attnames: tuple[str, ...]
    converters: tuple[tuple[Any, tuple], ...]  # (column expression, its converters) per field

    @property
    def select(self) -> str:
        q = connection.ops.quote_name
        return ", ".join(f"{self.alias}.{q(f.column)}" for f in self.model._meta.concrete_fields)

    @property
    def table(self) -> str:
        return f"{connection.ops.quote_name(self.model._meta.db_table)} {self.alias}"

    def instance(self, row: tuple, at: int = 0) -> Model:
        """The instance whose values start at ``row[at]``."""
        values = []
        for offset, (column, converters) in enumerate(self.converters):
            value = row[at + offset]
            for convert in converters:
                value = convert(value, column, connection)
            values.append(value)
        return self.model.from_db(connection.alias, list(self.attnames), values)

    def __len__(self) -> int:
        return len(self.attnames)


@functools.cache
def columns(model: type[Model], alias: str) -> Columns:
    fields = model._meta.concrete_fields
    return Columns(
        model=model,
        alias=alias,
        attnames=tuple(f.attname for f in fields),
        converters=tuple(
            (
                f.get_col(alias),
                (
                    *connection.ops.get_db_converters(f.get_col(alias)),
                    *f.get_db_converters(connection),
                ),
            )
            for f in fields
        ),
    )


def fetch_one(sql: str, params: list, *parts: Columns) -> list[Model] | None:
    """Run ``sql`` (selecting ``parts``' columns in order) and build one instance of each
    part from its single row; None when there is no row."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    instances, at = [], 0
    for part in parts:
        instances.append(part.instance(row, at))
        at += len(part)
    return instances


@functools.cache
def _by_pk_statement(model: type[Model]) -> str:
    part = columns(model, "r")
    return f"SELECT {part.select} FROM {part.table} WHERE r.id = %s AND r.org_id = %s"


def tenant_row(model: type[Model], pk: int) -> Model | None:
    """The row ``pk`` of the tenant ``model`` in the current organization's scope: what
    ``model.objects.filter(pk=pk).first()`` gives, without compiling the query each time.
    Any other scope (all organizations, nobody, none) goes through the manager, which decides
    (and refuses outside a scope)."""
    org_id = current_org_id()
    if org_id is None:
        return model.objects.filter(pk=pk).first()
    found = fetch_one(_by_pk_statement(model), [pk, org_id], columns(model, "r"))
    return found[0] if found else None
