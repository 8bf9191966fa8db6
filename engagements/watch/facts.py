"""Facts and metric values of engagements as of a moment ``at``, computed set-based.

``collect(at=…)`` reads ALL active engagements (or the given ids) in a fixed number of
queries -- grouped aggregates per table and one window-function query for the comfort
ratings -- never one query per engagement. The warning-sign rules (``engagements.watch.rules``)
read the resulting ``Facts``; ``metrics(facts, at)`` turns them into the values named in
``engagements.exit_criteria.METRICS``.

Everything is "as of ``at``": interactions, spend, questions and acceptances after ``at`` are
ignored, so a sweep recomputed later for a past moment gives the same answer and a missed
sweep costs nothing. (Deliverable *status* is the current one: the rows keep no history of
it beyond their timestamps.) Days are counted in UTC.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts.models import Organization
from engagements.delivery.models import (
    LANDED_KINDS,
    OPENED_KINDS,
    ActivityRule,
    Deliverable,
    DeliverableStatus,
    Direction,
    Engagement,
    EngagementStatus,
    ExitCriterion,
    Interaction,
    OpenQuestion,
    Outcome,
    ScopeChange,
    Side,
    SpendEntry,
    WorkActivity,
)
from vendors.models import REVIEWED_STATUSES, Contract, ContractDecision, Vendor
from vendors.terms import Outlook, Terms, local_day, outlook

RECENT_DAYS = 30  # no-shows and unanswered messages count over this window
SCOPE_LOOKBACK_DAYS = 366  # longest scope-change window an engagement may set
ACTIVITY_LOOKBACK_DAYS = 366  # code activity older than this says nothing about today
TWO_WAY = (Outcome.HELD, Outcome.ANSWERED)


@dataclass
class Facts:
    """What the rules know about one engagement as of ``at`` (raw aggregates, no verdicts)."""

    engagement_id: int
    org_id: int
    vendor_id: int
    owner_id: int
    title: str
    budget: Decimal
    start_date: date
    target_end_date: date
    baseline: datetime  # when watching started: activation, else the start date
    settings: dict[str, int]
    last_two_way_at: datetime | None = None
    vendor_no_shows: int = 0
    we_no_shows: int = 0
    unanswered_ours: int = 0
    oldest_unanswered_ours: datetime | None = None
    newest_unanswered_ours: datetime | None = None
    comfort_last: list[int] = field(default_factory=list)  # newest first, up to 5
    comfort_before: list[int] = field(default_factory=list)  # the 5 before those
    planned_value: Decimal = Decimal("0")
    accepted_value: Decimal = Decimal("0")
    due_value: Decimal = Decimal("0")  # of deliverables whose due date has passed
    due_open: int = 0  # deliverables past their due date, not accepted
    due_open_value: Decimal = Decimal("0")
    last_accepted_at: datetime | None = None
    without_criteria: int = 0
    rejected_twice: int = 0  # ever (the exit-criteria metric)
    rejected_twice_open: int = 0  # and still not accepted (the stalled-deliverable rule)
    submitted_waiting: int = 0
    oldest_submitted_at: datetime | None = None
    newest_submitted_at: datetime | None = None
    in_progress_overdue: int = 0
    oldest_in_progress_due: date | None = None
    late_milestones: int = 0
    oldest_late_milestone_due: date | None = None
    spent: Decimal = Decimal("0")
    vendor_questions_asked: list[datetime] = field(default_factory=list)  # owed by us, open
    scope_changes: list[datetime] = field(default_factory=list)
    exit_criteria: list[dict] = field(default_factory=list)
    vendor_needs_review: bool = False
    # For the deadline (``engagements.watch.deadlines``): when what is counted "as of at" moves.
    oldest_vendor_no_show: datetime | None = None  # within the recent window
    oldest_we_no_show: datetime | None = None
    next_due: date | None = None  # the next due date not passed yet (deliverable or milestone)
    future_at: datetime | None = None  # the earliest row dated after ``at`` (clock slack)
    vendor_next_review: date | None = None  # the day the vendor's review falls due, if later
    # Code activity (``WorkActivity``, fed by the forges through delivery), as of ``at``.
    activity_tracked: bool = False  # a deliverable rule, or activity within the lookback
    last_activity_at: datetime | None = None  # within the lookback
    activity_recent: int = 0  # traces of work within the recent window
    opened_recent: int = 0  # merge requests and issues opened within it
    landed_recent: int = 0  # merged, released or closed within it
    oldest_recent_activity: datetime | None = None  # when the recent counts next drop
    # Open work a rule ties to activity (in progress, or rejected and due again):
    # (silent since: its last activity, the rule's start or its last status change, whichever
    # is latest; what its rules name; its title; rejected?), oldest first.
    tracked_work: list[tuple[datetime, str, str, bool]] = field(default_factory=list)
    reworked_after_rejection: int = 0  # rejected deliverables with activity since
    # The contract the engagement runs under, as seen on the organization's day of ``at``.
    contract_id: int | None = None
    contract_title: str = ""
    contract: Terms | None = None  # with its decisions
    contract_outlook: Outlook | None = None
    tz: tzinfo | None = None  # the organization's time zone (set with a contract only)


IdRange = tuple[int | None, int | None]  # engagement ids lo..hi, inclusive; None: unbounded


def in_range(queryset, id_range: IdRange | None, key: str = "engagement_id"):
    """Rows whose engagement id lies in ``id_range`` (a chunk of a full sweep)."""
    lo, hi = id_range or (None, None)
    if lo is not None:
        queryset = queryset.filter(**{f"{key}__gte": lo})
    if hi is not None:
        queryset = queryset.filter(**{f"{key}__lte": hi})
    return queryset


def scoped(queryset, engagement_ids, id_range=None, *, key: str = "engagement_id"):
    """The given engagements' rows (any status), else the active ones' within ``id_range``."""
    if engagement_ids is not None:
        return queryset.filter(**{f"{key}__any_of": engagement_ids})
    status = "status" if key == "pk" else "engagement__status"
    return in_range(queryset.filter(**{status: EngagementStatus.ACTIVE}), id_range, key)


def _aware(value: date) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min), timezone.UTC)


def collect(
    *, at: datetime, engagement_ids: list[int] | None = None, id_range: IdRange | None = None
) -> dict[int, Facts]:
    """Facts as of ``at`` of every active engagement (within ``id_range``, a chunk of a full
    sweep), or of ``engagement_ids`` whatever their status: ~10 queries."""
    today = at.date()
    recent = at - timedelta(days=RECENT_DAYS)
    engagements = scoped(Engagement.unscoped.all(), engagement_ids, id_range, key="pk")
    facts: dict[int, Facts] = {}
    for row in engagements.values(
        "pk",
        "org_id",
        "vendor_id",
        "owner_id",
        "title",
        "budget",
        "start_date",
        "target_end_date",
        "activated_at",
        "contract_id",
        *Engagement.WATCH_FIELDS,
    ):
        facts[row["pk"]] = Facts(
            engagement_id=row["pk"],
            org_id=row["org_id"],
            vendor_id=row["vendor_id"],
            owner_id=row["owner_id"],
            title=row["title"],
            budget=row["budget"],
            start_date=row["start_date"],
            target_end_date=row["target_end_date"],
            baseline=row["activated_at"] or _aware(row["start_date"]),
            settings={name: row[name] for name in Engagement.WATCH_FIELDS},
            contract_id=row["contract_id"],
        )
    if not facts:
        return facts

    interactions = scoped(Interaction.unscoped.all(), engagement_ids, id_range)
    past = Q(occurred_at__lte=at)
    vendor_no_show = past & Q(outcome=Outcome.VENDOR_NO_SHOW, occurred_at__gte=recent)
    we_no_show = past & Q(outcome=Outcome.WE_NO_SHOW, occurred_at__gte=recent)
    unanswered = past & _unanswered_ours(recent)
    for row in interactions.values("engagement_id").annotate(
        last_two_way=Max("occurred_at", filter=past & Q(outcome__in=TWO_WAY)),
        vendor_no_shows=Count("pk", filter=vendor_no_show),
        oldest_vendor_no_show=Min("occurred_at", filter=vendor_no_show),
        we_no_shows=Count("pk", filter=we_no_show),
        oldest_we_no_show=Min("occurred_at", filter=we_no_show),
        unanswered=Count("pk", filter=unanswered),
        oldest_unanswered=Min("occurred_at", filter=unanswered),
        newest_unanswered=Max("occurred_at", filter=unanswered),
        future=Min("occurred_at", filter=Q(occurred_at__gt=at)),
    ):
        f = facts.get(row["engagement_id"])
        if f:
            f.oldest_vendor_no_show = row["oldest_vendor_no_show"]
            f.oldest_we_no_show = row["oldest_we_no_show"]
            f.future_at = row["future"]
            f.last_two_way_at = row["last_two_way"]
            f.vendor_no_shows = row["vendor_no_shows"]
            f.we_no_shows = row["we_no_shows"]
            f.unanswered_ours = row["unanswered"]
            f.oldest_unanswered_ours = row["oldest_unanswered"]
            f.newest_unanswered_ours = row["newest_unanswered"]

    for engagement_id, rank, comfort in _comfort_windows(at, engagement_ids, id_range):
        f = facts.get(engagement_id)
        if f:
            (f.comfort_last if rank <= 5 else f.comfort_before).append(comfort)

    not_accepted = ~Q(status=DeliverableStatus.ACCEPTED)
    late = not_accepted & Q(milestone__due_date__lt=today)
    for row in (
        scoped(Deliverable.unscoped.all(), engagement_ids, id_range)
        .values("engagement_id")
        .annotate(
            planned=Sum("value"),
            accepted=Sum("value", filter=Q(status=DeliverableStatus.ACCEPTED)),
            due=Sum("value", filter=Q(due_date__lt=today)),
            due_open=Count("pk", filter=not_accepted & Q(due_date__lt=today)),
            due_open_value=Sum("value", filter=not_accepted & Q(due_date__lt=today)),
            last_accepted=Max("accepted_at", filter=Q(accepted_at__lte=at)),
            without_criteria=Count("pk", filter=not_accepted & Q(acceptance_criteria="")),
            rejected_twice=Count("pk", filter=Q(times_rejected__gte=2)),
            rejected_twice_open=Count("pk", filter=not_accepted & Q(times_rejected__gte=2)),
            submitted=Count("pk", filter=Q(status=DeliverableStatus.SUBMITTED)),
            oldest_submitted=Min("submitted_at", filter=Q(status=DeliverableStatus.SUBMITTED)),
            newest_submitted=Max("submitted_at", filter=Q(status=DeliverableStatus.SUBMITTED)),
            in_progress_overdue=Count(
                "pk", filter=Q(status=DeliverableStatus.IN_PROGRESS, due_date__lt=today)
            ),
            oldest_in_progress_due=Min(
                "due_date", filter=Q(status=DeliverableStatus.IN_PROGRESS, due_date__lt=today)
            ),
            late_milestones=Count("milestone_id", filter=late, distinct=True),
            oldest_late_due=Min("milestone__due_date", filter=late),
            next_due=Min("due_date", filter=Q(due_date__gte=today)),
            next_milestone_due=Min(
                "milestone__due_date", filter=not_accepted & Q(milestone__due_date__gte=today)
            ),
            future_accepted=Min("accepted_at", filter=Q(accepted_at__gt=at)),
        )
    ):
        f = facts.get(row["engagement_id"])
        if f:
            f.planned_value = row["planned"] or Decimal("0")
            f.accepted_value = row["accepted"] or Decimal("0")
            f.due_value = row["due"] or Decimal("0")
            f.due_open = row["due_open"]
            f.due_open_value = row["due_open_value"] or Decimal("0")
            f.last_accepted_at = row["last_accepted"]
            f.without_criteria = row["without_criteria"]
            f.rejected_twice = row["rejected_twice"]
            f.rejected_twice_open = row["rejected_twice_open"]
            f.submitted_waiting = row["submitted"]
            f.oldest_submitted_at = row["oldest_submitted"]
            f.newest_submitted_at = row["newest_submitted"]
            f.in_progress_overdue = row["in_progress_overdue"]
            f.oldest_in_progress_due = row["oldest_in_progress_due"]
            f.late_milestones = row["late_milestones"]
            f.oldest_late_milestone_due = row["oldest_late_due"]
            f.next_due = _earliest(row["next_due"], row["next_milestone_due"])
            f.future_at = _earliest(f.future_at, row["future_accepted"])

    for row in (
        scoped(SpendEntry.unscoped.all(), engagement_ids, id_range)
        .values("engagement_id")
        .annotate(
            spent=Sum("amount", filter=Q(date__lte=today)),
            future=Min("date", filter=Q(date__gt=today)),
        )
    ):
        f = facts.get(row["engagement_id"])
        if f:
            f.spent = row["spent"] or Decimal("0")
            if row["future"]:
                f.future_at = _earliest(f.future_at, _aware(row["future"]))

    # Rows dated after ``at`` (a few minutes' clock slack) count later: their moment is a deadline.
    questions = OpenQuestion.unscoped.filter(owed_by=Side.US).filter(
        Q(answered_at__isnull=True) | Q(answered_at__gt=at)
    )
    for engagement_id, asked_at, answered_at in scoped(
        questions, engagement_ids, id_range
    ).values_list("engagement_id", "asked_at", "answered_at"):
        if f := facts.get(engagement_id):
            if asked_at <= at:
                f.vendor_questions_asked.append(asked_at)
            f.future_at = _earliest(f.future_at, asked_at if asked_at > at else answered_at)

    changes = ScopeChange.unscoped.filter(at__gt=at - timedelta(days=SCOPE_LOOKBACK_DAYS))
    for engagement_id, changed_at in scoped(changes, engagement_ids, id_range).values_list(
        "engagement_id", "at"
    ):
        if f := facts.get(engagement_id):
            if changed_at <= at:
                f.scope_changes.append(changed_at)
            else:
                f.future_at = _earliest(f.future_at, changed_at)

    for row in scoped(ExitCriterion.unscoped.all(), engagement_ids, id_range).values(
        "engagement_id", "label", "combinator", "conditions"
    ):
        if row["engagement_id"] in facts:
            facts[row["engagement_id"]].exit_criteria.append(row)

    _activity(facts, at, engagement_ids, id_range)

    # Vendor.objects: inside a request it is scoped to the engagement's own organization.
    vendors = {
        row["pk"]: row
        for row in Vendor.objects.filter(pk__in={f.vendor_id for f in facts.values()})
        .with_review_flag(at)
        .annotate(
            next_expiry=Min(
                "evidence__expires_on",
                filter=Q(evidence__deleted_at__isnull=True, evidence__expires_on__gt=today),
            )
        )
        .values("pk", "needs_review", "review_due_on", "status", "next_expiry")
    }
    for f in facts.values():
        if row := vendors.get(f.vendor_id):
            f.vendor_needs_review = bool(row["needs_review"])
            if row["status"] in REVIEWED_STATUSES:
                due = row["review_due_on"] if (row["review_due_on"] or today) > today else None
                f.vendor_next_review = _earliest(due, row["next_expiry"])
    _contracts(facts, at)
    return facts


def _activity(facts: dict[int, Facts], at: datetime, engagement_ids, id_range) -> None:
    """Code activity: per engagement (last, recent counts), and per deliverable a rule ties to
    activity (when its silence started): two queries."""
    recent = Q(occurred_at__gte=at - timedelta(days=RECENT_DAYS), occurred_at__lte=at)
    activities = WorkActivity.unscoped.filter(
        occurred_at__gte=at - timedelta(days=ACTIVITY_LOOKBACK_DAYS)
    )
    for row in (
        scoped(activities, engagement_ids, id_range)
        .values("engagement_id")
        .annotate(
            last=Max("occurred_at", filter=Q(occurred_at__lte=at)),
            recent=Count("pk", filter=recent),
            opened=Count("pk", filter=recent & Q(kind__in=OPENED_KINDS)),
            landed=Count("pk", filter=recent & Q(kind__in=LANDED_KINDS)),
            oldest_recent=Min("occurred_at", filter=recent),
            future=Min("occurred_at", filter=Q(occurred_at__gt=at)),
        )
    ):
        if f := facts.get(row["engagement_id"]):
            f.activity_tracked = f.activity_tracked or row["last"] is not None
            f.last_activity_at = row["last"]
            f.activity_recent = row["recent"]
            f.opened_recent = row["opened"]
            f.landed_recent = row["landed"]
            f.oldest_recent_activity = row["oldest_recent"]
            f.future_at = _earliest(f.future_at, row["future"])
    # Uses activity_deliverable_idx: the newest trace of each ruled deliverable as of ``at``.
    last_on_it = (
        WorkActivity.unscoped.filter(deliverable_id=OuterRef("deliverable_id"), occurred_at__lte=at)
        .order_by("-occurred_at")
        .values("occurred_at")[:1]
    )
    work: dict[int, dict] = {}
    for row in (
        scoped(ActivityRule.unscoped.all(), engagement_ids, id_range)
        .annotate(last=Subquery(last_on_it))
        .order_by("deliverable_id", "pk")
        .values(
            "engagement_id",
            "deliverable_id",
            "match",
            "pattern",
            "created_at",
            "last",
            "deliverable__title",
            "deliverable__status",
            "deliverable__status_changed_at",
        )
    ):
        f = facts.get(row["engagement_id"])
        if f is None:
            continue
        f.activity_tracked = True
        status = row["deliverable__status"]
        if status not in (DeliverableStatus.IN_PROGRESS, DeliverableStatus.REJECTED):
            continue
        w = work.setdefault(
            row["deliverable_id"],
            {
                "f": f,
                "since": row["deliverable__status_changed_at"],
                "last": row["last"],
                "labels": [],
                "title": row["deliverable__title"],
                "rejected": status == DeliverableStatus.REJECTED,
            },
        )
        w["since"] = max(w["since"], row["created_at"])
        w["labels"].append(ActivityRule(match=row["match"], pattern=row["pattern"]).label)
    for w in work.values():
        f, last = w["f"], w["last"]
        if w["rejected"] and last is not None and last > w["since"]:
            f.reworked_after_rejection += 1
        since = max(w["since"], last) if last else w["since"]
        f.tracked_work.append((since, " or ".join(w["labels"]), w["title"], w["rejected"]))
    for f in facts.values():
        f.tracked_work.sort()


def _contracts(facts: dict[int, Facts], at: datetime) -> None:
    """The contracts of the engagements, with their decisions, on each organization's own day
    (a decide-by date passes at midnight where the organization is): three queries, none
    when no engagement runs under a contract."""
    ids = {f.contract_id for f in facts.values() if f.contract_id}
    if not ids:
        return
    contracts = {c.pk: c for c in Contract.unscoped.filter(pk__in=ids)}
    decisions: dict[int, list[ContractDecision]] = {}
    for d in ContractDecision.unscoped.filter(contract_id__in=ids).order_by("at", "pk"):
        decisions.setdefault(d.contract_id, []).append(d)
    zones = dict(
        Organization.objects.filter(pk__in={c.org_id for c in contracts.values()}).values_list(
            "pk", "time_zone"
        )
    )
    for f in facts.values():
        contract = contracts.get(f.contract_id)
        if contract is None:
            continue
        f.tz = ZoneInfo(zones.get(contract.org_id) or "UTC")
        f.contract_title = contract.title
        f.contract = contract.terms(decisions.get(contract.pk, []))
        f.contract_outlook = outlook(f.contract, local_day(at, f.tz))


def _earliest(*values):
    """The earliest of the values that are set (dates with dates, moments with moments)."""
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _unanswered_ours(since: datetime) -> Q:
    return Q(outcome=Outcome.UNANSWERED, direction=Direction.WE_TO_VENDOR, occurred_at__gte=since)


def _comfort_windows(at: datetime, engagement_ids: list[int] | None, id_range: IdRange | None):
    """(engagement_id, rank, comfort) for the 10 newest rated interactions of each engagement.

    One window-function query over the whole table (the ORM cannot filter on a window
    function and group in one statement); uses ``interaction_when_idx``.
    """
    interaction = Interaction._meta.db_table
    engagement = Engagement._meta.db_table
    params: list = [at]
    if engagement_ids is None:
        scope = f"JOIN {engagement} e ON e.id = i.engagement_id AND e.status = %s"
        params.insert(0, EngagementStatus.ACTIVE.value)
        where = ""
        lo, hi = id_range or (None, None)
        if lo is not None:
            where += " AND i.engagement_id >= %s"
            params.append(lo)
        if hi is not None:
            where += " AND i.engagement_id <= %s"
            params.append(hi)
    else:
        scope = ""
        where = f"AND i.engagement_id IN ({', '.join(['%s'] * len(engagement_ids))})"
        params.extend(engagement_ids)
    sql = f"""
        SELECT engagement_id, rn, comfort FROM (
            SELECT i.engagement_id, i.comfort,
                   ROW_NUMBER() OVER (PARTITION BY i.engagement_id
                                      ORDER BY i.occurred_at DESC, i.id DESC) AS rn
            FROM {interaction} i {scope}
            WHERE i.comfort IS NOT NULL AND i.occurred_at <= %s {where}
        ) ranked
        WHERE rn <= 10
        ORDER BY engagement_id, rn
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        yield from cursor.fetchall()


def _days(later: datetime, earlier: datetime | None) -> int:
    return 0 if earlier is None else max(0, (later - earlier).days)


def milestone_days_late(f: Facts, at: datetime) -> int:
    """How late the oldest milestone with work not accepted is (0: none is late).

    The one computation behind the no-results sign's "the oldest N days late", the exit
    criteria's ``max_milestone_days_late`` and the cut-your-losses summary's days late."""
    return (at.date() - f.oldest_late_milestone_due).days if f.oldest_late_milestone_due else 0


def metrics(f: Facts, at: datetime) -> dict[str, float | None]:
    """The values of ``exit_criteria.METRICS`` for one engagement's facts."""
    window = timedelta(hours=f.settings["response_window_hours"])
    return {
        "days_since_held_contact": float(_days(at, f.last_two_way_at or f.baseline)),
        "max_milestone_days_late": float(milestone_days_late(f, at)),
        "budget_spent_pct": float(f.spent / f.budget * 100) if f.budget else None,
        "accepted_value_pct": (
            float(f.accepted_value / f.planned_value * 100) if f.planned_value else None
        ),
        "deliverables_rejected_twice": float(f.rejected_twice),
        "comfort_avg_last_5": (
            sum(f.comfort_last) / len(f.comfort_last) if f.comfort_last else None
        ),
        "days_without_acceptance": float(_days(at, f.last_accepted_at or f.baseline)),
        "unanswered_vendor_questions": float(
            sum(1 for asked in f.vendor_questions_asked if at - asked > window)
        ),
    }


def for_engagement(engagement: Engagement, at: datetime) -> dict[str, float | None]:
    """One engagement's metric values as of ``at`` (a constant number of queries)."""
    return metrics(collect(at=at, engagement_ids=[engagement.pk])[engagement.pk], at)


def metrics_now(*, engagement: Engagement) -> dict[str, float | None]:
    """One engagement's metric values now (the receiver of ``delivery.hooks.engagement_metrics``)."""
    return for_engagement(engagement, timezone.now())
