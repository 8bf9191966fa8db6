"""Post-mortems and lessons: what an ended engagement cost, what went wrong, what we learned.

A ``PostMortem`` freezes the facts of its engagement when it is opened (``facts``, JSON) so
later data changes do not rewrite history; people add what went wrong (``FailureItem``), what
went well and ``Lesson`` rows. Lessons come back when the next vendor is chosen: a new
engagement must acknowledge every applicable lesson (``LessonAcknowledgement``) before it is
activated and may turn any of them into a ``ChecklistItem``.
"""

import re

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVectorField
from django.db import connection, models
from django.db.models import F, Q
from django.utils import timezone

from accounts.tenancy import TenantManager, TenantModel, TenantQuerySet
from engagements.delivery.models import Engagement

__all__ = [
    "ChecklistItem",
    "FailureCategory",
    "FailureItem",
    "Lesson",
    "LessonAcknowledgement",
    "LessonRead",
    "PostMortem",
    "PostMortemComment",
    "PostMortemOutcome",
    "PostMortemStatus",
]

User = settings.AUTH_USER_MODEL
# A lesson is a short imperative sentence; longer ones are accepted but flagged.
LESSON_FLAG_CHARS = 200


class FailureCategory(models.TextChoices):
    TOO_SOON = "too_soon", "Unclear goal / too soon"
    POOR_NEEDS = "poor_needs", "Poor description of needs"
    WRONG_VENDOR = "wrong_vendor", "Wrong vendor or weak contract"
    HELD_ON = "held_on", "Held on too long"
    NEGLECTED = "neglected", "Relationship neglected"
    OTHER = "other", "Other"


class PostMortemOutcome(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    PARTLY = "partly", "Partly delivered"
    CUT_LOSSES = "cut_losses", "Cut losses"
    CANCELLED = "cancelled", "Cancelled"


class PostMortemStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


class PostMortemQuerySet(TenantQuerySet):
    def for_detail(self) -> "PostMortemQuerySet":
        return self.select_related("engagement", "engagement__vendor", "published_by")


class PostMortem(TenantModel):
    """The review of one ended engagement; read-only (except comments) once published."""

    engagement = models.OneToOneField(
        Engagement, on_delete=models.CASCADE, related_name="postmortem"
    )
    outcome = models.CharField(max_length=12, choices=PostMortemOutcome.choices)
    status = models.CharField(
        max_length=10, choices=PostMortemStatus.choices, default=PostMortemStatus.DRAFT
    )
    facts = models.JSONField(default=dict)  # frozen at creation; "refresh facts" while in draft
    facts_at = models.DateTimeField(default=timezone.now)
    went_well = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = TenantManager.from_queryset(PostMortemQuerySet)()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=PostMortemStatus.values), name="postmortem_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=PostMortemOutcome.values), name="postmortem_outcome_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=PostMortemStatus.DRAFT, published_at__isnull=True)
                | Q(status=PostMortemStatus.PUBLISHED, published_at__isnull=False),
                name="postmortem_published_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"Post-mortem of {self.engagement}"

    @property
    def is_published(self) -> bool:
        return self.status == PostMortemStatus.PUBLISHED


class FailureItem(TenantModel):
    """One thing that went wrong, tagged with a failure category."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="failures")
    text = models.TextField()
    category = models.CharField(max_length=14, choices=FailureCategory.choices)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=FailureCategory.values), name="failure_category_valid"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="failure_text_not_empty"),
        ]


# One term of a web search: an optional "-", then a "quoted phrase" (closed or not) or a word.
_TERM = re.compile(r'(-?)"([^"]*)"?|(\S+)')


def websearch_terms(q: str) -> list[list[tuple[bool, str]]]:
    """``q`` in PostgreSQL's web-search syntax as OR-groups of (negated, text) terms.

    ``'"second rejection" -trial or cadence'`` → ``[[(False, "second rejection"),
    (True, "trial")], [(False, "cadence")]]``. Empty phrases and a lone "-" are dropped.
    """
    groups: list[list[tuple[bool, str]]] = [[]]
    for match in _TERM.finditer(q):
        minus, phrase, word = match.groups()
        if word is not None and word.lower() == "or":
            if groups[-1]:
                groups.append([])
            continue
        negated = bool(minus) if phrase is not None else word.startswith("-")
        text = " ".join(phrase.split()) if phrase is not None else word.lstrip("-")
        if text:
            groups[-1].append((negated, text))
    return [group for group in groups if group]


def websearch_condition(q: str, *, fields: tuple[str, ...]) -> Q:
    """The SQLite stand-in for ``websearch_to_tsquery``: each term a case-insensitive
    substring of one of ``fields`` (a phrase as written), negated terms absent from all."""
    condition = Q(pk__in=[])
    for group in websearch_terms(q):
        both = Q()
        for negated, text in group:
            found = Q()
            for name in fields:
                found |= Q(**{f"{name}__icontains": text})
            both &= ~found if negated else found
        condition |= both
    return condition


class LessonQuerySet(TenantQuerySet):
    def for_list(self) -> "LessonQuerySet":
        return self.select_related("vendor", "postmortem", "postmortem__engagement")

    def published(self) -> "LessonQuerySet":
        return self.filter(postmortem__status=PostMortemStatus.PUBLISHED)

    def filter_for_list(
        self, *, q: str = "", category: str = "", vendor=None, tag: str = "", since=None
    ) -> "LessonQuerySet":
        """The lesson list's filters, the same on the lessons page and in the API: words
        (``matching``), a failure category, a vendor (a row or its id), a tag, published on
        or after the day ``since``; empty ones do nothing."""
        queryset = self
        if category:
            queryset = queryset.filter(category=category)
        if vendor:
            queryset = queryset.filter(vendor=vendor)
        if tag := tag.strip():
            queryset = queryset.filter(tags__icontains=tag)
        if since:
            queryset = queryset.filter(created_at__date__gte=since)
        return queryset.matching(q)

    def matching(self, q: str) -> "LessonQuerySet":
        """Lessons matching ``q`` in the web-search syntax people type: words (all of them),
        a "quoted phrase" (those words in that order), ``-word`` (without it) and ``or``.

        PostgreSQL: full text (``websearch_to_tsquery``, stemmed; the GIN index on ``search``).
        Elsewhere (SQLite): the same syntax as case-insensitive substrings of the text or the
        tags, so a phrase is matched as written. A blank ``q`` matches every lesson.
        """
        if not (q := q.strip()):
            return self
        if connection.vendor == "postgresql":
            return self.filter(search=SearchQuery(q, config="english", search_type="websearch"))
        return self.filter(websearch_condition(q, fields=("text", "tags")))

    def by_relevance(self, q: str) -> "LessonQuerySet":
        """Best match first for the words ``q`` on PostgreSQL, else (and without words) newest first."""
        if (q := q.strip()) and connection.vendor == "postgresql":
            query = SearchQuery(q, config="english", search_type="websearch")
            return self.annotate(rank=SearchRank(F("search"), query)).order_by(
                "-rank", "-created_at"
            )
        return self.order_by("-created_at")


class Lesson(TenantModel):
    """A short imperative sentence learned from an engagement, with a category and tags."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="lessons")
    vendor = models.ForeignKey(
        "vendors.Vendor", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    category = models.CharField(max_length=14, choices=FailureCategory.choices)
    tags = models.CharField(max_length=200, blank=True, help_text="Comma-separated.")
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # Filled by the lesson services on PostgreSQL only (GIN index added by migration 0004's
    # RunSQL there); SQLite searches with icontains. Used by LessonQuerySet.matching.
    search = SearchVectorField(null=True, editable=False)

    objects = TenantManager.from_queryset(LessonQuerySet)()

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["org", "created_at"], name="lesson_org_created_idx")]
        constraints = [
            # Lessons come back by category when the next vendor is chosen: never a stray one.
            models.CheckConstraint(
                condition=Q(category__in=FailureCategory.values), name="lesson_category_valid"
            ),
            models.CheckConstraint(condition=~Q(text=""), name="lesson_text_not_empty"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_long(self) -> bool:
        """Longer than a sentence or two: accepted but flagged."""
        return len(self.text) > LESSON_FLAG_CHARS or self.text.count(". ") >= 2

    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.split(",") if t.strip()]


class LessonRead(TenantModel):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lesson", "user"], name="lesson_read_once_per_user")
        ]


class LessonAcknowledgement(TenantModel):
    """Someone read an applicable lesson while setting up an engagement: who, when."""

    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="acknowledgements")
    engagement = models.ForeignKey(
        Engagement, on_delete=models.CASCADE, related_name="lesson_acknowledgements"
    )
    user = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["lesson", "engagement"], name="lesson_ack_once_per_engagement"
            )
        ]


class ChecklistItem(TenantModel):
    """Something to do in an engagement, often a lesson turned into an action."""

    engagement = models.ForeignKey(Engagement, on_delete=models.CASCADE, related_name="checklist")
    lesson = models.ForeignKey(
        Lesson, on_delete=models.SET_NULL, null=True, blank=True, related_name="checklist_items"
    )
    text = models.TextField()
    done = models.BooleanField(default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["engagement", "lesson"],
                condition=Q(lesson__isnull=False),
                name="checklist_one_item_per_lesson",
            )
        ]


class PostMortemComment(TenantModel):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="comments")
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    text = models.TextField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "pk"]
