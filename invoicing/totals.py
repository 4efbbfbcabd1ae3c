"""What an invoice adds up to, and what is still to be collected: the one definition every
screen and summary reads (the invoice list's footer, the overview's "Pendiente de cobro"
and its 12 months, the modelo 303 and 130).

* **Stored totals**: an invoice's totals and tax groups are recomputed from its stored
  lines with :func:`invoicing.taxes.compute_totals`, the arithmetic that stored them
  (:func:`recomputed`).
* **Declared**: an invoice counts once issued and while not cancelled (``sent``, ``paid``,
  ``overdue``); a draft never counts, an issued invoice cancelled later is annulled.
* **Netting**: a rectificativa counts with its sign. By differences (``I``) its amounts are
  the difference; by substitution (``S``) its amounts replace the original's, so its effect
  is its amounts less the original's (:func:`substituted_original`).
* **Pending collection**: the declared invoices not paid yet (``sent``, ``overdue``), each by
  its total less what was paid of it (:mod:`invoicing.payments`), where an invoice
  replaced by a declared substitute counts no longer (the substitute is what the client
  owes: the same netting as above), and a rectificativa
  counts only while its original is still to be collected: once the original is paid (or
  cancelled), a rectificativa of it is settled with the client apart (a refund or a
  further charge), not collected as part of the original. **Overdue** are those of them
  past their due date (:func:`overdue`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    F,
    Q,
    QuerySet,
    Sum,
    When,
)
from django.db.models.functions import Coalesce

from invoicing import taxes
from invoicing.models import (
    DECLARED_STATUSES,
    SUBSTITUTION,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Series,
    has_substitute,
)
from invoicing.payments import with_paid

UNPAID_STATUSES = (InvoiceStatus.SENT, InvoiceStatus.OVERDUE)


def recomputed(invoice: Invoice, lines: Sequence[InvoiceLine] | None = None) -> taxes.InvoiceTotals:
    """The invoice's totals and tax groups, from its stored lines (``lines`` when the caller
    already holds them)."""
    lines = list(invoice.lines.all()) if lines is None else lines
    return recomputed_from(
        [line.as_input() for line in lines],
        irpf_bp=invoice.irpf_bp,
        surcharge=invoice.surcharge,
        series_kind=invoice.series.kind,
    )


def recomputed_from(
    inputs: list[taxes.LineInput], *, irpf_bp: int, surcharge: bool, series_kind: str
) -> taxes.InvoiceTotals:
    """:func:`recomputed` from an invoice's columns and its lines' inputs, for a reader that
    loads columns instead of instances."""
    return taxes.compute_totals(
        inputs,
        irpf_bp=irpf_bp,
        surcharge=surcharge,
        rectificativa=series_kind == Series.Kind.RECTIFYING,
    )


def substituted_original(invoice: Invoice) -> Invoice | None:
    """The invoice whose amounts ``invoice`` replaces (a rectificativa by substitution), which
    its effect nets out; None for any other invoice."""
    if invoice.rectification_type == SUBSTITUTION and invoice.rectified_invoice_id:
        return invoice.rectified_invoice
    return None


def declared(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """The issued, not cancelled invoices among ``invoices``: those that count."""
    return invoices.filter(issued_at__isnull=False, status__in=DECLARED_STATUSES)


def netted(field: str) -> Case:
    """``field`` of an invoice less its original's when it substitutes it (an original that
    was cancelled counts no longer, so nothing of it is netted out)."""
    return Case(
        When(
            rectification_type=SUBSTITUTION,
            rectified_invoice__status__in=DECLARED_STATUSES,
            then=F(field) - F(f"rectified_invoice__{field}"),
        ),
        default=F(field),
        output_field=BigIntegerField(),
    )


@dataclass(frozen=True)
class Sums:
    """The netted sums of the invoices that count, in cents."""

    count: int
    base: int
    iva: int
    total: int


def declared_sums(invoices: QuerySet[Invoice]) -> Sums:
    """What the declared invoices among ``invoices`` add up to, rectificativas netted."""
    sums = declared(invoices).aggregate(
        count=Count("id"),
        base=Coalesce(Sum(netted("subtotal_cents")), 0),
        iva=Coalesce(Sum(netted("iva_cents")), 0),
        total=Coalesce(Sum(netted("total_cents")), 0),
    )
    return Sums(sums["count"], sums["base"], sums["iva"], sums["total"])


def unpaid(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """The invoices among ``invoices`` whose total is still to be collected."""
    return (
        declared(invoices)
        .filter(status__in=UNPAID_STATUSES)
        .filter(
            Q(rectified_invoice__isnull=True) | Q(rectified_invoice__status__in=UNPAID_STATUSES)
        )
        .filter(~has_substitute())
    )


def overdue(invoices: QuerySet[Invoice], today: date) -> QuerySet[Invoice]:
    """The unpaid invoices among ``invoices`` past their due date: marked overdue, or sent and
    due before ``today`` (the daily task that marks them may not have run yet)."""
    return unpaid(invoices).filter(
        Q(status=InvoiceStatus.OVERDUE) | Q(status=InvoiceStatus.SENT, due_date__lt=today)
    )


@dataclass(frozen=True)
class Pending:
    """Pending collection: how many invoices, and how much (with IVA, less IRPF)."""

    count: int
    cents: int


def pending_collection(invoices: QuerySet[Invoice]) -> Pending:
    """What the clients still owe of ``invoices`` (see the module's docstring): each unpaid
    invoice's total less what was paid of it already."""
    paid = Case(
        When(total_cents__lt=0, then=-F("paid_total")),
        default=F("paid_total"),
        output_field=BigIntegerField(),
    )
    sums = with_paid(unpaid(invoices)).aggregate(
        count=Count("id"), cents=Coalesce(Sum(F("total_cents") - paid), 0)
    )
    return Pending(sums["count"], sums["cents"])
