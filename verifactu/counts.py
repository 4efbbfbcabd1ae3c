"""The exact number of each taxpayer's fiscal invoices without counting them (PostgreSQL).

Migration 0020 keeps ``verifactu_fiscalinvoicecount`` (:class:`~verifactu.models.
FiscalInvoiceCount`) in step with ``verifactu_fiscalinvoice`` by statement-level triggers,
in the rows' own transaction (:func:`factu.triggers.row_count_triggers`). Counting them
instead is an index-only scan of every fiscal invoice of the account on every view of the
desk. Where the table is not there (SQLite, or a database built
without migrations) the answer is ``None`` and callers count rows.
"""

from __future__ import annotations

from collections.abc import Iterable

from factu.triggers import count_table_present
from verifactu.models import FiscalInvoiceCount


def fiscal_invoice_counts(taxpayer_ids: Iterable) -> dict | None:
    """Each taxpayer's fiscal invoices (any that has none is missing or 0); ``None`` when
    only a row count can tell."""
    if not count_table_present(FiscalInvoiceCount._meta.db_table):
        return None
    found = FiscalInvoiceCount.objects.filter(taxpayer_id__in=taxpayer_ids)
    return dict(found.values_list("taxpayer_id", "invoices"))
