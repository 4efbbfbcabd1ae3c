"""``BillingRecord.no_verifactu``: the record was generated in NO VERI*FACTU mode.

Adding a column makes SQLite rebuild the table, which drops its triggers: the immutability
trigger of 0002 is recreated here, and on both databases it now also guards the new column
(set once, when the record is created).
"""

from importlib import import_module

from django.db import migrations, models

immutability = import_module("verifactu.migrations.0002_immutability_triggers")


def recreate(apps, schema_editor):
    immutability.drop(apps, schema_editor)
    columns = immutability.COLUMNS
    immutability.COLUMNS = [*columns, "no_verifactu"]
    try:
        immutability.create(apps, schema_editor)
    finally:
        immutability.COLUMNS = columns


def restore(apps, schema_editor):
    immutability.drop(apps, schema_editor)
    immutability.create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("verifactu", "0004_event_log_and_signatures"),
    ]

    operations = [
        migrations.AddField(
            model_name="billingrecord",
            name="no_verifactu",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.RunPython(recreate, restore),
    ]
