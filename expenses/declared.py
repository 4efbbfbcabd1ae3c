"""The declared invoices of a period as the tax summaries read them: columns, not instances.

The 303, 130 and 347 of a busy taxpayer read thousands of the year's declared invoices and
their lines. As model instances (each invoice with its series, its
original when it substitutes one, and its lines) building them was most of the page's time;
the summaries read a dozen columns of each invoice and the inputs of its lines. Here one
query reads those columns of the invoices (and of the original a substitution nets out, by
a join) and one reads their lines' inputs. The arithmetic stays where it is:
:func:`invoicing.totals.recomputed_from` (the invoice's groups, as they were stored) and
:mod:`expenses.summaries` (what each summary adds). Which invoices count is
:func:`invoicing.totals.declared`'s rule.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from django.db.models import QuerySet

from factu.models import Taxpayer
from invoicing import taxes, totals
from invoicing.models import SUBSTITUTION, Invoice, InvoiceLine

# The columns of an invoice the summaries read, in DeclaredInvoice's order after ``id``.
COLUMNS = (
    "issue_date",
    "irpf_bp",
    "surcharge",
    "series__kind",
    "rectification_type",
    "rectified_invoice_id",
    "cash_criterion",
    "subtotal_cents",
    "iva_cents",
    "surcharge_cents",
    "irpf_cents",
    "client_nif",
    "client_name",
)


@dataclass(eq=False)
class DeclaredInvoice:
    """What the summaries read of one invoice (the names are the model's, so the summaries
    take an :class:`~invoicing.models.Invoice` or this alike)."""

    id: uuid.UUID
    issue_date: date
    irpf_bp: int
    surcharge: bool
    series_kind: str
    rectification_type: str
    rectified_invoice_id: uuid.UUID | None
    cash_criterion: bool
    subtotal_cents: int
    iva_cents: int
    surcharge_cents: int
    irpf_cents: int
    client_nif: str
    client_name: str
    inputs: list[taxes.LineInput] = field(default_factory=list)
    rectified_invoice: DeclaredInvoice | None = None

    def recomputed(self) -> taxes.InvoiceTotals:
        """Its totals and tax groups from its lines, as :func:`invoicing.totals.recomputed`."""
        return totals.recomputed_from(
            self.inputs,
            irpf_bp=self.irpf_bp,
            surcharge=self.surcharge,
            series_kind=self.series_kind,
        )


def declared_in(taxpayer: Taxpayer, start: date, end: date) -> QuerySet[Invoice]:
    """The taxpayer's issued, not annulled invoices dated ``start``–``end``."""
    return totals.declared(
        Invoice.objects.filter(
            account=taxpayer.account,
            taxpayer=taxpayer,
            issue_date__gte=start,
            issue_date__lte=end,
        )
    )


def declared_rows(taxpayer: Taxpayer, start: date, end: date) -> list[DeclaredInvoice]:
    """The taxpayer's issued, not annulled invoices dated ``start``–``end``, by date and
    number, each with its lines' inputs and, when it substitutes one, its original's."""
    originals = tuple(f"rectified_invoice__{column}" for column in COLUMNS)
    declared = declared_in(taxpayer, start, end)
    rows = declared.order_by("issue_date", "sequence").values_list("id", *COLUMNS, *originals)
    invoices: list[DeclaredInvoice] = []
    width = 1 + len(COLUMNS)
    for row in rows:
        invoice = DeclaredInvoice(*row[:width])
        if invoice.rectification_type == SUBSTITUTION and invoice.rectified_invoice_id:
            invoice.rectified_invoice = DeclaredInvoice(invoice.rectified_invoice_id, *row[width:])
        invoices.append(invoice)
    _add_lines(invoices, declared)
    return invoices


def _add_lines(invoices: list[DeclaredInvoice], declared: QuerySet[Invoice]) -> None:
    """Each invoice's and original's line inputs, from one query that selects the invoices
    again in SQL (a list of thousands of ids as parameters cost more than the query)."""
    if not invoices:
        return  # nothing declared in the period: no lines to read
    by_id: dict[uuid.UUID, list[DeclaredInvoice]] = defaultdict(list)
    for invoice in invoices:
        by_id[invoice.id].append(invoice)
        if invoice.rectified_invoice is not None:
            by_id[invoice.rectified_invoice.id].append(invoice.rectified_invoice)
    ids = (
        declared.order_by()
        .values("id")
        .union(
            declared.filter(rectification_type=SUBSTITUTION)
            .order_by()
            .values("rectified_invoice_id"),
            all=True,
        )
    )
    lines = (
        InvoiceLine.objects.filter(invoice_id__in=ids)
        .order_by("invoice_id", "position")
        .values_list("invoice_id", *InvoiceLine.INPUT_COLUMNS)
    )
    for invoice_id, *columns in lines:
        line = InvoiceLine.input_of(*columns)
        for invoice in by_id.get(invoice_id, ()):
            invoice.inputs.append(line)
