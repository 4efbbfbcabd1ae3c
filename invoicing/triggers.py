"""The triggers of the invoices' table: the per-account count (PostgreSQL only).

``invoicing_invoicecount`` (:class:`~invoicing.models.InvoiceCount`) is kept exact by
statement-level triggers on ``invoicing_invoice``, in the rows' own transaction, whatever
writes the rows (an issue, an import's ``bulk_create``, a cascade, an ``INSERT … SELECT``):
no path has to remember a counter (migration 0003 made them; :mod:`factu.triggers`
re-creates a missing one, and then counts the rows again, since the count may have drifted
while it was gone). SQLite counts rows instead.
"""

from __future__ import annotations

from factu.triggers import Trigger, register

TABLE = "CREATE TABLE IF NOT EXISTS invoicing_invoicecount (account_id uuid PRIMARY KEY, invoices bigint NOT NULL)"  # noqa: E501
RECOUNT = (
    "LOCK TABLE invoicing_invoice IN SHARE MODE",
    "DELETE FROM invoicing_invoicecount",
    """INSERT INTO invoicing_invoicecount (account_id, invoices)
    SELECT account_id, count(*) FROM invoicing_invoice GROUP BY account_id""",
)
FUNCTIONS = {
    "inserted": """
    INSERT INTO invoicing_invoicecount AS c (account_id, invoices)
    SELECT account_id, count(*) FROM inserted_rows GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;""",
    "deleted": """
    UPDATE invoicing_invoicecount AS c SET invoices = c.invoices - d.n
    FROM (SELECT account_id, count(*) AS n FROM deleted_rows GROUP BY account_id) AS d
    WHERE c.account_id = d.account_id;""",
    "moved": """
    INSERT INTO invoicing_invoicecount AS c (account_id, invoices)
    SELECT account_id, sum(delta) FROM (
        SELECT n.account_id, 1 AS delta FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.account_id <> n.account_id
        UNION ALL
        SELECT o.account_id, -1 FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE o.account_id <> n.account_id
    ) AS moves GROUP BY account_id
    ON CONFLICT (account_id) DO UPDATE SET invoices = c.invoices + excluded.invoices;""",
    "truncated": "DELETE FROM invoicing_invoicecount;",
}


def count_trigger(event: str, function: str, referencing: str, does: str) -> Trigger:
    name = f"invoicing_invoicecount_{event.split()[0].lower()}"
    return Trigger(
        name=name,
        table="invoicing_invoice",
        does=does,
        create={
            "postgresql": (
                TABLE,
                f"""CREATE OR REPLACE FUNCTION invoicing_invoicecount_{function}()
                RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN {FUNCTIONS[function]}
                    RETURN NULL;
                END $$""",
                f"DROP TRIGGER IF EXISTS {name} ON invoicing_invoice",
                f"""CREATE TRIGGER {name} AFTER {event} ON invoicing_invoice {referencing}
                FOR EACH STATEMENT EXECUTE FUNCTION invoicing_invoicecount_{function}()""",
                *RECOUNT,
            )
        },
    )


register(
    count_trigger(
        "INSERT", "inserted", "REFERENCING NEW TABLE AS inserted_rows", "counts inserted invoices"
    ),
    count_trigger(
        "DELETE", "deleted", "REFERENCING OLD TABLE AS deleted_rows", "uncounts deleted invoices"
    ),
    count_trigger(
        "UPDATE",
        "moved",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "moves the count of invoices moved to another account",
    ),
    count_trigger("TRUNCATE", "truncated", "", "empties the counts"),
)
