"""The invoice list as CSV for Excel (format: ``factu.spreadsheets``)."""

from __future__ import annotations

from collections.abc import Iterable

from factu.spreadsheets import csv_amount, csv_bytes, csv_text
from invoicing.models import Invoice

HEADER = [
    "Número",
    "Fecha",
    "Vencimiento",
    "Cliente",
    "NIF cliente",
    "Estado",
    "Base imponible",
    "IVA",
    "Recargo",
    "IRPF",
    "Total",
]


def invoices_csv(invoices: Iterable[Invoice]) -> bytes:
    rows = (
        [
            csv_text(i.number),
            f"{i.issue_date:%d/%m/%Y}",
            f"{i.due_date:%d/%m/%Y}" if i.due_date else "",
            csv_text(i.recipient_name),
            csv_text(i.recipient_nif),
            i.status_label,
            csv_amount(i.subtotal_cents),
            csv_amount(i.iva_cents),
            csv_amount(i.surcharge_cents),
            csv_amount(-i.irpf_cents),
            csv_amount(i.total_cents),
        ]
        for i in invoices
    )
    return csv_bytes(HEADER, rows)
