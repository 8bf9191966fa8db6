"""Export one organization to a zip (JSON + attachments) and import it into an empty one.

Generic over every ``TenantModel`` (a new model is exported without touching this file):
rows are written model by model in foreign-key order with their original ids; importing
creates them afresh in the target organization, remapping every foreign key to the new
ids, users by e-mail, and copying attachments. The audit trail is not part of an export
(it describes the source organization's history, not its data).
"""

import io
import json
import zipfile
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.utils import timezone

from .models import Membership, Organization, User
from .tenancy import TenantModel

FORMAT = "vendorwatch-organization-export"
VERSION = 1


class ImportError_(ValueError):
    """The archive cannot be imported (wrong format, or the organization is not empty)."""


def tenant_models_in_dependency_order() -> list[type[models.Model]]:
    """Every exported tenant model, each after the tenant models its foreign keys point to.

    A model opts out with ``exportable = False`` (credentials such as API tokens: they are
    secrets of the installation they were issued by).
    """
    pending = [
        m
        for m in apps.get_models()
        if issubclass(m, TenantModel) and getattr(m, "exportable", True)
    ]
    ordered: list[type[models.Model]] = []
    while pending:
        progress = False
        for model in list(pending):
            targets = {
                f.related_model
                for f in model._meta.concrete_fields
                if f.is_relation
                and f.related_model is not model
                and issubclass(f.related_model, TenantModel)
            }
            if targets <= set(ordered):
                ordered.append(model)
                pending.remove(model)
                progress = True
        if not progress:
            raise RuntimeError(f"foreign-key cycle between {[m.__name__ for m in pending]}")
    return ordered


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_organization(org: Organization) -> bytes:
    """A zip with ``organization.json`` and the attachments under ``files/``."""
    emails = dict(User.objects.filter(memberships__org=org).values_list("pk", "email"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        records: dict[str, list[dict]] = {}
        for model in tenant_models_in_dependency_order():
            rows = []
            for obj in model.unscoped.filter(org=org).order_by("pk").iterator():
                fields: dict[str, Any] = {}
                for field in model._meta.concrete_fields:
                    if field.primary_key or field.name == "org":
                        continue
                    if field.is_relation:
                        target_id = getattr(obj, field.attname)
                        if target_id is not None and field.related_model is User:
                            if (
                                target_id not in emails
                            ):  # e.g. a former member who recorded something
                                emails[target_id] = User.objects.values_list(
                                    "email", flat=True
                                ).get(pk=target_id)
                            fields[field.name] = {"user": emails[target_id]}
                        elif target_id is not None:
                            fields[field.name] = {
                                "ref": _label(field.related_model),
                                "id": target_id,
                            }
                        else:
                            fields[field.name] = None
                    elif isinstance(field, models.FileField):
                        file = getattr(obj, field.name)
                        if file:
                            name = f"files/{_label(model)}/{obj.pk}/{field.name}/{file.name.rsplit('/', 1)[-1]}"
                            with file.open("rb") as handle:
                                archive.writestr(name, handle.read())
                            fields[field.name] = {"file": name}
                        else:
                            fields[field.name] = None
                    else:
                        fields[field.name] = _plain(field.value_from_object(obj))
                rows.append({"id": obj.pk, "fields": fields})
            records[_label(model)] = rows
        document = {
            "format": FORMAT,
            "version": VERSION,
            "exported_at": timezone.now().isoformat(),
            "organization": {
                "name": org.name,
                "slug": org.slug,
                "time_zone": org.time_zone,
                "currency": org.currency,
            },
            "members": [
                {
                    "email": m.user.email,
                    "first_name": m.user.first_name,
                    "last_name": m.user.last_name,
                    "role": m.role,
                }
                for m in Membership.objects.filter(org=org)
                .select_related("user")
                .order_by("user__email")
            ],
            "records": records,
        }
        archive.writestr("organization.json", json.dumps(document, indent=1, sort_keys=True))
    return buffer.getvalue()


def is_empty(org: Organization) -> bool:
    return not any(
        model.unscoped.filter(org=org).exists() for model in tenant_models_in_dependency_order()
    )


@transaction.atomic
def import_organization(*, org: Organization, data: bytes) -> dict[str, int]:
    """Recreate an export in the empty organization ``org``; all or nothing. Returns counts."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        document = json.loads(archive.read("organization.json"))
    except (zipfile.BadZipFile, KeyError, ValueError):
        raise ImportError_(
            "This is not a Vendorwatch organization export (a zip with organization.json)."
        ) from None
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ImportError_(
            f"Unsupported export format {document.get('format')!r} version {document.get('version')!r}."
        )
    if not is_empty(org):
        raise ImportError_(f"{org.name} already has data; import only into an empty organization.")

    users: dict[str, User] = {}
    for member in document["members"]:
        user = User.objects.filter(email__iexact=member["email"]).first()
        if user is None:  # a person new to this installation: no password until they reset it
            user = User.objects.create_user(
                member["email"],
                None,
                first_name=member["first_name"],
                last_name=member["last_name"],
            )
        Membership.objects.get_or_create(user=user, org=org, defaults={"role": member["role"]})
        users[member["email"].lower()] = user

    new_ids: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    by_label = {_label(m): m for m in tenant_models_in_dependency_order()}
    for label, model in by_label.items():
        rows = document["records"].get(label, [])
        fields_by_name = {f.name: f for f in model._meta.concrete_fields}
        new_ids[label] = {}
        for row in rows:
            values: dict[str, Any] = {"org": org}
            files: list[tuple[str, str]] = []
            for name, value in row["fields"].items():
                field = fields_by_name.get(name)
                if field is None:
                    continue
                if field.is_relation:
                    values[field.attname] = _remap(field, value, users, new_ids)
                elif isinstance(field, models.FileField):
                    if value:
                        files.append((name, value["file"]))
                else:
                    values[name] = field.to_python(value)
            obj = model(**values)
            for name, path in files:
                getattr(obj, name).save(
                    path.rsplit("/", 1)[-1], ContentFile(archive.read(path)), save=False
                )
            obj.save(force_insert=True)
            new_ids[label][row["id"]] = obj.pk
        counts[label] = len(rows)
    return counts


def _remap(field, value: Any, users: dict[str, User], new_ids: dict[str, dict[int, int]]) -> Any:
    if value is None:
        return None
    if isinstance(value, dict) and "user" in value:
        email = value["user"].lower()
        if email not in users:  # a former member: keep the name on the record, without a membership
            users[email] = User.objects.filter(
                email__iexact=email
            ).first() or User.objects.create_user(email, None, is_active=False)
        return users[email].pk
    target, old_id = value["ref"], value["id"]
    if target in new_ids:
        if old_id not in new_ids[target]:
            raise ImportError_(
                f"{field.model.__name__}.{field.name} points at a missing {target} #{old_id}."
            )
        return new_ids[target][old_id]
    return old_id  # a shared, non-tenant row (e.g. a content type)


def summary(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {label.split('.')[-1]}" for label, n in counts if n)
