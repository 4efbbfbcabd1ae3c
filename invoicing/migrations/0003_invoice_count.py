"""The exact number of invoices per account, kept by triggers, on PostgreSQL only.

The invoice list answers with the exact ``total``; unfiltered, that was ``count(*)`` over
every invoice of the account, which at 1,000,000 invoices costs 60-150 ms on 2 cores however
it is indexed (an index-only scan still visits every entry; bench/README.md). Statement-level
triggers keep ``invoicing_invoicecount`` in step within the same transaction as the rows
(insert, delete, an update that moves invoices to another account, truncate), so the count
is exact and read in O(1) by :func:`invoicing.counts.account_invoice_count`. The table has no
foreign key, so Django's flush and account deletion are unaffected. SQLite keeps counting
rows: nothing here.
"""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE TABLE IF NOT EXISTS invoicing_invoicecount (
    account_id uuid PRIMARY KEY,
    invoices bigint NOT NULL
);

CREATE OR REPLACE FUNCTION invoicing_invoicecount_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invoicing_invoicecount AS c (account_id, invoices)
    SELECT account_id, count(*) FROM inserted_rows GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION invoicing_invoicecount_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE invoicing_invoicecount AS c SET invoices = c.invoices - d.n
    FROM (SELECT account_id, count(*) AS n FROM deleted_rows GROUP BY account_id) AS d
    WHERE c.account_id = d.account_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION invoicing_invoicecount_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO invoicing_invoicecount AS c (account_id, invoices)
    SELECT account_id, sum(delta) FROM (
        SELECT n.account_id, 1 AS delta FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.account_id <> n.account_id
        UNION ALL
        SELECT o.account_id, -1 FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.account_id <> n.account_id
    ) AS moves GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION invoicing_invoicecount_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM invoicing_invoicecount;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS invoicing_invoicecount_insert ON invoicing_invoice;
CREATE TRIGGER invoicing_invoicecount_insert AFTER INSERT ON invoicing_invoice
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoicecount_inserted();
DROP TRIGGER IF EXISTS invoicing_invoicecount_delete ON invoicing_invoice;
CREATE TRIGGER invoicing_invoicecount_delete AFTER DELETE ON invoicing_invoice
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoicecount_deleted();
DROP TRIGGER IF EXISTS invoicing_invoicecount_update ON invoicing_invoice;
CREATE TRIGGER invoicing_invoicecount_update AFTER UPDATE ON invoicing_invoice
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoicecount_moved();
DROP TRIGGER IF EXISTS invoicing_invoicecount_truncate ON invoicing_invoice;
CREATE TRIGGER invoicing_invoicecount_truncate AFTER TRUNCATE ON invoicing_invoice
    FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoicecount_truncated();

LOCK TABLE invoicing_invoice IN SHARE MODE;
DELETE FROM invoicing_invoicecount;
INSERT INTO invoicing_invoicecount (account_id, invoices)
    SELECT account_id, count(*) FROM invoicing_invoice GROUP BY account_id;
"""

DROP = """
DROP TRIGGER IF EXISTS invoicing_invoicecount_insert ON invoicing_invoice;
DROP TRIGGER IF EXISTS invoicing_invoicecount_delete ON invoicing_invoice;
DROP TRIGGER IF EXISTS invoicing_invoicecount_update ON invoicing_invoice;
DROP TRIGGER IF EXISTS invoicing_invoicecount_truncate ON invoicing_invoice;
DROP FUNCTION IF EXISTS invoicing_invoicecount_moved();
DROP FUNCTION IF EXISTS invoicing_invoicecount_inserted();
DROP FUNCTION IF EXISTS invoicing_invoicecount_deleted();
DROP FUNCTION IF EXISTS invoicing_invoicecount_truncated();
DROP TABLE IF EXISTS invoicing_invoicecount;
"""


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0002_invoice_search_trigram")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
