"""The exact number of an account's invoices without counting them (PostgreSQL).

Migration 0003 keeps ``invoicing_invoicecount`` in step with ``invoicing_invoice`` by
triggers, in the rows' own transaction. Where that table is not there (SQLite, or a database
built without migrations) the answer is ``None`` and callers count rows as before.
"""

from __future__ import annotations

from django.db import connection

TABLE = "invoicing_invoicecount"
_present: dict[str, bool] = {}


def _table_present() -> bool:
    if connection.vendor != "postgresql":
        return False
    name = connection.settings_dict["NAME"]
    if name not in _present:
        _present[name] = TABLE in connection.introspection.table_names()
    return _present[name]


def account_invoice_count(account_id) -> int | None:
    """Every invoice of the account, any status; ``None`` when only a row count can tell."""
    if not _table_present():
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT invoices FROM {TABLE} WHERE account_id = %s", [account_id])  # noqa: S608
        found = cursor.fetchone()
    return found[0] if found else 0
