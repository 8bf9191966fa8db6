"""Writes to the delivery side of an engagement: set-up, readiness, status, milestones,
deliverables and their transitions, scope changes, spend, interactions, questions, risks.

Every service that changes what the warning-sign rules read calls
``hooks.engagement_changed(engagement=…)`` inside its transaction (the health watcher
re-evaluates after commit); one that changes what a dashboard shows marks the dashboards
stale. Views, the API and the vendor portal all go through these functions.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.audit import log_created
from accounts.models import Membership, Role, User
from accounts.services import mark_dashboards_stale
from engagements.delivery import exit_criteria, hooks
from engagements.delivery.models import (
    ActivityKind,
    Channel,
    Deliverable,
    DeliverableStatus,
    DeliverableTransition,
    Direction,
    Engagement,
    EngagementDefaults,
    EngagementStatus,
    EngagementStatusChange,
    ExitCriterion,
    Interaction,
    Milestone,
    OpenQuestion,
    Outcome,
    ReadinessCheck,
    ReadinessVerdict,
    Risk,
    ScopeChange,
    Source,
    SpendEntry,
    WorkActivity,
)
from outsourcing.errors import Conflict
from outsourcing.validation import check_happened, check_values
from vendors.models import ENGAGEABLE_STATUSES, Contract, Vendor

S = DeliverableStatus
E = EngagementStatus

# Deliverable life cycle. A rejected deliverable goes back to work or is resubmitted.
DELIVERABLE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.PLANNED: (S.IN_PROGRESS,),
    S.IN_PROGRESS: (S.SUBMITTED,),
    S.SUBMITTED: (S.ACCEPTED, S.REJECTED),
    S.REJECTED: (S.IN_PROGRESS, S.SUBMITTED),
    S.ACCEPTED: (),
}

# Engagement life cycle. Completed and terminated are final.
ENGAGEMENT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    E.DRAFT: (E.ACTIVE, E.TERMINATED),
    E.ACTIVE: (E.PAUSED, E.COMPLETED, E.TERMINATED),
    E.PAUSED: (E.ACTIVE, E.COMPLETED, E.TERMINATED),
    E.COMPLETED: (),
    E.TERMINATED: (),
}
# Stopping or pausing an engagement always says why.
REASON_REQUIRED = (E.PAUSED, E.TERMINATED)

RACE_MESSAGE = "Someone else just reviewed this deliverable; here is where it stands now."


# --- set-up ---------------------------------------------------------------------------------


def engagement_defaults(*, org) -> EngagementDefaults:
    """The organization's default watch settings, created with the model defaults on first use."""
    defaults, _ = EngagementDefaults.unscoped.get_or_create(org=org)
    return defaults


@transaction.atomic
def create_engagement(
    *,
    org,
    by: User,
    vendor: Vendor,
    title: str,
    goal: str,
    definition_of_done: str,
    budget: Decimal,
    currency: str,
    start_date: date,
    target_end_date: date,
    owner: User,
    vendor_override_reason: str = "",
    watch: dict[str, int] | None = None,
    presets: Iterable[str] = (),
    contract: Contract | None = None,
) -> Engagement:
    """Create a draft engagement with its watch settings and the exit-criteria presets chosen."""
    check_values(
        Engagement,
        budget=budget,
        start_date=start_date,
        target_end_date=target_end_date,
        **(watch or {}),
    )
    if vendor.org_id != org.pk:
        raise ValidationError({"vendor": "Choose one of your organization's vendors."})
    override = vendor_override_reason.strip()
    if vendor.status not in ENGAGEABLE_STATUSES and not override:
        raise ValidationError(
            {
                "vendor_override_reason": f"{vendor.name} is {vendor.get_status_display().lower()}, "
                "not approved: write down why you engage them anyway."
            }
        )
    if not goal.strip() or not definition_of_done.strip():
        raise ValidationError("An engagement needs a goal and a definition of done.")
    if target_end_date < start_date:
        raise ValidationError({"target_end_date": "The target end date is before the start."})
    if budget < 0:
        raise ValidationError({"budget": "The budget cannot be negative."})
    _check_owner(org, owner)
    _check_contract(vendor, contract)
    settings = engagement_defaults(org=org).watch_settings() | (watch or {})
    now = timezone.now()
    engagement = Engagement.objects.create(
        org=org,
        vendor=vendor,
        contract=contract,
        title=title,
        goal=goal,
        definition_of_done=definition_of_done,
        budget=budget,
        currency=currency,
        start_date=start_date,
        target_end_date=target_end_date,
        owner=owner,
        vendor_override_reason=override if vendor.status not in ENGAGEABLE_STATUSES else "",
        vendor_override_by=by if override and vendor.status not in ENGAGEABLE_STATUSES else None,
        created_by=by,
        created_at=now,
        updated_at=now,
        **settings,
    )
    EngagementStatusChange.objects.create(
        org=org, engagement=engagement, to_status=E.DRAFT, by=by, at=now, reason="Created"
    )
    mark_dashboards_stale({org.pk})
    for key in presets:
        if key not in exit_criteria.PRESETS:
            raise ValidationError({"presets": f"Unknown exit-criteria preset {key!r}."})
        add_exit_criterion(engagement=engagement, by=by, criterion=exit_criteria.PRESETS[key])
    return engagement


def _check_contract(vendor: Vendor, contract: Contract | None) -> None:
    """An engagement runs under one of its own vendor's contracts, or none."""
    if contract is not None and contract.vendor_id != vendor.pk:
        raise ValidationError({"contract": f"Choose one of {vendor.name}'s contracts (or none)."})


# Who may own an engagement: someone who can act on it (viewers change nothing).
OWNER_ROLES = (Role.OWNER, Role.MANAGER)


def _check_owner(org, owner: User) -> None:
    if not Membership.objects.filter(
        org_id=org.pk, user_id=owner.pk, role__in=OWNER_ROLES
    ).exists():
        raise ValidationError(
            {"owner": "The owner must be an owner or manager of this organization."}
        )


# What update_engagement may change; status has its own transitions, the brief its own form.
ENGAGEMENT_EDITABLE = (
    "title",
    "goal",
    "definition_of_done",
    "budget",
    "start_date",
    "target_end_date",
    "owner",
    "contract",
)


@transaction.atomic
def update_engagement(*, engagement: Engagement, by: User, **changes) -> Engagement:
    """Change an engagement's title, goal, definition of done, budget, dates, owner or contract."""
    unknown = set(changes) - set(ENGAGEMENT_EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))} here.")
    _check_open(engagement)  # a published post-mortem froze its facts
    check_values(Engagement, **changes)
    for name in ("goal", "definition_of_done", "title"):
        if name in changes and not str(changes[name]).strip():
            raise ValidationError({name: "This cannot be empty."})
    if changes.get("budget") is not None and changes["budget"] < 0:
        raise ValidationError({"budget": "The budget cannot be negative."})
    if "owner" in changes:
        _check_owner(engagement.org, changes["owner"])
    if "contract" in changes:
        _check_contract(engagement.vendor, changes["contract"])
    start = changes.get("start_date", engagement.start_date)
    end = changes.get("target_end_date", engagement.target_end_date)
    if end < start:
        raise ValidationError({"target_end_date": "The target end date is before the start."})
    if start != engagement.start_date:
        _check_start_before_due(engagement, start)
    for name, value in changes.items():
        setattr(engagement, name, value)
    engagement.updated_at = timezone.now()
    engagement.save(update_fields=[*changes, "updated_at"])
    mark_dashboards_stale({engagement.org_id})  # title, owner or vendor on a dashboard
    hooks.engagement_changed(engagement=engagement)
    return engagement


@transaction.atomic
def set_up_engagement(*, org, by: User, readiness: dict, **engagement) -> Engagement:
    """Create a draft engagement and keep its readiness answers: both, or neither."""
    created = create_engagement(org=org, by=by, **engagement)
    record_readiness(engagement=created, by=by, **readiness)
    return created


@transaction.atomic
def add_exit_criterion(*, engagement: Engagement, by: User, criterion: dict) -> ExitCriterion:
    """Write down one "cut losses when ..." line, validated into data the watcher evaluates."""
    clean = exit_criteria.validate(criterion)
    created = ExitCriterion.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        label=clean["label"],
        combinator=clean["combinator"],
        conditions=clean["conditions"],
        created_by=by,
    )
    hooks.engagement_changed(engagement=engagement)
    return created


def readiness_verdict(
    *,
    has_concrete_target: bool,
    need_is_specific: bool,
    money_alternative: str,
    owner_hours_per_week: int,
) -> str:
    """The readiness rule, in one place.

    - No concrete product or market target, or a need too vague to write acceptance
      criteria for: **too soon** (the first failure mode: outsourcing before knowing why).
    - Nobody on our side with at least 2 hours a week, or no alternative use of the money
      considered: **risky**.
    - Otherwise: **ready**.
    """
    if not has_concrete_target or not need_is_specific:
        return ReadinessVerdict.TOO_SOON
    considered = money_alternative.strip().lower() not in {"", "-", "n/a", "none", "nothing"}
    if owner_hours_per_week < 2 or not considered:
        return ReadinessVerdict.RISKY
    return ReadinessVerdict.READY


@transaction.atomic
def record_readiness(
    *,
    engagement: Engagement,
    by: User,
    has_concrete_target: bool,
    need_is_specific: bool,
    money_alternative: str,
    internal_owner: str,
    owner_hours_per_week: int,
) -> ReadinessCheck:
    """Keep the readiness answers and their verdict (answering again replaces them)."""
    check_values(ReadinessCheck, owner_hours_per_week=owner_hours_per_week)
    verdict = readiness_verdict(
        has_concrete_target=has_concrete_target,
        need_is_specific=need_is_specific,
        money_alternative=money_alternative,
        owner_hours_per_week=owner_hours_per_week,
    )
    check, _ = ReadinessCheck.objects.update_or_create(
        engagement=engagement,
        defaults={
            "org_id": engagement.org_id,
            "has_concrete_target": has_concrete_target,
            "need_is_specific": need_is_specific,
            "money_alternative": money_alternative,
            "internal_owner": internal_owner,
            "owner_hours_per_week": owner_hours_per_week,
            "verdict": verdict,
            "answered_by": by,
            "answered_at": timezone.now(),
            "override_reason": "",
            "override_by": None,
            "override_at": None,
        },
    )
    return check


@transaction.atomic
def override_readiness(*, check: ReadinessCheck, by: User, reason: str) -> ReadinessCheck:
    """Record who decided to go ahead despite a "too soon" verdict, and why."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why you go ahead although it looks too soon."})
    check.override_reason = reason.strip()
    check.override_by = by
    check.override_at = timezone.now()
    check.save(update_fields=["override_reason", "override_by", "override_at"])
    return check


@transaction.atomic
def change_engagement_status(
    *, engagement: Engagement, to: str, by: User, reason: str = "", at: datetime | None = None
) -> EngagementStatusChange:
    """Move an engagement along draft → active → paused → completed / terminated (compare-and-set).

    ``at`` (default now) is the moment recorded: a replayed history passes its own day."""
    old = engagement.status
    if to not in ENGAGEMENT_TRANSITIONS.get(old, ()):
        raise ValidationError(
            f"The engagement is {E(old).label.lower()}; it cannot become {E(to).label.lower()}."
        )
    if to in REASON_REQUIRED and not reason.strip():
        raise ValidationError({"reason": "Say why: the post-mortem will ask."})
    if to == E.ACTIVE and old == E.DRAFT:
        check = ReadinessCheck.objects.filter(engagement=engagement).first()
        if check is None:
            raise ValidationError("Answer the readiness check before activating.")
        if check.verdict == ReadinessVerdict.TOO_SOON and not check.override_reason:
            raise ValidationError(
                "The readiness check says it is too soon; record an override to activate anyway."
            )
    hooks.status_changing(engagement=engagement, to=to)  # e.g. lessons to acknowledge first
    now = at or timezone.now()
    fields: dict = {"status": to, "updated_at": now}
    if to == E.ACTIVE and engagement.activated_at is None:
        fields["activated_at"] = now
    if to in (E.COMPLETED, E.TERMINATED):
        fields["ended_at"] = now
    if Engagement.objects.filter(pk=engagement.pk, status=old).update(**fields) != 1:
        raise Conflict("Someone else just changed this engagement's status.")
    mark_dashboards_stale({engagement.org_id})  # it joins or leaves the watched ones
    for name, value in fields.items():
        setattr(engagement, name, value)
    change = EngagementStatusChange.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        from_status=old,
        to_status=to,
        by=by,
        at=now,
        reason=reason.strip(),
    )
    hooks.status_changed(engagement=engagement, change=change, at=now)  # e.g. a post-mortem opens
    hooks.engagement_changed(engagement=engagement)
    return change


@transaction.atomic
def update_brief(
    *,
    engagement: Engagement,
    vision: str,
    short_term_goals: str,
    long_term_goals: str,
    shared: bool = False,
) -> Engagement:
    """Edit the brief we share with the vendor; ``shared`` records that it went out."""
    engagement.vision = vision
    engagement.short_term_goals = short_term_goals
    engagement.long_term_goals = long_term_goals
    engagement.updated_at = timezone.now()
    fields = ["vision", "short_term_goals", "long_term_goals", "updated_at"]
    if shared and engagement.brief_shared_at is None:
        engagement.brief_shared_at = engagement.updated_at
        fields.append("brief_shared_at")
    engagement.save(update_fields=fields)
    hooks.engagement_changed(engagement=engagement)
    return engagement


@transaction.atomic
def update_watch_settings(*, engagement: Engagement, **settings: int) -> Engagement:
    """Change the thresholds the health watcher applies to this engagement."""
    unknown = set(settings) - set(Engagement.WATCH_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown watch settings: {', '.join(sorted(unknown))}.")
    check_values(Engagement, **settings)
    errors = {}
    for name, value in settings.items():
        try:  # the model field's own validators (e.g. a cadence of at least one day)
            setattr(engagement, name, Engagement._meta.get_field(name).clean(value, engagement))
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    engagement.updated_at = timezone.now()
    engagement.save(update_fields=[*settings, "updated_at"])
    hooks.engagement_changed(engagement=engagement)
    return engagement


# --- milestones and deliverables ------------------------------------------------------------


def _check_due(engagement: Engagement, due_date: date) -> None:
    if due_date < engagement.start_date:
        raise ValidationError(
            {
                "due_date": f"Due before the engagement starts ({engagement.start_date:%d %b %Y}); "
                "pick a later date."
            }
        )


@transaction.atomic
def add_milestone(
    *, engagement: Engagement, title: str, due_date: date, description: str = ""
) -> Milestone:
    """Add a milestone at the end of the engagement's ordered list."""
    check_values(Milestone, due_date=due_date)
    _check_due(engagement, due_date)
    last = (
        Milestone.unscoped.filter(engagement=engagement).order_by("-position").first()
    )  # unscoped: services also run outside requests
    milestone = Milestone.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        title=title,
        description=description,
        due_date=due_date,
        position=(last.position + 1) if last else 1,
    )
    hooks.engagement_changed(engagement=engagement)
    return milestone


@transaction.atomic
def add_deliverable(
    *,
    engagement: Engagement,
    milestone: Milestone,
    by: User,
    title: str,
    due_date: date,
    acceptance_criteria: str = "",
    description: str = "",
    value: Decimal = Decimal("0"),
) -> Deliverable:
    """Add a deliverable under one of this engagement's milestones."""
    check_values(Deliverable, due_date=due_date, value=value)
    if milestone.engagement_id != engagement.pk or milestone.org_id != engagement.org_id:
        raise ValidationError({"milestone": "Choose a milestone of this engagement."})
    _check_due(engagement, due_date)
    if value < 0:
        raise ValidationError({"value": "The value cannot be negative."})
    deliverable = Deliverable.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        milestone=milestone,
        title=title,
        description=description,
        acceptance_criteria=acceptance_criteria,
        due_date=due_date,
        value=value,
    )
    hooks.engagement_changed(engagement=engagement)
    return deliverable


@transaction.atomic
def transition_deliverable(
    *,
    deliverable: Deliverable,
    to: str,
    by: User | None,
    note: str = "",
    by_vendor: bool = False,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> DeliverableTransition:
    """Move a deliverable one step (compare-and-set on status and version) and record who did it.

    Raises ValidationError for a move the life cycle does not allow (accepting without
    acceptance criteria, rejecting without a reason) and Conflict when someone else moved
    it first (``expected_version`` is the version the person was looking at).
    """
    old, version = deliverable.status, deliverable.version
    if expected_version is not None and expected_version != version:
        raise Conflict(RACE_MESSAGE)
    if to not in DELIVERABLE_TRANSITIONS.get(old, ()):
        raise ValidationError(
            f"“{deliverable.title}” cannot go from {S(old).label.lower()} to {S(to).label.lower()}."
        )
    if by_vendor and to in (S.ACCEPTED, S.REJECTED):
        raise ValidationError("Only our side accepts or rejects a deliverable.")
    if to == S.ACCEPTED and not deliverable.acceptance_criteria.strip():
        raise ValidationError(
            "Write the acceptance criteria before accepting: what exactly are you accepting?"
        )
    if to == S.REJECTED and not note.strip():
        raise ValidationError({"note": "Say why it is rejected, so the vendor can fix it."})
    now = at or timezone.now()
    fields: dict = {
        "status": to,
        "status_changed_at": now,
        "updated_at": now,
        "version": F("version") + 1,
    }
    if to == S.SUBMITTED:
        fields["submitted_at"] = now
    if to == S.ACCEPTED:
        fields["accepted_at"] = now
    if to == S.REJECTED:
        fields["times_rejected"] = F("times_rejected") + 1
    won = Deliverable.unscoped.filter(pk=deliverable.pk, status=old, version=version).update(
        **fields
    )
    if won != 1:
        raise Conflict(RACE_MESSAGE)
    deliverable.refresh_from_db()
    transition = DeliverableTransition.objects.create(
        org_id=deliverable.org_id,
        deliverable=deliverable,
        from_status=old,
        to_status=to,
        by=by,
        by_vendor=by_vendor,
        at=now,
        note=note.strip(),
    )
    hooks.engagement_changed(engagement=deliverable.engagement)
    return transition


@transaction.atomic
def submit_deliverable(
    *,
    deliverable: Deliverable,
    by: User | None,
    note: str = "",
    by_vendor: bool = False,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> DeliverableTransition:
    """Mark a deliverable submitted; one still planned is started first (two recorded steps)."""
    if deliverable.status == S.PLANNED:
        transition_deliverable(
            deliverable=deliverable,
            to=S.IN_PROGRESS,
            by=by,
            by_vendor=by_vendor,
            expected_version=expected_version,
            at=at,
        )
        expected_version = None  # the start just moved the version on
    return transition_deliverable(
        deliverable=deliverable,
        to=S.SUBMITTED,
        by=by,
        note=note,
        by_vendor=by_vendor,
        expected_version=expected_version,
        at=at,
    )


EDITABLE = {
    "milestone": "milestone",
    "title": "title",
    "description": "description",
    "acceptance_criteria": "acceptance criteria",
    "due_date": "due date",
    "value": "value",
}


@transaction.atomic
def update_deliverable(
    *,
    deliverable: Deliverable,
    by: User,
    why: str,
    expected_version: int | None = None,
    at: datetime | None = None,
    **changes,
) -> ScopeChange | None:
    """Change what a deliverable asks for, recorded as a scope change (what, why, by whom).

    Refuses a milestone of another engagement (or organization), a due date before the
    engagement starts and a negative value; a stale ``expected_version`` raises Conflict.
    Returns None when nothing changed.
    """
    engagement = deliverable.engagement
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationError(f"Cannot change {', '.join(sorted(unknown))}.")
    check_values(Deliverable, **changes)
    milestone = changes.get("milestone")
    if milestone is not None and (
        milestone.engagement_id != engagement.pk or milestone.org_id != engagement.org_id
    ):
        raise ValidationError({"milestone": "Choose a milestone of this engagement."})
    if "due_date" in changes:
        _check_due(engagement, changes["due_date"])
    if changes.get("value") is not None and changes["value"] < 0:
        raise ValidationError({"value": "The value cannot be negative."})
    changed = {k: v for k, v in changes.items() if getattr(deliverable, k) != v}
    if not changed:
        return None
    if not why.strip():
        raise ValidationError({"why": "Say why the scope changes."})
    version = deliverable.version if expected_version is None else expected_version
    now = at or timezone.now()
    won = Deliverable.unscoped.filter(pk=deliverable.pk, version=version).update(
        **changed, version=F("version") + 1, updated_at=now
    )
    if won != 1:
        raise Conflict("Someone else just changed this deliverable; here it is as it stands now.")
    what = "; ".join(
        f"{EDITABLE[k]}: {_shown(getattr(deliverable, k))} → {_shown(v)}"
        for k, v in changed.items()
    )
    deliverable.refresh_from_db()
    return record_scope_change(
        engagement=engagement,
        by=by,
        what_changed=f"“{deliverable.title}”: {what}",
        why=why.strip(),
        deliverable=deliverable,
        at=now,
    )


def _shown(value) -> str:
    text = str(value) if value not in (None, "") else "(empty)"
    return text if len(text) <= 80 else text[:79] + "…"


@transaction.atomic
def record_scope_change(
    *,
    engagement: Engagement,
    by: User,
    what_changed: str,
    why: str,
    deliverable: Deliverable | None = None,
    at: datetime | None = None,
) -> ScopeChange:
    """Record that what we asked for changed: what, why and by whom (``at``: default now)."""
    if deliverable is not None and deliverable.engagement_id != engagement.pk:
        raise ValidationError({"deliverable": "Choose a deliverable of this engagement."})
    change = ScopeChange.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        deliverable=deliverable,
        what_changed=what_changed,
        why=why,
        by=by,
        at=at or timezone.now(),
    )
    hooks.engagement_changed(engagement=engagement)
    return change


SCOPE_CHANGE_OF_DELIVERABLE = (
    "It records a change made to the deliverable “{title}”: correct its words here, or change "
    "the deliverable again (that is recorded too)."
)


@transaction.atomic
def update_scope_change(
    *, change: ScopeChange, by: User, what_changed: str, why: str
) -> ScopeChange:
    """Correct the words of a recorded scope change (what changed, why)."""
    _check_open(change.engagement)
    errors = {}
    if not what_changed.strip():
        errors["what_changed"] = "Say what changed."
    if not why.strip():
        errors["why"] = "Say why it changed."
    if errors:
        raise ValidationError(errors)
    if _save(change, {"what_changed": what_changed.strip(), "why": why.strip()}):
        hooks.engagement_changed(engagement=change.engagement)
    return change


def scope_change_locked(change: ScopeChange) -> str | None:
    """Why this scope change cannot be removed, or None: one written by a deliverable's own
    change is that change's record."""
    if change.deliverable_id is None:
        return None
    title = change.deliverable.title if change.deliverable else "removed"
    return SCOPE_CHANGE_OF_DELIVERABLE.format(title=title)


def delete_scope_change(*, change: ScopeChange, by: User) -> None:
    """Remove a scope change recorded by mistake; the watcher's "blurry scope" follows."""
    _remove(change, locked=scope_change_locked(change))


# --- spend ----------------------------------------------------------------------------------


@transaction.atomic
def record_spend(
    *,
    engagement: Engagement,
    by: User,
    date: date,
    amount: Decimal,
    currency: str,
    description: str,
    milestone: Milestone | None = None,
) -> SpendEntry:
    """Record money paid to the vendor, in the engagement's currency."""
    _check_spend(engagement, date=date, amount=amount, currency=currency, milestone=milestone)
    entry = SpendEntry.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        date=date,
        amount=amount,
        currency=currency,
        description=description,
        milestone=milestone,
        created_by=by,
    )
    hooks.engagement_changed(engagement=engagement)
    return entry


# --- interactions and questions ---------------------------------------------------------------


def _check_interaction(
    *,
    occurred_at: datetime | None,
    channel: str,
    direction: str,
    outcome: str,
    comfort: int | None,
    response_hours: int | None,
) -> None:
    """The rules of an interaction, logged or corrected: it happened (not in the future),
    its kinds are ours, an answer says how long it took, comfort is 1 to 5."""
    check_values(
        Interaction, occurred_at=occurred_at, comfort=comfort, response_hours=response_hours
    )
    try:
        check_happened(occurred_at)
    except ValidationError as exc:
        raise ValidationError({"occurred_at": exc.messages}) from None
    errors = {}
    if channel not in Channel.values:
        errors["channel"] = "Choose one of the listed channels."
    if direction not in Direction.values:
        errors["direction"] = "Choose one of the listed directions."
    if outcome not in Outcome.values:
        errors["outcome"] = "Choose one of the listed outcomes."
    elif outcome == Outcome.ANSWERED and response_hours is None:
        errors["response_hours"] = "After how many hours was it answered?"
    if comfort is not None and not 1 <= comfort <= 5:
        errors["comfort"] = "Comfort is 1 (awful) to 5 (great)."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def log_interaction(
    *,
    engagement: Engagement,
    by: User | None,
    channel: str,
    direction: str,
    outcome: str,
    occurred_at: datetime | None = None,
    comfort: int | None = None,
    response_hours: int | None = None,
    notes: str = "",
    question: str = "",
    question_owed_by: str = "",
    source: str = "ui",
) -> Interaction:
    """Record a call, meeting, e-mail or message (and an open question raised in it)."""
    _check_interaction(
        occurred_at=occurred_at,
        channel=channel,
        direction=direction,
        outcome=outcome,
        comfort=comfort,
        response_hours=response_hours,
    )
    interaction = Interaction.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        occurred_at=occurred_at or timezone.now(),
        channel=channel,
        direction=direction,
        outcome=outcome,
        response_hours=response_hours if outcome == Outcome.ANSWERED else None,
        comfort=comfort,
        notes=notes,
        logged_by=by,
        source=source,
    )
    if question.strip():
        if not question_owed_by:
            raise ValidationError({"question_owed_by": "Who owes the answer: us or the vendor?"})
        OpenQuestion.objects.create(
            org_id=engagement.org_id,
            engagement=engagement,
            interaction=interaction,
            question=question.strip(),
            owed_by=question_owed_by,
            asked_at=interaction.occurred_at,
        )
    hooks.engagement_changed(engagement=engagement)
    return interaction


def check_interaction(**values) -> None:
    """The rules of a logged interaction, without writing it (``log_interactions``' callers
    sort out rows it would refuse before they queue them)."""
    _check_interaction(**values)


@transaction.atomic(savepoint=False)  # inside a batch's transaction: no savepoint of its own
def log_interactions(*, rows: list[dict]) -> list[Interaction]:
    """Record many interactions (and their open questions) at once, as ``log_interaction``
    does one: the same rules, an audit entry each, one re-evaluation per engagement.

    ``rows``: ``log_interaction``'s keyword arguments (``by`` among them); a bulk INSERT for
    the interactions and one for the questions, so a batch of captured mail costs two
    statements, not two per message.
    """
    interactions, asked = [], []
    for row in rows:
        _check_interaction(
            occurred_at=row.get("occurred_at"),
            channel=row["channel"],
            direction=row["direction"],
            outcome=row["outcome"],
            comfort=row.get("comfort"),
            response_hours=row.get("response_hours"),
        )
        engagement = row["engagement"]
        interaction = Interaction(
            org_id=engagement.org_id,
            engagement=engagement,
            occurred_at=row.get("occurred_at") or timezone.now(),
            channel=row["channel"],
            direction=row["direction"],
            outcome=row["outcome"],
            response_hours=row.get("response_hours")
            if row["outcome"] == Outcome.ANSWERED
            else None,
            comfort=row.get("comfort"),
            notes=row.get("notes", ""),
            logged_by=row.get("by"),
            source=row.get("source", "ui"),
        )
        interactions.append(interaction)
        question = (row.get("question") or "").strip()
        if question:
            if not row.get("question_owed_by"):
                raise ValidationError(
                    {"question_owed_by": "Who owes the answer: us or the vendor?"}
                )
            asked.append((interaction, question, row["question_owed_by"]))
    Interaction.objects.bulk_create(interactions)
    questions = [
        OpenQuestion(
            org_id=interaction.org_id,
            engagement_id=interaction.engagement_id,
            interaction=interaction,
            question=question,
            owed_by=owed_by,
            asked_at=interaction.occurred_at,
        )
        for interaction, question, owed_by in asked
    ]
    OpenQuestion.objects.bulk_create(questions)
    log_created(Interaction, interactions)
    log_created(OpenQuestion, questions)
    if interactions:
        hooks.engagements_changed(engagement_ids=sorted({i.engagement_id for i in interactions}))
    return interactions


@transaction.atomic
def answer_question(
    *,
    question: OpenQuestion,
    answer: str = "",
    by: User | None = None,
    at: datetime | None = None,
) -> OpenQuestion:
    """Mark an open question answered (once; answering twice changes nothing).

    The row is locked and saved (not a bare ``update()``), so the audit trail records the
    answer and who gave it; the watcher re-evaluates after commit.
    """
    current = OpenQuestion.unscoped.select_for_update().get(pk=question.pk)
    if current.answered_at is None:
        current.answered_at, current.answer, current.answered_by = at or timezone.now(), answer, by
        current.save(update_fields=["answered_at", "answer", "answered_by"])
        hooks.engagement_changed(engagement=question.engagement)
    question.answered_at, question.answer = current.answered_at, current.answer
    question.answered_by_id = current.answered_by_id
    return question


# --- risks ----------------------------------------------------------------------------------


@transaction.atomic
def add_risk(
    *,
    engagement: Engagement,
    description: str,
    likelihood: str,
    impact: str,
    mitigation: str = "",
    owner: User | None = None,
) -> Risk:
    """Record a risk or obstacle with its mitigation plan."""
    _check_risk_owner(engagement, owner)
    return Risk.objects.create(
        org_id=engagement.org_id,
        engagement=engagement,
        description=description,
        likelihood=likelihood,
        impact=impact,
        mitigation=mitigation,
        owner=owner,
    )


def _check_risk_owner(engagement: Engagement, owner: User | None) -> None:
    if (
        owner is not None
        and not Membership.objects.filter(org_id=engagement.org_id, user_id=owner.pk).exists()
    ):
        raise ValidationError({"owner": "The owner must be a member of this organization."})


@transaction.atomic
def change_risk_status(*, risk: Risk, status: str) -> Risk:
    """Mark a risk mitigated, occurred or closed (audited, like every change of a record)."""
    _check_open(risk.engagement)
    if status not in Risk.Status.values:
        raise ValidationError({"status": "Unknown risk status."})
    _save(risk, {"status": status})
    return risk


@transaction.atomic
def update_risk(
    *,
    risk: Risk,
    by: User,
    description: str,
    likelihood: str,
    impact: str,
    mitigation: str = "",
    owner: User | None = None,
) -> Risk:
    """Correct a risk: what it is, how likely and how bad, the plan and who owns it."""
    _check_open(risk.engagement)
    if not description.strip():
        raise ValidationError({"description": "Say what the risk is."})
    _check_risk_owner(risk.engagement, owner)
    changes = {
        "description": description.strip(),
        "likelihood": likelihood,
        "impact": impact,
        "mitigation": mitigation.strip(),
        "owner": owner,
    }
    _save(risk, changes)
    return risk


def delete_risk(*, risk: Risk, by: User) -> None:
    """Remove a risk recorded by mistake (one that is no longer a risk is marked, not removed).
    The watcher does not read risks: nothing to re-evaluate."""
    _remove(risk, watched=False)


@dataclass(frozen=True)
class Burn:
    """Money in and value out of one engagement."""

    budget: Decimal
    spent: Decimal
    planned_value: Decimal
    accepted_value: Decimal

    @property
    def spent_pct(self) -> int:
        return round(self.spent * 100 / self.budget) if self.budget else 0

    @property
    def accepted_pct(self) -> int:
        return round(self.accepted_value * 100 / self.budget) if self.budget else 0

    @property
    def unearned(self) -> Decimal:
        """Spent beyond what accepted work is worth: money at risk."""
        return max(Decimal("0"), self.spent - self.accepted_value)


# --- corrections: every record a person typed can be changed or removed ------------------------
#
# Each correction saves through the model (``save``/``delete``), so django-auditlog records
# what changed, and calls ``hooks.engagement_changed`` so the watcher re-evaluates. A record
# other facts depend on refuses with the reason (``Conflict``: the API's 409).

PORTAL_CHECKIN_MESSAGE = (
    "The vendor wrote this check-in in the portal: it stays as they wrote it "
    "(log your own interaction to add to it)."
)


def frozen_reason(engagement: Engagement) -> str | None:
    """Why this engagement's records can no longer change (a published post-mortem froze
    their facts), or None. Asks the concerns above only for an ended engagement."""
    if not engagement.is_ended:
        return None
    return next((reason for reason in hooks.record_frozen(engagement=engagement) if reason), None)


def _check_open(engagement: Engagement) -> None:
    if reason := frozen_reason(engagement):
        raise Conflict(reason)


def _save(record, changes: dict, *, extra: tuple[str, ...] = ()) -> bool:
    """Write the fields that really changed (one audited save); False when nothing did."""
    changed = [name for name, value in changes.items() if getattr(record, name) != value]
    for name in changed:
        setattr(record, name, changes[name])
    if changed:
        record.save(update_fields=[*changed, *extra])
    return bool(changed)


def _remove(record, *, locked: str | None = None, watched: bool = True) -> None:
    """Remove a record a person typed: refused while its engagement is frozen or the record is
    ``locked`` (the reason why); the watcher re-evaluates the engagement when it reads such
    records (``watched``)."""
    engagement = record.engagement
    _check_open(engagement)
    if locked:
        raise Conflict(locked)
    record.delete()
    if watched:
        hooks.engagement_changed(engagement=engagement)


@transaction.atomic
def update_readiness(*, engagement: Engagement, by: User, **answers) -> ReadinessCheck:
    """Answer the readiness check again (a new verdict; an earlier override no longer holds)."""
    _check_open(engagement)
    check = record_readiness(engagement=engagement, by=by, **answers)
    hooks.engagement_changed(engagement=engagement)
    return check


def _check_start_before_due(engagement: Engagement, start: date) -> None:
    """A later start may not leave milestones or deliverables due before it."""
    for model, kind in ((Milestone, "milestone"), (Deliverable, "deliverable")):
        early = (
            model.unscoped.filter(engagement=engagement, due_date__lt=start)
            .order_by("due_date")
            .first()
        )
        if early is not None:
            raise ValidationError(
                {
                    "start_date": f"The {kind} “{early.title}” is due on "
                    f"{early.due_date:%-d %b %Y}, before this start: move it first."
                }
            )


@transaction.atomic
def update_milestone(
    *, milestone: Milestone, by: User, title: str, due_date: date, description: str = ""
) -> Milestone:
    """Correct a milestone's title, due date or description."""
    engagement = milestone.engagement
    _check_open(engagement)
    check_values(Milestone, due_date=due_date)
    if not title.strip():
        raise ValidationError({"title": "Give the milestone a title."})
    _check_due(engagement, due_date)
    if _save(milestone, {"title": title.strip(), "due_date": due_date, "description": description}):
        hooks.engagement_changed(engagement=engagement)
    return milestone


def milestone_locked(milestone: Milestone) -> str | None:
    """Why this milestone cannot be removed, or None: the deliverables under it are facts
    (accepted work stays on the record; others move to another milestone first)."""
    deliverables = list(
        Deliverable.unscoped.filter(milestone=milestone).order_by("due_date", "pk")[:50]
    )
    accepted = next((d for d in deliverables if d.status == S.ACCEPTED), None)
    if accepted is not None:
        return (
            f"“{accepted.title}” under this milestone was accepted: accepted work stays on "
            "the record, so the milestone stays too."
        )
    if deliverables:
        n = len(deliverables)
        return (
            f"{n} deliverable{'s' if n > 1 else ''} under this milestone "
            f"({', '.join('“' + d.title + '”' for d in deliverables[:3])}): move "
            f"{'them' if n > 1 else 'it'} to another milestone or remove "
            f"{'them' if n > 1 else 'it'} first."
        )
    return None


@transaction.atomic
def delete_milestone(*, milestone: Milestone, by: User) -> None:
    """Remove a milestone that holds no deliverables (spend booked on it stays, unassigned)."""
    _remove(milestone, locked=milestone_locked(milestone))


def deliverable_locked(deliverable: Deliverable) -> str | None:
    """Why this deliverable cannot be removed, or None."""
    if deliverable.status == S.ACCEPTED:
        day = timezone.localdate(deliverable.accepted_at) if deliverable.accepted_at else None
        when = f" on {day:%-d %b %Y}" if day else ""
        return f"“{deliverable.title}” was accepted{when}: accepted work stays on the record."
    return None


@transaction.atomic
def delete_deliverable(*, deliverable: Deliverable, by: User, why: str) -> ScopeChange:
    """Remove a deliverable not yet accepted; the removal is recorded as a scope change."""
    engagement = deliverable.engagement
    _check_open(engagement)
    if reason := deliverable_locked(deliverable):
        raise Conflict(reason)
    if not why.strip():
        raise ValidationError({"why": "Say why it is no longer needed: it is a scope change."})
    title = deliverable.title
    deliverable.delete()
    return record_scope_change(
        engagement=engagement, by=by, what_changed=f"Removed the deliverable “{title}”", why=why
    )


def _check_spend(
    engagement: Engagement, *, date: date, amount: Decimal, currency: str, milestone
) -> None:
    """The rules of a spend entry, recorded or corrected."""
    check_values(SpendEntry, date=date, amount=amount)
    try:
        check_happened(date, tz=engagement.org.tzinfo)
    except ValidationError as exc:
        raise ValidationError({"date": exc.messages}) from None
    if amount is None or amount <= 0:
        raise ValidationError({"amount": "Enter an amount above zero."})
    if currency != engagement.currency:
        raise ValidationError(
            {
                "currency": f"The budget is in {engagement.currency}; record spend in "
                f"{engagement.currency} (convert it first)."
            }
        )
    if milestone is not None and milestone.engagement_id != engagement.pk:
        raise ValidationError({"milestone": "Choose a milestone of this engagement."})


@transaction.atomic
def update_spend(
    *,
    entry: SpendEntry,
    by: User,
    date: date,
    amount: Decimal,
    currency: str,
    description: str,
    milestone: Milestone | None = None,
) -> SpendEntry:
    """Correct a spend entry (date, amount, what it paid for, milestone); a day still to
    come is refused as when it was recorded."""
    engagement = entry.engagement
    _check_open(engagement)
    _check_spend(engagement, date=date, amount=amount, currency=currency, milestone=milestone)
    if not description.strip():
        raise ValidationError({"description": "Say what it paid for."})
    changes = {
        "date": date,
        "amount": amount,
        "currency": currency,
        "description": description.strip(),
        "milestone": milestone,
    }
    if _save(entry, changes):
        hooks.engagement_changed(engagement=engagement)
    return entry


@transaction.atomic
def delete_spend(*, entry: SpendEntry, by: User) -> None:
    """Remove a spend entry recorded by mistake."""
    _remove(entry)


def interaction_locked(interaction: Interaction) -> str | None:
    """Why this interaction cannot be changed here, or None."""
    if interaction.source == Source.PORTAL:
        return PORTAL_CHECKIN_MESSAGE
    return None


@transaction.atomic
def update_interaction(
    *,
    interaction: Interaction,
    by: User,
    channel: str,
    direction: str,
    outcome: str,
    occurred_at: datetime,
    comfort: int | None = None,
    response_hours: int | None = None,
    notes: str = "",
) -> Interaction:
    """Correct a logged interaction; a moment still to come is refused as when it was logged."""
    engagement = interaction.engagement
    _check_open(engagement)
    if reason := interaction_locked(interaction):
        raise Conflict(reason)
    if occurred_at is None:
        raise ValidationError({"occurred_at": "When did it happen?"})
    _check_interaction(
        occurred_at=occurred_at,
        channel=channel,
        direction=direction,
        outcome=outcome,
        comfort=comfort,
        response_hours=response_hours,
    )
    changes = {
        "channel": channel,
        "direction": direction,
        "outcome": outcome,
        "occurred_at": occurred_at,
        "comfort": comfort,
        "response_hours": response_hours if outcome == Outcome.ANSWERED else None,
        "notes": notes,
    }
    if _save(interaction, changes):
        hooks.engagement_changed(engagement=engagement)
    return interaction


@transaction.atomic
def delete_interaction(*, interaction: Interaction, by: User) -> None:
    """Remove an interaction logged by mistake (its open question stays, unlinked)."""
    _remove(interaction, locked=interaction_locked(interaction))


@transaction.atomic
def update_exit_criterion(*, criterion: ExitCriterion, by: User, values: dict) -> ExitCriterion:
    """Redraw an exit line (its name, combinator and conditions), validated as when added."""
    engagement = criterion.engagement
    _check_open(engagement)
    clean = exit_criteria.validate(values)
    if _save(criterion, clean):
        hooks.engagement_changed(engagement=engagement)
    return criterion


@transaction.atomic
def delete_exit_criterion(*, criterion: ExitCriterion, by: User) -> None:
    """Remove an exit criterion."""
    _remove(criterion)


# --- work activity (fed by the code forges) --------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """One trace of work to record (``record_activity``)."""

    origin: str  # unique per organization: a redelivered or re-derived event lands once
    kind: str
    occurred_at: datetime
    source: str
    deliverable_id: int | None = None
    repository: str = ""
    ref: str = ""
    title: str = ""
    url: str = ""
    count: int = 1


@transaction.atomic
def record_activity(*, engagement: Engagement, activities: Iterable[Activity]) -> int:
    """Record traces of work on an engagement (once per origin: one seen before is skipped);
    how many were offered.

    Moments in the future (a forge's clock ahead of ours) count as now. One insert and one
    mark for the watcher, however many events a delivery carried."""
    now = timezone.now()
    rows = [
        WorkActivity(
            org_id=engagement.org_id,
            engagement=engagement,
            deliverable_id=a.deliverable_id,
            kind=a.kind if a.kind in ActivityKind.values else ActivityKind.OTHER,
            occurred_at=min(a.occurred_at, now),
            source=a.source[:12],
            repository=a.repository[:200],
            ref=a.ref[:200],
            title=a.title[:300],
            url=a.url[:500] if a.url.startswith(("https://", "http://")) else "",
            count=max(1, min(a.count, 1_000_000)),
            origin=a.origin[:200],
            created_at=now,
        )
        for a in activities
    ]
    if not rows:
        return 0
    WorkActivity.unscoped.bulk_create(rows, ignore_conflicts=True)
    hooks.engagement_changed(engagement=engagement)
    return len(rows)
