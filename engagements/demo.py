"""Demo engagements in believable states relative to today (``manage.py seed_demo``).

One healthy, one drifting (contacts thinning, comfort falling), one failing (a milestone
overdue, a deliverable rejected twice, ~80% of the budget spent with little accepted) and
one completed; and three more ended ones with post-mortems for the watcher report. Idempotent: an engagement whose title already exists is left alone.

Rows are written through the services (so the invariants hold), then moved back in time:
the services stamp "now", and a demo needs a past.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from engagements.delivery import services
from engagements.delivery.models import (
    Channel,
    Deliverable,
    DeliverableTransition,
    Direction,
    Engagement,
    EngagementStatus,
    EngagementStatusChange,
    Outcome,
    ReadinessCheck,
    Risk,
    Side,
)
from engagements.postmortems import services as pm_services
from engagements.postmortems.models import PostMortem
from vendors import services as vendor_services
from vendors.models import Vendor, VendorStatus
from vendors.terms import add_months

# Created only when the vendors' demo data has fewer than three approved or active vendors.
DEMO_VENDORS = [
    ("Harbor Data Co", VendorStatus.ACTIVE),
    ("Northwind Studio", VendorStatus.ACTIVE),
    ("Bright Pixel Labs", VendorStatus.APPROVED),
]


def _vendors(org) -> list[Vendor]:
    vendors = list(
        Vendor.unscoped.filter(org=org, status__in=["approved", "active"]).order_by(
            "created_at", "pk"
        )[:3]
    )
    for name, status in DEMO_VENDORS:
        if len(vendors) >= 3:
            break
        vendor, _ = Vendor.unscoped.get_or_create(org=org, name=name, defaults={"status": status})
        if vendor not in vendors:
            vendors.append(vendor)
    return vendors


def _ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def _move(deliverable: Deliverable, by, steps: list[tuple[str, float, str]]) -> None:
    """Walk a deliverable through ``steps`` of (to, days ago, note), dated in the past."""
    for to, days, note in steps:
        deliverable.refresh_from_db()
        transition = services.transition_deliverable(
            deliverable=deliverable, to=to, by=by, note=note
        )
        at = _ago(days)
        DeliverableTransition.unscoped.filter(pk=transition.pk).update(at=at)
        fields = {"status_changed_at": at}
        if to == "submitted":
            fields["submitted_at"] = at
        if to == "accepted":
            fields["accepted_at"] = at
        Deliverable.unscoped.filter(pk=deliverable.pk).update(**fields)


def _engagement(org, accounts, vendor, title: str, days_in: int, length: int, budget: int, **kw):
    today = timezone.localdate()
    engagement = services.create_engagement(
        org=org,
        by=accounts.owner,
        vendor=vendor,
        title=title,
        goal=kw.pop("goal"),
        definition_of_done=kw.pop("done"),
        budget=Decimal(budget),
        currency=org.currency,
        start_date=today - timedelta(days=days_in),
        target_end_date=today - timedelta(days=days_in) + timedelta(days=length),
        owner=kw.pop("owner", accounts.manager),
        presets=kw.pop("presets", ["late_and_burnt", "rejected_twice", "silent_vendor"]),
    )
    services.record_readiness(
        engagement=engagement,
        by=accounts.owner,
        has_concrete_target=True,
        need_is_specific=True,
        money_alternative="Hire a second in-house engineer for six months.",
        internal_owner="Max Manager",
        owner_hours_per_week=4,
    )
    # Readiness is answered before the start, as a person would: a few days before it.
    ReadinessCheck.unscoped.filter(engagement=engagement).update(answered_at=_ago(days_in + 2))
    services.change_engagement_status(
        engagement=engagement, to="active", by=accounts.owner, at=_ago(days_in)
    )
    Engagement.unscoped.filter(pk=engagement.pk).update(created_at=_ago(days_in + 3))
    EngagementStatusChange.unscoped.filter(engagement=engagement, to_status="draft").update(
        at=_ago(days_in + 3)
    )
    return engagement


def _plan(engagement, by, milestones: list[tuple[str, int, list[tuple[str, int, int]]]]):
    """Milestones (title, due in days from start, [(deliverable, due offset, value)])."""
    out = []
    for title, offset, items in milestones:
        due = engagement.start_date + timedelta(days=offset)
        milestone = services.add_milestone(engagement=engagement, title=title, due_date=due)
        for name, extra, value in items:
            out.append(
                services.add_deliverable(
                    engagement=engagement,
                    milestone=milestone,
                    by=by,
                    title=name,
                    due_date=due + timedelta(days=extra),
                    value=Decimal(value),
                    acceptance_criteria="Demonstrated on staging; product signs off against the ticket.",
                )
            )
    return out


def _talk(engagement, by, entries: list[tuple[float, str, str, str, int | None, str]]) -> None:
    for days, channel, direction, outcome, comfort, notes in entries:
        services.log_interaction(
            engagement=engagement,
            by=by,
            occurred_at=_ago(days),
            channel=channel,
            direction=direction,
            outcome=outcome,
            comfort=comfort,
            response_hours=30 if outcome == Outcome.ANSWERED else None,
            notes=notes,
        )


def _pay(engagement, by, entries: list[tuple[int, int, str]]) -> None:
    today = timezone.localdate()
    for days, amount, what in entries:
        services.record_spend(
            engagement=engagement,
            by=by,
            date=today - timedelta(days=days),
            amount=Decimal(amount),
            currency=engagement.currency,
            description=what,
        )


@transaction.atomic
def seed_engagements(accounts, vendors: list[Vendor] | None = None) -> list[Engagement]:
    """Create the demo engagements of the demo organization (idempotent)."""
    org, m, o = accounts.org, accounts.manager, accounts.owner
    vendors = vendors or _vendors(org)
    existing = set(Engagement.unscoped.filter(org=org).values_list("title", flat=True))
    made = []
    call, meet, mail = Channel.CALL, Channel.MEETING, Channel.EMAIL
    we, they = Direction.WE_TO_VENDOR, Direction.VENDOR_TO_US
    held = Outcome.HELD

    title = "Self-service onboarding"
    if title not in existing:
        e = _engagement(
            org, accounts, vendors[0], title, 45, 120, 60000,
            goal="Let new customers onboard without a sales call, so sales can sell.",
            done="90% of new sign-ups finish onboarding in one session, no call needed.",
        )  # fmt: skip
        d = _plan(e, m, [
            ("Discovery and flows", 14, [("User-flow map", 0, 4000), ("Clickable prototype", 0, 6000)]),
            ("Sign-up wizard", 50, [("Wizard front end", 0, 15000), ("Account provisioning API", 2, 12000)]),
            ("Launch", 100, [("Analytics and funnel dashboard", 0, 8000), ("Launch checklist", 5, 5000)]),
        ])  # fmt: skip
        for item, accepted_days in ((d[0], 33), (d[1], 30), (d[2], 4)):
            _move(item, m, [("in_progress", accepted_days + 10, ""), ("submitted", accepted_days + 2, ""), ("accepted", accepted_days, "")])  # fmt: skip
        _move(d[3], m, [("in_progress", 12, ""), ("submitted", 1, "")])
        _move(d[4], m, [("in_progress", 3, "")])
        _talk(e, m, [(days, meet if days % 14 == 0 else call, we if days % 2 else they, held, 4 if days > 10 else 5, "Weekly sync") for days in range(42, 0, -5)])  # fmt: skip
        _pay(e, m, [(30, 10000, "Invoice 1: discovery"), (3, 15000, "Invoice 2: wizard front end")])
        services.update_brief(
            engagement=e,
            vision="Sales should spend its time selling. Onboarding that runs itself is the first step to a product that grows without us in the room.",
            short_term_goals="Self-service sign-up live for the SMB plan by the end of the quarter.",
            long_term_goals="Every plan, every market, no onboarding calls.",
            shared=True,
        )
        services.add_risk(engagement=e, description="Provisioning depends on the billing team's API change.", likelihood=Risk.Level.MEDIUM, impact=Risk.Level.HIGH, mitigation="Billing change is in their sprint; weekly check with their lead.", owner=m)  # fmt: skip
        # Healthy, and its contract renews in 25 days: the reminders come, no alarm.
        _contract(
            e, o, "Onboarding statement of work", renews_in=25, notice=(10, "days"),
            termination_for_convenience=True, termination_fee=Decimal("2500"),
            payment_schedule="milestones", has_payment_milestones=True,
        )  # fmt: skip
        made.append(e)

    title = "Mobile app redesign"
    if title not in existing:
        e = _engagement(
            org, accounts, vendors[1], title, 70, 150, 80000,
            goal="Raise the app-store rating above 4.3 by fixing the flows users complain about.",
            done="New design shipped on iOS and Android; rating above 4.3 for 30 days.",
            presets=["silent_vendor", "uncomfortable"],
        )  # fmt: skip
        d = _plan(e, m, [
            ("Research", 20, [("Review analysis", 0, 6000), ("Usability interviews", 0, 8000)]),
            ("Design system", 60, [("Component library", 0, 16000), ("Key screens", 5, 14000)]),
            ("Handover", 130, [("Developer handover", 0, 10000)]),
        ])  # fmt: skip
        _move(d[0], m, [("in_progress", 65, ""), ("submitted", 52, ""), ("accepted", 50, "")])
        _move(d[1], m, [("in_progress", 60, ""), ("submitted", 45, ""), ("accepted", 40, "")])
        _move(d[2], m, [("in_progress", 38, "")])
        # Contacts thinning (weekly, then every two to three weeks) and comfort falling.
        _talk(e, m, [
            (68, meet, we, held, 5, "Kick-off, lots of energy"), (61, call, we, held, 5, ""),
            (54, call, they, held, 4, ""), (47, call, we, held, 4, ""),
            (38, call, we, held, 3, "They push back on the component scope"),
            (24, mail, we, Outcome.ANSWERED, 3, "Answer came two days later"),
            (19, call, we, Outcome.VENDOR_NO_SHOW, None, "Nobody joined"),
            (9, call, we, held, 2, "Tense; deadlines are 'aspirational'"),
        ])  # fmt: skip
        services.log_interaction(engagement=e, by=m, occurred_at=_ago(8), channel=mail, direction=we, outcome=Outcome.UNANSWERED, question="When will the component library be ready for review?", question_owed_by=Side.VENDOR)  # fmt: skip
        _pay(e, m, [(50, 14000, "Research phase"), (20, 12000, "Design system, first half")])
        made.append(e)

    title = "Data warehouse migration"
    if title not in existing:
        e = _engagement(
            org, accounts, vendors[2], title, 110, 120, 50000,
            goal="Move reporting off the production database so dashboards stop slowing the app.",
            done="All 40 reports run from the warehouse; production load from reporting is zero.",
            presets=["late_and_burnt", "rejected_twice", "burn_without_delivery"],
        )  # fmt: skip
        d = _plan(e, m, [
            ("Pipeline", 30, [("Ingestion pipeline", 0, 12000)]),
            ("Reports", 60, [("Finance reports", 0, 14000), ("Sales reports", 0, 12000)]),
            ("Cut-over", 95, [("Cut-over runbook", 0, 12000)]),
        ])  # fmt: skip
        _move(d[0], m, [("in_progress", 100, ""), ("submitted", 70, ""), ("accepted", 62, "")])
        _move(d[1], m, [
            ("in_progress", 80, ""), ("submitted", 50, ""),
            ("rejected", 47, "Totals do not match the ledger for March."),
            ("submitted", 35, ""), ("rejected", 33, "Still off by the refunds; see ticket 412."),
            ("submitted", 12, ""),
        ])  # fmt: skip
        _move(d[2], m, [("in_progress", 60, "")])
        _talk(e, m, [
            (105, meet, we, held, 4, "Kick-off"), (90, call, we, held, 3, ""),
            (75, call, we, Outcome.VENDOR_NO_SHOW, None, ""), (60, call, we, held, 2, "Defensive about the pipeline bugs"),
            (40, mail, we, Outcome.UNANSWERED, None, ""), (26, call, they, held, 2, "Asked for more budget"),
            (13, call, we, held, 1, "They blame our data"),
        ])  # fmt: skip
        services.record_scope_change(engagement=e, by=o, what_changed="Added the refunds ledger to the finance reports.", why="The March close needs it.")  # fmt: skip
        services.record_scope_change(engagement=e, by=m, what_changed="Dropped the marketing reports.", why="Budget.")  # fmt: skip
        _pay(e, m, [(95, 10000, "Kick-off and pipeline"), (60, 15000, "Reports phase 1"), (25, 15000, "Reports phase 2")])  # fmt: skip
        services.add_risk(engagement=e, description="The vendor's only warehouse engineer is leaving.", likelihood=Risk.Level.HIGH, impact=Risk.Level.HIGH, mitigation="Ask for a named replacement in writing.", owner=o)  # fmt: skip
        # Failing, and its contract must be decided next week or it renews for a year.
        decide_by = timezone.localdate() + timedelta(days=7)
        _contract(
            e, o, "Warehouse retainer", renews_on=add_months(decide_by, 1), notice=(1, "months"),
            payment_schedule="instalments", instalment_amount=Decimal("4000"), instalment_months=1,
        )  # fmt: skip
        made.append(e)

    title = "Brand refresh"
    if title not in existing:
        e = _engagement(
            org, accounts, vendors[0], title, 150, 90, 20000,
            goal="A brand that looks like the company we are now, before the Series A.",
            done="Logo, palette, type and templates delivered and in use on the site.",
        )  # fmt: skip
        d = _plan(e, m, [
            ("Concepts", 30, [("Three concepts", 0, 6000)]),
            ("Final identity", 75, [("Logo and palette", 0, 8000), ("Templates", 5, 6000)]),
        ])  # fmt: skip
        # Concepts and the logo on time; the templates (due 70 days ago) five days late, as
        # the post-mortem says; completed on its target day, 60 days ago.
        for item, days in ((d[0], 121), (d[1], 75), (d[2], 63)):
            _move(item, m, [("in_progress", days + 20, ""), ("submitted", days + 2, ""), ("accepted", days, "")])  # fmt: skip
        _talk(e, m, [(days, call, we, held, 5, "Weekly call") for days in range(145, 60, -7)])
        _pay(e, m, [(110, 8000, "Concepts"), (65, 12000, "Final identity")])
        services.change_engagement_status(engagement=e, to=EngagementStatus.COMPLETED, by=o, reason="Everything delivered and accepted; the site uses the new brand.", at=_ago(60))  # fmt: skip
        made.append(e)
    made += seed_watcher_past(accounts, vendors, existing)
    seed_postmortem(accounts)
    return made


def _contract(engagement, by, title: str, *, notice, renews_in=None, renews_on=None, **terms):
    """A year's contract of the engagement's vendor that renews by itself on ``renews_on`` (or
    in ``renews_in`` days), and the engagement under it."""
    end = renews_on or timezone.localdate() + timedelta(days=renews_in)
    contract = vendor_services.add_contract(
        vendor=engagement.vendor,
        by=by,
        title=title,
        start_date=add_months(end, -12),
        end_date=end,
        auto_renews=True,
        renewal_months=12,
        notice_period=notice[0],
        notice_unit=notice[1],
        value=Decimal("48000"),
        currency=engagement.currency,
        has_termination=True,
        has_acceptance=True,
        has_ip_ownership=True,
        has_confidentiality=True,
        has_named_contacts=True,
        **terms,
    )
    services.update_engagement(engagement=engagement, by=by, contract=contract)
    return contract


def seed_postmortem(accounts) -> None:
    """The completed demo engagement gets a published post-mortem with two
    lessons, so the lessons list and the vendor panel are not empty (idempotent)."""
    engagement = Engagement.unscoped.filter(org=accounts.org, title="Brand refresh").first()
    if engagement is None or not engagement.is_ended:
        return
    pm = pm_services.open_postmortem(engagement=engagement)
    if pm.is_published or pm.lessons.exists():
        return
    pm_services.update_summary(postmortem=pm, outcome=pm.outcome, went_well="Weekly calls, every one of them held; concepts arrived on time and the vendor understood who we are.")  # fmt: skip
    pm_services.add_failure(postmortem=pm, text="The templates came five days late because nobody owned the list of templates we needed.", category="poor_needs")  # fmt: skip
    pm_services.add_lesson(postmortem=pm, text="Write the full list of deliverables, templates included, before the kick-off.", category="poor_needs", tags="design, scope")  # fmt: skip
    pm_services.add_lesson(postmortem=pm, text="Keep a weekly call even when everything goes well.", category="neglected", tags="cadence")  # fmt: skip
    pm_services.publish_postmortem(postmortem=PostMortem.unscoped.get(pk=pm.pk), by=accounts.owner)


# --- the watcher report's past: three more ended engagements ---------------------------------


def _day(start_ago: int):
    """Days ago of day ``k`` of an engagement that started ``start_ago`` days ago."""
    return lambda k: start_ago - k


def seed_watcher_past(accounts, vendors: list[Vendor], existing: set[str]) -> list[Engagement]:
    """Two engagements cut loose (one silent vendor, one slow decline) and one partly
    delivered that the watcher missed, each ended with its post-mortem, so the watcher
    report (and its "what if") has a past to judge beside the brand refresh."""
    org, m, o = accounts.org, accounts.manager, accounts.owner
    call, mail = Channel.CALL, Channel.EMAIL
    we, they, held = Direction.WE_TO_VENDOR, Direction.VENDOR_TO_US, Outcome.HELD
    made = []

    title = "Payments integration"  # the vendor goes silent after a month: warned weeks ahead
    if title not in existing:
        ago = _day(115)
        e = _engagement(
            org, accounts, vendors[2], title, 115, 90, 40000, presets=[],
            goal="Take card payments in the app instead of by invoice.",
            done="Checkout, refunds and payment webhooks live in production.",
        )  # fmt: skip
        d = _plan(e, m, [
            ("Checkout", 35, [("Checkout API", 0, 15000)]),
            ("Refunds", 65, [("Refund flow", 0, 10000)]),
            ("Webhooks", 85, [("Payment webhooks", 0, 15000)]),
        ])  # fmt: skip
        _move(d[0], m, [("in_progress", ago(5), "")])
        _talk(e, m, [(ago(k), call, we, held, 4, "Weekly call") for k in range(2, 31, 7)])
        _talk(e, m, [
            (ago(44), call, we, Outcome.VENDOR_NO_SHOW, None, "Nobody joined"),
            (ago(58), mail, we, Outcome.UNANSWERED, None, "Where is the checkout API?"),
            (ago(72), mail, we, Outcome.UNANSWERED, None, "Second reminder"),
        ])  # fmt: skip
        _pay(e, m, [(ago(5), 10000, "Deposit"), (ago(40), 10000, "Invoice 2"), (ago(70), 10000, "Invoice 3")])  # fmt: skip
        services.change_engagement_status(engagement=e, to=EngagementStatus.TERMINATED, by=o, reason="No checkout after three months and no answer to our mails.", at=_ago(ago(95)))  # fmt: skip
        made.append(e)

    title = "Support chatbot"  # rejections, slipping work, comfort falling: a slow decline
    if title not in existing:
        ago = _day(140)
        e = _engagement(
            org, accounts, vendors[0], title, 140, 100, 30000, presets=["rejected_twice"],
            goal="Answer the ten most common support questions without an agent.",
            done="The bot resolves 30% of incoming chats without a hand-over.",
        )  # fmt: skip
        d = _plan(e, m, [
            ("Intents", 25, [("Intent model", 0, 10000)]),
            ("Widget", 50, [("Chat widget", 0, 10000)]),
            ("Handover", 90, [("Agent hand-over", 0, 10000)]),
        ])  # fmt: skip
        _move(d[0], m, [
            ("in_progress", ago(3), ""), ("submitted", ago(30), ""),
            ("rejected", ago(33), "Half the intents are misclassified."),
            ("submitted", ago(50), ""), ("rejected", ago(53), "Still wrong on refunds and delivery."),
            ("submitted", ago(75), ""),
        ])  # fmt: skip
        _move(d[1], m, [("in_progress", ago(20), "")])
        comfort = [5, 5, 4, 4, 4, 3, 3, 3, 2, 2, 2, 2, 2, 1]
        _talk(e, m, [(ago(k), call, we if k % 2 else they, held, comfort[i], "Weekly call") for i, k in enumerate(range(4, 98, 7))])  # fmt: skip
        _pay(e, m, [(ago(10), 10000, "Deposit"), (ago(45), 10000, "Intent model"), (ago(80), 8000, "Widget, in advance")])  # fmt: skip
        services.change_engagement_status(engagement=e, to=EngagementStatus.TERMINATED, by=o, reason="Three months in, nothing accepted.", at=_ago(ago(100)))  # fmt: skip
        made.append(e)

    title = "Partner portal"  # friendly, talkative, slow: partly delivered, never warned
    if title not in existing:
        ago = _day(110)
        e = _engagement(
            org, accounts, vendors[2], title, 110, 80, 36000, presets=[],
            goal="Let resellers register deals and download material themselves.",
            done="Partners log in, register deals and see their commission.",
        )  # fmt: skip
        d = _plan(e, m, [
            ("Access", 20, [("Log-in and roles", 0, 4000)]),
            ("Material", 60, [("Download area", 0, 6000)]),
            ("Deals", 78, [("Deal registration and commission", 0, 26000)]),
        ])  # fmt: skip
        _move(d[0], m, [("in_progress", ago(2), ""), ("submitted", ago(16), ""), ("accepted", ago(18), "")])  # fmt: skip
        _move(d[1], m, [("in_progress", ago(25), ""), ("submitted", ago(53), ""), ("accepted", ago(55), "")])  # fmt: skip
        _move(d[2], m, [("in_progress", ago(40), ""), ("submitted", ago(79), "")])
        comfort = [5, 5, 5, 5, 5, 4, 3, 3, 3, 3, 3]
        _talk(e, m, [(ago(k), call, we if k % 2 else they, held, comfort[i], "Weekly call") for i, k in enumerate(range(3, 80, 7))])  # fmt: skip
        _pay(e, m, [(ago(15), 6000, "Access"), (ago(45), 12000, "Material and deals, part 1"), (ago(70), 12000, "Deals, part 2")])  # fmt: skip
        services.change_engagement_status(engagement=e, to=EngagementStatus.COMPLETED, by=o, reason="Out of budget: the deal registration ships without commissions.", at=_ago(ago(80)))  # fmt: skip
        pm = pm_services.open_postmortem(engagement=e)
        pm_services.update_summary(postmortem=pm, outcome="partly", went_well="Friendly, talkative vendor; log-in and the download area arrived on time.")  # fmt: skip
        made.append(e)
    return made
