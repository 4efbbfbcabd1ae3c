"""No index on ``Chain.head``: the head moves at every append, and with no index on the
columns it changes, PostgreSQL moves it with a HOT update (no new entries in the chain's
indexes, no dead ones for the lock's lookup by key to step over).

On SQLite this rebuilds ``verifactu_chain``, which the trigger of 0008 names: SQLite refuses
the rebuild while the trigger exists, so it is dropped first and created again after.
"""

from importlib import import_module

import django.db.models.deletion
from django.db import migrations, models

follows_head = import_module("verifactu.migrations.0008_chain_follows_its_head")


class Migration(migrations.Migration):
    dependencies = [
        ("verifactu", "0008_chain_follows_its_head"),
    ]

    operations = [
        migrations.RunPython(follows_head.drop, follows_head.create),
        migrations.AlterField(
            model_name="chain",
            name="head",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="verifactu.billingrecord",
            ),
        ),
        migrations.RunPython(follows_head.create, follows_head.drop),
    ]
