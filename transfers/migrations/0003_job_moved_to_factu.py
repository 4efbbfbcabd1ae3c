"""``Job`` now lives in ``factu`` (``factu/0005_job``, which kept and renamed its table):
``transfers`` forgets the model without touching the database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transfers", "0002_resubmit"),
        ("factu", "0005_job"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Job")],
            database_operations=[],
        ),
    ]
