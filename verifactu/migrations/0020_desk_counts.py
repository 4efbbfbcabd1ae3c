"""The desk's counts: each taxpayer's fiscal invoices kept by triggers, and an invoice's
records indexed in order.

* ``verifactu_fiscalinvoicecount`` (:class:`~verifactu.models.FiscalInvoiceCount`, PostgreSQL
  only): the number of fiscal invoices per taxpayer, kept exact by statement-level triggers in
  the rows' own transaction (insert, delete, a move to another taxpayer, truncate), then
  filled by counting once. The desk counted them on every view: an index-only scan of every
  fiscal invoice of the account. A registration pays one ``INSERT … ON CONFLICT`` of its
  taxpayer's row; registrations of one taxpayer are serialised by its chain already. The SQL
  is frozen here as first made; :mod:`verifactu.triggers` declares the live triggers.
* ``record_invoice_position`` ``(fiscal_invoice, position)`` in place of the foreign key's own
  index on ``fiscal_invoice_id`` (one index written per record, as before): "is there a later
  record of this invoice" is answered from the index, without reading the record.

Only the indexes change for the foreign key (``SeparateDatabaseAndState``): altering the field
would make SQLite rebuild ``verifactu_billingrecord`` and lose its triggers. The old index is
found by introspection, since its name is Django's hash.
"""

from django.db import migrations, models

CREATE = """
CREATE TABLE IF NOT EXISTS verifactu_fiscalinvoicecount (taxpayer_id uuid PRIMARY KEY, invoices bigint NOT NULL);

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_inserted()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN 
    INSERT INTO verifactu_fiscalinvoicecount AS c (taxpayer_id, invoices)
    SELECT taxpayer_id, count(*) FROM inserted_rows GROUP BY taxpayer_id
    ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
                    RETURN NULL;
                END $$;

DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_insert ON verifactu_fiscalinvoice;

CREATE TRIGGER verifactu_fiscalinvoicecount_insert AFTER INSERT ON verifactu_fiscalinvoice REFERENCING NEW TABLE AS inserted_rows
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_inserted();

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_deleted()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN 
    UPDATE verifactu_fiscalinvoicecount AS c SET invoices = c.invoices - d.n
    FROM (SELECT taxpayer_id, count(*) AS n FROM deleted_rows GROUP BY taxpayer_id) AS d
    WHERE c.taxpayer_id = d.taxpayer_id;
                    RETURN NULL;
                END $$;

DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_delete ON verifactu_fiscalinvoice;

CREATE TRIGGER verifactu_fiscalinvoicecount_delete AFTER DELETE ON verifactu_fiscalinvoice REFERENCING OLD TABLE AS deleted_rows
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_deleted();

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_moved()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN 
    INSERT INTO verifactu_fiscalinvoicecount AS c (taxpayer_id, invoices)
    SELECT taxpayer_id, sum(delta) FROM (
        SELECT n.taxpayer_id, 1 AS delta FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.taxpayer_id <> n.taxpayer_id
        UNION ALL
        SELECT o.taxpayer_id, -1 FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.taxpayer_id <> n.taxpayer_id
    ) AS moves GROUP BY taxpayer_id
    ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
                    RETURN NULL;
                END $$;

DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_update ON verifactu_fiscalinvoice;

CREATE TRIGGER verifactu_fiscalinvoicecount_update AFTER UPDATE ON verifactu_fiscalinvoice REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_moved();

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_truncated()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN DELETE FROM verifactu_fiscalinvoicecount;
                    RETURN NULL;
                END $$;

DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_truncate ON verifactu_fiscalinvoice;

CREATE TRIGGER verifactu_fiscalinvoicecount_truncate AFTER TRUNCATE ON verifactu_fiscalinvoice 
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_truncated();

LOCK TABLE verifactu_fiscalinvoice IN SHARE MODE;

DELETE FROM verifactu_fiscalinvoicecount;

INSERT INTO verifactu_fiscalinvoicecount (taxpayer_id, invoices)
    SELECT taxpayer_id, count(*) FROM verifactu_fiscalinvoice GROUP BY taxpayer_id;
"""

DROP = """
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_insert ON verifactu_fiscalinvoice;
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_delete ON verifactu_fiscalinvoice;
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_update ON verifactu_fiscalinvoice;
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_truncate ON verifactu_fiscalinvoice;
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_inserted();
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_deleted();
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_moved();
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_truncated();
DROP TABLE IF EXISTS verifactu_fiscalinvoicecount;
"""


def create_counts(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_counts(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def _old_indexes(schema_editor, model) -> list[str]:
    with schema_editor.connection.cursor() as cursor:
        found = schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name
        for name, info in found.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and info["columns"] == ["fiscal_invoice_id"]
    ]


def drop_index(apps, schema_editor) -> None:
    model = apps.get_model("verifactu", "billingrecord")
    for name in _old_indexes(schema_editor, model):
        schema_editor.execute(schema_editor._delete_index_sql(model, name))


def create_index(apps, schema_editor) -> None:
    model = apps.get_model("verifactu", "billingrecord")
    field = model._meta.get_field("fiscal_invoice")
    schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
    dependencies = [("verifactu", "0019_chain_anchors")]

    operations = [
        migrations.CreateModel(
            name="FiscalInvoiceCount",
            fields=[
                ("taxpayer_id", models.UUIDField(primary_key=True, serialize=False)),
                ("invoices", models.BigIntegerField()),
            ],
            options={"db_table": "verifactu_fiscalinvoicecount", "managed": False},
        ),
        migrations.RunPython(create_counts, drop_counts, elidable=False),
        migrations.AddIndex(
            model_name="billingrecord",
            index=models.Index(
                fields=["fiscal_invoice", "position"], name="record_invoice_position"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="billingrecord",
                    name="fiscal_invoice",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=models.deletion.PROTECT,
                        related_name="records",
                        to="verifactu.fiscalinvoice",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
