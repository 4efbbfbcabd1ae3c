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
it is dropped first and its successor created after. The triggers are created after the
backfill, which the guard would refuse, from their SQL as frozen here when this migration was
written (:data:`TRIGGERS`); the live declarations in :mod:`verifactu.triggers`, which
:func:`factu.triggers.ensure` creates whenever one is missing, may move on, and a later
migration brings the change.
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


# Frozen from verifactu.triggers as this migration first made them: the live definitions
# (which ensure_triggers uses) may change; a migration does not.
TRIGGERS = (
    (
        "verifactu_chain_follows_head",
        "verifactu_billingrecord",
        {
            "postgresql": (
                """CREATE OR REPLACE FUNCTION verifactu_chain_follows_head() RETURNS trigger AS $$
                BEGIN
                  UPDATE verifactu_chain
    SET length = NEW.position,
        head_id = NEW.id,
        last_huella = NEW.huella,
        head_invoice_number = NEW.invoice_number,
        head_invoice_date_text = NEW.invoice_date_text,
        head_generated_at_text = NEW.generated_at_text
    WHERE id = NEW.chain_id;
                  RETURN NULL;
                END $$ LANGUAGE plpgsql""",
                """DROP TRIGGER IF EXISTS verifactu_chain_follows_head ON verifactu_billingrecord""",
                """CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON verifactu_billingrecord
                FOR EACH ROW EXECUTE FUNCTION verifactu_chain_follows_head()""",
            ),
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_chain_follows_head""",
                """CREATE TRIGGER verifactu_chain_follows_head AFTER INSERT ON verifactu_billingrecord
                BEGIN UPDATE verifactu_chain
    SET length = NEW.position,
        head_id = NEW.id,
        last_huella = NEW.huella,
        head_invoice_number = NEW.invoice_number,
        head_invoice_date_text = NEW.invoice_date_text,
        head_generated_at_text = NEW.generated_at_text
    WHERE id = NEW.chain_id; END""",
            ),
        },
    ),
    (
        "verifactu_record_kept",
        "verifactu_billingrecord",
        {
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_record_kept""",
                """CREATE TRIGGER verifactu_record_kept BEFORE DELETE ON verifactu_billingrecord
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, 'billing records are never deleted'); END""",
            ),
        },
    ),
    (
        "verifactu_event_kept",
        "verifactu_eventrecord",
        {
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_event_kept""",
                """CREATE TRIGGER verifactu_event_kept BEFORE DELETE ON verifactu_eventrecord
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, 'event records are never deleted'); END""",
            ),
        },
    ),
    (
        "verifactu_signature_kept",
        "verifactu_recordsignature",
        {
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_signature_kept""",
                """CREATE TRIGGER verifactu_signature_kept BEFORE DELETE ON verifactu_recordsignature
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, 'signatures are never deleted'); END""",
            ),
        },
    ),
    (
        "verifactu_chain_kept",
        "verifactu_chain",
        {
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_chain_kept""",
                """CREATE TRIGGER verifactu_chain_kept BEFORE DELETE ON verifactu_chain
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, 'chains are never deleted'); END""",
            ),
        },
    ),
    (
        "verifactu_signer_kept",
        "verifactu_signercertificate",
        {
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_signer_kept""",
                """CREATE TRIGGER verifactu_signer_kept BEFORE DELETE ON verifactu_signercertificate
                WHEN factu_deletes_allowed() IS NOT 1
                BEGIN SELECT RAISE(ABORT, 'signer certificates are never deleted'); END""",
            ),
        },
    ),
    (
        "verifactu_chain_follows_event_head",
        "verifactu_eventrecord",
        {
            "postgresql": (
                """CREATE OR REPLACE FUNCTION verifactu_chain_follows_event_head() RETURNS trigger AS $$
                BEGIN
                  UPDATE verifactu_chain
    SET events_length = NEW.position,
        last_event_huella = NEW.huella
    WHERE id = NEW.chain_id;
                  RETURN NULL;
                END $$ LANGUAGE plpgsql""",
                """DROP TRIGGER IF EXISTS verifactu_chain_follows_event_head ON verifactu_eventrecord""",
                """CREATE TRIGGER verifactu_chain_follows_event_head AFTER INSERT ON verifactu_eventrecord
                FOR EACH ROW EXECUTE FUNCTION verifactu_chain_follows_event_head()""",
            ),
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_chain_follows_event_head""",
                """CREATE TRIGGER verifactu_chain_follows_event_head AFTER INSERT ON verifactu_eventrecord
                BEGIN UPDATE verifactu_chain
    SET events_length = NEW.position,
        last_event_huella = NEW.huella
    WHERE id = NEW.chain_id; END""",
            ),
        },
    ),
    (
        "verifactu_chain_guard",
        "verifactu_chain",
        {
            "postgresql": (
                """CREATE OR REPLACE FUNCTION verifactu_chain_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'chains are never deleted';
              END IF;
              IF NEW.id <> OLD.id THEN
                RAISE EXCEPTION 'a chain keeps its id';
              END IF;
              IF (NEW.length IS DISTINCT FROM OLD.length OR NEW.head_id IS DISTINCT FROM OLD.head_id OR NEW.last_huella IS DISTINCT FROM OLD.last_huella OR NEW.head_invoice_number IS DISTINCT FROM OLD.head_invoice_number OR NEW.head_invoice_date_text IS DISTINCT FROM OLD.head_invoice_date_text OR NEW.head_generated_at_text IS DISTINCT FROM OLD.head_generated_at_text)
                 AND NOT EXISTS (SELECT 1 FROM verifactu_billingrecord r
    WHERE r.id = NEW.head_id AND r.chain_id = NEW.id AND r.position = OLD.length + 1
      AND r.position = NEW.length AND r.huella = NEW.last_huella
      AND r.invoice_number = NEW.head_invoice_number
      AND r.invoice_date_text = NEW.head_invoice_date_text
      AND r.generated_at_text = NEW.head_generated_at_text
      AND r.previous_id IS NOT DISTINCT FROM OLD.head_id) THEN
                RAISE EXCEPTION 'a chain''s record head only moves on to its next record';
              END IF;
              IF (NEW.events_length IS DISTINCT FROM OLD.events_length OR NEW.last_event_huella IS DISTINCT FROM OLD.last_event_huella)
                 AND NOT EXISTS (SELECT 1 FROM verifactu_eventrecord e
    WHERE e.chain_id = NEW.id AND e.position = NEW.events_length
      AND e.position = OLD.events_length + 1 AND e.huella = NEW.last_event_huella
      AND e.previous_huella = OLD.last_event_huella) THEN
                RAISE EXCEPTION 'a chain''s event head only moves on to its next event';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql""",
                """DROP TRIGGER IF EXISTS verifactu_chain_guard ON verifactu_chain""",
                """CREATE TRIGGER verifactu_chain_guard BEFORE UPDATE OR DELETE ON verifactu_chain
            FOR EACH ROW EXECUTE FUNCTION verifactu_chain_guard()""",
            ),
            "sqlite": (
                """DROP TRIGGER IF EXISTS verifactu_chain_guard""",
                """CREATE TRIGGER verifactu_chain_guard BEFORE UPDATE ON verifactu_chain
            BEGIN
              SELECT RAISE(ABORT, 'a chain keeps its id') WHERE NEW.id IS NOT OLD.id;
              SELECT RAISE(ABORT, 'a chain''s record head only moves on to its next record')
                WHERE (NEW.length IS NOT OLD.length OR NEW.head_id IS NOT OLD.head_id OR NEW.last_huella IS NOT OLD.last_huella OR NEW.head_invoice_number IS NOT OLD.head_invoice_number OR NEW.head_invoice_date_text IS NOT OLD.head_invoice_date_text OR NEW.head_generated_at_text IS NOT OLD.head_generated_at_text)
                AND NOT EXISTS (SELECT 1 FROM verifactu_billingrecord r
    WHERE r.id = NEW.head_id AND r.chain_id = NEW.id AND r.position = OLD.length + 1
      AND r.position = NEW.length AND r.huella = NEW.last_huella
      AND r.invoice_number = NEW.head_invoice_number
      AND r.invoice_date_text = NEW.head_invoice_date_text
      AND r.generated_at_text = NEW.head_generated_at_text
      AND r.previous_id IS OLD.head_id);
              SELECT RAISE(ABORT, 'a chain''s event head only moves on to its next event')
                WHERE (NEW.events_length IS NOT OLD.events_length OR NEW.last_event_huella IS NOT OLD.last_event_huella)
                AND NOT EXISTS (SELECT 1 FROM verifactu_eventrecord e
    WHERE e.chain_id = NEW.id AND e.position = NEW.events_length
      AND e.position = OLD.events_length + 1 AND e.huella = NEW.last_event_huella
      AND e.previous_huella = OLD.last_event_huella);
            END""",
            ),
        },
    ),
)


def create_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for _name, _table, create in TRIGGERS:
        for statement in create.get(vendor, ()):
            schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for name, table, create in TRIGGERS:
        if vendor not in create:
            continue
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")
        elif vendor == "sqlite":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


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
