"""Chain anchors: the chain row keeps its event head, and its heads only move forward.

``Chain.events_length`` and ``Chain.last_event_huella`` are added and backfilled from each
chain's event log, ``Chain.head_generated_at_text`` from each chain's head record. Then the
triggers of :mod:`verifactu.triggers` that this migration brings are created: the record
head follows each inserted record with its generation time too
(``verifactu_chain_follows_head``, replacing 0008's), the event head follows each inserted
event (``verifactu_chain_follows_event_head``),
a change of either head is refused unless it moves on to the chain's next item
(``verifactu_chain_guard``; on PostgreSQL it refuses deleting a chain too), and SQLite
refuses deleting records, events, signatures and chains (``verifactu_*_kept``) but in the
test runner's flush.

On SQLite adding the columns rebuilds ``verifactu_chain``, which the trigger of 0008 names:
it is dropped first and its successor created after. The triggers are created
from their declarations (:func:`factu.triggers.ensure` creates the same ones whenever one is
missing), after the backfill, which the guard would refuse.
"""

from importlib import import_module

from django.db import migrations, models

follows_head = import_module("verifactu.migrations.0008_chain_follows_its_head")


def backfill(apps, schema_editor):
    Chain = apps.get_model("verifactu", "Chain")
    EventRecord = apps.get_model("verifactu", "EventRecord")
    BillingRecord = apps.get_model("verifactu", "BillingRecord")
    for chain in Chain.objects.filter(head__isnull=False).only("head_id").iterator():
        generated = BillingRecord.objects.filter(pk=chain.head_id).values_list(
            "generated_at_text", flat=True
        )[0]
        Chain.objects.filter(pk=chain.pk).update(head_generated_at_text=generated)
    last = {}
    for chain_id, position, huella in (
        EventRecord.objects.order_by("chain_id", "position")
        .values_list("chain_id", "position", "huella")
        .iterator()
    ):
        last[chain_id] = (position, huella)
    for chain_id, (position, huella) in last.items():
        Chain.objects.filter(pk=chain_id).update(events_length=position, last_event_huella=huella)


def create_triggers(apps, schema_editor):
    from verifactu import triggers

    connection = schema_editor.connection
    wanted = [t for t in triggers.MADE_BY_0019 if connection.vendor in t.create]
    for trigger in wanted:
        for statement in trigger.create[connection.vendor]:
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    from verifactu import triggers

    connection = schema_editor.connection
    for trigger in triggers.MADE_BY_0019:
        if connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger.name} ON {trigger.table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {trigger.name}()")
        elif connection.vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger.name}")


class Migration(migrations.Migration):
    dependencies = [
        ("verifactu", "0018_signer_certificates"),
    ]

    operations = [
        migrations.RunPython(follows_head.drop, follows_head.create),
        migrations.AddField(
            model_name="chain",
            name="events_length",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="chain",
            name="last_event_huella",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="chain",
            name="head_generated_at_text",
            field=models.CharField(blank=True, max_length=25),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
