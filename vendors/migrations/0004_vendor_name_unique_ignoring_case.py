"""Vendor names become unique per organization whatever their case.

Until now the API could store "Acme" beside "acme" (the form and the CSV import refused
it). Before the index is built, the later of such vendors is renamed "acme (2)", so the
migration never fails on existing data and no vendor is lost.
"""

import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


def renames(vendors) -> list[tuple[int, str]]:
    """(pk, new name) for every vendor whose name an older vendor of its organization has,
    ignoring case; ``vendors`` is (pk, org_id, name) ordered by organization and pk."""
    taken: set[tuple[int, str]] = set()
    result: list[tuple[int, str]] = []
    for pk, org_id, name in vendors:
        key = (org_id, name.lower())
        if key in taken:
            n = 2
            while (org_id, f"{name[:190]} ({n})".lower()) in taken:
                n += 1
            name = f"{name[:190]} ({n})"
            result.append((pk, name))
            key = (org_id, name.lower())
        taken.add(key)
    return result


def rename_case_duplicates(apps, schema_editor):
    Vendor = apps.get_model("vendors", "Vendor")
    vendors = Vendor._base_manager.order_by("org_id", "pk").values_list("pk", "org_id", "name")
    for pk, name in renames(vendors.iterator()):
        Vendor._base_manager.filter(pk=pk).update(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_dashboard_cache"),
        ("vendors", "0003_vendor_updated_at_vendor_vendor_org_updated"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(rename_case_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="vendor",
            name="vendor_name_unique_per_org",
        ),
        migrations.AddConstraint(
            model_name="vendor",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                models.F("org"),
                name="vendor_name_ci_unique_per_org",
                violation_error_message="A vendor with this name already exists.",
            ),
        ),
    ]
