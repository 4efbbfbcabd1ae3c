"""The exact number of an account's invoices without counting them (PostgreSQL).

Migration 0003 keeps ``invoicing_invoicecount`` (:class:`~invoicing.models.InvoiceCount`) in
step with ``invoicing_invoice`` by triggers, in the rows' own transaction: every path that
writes invoices is counted, not only the ones that would remember to update a counter.
Where that table is not there (SQLite, or a database built without migrations) the answer is
``None`` and callers count rows as before.
"""

from __future__ import annotations

from django.db import connection

from invoicing.models import InvoiceCount

_present: dict[str, bool] = {}


def _table_present() -> bool:
    if connection.vendor != "postgresql":
        return False
    name = connection.settings_dict["NAME"]
    if name not in _present:
        _present[name] = InvoiceCount._meta.db_table in connection.introspection.table_names()
    return _present[name]


def account_invoice_count(account_id) -> int | None:
    """Every invoice of the account, any status; ``None`` when only a row count can tell."""
    if not _table_present():
        return None
    found = InvoiceCount.objects.filter(account_id=account_id).values_list("invoices", flat=True)
    return next(iter(found), 0)
