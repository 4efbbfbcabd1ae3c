"""The exact number of an account's invoices without counting them (PostgreSQL).

Migration 0003 keeps ``invoicing_invoicecount`` (:class:`~invoicing.models.InvoiceCount`) in
step with ``invoicing_invoice`` by triggers, in the rows' own transaction: every path that
writes invoices is counted, not only the ones that would remember to update a counter.
Where that table is not there (SQLite, or a database built without migrations) the answer is
``None`` and callers count rows as before.
"""

from __future__ import annotations

from factu.triggers import count_table_present
from invoicing.models import InvoiceCount


def account_invoice_count(account_id) -> int | None:
    """Every invoice of the account, any status; ``None`` when only a row count can tell."""
    if not count_table_present(InvoiceCount._meta.db_table):
        return None
    found = InvoiceCount.objects.filter(account_id=account_id).values_list("invoices", flat=True)
    return next(iter(found), 0)
