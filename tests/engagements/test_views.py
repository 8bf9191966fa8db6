"""Engagement pages: the list, the set-up flow, the engagement page and its in-place edits."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagements.delivery import services
from engagements.models import (
    Deliverable,
    DeliverableStatus,
    Engagement,
    EngagementDefaults,
    ExitCriterion,
    Interaction,
    OpenQuestion,
    ReadinessCheck,
    Risk,
    ScopeChange,
    SpendEntry,
)
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    InteractionFactory,
    MilestoneFactory,
    OpenQuestionFactory,
    VendorFactory,
)
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db
HX = {"HX-Request": "true"}


def hx(target: str) -> dict:
    return {**HX, "HX-Target": target}


@pytest.fixture
def engagement(manager):
    return EngagementFactory(org=manager.org, owner=manager.user)


@pytest.fixture
def deliverable(engagement):
    return DeliverableFactory(milestone__engagement=engagement)


def url(name: str, *args) -> str:
    return reverse(f"engagements:{name}", args=args)


# --- set-up ---------------------------------------------------------------------------------


def _form(vendor, owner, **overrides) -> dict:
    data = {
        "vendor": vendor.pk,
        "title": "Checkout rebuild",
        "goal": "Cut checkout drop-off in half.",
        "definition_of_done": "Drop-off below 20% for a month.",
        "budget": "30000",
        "currency": "EUR",
        "start_date": "2026-01-01",
        "target_end_date": "2026-06-30",
        "owner": owner.pk,
        "presets": ["rejected_twice", "silent_vendor"],
        "contact_cadence_days": 7,
        "contact_grace_days": 3,
        "response_window_hours": 48,
        "review_window_days": 5,
        "stall_days": 21,
        "scope_change_window_days": 30,
        "scope_change_limit": 3,
        "has_concrete_target": "yes",
        "need_is_specific": "yes",
        "money_alternative": "Hire a designer.",
        "internal_owner": "Max",
        "owner_hours_per_week": 4,
    }
    return data | overrides


def test_manager_sets_up_an_engagement_and_its_readiness_check(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    client = manager.client()
    form = client.get(url("engagement_create"))
    assert form.status_code == 200
    assert 'value="7"' in form.text  # watch settings pre-filled from the org defaults
    assert not EngagementDefaults.objects.exists()  # a GET never writes
    response = client.post(url("engagement_create"), _form(vendor, manager.user))
    engagement = Engagement.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("engagement_detail", engagement.pk)
    assert engagement.readiness.verdict == "ready"
    assert ExitCriterion.objects.filter(engagement=engagement).count() == 2
    page = client.get(response["Location"])
    assert "Checkout rebuild" in page.text and "Ready" in page.text


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"budget": "-5"}, "budget", "greater than or equal to 0"),
        ({"budget": "lots"}, "budget", "Enter a number"),
        ({"target_end_date": "2025-12-01"}, "target_end_date", "before the start"),
        ({"goal": ""}, "goal", "This field is required"),
        ({"owner_hours_per_week": "x"}, "owner_hours_per_week", "Enter a whole number"),
    ],
)
def test_bad_set_up_is_refused_next_to_the_field_and_nothing_is_saved(
    manager, overrides, field, message
):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.APPROVED)
    response = manager.client().post(
        url("engagement_create"), _form(vendor, manager.user, **overrides)
    )
    assert response.status_code == 422
    assert f'id="id_{field}_error"' in response.text
    assert message in response.text
    assert not Engagement.objects.exists()
    assert not ReadinessCheck.objects.exists()


def test_vendor_not_approved_needs_an_override_reason_in_the_form(manager):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.PROSPECT)
    client = manager.client()
    response = client.post(url("engagement_create"), _form(vendor, manager.user))
    assert response.status_code == 422
    assert "write down why you engage them anyway" in response.text
    response = client.post(
        url("engagement_create"),
        _form(vendor, manager.user, vendor_override_reason="Only they know the legacy system."),
    )
    assert response.status_code == 302
    assert Engagement.objects.get().vendor_override_by == manager.user


def test_another_organizations_vendor_is_not_a_choice(manager, outsider):
    vendor = VendorFactory(org=outsider.org, status=VendorStatus.APPROVED)
    response = manager.client().post(url("engagement_create"), _form(vendor, manager.user))
    assert response.status_code == 422
    assert "Select a valid choice" in response.text


def test_viewer_cannot_set_up_an_engagement(viewer):
    assert viewer.client().get(url("engagement_create")).status_code == 403
    assert viewer.client().post(url("engagement_create"), {}).status_code == 403


def test_set_up_refuses_other_methods(manager):
    assert manager.client().put(url("engagement_create")).status_code == 405


# --- list -----------------------------------------------------------------------------------


def test_list_filters_by_vendor_status_and_owner_and_sorts(manager, owner):
    a = EngagementFactory(org=manager.org, title="Alpha", owner=manager.user, status="active")
    b = EngagementFactory(org=manager.org, title="Beta", owner=owner.user, status="paused")
    client = manager.client()
    assert [
        e.title for e in client.get(url("engagement_list"), {"sort": "title"}).context["page"]
    ] == ["Alpha", "Beta"]
    assert [
        e.title for e in client.get(url("engagement_list"), {"status": "paused"}).context["page"]
    ] == ["Beta"]
    assert [
        e.title
        for e in client.get(url("engagement_list"), {"owner": manager.user.pk}).context["page"]
    ] == ["Alpha"]
    assert [
        e.title for e in client.get(url("engagement_list"), {"vendor": b.vendor_id}).context["page"]
    ] == ["Beta"]
    assert a.pk


def test_list_filter_with_htmx_returns_only_the_table(manager, engagement):
    response = manager.client().get(
        url("engagement_list"), {"status": "active"}, headers=hx("engagement-table")
    )
    assert response.text.lstrip().startswith('<section id="engagement-table"')
    assert engagement.title in response.text
    assert "<html" not in response.text


def test_list_shows_an_empty_state(manager):
    response = manager.client().get(url("engagement_list"))
    assert "No engagements" in response.text


def test_outsider_sees_none_of_our_engagements(outsider, engagement):
    response = outsider.client().get(url("engagement_list"))
    assert engagement.title not in response.text
    assert outsider.client().get(url("engagement_detail", engagement.pk)).status_code == 404


def test_list_refuses_post(manager):
    assert manager.client().post(url("engagement_list")).status_code == 405


@pytest.mark.slow
def test_engagement_list_with_ten_thousand_engagements_has_a_flat_query_count(
    manager, django_assert_num_queries
):
    vendor = VendorFactory(org=manager.org, status=VendorStatus.ACTIVE)
    client = manager.client()
    client.get(url("engagement_list"))  # warm the session

    def batch(n: int) -> None:
        Engagement.objects.bulk_create(
            Engagement(
                org=manager.org,
                vendor=vendor,
                owner=manager.user,
                title=f"Engagement {i}",
                goal="g",
                definition_of_done="d",
                budget=Decimal("1000"),
                currency="EUR",
                start_date=dt.date(2026, 1, 1),
                target_end_date=dt.date(2026, 6, 1),
            )
            for i in range(n)
        )

    batch(1)
    # session, user, memberships, count, one page of engagements, vendor and owner choices
    with django_assert_num_queries(7):
        client.get(url("engagement_list"), {"sort": "-spent"})
    batch(9_999)
    with django_assert_num_queries(7):
        response = client.get(url("engagement_list"), {"sort": "-spent"})
    assert "10000 engagements" in response.text


# --- the engagement page --------------------------------------------------------------------


def test_engagement_page_shows_goal_burn_timeline_and_overdue_work(manager, engagement):
    late = DeliverableFactory(
        milestone__engagement=engagement,
        due_date=timezone.localdate() - dt.timedelta(days=3),
        title="Late thing",
    )
    response = manager.client().get(url("engagement_detail", engagement.pk))
    assert response.status_code == 200
    assert engagement.goal in response.text
    assert "overdue" in response.text
    assert f'id="deliverable-{late.pk}"' in response.text
    assert "<svg" in response.text and "today" in response.text
    assert 'style="' not in response.text  # the CSP forbids inline styles
    assert "<script>" not in response.text


def test_viewer_reads_the_page_without_forms(viewer, engagement):
    response = viewer.client().get(url("engagement_detail", engagement.pk))
    assert response.status_code == 200
    assert "Log interaction" not in response.text


def test_exit_criteria_show_conditions_alone_without_metrics(manager, engagement):
    ExitCriterion.objects.create(
        org=manager.org,
        engagement=engagement,
        label="Silent vendor",
        conditions=[{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    )
    response = manager.client().get(url("engagement_detail", engagement.pk))
    assert "days since the last held two-way contact &gt;= 21" in response.text


def test_exit_criteria_show_distance_to_tripping_when_metrics_are_given(manager, engagement):
    from engagements.delivery.pages import page_context as _page

    ExitCriterion.objects.create(
        org=manager.org,
        engagement=engagement,
        label="Silent vendor",
        conditions=[{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    )
    request = manager.client().get(url("engagement_detail", engagement.pk)).wsgi_request
    e = Engagement.objects.for_detail().get(pk=engagement.pk)
    context = _page(request, e, metrics={"days_since_held_contact": 25})
    html = render_to_string("engagements/engagement_detail.html#exit-criteria", context, request)
    assert "tripped" in html and "now 25" in html


def test_the_engagement_page_shows_an_exit_criterion_tripped_by_a_silent_vendor(
    manager, engagement
):
    """The line drawn at the start, judged by the page itself on the real interactions."""
    ExitCriterion.objects.create(
        org=manager.org,
        engagement=engagement,
        label="Silent vendor",
        conditions=[{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    )
    InteractionFactory(engagement=engagement, occurred_at=timezone.now() - dt.timedelta(days=25))
    response = manager.client().get(url("engagement_detail", engagement.pk))
    assert "tripped" in response.text and "now 25" in response.text


def test_engagement_page_with_200_deliverables_and_2000_interactions_has_a_flat_query_count(
    manager, engagement, django_assert_num_queries
):
    client = manager.client()
    milestone = MilestoneFactory(engagement=engagement)
    DeliverableFactory(milestone=milestone)
    InteractionFactory(engagement=engagement)
    OpenQuestionFactory(engagement=engagement)
    SpendEntry.objects.create(
        org=manager.org,
        engagement=engagement,
        date=dt.date(2026, 1, 5),
        amount=1,
        currency="EUR",
        description="x",
    )
    client.get(url("engagement_detail", engagement.pk))
    with django_assert_num_queries(QUERIES_ON_DETAIL):
        client.get(url("engagement_detail", engagement.pk))
    ExitCriterion.objects.create(
        org=manager.org,
        engagement=engagement,
        label="Silent three weeks",
        conditions=[{"metric": "days_since_held_contact", "op": ">=", "value": 21}],
    )
    with django_assert_num_queries(QUERIES_ON_DETAIL + QUERIES_FOR_EXIT_CRITERIA):
        client.get(url("engagement_detail", engagement.pk))

    milestones = [MilestoneFactory(engagement=engagement) for _ in range(9)]
    Deliverable.objects.bulk_create(
        Deliverable(
            org=manager.org,
            engagement=engagement,
            milestone=milestones[i % 9],
            title=f"D{i}",
            due_date=engagement.start_date + dt.timedelta(days=i % 90),
            status=DeliverableStatus.ACCEPTED if i % 3 == 0 else DeliverableStatus.PLANNED,
            accepted_at=timezone.now() if i % 3 == 0 else None,
            value=Decimal("100"),
        )
        for i in range(199)
    )
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            org=manager.org,
            engagement=engagement,
            occurred_at=now - dt.timedelta(hours=i),
            channel="call",
            direction="we_to_vendor",
            outcome="held",
            comfort=1 + i % 5,
        )
        for i in range(1999)
    )
    SpendEntry.objects.bulk_create(
        SpendEntry(
            org=manager.org,
            engagement=engagement,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            amount=Decimal("10"),
            currency="EUR",
            description="x",
        )
        for i in range(100)
    )
    with django_assert_num_queries(QUERIES_ON_DETAIL + QUERIES_FOR_EXIT_CRITERIA):
        response = client.get(url("engagement_detail", engagement.pk))
    assert "2000 in all" in response.text
    assert response.text.count('id="deliverable-') == 200


# session, user, memberships, engagement with burn, milestones, deliverables, interactions
# count + page, spend by date, exit criteria, open and recently answered questions, spend entries, risks, scope
# changes, status changes, risk-owner choices, deliverable-form milestone choices, spend-form
# milestone choices; portal links, vendor contacts to invite (exists); the portal thread
# (check-ins, questions with answers, reviews).
# + 7: code activity: traces per day, the recent ones, repositories, deliverable rules, a
# connection exists, the rule form's deliverable choices (engagements.forges.pages).
QUERIES_ON_DETAIL = 30
# + 11 once an exit criterion is drawn: its metric values from the health watcher
# (engagements.watch.facts); an engagement without criteria reads none.
QUERIES_FOR_EXIT_CRITERIA = 11


def _busy(engagement, n: int) -> None:
    """``n`` deliverables, interactions, questions and spend entries on the engagement."""
    for i in range(n):
        DeliverableFactory(milestone__engagement=engagement)
        InteractionFactory(engagement=engagement)
        OpenQuestionFactory(engagement=engagement)
        SpendEntry.objects.create(
            org=engagement.org,
            engagement=engagement,
            date=dt.date(2026, 1, 1) + dt.timedelta(days=i),
            amount=1,
            currency="EUR",
            description="x",
        )


INTERACTION = {"channel": "call", "direction": "we_to_vendor", "outcome": "held"}
# session, user, memberships, engagement; the write (savepoint, interaction, audit entry,
# the watcher's dirty mark, release); the engagement with fresh burn figures; the interactions
# region only: the log's count and page, open and recently answered questions. Not the rest.
QUERIES_ON_INTERACTION_SWAP = 14
# session, user, memberships, engagement; the write (savepoint, locked engagement, audit entry,
# update, the watcher's dirty mark, release); the engagement with fresh burn figures. The brief
# region needs no more.
QUERIES_ON_BRIEF_SWAP = 11


@pytest.mark.parametrize("n", [1, 30])
def test_logging_an_interaction_builds_only_its_region_at_any_size(
    manager, engagement, n, django_assert_num_queries
):
    _busy(engagement, n)
    client = manager.client()
    client.post(url("interaction_create", engagement.pk), INTERACTION, headers=hx("interactions"))
    with django_assert_num_queries(QUERIES_ON_INTERACTION_SWAP):
        response = client.post(
            url("interaction_create", engagement.pk), INTERACTION, headers=hx("interactions")
        )
    assert response.text.lstrip().startswith('<section id="interactions"')
    assert f"{n + 2} in all" in response.text


@pytest.mark.parametrize("n", [1, 30])
def test_saving_the_brief_builds_only_its_region_at_any_size(
    manager, engagement, n, django_assert_num_queries
):
    _busy(engagement, n)
    client = manager.client()
    # A first save leaves the engagement marked, as a busy engagement is: the measured save
    # then costs one statement for its mark on every database (PostgreSQL share-locks it).
    client.post(url("brief_update", engagement.pk), {"vision": "Fewer."}, headers=hx("brief"))
    with django_assert_num_queries(QUERIES_ON_BRIEF_SWAP):
        response = client.post(
            url("brief_update", engagement.pk), {"vision": "Fewer calls."}, headers=hx("brief")
        )
    assert response.text.lstrip().startswith('<section id="brief"')
    assert "Fewer calls." in response.text


@pytest.mark.parametrize("n", [1, 30])
def test_the_engagement_page_query_count_is_flat(manager, engagement, n, django_assert_num_queries):
    _busy(engagement, n)
    client = manager.client()
    client.get(url("engagement_detail", engagement.pk))
    with django_assert_num_queries(QUERIES_ON_DETAIL):
        response = client.get(url("engagement_detail", engagement.pk))
    assert response.text.count('id="deliverable-') == n


def _spend_on(engagement, n: int) -> SpendEntry:
    return SpendEntry.objects.create(
        org=engagement.org,
        engagement=engagement,
        date=dt.date(2026, 1, 1) + dt.timedelta(days=n),
        amount=1,
        currency="EUR",
        description=f"Record {n}",
    )


def _scope_change_on(engagement, n: int):
    return services.record_scope_change(
        engagement=engagement,
        by=engagement.owner,
        what_changed=f"Record {n}",
        why="Asked",
        at=timezone.now() - dt.timedelta(days=30 - n),
    )


@pytest.mark.parametrize(
    ("make", "param", "region", "edit"),
    [
        (_spend_on, "spend_page", "spend", "spend_update"),
        (_scope_change_on, "scope_page", "scope-changes", "scope_change_update"),
    ],
    ids=["spend", "scope changes"],
)
def test_every_record_of_a_long_list_can_be_reached_and_corrected_a_page_further(
    manager, engagement, django_assert_num_queries, make, param, region, edit
):
    records = [make(engagement, n) for n in range(1, 26)]  # Record 25 is the newest
    page = url("engagement_detail", engagement.pk)
    client = manager.client()
    first = client.get(page).text
    assert "Record 25" in first and "Record 6<" in first and "Record 5<" not in first
    assert f"?{param}=2#{region}" in first
    for headers in ({}, hx(region)):  # a plain link without JavaScript, or htmx's swap
        with CaptureQueriesContext(connection) as one:
            client.get(f"{page}?{param}=1", headers=headers)
        with django_assert_num_queries(len(one)):  # an older page costs what the first does
            older = client.get(f"{page}?{param}=2", headers=headers)
        assert older.status_code == 200
        assert "Record 1<" in older.text and "Record 25" not in older.text
        assert url(edit, records[0].pk) in older.text  # the oldest can be corrected
        assert f"?{param}=1" in older.text and f"?{param}=3" not in older.text
    for junk in ("0", "-3", "abc", "9" * 40):
        assert client.get(f"{page}?{param}={junk}").status_code == 200
    beyond = client.get(f"{page}?{param}=7", headers=hx(region))
    assert "No older" in beyond.text and f"?{param}=6" in beyond.text


# --- in-place edits -------------------------------------------------------------------------


def test_deliverable_moves_submitted_rejected_resubmitted_accepted_in_place(manager, deliverable):
    client = manager.client()
    go = url("deliverable_transition", deliverable.pk)
    for to, note in [
        ("in_progress", ""),
        ("submitted", ""),
        ("rejected", "Wrong totals"),
        ("submitted", ""),
        ("accepted", ""),
    ]:
        deliverable.refresh_from_db()
        response = client.post(
            go,
            {"to": to, "note": note, "version": deliverable.version},
            headers=hx("delivery-timeline"),
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="delivery-timeline"')
        assert 'id="engagement-header" class="card eng-header" hx-swap-oob="true"' in response.text
    deliverable.refresh_from_db()
    assert (deliverable.status, deliverable.times_rejected) == ("accepted", 1)


def test_rejecting_without_a_reason_says_so_beside_the_deliverable(manager, deliverable):
    Deliverable.objects.filter(pk=deliverable.pk).update(status="submitted")
    response = manager.client().post(
        url("deliverable_transition", deliverable.pk),
        {"to": "rejected", "version": 1},
        headers=hx("delivery-timeline"),
    )
    assert response.status_code == 200
    assert "Say why it is rejected" in response.text
    assert Deliverable.objects.get().status == "submitted"


def test_planned_to_accepted_is_refused_with_422_for_a_plain_post(manager, deliverable):
    response = manager.client().post(
        url("deliverable_transition", deliverable.pk), {"to": "accepted", "version": 1}
    )
    assert response.status_code == 422
    assert "cannot go from planned to accepted" in response.text


def test_second_reviewer_is_told_someone_else_just_reviewed(manager, owner, deliverable):
    Deliverable.objects.filter(pk=deliverable.pk).update(status="submitted")
    manager.client().post(
        url("deliverable_transition", deliverable.pk), {"to": "accepted", "version": 1}
    )
    response = owner.client().post(
        url("deliverable_transition", deliverable.pk),
        {"to": "rejected", "note": "No", "version": 1},
        headers=hx("delivery-timeline"),
    )
    assert response.status_code == 200
    assert "Someone else just reviewed this deliverable" in response.text
    assert Deliverable.objects.get().status == "accepted"
    plain = owner.client().post(
        url("deliverable_transition", deliverable.pk),
        {"to": "rejected", "note": "No", "version": 1},
    )
    assert plain.status_code == 409


def test_changing_a_deliverable_in_place_records_the_scope_change(manager, deliverable):
    response = manager.client().post(
        url("deliverable_update", deliverable.pk),
        {
            "milestone": deliverable.milestone_id,
            "title": "Login page with SSO",
            "due_date": str(deliverable.due_date),
            "value": str(deliverable.value),
            "acceptance_criteria": deliverable.acceptance_criteria,
            "why": "Sales promised SSO.",
            "version": 1,
        },
        headers=hx("delivery-timeline"),
    )
    assert "Login page with SSO" in response.text
    assert ScopeChange.objects.get().why == "Sales promised SSO."
    assert 'id="scope-changes" class="card" hx-swap-oob="true"' in response.text
    assert "Sales promised SSO." in response.text


def test_a_refused_scope_change_keeps_what_was_typed(manager, deliverable):
    response = manager.client().post(
        url("deliverable_update", deliverable.pk),
        {
            "milestone": deliverable.milestone_id,
            "title": deliverable.title,
            "due_date": "2000-01-01",
            "value": "10",
            "acceptance_criteria": "A long paragraph the manager must not lose.",
            "why": "Vendor asked",
        },
        headers=hx("delivery-timeline"),
    )
    assert "Due before the engagement starts" in response.text
    assert "A long paragraph the manager must not lose." in response.text
    assert 'value="2000-01-01"' in response.text
    assert Deliverable.objects.get().value == deliverable.value


def test_moving_a_deliverable_under_another_organizations_milestone_is_refused(
    manager, outsider, deliverable
):
    foreign = MilestoneFactory(engagement=EngagementFactory(org=outsider.org))
    response = manager.client().post(
        url("deliverable_update", deliverable.pk),
        {
            "milestone": foreign.pk,
            "title": "x",
            "due_date": str(deliverable.due_date),
            "value": "1",
            "why": "x",
        },
        headers=hx("delivery-timeline"),
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert Deliverable.objects.get().milestone_id == deliverable.milestone_id
    assert not ScopeChange.objects.exists()


def test_watch_settings_are_changed_in_place_and_junk_is_refused(manager, engagement):
    settings = engagement.watch_settings()
    client = manager.client()
    refused = client.post(
        url("watch_settings_update", engagement.pk),
        settings | {"contact_cadence_days": "0"},
        headers=hx("watch-settings"),
    )
    assert refused.status_code == 200 and 'id="watch_contact_cadence_days_error"' in refused.text
    response = client.post(
        url("watch_settings_update", engagement.pk),
        settings | {"contact_cadence_days": "14"},
        headers=hx("watch-settings"),
    )
    assert response.text.lstrip().startswith('<section id="watch-settings"')
    assert "Contact every 14 days" in response.text
    assert Engagement.objects.get().contact_cadence_days == 14


def test_status_change_in_place(manager, engagement):
    response = manager.client().post(
        url("engagement_status", engagement.pk),
        {"to": "paused", "reason": "Vendor holiday"},
        headers=hx("engagement-header"),
    )
    assert response.text.lstrip().startswith('<section id="engagement-header"')
    assert Engagement.objects.get().status == "paused"
    assert "Vendor holiday" in response.text


def test_cutting_losses_without_a_reason_is_refused(manager, engagement):
    response = manager.client().post(
        url("engagement_status", engagement.pk),
        {"to": "terminated"},
        headers=hx("engagement-header"),
    )
    assert "Say why" in response.text
    assert Engagement.objects.get().status == "active"


def test_too_soon_override_is_recorded_from_the_page(manager):
    engagement = EngagementFactory(org=manager.org, status="draft")
    ReadinessCheck.objects.create(
        org=manager.org,
        engagement=engagement,
        has_concrete_target=False,
        need_is_specific=True,
        money_alternative="x",
        internal_owner="Max",
        owner_hours_per_week=3,
        verdict="too_soon",
    )
    client = manager.client()
    refused = client.post(url("engagement_status", engagement.pk), {"to": "active"})
    assert refused.status_code == 422 and "too soon" in refused.text
    client.post(url("readiness_override", engagement.pk), {"reason": "Board deadline"})
    client.post(url("engagement_status", engagement.pk), {"to": "active"})
    assert Engagement.objects.get().status == "active"


def test_milestone_due_before_start_is_refused_next_to_the_date(manager, engagement):
    response = manager.client().post(
        url("milestone_create", engagement.pk),
        {"title": "Early", "due_date": str(engagement.start_date - dt.timedelta(days=1))},
        headers=hx("delivery-timeline"),
    )
    assert response.status_code == 200
    assert (
        'id="milestone_due_date_error"' in response.text
        and "before the engagement starts" in response.text
    )


def test_deliverable_on_another_organizations_milestone_is_not_a_choice(
    manager, outsider, engagement
):
    foreign = MilestoneFactory(engagement=EngagementFactory(org=outsider.org))
    response = manager.client().post(
        url("deliverable_create", engagement.pk),
        {
            "milestone": foreign.pk,
            "title": "x",
            "due_date": str(engagement.start_date),
            "value": "1",
        },
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.text
    assert not Deliverable.objects.filter(title="x").exists()


def test_adding_a_deliverable_in_place(manager, engagement):
    milestone = MilestoneFactory(engagement=engagement)
    response = manager.client().post(
        url("deliverable_create", engagement.pk),
        {
            "milestone": milestone.pk,
            "title": "Login page",
            "due_date": str(engagement.start_date + dt.timedelta(days=3)),
            "value": "1500",
            "acceptance_criteria": "Works with SSO.",
        },
        headers=hx("delivery-timeline"),
    )
    assert "Login page" in response.text
    assert Deliverable.objects.get().org == manager.org


def test_interaction_quick_add_returns_the_log(manager, engagement):
    response = manager.client().post(
        url("interaction_create", engagement.pk),
        {
            "channel": "call",
            "direction": "we_to_vendor",
            "outcome": "held",
            "comfort": "4",
            "question": "Which API?",
            "question_owed_by": "vendor",
        },
        headers=hx("interactions"),
    )
    assert response.text.lstrip().startswith('<section id="interactions"')
    assert "1 in all" in response.text and "Which API?" in response.text
    assert 'value="Which API?"' not in response.text  # the quick-add is empty again
    assert Interaction.objects.get().logged_by == manager.user


def test_interaction_answered_without_hours_is_refused(manager, engagement):
    response = manager.client().post(
        url("interaction_create", engagement.pk),
        {"channel": "email", "direction": "we_to_vendor", "outcome": "answered"},
        headers=hx("interactions"),
    )
    assert response.status_code == 200
    assert "After how many hours" in response.text
    assert not Interaction.objects.exists()


def test_interaction_log_pages_with_htmx(manager, engagement):
    InteractionFactory.create_batch(25, engagement=engagement)
    response = manager.client().get(
        url("engagement_detail", engagement.pk), {"page": 2}, headers=hx("interactions")
    )
    assert response.text.lstrip().startswith('<section id="interactions"')
    assert "page 2 of 2" in response.text


def test_open_question_is_marked_answered(manager, engagement):
    question = OpenQuestionFactory(engagement=engagement)
    response = manager.client().post(
        url("question_answer", question.pk), {"answer": "Stripe"}, headers=hx("interactions")
    )
    assert OpenQuestion.objects.get().answered_at is not None
    assert "we answered" in response.text and "Stripe" in response.text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "-10", "currency": "EUR"}, "above zero"),
        ({"amount": "ten", "currency": "EUR"}, "Enter a number"),
        ({"amount": "10", "currency": "USD"}, "The budget is in EUR"),
    ],
)
def test_bad_spend_is_refused(manager, engagement, data, message):
    response = manager.client().post(
        url("spend_create", engagement.pk), {"date": "2026-02-01", "description": "Invoice", **data}
    )
    assert response.status_code == 422
    assert message in response.text
    assert not SpendEntry.objects.exists()


def test_spend_recorded_in_place(manager, engagement):
    response = manager.client().post(
        url("spend_create", engagement.pk),
        {"date": "2026-02-01", "description": "Invoice 7", "amount": "1200.50", "currency": "EUR"},
        headers=hx("spend"),
    )
    assert response.text.lstrip().startswith('<section id="spend"')
    assert "Invoice 7" in response.text
    assert SpendEntry.objects.get().amount == Decimal("1200.50")


def test_risk_scope_change_brief_and_exit_criterion_from_the_page(manager, engagement):
    client = manager.client()
    client.post(
        url("risk_create", engagement.pk),
        {"description": "Key dev leaves", "likelihood": "high", "impact": "high"},
    )
    risk = Risk.objects.get()
    client.post(url("risk_status", risk.pk), {"status": "mitigated"})
    client.post(url("scope_change_create", engagement.pk), {"what_changed": "More", "why": "Sales"})
    client.post(
        url("brief_update", engagement.pk),
        {"vision": "Grow", "short_term_goals": "", "long_term_goals": "", "shared": "on"},
    )
    response = client.post(
        url("exit_criterion_create", engagement.pk),
        {
            "label": "Too slow",
            "combinator": "all",
            "metric_1": "days_without_acceptance",
            "op_1": ">=",
            "value_1": "30",
        },
        headers=hx("exit-criteria"),
    )
    assert "Too slow" in response.text
    assert Risk.objects.get().status == "mitigated"
    assert ScopeChange.objects.get().by == manager.user
    e = Engagement.objects.get()
    assert e.vision == "Grow" and e.brief_shared_at is not None


def test_a_save_in_place_computes_the_live_metrics_only_for_the_region_that_shows_them(
    manager, engagement
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def comfort_window_queries(target: str, view: str, data: dict) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = manager.client().post(url(view, engagement.pk), data, headers=hx(target))
        assert response.status_code == 200
        return sum("ROW_NUMBER()" in q["sql"] for q in ctx.captured_queries)

    spend = {"date": "2026-02-01", "description": "Invoice", "amount": "10", "currency": "EUR"}
    assert comfort_window_queries("spend", "spend_create", spend) == 0
    criterion = {"label": "Slow", "combinator": "all", "metric_1": "days_without_acceptance"}
    criterion |= {"op_1": ">=", "value_1": "30"}
    assert comfort_window_queries("exit-criteria", "exit_criterion_create", criterion) == 1


WRITE_VIEWS = [
    ("engagement_status", "engagement"),
    ("readiness_override", "engagement"),
    ("brief_update", "engagement"),
    ("watch_settings_update", "engagement"),
    ("exit_criterion_create", "engagement"),
    ("milestone_create", "engagement"),
    ("deliverable_create", "engagement"),
    ("scope_change_create", "engagement"),
    ("spend_create", "engagement"),
    ("interaction_create", "engagement"),
    ("risk_create", "engagement"),
    ("deliverable_transition", "deliverable"),
    ("deliverable_update", "deliverable"),
    ("question_answer", "question"),
    ("risk_status", "risk"),
]


@pytest.fixture
def targets(engagement, deliverable, manager):
    return {
        "engagement": engagement.pk,
        "deliverable": deliverable.pk,
        "question": OpenQuestionFactory(engagement=engagement).pk,
        "risk": Risk.objects.create(org=manager.org, engagement=engagement, description="r").pk,
    }


@pytest.mark.parametrize(("name", "kind"), WRITE_VIEWS)
def test_outsider_gets_404_from_every_write_view(outsider, targets, name, kind):
    assert outsider.client().post(url(name, targets[kind]), {}).status_code == 404


@pytest.mark.parametrize(("name", "kind"), WRITE_VIEWS)
def test_viewer_gets_403_from_every_write_view(viewer, targets, name, kind):
    assert viewer.client().post(url(name, targets[kind]), {}).status_code == 403


@pytest.mark.parametrize(("name", "kind"), WRITE_VIEWS)
def test_write_views_refuse_get(manager, targets, name, kind):
    assert manager.client().get(url(name, targets[kind])).status_code == 405


def test_detail_refuses_post(manager, engagement):
    assert manager.client().post(url("engagement_detail", engagement.pk)).status_code == 405
