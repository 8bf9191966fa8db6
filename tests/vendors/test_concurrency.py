"""Two people save the same evidence entry at the same moment on PostgreSQL: one wins, the
other gets a conflict, and nothing is silently overwritten."""

import threading

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from tests.factories import EvidenceFactory, VendorFactory
from vendors import services
from vendors.models import Evidence, EvidenceRevision


@pytest.mark.postgres
def test_simultaneous_edits_of_one_entry_let_exactly_one_win(
    postgres, transactional_db, manager, owner
):
    evidence = EvidenceFactory(vendor=VendorFactory(org=manager.org), summary="Original.")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def edit(user, summary: str) -> None:
        with tenant_scope(manager.org):  # as each person's request would be
            edit_in_scope(user, summary)

    def edit_in_scope(user, summary: str) -> None:
        try:
            barrier.wait()
            services.update_evidence(
                evidence=Evidence.objects.get(pk=evidence.pk),
                by=user,
                version=1,
                summary=summary,
                kind="reference",
                link="",
                verified=True,
                recorded_at=evidence.recorded_at,
                expires_on=None,
                scores={},
            )
            outcomes.append(summary)
        except services.Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=edit, args=(manager.user, "Manager's edit.")),
        threading.Thread(target=edit, args=(owner.user, "Owner's edit.")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert len(outcomes) == 2 and outcomes.count("conflict") == 1
    winner = next(o for o in outcomes if o != "conflict")
    evidence.refresh_from_db()
    assert (evidence.summary, evidence.version) == (winner, 2)
    assert EvidenceRevision.objects.get().snapshot["summary"] == "Original."
