from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from engagements.delivery import services as delivery
from engagements.models import (
    DeliverableStatus,
    EngagementStatus,
    HealthSnapshot,
    Lesson,
    LessonAcknowledgement,
    PostMortem,
    PostMortemStatus,
)
from engagements.postmortems import services
from tests.factories import DeliverableFactory, EngagementFactory, SpendEntryFactory, VendorFactory
from vendors.models import VendorStatus

from .conftest import ended_engagement, published_lesson

pytestmark = pytest.mark.django_db


def test_cutting_losses_opens_a_draft_post_mortem_with_the_facts_filled_in(owner):
    engagement = EngagementFactory(org=owner.org, budget=Decimal("50000"))
    DeliverableFactory(
        milestone__engagement=engagement, status=DeliverableStatus.ACCEPTED, value=Decimal("6000")
    )
    DeliverableFactory(
        milestone__engagement=engagement, status=DeliverableStatus.REJECTED, times_rejected=2
    )
    DeliverableFactory(milestone__engagement=engagement, status=DeliverableStatus.PLANNED)
    SpendEntryFactory(engagement=engagement, amount=Decimal("40000"))
    HealthSnapshot.objects.create(
        org=owner.org, engagement=engagement, date=timezone.localdate() - timezone.timedelta(days=9),
        score=40, level="warning",
    )  # fmt: skip

    delivery.change_engagement_status(
        engagement=engagement, to=EngagementStatus.TERMINATED, by=owner.user, reason="No results."
    )

    pm = PostMortem.objects.get(engagement=engagement)
    assert pm.status == PostMortemStatus.DRAFT and pm.outcome == "cut_losses"
    facts = pm.facts
    assert facts["spent"] == "40000.00" and facts["budget"] == "50000.00"
    assert facts["accepted_value"] == "6000.00" and facts["lost"] == "34000.00"
    assert (facts["accepted"], facts["rejected"], facts["never_delivered"]) == (1, 1, 1)
    assert facts["rejections"] == 2
    assert facts["days_held_on"] == 9


def test_facts_are_frozen_until_refreshed_while_in_draft(owner, postmortem):
    SpendEntryFactory(engagement=postmortem.engagement, amount=Decimal("999"))
    assert PostMortem.objects.get(pk=postmortem.pk).facts["spent"] == "0.00"
    services.refresh_facts(postmortem=postmortem)
    assert PostMortem.objects.get(pk=postmortem.pk).facts["spent"] == "999.00"


def test_completing_an_engagement_with_everything_accepted_is_delivered(owner):
    engagement = EngagementFactory(org=owner.org)
    DeliverableFactory(milestone__engagement=engagement, status=DeliverableStatus.ACCEPTED)
    delivery.change_engagement_status(
        engagement=engagement, to=EngagementStatus.COMPLETED, by=owner.user
    )
    assert PostMortem.objects.get(engagement=engagement).outcome == "delivered"


def test_opening_twice_returns_the_same_post_mortem(postmortem):
    assert services.open_postmortem(engagement=postmortem.engagement).pk == postmortem.pk


def test_a_cut_losses_post_mortem_without_what_went_wrong_and_lessons_is_not_published(
    owner, postmortem
):
    with pytest.raises(ValidationError, match="what went wrong and at least one lesson"):
        services.publish_postmortem(postmortem=postmortem, by=owner.user)
    assert PostMortem.objects.get(pk=postmortem.pk).status == PostMortemStatus.DRAFT


def test_a_published_post_mortem_refuses_every_edit_but_takes_comments(owner, postmortem):
    services.add_failure(postmortem=postmortem, text="Held on.", category="held_on")
    lesson = services.add_lesson(
        postmortem=postmortem, text="Stop at the first exit line.", category="held_on"
    )
    services.publish_postmortem(postmortem=postmortem, by=owner.user)
    with pytest.raises(ValidationError, match="read-only"):
        services.add_lesson(postmortem=postmortem, text="More.", category="other")
    with pytest.raises(ValidationError, match="read-only"):
        services.update_item(
            item=Lesson.objects.get(pk=lesson.pk), text="Changed", category="other"
        )
    with pytest.raises(ValidationError, match="read-only"):
        services.publish_postmortem(postmortem=postmortem, by=owner.user)
    services.add_comment(postmortem=postmortem, by=owner.user, text="Agreed.")
    assert postmortem.comments.count() == 1


def test_the_database_refuses_a_published_post_mortem_without_a_time(postmortem):
    with pytest.raises(IntegrityError):
        PostMortem.objects.filter(pk=postmortem.pk).update(status=PostMortemStatus.PUBLISHED)


def test_a_lesson_or_failure_needs_one_of_our_categories_and_some_text(postmortem):
    """A stray category would never come back when the next vendor is chosen."""
    with pytest.raises(ValidationError) as refused:
        services.add_lesson(postmortem=postmortem, text="  ", category="bad-luck")
    assert set(refused.value.message_dict) == {"category", "text"}
    with pytest.raises(ValidationError):
        services.add_failure(postmortem=postmortem, text="Slipped", category="bad-luck")
    lesson = services.add_lesson(postmortem=postmortem, text="Call references", category="other")
    with pytest.raises(ValidationError):
        services.update_item(item=lesson, text="Call references", category="")
    assert not postmortem.failures.exists()
    # And the database itself, for whatever bypasses the services.
    with pytest.raises(IntegrityError), transaction.atomic():
        Lesson.objects.filter(pk=lesson.pk).update(category="bad-luck")


def test_items_reorder_in_place(postmortem):
    a = services.add_failure(postmortem=postmortem, text="A", category="other")
    b = services.add_failure(postmortem=postmortem, text="B", category="other")
    services.move_item(item=b, up=True)
    assert list(postmortem.failures.values_list("text", flat=True)) == ["B", "A"]
    services.delete_item(item=a)
    assert list(postmortem.failures.values_list("text", flat=True)) == ["B"]


def test_a_long_lesson_is_accepted_but_flagged(postmortem):
    lesson = services.add_lesson(
        postmortem=postmortem,
        text="Do this. Then that. And then also the other thing.",
        category="other",
    )
    assert lesson.is_long
    assert not services.add_lesson(
        postmortem=postmortem, text="Check references.", category="other"
    ).is_long


def test_lessons_apply_same_vendor_first_then_same_specialty_then_failure_category(owner):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="design, web")
    cousin = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="Web")
    stranger = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="law")
    same_category = published_lesson(
        owner.org, owner.user, vendor=stranger, text="C", category="wrong_vendor"
    )
    by_specialty = published_lesson(
        owner.org, owner.user, vendor=cousin, text="B", category="other"
    )
    own = published_lesson(owner.org, owner.user, vendor=vendor, text="A", category="wrong_vendor")
    unrelated = published_lesson(owner.org, owner.user, vendor=stranger, text="D", category="other")
    general = published_lesson(
        owner.org, owner.user, vendor=stranger, text="E", category="neglected"
    )
    lessons = services.applicable_lessons(vendor=vendor)
    assert [lesson.pk for lesson in lessons] == [
        own.pk,
        by_specialty.pk,
        same_category.pk,
        general.pk,
    ]
    assert unrelated.pk not in [lesson.pk for lesson in lessons]
    assert [lesson.why_label for lesson in lessons] == [
        "same vendor",
        "same specialty",
        "same failure category",
        "every engagement",
    ]


def test_a_new_vendor_with_other_specialties_still_gets_the_lessons_about_how_we_work(owner):
    old_hand = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="design")
    newcomer = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE, specialties="legal")
    general = {
        category: published_lesson(
            owner.org, owner.user, vendor=old_hand, text=f"About {category}.", category=category
        )
        for category in ("too_soon", "poor_needs", "held_on", "neglected")
    }
    vendor_specific = published_lesson(
        owner.org, owner.user, vendor=old_hand, text="Ask for a design trial.",
        category="wrong_vendor",
    )  # fmt: skip
    lessons = services.applicable_lessons(vendor=newcomer)
    assert {lesson.pk for lesson in lessons} == {lesson.pk for lesson in general.values()}
    assert {lesson.why_label for lesson in lessons} == {"every engagement"}
    assert vendor_specific.pk not in {lesson.pk for lesson in lessons}


def test_activation_is_refused_until_every_applicable_lesson_is_acknowledged(owner, manager):
    vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    lesson = published_lesson(owner.org, owner.user, vendor=vendor)
    draft = EngagementFactory(org=owner.org, vendor=vendor, status=EngagementStatus.DRAFT)
    delivery.record_readiness(
        engagement=draft, by=manager.user, has_concrete_target=True, need_is_specific=True,
        money_alternative="Hire", internal_owner="Ann", owner_hours_per_week=4,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="Acknowledge the 1 lesson"):
        delivery.change_engagement_status(
            engagement=draft, to=EngagementStatus.ACTIVE, by=manager.user
        )
    item = services.lesson_to_checklist(lesson=lesson, engagement=draft, by=manager.user)
    assert LessonAcknowledgement.objects.filter(
        lesson=lesson, engagement=draft, user=manager.user
    ).exists()
    assert item.text == lesson.text and not item.done
    delivery.change_engagement_status(engagement=draft, to=EngagementStatus.ACTIVE, by=manager.user)
    assert draft.status == EngagementStatus.ACTIVE


def test_search_finds_words_in_text_and_tags(owner):
    published_lesson(
        owner.org, owner.user, text="Check two references before signing.", tags="vetting"
    )
    published_lesson(owner.org, owner.user, text="Keep a weekly call.", tags="cadence")
    found = services.search_lessons(Lesson.objects.published(), "references")
    assert [lesson.text for lesson in found] == ["Check two references before signing."]
    assert services.search_lessons(Lesson.objects.published(), "cadence").count() == 1


def test_postmortems_due_lists_ended_engagements_after_14_days_without_a_published_one(owner):
    now = timezone.now()
    old = ended_engagement(owner.org, ended_at=now - timezone.timedelta(days=15))
    ended_engagement(owner.org, ended_at=now - timezone.timedelta(days=3))
    done = ended_engagement(owner.org, ended_at=now - timezone.timedelta(days=30))
    pm = services.open_postmortem(engagement=done)
    PostMortem.objects.filter(pk=pm.pk).update(status="published", published_at=now)
    assert list(services.postmortems_due(owner.org, now)) == [old]
    with time_machine.travel(now + timezone.timedelta(days=20)):
        assert len(services.postmortems_due(owner.org, timezone.now())) == 2


def test_patterns_show_which_vetting_signals_predicted_failure(owner):
    from tests.factories import EvidenceFactory

    checked = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
    EvidenceFactory(vendor=checked, kind="reference", verified=True,
                    recorded_at=timezone.now() - timezone.timedelta(days=400))  # fmt: skip
    ended_engagement(owner.org, vendor=checked, status=EngagementStatus.COMPLETED)
    published_lesson(owner.org, owner.user)  # terminated, vendor without references
    data = services.patterns(org=owner.org)
    reference = next(s for s in data["shares"] if s.label == "Reference check")
    assert (reference.with_n, reference.with_cut) == (1, 0)
    assert (reference.without_n, reference.without_cut) == (1, 1)
    assert data["postmortems"] == 1
    assert dict(data["by_category"])["Wrong vendor or weak contract"] == 1
