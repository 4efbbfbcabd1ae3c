"""A taxpayer's books of a quarter, as the gestoría's ZIPs carry them: one place for both.

The one-taxpayer ZIP (:mod:`transfers.exports`) and the quarter close of a whole account
(:mod:`transfers.quarter_close`) write ``facturas.csv``, ``gastos.csv`` and
``resumen-impuestos.csv`` through these functions, so the two can never disagree.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable, Sequence

from django.db.models import QuerySet

from clients.models import EInvoiceFormat
from expenses import summaries
from expenses.exports import csv_amount, csv_bytes, csv_text, summary_csv
from factu.models import Taxpayer
from invoicing import einvoices
from invoicing.imported import IMPORTED_SERIES_PREFIX
from invoicing.models import Invoice

INVOICE_HEADER = [
    "Número",
    "Fecha",
    "Tipo",
    "Cliente",
    "NIF cliente",
    "Base imponible",
    "Cuota IVA",
    "Recargo",
    "Retención IRPF",
    "Total",
    "Estado",
    "Origen",
    "Archivo",
]


def safe_name(text: str, limit: int = 80) -> str:
    """A file name anyone's unzip accepts: ASCII letters, digits, ``-``, ``_`` and ``.``."""
    text = unicodedata.normalize("NFKD", text or "")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return text[:limit] or "archivo"


def unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``… before its extension when ``used`` has it."""
    stem, ext = os.path.splitext(name)
    candidate, n = name, 2
    while candidate in used:
        candidate = f"{stem}-{n}{ext}"
        n += 1
    used.add(candidate)
    return candidate


def pdf_name(invoice: Invoice, used: set[str]) -> str:
    """The PDF's member name, relative to the taxpayer's folder of the ZIP."""
    return unique_name(f"facturas/{safe_name(invoice.number)}.pdf", used)


def einvoice_members(invoice: Invoice, used: set[str]) -> list[tuple[str, bytes]]:
    """The invoice's stored e-invoices that are offered, each as (member name relative to the
    taxpayer's folder, its bytes): ``facturas-electronicas/<número>.ubl.xml`` and
    ``.facturae.xml``, read through :func:`invoicing.einvoices.stored_file`."""
    members = []
    for format in EInvoiceFormat.values:
        found = einvoices.stored_file(invoice, format)
        if found is not None:
            name = f"facturas-electronicas/{safe_name(invoice.number)}.{format}.xml"
            members.append((unique_name(name, used), found.content))
    return members


def issued_in_quarter(account_id, year: int, quarter: int) -> QuerySet[Invoice]:
    """The account's invoices issued in the quarter (cancelled ones too)."""
    start, end = summaries.quarter_range(year, quarter)
    return Invoice.objects.filter(
        account_id=account_id,
        issued_at__isnull=False,
        issue_date__gte=start,
        issue_date__lte=end,
    )


def quarter_invoices(taxpayer: Taxpayer, year: int, quarter: int) -> QuerySet[Invoice]:
    """The taxpayer's invoices issued in the quarter (cancelled ones too), in book order.

    Only ``series`` is joined: the rows of ``facturas.csv`` need nothing more; the PDF
    renderer adds what it reads (:func:`for_pdf`)."""
    return (
        issued_in_quarter(taxpayer.account_id, year, quarter)
        .filter(taxpayer=taxpayer)
        .select_related("series")
        .order_by("issue_date", "number", "id")
    )


def for_pdf(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """``invoices`` with what rendering their PDFs reads, fetched by batch, not per row."""
    return invoices.select_related(
        "series", "taxpayer", "fiscal_invoice", "rectified_invoice"
    ).prefetch_related("lines")


def invoice_row(invoice: Invoice, filename: str = "") -> list[str]:
    """One row of ``facturas.csv``; ``filename`` names the invoice's PDF in the ZIP."""
    imported = invoice.series.code.startswith(IMPORTED_SERIES_PREFIX) and (
        invoice.fiscal_invoice_id is None
    )
    return [
        csv_text(invoice.number),
        f"{invoice.issue_date:%d/%m/%Y}",
        invoice.invoice_type,
        csv_text(invoice.client_name),
        csv_text(invoice.client_nif or invoice.client_foreign_id),
        csv_amount(invoice.subtotal_cents),
        csv_amount(invoice.iva_cents),
        csv_amount(invoice.surcharge_cents),
        csv_amount(invoice.irpf_cents),
        csv_amount(invoice.total_cents),
        invoice.get_status_display(),
        "Importada" if imported else "Factu (VERI*FACTU)",
        filename,
    ]


def invoices_csv(rows: Iterable[Sequence[str]]) -> bytes:
    """``facturas.csv`` from rows of :func:`invoice_row`."""
    return csv_bytes(INVOICE_HEADER, rows)


def quarter_expenses(taxpayer: Taxpayer, year: int, quarter: int):
    start, end = summaries.quarter_range(year, quarter)
    return summaries.taxpayer_expenses(taxpayer, start, end).select_related("category")


def tax_summary_csv(taxpayer: Taxpayer, year: int, quarter: int) -> bytes:
    """``resumen-impuestos.csv``: modelos 303 and 130 of the quarter, 347 of the year."""
    found = summaries.quarter_summaries(taxpayer, year, quarter)
    return summary_csv(found.m303, found.m130, found.m347)
