"""Two reviewers at the same moment on a real database: exactly one wins, the other is told."""

import threading

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from engagements.delivery import services
from engagements.models import Deliverable, DeliverableTransition
from tests.factories import DeliverableFactory, MembershipFactory


@pytest.mark.postgres
def test_accept_and_reject_at_once_one_wins_the_other_is_told(postgres, transactional_db):
    deliverable = DeliverableFactory(status="submitted")
    reviewers = [MembershipFactory(org=deliverable.org).user for _ in range(2)]
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def review(to: str, user) -> None:
        with tenant_scope(deliverable.org):  # as each reviewer's request would be
            copy = Deliverable.objects.get(pk=deliverable.pk)  # both read version 1
            barrier.wait()
            try:
                services.transition_deliverable(
                    deliverable=copy, to=to, by=user, note="Not good enough", expected_version=1
                )
                outcomes[to] = "won"
            except services.Conflict:
                outcomes[to] = "told"
            finally:
                connection.close()

    threads = [
        threading.Thread(target=review, args=("accepted", reviewers[0])),
        threading.Thread(target=review, args=("rejected", reviewers[1])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)

    assert sorted(outcomes.values()) == ["told", "won"]
    final = Deliverable.objects.get(pk=deliverable.pk)
    winner = next(to for to, result in outcomes.items() if result == "won")
    assert final.status == winner and final.version == 2
    assert DeliverableTransition.objects.filter(deliverable=final).count() == 1
