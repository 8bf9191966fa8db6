"""Two people save the same evidence entry at the same moment on PostgreSQL: one wins, the
other gets a conflict, and nothing is silently overwritten."""

import threading

import pytest
from django.db import connection

from accounts.tenancy import tenant_scope
from tests.factories import EvidenceFactory, VendorFactory
from vendors import services
from vendors.models import Evidence, EvidenceRevision, Vendor, VendorContact


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


def _at_once(*calls) -> list[str]:
    """Run the calls in two threads released together; each outcome is "ok" or its error."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call) -> None:
        try:
            barrier.wait()
            call()
            outcomes.append("ok")
        except Exception as exc:
            outcomes.append(type(exc).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    return sorted(outcomes)


@pytest.mark.postgres
def test_two_identical_vendor_creates_at_once_make_one_vendor_and_one_clean_refusal(
    postgres, transactional_db, manager
):
    def create(name: str):
        def call():
            with tenant_scope(manager.org):
                services.create_vendor(org=manager.org, by=manager.user, name=name)

        return call

    for _ in range(5):  # the race is not certain each time; it must never be an IntegrityError
        Vendor.unscoped.all().delete()
        assert _at_once(create("Acme Dev"), create("ACME DEV")) == ["Conflict", "ok"]
        assert Vendor.unscoped.count() == 1


@pytest.mark.postgres
def test_a_csv_import_confirmed_twice_at_once_imports_once(postgres, transactional_db, manager):
    rows = [
        {"name": n, "currency": "EUR", "website": "", "description": "", "specialties": ""}
        for n in ("Alpha", "Beta", "Gamma")
    ]

    def confirm():
        with tenant_scope(manager.org):
            services.import_vendors(org=manager.org, by=manager.user, rows=rows)

    for _ in range(5):
        Vendor.unscoped.all().delete()
        assert _at_once(confirm, confirm) == ["Conflict", "ok"]
        assert sorted(Vendor.unscoped.values_list("name", flat=True)) == ["Alpha", "Beta", "Gamma"]


@pytest.mark.postgres
def test_two_first_contacts_added_at_once_leave_exactly_one_primary(
    postgres, transactional_db, manager
):
    vendor = VendorFactory(org=manager.org)

    def add(name: str):
        return lambda: services.add_contact(vendor=vendor, name=name)

    for _ in range(5):
        VendorContact.unscoped.all().delete()
        assert _at_once(add("Ann"), add("Bob")) == ["ok", "ok"]
        assert VendorContact.unscoped.filter(vendor=vendor, is_primary=True).count() == 1
