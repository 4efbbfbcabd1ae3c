"""The triggers of the invoices' table: the per-account count (PostgreSQL only).

``invoicing_invoicecount`` (:class:`~invoicing.models.InvoiceCount`) is kept exact by
statement-level triggers on ``invoicing_invoice``, in the rows' own transaction, whatever
writes the rows (an issue, an import's ``bulk_create``, a cascade, an ``INSERT … SELECT``):
no path has to remember a counter (migration 0003 made them; :mod:`factu.triggers`
re-creates a missing one, and then counts the rows again, since the count may have drifted
while it was gone). SQLite counts rows instead.
"""

from __future__ import annotations

from factu.triggers import register, row_count_triggers

register(*row_count_triggers("invoicing_invoice", "invoicing_invoicecount", "account_id"))
