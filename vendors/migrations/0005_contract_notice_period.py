from django.db import migrations


class Migration(migrations.Migration):
    """The notice period gets a unit (days or months): the column keeps its numbers."""

    dependencies = [("vendors", "0004_vendor_name_unique_ignoring_case")]

    operations = [
        migrations.RenameField(model_name="contract", old_name="notice_days", new_name="notice_period"),
    ]
