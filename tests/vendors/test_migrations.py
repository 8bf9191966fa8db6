"""The migration that makes vendor names unique ignoring case keeps every existing vendor:
the later of two names that differ only by case is renamed, never dropped."""

import importlib

migration = importlib.import_module("vendors.migrations.0004_vendor_name_unique_ignoring_case")


def test_names_that_differ_only_by_case_are_renamed_not_lost():
    vendors = [
        (1, 10, "Acme Dev"),
        (2, 10, "acme dev"),
        (3, 10, "ACME DEV"),
        (4, 10, "acme dev (2)"),  # collides with the name vendor 2 was given
        (5, 20, "acme dev"),  # another organization: untouched
        (6, 10, "Beta"),
    ]
    assert migration.renames(vendors) == [
        (2, "acme dev (2)"),
        (3, "ACME DEV (3)"),
        (4, "acme dev (2) (2)"),
    ]


def test_a_long_name_stays_within_the_column():
    long = "x" * 200
    [(pk, name)] = migration.renames([(1, 1, long), (2, 1, long.upper())])
    assert pk == 2 and len(name) <= 200
