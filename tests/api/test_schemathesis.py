"""The API against its own schema: schemathesis generates requests from /api/v1/openapi.json
(valid and invalid ones) and sends them to a live server on loopback.

Fails on any 5xx, any status code, content type or body the schema does not document, and
any answer that carries another organization's data (its rows all carry a marker text).
Bounded and derandomized: the same examples every run, well under two minutes.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from accounts.models import Role, TokenScope
from accounts.services import create_api_token
from tests import factories as f

MARKER = "OTHER-ORG-SECRET-51c2"


@pytest.fixture
def world(transactional_db, rate_limit):
    """Our organization with a little of everything, a write token, and a marked neighbour."""
    rate_limit("100000/min")
    org = f.OrganizationFactory(name="Fuzz Buyers", slug="fuzz")
    user = f.MembershipFactory(org=org, role=Role.MANAGER).user
    vendor = f.VendorFactory(org=org, name="Fuzz Vendor")
    f.VendorContactFactory(vendor=vendor)
    f.EvidenceFactory(vendor=vendor, score_expertise=4)
    engagement = f.EngagementFactory(org=org, vendor=vendor, owner=user)
    milestone = f.MilestoneFactory(engagement=engagement)
    planned = f.DeliverableFactory(milestone=milestone)
    f.DeliverableFactory(milestone=milestone, status="submitted")
    f.InteractionFactory(engagement=engagement)
    f.SpendEntryFactory(engagement=engagement)

    other = f.OrganizationFactory(name=f"{MARKER} org", slug="other")
    other_user = f.MembershipFactory(org=other, role=Role.OWNER).user
    their_vendor = f.VendorFactory(org=other, name=f"{MARKER} vendor", description=MARKER)
    f.VendorContactFactory(vendor=their_vendor, name=MARKER)
    f.EvidenceFactory(vendor=their_vendor, summary=MARKER)
    theirs = f.EngagementFactory(
        org=other, vendor=their_vendor, owner=other_user, title=MARKER, goal=MARKER
    )
    their_milestone = f.MilestoneFactory(engagement=theirs, title=MARKER)
    f.DeliverableFactory(milestone=their_milestone, title=MARKER, acceptance_criteria=MARKER)
    f.InteractionFactory(engagement=theirs, notes=MARKER)
    f.SpendEntryFactory(engagement=theirs, description=MARKER)
    from engagements.models import Alert

    alert = Alert.objects.create(org=org, engagement=engagement, level="warning")
    Alert.objects.create(org=other, engagement=theirs, level="cut_losses", note=MARKER)
    _, secret = create_api_token(org=org, user=user, name="fuzz", scope=TokenScope.WRITE)
    from tests.postmortems.conftest import published_lesson

    lesson = published_lesson(org, user, text="Check references before signing.")
    published_lesson(other, other_user, text=f"{MARKER} lesson")
    # Ids of our own rows, so generated requests also reach real objects, not only 404s.
    ids = {
        "vendor_id": vendor.pk,
        "engagement_id": engagement.pk,
        "deliverable_id": planned.pk,
        "alert_id": alert.pk,
        "postmortem_id": lesson.postmortem_id,
    }
    return secret, ids


@pytest.fixture
def rate_limit():
    from tests.api.test_auth import rate_limit as fixture

    yield from fixture.__wrapped__()


CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]
EXAMPLES = 20  # per operation and mode: 17 operations x 2 modes x 20, about a minute


def test_the_api_survives_its_own_schema(live_server, world):
    secret, ids = world
    api_schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 17

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, live_server.url, secret, ids)()
            except (Exception, BaseExceptionGroup) as exc:  # report every operation's failure
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): {exc}"
                )
    assert not failures, "\n\n".join(failures)


def fuzz(operation, mode: GenerationMode, base_url: str, secret: str, ids: dict):
    """A hypothesis test of one operation in one mode (positive: valid input; negative: not)."""

    @given(case=operation.as_strategy(generation_mode=mode), ours=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case, ours):
        if ours and mode == GenerationMode.POSITIVE and case.path_parameters:
            case.path_parameters = {k: ids[k] for k in case.path_parameters}
        response = case.call(
            base_url=base_url, headers={"Authorization": f"Bearer {secret}"}, timeout=10
        )
        case.validate_response(response, checks=CHECKS)
        assert MARKER not in response.text, "another organization's data in the answer"

    return run
