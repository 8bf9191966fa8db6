"""Contract exits, as the people deciding them see it: a failing engagement whose contract
renews soon is told so with the date, the term and the amount; every contract nearing its
decide-by date is reminded 30, 7 and 1 days before, healthy or not, until someone decides;
the days are the organization's own."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.utils import timezone
from icalendar import Calendar

from engagements.alerts import digest, outbox, reminders
from engagements.alerts import services as alerts
from engagements.capture import calendar
from engagements.delivery import services as delivery
from engagements.models import EngagementHealth, EngagementStatus, Notification
from engagements.watch import marks
from engagements.watch import services as watch
from outsourcing.errors import Conflict
from tests.factories import (
    DeliverableFactory,
    EngagementFactory,
    MilestoneFactory,
    SpendEntryFactory,
    VendorFactory,
)
from vendors import services as vendors
from vendors import terms
from vendors.models import VendorStatus

pytestmark = pytest.mark.django_db

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # 20 days before the decide-by date
DECIDE_BY = date(2026, 9, 21)  # a 21 Oct 2026 end with one month's notice


def contract_for(vendor, by, **terms):
    values = {
        "title": "Platform MSA",
        "start_date": date(2025, 10, 21),
        "end_date": date(2026, 10, 21),
        "auto_renews": True,
        "renewal_months": 12,
        "notice_period": 1,
        "notice_unit": "months",
        "currency": "EUR",
        "payment_schedule": "instalments",
        "instalment_amount": Decimal("4000"),
        "instalment_months": 1,
    }
    return vendors.add_contract(vendor=vendor, by=by, **(values | terms))


@pytest.fixture
def team(owner):
    owner.org.time_zone = "Europe/Berlin"
    owner.org.save()
    with time_machine.travel(START, tick=False):
        alerts.create_channel(org=owner.org, kind="email", name="Team e-mail")
    return owner


def engagement_under(team, contract=None, *, failing: bool, **kw):
    with time_machine.travel(START, tick=False):
        vendor = contract.vendor if contract else VendorFactory(org=team.org, status="active")
        e = EngagementFactory(
            org=team.org,
            owner=team.user,
            vendor=vendor,
            contract=contract,
            activated_at=START - timedelta(days=10),
            start_date=(START - timedelta(days=10)).date(),
            **kw,
        )
        if failing:  # a line the team drew at the start, crossed: cut losses at once
            delivery.add_exit_criterion(
                engagement=e,
                by=team.user,
                criterion={
                    "label": "Silent for a week",
                    "combinator": "all",
                    "conditions": [{"metric": "days_since_held_contact", "op": ">=", "value": 7}],
                },
            )
    return e


def signals_of(engagement) -> dict[str, dict]:
    health = EngagementHealth.objects.get(engagement=engagement)
    return {s["kind"]: s for s in health.signals}


def steady_until(until: datetime) -> None:
    """The steady sweep as beat runs it: at every deadline it set, then at ``until``."""
    for _ in range(200):
        due = EngagementHealth.unscoped.filter(next_check_at__lte=until).order_by("next_check_at")
        moment = due.values_list("next_check_at", flat=True).first()
        if moment is None:
            break
        with time_machine.travel(moment, tick=False):
            watch.sweep_marked(at=moment)
    with time_machine.travel(until, tick=False):
        while watch.sweep_marked(at=until).claimed:
            pass


def reminders_sent(contract) -> list[int]:
    return list(
        Notification.objects.filter(contract=contract)
        .order_by("created_at")
        .values_list("sequence", flat=True)
    )


def test_a_failing_engagement_20_days_before_its_decide_by_date_is_told_what_renewal_costs(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    with time_machine.travel(START, tick=False):
        watch.sweep(at=START)
    signal = signals_of(e)["decide_before_renewal"]
    assert signal["label"] == "Decide before renewal"
    assert "decide by 21 Sep 2026" in signal["evidence"]
    assert "renews on 21 Oct 2026 for 12 months, 48,000 EUR" in signal["evidence"]
    assert "in 20 days" in signal["evidence"]
    assert "give notice" in signal["clears"]


def test_a_healthy_engagement_gets_no_signal_but_its_contract_is_still_reminded(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=False)
    with time_machine.travel(START, tick=False):
        watch.sweep(at=START)
    assert "decide_before_renewal" not in signals_of(e)
    assert reminders_sent(contract) == [30]  # 20 days left: the 30-day reminder is due


def test_reminders_come_at_30_7_and_1_days_and_giving_notice_ends_them(team):
    early = datetime(2026, 8, 1, 9, tzinfo=UTC)  # 51 days before
    with time_machine.travel(early, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
        e = EngagementFactory(
            org=team.org, owner=team.user, vendor=vendor, contract=contract, activated_at=early
        )
        marks.mark(e.pk)
    steady_until(early)
    steady_until(datetime(2026, 8, 21, 21, 59, tzinfo=UTC))
    assert reminders_sent(contract) == []
    steady_until(datetime(2026, 8, 22, 12, tzinfo=UTC))
    assert reminders_sent(contract) == [30]
    # The 30-day reminder went at the start of 22 Aug in Berlin: 21 Aug, 22:00 UTC.
    first = Notification.objects.get(contract=contract)
    assert first.created_at == datetime(2026, 8, 21, 22, tzinfo=UTC)
    assert "Decide by 21 Sep 2026" in first.subject
    steady_until(datetime(2026, 9, 14, 12, tzinfo=UTC))
    assert reminders_sent(contract) == [30, 7]
    before = terms.exit_cost(contract.terms(), date(2026, 9, 15)).exit_on
    with time_machine.travel(datetime(2026, 9, 15, 8, tzinfo=UTC), tick=False):
        vendors.decide_contract(
            contract=contract,
            by=team.user,
            kind="give_notice",
            reason="The rebuild moves in house.",
        )
    steady_until(datetime(2026, 10, 30, 12, tzinfo=UTC))
    assert reminders_sent(contract) == [30, 7]  # no 1-day reminder: the decision was taken
    contract.refresh_from_db()
    # Notice given: the exit is fixed on 21 Oct 2026 (the term's end) and does not slide with
    # the calendar as the earliest exit of an undecided contract does.
    later = contract.terms().earliest_exit(date(2026, 10, 30))
    assert before == later == date(2026, 10, 21)


def test_giving_notice_with_termination_for_convenience_moves_the_earliest_exit_forward(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user, termination_for_convenience=True)
        undecided = contract.terms().earliest_exit(date(2026, 9, 1))
        assert undecided == date(2026, 10, 1)  # notice today: a month from now
        decision = vendors.decide_contract(
            contract=contract, by=team.user, kind="give_notice", reason="Cut our losses."
        )
    assert decision.exit_on == date(2026, 10, 1)
    # A week later the undecided exit would be 8 Oct; the notice holds it at 1 Oct.
    assert contract.terms().earliest_exit(date(2026, 9, 8)) == date(2026, 10, 1)


def test_the_decide_by_date_passes_at_midnight_where_the_organization_is(owner):
    owner.org.time_zone = "Pacific/Auckland"  # UTC+12 in September
    owner.org.save()
    with time_machine.travel(START, tick=False):
        alerts.create_channel(org=owner.org, kind="email", name="Team e-mail")
        vendor = VendorFactory(org=owner.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, owner.user)
        e = EngagementFactory(
            org=owner.org, owner=owner.user, vendor=vendor, contract=contract, activated_at=START
        )
        marks.mark(e.pk)
    steady_until(START)
    steady_until(datetime(2026, 9, 19, 11, 59, tzinfo=UTC))  # 20 Sep, 23:59 in Auckland
    assert reminders_sent(contract) == [30, 7]
    steady_until(datetime(2026, 9, 19, 12, 0, tzinfo=UTC))  # 21 Sep has begun in Auckland
    assert reminders_sent(contract) == [30, 7, 1]


def test_a_contract_no_active_engagement_runs_under_is_reminded_by_the_hourly_pass(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user, auto_renews=False)
        EngagementFactory(
            org=team.org, vendor=vendor, contract=contract, status=EngagementStatus.PAUSED
        )
        assert reminders.remind_unwatched(at=START) == 1
        assert reminders.remind_unwatched(at=START) == 0  # once
        outbox.dispatch_outbox(at=START)
    reminder = Notification.objects.get(contract=contract)
    assert reminder.sequence == 30 and reminder.state == "sent"
    assert "ends on 21 Oct 2026 unless renewed" in mail.outbox[-1].body
    assert mail.outbox[-1].to == [team.user.email]  # who recorded it: the "owner" audience


def queued_reminder(team):
    """A healthy contract's first decide-by reminder, queued in the outbox at START."""
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
        reminders.remind_unwatched(at=START)
    return Notification.objects.get(contract=contract), contract


def as_claimed(row, *, kind: str, apprise_url: str = "") -> outbox.Claimed:
    """The reminder ``row`` as the outbox's claim reads it, for a channel of ``kind``."""
    return outbox.Claimed(
        pk=row.pk,
        org_id=row.org_id,
        channel_id=row.channel_id,
        kind=kind,
        url="",
        secret="",
        apprise_url=apprise_url,
        level=row.level,
        sequence=row.sequence,
        is_test=False,
        idempotency_key=row.idempotency_key,
        attempts=1,
        contract_id=row.contract_id,
        decide_by=row.decide_by,
        subject=row.subject,
        text=row.text,
    )


def test_a_reminder_webhook_names_the_contract_and_its_decide_by_date(team):
    row, _ = queued_reminder(team)
    claimed = as_claimed(row, kind="webhook")
    body = outbox.payload(claimed)
    assert body["event"] == "contract.decide_by"
    assert body["contract"]["decide_by"] == "2026-09-21"
    assert body["days_left"] == 30
    assert timezone.is_aware(row.created_at)


# --- what stopping really costs -----------------------------------------------------------------


def test_the_summary_counts_the_instalments_still_owed_until_the_earliest_exit(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    summary = alerts.loss_summary(engagement=e, at=START)
    # No termination for convenience: notice today ends it with the term, on 21 Oct; one
    # instalment (21 Sep) falls due before that, in the notice period.
    assert summary.exit.exit_on == date(2026, 10, 21)
    assert [(p.on, p.amount) for p in summary.exit.payments] == [
        (date(2026, 9, 21), Decimal("4000"))
    ]
    assert summary.exit.still_owed == Decimal("4000")
    # A month later the decide-by date has passed: a year of instalments more.
    assert summary.cost_of_waiting == Decimal("48000")


def test_the_summary_counts_unpaid_milestone_payments_due_before_the_exit(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(
            vendor,
            team.user,
            payment_schedule="milestones",
            termination_fee=Decimal("3000"),
            termination_for_convenience=True,
        )
    e = engagement_under(team, contract, failing=True)
    beta = MilestoneFactory(engagement=e, title="Beta", due_date=date(2026, 9, 15))
    DeliverableFactory(milestone=beta, value=Decimal("6000"))
    DeliverableFactory(milestone=beta, value=Decimal("4000"))
    SpendEntryFactory(engagement=e, milestone=beta, amount=Decimal("6000"), date=date(2026, 8, 30))
    launch = MilestoneFactory(engagement=e, title="Launch", due_date=date(2026, 9, 25))
    DeliverableFactory(milestone=launch, value=Decimal("8000"))
    later = MilestoneFactory(engagement=e, title="Phase 2", due_date=date(2026, 11, 30))
    DeliverableFactory(milestone=later, value=Decimal("5000"))
    summary = alerts.loss_summary(engagement=e, at=START)
    # Termination for convenience: notice today ends it on 1 Oct, with the fee.
    assert summary.exit.exit_on == date(2026, 10, 1)
    assert [(p.label, p.amount) for p in summary.exit.payments] == [
        ("Beta", Decimal("4000")),
        ("Launch", Decimal("8000")),
    ]
    assert summary.exit.termination_fee == Decimal("3000")
    assert summary.exit.still_owed == Decimal("15000")


def test_the_alert_page_shows_what_stopping_costs(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    with time_machine.travel(START, tick=False):
        watch.sweep(at=START)
        alert = e.alerts.get()
        page = team.client().get(f"/alerts/{alert.pk}/").text
    assert "What stopping costs" in page
    assert "Earliest exit, notice given today" in page
    assert "Cost of waiting one more month" in page
    assert "48,000 EUR" in page


def _terminate(e, by, at):
    with time_machine.travel(at, tick=False):
        alerts.terminate_engagement(engagement=e, by=by, reason="Silent for weeks.")
    return e.postmortem.facts["contract"]


def test_the_post_mortem_records_a_missed_notice_deadline_and_the_exit_cost(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    facts = _terminate(e, team.user, datetime(2026, 9, 25, 10, tzinfo=UTC))
    assert facts["notice_deadline_met"] is False
    assert facts["missed_decide_by"] == "2026-09-21"
    assert facts["exit_on"] == "2027-10-21"  # it renewed for a year
    assert facts["exit_cost"] == "48000.00"  # 12 instalments: 21 Oct 2026 to 21 Sep 2027


def test_the_post_mortem_records_a_notice_given_in_time(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
        vendors.decide_contract(
            contract=contract, by=team.user, kind="give_notice", reason="Not working."
        )
    e = engagement_under(team, contract, failing=True)
    facts = _terminate(e, team.user, datetime(2026, 9, 25, 10, tzinfo=UTC))
    assert facts["notice_deadline_met"] is True
    assert facts["notice_given_on"] == "2026-09-01"
    assert facts["exit_on"] == "2026-10-21"
    assert facts["exit_cost"] == "0.00"  # the 21 Sep instalment is behind us


# --- the calendar feed and the digest ----------------------------------------------------------


def test_the_calendar_feed_carries_each_contracts_decide_by_date(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, name="Acme Dev", status=VendorStatus.ACTIVE)
        contract_for(vendor, team.user)
        renewed = contract_for(vendor, team.user, title="Hosting")
        vendors.decide_contract(contract=renewed, by=team.user, kind="renew", reason="Works.")
        feed, _ = calendar.create_feed(org=team.org, user=team.user)
        events = {
            str(e["SUMMARY"]): e.decoded("DTSTART")
            for e in Calendar.from_ical(calendar.feed_ics(feed=feed)).walk("VEVENT")
        }
    summary = (
        "Decide by: Platform MSA (Acme Dev): without notice it renews on 21 Oct 2026 for "
        "12 months, 48,000 EUR"
    )
    assert events[summary] == date(2026, 9, 21)
    # Renewed: its next decision is a year on.
    hosting = [d for s, d in events.items() if s.startswith("Decide by: Hosting")]
    assert hosting == [date(2027, 9, 21)]


def test_the_daily_digest_lists_the_contract_decisions_due_even_without_alerts(team, mailoutbox):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, name="Acme Dev", status=VendorStatus.ACTIVE)
        contract_for(vendor, team.user)
        far = contract_for(vendor, team.user, title="Far away", end_date=date(2027, 6, 1))
    assert far.outlook(date(2026, 9, 1)).days_left > 30
    assert digest.send_digest(at=datetime(2026, 9, 1, 6, tzinfo=UTC)) == 1  # 08:00 in Berlin
    body = mailoutbox[0].body
    assert mailoutbox[0].subject == "1 contract decision due in " + team.org.name
    assert "Decide by 21 Sep 2026 (in 20 days): Platform MSA (Acme Dev) renews on 21 Oct" in body
    assert "Far away" not in body


def test_changing_a_contracts_terms_or_deciding_re_evaluates_the_engagements_under_it(team):
    from engagements.watch.models import WatchMark

    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    with time_machine.travel(START, tick=False):
        watch.sweep(at=START)
        WatchMark.objects.all().delete()
        vendors.update_contract(contract=contract, notice_period=25, notice_unit="days")
        assert WatchMark.objects.filter(engagement=e).exists()
        watch.sweep_marked(at=START)
        assert "decide by 26 Sep 2026" in signals_of(e)["decide_before_renewal"]["evidence"]
        vendors.decide_contract(contract=contract, by=team.user, kind="renew", reason="Fine.")
        watch.sweep_marked(at=START)
    assert "decide_before_renewal" not in signals_of(e)  # decided: the next term is a year away


def test_a_reminder_to_a_chat_channel_says_the_decision_not_that_the_channel_works(team):
    row, contract = queued_reminder(team)
    claimed = as_claimed(row, kind="apprise", apprise_url="json://127.0.0.1:9/")
    message = outbox.chat_message(claimed)
    assert message.title == row.subject and "This channel works" not in message.markdown()
    assert row.text.split("\n")[0] in message.markdown()
    assert message.link.endswith(f"/vendors/contracts/{contract.pk}/")


def test_a_renewal_withdrawn_before_the_decide_by_date_brings_back_reminders_and_the_signal(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
    e = engagement_under(team, contract, failing=True)
    with time_machine.travel(START, tick=False):
        marks.mark(e.pk)
    steady_until(START)
    assert reminders_sent(contract) == [30]
    with time_machine.travel(datetime(2026, 9, 10, 8, tzinfo=UTC), tick=False):
        renewal = vendors.decide_contract(
            contract=contract, by=team.user, kind="renew", reason="Too early to judge."
        )
    steady_until(datetime(2026, 9, 15, 7, tzinfo=UTC))
    assert reminders_sent(contract) == [30]  # decided: no 7-day reminder
    assert "decide_before_renewal" not in signals_of(e)
    with time_machine.travel(datetime(2026, 9, 15, 8, tzinfo=UTC), tick=False):
        vendors.withdraw_contract_decision(decision=renewal, by=team.user)
    steady_until(datetime(2026, 9, 15, 8, 1, tzinfo=UTC))
    # Undecided again with 6 days left: the 7-day reminder comes at once, and the signal.
    assert reminders_sent(contract) == [30, 7]
    assert "decide by 21 Sep 2026" in signals_of(e)["decide_before_renewal"]["evidence"]
    steady_until(datetime(2026, 9, 21, 12, tzinfo=UTC))
    assert reminders_sent(contract) == [30, 7, 1]


def test_notice_given_by_mistake_is_withdrawn_the_same_day_and_stands_once_the_contract_stops(
    team,
):
    late = datetime(2026, 10, 5, 9, tzinfo=UTC)  # past the decide-by date: notice for convenience
    with time_machine.travel(late, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user, termination_for_convenience=True)
        notice = vendors.decide_contract(
            contract=contract, by=team.user, kind="give_notice", reason="Wrong contract."
        )
        assert notice.exit_on == date(2026, 11, 5)
        vendors.withdraw_contract_decision(decision=notice, by=team.user)
        contract.refresh_from_db()
        assert contract.terms().notice is None
        notice = vendors.decide_contract(
            contract=contract, by=team.user, kind="give_notice", reason="Cut our losses."
        )
    stopped = datetime(2026, 11, 5, 9, tzinfo=UTC)
    with (
        time_machine.travel(stopped, tick=False),
        pytest.raises(Conflict, match="stopped on 5 Nov 2026 under this notice"),
    ):
        vendors.withdraw_contract_decision(decision=notice, by=team.user)
    assert contract.decisions.get() == notice


def test_a_renewal_stands_once_its_decide_by_date_has_passed(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user)
        renewal = vendors.decide_contract(
            contract=contract, by=team.user, kind="renew", reason="They deliver."
        )
    # 22 Sep in Berlin: the day after the decide-by date.
    with (
        time_machine.travel(datetime(2026, 9, 21, 22, 30, tzinfo=UTC), tick=False),
        pytest.raises(Conflict, match="21 Sep 2026, has passed: the decision stands"),
    ):
        vendors.withdraw_contract_decision(decision=renewal, by=team.user)
    with time_machine.travel(datetime(2026, 9, 21, 21, 30, tzinfo=UTC), tick=False):
        vendors.withdraw_contract_decision(decision=renewal, by=team.user)  # still the 21st
    assert not contract.decisions.exists()


def test_only_the_latest_decision_can_be_withdrawn(team):
    with time_machine.travel(START, tick=False):
        vendor = VendorFactory(org=team.org, status=VendorStatus.ACTIVE)
        contract = contract_for(vendor, team.user, auto_renews=False)
        first = vendors.decide_contract(
            contract=contract, by=team.user, kind="renew", reason="One more year."
        )
        vendors.decide_contract(
            contract=contract, by=team.user, kind="give_notice", reason="Then we stop."
        )
        with pytest.raises(Conflict, match="Withdraw the later decision first"):
            vendors.withdraw_contract_decision(decision=first, by=team.user)
    assert contract.decisions.count() == 2
