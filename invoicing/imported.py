"""Invoices issued by another program, stored as issued invoices of Factu.

They were issued (and, if the law asked, registered) elsewhere, so Factu creates no VERI*FACTU
record for them. Each becomes an ordinary :class:`~invoicing.models.Invoice`, *issued*
(``issued_at`` set) with ``fiscal_invoice`` null, in an archived series of its kind
(``IMPORTADA-F1`` / ``IMPORTADA-F2``) that ``create_draft`` refuses to number new invoices
from. Its ``number`` is the original one (unique per taxpayer, as for any invoice); its
``sequence`` is taken from that series' counter (:meth:`SeriesCounter.take`, the numbering
every invoice uses), in date order. It has one line (the base at its tax type) whose totals
:func:`invoicing.taxes.compute_totals` gave, so every invariant of an issued invoice holds
(stored totals = lines' totals) and the summaries, the 347 and the PDF treat it like any
other. An ``InvoiceEvent`` ``imported`` says where it came from.

Storing is two calls around the caller's own insert of the rows (``transfers`` inserts in
bulk and reports a row the database refuses): :func:`numbered_invoices`, then
:func:`store_lines_and_events` for the rows inserted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.utils import timezone

from clients.models import Client
from factu.addresses import address_line
from factu.models import Taxpayer, User
from factu.text import normalize_search
from invoicing import taxes
from invoicing.models import (
    Invoice,
    InvoiceEvent,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    Series,
    SeriesCounter,
)

IMPORTED_SERIES_PREFIX = "IMPORTADA-"
IMPORTED_EVENT = "imported"
BATCH = 500


@dataclass
class ImportedInvoice:
    """An invoice issued elsewhere, checked: its one line and the totals computed from it."""

    number: str
    date: dt.date
    invoice_type: str
    line: taxes.LineInput
    totals: taxes.InvoiceTotals
    irpf_bp: int
    surcharge: bool
    status: str
    paid_at: dt.datetime | None
    due_date: dt.date | None
    description: str
    client: Client | None
    client_name: str
    client_nif: str
    origin: dict = field(default_factory=dict)  # the audit event's detail: where it came from


Item = TypeVar("Item", bound=ImportedInvoice)


def issued_at(day: dt.date) -> dt.datetime:
    """When an imported invoice counts as issued: noon of its date, in local time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def imported_series(taxpayer: Taxpayer, kind: str) -> Series:
    """The archived series that holds the taxpayer's imported invoices of ``kind``."""
    series, _ = Series.objects.get_or_create(
        taxpayer=taxpayer,
        code=f"{IMPORTED_SERIES_PREFIX}{kind}",
        defaults={
            "account": taxpayer.account,
            "kind": kind,
            "number_format": "{code}-{year}-{number}",
            "archived": True,
        },
    )
    return series


def numbered_invoices(
    taxpayer: Taxpayer, items: Sequence[Item], *, user: User | None
) -> list[tuple[Item, Invoice]]:
    """Unsaved invoices for ``items``, sequenced in date order within each imported series
    and year; the series' counters stay locked until the caller's transaction ends."""
    ordered = sorted(items, key=lambda i: (i.invoice_type, i.date))
    groups: dict[tuple[str, int], list[Item]] = {}
    for item in ordered:
        groups.setdefault((item.invoice_type, item.date.year), []).append(item)
    built: list[tuple[Item, Invoice]] = []
    for (kind, year), group in groups.items():
        series = imported_series(taxpayer, kind)
        first = SeriesCounter.take(series, year, len(group))
        for offset, item in enumerate(group):
            built.append((item, _invoice(taxpayer, item, series, first + offset, user)))
    return built


def _invoice(
    taxpayer: Taxpayer, item: ImportedInvoice, series: Series, sequence: int, user: User | None
) -> Invoice:
    client = item.client
    totals = item.totals
    return Invoice(
        account=taxpayer.account,
        taxpayer=taxpayer,
        series=series,
        year=item.date.year,
        sequence=sequence,
        number=item.number,
        invoice_type=item.invoice_type,
        status=item.status,
        issue_date=item.date,
        due_date=item.due_date,
        client=client,
        description=item.description,
        irpf_bp=item.irpf_bp,
        surcharge=item.surcharge,
        issuer_name=taxpayer.name,
        issuer_nif=taxpayer.nif,
        issuer_address=address_line(taxpayer),
        client_name=item.client_name[:120],
        client_nif=item.client_nif,
        client_country=client.country if client else "",
        client_id_type=client.id_type if client else "",
        client_foreign_id=client.foreign_id if client else "",
        client_address=address_line(client)[:300] if client else "",
        client_email=client.email if client else "",
        subtotal_cents=totals.subtotal_cents,
        iva_cents=totals.iva_cents,
        surcharge_cents=totals.surcharge_cents,
        irpf_cents=totals.irpf_cents,
        total_cents=totals.total_cents,
        issued_at=issued_at(item.date),
        paid_at=item.paid_at,
        search_text=normalize_search(
            " ".join(
                p for p in (item.number, item.description, item.client_name, item.client_nif) if p
            )
        ),
        created_by=user,
    )


def store_lines_and_events(
    stored: Sequence[tuple[ImportedInvoice, Invoice]], *, user: User | None
) -> None:
    """The line and the ``imported`` event of each invoice inserted, and the payment of its
    whole total when it came in paid (so that its balance is zero, as for any paid invoice).

    The lines go in bulk, so the issued-invoice guard of ``InvoiceLine.save`` (meant for
    edits after issue) does not apply to this first write.
    """
    lines, events, payments = [], [], []
    for item, invoice in stored:
        if invoice.status == InvoiceStatus.PAID and invoice.total_cents:
            payments.append(
                Payment(
                    account_id=invoice.account_id,
                    invoice=invoice,
                    date=timezone.localdate(invoice.paid_at),
                    amount_cents=abs(invoice.total_cents),
                    method=PaymentMethod.OTHER,
                    created_by=user,
                )
            )
        lines.append(
            InvoiceLine(
                invoice=invoice,
                position=1,
                description=item.description or f"Factura {item.number}",
                quantity=item.line.quantity,
                unit_price_cents=item.line.unit_price,
                iva_type=item.line.iva_type,
                cause=item.line.cause,
                amount_cents=item.totals.lines[0],
            )
        )
        events.append(
            InvoiceEvent(invoice=invoice, user=user, action=IMPORTED_EVENT, detail=item.origin)
        )
    InvoiceLine.objects.bulk_create(lines, batch_size=BATCH)
    InvoiceEvent.objects.bulk_create(events, batch_size=BATCH)
    Payment.objects.bulk_create(payments, batch_size=BATCH)


def imported_invoices(taxpayer: Taxpayer, start: dt.date | None = None, end: dt.date | None = None):
    """The taxpayer's imported invoices (optionally dated ``start``–``end``)."""
    invoices = Invoice.objects.filter(
        account=taxpayer.account,
        taxpayer=taxpayer,
        series__code__startswith=IMPORTED_SERIES_PREFIX,
        fiscal_invoice__isnull=True,
        issued_at__isnull=False,
    )
    if start:
        invoices = invoices.filter(issue_date__gte=start)
    if end:
        invoices = invoices.filter(issue_date__lte=end)
    return invoices
