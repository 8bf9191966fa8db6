"""The portal thread: one conversation both sides see. The vendor asks in the portal, a
manager answers on the engagement page, the vendor reads the answer in the portal."""

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEntry
from engagements import tasks
from engagements.delivery import services as delivery
from engagements.models import DeliverableStatus, Interaction, OpenQuestion, Side
from engagements.portal import services as portal
from engagements.watch import facts
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    SpendEntryFactory,
    VendorContactFactory,
)

pytestmark = pytest.mark.django_db
REGION = {"HX-Request": "true", "HX-Target": "portal-access"}


@pytest.fixture
def engagement(org, manager):
    engagement = EngagementFactory(
        org=org, owner=manager.user, title="Checkout rebuild", budget="86421.00"
    )
    MilestoneFactory(engagement=engagement, title="Payments")
    return engagement


@pytest.fixture
def contact(engagement):
    return VendorContactFactory(vendor=engagement.vendor, name="Ana Vendor", email="ana@v.example")


@pytest.fixture
def access_and_token(engagement, contact, manager):
    return portal.invite_vendor_contact(engagement=engagement, contact=contact, by=manager.user)


@pytest.fixture
def access(access_and_token):
    return access_and_token[0]


@pytest.fixture
def link(access_and_token):
    return reverse("portal:portal_home", args=[access_and_token[1]])


def answer_url(question) -> str:
    return reverse("engagements:portal_question_answer", args=[question.pk])


def test_a_question_asked_in_the_portal_is_answered_on_the_engagement_page_and_read_in_the_portal(
    manager, engagement, link
):
    response = Client().post(link + "question/", {"question": "Which PSP should we use?"})
    assert response.status_code == 302 and response["Location"].endswith("#portal-thread")
    question = OpenQuestion.objects.get()
    vendor_page = Client().get(link)
    assert "Which PSP should we use?" in vendor_page.text
    assert "Waiting for the team" in vendor_page.text

    client = manager.client()
    page = client.get(reverse("engagements:engagement_detail", args=[engagement.pk]))
    assert answer_url(question) in page.text  # the answer form sits under the question
    response = client.post(answer_url(question), {"answer": "Stripe, EU account."}, headers=REGION)
    assert response.status_code == 200 and "<html" not in response.text
    assert '<section id="portal-access"' in response.text and "Stripe, EU account." in response.text

    question.refresh_from_db()
    assert question.answered_at is not None and question.answered_by == manager.user
    vendor_page = Client().get(link).text
    assert "Stripe, EU account." in vendor_page and "Re: “Which PSP should we use?”" in vendor_page
    assert "Waiting for the team" not in vendor_page
    entry = AuditEntry.objects.get_for_object(question).filter(action=1).get()
    assert entry.actor == manager.user and "Stripe, EU account." in str(entry.changes)


def test_answering_in_the_portal_thread_stops_our_side_slipping(manager, engagement, access):
    asked = portal.ask_question(
        access=access, question="Staging access?", at=timezone.now() - dt.timedelta(days=10)
    )
    assert facts.metrics_now(engagement=engagement)["unanswered_vendor_questions"] == 1
    portal.answer_vendor_question(question=asked, answer="Sent by mail.", by=manager.user)
    assert facts.metrics_now(engagement=engagement)["unanswered_vendor_questions"] == 0


def test_the_thread_is_in_time_order_with_reviews_and_reasons_and_nothing_internal(
    manager, engagement, access, link
):
    now = timezone.now()
    card = DeliverableFactory(
        milestone=engagement.milestones.get(), title="Card form", acceptance_criteria="3-D Secure"
    )
    portal.post_check_in(
        access=access, progress="Started", comfort=4, at=now - dt.timedelta(hours=5)
    )
    asked = portal.ask_question(
        access=access, question="Which PSP?", at=now - dt.timedelta(hours=4)
    )
    portal.submit_deliverable(
        access=access, deliverable=card, note="Ready", at=now - dt.timedelta(hours=3)
    )
    card.refresh_from_db()
    delivery.transition_deliverable(
        deliverable=card, to=DeliverableStatus.REJECTED, by=manager.user,
        note="Fails on 3-D Secure", at=now - dt.timedelta(hours=2),
    )  # fmt: skip
    card.refresh_from_db()
    delivery.transition_deliverable(
        deliverable=card, to=DeliverableStatus.IN_PROGRESS, by=manager.user,
        at=now - dt.timedelta(hours=1, minutes=30),
    )  # fmt: skip
    card.refresh_from_db()
    delivery.submit_deliverable(
        deliverable=card, by=manager.user, note="INTERNAL: vendor mailed it",
        at=now - dt.timedelta(hours=1),
    )  # fmt: skip
    portal.answer_vendor_question(question=asked, answer="Stripe.", by=manager.user)
    SpendEntryFactory(engagement=engagement, description="INTERNAL invoice", amount="777.77")
    Interaction.objects.create(
        org=engagement.org, engagement=engagement, channel="call", direction="we_to_vendor",
        outcome="held", notes="INTERNAL: slow vendor",
    )  # fmt: skip
    delivery.log_interaction(
        engagement=engagement, by=manager.user, channel="email", direction="we_to_vendor",
        outcome="held", question="INTERNAL question we owe ourselves", question_owed_by=Side.US,
    )  # fmt: skip

    kinds = [e.kind for e in portal.thread(engagement=engagement).entries]
    assert kinds == ["checkin", "question", "submitted", "rejected", "submitted", "answer"]
    page = Client().get(link).text
    assert "Fails on 3-D Secure" in page and "Started" in page and "Stripe." in page
    for secret in ("INTERNAL", "777", "86421", "86,421"):
        assert secret not in page, secret


def test_an_empty_answer_is_refused_next_to_the_field_and_the_question_stays_open(manager, access):
    question = portal.ask_question(access=access, question="Which PSP?")
    client = manager.client()
    swapped = client.post(answer_url(question), {"answer": "  "}, headers=REGION)
    assert swapped.status_code == 200 and "Write the answer the vendor will read." in swapped.text
    assert f'id="answer-{question.pk}_answer"' in swapped.text
    plain = client.post(answer_url(question), {"answer": ""})
    assert plain.status_code == 422 and "Write the answer the vendor will read." in plain.text
    question.refresh_from_db()
    assert question.answered_at is None


def test_a_question_answered_meanwhile_is_not_answered_twice(manager, owner, access):
    question = portal.ask_question(access=access, question="Which PSP?")
    portal.answer_vendor_question(question=question, answer="Stripe.", by=owner.user)
    response = manager.client().post(answer_url(question), {"answer": "Adyen."})
    assert response.status_code == 409 and "answered in the meantime" in response.text
    question.refresh_from_db()
    assert question.answer == "Stripe." and question.answered_by == owner.user


def test_only_questions_the_vendor_asked_in_the_portal_are_answered_there(manager, engagement):
    delivery.log_interaction(
        engagement=engagement, by=manager.user, channel="call", direction="we_to_vendor",
        outcome="held", question="Who signs?", question_owed_by=Side.US,
    )  # fmt: skip
    question = OpenQuestion.objects.get()
    response = manager.client().post(answer_url(question), {"answer": "Me."})
    assert response.status_code == 422 and "asked in the portal" in response.text
    question.refresh_from_db()
    assert question.answered_at is None


def test_another_organization_a_viewer_and_a_get_cannot_answer(outsider, viewer, manager, access):
    question = portal.ask_question(access=access, question="Which PSP?")
    assert outsider.client().post(answer_url(question), {"answer": "x"}).status_code == 404
    assert viewer.client().post(answer_url(question), {"answer": "x"}).status_code == 403
    assert manager.client().get(answer_url(question)).status_code == 405
    question.refresh_from_db()
    assert question.answered_at is None


def test_a_vendor_link_shows_only_its_own_engagements_thread(org, manager, access, link):
    portal.ask_question(access=access, question="Ours?")
    other = EngagementFactory(org=org, vendor=access.engagement.vendor, owner=manager.user)
    other_access, _ = portal.invite_vendor_contact(
        engagement=other, contact=access.contact, by=manager.user
    )
    portal.ask_question(access=other_access, question="Theirs: the other engagement")
    page = Client().get(link).text
    assert "Ours?" in page and "Theirs: the other engagement" not in page


def test_both_sides_hear_of_a_new_message_by_e_mail(
    manager, engagement, access, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        question = portal.ask_question(access=access, question="Which PSP?")
    assert callbacks  # the owner is told after commit
    tasks.tell_team_of_question.apply(kwargs={"open_question_id": question.pk})
    to_team = mail.outbox[-1]
    assert to_team.to == [manager.user.email] and "Which PSP?" in to_team.body
    assert f"/engagements/{engagement.pk}/" in to_team.body

    portal.answer_vendor_question(question=question, answer="Stripe.", by=manager.user)
    tasks.tell_vendor_of_answer.apply(kwargs={"open_question_id": question.pk})
    to_vendor = mail.outbox[-1]
    assert to_vendor.to == ["ana@v.example"] and "Stripe." in to_vendor.body
    assert "86421" not in to_vendor.body
    sent = len(mail.outbox)
    tasks.tell_team_of_question.apply(kwargs={"open_question_id": question.pk})
    assert len(mail.outbox) == sent  # answered meanwhile: nobody is told of it any more


@pytest.mark.parametrize("n", [1, 12])
def test_the_portal_page_has_a_flat_query_count(access, link, n, django_assert_num_queries):
    for i in range(n):
        portal.post_check_in(access=access, progress=f"Step {i}", comfort=4)
        question = portal.ask_question(access=access, question=f"Q{i}?")
        portal.answer_vendor_question(question=question, answer=f"A{i}", by=access.created_by)
    client = Client()
    client.get(link)
    # access, its vendor, the thread (3), milestones + deliverables, anything open to submit
    with django_assert_num_queries(8):
        client.get(link)
