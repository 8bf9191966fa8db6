"""factory_boy factories shared by all tests."""

import factory
from django.utils.text import slugify

from accounts.models import Invitation, Membership, Organization, Role, User, hash_token
from vendors.models import Vendor, VendorStatus

PASSWORD = "correct horse battery staple"


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    time_zone = "Europe/Berlin"
    currency = "EUR"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    org = factory.SubFactory(OrganizationFactory)
    role = Role.MANAGER


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    org = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.VIEWER
    token_hash = factory.Sequence(lambda n: hash_token(f"token-{n}"))


class VendorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vendor

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Vendor {n} Ltd")
    website = "https://vendor.example.com"
    status = VendorStatus.PROSPECT


# --- engagements ---------------------------------------------------------------------------
import datetime as _dt  # noqa: E402
from decimal import Decimal  # noqa: E402

from engagements.models import (  # noqa: E402
    Channel,
    Deliverable,
    Direction,
    Engagement,
    EngagementStatus,
    Interaction,
    Milestone,
    OpenQuestion,
    Outcome,
    Risk,
    ScopeChange,
    Side,
    SpendEntry,
)


class EngagementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Engagement

    org = factory.SubFactory(OrganizationFactory)
    vendor = factory.SubFactory(
        VendorFactory, org=factory.SelfAttribute("..org"), status=VendorStatus.ACTIVE
    )
    owner = factory.LazyAttribute(lambda e: MembershipFactory(org=e.org, role=Role.MANAGER).user)
    title = factory.Sequence(lambda n: f"Engagement {n}")
    goal = "Launch the self-service onboarding so sales stops doing it by hand."
    definition_of_done = "New customers onboard without a call; 90% finish in one session."
    budget = Decimal("50000.00")
    currency = "EUR"
    start_date = factory.LazyFunction(lambda: _dt.date.today() - _dt.timedelta(days=30))
    target_end_date = factory.LazyAttribute(lambda e: e.start_date + _dt.timedelta(days=120))
    status = EngagementStatus.ACTIVE


class MilestoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Milestone

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    title = factory.Sequence(lambda n: f"Milestone {n}")
    due_date = factory.LazyAttribute(lambda m: m.engagement.start_date + _dt.timedelta(days=30))
    position = factory.Sequence(lambda n: n)


class DeliverableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deliverable

    milestone = factory.SubFactory(MilestoneFactory)
    engagement = factory.SelfAttribute("milestone.engagement")
    org = factory.SelfAttribute("milestone.org")
    title = factory.Sequence(lambda n: f"Deliverable {n}")
    acceptance_criteria = "Works on the staging site; reviewed by product."
    due_date = factory.SelfAttribute("milestone.due_date")
    value = Decimal("10000.00")


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    channel = Channel.CALL
    direction = Direction.WE_TO_VENDOR
    outcome = Outcome.HELD
    comfort = 4


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Risk

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    description = "Lead developer leaves"


class ScopeChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScopeChange

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    what_changed = "CSV export added"
    why = "Finance asked"


class SpendEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SpendEntry

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    date = factory.LazyFunction(_dt.date.today)
    amount = Decimal("1000.00")
    currency = factory.SelfAttribute("engagement.currency")
    description = "Invoice"


class OpenQuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpenQuestion

    engagement = factory.SubFactory(EngagementFactory)
    org = factory.SelfAttribute("engagement.org")
    question = "Which payment provider should the checkout use?"
    owed_by = Side.US


# --- vendors: evidence, contacts, contracts ------------------------------------------------
from vendors.models import Contract, Evidence, EvidenceKind, VendorContact  # noqa: E402


class EvidenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Evidence

    vendor = factory.SubFactory(VendorFactory)
    org = factory.SelfAttribute("vendor.org")
    kind = EvidenceKind.REFERENCE
    summary = factory.Sequence(lambda n: f"Reference call {n}: delivered on time.")
    verified = True


class VendorContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VendorContact

    vendor = factory.SubFactory(VendorFactory)
    org = factory.SelfAttribute("vendor.org")
    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"contact{n}@vendor.example")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    vendor = factory.SubFactory(VendorFactory)
    org = factory.SelfAttribute("vendor.org")
    title = factory.Sequence(lambda n: f"Contract {n}")
