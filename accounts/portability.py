"""Export one organization to a zip (JSON + attachments) and import it into an empty one.

Generic over every ``TenantModel`` (a new model is exported without touching this file):
rows are written model by model in foreign-key order with their original ids; importing
creates them afresh in the target organization, remapping every foreign key to the new
ids, users by e-mail, and copying attachments. The audit trail is not part of an export
(it describes the source organization's history, not its data), nor are secrets: a
webhook's signing secret is written as "withheld" and the import gives the channel a
new one, which the operator is told about.

The import reads a file a customer handed over, so it trusts nothing in it: every
reference must name a row of the same archive and of the field's own model, rows never
name their organization, the JSON and the whole archive are read with caps on what they
really expand to (not on the sizes they declare), attachments obey the upload rules
(``MAX_UPLOAD_MB``, content matching an allowed type), and every value is checked against
its field (type, range, length, choices, the shared date limits, no NUL). Everything is
checked before anything is written; a refused import leaves no organization rows, users
or files behind.
"""

import io
import json
import secrets
import stat
import zipfile
import zlib
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, BinaryIO

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, models, transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from outsourcing.uploads import check_upload
from outsourcing.validation import MAX_INT, check_date_range

from .models import Membership, Organization, Role, User
from .tenancy import TenantModel

FORMAT = "vendorwatch-organization-export"
VERSION = 1
MB = 1024 * 1024
DOCUMENT = "organization.json"
FILES = "files/"
NOT_AN_EXPORT = "This is not a Vendorwatch organization export (a zip with organization.json)."

# Fields that hold a credential, in every model; a model may name more in ``secret_fields``.
# These generic ones are credentials this installation made (a webhook's signing secret): an
# import makes new ones. Those a model names are credentials someone else issued (a chat
# service's token inside a URL): they cannot be invented, so an import leaves them empty and
# calls the row's ``secrets_withheld()`` (a channel pauses itself) and reports the row.
SECRET_FIELDS = frozenset({"secret", "token_hash", "password"})
WITHHELD = {"withheld": True}


class ImportError_(ValueError):
    """The archive cannot be imported; the message is one line naming the problem."""


def max_json_bytes() -> int:
    """Largest ``organization.json`` an import reads, uncompressed."""
    return settings.IMPORT_MAX_JSON_MB * MB


def max_total_bytes() -> int:
    """Largest total an archive may expand to (JSON and attachments), uncompressed."""
    return settings.IMPORT_MAX_TOTAL_MB * MB


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


def secret_fields(model: type[models.Model]) -> set[str]:
    """Names of ``model``'s fields that are never exported (nor imported)."""
    names = {f.name for f in model._meta.concrete_fields}
    return (names & SECRET_FIELDS) | set(getattr(model, "secret_fields", ()))


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
            hidden = secret_fields(model)
            rows = []
            for obj in model.unscoped.filter(org=org).order_by("pk").iterator():
                fields: dict[str, Any] = {}
                for field in model._meta.concrete_fields:
                    if field.primary_key or field.name == "org":
                        continue
                    if field.name in hidden:
                        value = field.value_from_object(obj)
                        fields[field.name] = WITHHELD if value else value
                    elif field.is_relation:
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
                            name = f"{FILES}{_label(model)}/{obj.pk}/{field.name}/{file.name.rsplit('/', 1)[-1]}"
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
                "locale": org.locale,
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
        archive.writestr(DOCUMENT, json.dumps(document, indent=1, sort_keys=True))
    return buffer.getvalue()


def is_empty(org: Organization) -> bool:
    return not any(
        model.unscoped.filter(org=org).exists() for model in tenant_models_in_dependency_order()
    )


# --- import: read the archive with caps ---------------------------------------------------


def _show(text: str) -> str:
    """An untrusted string for a one-line message: quoted, escaped, short."""
    return repr(text[:80] + ("…" if len(text) > 80 else ""))


class _Archive:
    """The zip, each member read with a cap on what it really expands to."""

    def __init__(self, source: BinaryIO) -> None:
        try:
            self.zip = zipfile.ZipFile(source)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise ImportError_(NOT_AN_EXPORT) from None
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            parts = PurePosixPath(name).parts
            if (
                not parts
                or name.startswith("/")
                or "\\" in name
                or ":" in name
                or ".." in parts
                or any(ord(c) < 32 for c in name)
            ):
                raise ImportError_(f"The archive holds a file with an unsafe name: {_show(name)}.")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise ImportError_(f"The archive holds a symbolic link: {_show(name)}.")
            if info.flag_bits & 0x1:
                raise ImportError_(f"The archive holds an encrypted file: {_show(name)}.")
            if name in self.members:
                raise ImportError_(f"The archive holds {_show(name)} twice.")
            self.members[name] = info
        self.total_limit = max_total_bytes()
        self.left = self.total_limit

    def read(self, name: str, limit: int, where: str, *, count: bool = True) -> bytes:
        """The member's bytes, refused past ``limit`` or past what the archive may expand to."""
        info = self.members.get(name)
        if info is None or info.is_dir():
            raise ImportError_(f"{where}: the archive has no file {_show(name)}.")
        cap = min(limit, self.left) if count else limit
        try:
            with self.zip.open(info) as handle:
                data = handle.read(cap + 1)
        except (
            zipfile.BadZipFile,
            EOFError,
            zlib.error,
            NotImplementedError,
            RuntimeError,
            OSError,
        ) as exc:
            raise ImportError_(f"{where}: {_show(name)} cannot be read ({exc}).") from None
        if len(data) > cap:
            if cap == limit:
                raise ImportError_(
                    f"{where}: {_show(name)} is larger than {limit // MB} MB uncompressed."
                )
            raise ImportError_(
                f"The archive expands to more than {self.total_limit // MB} MB (at {_show(name)})."
            )
        if count:
            self.left -= len(data)
        return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _check_text(document: Any) -> None:
    """No NUL character and no lone surrogate in any string (the database stores neither)."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise ImportError_(f"{DOCUMENT} holds a NUL character (in {_show(value)}).")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ImportError_(
                    f"{DOCUMENT} holds text that is not valid Unicode (in {_show(value)})."
                ) from None


def _read_document(archive: _Archive) -> dict:
    if DOCUMENT not in archive.members:
        raise ImportError_(NOT_AN_EXPORT)
    raw = archive.read(DOCUMENT, max_json_bytes(), DOCUMENT)
    try:
        document = json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise ImportError_(NOT_AN_EXPORT) from None
    if not isinstance(document, dict):
        raise ImportError_(NOT_AN_EXPORT)
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ImportError_(
            f"Unsupported export format {_show(str(document.get('format')))} "
            f"version {_show(str(document.get('version')))}."
        )
    _check_text(document)
    return document


# --- import: check every member and row before writing anything ---------------------------


@dataclass(frozen=True)
class _Ref:
    label: str
    old_id: int


@dataclass(frozen=True)
class _UserRef:
    email: str


@dataclass(frozen=True)
class _Upload:
    member: str
    name: str


class _Fresh:
    """A withheld secret: the imported row gets a new random one."""


_FRESH = _Fresh()


class _Missing:
    """A withheld credential issued elsewhere: the imported row has none until someone enters it."""


_MISSING = _Missing()

_INT_RANGES = {
    "SmallIntegerField": (-(2**15), 2**15 - 1),
    "PositiveSmallIntegerField": (0, 2**15 - 1),
    "IntegerField": (-MAX_INT - 1, MAX_INT),
    "PositiveIntegerField": (0, MAX_INT),
    "BigIntegerField": (-(2**63), 2**63 - 1),
    "PositiveBigIntegerField": (0, 2**63 - 1),
}
_TEXT_TYPES = {"CharField", "TextField", "SlugField", "SearchVectorField"}


def _email(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > 254:
        raise ImportError_(f"{where}: an e-mail address is missing or too long.")
    try:
        validate_email(value)
    except ValidationError:
        raise ImportError_(f"{where}: {_show(value)} is not an e-mail address.") from None
    return value.lower()


def _members(document: dict) -> dict[str, dict[str, str]]:
    """The members, by lower-case e-mail, each with a known role and short names."""
    members = document.get("members", [])
    if not isinstance(members, list):
        raise ImportError_(f"{DOCUMENT}: members is not a list.")
    found: dict[str, dict[str, str]] = {}
    name_length = User._meta.get_field("first_name").max_length
    for index, member in enumerate(members, start=1):
        where = f"member {index}"
        if not isinstance(member, dict):
            raise ImportError_(f"{where}: not an object with email, names and role.")
        email = _email(member.get("email"), where)
        where = f"member {index} ({email})"
        role = member.get("role")
        if not isinstance(role, str) or role not in Role.values:
            raise ImportError_(
                f"{where}: unknown role {_show(str(role))} (one of {', '.join(Role.values)})."
            )
        names = {}
        for key in ("first_name", "last_name"):
            value = member.get(key, "")
            if not isinstance(value, str) or len(value) > name_length:
                raise ImportError_(
                    f"{where}: {key} must be text of at most {name_length} characters."
                )
            names[key] = value
        if email in found:
            raise ImportError_(f"{where}: the address is listed twice.")
        found[email] = {"role": role, **names}
    return found


def _scalar(field: models.Field, value: Any) -> Any:
    """``value`` as ``field`` stores it, or ValidationError (type, range, length, choices)."""
    if value is None:
        if not field.null:
            raise ValidationError("may not be null.")
        return None
    kind = field.get_internal_type()
    if kind == "JSONField":
        # The shape inside is each model's business; the kind of container is not.
        default = field.get_default() if field.has_default() else None
        if isinstance(default, list | dict) and not isinstance(value, type(default)):
            expected = "a list" if isinstance(default, list) else "an object"
            raise ValidationError(f"expected {expected}, got {type(value).__name__}.")
    elif kind == "BooleanField":
        if not isinstance(value, bool):
            raise ValidationError(f"expected true or false, got {type(value).__name__}.")
    elif kind in _INT_RANGES:
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationError(f"expected a whole number, got {type(value).__name__}.")
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            raise ValidationError(f"{value} is outside {low}…{high}.")
    elif kind == "DecimalField":
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise ValidationError(f"expected a decimal number as text, got {type(value).__name__}.")
        value = field.to_python(value)
    elif kind == "DateField":
        if not isinstance(value, str):
            raise ValidationError(f"expected a date as text, got {type(value).__name__}.")
        value = field.to_python(value)
        check_date_range(value)
    elif kind == "DateTimeField":
        if not isinstance(value, str):
            raise ValidationError(f"expected a moment as text, got {type(value).__name__}.")
        try:
            value = parse_datetime(value)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            raise ValidationError("expected an ISO 8601 moment with its UTC offset.")
        check_date_range(value)
    elif kind in _TEXT_TYPES:
        if not isinstance(value, str):
            raise ValidationError(f"expected text, got {type(value).__name__}.")
    else:
        value = field.to_python(value)
    choices = {key for key, _ in field.flatchoices} if field.choices else None
    if choices is not None and value not in field.empty_values and value not in choices:
        raise ValidationError(f"{_show(str(value))} is not one of the allowed values.")
    field.run_validators(value)
    return value


@dataclass
class _Plan:
    """What the archive asks for, checked, with references still to be resolved."""

    members: dict[str, dict[str, str]]
    rows: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)


def _relation(rel: models.Field, value: Any, known: dict[str, set[int]], where: str) -> Any:
    target = rel.related_model
    if value is None:
        if not rel.null:
            raise ImportError_(f"{where}: may not be empty.")
        return None
    if target is User:
        if not isinstance(value, dict) or set(value) != {"user"}:
            raise ImportError_(f"{where}: expected {{'user': e-mail}}.")
        return _UserRef(_email(value["user"], where))
    label = _label(target)
    if not (issubclass(target, TenantModel) and label in known):
        # Only rows of this archive, created before this one: never another organization's
        # row, a shared table, or a row of a model imported later (so no cycle can form).
        raise ImportError_(f"{where}: a reference to {label} cannot be imported.")
    if (
        not isinstance(value, dict)
        or set(value) != {"ref", "id"}
        or not isinstance(value["id"], int)
        or isinstance(value["id"], bool)
    ):
        raise ImportError_(f"{where}: expected {{'ref': {label!r}, 'id': number}}.")
    if value["ref"] != label:
        raise ImportError_(
            f"{where}: points at {_show(str(value['ref']))}, but the field refers to {label}."
        )
    if value["id"] not in known[label]:
        raise ImportError_(f"{where}: points at {label} #{value['id']}, which the archive lacks.")
    return _Ref(label, value["id"])


def _check_file(
    archive: _Archive,
    value: Any,
    values: dict[str, Any],
    field_names: Iterable[str],
    used: set[str],
    where: str,
) -> _Upload | str:
    if value in (None, ""):
        return ""
    if not isinstance(value, dict) or set(value) != {"file"} or not isinstance(value["file"], str):
        raise ImportError_(f"{where}: expected {{'file': name in the archive}}.")
    member = value["file"]
    if not member.startswith(FILES):
        raise ImportError_(f"{where}: {_show(member)} is not under {FILES}.")
    if member in used:
        raise ImportError_(f"{where}: {_show(member)} is already the file of another row.")
    used.add(member)
    data = archive.read(member, settings.MAX_UPLOAD_MB * MB, where)
    # Judged as an upload of the same name would be: the name the row shows, else the member's.
    name = values.get("original_name") or member.rsplit("/", 1)[-1]
    try:
        content_type = check_upload(ContentFile(data, name=name))
    except ValidationError as exc:
        raise ImportError_(f"{where}: {' '.join(exc.messages)}") from None
    # What the row says about the file comes from the file, not from the archive's claims.
    if "size" in field_names:
        values["size"] = len(data)
    if "content_type" in field_names:
        values["content_type"] = content_type
    return _Upload(member, name)


def _plan_rows(
    model: type[models.Model],
    rows: Any,
    known: dict[str, set[int]],
    archive: _Archive,
    used_files: set[str],
) -> list[tuple[int, dict[str, Any]]]:
    label = _label(model)
    if not isinstance(rows, list):
        raise ImportError_(f"{label}: the rows are not a list.")
    fields = {f.name: f for f in model._meta.concrete_fields}
    hidden = secret_fields(model)
    file_fields = [f for f in fields.values() if isinstance(f, models.FileField)]
    planned: list[tuple[int, dict[str, Any]]] = []
    ids: set[int] = set()
    for index, row in enumerate(rows, start=1):
        old_id = row.get("id") if isinstance(row, dict) else None
        if not isinstance(old_id, int) or isinstance(old_id, bool):
            raise ImportError_(f"{label} row {index}: a row needs a whole-number id.")
        where = f"{label} #{old_id}"
        if old_id in ids:
            raise ImportError_(f"{where}: the id appears twice.")
        ids.add(old_id)
        given = row.get("fields")
        if not isinstance(given, dict):
            raise ImportError_(f"{where}: the row has no fields.")
        values: dict[str, Any] = {}
        for name, value in given.items():
            model_field = fields.get(name)
            if name == "org" or (model_field is not None and model_field.primary_key):
                raise ImportError_(
                    f"{where}: a row may not name its organization or id ({name!r})."
                )
            if model_field is None:
                raise ImportError_(f"{where}: unknown field {_show(name)}.")
            if isinstance(model_field, models.FileField):
                continue  # after the other fields: it is judged by the name the row shows
            if name in hidden:
                empty = None if model_field.null else ""
                fresh = _FRESH if name in SECRET_FIELDS else _MISSING
                values[model_field.attname] = fresh if value not in (None, "") else empty
            elif model_field.is_relation:
                values[model_field.attname] = _relation(
                    model_field, value, known, f"{where}.{name}"
                )
            else:
                try:
                    values[model_field.attname] = _scalar(model_field, value)
                except ValidationError as exc:
                    raise ImportError_(f"{where}.{name}: {' '.join(exc.messages)}") from None
        for file_field in file_fields:
            value = given.get(file_field.name)
            upload = _check_file(
                archive, value, values, fields, used_files, f"{where}.{file_field.name}"
            )
            if upload == "" and not file_field.blank:
                raise ImportError_(f"{where}.{file_field.name}: the row needs its file.")
            values[file_field.attname] = upload
        planned.append((old_id, values))
    known[label] = ids
    return planned


def _plan(archive: _Archive, document: dict) -> _Plan:
    plan = _Plan(members=_members(document))
    records = document.get("records", {})
    if not isinstance(records, dict):
        raise ImportError_(f"{DOCUMENT}: records is not an object.")
    order = tenant_models_in_dependency_order()
    unknown = set(records) - {_label(m) for m in order}
    if unknown:
        raise ImportError_(f"{DOCUMENT} holds rows of an unknown model {_show(min(unknown))}.")
    known: dict[str, set[int]] = {}
    used_files: set[str] = set()
    for model in order:
        label = _label(model)
        plan.rows[label] = _plan_rows(model, records.get(label, []), known, archive, used_files)
    return plan


# --- import: write -------------------------------------------------------------------------


@dataclass
class ImportReport:
    counts: dict[str, int]
    new_secrets: list[str]  # rows whose secret was withheld and is now a fresh one
    # rows whose credential from elsewhere was withheld: someone must enter it again
    missing_secrets: list[str] = field(default_factory=list)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def import_organization(*, org: Organization, data: bytes | BinaryIO) -> ImportReport:
    """Recreate an export in the empty organization ``org``; all or nothing.

    Raises ``ImportError_`` (a one-line reason) before writing anything when the archive
    breaks a rule; when the database still refuses a row, nothing stays either (the rows
    roll back, the files written so far are deleted).
    """
    archive = _Archive(io.BytesIO(data) if isinstance(data, bytes | bytearray) else data)
    document = _read_document(archive)
    if not is_empty(org):
        raise ImportError_(f"{org.name} already has data; import only into an empty organization.")
    plan = _plan(archive, document)
    written: list[tuple[Any, str]] = []
    try:
        with transaction.atomic():
            return _write(org, plan, archive, written)
    except BaseException:
        for storage, name in written:
            with suppress(OSError):
                storage.delete(name)
        raise


def _write(
    org: Organization, plan: _Plan, archive: _Archive, written: list[tuple[Any, str]]
) -> ImportReport:
    users: dict[str, User] = {}
    for email, member in plan.members.items():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:  # a person new to this installation: no password until they reset it
            user = User.objects.create_user(
                email, None, first_name=member["first_name"], last_name=member["last_name"]
            )
        Membership.objects.get_or_create(user=user, org=org, defaults={"role": member["role"]})
        users[email] = user

    def user_id(email: str) -> int:
        if email not in users:  # a former member: keep the name on the record, no membership
            users[email] = User.objects.filter(
                email__iexact=email
            ).first() or User.objects.create_user(email, None, is_active=False)
        return users[email].pk

    new_ids: dict[str, dict[int, int]] = {}
    counts: dict[str, int] = {}
    new_secrets: list[str] = []
    missing_secrets: list[str] = []
    for model in tenant_models_in_dependency_order():
        label = _label(model)
        objects: list[models.Model] = []
        renewed: list[models.Model] = []
        missing: list[models.Model] = []
        for _old_id, values in plan.rows[label]:
            resolved: dict[str, Any] = {"org": org}
            uploads: list[tuple[str, _Upload]] = []
            fresh = withheld = False
            for attname, value in values.items():
                if isinstance(value, _Ref):
                    resolved[attname] = new_ids[value.label][value.old_id]
                elif isinstance(value, _UserRef):
                    resolved[attname] = user_id(value.email)
                elif isinstance(value, _Upload):
                    uploads.append((attname, value))
                elif value is _FRESH:
                    length = model._meta.get_field(attname).max_length or 64
                    resolved[attname] = secrets.token_hex(length // 2)
                    fresh = True
                elif value is _MISSING:
                    resolved[attname] = ""
                    withheld = True
                else:
                    resolved[attname] = value
            obj = model(**resolved)
            for attname, upload in uploads:
                content = archive.read(
                    upload.member, settings.MAX_UPLOAD_MB * MB, label, count=False
                )
                file = getattr(obj, attname)
                file.save(upload.name, ContentFile(content), save=False)
                written.append((file.storage, file.name))
            if withheld and hasattr(obj, "secrets_withheld"):
                obj.secrets_withheld()
            objects.append(obj)
            if fresh:
                renewed.append(obj)
            if withheld:
                missing.append(obj)
        try:
            with transaction.atomic():
                model.unscoped.bulk_create(objects, batch_size=500)
        except (IntegrityError, DataError, ValueError) as exc:
            raise ImportError_(
                f"{label}: the database refuses a row ({_first_line(exc)})."
            ) from None
        new_ids[label] = {
            old_id: obj.pk for (old_id, _), obj in zip(plan.rows[label], objects, strict=True)
        }
        # bulk_create sends no signals: send them, so the audit trail and the dashboards
        # learn of each new row as they would of a saved one.
        for obj in objects:
            post_save.send(
                sender=model,
                instance=obj,
                created=True,
                update_fields=None,
                raw=False,
                using=obj._state.db,
            )
        new_secrets += [f"{model._meta.verbose_name} {str(obj)!r}" for obj in renewed]
        missing_secrets += [f"{model._meta.verbose_name} {str(obj)!r}" for obj in missing]
        counts[label] = len(objects)
    return ImportReport(counts=counts, new_secrets=new_secrets, missing_secrets=missing_secrets)


def summary(counts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{n} {label.split('.')[-1]}" for label, n in counts if n)
