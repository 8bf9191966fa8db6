"""Demo vendors for a local run (``manage.py seed_demo``); idempotent."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo import DemoAccounts

from . import services
from .models import EvidenceKind, Vendor, VendorStatus

_VENDORS = [
    # name, specialties, rate, time zone, description
    (
        "Brightpixel Studio",
        "web development, design",
        Decimal("720"),
        "Europe/Lisbon",
        "A twelve-person Django and React agency; built two B2B onboarding flows we could see live.",
    ),
    (
        "Northwind Design Co.",
        "design, branding",
        Decimal("640"),
        "Europe/Berlin",
        "Product design and design systems; strong on research, slower on hand-over.",
    ),
    (
        "Harbor Data Co",
        "data engineering, analytics",
        Decimal("820"),
        "Europe/Amsterdam",
        "Data-warehouse specialists; moved two retailers' reporting off production.",
    ),
    (
        "Quickcode Labs",
        "web development, mobile",
        Decimal("310"),
        "Asia/Kolkata",
        "Offshore team met at a conference; promising rates, little proof so far.",
    ),
    (
        "Legacy Ops GmbH",
        "devops, hosting",
        Decimal("900"),
        "Europe/Vienna",
        "Ran our servers until 2025; offboarded after the migration.",
    ),
    (
        "Cheap & Fast Ltd",
        "web development",
        Decimal("150"),
        "Europe/London",
        "Could not name a single reference; trial task missed every deadline.",
    ),
]

# kind, summary, verified, scores, days ago, expires in days (None: no expiry)
_EVIDENCE = {
    "Brightpixel Studio": [
        (
            EvidenceKind.SAMPLE,
            "Walked us through the live onboarding they built for Tessera; code sample reviewed by our CTO.",
            True,
            {"expertise": 5, "previous_work": 5},
            180,
            None,
        ),
        (
            EvidenceKind.REFERENCE,
            "Reference call with Tessera's head of product: on time, honest about slips.",
            True,
            {"previous_work": 4, "communication": 5},
            175,
            300,
        ),
        (
            EvidenceKind.BUSINESS,
            "Explained our pricing model back to us and spotted the trial-to-paid gap.",
            True,
            {"business": 4},
            170,
            None,
        ),
        (
            EvidenceKind.TRIAL,
            "Paid two-day trial: a working prototype of the invite flow, tests included.",
            True,
            {"expertise": 4, "value": 4, "communication": 4},
            165,
            None,
        ),
        (
            EvidenceKind.INTERVIEW,
            "Calm, asked good questions about who signs off deliverables.",
            False,
            {"fit": 4},
            164,
            None,
        ),
        (
            EvidenceKind.GUT,
            "Would trust them with the onboarding rebuild.",
            False,
            {"gut": 4},
            164,
            None,
        ),
        (EvidenceKind.OTHER, "Professional liability insurance certificate.", True, {}, 160, -5),
    ],
    "Northwind Design Co.": [
        (
            EvidenceKind.SAMPLE,
            "Portfolio: the Ledgerly design system, Figma files shared with us.",
            True,
            {"expertise": 5, "previous_work": 4},
            90,
            None,
        ),
        (
            EvidenceKind.REFERENCE,
            "Ledgerly's design lead: great work, hand-over was two weeks late.",
            True,
            {"communication": 3, "previous_work": 4},
            85,
            280,
        ),
        (
            EvidenceKind.INTERVIEW,
            "Opinionated in a useful way.",
            False,
            {"fit": 4, "business": 3},
            80,
            None,
        ),
        (
            EvidenceKind.GUT,
            "Good designers; we must write hand-over into the contract.",
            False,
            {"gut": 3, "value": 3},
            80,
            None,
        ),
    ],
    "Harbor Data Co": [
        (
            EvidenceKind.REFERENCE,
            "Reference call with a retailer's CFO: reports matched the ledger from week one.",
            True,
            {"previous_work": 4, "communication": 4},
            130,
            None,
        ),
        (
            EvidenceKind.INTERVIEW,
            "Their lead engineer knew our stack; the team behind him is small.",
            False,
            {"expertise": 4, "fit": 3},
            125,
            None,
        ),
    ],
    "Quickcode Labs": [
        (
            EvidenceKind.INTERVIEW,
            "Says they have shipped 40 apps; no names they can share yet.",
            False,
            {"expertise": 3, "previous_work": 3},
            3,
            None,
        ),
        (
            EvidenceKind.GUT,
            "Friendly, but vague on who would actually work on it.",
            False,
            {"gut": 2},
            3,
            None,
        ),
    ],
    "Legacy Ops GmbH": [
        (
            EvidenceKind.REFERENCE,
            "Three years of hosting with one outage.",
            True,
            {"expertise": 4, "communication": 3},
            900,
            None,
        ),
    ],
    "Cheap & Fast Ltd": [
        (
            EvidenceKind.BACKGROUND,
            "Asked for two references; got none.",
            True,
            {"previous_work": 1},
            30,
            None,
        ),
        (
            EvidenceKind.TRIAL,
            "Paid trial: delivered half the task a week late.",
            True,
            {"expertise": 2, "communication": 1},
            20,
            None,
        ),
    ],
}

# approve, rationale, then, decided (days ago), then (days ago): dated before the engagements
# that use them start (the engagements' demo), never "now", so the history reads in order.
_DECISIONS = {
    "Brightpixel Studio": (
        True,
        "Best evidence of any candidate; verified samples and references.",
        VendorStatus.ACTIVE,
        156,
        151,
    ),
    "Northwind Design Co.": (
        True,
        "Strong design work; hand-over dates go into the contract.",
        VendorStatus.ACTIVE,
        76,
        71,
    ),
    "Harbor Data Co": (
        True,
        "The reference checks out; we accept the small team and name a replacement in the contract.",
        VendorStatus.ACTIVE,
        118,
        111,
    ),
    "Legacy Ops GmbH": (True, "Long track record.", VendorStatus.OFFBOARDED, 890, 200),
    "Cheap & Fast Ltd": (False, "No references and a failed trial.", None, 15, None),
}


@transaction.atomic
def seed_vendors(accounts: DemoAccounts) -> dict[str, Vendor]:
    """A few believable vendors in the demo organization (and one in the other); idempotent."""
    now = timezone.now()
    vendors: dict[str, Vendor] = {}
    for name, specialties, rate, tz, description in _VENDORS:
        vendor = Vendor.unscoped.filter(org=accounts.org, name=name).first()
        if vendor is None:
            vendor = services.create_vendor(
                org=accounts.org,
                by=accounts.manager,
                name=name,
                specialties=specialties,
                rate=rate,
                currency="EUR",
                time_zone=tz,
                description=description,
            )
            _seed_history(vendor, accounts, now)
        vendors[name] = vendor
    other = Vendor.unscoped.filter(org=accounts.other_org, name="Atlantic Devs").first()
    if other is None:
        other = services.create_vendor(
            org=accounts.other_org,
            by=accounts.outsider,
            name="Atlantic Devs",
            specialties="web development",
            currency="USD",
            description="The other organization's vendor: never visible in the demo organization.",
        )
    vendors["Atlantic Devs"] = other
    return vendors


def _seed_history(vendor: Vendor, accounts: DemoAccounts, now) -> None:
    services.add_contact(
        vendor=vendor,
        name=f"{vendor.name.split()[0]} Contact",
        role="Account lead",
        email=f"lead@{vendor.name.split()[0].lower()}.example",
        is_primary=True,
    )
    for kind, summary, verified, scores, days_ago, expires_in in _EVIDENCE.get(vendor.name, []):
        services.add_evidence(
            vendor=vendor,
            by=accounts.manager,
            kind=kind,
            summary=summary,
            verified=verified,
            scores=scores,
            recorded_at=now - timedelta(days=days_ago),
            expires_on=None if expires_in is None else (now + timedelta(days=expires_in)).date(),
        )
    decision = _DECISIONS.get(vendor.name)
    if decision is None:
        return
    approve, rationale, then, decided, then_days = decision
    services.decide(
        vendor=vendor,
        by=accounts.owner,
        approve=approve,
        rationale=rationale,
        override=True,
        at=now - timedelta(days=decided),
    )
    if then == VendorStatus.OFFBOARDED:
        services.change_status(
            vendor=vendor,
            by=accounts.owner,
            to=VendorStatus.ACTIVE,
            reason="Engaged.",
            at=now - timedelta(days=decided - 5),
        )
    if then:
        services.change_status(
            vendor=vendor,
            by=accounts.owner,
            to=then,
            reason="Engagement started."
            if then == VendorStatus.ACTIVE
            else "Migration finished; contract ended.",
            at=now - timedelta(days=then_days),
        )
    if vendor.name == "Brightpixel Studio":
        services.add_contract(
            vendor=vendor,
            by=accounts.owner,
            title="Onboarding rebuild: framework agreement",
            start_date=now.date() - timedelta(days=47),
            end_date=now.date() + timedelta(days=150),
            value=Decimal("48000"),
            currency="EUR",
            payment_terms="30 days net, per accepted milestone",
            notice_period=30,
            has_termination=True,
            has_acceptance=True,
            has_ip_ownership=True,
            has_confidentiality=True,
            has_payment_milestones=True,
            has_named_contacts=False,
        )
