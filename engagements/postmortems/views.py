"""Post-mortems (draft together, publish, export) and lessons (list, search, patterns, and the
panels that bring them back on the vendor page and the engagement set-up)."""

from functools import partial

from django.db.models import Count, Exists, OuterRef
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe

from accounts.decorators import allow_viewer, manager_required, member_required, owner_required
from accounts.models import Membership
from engagements.delivery.models import Engagement
from engagements.postmortems import report, services
from engagements.postmortems.forms import (
    CommentForm,
    FailureForm,
    LessonFilterForm,
    LessonForm,
    MoveForm,
    SummaryForm,
    ToggleForm,
    WhatIfForm,
)
from engagements.postmortems.models import (
    ChecklistItem,
    FailureCategory,
    FailureItem,
    Lesson,
    LessonAcknowledgement,
    LessonRead,
    PostMortem,
)
from outsourcing.exports import csv_writer
from outsourcing.htmx import WriteView, answer_write, render
from outsourcing.redirects import redirect_back
from outsourcing.validation import parse_id
from vendors.models import Vendor

PAGE = "engagements/postmortem_detail.html"
PANELS = "engagements/lesson_panels.html"
REGIONS = ("pm-header", "pm-facts", "pm-summary", "pm-failures", "pm-lessons", "pm-comments")
NEWEST_LESSONS = 10
LESSONS_PER_PAGE = 50


def _context(request: HttpRequest, postmortem: PostMortem, **extra) -> dict:
    """Everything the post-mortem page shows, in a fixed number of queries."""
    engagement = postmortem.engagement
    return {
        "pm": postmortem,
        "engagement": engagement,
        "facts": postmortem.facts,
        "failures": list(postmortem.failures.all()),
        "lessons": list(postmortem.lessons.select_related("vendor")),
        "comments": list(postmortem.comments.select_related("by")),
        "checklist": list(ChecklistItem.objects.filter(engagement=engagement)),
        "can_write": request.membership.has_role("manager") and not postmortem.is_published,
        "can_publish": request.membership.has_role("owner") and not postmortem.is_published,
        "can_comment": request.membership.has_role("manager"),
        "summary_form": SummaryForm(
            initial={"outcome": postmortem.outcome, "went_well": postmortem.went_well}
        ),
        "failure_form": FailureForm(),
        "lesson_form": LessonForm(),
        "comment_form": CommentForm(),
        "categories": FailureCategory.choices,
        **extra,
    }


def _show(request: HttpRequest, pk: int, **extra) -> HttpResponse:
    """The post-mortem page after a write: the region htmx targets, the whole page otherwise."""
    postmortem = PostMortem.objects.for_detail().get(pk=pk)
    return render(request, PAGE, _context(request, postmortem, **extra), partials=REGIONS)


def _region(request: HttpRequest, postmortem: PostMortem, region: str) -> dict:
    """``answer_write``'s answers for a write to one region of the post-mortem page: the region
    (htmx) or the page at that region (a plain post)."""
    return {
        "show": partial(_show, request, postmortem.pk),
        "done": reverse("engagements:postmortem_detail", args=[postmortem.pk]) + f"#{region}",
    }


class RegionWrite(WriteView):
    """A manager's write to one region of the post-mortem page (``region``): the region (htmx)
    or, for a plain post, the page at that region."""

    role = staticmethod(manager_required)
    model = PostMortem
    region = ""

    def get_queryset(self):
        return PostMortem.objects.for_detail()

    def show(self, **context) -> HttpResponse:
        return _show(self.request, self.object.pk, **context)

    def done(self, result) -> str:
        pk = self.object.pk
        return reverse("engagements:postmortem_detail", args=[pk]) + f"#{self.region}"


def _postmortem(pk: int) -> PostMortem:
    return get_object_or_404(PostMortem.objects.for_detail(), pk=pk)


# --- the post-mortem page ----------------------------------------------------------------------


@require_safe
@member_required
def postmortem_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The post-mortem: frozen facts, what went wrong, what went well, lessons, the checklist."""
    postmortem = _postmortem(pk)
    return render(request, PAGE, _context(request, postmortem), partials=REGIONS)


@require_safe
@member_required
def postmortem_markdown(request: HttpRequest, pk: int) -> HttpResponse:
    """The post-mortem as a Markdown download."""
    postmortem = _postmortem(pk)
    text = render_to_string("engagements/postmortem_export.md", _context(request, postmortem))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="postmortem-{postmortem.pk}.md"'
    return response


# Change the outcome and what went well (draft only).
postmortem_summary = RegionWrite.as_view(
    form_class=SummaryForm, service=services.update_summary, region="pm-summary"
)

# Recompute the frozen facts from today's data (draft only).
postmortem_refresh = RegionWrite.as_view(
    service=services.refresh_facts, form_name="refresh_form", region="pm-facts"
)

# Publish the post-mortem (owners); from then on it is read-only except for comments.
postmortem_publish = RegionWrite.as_view(
    role=owner_required,
    service=services.publish_postmortem,
    by=True,
    form_name="publish_form",
    region="pm-header",
)

# Comment on a post-mortem, draft or published.
postmortem_comment = RegionWrite.as_view(
    form_class=CommentForm, service=services.add_comment, by=True, region="pm-comments"
)

# Add a "what went wrong" item.
failure_create = RegionWrite.as_view(
    form_class=FailureForm, service=services.add_failure, region="pm-failures"
)

# Add a lesson (its vendor is the engagement's).
lesson_create = RegionWrite.as_view(
    form_class=LessonForm, service=services.add_lesson, region="pm-lessons"
)


ITEMS = {
    "failure": (FailureItem, FailureForm, "pm-failures"),
    "lesson": (Lesson, LessonForm, "pm-lessons"),
}


def _item_action(request: HttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    model, form_class, region = ITEMS[kind]
    item = get_object_or_404(model.objects.select_related("postmortem"), pk=pk)
    form = {"edit": form_class, "move": MoveForm, "delete": Form}[action](request.POST)
    call = {
        "edit": lambda: services.update_item(item=item, **form.cleaned_data),
        "move": lambda: services.move_item(item=item, up=form.cleaned_data["direction"] == "up"),
        "delete": lambda: services.delete_item(item=item),
    }[action]
    return answer_write(
        request,
        form,
        call,
        refused=lambda form: {"item_form": form, "item_pk": item.pk},
        **_region(request, item.postmortem, region),
    )


@require_POST
@manager_required
def failure_edit(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Edit, move (up/down) or delete a "what went wrong" item of a draft."""
    return _item_action(request, "failure", pk, action)


@require_POST
@manager_required
def lesson_edit(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Edit, move (up/down) or delete a lesson of a draft."""
    return _item_action(request, "lesson", pk, action)


# --- lessons list, read marks, export, patterns -------------------------------------------------


def _filtered_lessons(form: LessonFilterForm):
    lessons = Lesson.objects.published().for_list()
    if not form.is_valid():
        return lessons.order_by("-created_at")
    data = form.cleaned_data
    return lessons.filter_for_list(**data).by_relevance(data["q"])


@require_safe
@member_required
def lesson_list(request: HttpRequest) -> HttpResponse:
    """Every lesson of the organization: search, filters, read marks, who has not read the newest."""
    form = LessonFilterForm(request.GET or None)
    lessons = _filtered_lessons(form).annotate(
        read_by_me=Exists(LessonRead.objects.filter(lesson=OuterRef("pk"), user=request.user))
    )
    total = lessons.count()
    newest = list(
        Lesson.objects.published()
        .order_by("-created_at")
        .values_list("pk", flat=True)[:NEWEST_LESSONS]
    )
    members = Membership.objects.filter(org=request.org).select_related("user")
    reads = (
        LessonRead.objects.filter(lesson_id__in=newest).values("user_id").annotate(n=Count("pk"))
    )
    read_counts = {r["user_id"]: r["n"] for r in reads}
    behind = [
        (m.user, len(newest) - read_counts.get(m.user_id, 0))
        for m in members
        if read_counts.get(m.user_id, 0) < len(newest)
    ]
    context = {
        "form": form,
        "lessons": list(lessons[:LESSONS_PER_PAGE]),
        "total": total,
        "behind": behind,
        "newest_n": len(newest),
    }
    return render(request, "engagements/lesson_list.html", context, partials=["lesson-results"])


@require_POST
@allow_viewer
@member_required
def lesson_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a lesson as read by me (viewers too: it changes only their own read mark)."""
    lesson = get_object_or_404(Lesson.objects.published(), pk=pk)
    services.mark_lesson_read(lesson=lesson, user=request.user)
    if request.htmx:
        # What htmx swaps into the lesson's ``#read-<pk>`` mark.
        return TemplateResponse(request, "engagements/lesson_list.html#read-badge", {})
    return redirect_back(request, reverse("engagements:lesson_list"))


@require_safe
@member_required
def lesson_export(request: HttpRequest) -> HttpResponse:
    """The (filtered) lessons list as CSV."""
    lessons = _filtered_lessons(LessonFilterForm(request.GET or None))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lessons.csv"'
    writer = csv_writer(response)
    writer.writerow(["lesson", "category", "tags", "vendor", "engagement", "published", "link"])
    for lesson in lessons.iterator(chunk_size=2000):
        writer.writerow(
            [
                lesson.text,
                lesson.get_category_display(),
                lesson.tags,
                lesson.vendor.name if lesson.vendor else "",
                lesson.postmortem.engagement.title,
                lesson.created_at.date().isoformat(),
                request.build_absolute_uri(
                    reverse("engagements:postmortem_detail", args=[lesson.postmortem_id])
                ),
            ]
        )
    return response


@require_safe
@member_required
def lesson_patterns(request: HttpRequest) -> HttpResponse:
    """Across all published post-mortems: what went wrong, money lost, and which vetting
    signals predicted failure."""
    data = services.patterns(org=request.org)
    chart = svg_bars(data["by_category"])
    return render(request, "engagements/lesson_patterns.html", {**data, "chart": chart})


@require_safe
@manager_required
def watcher_report(request: HttpRequest) -> HttpResponse:
    """How the watcher would have judged our ended engagements, today and with other
    thresholds ("what if", a GET: nothing is saved). Owners and managers: they set the
    thresholds and act on the alerts; viewers read the engagements themselves."""
    form = WhatIfForm(request.GET or None)
    data = report.watcher_report(org=request.org, whatif=form.scenario())
    context = {"form": form, **data}
    return render(request, "engagements/watcher_report.html", context, partials=["watcher-report"])


def svg_bars(rows: list[tuple[str, int]], width: int = 560, bar: int = 22) -> dict:
    """Horizontal bars as plain numbers for the template's SVG (no style attributes)."""
    top = max((n for _, n in rows), default=0) or 1
    label_w = 230
    return {
        "width": width,
        "height": len(rows) * (bar + 8) + 4,
        "bars": [
            {
                "label": label,
                "n": n,
                "y": i * (bar + 8) + 2,
                "ty": i * (bar + 8) + 2 + bar * 0.7,
                "w": round((width - label_w - 40) * n / top),
                "x": label_w,
                "nx": label_w + round((width - label_w - 40) * n / top) + 6,
            }
            for i, (label, n) in enumerate(rows)
        ],
        "bar": bar,
    }


# --- lessons coming back: vendor page, set-up, engagement page, dashboard -------------------------


@require_safe
@member_required
def vendor_lessons(request: HttpRequest, pk: int) -> HttpResponse:
    """The vendor page's "Lessons that apply" (an htmx fragment; a page of its own without JS)."""
    vendor = get_object_or_404(Vendor.objects, pk=pk)
    lessons = services.applicable_lessons(vendor=vendor)
    context = {"vendor": vendor, "lessons": lessons, "why": services.WHY}
    return render(request, PANELS, context | {"page": "vendor"}, partials=["vendor-lessons"])


@require_safe
@member_required
def setup_lessons(request: HttpRequest) -> HttpResponse:
    """Lessons that apply to the vendor chosen on /engagements/new/ (?vendor=<id>)."""
    vendor_id = parse_id(request.GET.get("vendor"))  # junk such as "²" or 10**20 is no vendor
    vendor = Vendor.objects.filter(pk=vendor_id).first() if vendor_id else None
    lessons = services.applicable_lessons(vendor=vendor) if vendor else []
    context = {"vendor": vendor, "lessons": lessons, "why": services.WHY, "page": "setup"}
    return render(request, PANELS, context, partials=["setup-lessons"])


def _engagement_lessons(request: HttpRequest, engagement: Engagement, **extra) -> HttpResponse:
    acks = {
        a.lesson_id: a
        for a in LessonAcknowledgement.objects.filter(engagement=engagement).select_related("user")
    }
    lessons = services.applicable_lessons(vendor=engagement.vendor, exclude_engagement=engagement)
    for lesson in lessons:
        lesson.ack = acks.get(lesson.pk)
    context = {
        "engagement": engagement,
        "lessons": lessons,
        "why": services.WHY,
        "checklist": list(
            ChecklistItem.objects.filter(engagement=engagement).select_related("done_by")
        ),
        "on_checklist": set(
            ChecklistItem.objects.filter(engagement=engagement).values_list("lesson_id", flat=True)
        ),
        "can_write": request.membership.has_role("manager"),
        "page": "engagement",
        **extra,
    }
    return render(request, PANELS, context, partials=["engagement-lessons"])


@require_safe
@member_required
def engagement_lessons(request: HttpRequest, pk: int) -> HttpResponse:
    """The engagement page's lessons and checklist region (htmx fragment; a page without JS)."""
    engagement = get_object_or_404(Engagement.objects.select_related("vendor"), pk=pk)
    return _engagement_lessons(request, engagement)


def _lesson_step(request: HttpRequest, pk: int, lesson_pk: int, call) -> HttpResponse:
    engagement = get_object_or_404(Engagement.objects.select_related("vendor"), pk=pk)
    lesson = get_object_or_404(Lesson.objects.published(), pk=lesson_pk)
    call(lesson=lesson, engagement=engagement, by=request.user)
    if not request.htmx:
        return redirect(reverse("engagements:engagement_detail", args=[pk]) + "#engagement-lessons")
    return _engagement_lessons(request, engagement)


@require_POST
@manager_required
def lesson_acknowledge(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    """Record that I read and remember this lesson for this engagement."""
    return _lesson_step(request, pk, lesson_pk, services.acknowledge_lesson)


@require_POST
@manager_required
def lesson_checklist(request: HttpRequest, pk: int, lesson_pk: int) -> HttpResponse:
    """Turn a lesson into a checklist item of this engagement."""
    return _lesson_step(request, pk, lesson_pk, services.lesson_to_checklist)


@require_POST
@manager_required
def checklist_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a checklist item done or not done."""
    item = get_object_or_404(ChecklistItem.objects.select_related("engagement__vendor"), pk=pk)
    form = ToggleForm(request.POST)
    if form.is_valid():
        services.toggle_checklist_item(item=item, done=form.cleaned_data["done"], by=request.user)
    if not request.htmx:
        return redirect(
            reverse("engagements:engagement_detail", args=[item.engagement_id])
            + "#engagement-lessons"
        )
    return _engagement_lessons(request, item.engagement)


@require_safe
@member_required
def postmortems_due(request: HttpRequest) -> HttpResponse:
    """The dashboard to-do: engagements that ended ≥ 14 days ago without a published post-mortem."""
    due = list(services.postmortems_due(request.org, timezone.now()))
    return render(request, PANELS, {"due": due, "page": "due"}, partials=["postmortems-due"])


@require_safe
@member_required
def engagement_postmortem(request: HttpRequest, pk: int) -> HttpResponse:
    """From an ended engagement to its post-mortem."""
    postmortem = get_object_or_404(PostMortem.objects, engagement_id=pk)
    return redirect("engagements:postmortem_detail", pk=postmortem.pk)
