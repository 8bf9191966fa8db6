"""The engagement page's context: what each region shows, in a fixed number of queries.

Used by delivery's views and by the concerns above that answer a region of this page
(the vendor portal's links); they add their own part through ``hooks.engagement_page``.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Sum
from django.db.models.functions import TruncDate
from django.http import HttpRequest
from django.utils import timezone

from engagements.delivery import exit_criteria, hooks, services, svg
from engagements.delivery.forms import (
    BriefForm,
    DeliverableForm,
    ExitCriterionForm,
    InteractionForm,
    MilestoneForm,
    ReadinessOverrideForm,
    RiskForm,
    ScopeChangeForm,
    SpendForm,
    StatusForm,
    WatchSettingsForm,
)
from engagements.delivery.models import (
    Deliverable,
    DeliverableStatus,
    Engagement,
    EngagementStatus,
    Interaction,
    Milestone,
    OpenQuestion,
    ReadinessCheck,
    Risk,
    ScopeChange,
    SpendEntry,
    WorkActivity,
)

PAGE = "engagements/engagement_detail.html"
INTERACTIONS_PER_PAGE = 20
SPEND_PER_PAGE = 20
SCOPE_CHANGES_PER_PAGE = 20


def engagement_metrics(engagement: Engagement) -> dict[str, float | None] | None:
    """The exit-criteria metric values of one engagement now, from the health watcher's facts
    (the same numbers the sweep judges the criteria by), through ``hooks.engagement_metrics``."""
    for values in hooks.engagement_metrics(engagement=engagement):
        return values
    return None


def page_context(request: HttpRequest, engagement: Engagement, **overrides) -> dict:
    """Everything the engagement page shows, in a fixed number of queries."""
    today = timezone.localdate()
    context = {"engagement": engagement, "today": today}
    for build in BUILDERS.values():
        context.update(build(request, engagement, today, overrides))
    # Each chart twice, wide and narrow (a phone): the page shows one by a media query.
    context["timeline_svg"], context["timeline_svg_narrow"] = (
        svg.timeline(
            engagement=engagement, milestones=context["milestones"], today=today, layout=layout
        )
        for layout in (svg.WIDE, svg.NARROW)
    )
    spend_by_date = list(
        SpendEntry.objects.filter(engagement=engagement)
        .order_by()
        .values_list("date")
        .annotate(total=Sum("amount"))
    )
    accepted_by_date = [
        (timezone.localdate(d.accepted_at), d.value)
        for m in context["milestones"]
        for d in m.deliverables.all()
        if d.status == DeliverableStatus.ACCEPTED and d.accepted_at
    ]
    context["burn_svg_narrow"] = svg.burn_chart(
        engagement=engagement,
        spend_by_date=spend_by_date,
        accepted_by_date=accepted_by_date,
        today=today,
        layout=svg.NARROW,
    )
    context["burn_svg"] = svg.burn_chart(
        engagement=engagement,
        spend_by_date=spend_by_date,
        accepted_by_date=accepted_by_date,
        today=today,
    )
    context.update(overrides)
    return context


def region_context(request: HttpRequest, engagement: Engagement, region: str, **overrides) -> dict:
    """What one region shows (with the header, which a write may swap out of band), not the
    whole page: an htmx write costs the queries of the region it swaps."""
    today = timezone.localdate()
    context = {"engagement": engagement, "today": today}
    for name in ("engagement-header", region, *OUT_OF_BAND.get(region, ())):
        context.update(BUILDERS[name](request, engagement, today, overrides))
    context.update(overrides)
    return context


def context_for(request: HttpRequest, engagement: Engagement, **overrides) -> dict:
    """The region htmx targets (``outsourcing.htmx.render`` renders only that partial), or
    the whole page for anything else."""
    htmx = getattr(request, "htmx", None)
    target = htmx.target if htmx and not htmx.history_restore_request else None
    if target in REGIONS:
        return region_context(request, engagement, target, **overrides)
    return page_context(request, engagement, **overrides)


# A write to the first region changes the others too: htmx swaps them out of band.
OUT_OF_BAND = {"delivery-timeline": ("scope-changes",)}


def _header(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        "readiness": _readiness(engagement),
        "burn": services.Burn(
            budget=engagement.budget,
            spent=engagement.spent,
            planned_value=engagement.planned_value,
            accepted_value=engagement.accepted_value,
        ),
        "status_changes": engagement.status_changes.select_related("by")[:10],
        "next_steps": [
            EngagementStatus(s) for s in services.ENGAGEMENT_TRANSITIONS[engagement.status]
        ],
        "frozen": services.frozen_reason(engagement),  # a published post-mortem froze it
        # The contract's decide-by date on the organization's day (its decisions: one query).
        "contract_outlook": engagement.contract.outlook(today) if engagement.contract else None,
        "status_form": StatusForm(),
        "override_form": ReadinessOverrideForm(),
    }


def _delivery_timeline(request, engagement: Engagement, today, overrides: dict) -> dict:
    milestones = list(
        Milestone.objects.filter(engagement=engagement).prefetch_related(
            Prefetch("deliverables", queryset=Deliverable.objects.order_by("due_date", "pk"))
        )
    )
    deliverables = [d for m in milestones for d in m.deliverables.all()]
    refused_pk, refused_data = overrides.pop("edit_values", (None, {}))
    for d in deliverables:
        d.next_steps = [DeliverableStatus(s) for s in services.DELIVERABLE_TRANSITIONS[d.status]]
        d.is_overdue = d.status != DeliverableStatus.ACCEPTED and d.due_date < today
        # The "change scope" form: what is saved, or what the person typed if it was refused.
        d.edit = {
            "title": d.title,
            "milestone": str(d.milestone_id),
            "due_date": d.due_date.isoformat(),
            "value": str(d.value),
            "acceptance_criteria": d.acceptance_criteria,
            "why": "",
        }
        if d.pk == refused_pk:
            d.edit.update({k: refused_data.get(k, "") for k in d.edit})
    return {
        "milestones": milestones,
        "deliverable_count": len(deliverables),
        "overdue_count": sum(d.is_overdue for d in deliverables),
        "milestone_form": MilestoneForm(),
        "deliverable_form": DeliverableForm(engagement=engagement),
    }


def _interactions(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        "interactions": Paginator(
            Interaction.objects.filter(engagement=engagement).select_related("logged_by"),
            INTERACTIONS_PER_PAGE,
        ).get_page(request.GET.get("page")),
        "open_questions": OpenQuestion.objects.filter(
            engagement=engagement, answered_at__isnull=True
        ).order_by("asked_at")[:50],
        "answered_questions": OpenQuestion.objects.filter(
            engagement=engagement, answered_at__isnull=False
        ).order_by("-answered_at")[:5],
        "interaction_form": InteractionForm(),
    }


@dataclass
class Slice:
    """One page of a list, newest first, read without a COUNT: the row after the page says
    whether an older page exists."""

    rows: list
    number: int
    has_next: bool

    def __iter__(self):
        return iter(self.rows)

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def page_slice(queryset, number: str | None, per_page: int) -> Slice:
    try:
        page = min(max(1, int(number or 1)), 100_000)  # junk or a huge number: a page that exists
    except ValueError:
        page = 1
    start = (page - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    return Slice(rows=rows[:per_page], number=page, has_next=len(rows) > per_page)


def _spend(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        # Every entry can be reached (and corrected): twenty a page, older ones behind "Older"
        # (scope changes too).
        "spend_entries": page_slice(
            SpendEntry.objects.filter(engagement=engagement).select_related("milestone"),
            request.GET.get("spend_page"),
            SPEND_PER_PAGE,
        ),
        "spend_form": SpendForm(
            engagement=engagement, initial={"date": today, "currency": engagement.currency}
        ),
    }


def _exit_criteria(request, engagement: Engagement, today, overrides: dict) -> dict:
    criteria = list(engagement.exit_criteria.all())
    metrics = overrides.pop("metrics", None)
    if metrics is None and criteria:
        # The live metric values (ten queries) show only here, beside the criteria: none
        # drawn, none read.
        metrics = engagement_metrics(engagement)
    return {
        "exit_criteria": [
            (
                c,
                exit_criteria.evaluate(_criterion(c), metrics) if metrics is not None else None,
                [_condition_text(cond) for cond in c.conditions],
            )
            for c in criteria
        ],
        "criterion_form": ExitCriterionForm(),
    }


def _risks(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        "risks": Risk.objects.filter(engagement=engagement).select_related("owner"),
        "risk_form": RiskForm(org=request.org),
    }


def _scope_changes(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        "scope_changes": page_slice(
            ScopeChange.objects.filter(engagement=engagement).select_related("by", "deliverable"),
            request.GET.get("scope_page"),
            SCOPE_CHANGES_PER_PAGE,
        ),
        "scope_form": ScopeChangeForm(),
    }


def _watch_settings(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {"watch_form": WatchSettingsForm(initial=engagement.watch_settings())}


def _brief(request, engagement: Engagement, today, overrides: dict) -> dict:
    return {
        "brief_form": BriefForm(
            initial={
                "vision": engagement.vision,
                "short_term_goals": engagement.short_term_goals,
                "long_term_goals": engagement.long_term_goals,
                "shared": engagement.brief_shared_at is not None,
            }
        )
    }


def _portal_access(request, engagement: Engagement, today, overrides: dict) -> dict:
    context = {}
    for extra in hooks.engagement_page(request=request, engagement=engagement):
        context.update(extra)  # the regions of the concerns above (the vendor portal's links)
    return context


def activity_by_day(engagement_ids, today, days: int = svg.SPARK_DAYS) -> dict[int, dict]:
    """{engagement id: {day: traces of work}} over the last ``days`` days, in the current time
    zone (the organization's): one grouped query, however many engagements."""
    since = timezone.make_aware(datetime.combine(today - timedelta(days=days - 1), time.min))
    found: dict[int, dict] = {}
    for row in (
        WorkActivity.objects.filter(engagement_id__in=engagement_ids, occurred_at__gte=since)
        .annotate(day=TruncDate("occurred_at"))
        .order_by()
        .values("engagement_id", "day")
        .annotate(n=Count("pk"))
    ):
        found.setdefault(row["engagement_id"], {})[row["day"]] = row["n"]
    return found


def _code_activity(request, engagement: Engagement, today, overrides: dict) -> dict:
    counts = activity_by_day([engagement.pk], today).get(engagement.pk, {})
    context = {
        "activity_spark": svg.activity_spark(counts, today, width=300, height=40),
        "recent_activity": WorkActivity.objects.filter(engagement=engagement).select_related(
            "deliverable"
        )[:8],
    }
    for extra in hooks.activity_page(request=request, engagement=engagement):
        context.update(extra)  # the forges' mapping and its forms
    return context


# What each region of the page shows, built on its own (``REGIONS`` are these names).
BUILDERS = {
    "engagement-header": _header,
    "delivery-timeline": _delivery_timeline,
    "interactions": _interactions,
    "spend": _spend,
    "exit-criteria": _exit_criteria,
    "risks": _risks,
    "scope-changes": _scope_changes,
    "watch-settings": _watch_settings,
    "brief": _brief,
    "portal-access": _portal_access,
    "code-activity": _code_activity,
}
REGIONS = tuple(BUILDERS)


def _readiness(engagement: Engagement) -> ReadinessCheck | None:
    try:
        return engagement.readiness
    except ReadinessCheck.DoesNotExist:
        return None


def _condition_text(condition: dict) -> str:
    metric = exit_criteria.METRICS.get(condition.get("metric"))
    label = metric.label if metric else condition.get("metric")
    return f"{label} {condition.get('op')} {float(condition.get('value', 0)):g}"


def _criterion(c) -> dict:
    return {"label": c.label, "combinator": c.combinator, "conditions": c.conditions}
