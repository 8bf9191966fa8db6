"""Every write of the vendors app. Views and commands call these, never the ORM directly."""

import calendar
import datetime
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import Organization, User
from accounts.services import mark_dashboards_stale
from outsourcing.errors import Conflict
from outsourcing.formats import day
from outsourcing.uploads import sniff
from outsourcing.validation import check_values

from . import hooks, scorecard, terms
from .models import (
    DECISION_STATUSES,
    Attachment,
    Contract,
    ContractDecision,
    Criterion,
    Evidence,
    EvidenceKind,
    EvidenceRevision,
    Vendor,
    VendorContact,
    VendorSettings,
    VendorStatus,
    VendorStatusChange,
    score_field,
)

EVIDENCE_FIELDS = (
    "kind",
    "summary",
    "link",
    "verified",
    "recorded_at",
    "expires_on",
    *(score_field(c) for c in Criterion),
)


REFERENCE_VALID_MONTHS = 12


# Another vendor of the organization has this name, whatever its case: a Conflict on
# ``name``, so a form shows it next to the name field and the API answers 409 naming it.
NAME_TAKEN = "A vendor with this name already exists."


def _name_taken(org_id: int, name: str, *, exclude_pk: int | None = None) -> bool:
    # Lower() on both sides: the same comparison as the vendor_name_ci_unique_per_org index.
    others = Vendor.unscoped.alias(lname=Lower("name")).filter(
        org_id=org_id, lname=Lower(Value(name))
    )
    return others.exclude(pk=exclude_pk).exists() if exclude_pk else others.exists()


def _full_clean(vendor: Vendor) -> None:
    """The model's own checks, except the name index: a name taken meanwhile is the
    Conflict on ``name`` of ``_save_named`` (a 409 naming it), not a form-wide constraint message."""
    vendor.full_clean(validate_constraints=False)
    vendor.validate_constraints(exclude={"name"})


def _save_named(vendor: Vendor, **save) -> None:
    """Save ``vendor``; a name taken meanwhile (two identical creates at once) is a Conflict.

    The check before is for the message; the unique index is what decides a race, and its
    IntegrityError is caught in a savepoint so the caller's transaction stays usable.
    """
    if _name_taken(vendor.org_id, vendor.name, exclude_pk=vendor.pk):
        raise Conflict(NAME_TAKEN, field="name")
    try:
        with transaction.atomic():
            vendor.save(**save)
    except IntegrityError:
        if _name_taken(vendor.org_id, vendor.name, exclude_pk=vendor.pk):
            raise Conflict(NAME_TAKEN, field="name") from None
        raise
    mark_dashboards_stale({vendor.org_id})  # a dashboard shows the vendor's name


def add_months(day: datetime.date, months: int) -> datetime.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


@transaction.atomic
def create_vendor(*, org: Organization, by: User | None, **fields) -> Vendor:
    """Record a new vendor as a prospect; its name is unique in the organization, ignoring case."""
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    check_values(Vendor, **fields)
    vendor = Vendor(org=org, created_by=by, status=VendorStatus.PROSPECT, **fields)
    if vendor.name and _name_taken(org.pk, vendor.name):
        raise Conflict(NAME_TAKEN, field="name")
    _full_clean(vendor)
    _save_named(vendor)
    return vendor


@transaction.atomic
def update_vendor(*, vendor: Vendor, **fields) -> Vendor:
    """Change a vendor's details (never its status: that is change_status/decide)."""
    fields.pop("status", None)
    if isinstance(fields.get("name"), str):
        fields["name"] = fields["name"].strip()
    check_values(Vendor, **fields)
    fields["updated_at"] = timezone.now()
    for name, value in fields.items():
        setattr(vendor, name, value)
    if (
        "name" in fields
        and vendor.name
        and _name_taken(vendor.org_id, vendor.name, exclude_pk=vendor.pk)
    ):
        raise Conflict(NAME_TAKEN, field="name")
    _full_clean(vendor)
    # Only the edited columns: a decision or score saved meanwhile must not be undone.
    _save_named(vendor, update_fields=list(fields))
    hooks.review_changed(vendor_id=vendor.pk)
    return vendor


def _lock_contacts(vendor_id: int) -> None:
    """Take the vendor's row lock: two contact changes at once (two "add a first contact",
    two "make primary") would otherwise both set a primary and break the one-primary index.
    Part of the caller's transaction; SQLite serialises writers anyway."""
    list(Vendor.unscoped.select_for_update().filter(pk=vendor_id).values_list("pk"))


@transaction.atomic
def add_contact(
    *,
    vendor: Vendor,
    name: str,
    role: str = "",
    email: str = "",
    phone: str = "",
    is_primary: bool = False,
) -> VendorContact:
    """Add a contact person; a new primary contact replaces the old one."""
    _lock_contacts(vendor.pk)
    first = not VendorContact.unscoped.filter(vendor=vendor).exists()
    if is_primary or first:
        VendorContact.unscoped.filter(vendor=vendor, is_primary=True).update(is_primary=False)
    return VendorContact.unscoped.create(
        org_id=vendor.org_id,
        vendor=vendor,
        name=name,
        role=role,
        email=email,
        phone=phone,
        is_primary=is_primary or first,
    )


@transaction.atomic
def make_primary_contact(*, contact: VendorContact) -> VendorContact:
    """Make ``contact`` its vendor's one primary contact."""
    _lock_contacts(contact.vendor_id)
    # Clear the old primary first: the partial unique index allows one at a time.
    VendorContact.unscoped.filter(vendor_id=contact.vendor_id, is_primary=True).exclude(
        pk=contact.pk
    ).update(is_primary=False)
    VendorContact.unscoped.filter(pk=contact.pk).update(is_primary=True)
    contact.is_primary = True
    return contact


@transaction.atomic
def remove_contact(*, contact: VendorContact) -> None:
    """Remove a contact; if it was the primary one, the next contact by name takes over."""
    _lock_contacts(contact.vendor_id)
    contact.delete()
    if contact.is_primary:
        successor = (
            VendorContact.unscoped.filter(vendor_id=contact.vendor_id).order_by("name").first()
        )
        if successor is not None:
            make_primary_contact(contact=successor)


def _record_status(
    *, vendor: Vendor, by: User | None, to: str, reason: str, at: datetime.datetime, **extra
) -> VendorStatusChange | None:
    """Compare-and-set the status; the event row only when this call won."""
    old = vendor.status
    extra = {**extra, "updated_at": at}
    changed = Vendor.unscoped.filter(pk=vendor.pk, status=old).update(status=to, **extra)
    if changed != 1:
        return None
    for name, value in extra.items():
        setattr(vendor, name, value)
    vendor.status = to
    hooks.review_changed(vendor_id=vendor.pk)
    return VendorStatusChange.unscoped.create(
        org_id=vendor.org_id,
        vendor=vendor,
        from_status=old,
        to_status=to,
        reason=reason,
        by=by,
        at=at,
    )


@transaction.atomic
def change_status(
    *, vendor: Vendor, by: User | None, to: str, reason: str, at: datetime.datetime | None = None
) -> VendorStatusChange:
    """Move a vendor along its lifecycle (not approve/reject: that is ``decide``)."""
    if to in DECISION_STATUSES:
        raise ValidationError("Approving or rejecting is a decision with a rationale.")
    if to not in vendor.allowed_transitions:
        raise ValidationError(
            f"A {vendor.get_status_display().lower()} vendor cannot become {VendorStatus(to).label.lower()}."
        )
    if not reason.strip():
        raise ValidationError({"reason": "Say why."})
    change = _record_status(vendor=vendor, by=by, to=to, reason=reason, at=at or timezone.now())
    if change is None:
        raise Conflict("The vendor's status changed meanwhile; reload and try again.")
    return change


@transaction.atomic
def decide(
    *,
    vendor: Vendor,
    by: User,
    approve: bool,
    rationale: str,
    override: bool = False,
    at: datetime.datetime | None = None,
) -> VendorStatusChange:
    """Approve or reject a vendor with a rationale; approving over flagged criteria needs
    an explicit override, recorded with the flags it overrode."""
    at = at or timezone.now()
    to = VendorStatus.APPROVED if approve else VendorStatus.REJECTED
    if to not in vendor.allowed_transitions:
        raise ValidationError(
            f"A {vendor.get_status_display().lower()} vendor cannot be {to.label.lower()} now."
        )
    if not rationale.strip():
        raise ValidationError({"rationale": "Write down why: the next person will ask."})
    card = vendor_scorecard(vendor=vendor)
    flags = card.flag_text if approve else ""
    if flags and not override:
        raise ValidationError(
            {"override": f"These criteria are thin: {flags}. Tick the override to approve anyway."}
        )
    extra = _reviewed(vendor, at) if approve else {}
    change = _record_status(vendor=vendor, by=by, to=to, reason=rationale, at=at, **extra)
    if change is None:
        raise Conflict("Somebody decided on this vendor meanwhile; reload to see the decision.")
    if flags:
        change.override = True
        change.overridden_flags = flags
        change.save(update_fields=["override", "overridden_flags"])
    return change


@transaction.atomic
def record_review(
    *, vendor: Vendor, by: User, note: str, at: datetime.datetime | None = None
) -> VendorStatusChange:
    """Record that an approved or active vendor was reviewed; the next review is one interval
    later. Expired evidence still needs renewing: a review does not hide it."""
    at = at or timezone.now()
    if not vendor.is_engageable:
        raise ValidationError("Only approved or active vendors are reviewed; vet the others.")
    if not note.strip():
        raise ValidationError({"note": "Say what you checked."})
    # A review is a lifecycle event that keeps the status (from == to marks it); the
    # compare-and-set on the status means a vendor offboarded meanwhile is not "reviewed".
    change = _record_status(
        vendor=vendor, by=by, to=vendor.status, reason=note, at=at, **_reviewed(vendor, at)
    )
    if change is None:
        raise Conflict("The vendor's status changed meanwhile; reload and try again.")
    return change


def _reviewed(vendor: Vendor, at: datetime.datetime) -> dict:
    """Reviewed now: the next review is one review interval (the vendor's or the org's) later."""
    interval = (
        vendor.review_interval_months
        or VendorSettings.for_org(vendor.org_id).review_interval_months
    )
    return {"last_reviewed_at": at, "review_due_on": add_months(at.date(), interval)}


def vendor_scorecard(*, vendor: Vendor) -> scorecard.Scorecard:
    """The vendor's scorecard (two queries: the aggregate and the organization's weights)."""
    row = Evidence.unscoped.filter(vendor_id=vendor.pk, deleted_at__isnull=True).aggregate(
        **scorecard.aggregates()
    )
    return scorecard.build(row, VendorSettings.for_org(vendor.org_id).weights)


def _refresh_score(vendor: Vendor) -> None:
    vendor.score = vendor_scorecard(vendor=vendor).overall
    Vendor.unscoped.filter(pk=vendor.pk).update(score=vendor.score, updated_at=timezone.now())


@transaction.atomic
def recompute_scores(*, org: Organization) -> int:
    """Recompute every vendor's stored score in ``org`` (after the weights changed), set-based."""
    weights = VendorSettings.for_org(org).weights
    rows = (
        Evidence.unscoped.filter(org=org, deleted_at__isnull=True)
        .values("vendor_id")
        .annotate(**scorecard.aggregates())
    )
    scores = {row["vendor_id"]: scorecard.overall(row, weights) for row in rows}
    vendors = list(Vendor.unscoped.filter(org=org).only("pk", "score"))
    now = timezone.now()
    for vendor in vendors:  # a new score is a change: API clients syncing by updated_since see it
        vendor.score, vendor.updated_at = scores.get(vendor.pk), now
    Vendor.unscoped.bulk_update(vendors, ["score", "updated_at"], batch_size=500)
    return len(vendors)


def _attach(*, vendor: Vendor, by: User | None, upload: UploadedFile, **parent) -> Attachment:
    # Checked here too (not only in the form), so no caller can store a disguised file.
    content_type = sniff(upload)
    if content_type is None:
        raise ValidationError(f"{upload.name}: this file's content is not an allowed type.")
    if upload.size > settings.MAX_UPLOAD_MB * 1024 * 1024:
        raise ValidationError(f"{upload.name} is larger than {settings.MAX_UPLOAD_MB} MB.")
    attachment = Attachment(
        org_id=vendor.org_id,
        vendor=vendor,
        original_name=upload.name[:255],
        content_type=content_type,
        size=upload.size,
        uploaded_by=by,
        **parent,
    )
    attachment.file.save(upload.name, upload, save=False)
    # The file is written before the row: a rolled-back transaction can leave an orphan
    # file (unreachable: only rows are served), never a row without its file.
    attachment.save()
    return attachment


@transaction.atomic
def add_evidence(
    *,
    vendor: Vendor,
    by: User | None,
    kind: str,
    summary: str,
    recorded_at: datetime.datetime | None = None,
    link: str = "",
    verified: bool = False,
    expires_on: datetime.date | None = None,
    scores: dict[str, int | None] | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Evidence:
    """Log one piece of vetting evidence (with any attachments) and re-score the vendor.

    A reference check without an expiry date expires a year after it was taken: an old
    reference is exactly what re-vetting should renew."""
    check_values(Evidence, recorded_at=recorded_at, expires_on=expires_on, **(scores or {}))
    recorded_at = recorded_at or timezone.now()
    if kind == EvidenceKind.REFERENCE and expires_on is None:
        expires_on = add_months(timezone.localdate(recorded_at), REFERENCE_VALID_MONTHS)
    evidence = Evidence(
        org_id=vendor.org_id,
        vendor=vendor,
        kind=kind,
        summary=summary,
        link=link,
        verified=verified,
        recorded_at=recorded_at,
        recorded_by=by,
        expires_on=expires_on,
        **{score_field(Criterion(c)): s for c, s in (scores or {}).items()},
    )
    evidence.save()
    for upload in attachments:
        _attach(vendor=vendor, by=by, upload=upload, evidence=evidence)
    _refresh_score(vendor)
    hooks.review_changed(vendor_id=vendor.pk)  # an expiry date
    return evidence


def _snapshot(evidence: Evidence) -> dict:
    data = {}
    for name in EVIDENCE_FIELDS:
        value = getattr(evidence, name)
        data[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return data


@transaction.atomic
def update_evidence(
    *, evidence: Evidence, by: User, version: int, scores: dict[str, int | None], **fields
) -> Evidence:
    """Edit an entry if nobody else saved it since ``version``; the old state is kept as a
    revision. Raises ``Conflict`` (nothing saved) when the entry moved on."""
    before = Evidence.unscoped.select_for_update().get(pk=evidence.pk)
    if before.version != version or before.deleted_at is not None:
        raise Conflict(
            "Someone else changed this entry while you were editing. Your changes were not "
            "saved; here is the current version."
        )
    if fields.get("recorded_at") is None:
        fields.pop("recorded_at", None)  # an emptied "recorded at" keeps the original moment
    values = {**fields, **{score_field(Criterion(c)): s for c, s in scores.items()}}
    check_values(Evidence, **values)
    # Compare-and-set on the version: on databases without SELECT ... FOR UPDATE (SQLite
    # serialises writers anyway) the filter is what makes the later save lose.
    changed = Evidence.unscoped.filter(pk=evidence.pk, version=version).update(
        version=F("version") + 1, **values
    )
    if changed != 1:
        raise Conflict("Someone else changed this entry while you were editing.")
    EvidenceRevision.unscoped.create(
        org_id=evidence.org_id,
        evidence=evidence,
        version=before.version,
        snapshot=_snapshot(before),
        edited_by=by,
    )
    evidence.refresh_from_db()
    _refresh_score(evidence.vendor)
    hooks.review_changed(vendor_id=evidence.vendor_id)
    return evidence


@transaction.atomic
def delete_evidence(*, evidence: Evidence, by: User) -> bool:
    """Soft-delete an entry (owners still see it); True if this call deleted it."""
    changed = Evidence.unscoped.filter(pk=evidence.pk, deleted_at__isnull=True).update(
        deleted_at=timezone.now(), deleted_by=by, version=F("version") + 1
    )
    if changed:
        _refresh_score(evidence.vendor)
        hooks.review_changed(vendor_id=evidence.vendor_id)
    return changed == 1


def _check_contract(contract: Contract) -> None:
    """The model's checks, then the terms' own rules (``vendors.terms.check_terms``), each
    message next to the field it is about."""
    errors: dict[str, list[str]] = {}
    try:
        contract.full_clean(exclude=["vendor", "org"])
    except ValidationError as exc:
        errors = exc.message_dict
    for name, message in terms.check_terms(contract.terms(decisions=())).items():
        errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationError(errors)


def _normalise_terms(fields: dict) -> dict:
    """Values that do not apply to the terms chosen are cleared, not kept as stale data: no
    instalments without the fixed schedule."""
    if fields.get("payment_schedule") != terms.INSTALMENTS:
        fields["instalment_amount"] = None
        fields["instalment_months"] = None
    return fields


@transaction.atomic
def add_contract(
    *,
    vendor: Vendor,
    by: User | None,
    attachments: Sequence[UploadedFile] = (),
    **fields,
) -> Contract:
    """Record a contract with its terms and checklist (and optionally the signed file)."""
    check_values(Contract, **fields)
    fields.setdefault("payment_schedule", terms.NO_SCHEDULE)
    contract = Contract(
        org_id=vendor.org_id, vendor=vendor, created_by=by, **_normalise_terms(fields)
    )
    _check_contract(contract)
    contract.save()
    for upload in attachments:
        _attach(vendor=vendor, by=by, upload=upload, contract=contract)
    return contract


CONTRACT_EDITABLE = (
    "title",
    "payment_terms",
    *Contract.TERM_FIELDS,
    *(name for name, _ in Contract.CHECKLIST),
)


@transaction.atomic
def update_contract(*, contract: Contract, by: User | None = None, **changes) -> Contract:
    """Change a contract's terms or checklist; its decide-by date follows (the engagements under
    it are re-evaluated). Terms cannot change once notice was given: the exit is fixed."""
    unknown = set(changes) - set(CONTRACT_EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    check_values(Contract, **changes)
    locked = Contract.objects.select_for_update().get(pk=contract.pk)
    notice = locked.decisions.filter(kind=terms.GIVE_NOTICE).first()
    touched = {k for k, v in changes.items() if getattr(locked, k) != v}
    if notice and touched & set(Contract.TERM_FIELDS):
        raise ValidationError(
            f"Notice was given on {day(notice.decided_on)}: the terms that led to its exit "
            f"on {day(notice.exit_on)} stay as they were."
        )
    for name, value in changes.items():
        setattr(locked, name, value)
    fields = {name: getattr(locked, name) for name in CONTRACT_EDITABLE}
    for name, value in _normalise_terms(fields).items():
        setattr(locked, name, value)
    _check_contract(locked)
    locked.updated_at = timezone.now()
    locked.save()
    hooks.contract_changed(contract_id=locked.pk)
    for name in (*CONTRACT_EDITABLE, "updated_at"):
        setattr(contract, name, getattr(locked, name))
    return contract


@transaction.atomic
def decide_contract(
    *,
    contract: Contract,
    by: User | None,
    kind: str,
    reason: str,
    at: datetime.datetime | None = None,
) -> ContractDecision:
    """Renew or give notice, with a reason: the decision the decide-by date asks for. It ends
    that term's reminders; notice fixes when the contract stops (the earliest exit that day)."""
    if kind not in (terms.RENEW, terms.GIVE_NOTICE):
        raise ValidationError({"kind": "Renew or give notice."})
    if not reason.strip():
        raise ValidationError(
            {"reason": "Say why: the next person to read this contract will ask."}
        )
    at = at or timezone.now()
    # Locked: two people deciding at once wait for each other, and the second sees the first.
    locked = Contract.objects.select_for_update().select_related("org").get(pk=contract.pk)
    on = terms.local_day(at, locked.org.tzinfo)
    current = locked.terms()
    if current.notice is not None:
        raise Conflict(
            f"Notice was already given on {day(current.notice.on)}: the contract ends on "
            f"{day(current.notice.exit_on)}.",
            field="kind",
        )
    term_end = current.current_term_end(on)
    if kind == terms.RENEW:
        if term_end is None:
            raise ValidationError(
                {"kind": "There is no term to renew: the contract has no end date, or it ends."}
            )
        if not locked.renewal_months:
            raise ValidationError(
                {
                    "kind": "Set the renewal term (months) first: renewing needs to know for how long."
                }
            )
        exit_on = None
    else:
        exit_on = current.earliest_exit(on)
        if exit_on is None:
            raise ValidationError(
                {"kind": "These terms name no end and no termination for convenience."}
            )
        term_end = term_end or current.ends_on(on) or exit_on
        if exit_on < on:
            raise ValidationError({"kind": f"The contract ended on {day(exit_on)}."})
    try:
        with transaction.atomic():
            decision = ContractDecision.objects.create(
                org_id=locked.org_id,
                contract=locked,
                kind=kind,
                reason=reason.strip(),
                term_end=term_end,
                decided_on=on,
                exit_on=exit_on,
                by=by,
                at=at,
            )
    except IntegrityError:
        raise Conflict("This term was decided meanwhile; look again.", field="kind") from None
    hooks.contract_changed(contract_id=locked.pk)
    return decision


def withdrawal_refusal(
    decision: ContractDecision, decisions: Sequence[ContractDecision], contract_terms, on
) -> str | None:
    """Why ``decision`` can no longer be withdrawn on ``on`` (None: it can). A decision is
    taken back the day it was taken (a mistaken click), or later while the choice is still
    open: its decide-by date not passed and, for notice, the contract not stopped. Only the
    latest decision can go: the ones after it were taken on its word.

    ``decisions`` are the contract's, latest first (the model's ordering)."""
    latest = decisions[0] if decisions else None
    if latest is not None and latest.pk != decision.pk:
        return (
            f"Withdraw the later decision first ({latest.get_kind_display().lower()}, "
            f"{day(latest.decided_on)}): it was taken on this one's word."
        )
    if decision.decided_on == on:
        return None
    if decision.exit_on is not None and on >= decision.exit_on:
        return f"The contract stopped on {day(decision.exit_on)} under this notice."
    decide_by = contract_terms.decide_by_of(decision.term_end)
    if on > decide_by:
        return (
            f"Its decide-by date, {day(decide_by)}, has passed: the decision stands. "
            "Correct its reason instead."
        )
    return None


@transaction.atomic
def withdraw_contract_decision(
    *, decision: ContractDecision, by: User | None, at: datetime.datetime | None = None
) -> Contract:
    """Take a decision back while the choice is still open (``withdrawal_refusal``): the term
    is undecided again, so its reminders and the watcher's "decide before renewal" return.
    The removal is in the audit trail, with who and when."""
    at = at or timezone.now()
    locked = Contract.objects.select_for_update().select_related("org").get(pk=decision.contract_id)
    decisions = list(locked.decisions.all())
    current = next((d for d in decisions if d.pk == decision.pk), None)
    if current is None:
        raise Conflict("This decision was withdrawn meanwhile; look again.")
    on = terms.local_day(at, locked.org.tzinfo)
    refusal = withdrawal_refusal(current, decisions, locked.terms(decisions), on)
    if refusal:
        raise Conflict(refusal)
    current.delete()
    hooks.contract_changed(contract_id=locked.pk)
    return locked


def update_contract_decision(
    *, decision: ContractDecision, by: User | None, reason: str
) -> ContractDecision:
    """Correct a decision's reason (audited, old → new); what was decided stays. A decision
    itself changes by withdrawing it while the choice is open and deciding again."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            {"reason": "Say why: the next person to read this contract will ask."}
        )
    check_values(ContractDecision, reason=reason)
    with transaction.atomic():
        locked = ContractDecision.objects.select_for_update().filter(pk=decision.pk).first()
        if locked is None:
            raise Conflict("This decision was withdrawn meanwhile; look again.", field="reason")
        if locked.reason != reason:
            locked.reason = reason
            locked.save(update_fields=["reason"])
    decision.reason = reason
    return locked


@transaction.atomic
def update_vendor_settings(*, org: Organization, **fields) -> VendorSettings:
    """Change the organization's weights and review interval; re-score its vendors."""
    settings, _ = VendorSettings.unscoped.get_or_create(org=org)
    for name, value in fields.items():
        setattr(settings, name, value)
    settings.full_clean()
    settings.save()
    recompute_scores(org=org)
    return settings


@transaction.atomic
def import_vendors(*, org: Organization, by: User | None, rows: list[dict]) -> list[Vendor]:
    """Create the vendors of an already validated CSV import, all or nothing.

    Names taken meanwhile (the confirm button pressed twice, or someone adding one of them)
    refuse the whole import with a Conflict; nothing is saved.
    """
    for row in rows:
        check_values(Vendor, **row)
    names = [row["name"].strip() for row in rows]
    existing = {n.lower() for n in Vendor.unscoped.filter(org=org).values_list("name", flat=True)}
    if any(name.lower() in existing for name in names):
        raise Conflict(IMPORT_TAKEN, field="name")
    vendors = [
        Vendor(org=org, created_by=by, **row | {"name": name})
        for row, name in zip(rows, names, strict=True)
    ]
    try:
        with transaction.atomic():
            return Vendor.unscoped.bulk_create(vendors, batch_size=500)
    except IntegrityError:
        raise Conflict(IMPORT_TAKEN, field="name") from None


IMPORT_TAKEN = (
    "Some of these vendors exist already (was the import confirmed twice?): nothing was imported."
)
