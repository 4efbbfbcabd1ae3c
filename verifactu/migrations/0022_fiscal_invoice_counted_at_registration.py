"""A taxpayer's fiscal invoices are counted when the registration record is inserted, not
when the fiscal invoice is (0020).

``register_invoice`` inserts the fiscal invoice *before* it takes the chain's lock. Counted
there, the ``INSERT … ON CONFLICT`` locked the taxpayer's count row from that statement to the
commit: a statement and a round trip longer than the chain lock, so the count row, not the
chain, became the queue of a busy taxpayer's registrations. The registration record is
inserted under the chain's lock, which already serialises them. One registration record per
fiscal invoice (``append_alta`` of ``register_invoice``; corrections and cancellations are
other record types), so the count is the same. Deletes, moves and truncates of fiscal invoices
are still counted on their table. The SQL is frozen here as first made;
:mod:`verifactu.triggers` declares the live triggers.
"""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_insert ON verifactu_fiscalinvoice;
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_inserted();

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_registered()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN 
    INSERT INTO verifactu_fiscalinvoicecount AS c (taxpayer_id, invoices)
    SELECT f.taxpayer_id, count(*)
    FROM inserted_records r JOIN verifactu_fiscalinvoice f ON f.id = r.fiscal_invoice_id
    WHERE r.record_type = 'registration'
    GROUP BY f.taxpayer_id
    ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
                    RETURN NULL;
                END $$;

DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_registered ON verifactu_billingrecord;

CREATE TRIGGER verifactu_fiscalinvoicecount_registered AFTER INSERT
                ON verifactu_billingrecord REFERENCING NEW TABLE AS inserted_records
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_registered();

LOCK TABLE verifactu_fiscalinvoice IN SHARE MODE;

DELETE FROM verifactu_fiscalinvoicecount;

INSERT INTO verifactu_fiscalinvoicecount (taxpayer_id, invoices)
    SELECT taxpayer_id, count(*) FROM verifactu_fiscalinvoice GROUP BY taxpayer_id;
"""

REVERSE = """
DROP TRIGGER IF EXISTS verifactu_fiscalinvoicecount_registered ON verifactu_billingrecord;
DROP FUNCTION IF EXISTS verifactu_fiscalinvoicecount_registered();

CREATE OR REPLACE FUNCTION verifactu_fiscalinvoicecount_inserted()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN 
    INSERT INTO verifactu_fiscalinvoicecount AS c (taxpayer_id, invoices)
    SELECT taxpayer_id, count(*) FROM inserted_rows GROUP BY taxpayer_id
    ON CONFLICT (taxpayer_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
                    RETURN NULL;
                END $$;

CREATE TRIGGER verifactu_fiscalinvoicecount_insert AFTER INSERT ON verifactu_fiscalinvoice REFERENCING NEW TABLE AS inserted_rows
                FOR EACH STATEMENT EXECUTE FUNCTION verifactu_fiscalinvoicecount_inserted();
"""


def forwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE)


class Migration(migrations.Migration):
    dependencies = [("verifactu", "0021_desk_inbox_index")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
