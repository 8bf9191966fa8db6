"""Post-mortems and lessons: open (facts frozen), draft together, publish, and bring lessons back.

``open_when_ended`` and ``require_lessons_acknowledged`` receive delivery's status hooks
(registered in ``engagements/wiring.py``): a post-mortem opens when an engagement ends
(cutting losses from an alert goes through the same status change), and a draft engagement
is activated only once the lessons that apply are acknowledged.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from accounts.models import User
from engagements.alerts import services as alert_services
from engagements.alerts.models import AlertEvent
from engagements.delivery.models import (
    Deliverable,
    DeliverableStatus,
    Engagement,
    EngagementStatus,
    EngagementStatusChange,
    SpendEntry,
)
from engagements.postmortems.models import (
    ChecklistItem,
    FailureCategory,
    FailureItem,
    Lesson,
    LessonAcknowledgement,
    LessonRead,
    PostMortem,
    PostMortemComment,
    PostMortemOutcome,
    PostMortemStatus,
)
from engagements.watch.models import EngagementHealth, HealthSnapshot, Level
from vendors.models import (
    Contract,
    ContractDecision,
    Criterion,
    Evidence,
    EvidenceKind,
    Vendor,
    score_field,
)
from vendors.terms import MILESTONES, exit_cost, local_day

BAD_LEVELS = (Level.WARNING, Level.CUT_LOSSES)
DUE_AFTER_DAYS = 14
APPLICABLE_LIMIT = 12
WHY = {
    0: "same vendor",
    1: "same specialty",
    2: "same failure category",
    3: "every engagement",
}
# Lessons about how *we* work apply to every engagement, whichever the vendor: going too soon,
# describing needs poorly, holding on too long, neglecting the relationship. Lessons about the
# vendor choice or its contract (and "other") come back only through a tie to the vendor.
GENERAL_CATEGORIES = (
    FailureCategory.TOO_SOON,
    FailureCategory.POOR_NEEDS,
    FailureCategory.HELD_ON,
    FailureCategory.NEGLECTED,
)
APPLIES_RULE = (
    "Lessons about how we work ("
    + ", ".join(c.label.lower() for c in GENERAL_CATEGORIES)
    + ") apply to every engagement. Lessons about the vendor choice or its contract, and other"
    " lessons, come back for the same vendor, vendors sharing a specialty, or a failure this"
    " vendor's engagements already had."
)
PUBLISHED_MESSAGE = "This post-mortem is published: it is read-only (comments are still welcome)."


# --- facts ------------------------------------------------------------------------------------


def _money(value) -> str:
    return str((value or Decimal("0")).quantize(Decimal("0.01")))


ENDED = [EngagementStatus.COMPLETED, EngagementStatus.TERMINATED]


def _person(row: dict) -> str:
    name = f"{row['by__first_name']} {row['by__last_name']}".strip()
    return name or row["by__email"] or ""


def compute_facts(*, engagement: Engagement) -> dict:
    """The facts of an ended engagement, in ten queries whatever its size (JSON-ready)."""
    burn = (
        Engagement.objects.filter(pk=engagement.pk)
        .with_burn()
        .values("spent", "accepted_value", "planned_value")[0]
    )
    d = Deliverable.unscoped.filter(engagement=engagement).aggregate(
        total=Count("pk"),
        accepted=Count("pk", filter=Q(status=DeliverableStatus.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=DeliverableStatus.REJECTED)),
        submitted=Count("pk", filter=Q(status=DeliverableStatus.SUBMITTED)),
        never_delivered=Count(
            "pk", filter=Q(status__in=[DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS])
        ),
        rejections=Sum("times_rejected"),
    )
    first_bad_day = HealthSnapshot.unscoped.filter(
        engagement=engagement, level__in=BAD_LEVELS
    ).aggregate(first=Min("date"))["first"]
    events = list(
        AlertEvent.unscoped.filter(alert__engagement=engagement, to_level__in=BAD_LEVELS)
        .order_by("at")
        .values("at", "kind", "to_level")
    )
    health = EngagementHealth.unscoped.filter(engagement=engagement).values("signals").first()
    ended = engagement.ended_at or timezone.now()
    first_bad = [e["at"].date() for e in events[:1]] + ([first_bad_day] if first_bad_day else [])
    first_warning = min(first_bad) if first_bad else None
    spent, accepted = burn["spent"], burn["accepted_value"]
    # What holding on cost: the spend dated from the first warning on (the burn's own rule
    # for which entries count: none dated after today).
    spent_after_warning = (
        SpendEntry.unscoped.filter(
            engagement=engagement, date__gte=first_warning, date__lte=timezone.localdate()
        ).aggregate(total=Sum("amount"))["total"]
        if first_warning
        else None
    )
    decision = (
        EngagementStatusChange.unscoped.filter(engagement=engagement, to_status__in=ENDED)
        .order_by("-at", "-pk")
        .values("to_status", "reason", "by__email", "by__first_name", "by__last_name")
        .first()
    )
    return {
        "currency": engagement.currency,
        "budget": _money(engagement.budget),
        "spent": _money(spent),
        "accepted_value": _money(accepted),
        "planned_value": _money(burn["planned_value"]),
        "lost": _money(max(spent - accepted, Decimal("0"))),
        "deliverables": d["total"],
        "accepted": d["accepted"],
        "rejected": d["rejected"],
        "submitted": d["submitted"],  # delivered, never reviewed
        "never_delivered": d["never_delivered"],
        "rejections": d["rejections"] or 0,
        "target_end_date": engagement.target_end_date.isoformat(),
        "ended_on": ended.date().isoformat(),
        "days_over_schedule": max(0, (ended.date() - engagement.target_end_date).days),
        "first_warning_on": first_warning.isoformat() if first_warning else None,
        "days_held_on": (ended.date() - first_warning).days if first_warning else None,
        "spent_after_warning": _money(spent_after_warning) if first_warning else None,
        "ended_as": EngagementStatus(decision["to_status"]).label if decision else "",
        "end_reason": decision["reason"] if decision else "",
        "ended_by": _person(decision) if decision else "",
        "signals": [
            {
                "label": s.get("label", s.get("kind", "")),
                "since": s.get("since"),
                "evidence": s.get("evidence", ""),
            }
            for s in (health["signals"] if health else [])
        ],
        "alert_events": [
            {"at": e["at"].isoformat(), "kind": e["kind"], "level": e["to_level"]} for e in events
        ],
        "contract": _contract_facts(engagement, ended),
    }


def _contract_facts(engagement: Engagement, ended: datetime) -> dict | None:
    """What leaving the contract cost and whether its notice deadline was met: the exit and
    what was still owed on the day the engagement ended (the organization's day), and the
    first decide-by date during the engagement that passed with nobody deciding (the contract
    renewed by itself). Two or three queries; None without a contract."""
    if engagement.contract_id is None:
        return None
    contract = Contract.unscoped.select_related("org").get(pk=engagement.contract_id)
    terms = contract.terms(list(ContractDecision.unscoped.filter(contract=contract)))
    on = local_day(ended, contract.org.tzinfo)
    milestones = (
        alert_services.milestone_payments(engagement.pk) if terms.schedule == MILESTONES else []
    )
    cost = exit_cost(terms, on, milestones=milestones)
    missed = terms.missed_decide_by(engagement.start_date, on + timedelta(days=1))
    return {
        "title": contract.title,
        "currency": contract.currency,
        "exit_on": cost.exit_on.isoformat() if cost.exit_on else None,
        "how": cost.how,
        "exit_cost": _money(cost.still_owed),
        "termination_fee": _money(cost.termination_fee),
        "notice_given_on": terms.notice.on.isoformat() if terms.notice else None,
        "notice_deadline_met": missed is None,
        "missed_decide_by": missed.isoformat() if missed else None,
    }


def default_outcome(*, engagement: Engagement, facts: dict) -> str:
    if engagement.status == EngagementStatus.TERMINATED:
        # Stopped before it ever ran or cost anything: cancelled, not cut losses.
        started = engagement.activated_at or Decimal(facts["spent"])
        return PostMortemOutcome.CUT_LOSSES if started else PostMortemOutcome.CANCELLED
    if facts["deliverables"] and facts["accepted"] == facts["deliverables"]:
        return PostMortemOutcome.DELIVERED
    return PostMortemOutcome.PARTLY


# --- writing a post-mortem --------------------------------------------------------------------


@transaction.atomic
def open_postmortem(*, engagement: Engagement, at: datetime | None = None) -> PostMortem:
    """The engagement's post-mortem, created in draft with frozen facts if it has none yet."""
    existing = PostMortem.unscoped.filter(engagement=engagement).first()
    if existing:
        return existing
    if engagement.status not in (EngagementStatus.COMPLETED, EngagementStatus.TERMINATED):
        raise ValidationError("Only a completed or terminated engagement has a post-mortem.")
    facts = compute_facts(engagement=engagement)
    return PostMortem.unscoped.create(
        org_id=engagement.org_id,
        engagement=engagement,
        outcome=default_outcome(engagement=engagement, facts=facts),
        facts=facts,
        facts_at=at or timezone.now(),
    )


def open_when_ended(
    *, engagement: Engagement, change: EngagementStatusChange, at: datetime
) -> None:
    """The draft post-mortem opens with the end (the receiver of ``delivery.hooks.status_changed``)."""
    if change.to_status in (EngagementStatus.COMPLETED, EngagementStatus.TERMINATED):
        open_postmortem(engagement=engagement, at=at)


def frozen_reason(*, engagement: Engagement) -> str | None:
    """Why an ended engagement's records can no longer change: its post-mortem was published
    with their facts frozen (the receiver of ``delivery.hooks.record_frozen``)."""
    published = (
        PostMortem.unscoped.filter(engagement_id=engagement.pk, status=PostMortemStatus.PUBLISHED)
        .values_list("published_at", flat=True)
        .first()
    )
    if published is None:
        return None
    day = timezone.localdate(published).strftime("%-d %b %Y")
    return (
        f"The post-mortem of this engagement was published on {day} with its facts frozen: "
        "its records can no longer be changed (comment on the post-mortem instead)."
    )


def _require_draft(postmortem: PostMortem) -> None:
    """Re-read the status in the database: a publish in another tab wins over a stale page."""
    if not PostMortem.unscoped.filter(pk=postmortem.pk, status=PostMortemStatus.DRAFT).exists():
        raise ValidationError(PUBLISHED_MESSAGE)


@transaction.atomic
def refresh_facts(*, postmortem: PostMortem) -> PostMortem:
    """Recompute the frozen facts of a draft from today's data."""
    _require_draft(postmortem)
    postmortem.facts = compute_facts(engagement=postmortem.engagement)
    postmortem.facts_at = timezone.now()
    postmortem.save(update_fields=["facts", "facts_at"])
    return postmortem


@transaction.atomic
def update_summary(*, postmortem: PostMortem, outcome: str, went_well: str) -> PostMortem:
    """Change the outcome and "what went well" of a draft."""
    _require_draft(postmortem)
    postmortem.outcome, postmortem.went_well = outcome, went_well.strip()
    postmortem.save(update_fields=["outcome", "went_well"])
    return postmortem


def _next_position(queryset) -> int:
    return (queryset.aggregate(m=Max("position"))["m"] or 0) + 1


def _check_item(text: str, category: str) -> None:
    """The same refusals for a form, the API and a script: a category of ours, some text."""
    errors = {}
    if category not in FailureCategory.values:
        errors["category"] = "Choose one of the listed categories."
    if not text.strip():
        errors["text"] = "Write what happened, in a sentence."
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def add_failure(*, postmortem: PostMortem, text: str, category: str) -> FailureItem:
    """Add one "what went wrong" item to a draft."""
    _require_draft(postmortem)
    _check_item(text, category)
    return FailureItem.unscoped.create(
        org_id=postmortem.org_id,
        postmortem=postmortem,
        text=text.strip(),
        category=category,
        position=_next_position(FailureItem.unscoped.filter(postmortem=postmortem)),
    )


def _index(lesson_ids: list[int]) -> None:
    """Fill the full-text vector of these lessons (PostgreSQL only; set-based)."""
    if connection.vendor == "postgresql":
        Lesson.unscoped.filter(pk__in=lesson_ids).update(
            search=SearchVector("text", weight="A", config="english")
            + SearchVector("tags", weight="B", config="english")
        )


@transaction.atomic
def add_lesson(
    *,
    postmortem: PostMortem,
    text: str,
    category: str,
    tags: str = "",
    vendor: Vendor | None = None,
) -> Lesson:
    """Add one lesson (a short imperative sentence) to a draft; the vendor defaults to its own."""
    _require_draft(postmortem)
    _check_item(text, category)
    lesson = Lesson.unscoped.create(
        org_id=postmortem.org_id,
        postmortem=postmortem,
        vendor=vendor or postmortem.engagement.vendor,
        text=text.strip(),
        category=category,
        tags=", ".join(t.strip() for t in tags.split(",") if t.strip()),
        position=_next_position(Lesson.unscoped.filter(postmortem=postmortem)),
    )
    _index([lesson.pk])
    return lesson


@transaction.atomic
def update_item(*, item: FailureItem | Lesson, text: str, category: str, tags: str = "") -> None:
    """Edit a "what went wrong" item or a lesson of a draft in place."""
    _require_draft(item.postmortem)
    _check_item(text, category)
    item.text, item.category = text.strip(), category
    fields = ["text", "category"]
    if isinstance(item, Lesson):
        item.tags = ", ".join(t.strip() for t in tags.split(",") if t.strip())
        fields.append("tags")
    item.save(update_fields=fields)
    if isinstance(item, Lesson):
        _index([item.pk])


@transaction.atomic
def delete_item(*, item: FailureItem | Lesson) -> dict:
    """Remove a "what went wrong" item or a lesson from a draft; returns what ``restore_item``
    needs to undo it (its text, category, tags and place)."""
    _require_draft(item.postmortem)
    removed = {
        "kind": "lesson" if isinstance(item, Lesson) else "failure",
        "text": item.text,
        "category": item.category,
        "tags": getattr(item, "tags", ""),
        "position": item.position,
    }
    item.delete()
    return removed


@transaction.atomic
def restore_item(
    *, postmortem: PostMortem, kind: str, text: str, category: str, tags: str = "", position: int
) -> FailureItem | Lesson:
    """Undo a removal: the item comes back at its place in the draft (a new row, audited as
    created), with what ``delete_item`` returned."""
    if kind not in ("failure", "lesson"):
        raise ValidationError("Only a “what went wrong” item or a lesson can be restored.")
    item = (
        add_lesson(postmortem=postmortem, text=text, category=category, tags=tags)
        if kind == "lesson"
        else add_failure(postmortem=postmortem, text=text, category=category)
    )
    model = type(item)
    others = list(
        model.unscoped.filter(postmortem_id=postmortem.pk)
        .exclude(pk=item.pk)
        .order_by("position", "pk")
        .values_list("pk", "position")
    )
    ids = [pk for pk, _ in others]
    ids.insert(sum(1 for _, p in others if p < position), item.pk)
    model.unscoped.filter(pk__in=ids).update(
        position=Case(*(When(pk=pk, then=Value(n)) for n, pk in enumerate(ids, 1)))
    )
    item.refresh_from_db(fields=["position"])
    return item


@transaction.atomic
def move_item(*, item: FailureItem | Lesson, up: bool) -> None:
    """Swap an item with its neighbour above or below (positions renumbered set-based)."""
    _require_draft(item.postmortem)
    model = type(item)
    ids = list(
        model.unscoped.filter(postmortem_id=item.postmortem_id)
        .order_by("position", "pk")
        .values_list("pk", flat=True)
    )
    i = ids.index(item.pk)
    j = i - 1 if up else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
        model.unscoped.filter(pk__in=ids).update(
            position=Case(*(When(pk=pk, then=Value(n)) for n, pk in enumerate(ids, 1)))
        )


@transaction.atomic
def publish_postmortem(*, postmortem: PostMortem, by: User) -> PostMortem:
    """Publish a draft (compare-and-set); cut-losses ones need what went wrong and a lesson."""
    if postmortem.outcome == PostMortemOutcome.CUT_LOSSES:
        missing = []
        if not FailureItem.unscoped.filter(postmortem=postmortem).exists():
            missing.append("what went wrong")
        if not Lesson.unscoped.filter(postmortem=postmortem).exists():
            missing.append("at least one lesson")
        if missing:
            raise ValidationError(
                f"A cut-losses post-mortem needs {' and '.join(missing)} before it is published: "
                "there is always something to learn."
            )
    now = timezone.now()
    won = PostMortem.unscoped.filter(pk=postmortem.pk, status=PostMortemStatus.DRAFT).update(
        status=PostMortemStatus.PUBLISHED, published_at=now, published_by=by
    )
    if won != 1:
        raise ValidationError(PUBLISHED_MESSAGE)
    postmortem.status, postmortem.published_at, postmortem.published_by = (
        PostMortemStatus.PUBLISHED,
        now,
        by,
    )
    return postmortem


@transaction.atomic
def add_comment(*, postmortem: PostMortem, by: User, text: str) -> PostMortemComment:
    """Comment on a post-mortem (allowed after publishing too)."""
    return PostMortemComment.unscoped.create(
        org_id=postmortem.org_id, postmortem=postmortem, by=by, text=text.strip()
    )


def postmortems_due(org, at: datetime):
    """Ended ≥ 14 days before ``at`` without a published post-mortem (the dashboard to-do)."""
    cutoff = at - timezone.timedelta(days=DUE_AFTER_DAYS)
    published = PostMortem.unscoped.filter(
        engagement=OuterRef("pk"), status=PostMortemStatus.PUBLISHED
    )
    return (
        Engagement.unscoped.filter(
            org=org,
            status__in=[EngagementStatus.COMPLETED, EngagementStatus.TERMINATED],
            ended_at__lte=cutoff,
        )
        .exclude(Exists(published))
        .select_related("vendor", "postmortem")
        .order_by("ended_at")
    )


# --- lessons: reading, searching, coming back -------------------------------------------------


@transaction.atomic
def mark_lesson_read(*, lesson: Lesson, user: User) -> LessonRead:
    """Record that ``user`` read ``lesson`` (harmless twice)."""
    read, _ = LessonRead.unscoped.get_or_create(
        lesson=lesson, user=user, defaults={"org_id": lesson.org_id}
    )
    return read


def search_lessons(queryset, q: str):
    """Full-text search on PostgreSQL (GIN index, ranked), a case-insensitive match elsewhere."""
    if not q.strip():
        return queryset
    return queryset.matching(q).by_relevance(q)


def applicable_lessons(*, vendor: Vendor, exclude_engagement: Engagement | None = None) -> list:
    """Published lessons that apply to ``vendor``: same vendor, then same specialty, then the
    failure categories this vendor's engagements went wrong in, then the general lessons
    (``GENERAL_CATEGORIES``: they apply to every engagement); one query, ranked by ``why``."""
    specialty = Q()
    for s in vendor.specialty_list:
        specialty |= Q(vendor__specialties__icontains=s)
    own_categories = FailureItem.objects.filter(postmortem__engagement__vendor=vendor).values(
        "category"
    )
    queryset = Lesson.objects.published().select_related("vendor", "postmortem__engagement")
    if exclude_engagement is not None:
        queryset = queryset.exclude(postmortem__engagement=exclude_engagement)
    same_specialty = specialty if vendor.specialty_list else Q(pk__in=[])
    ranked = queryset.annotate(
        why=Case(
            When(vendor=vendor, then=Value(0)),
            When(same_specialty, then=Value(1)),
            When(category__in=own_categories, then=Value(2)),
            When(category__in=GENERAL_CATEGORIES, then=Value(3)),
            default=Value(9),
            output_field=IntegerField(),
        )
    ).filter(why__lt=9)
    lessons = list(ranked.order_by("why", "-created_at")[:APPLICABLE_LIMIT])
    for lesson in lessons:
        lesson.why_label = WHY[lesson.why]
    return lessons


def unacknowledged_lessons(*, engagement: Engagement) -> list:
    """The applicable lessons nobody acknowledged yet for this engagement."""
    acknowledged = set(
        LessonAcknowledgement.unscoped.filter(engagement=engagement).values_list(
            "lesson_id", flat=True
        )
    )
    return [
        lesson
        for lesson in applicable_lessons(vendor=engagement.vendor, exclude_engagement=engagement)
        if lesson.pk not in acknowledged
    ]


def require_lessons_acknowledged(*, engagement: Engagement, to: str) -> None:
    """Refuse the first activation while an applicable lesson is unacknowledged.

    The receiver of ``delivery.hooks.status_changing``.
    """
    if not (engagement.status == EngagementStatus.DRAFT and to == EngagementStatus.ACTIVE):
        return
    missing = unacknowledged_lessons(engagement=engagement)
    if missing:
        raise ValidationError(
            f"Acknowledge the {len(missing)} lesson{'s' if len(missing) != 1 else ''} from past "
            "engagements that apply before activating (see 'Lessons that apply')."
        )


@transaction.atomic
def acknowledge_lesson(
    *, lesson: Lesson, engagement: Engagement, by: User
) -> LessonAcknowledgement:
    """Record that ``by`` read and remembers ``lesson`` for ``engagement`` (harmless twice)."""
    ack, _ = LessonAcknowledgement.unscoped.get_or_create(
        lesson=lesson, engagement=engagement, defaults={"org_id": engagement.org_id, "user": by}
    )
    LessonRead.unscoped.get_or_create(lesson=lesson, user=by, defaults={"org_id": lesson.org_id})
    return ack


@transaction.atomic
def lesson_to_checklist(*, lesson: Lesson, engagement: Engagement, by: User) -> ChecklistItem:
    """Turn a lesson into a checklist item of ``engagement`` (acknowledging it; once per lesson)."""
    acknowledge_lesson(lesson=lesson, engagement=engagement, by=by)
    item, _ = ChecklistItem.unscoped.get_or_create(
        engagement=engagement,
        lesson=lesson,
        defaults={"org_id": engagement.org_id, "text": lesson.text},
    )
    return item


@transaction.atomic
def toggle_checklist_item(*, item: ChecklistItem, done: bool, by: User) -> ChecklistItem:
    """Mark a checklist item done or not done."""
    item.done = done
    item.done_at = timezone.now() if done else None
    item.done_by = by if done else None
    item.save(update_fields=["done", "done_at", "done_by"])
    return item


# --- patterns across post-mortems ---------------------------------------------------------------


@dataclass(frozen=True)
class SignalShare:
    label: str
    with_n: int
    with_cut: int
    without_n: int
    without_cut: int

    @property
    def with_pct(self) -> int | None:
        return round(100 * self.with_cut / self.with_n) if self.with_n else None

    @property
    def without_pct(self) -> int | None:
        return round(100 * self.without_cut / self.without_n) if self.without_n else None


def patterns(*, org) -> dict:
    """What went wrong by category and vendor, money lost, time held on, and which vetting
    signals predicted failure; a fixed number of queries whatever the number of engagements."""
    published = PostMortem.objects.filter(org=org, status=PostMortemStatus.PUBLISHED)
    failures = FailureItem.objects.filter(postmortem__in=published)
    by_category = {
        row["category"]: row["n"]
        for row in failures.values("category").annotate(n=Count("pk")).order_by()
    }
    by_vendor = list(
        failures.values("postmortem__engagement__vendor__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "postmortem__engagement__vendor__name")[:10]
    )
    lost = Decimal("0")
    held: list[int] = []
    for facts, outcome in published.values_list("facts", "outcome"):
        if outcome == PostMortemOutcome.CUT_LOSSES:
            lost += Decimal(facts.get("lost", "0"))
        if facts.get("days_held_on") is not None:
            held.append(facts["days_held_on"])
    # Which vetting signals predicted failure: per ended engagement, whether its vendor had
    # verified evidence of each kind / scoring each criterion before the engagement started.
    before = Evidence.objects.filter(
        vendor=OuterRef("vendor"),
        verified=True,
        deleted_at__isnull=True,
        recorded_at__date__lte=OuterRef("start_date"),
    )
    annotations = {f"k_{k.value}": Exists(before.filter(kind=k)) for k in EvidenceKind}
    annotations |= {
        f"c_{c.value}": Exists(before.filter(**{f"{score_field(c)}__isnull": False}))
        for c in Criterion
    }
    rows = list(
        Engagement.objects.filter(
            org=org, status__in=[EngagementStatus.COMPLETED, EngagementStatus.TERMINATED]
        )
        .annotate(**annotations)
        .values("status", *annotations)
    )
    shares = []
    for key, label in [(f"k_{k.value}", k.label) for k in EvidenceKind] + [
        (f"c_{c.value}", f"Scored on {c.label.lower()}") for c in Criterion
    ]:
        with_rows = [r for r in rows if r[key]]
        without_rows = [r for r in rows if not r[key]]
        shares.append(
            SignalShare(
                label=label,
                with_n=len(with_rows),
                with_cut=sum(r["status"] == EngagementStatus.TERMINATED for r in with_rows),
                without_n=len(without_rows),
                without_cut=sum(r["status"] == EngagementStatus.TERMINATED for r in without_rows),
            )
        )
    return {
        "postmortems": published.count(),
        "ended": len(rows),
        "by_category": [(c.label, by_category.get(c.value, 0)) for c in FailureCategory],
        "by_vendor": [(r["postmortem__engagement__vendor__name"], r["n"]) for r in by_vendor],
        "lost": lost,
        "avg_days_held_on": round(sum(held) / len(held), 1) if held else None,
        "shares": shares,
    }
