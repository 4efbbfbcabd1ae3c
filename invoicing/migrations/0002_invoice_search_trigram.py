"""A trigram index for the invoice search, on PostgreSQL only.

Lists filter with ``search_text LIKE '%word%'`` (``search_text__contains``), which no btree
can serve: with 1,000,000 invoices the search and its exact count were a sequential scan of
the whole table (1.6 s, bench/README.md). A ``gin_trgm_ops`` index serves both the rows and
the count. ``pg_trgm`` is a trusted extension (PostgreSQL 13+), so the database owner may
create it. SQLite keeps its plain scan: the migration does nothing there.
"""

from __future__ import annotations

from django.db import migrations

INDEX = "invoice_search_trgm"


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON invoicing_invoice "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0001_initial")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
