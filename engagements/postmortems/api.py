"""/api/v1/postmortems (read) and /api/v1/lessons (list, full-text search) of the token's organization."""

from datetime import datetime

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema

from engagements.postmortems.models import (
    FailureCategory,
    Lesson,
    PostMortem,
    PostMortemOutcome,
    PostMortemStatus,
)
from outsourcing.api import READ_ERRORS, Day, IdParam, ListQuery, Page, Text, list_page

postmortems = Router(tags=["post-mortems"])
lessons = Router(tags=["lessons"])


class FailureOut(Schema):
    text: str
    category: FailureCategory


class LessonOut(Schema):
    id: int
    postmortem_id: int
    engagement_id: int = Field(..., alias="postmortem.engagement_id")
    vendor_id: int | None
    text: str
    category: FailureCategory
    tags: str
    created_at: datetime


class PostMortemOut(Schema):
    id: int
    engagement_id: int
    engagement_title: str = Field(..., alias="engagement.title")
    outcome: PostMortemOutcome
    status: PostMortemStatus
    facts: dict
    went_well: str
    created_at: datetime
    published_at: datetime | None
    failures: list[FailureOut]
    lessons: list[LessonOut]


class PostMortemSummary(Schema):
    id: int
    engagement_id: int
    engagement_title: str = Field(..., alias="engagement.title")
    outcome: PostMortemOutcome
    status: PostMortemStatus
    created_at: datetime
    published_at: datetime | None


class PostMortemPage(Page):
    items: list[PostMortemSummary]


class LessonPage(Page):
    items: list[LessonOut]


class PostMortemFilters(ListQuery):
    status: PostMortemStatus | None = None
    outcome: PostMortemOutcome | None = None


class LessonFilters(ListQuery):
    q: Text(200) = Field("", description="Full-text search (PostgreSQL), words matched elsewhere.")
    category: FailureCategory | None = None
    vendor: IdParam | None = None
    tag: Text(50) = ""
    since: Day | None = Field(None, description="Published on or after this day.")


@postmortems.get("", response={200: PostMortemPage, **READ_ERRORS}, summary="List post-mortems")
def postmortem_list(request, filters: Query[PostMortemFilters]):
    queryset = PostMortem.objects.select_related("engagement")
    return list_page(
        queryset, filters, updated_field="created_at", status="status", outcome="outcome"
    )


@postmortems.get(
    "/{postmortem_id}",
    response={200: PostMortemOut, **READ_ERRORS},
    summary="One post-mortem with its facts, what went wrong and lessons",
)
def postmortem_detail(request, postmortem_id: IdParam):
    # Failures and lessons come from the prefetched relations: three queries in all.
    return get_object_or_404(
        PostMortem.objects.select_related("engagement").prefetch_related(
            "failures", "lessons__postmortem"
        ),
        pk=postmortem_id,
    )


@lessons.get(
    "", response={200: LessonPage, **READ_ERRORS}, summary="List and search published lessons"
)
def lesson_list(request, filters: Query[LessonFilters]):
    # Matching lessons in id (or sync) order, not by relevance: cursors stay valid between pages.
    queryset = (
        Lesson.objects.published()
        .select_related("postmortem")
        .filter_for_list(
            q=filters.q,
            category=filters.category or "",
            vendor=filters.vendor,
            tag=filters.tag,
            since=filters.since,
        )
    )
    return list_page(queryset, filters, updated_field="created_at")
