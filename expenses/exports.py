"""CSV exports that Spanish Excel opens as they are: ``;``-separated, UTF-8 with a BOM, dates
``dd/mm/aaaa`` and amounts with a decimal comma and no thousands mark (``1210,00``).

Text cells that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR)
are prefixed with an apostrophe; amounts are written by :func:`csv_amount`, never escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from expenses.models import Expense
from expenses.summaries import Modelo130, Modelo303, ThirdParty
from invoicing.taxes import format_percent

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_amount(cents: int | None) -> str:
    """Cents as Excel-in-Spanish reads them: 121000 → ``1210,00``; None → empty."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"


def csv_text(value: str) -> str:
    value = value or ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def csv_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


EXPENSE_HEADER = [
    "Fecha",
    "Descripción",
    "Proveedor",
    "NIF proveedor",
    "Categoría",
    "Base imponible",
    "Tipo IVA",
    "Cuota IVA",
    "Total",
    "Deducible",
    "% deducible",
    "Pagado",
    "Justificante",
]


def expenses_csv(expenses: Iterable[Expense]) -> bytes:
    rows = (
        [
            f"{e.date:%d/%m/%Y}",
            csv_text(e.description),
            csv_text(e.supplier_name),
            csv_text(e.supplier_nif),
            csv_text(e.category.name if e.category else ""),
            csv_amount(e.base_cents),
            format_percent(e.iva_rate_bp) if e.iva_rate_bp is not None else "",
            csv_amount(e.iva_cents),
            csv_amount(e.amount_cents),
            "Sí" if e.is_deductible else "No",
            format_percent(e.deductible_bp) if e.is_deductible else "",
            "Sí" if e.paid else "No",
            "Sí" if e.receipt else "No",
        ]
        for e in expenses
    )
    return csv_bytes(EXPENSE_HEADER, rows)


def summary_csv(m303: Modelo303, m130: Modelo130, m347: Sequence[ThirdParty]) -> bytes:
    """One table: model, box, concept, amount; the 347 rows name the third party."""
    period = f"{m303.quarter}T {m303.year}"
    rows: list[list[str]] = []
    for model, summary in (("303", m303), ("130", m130)):
        for row in summary.rows():
            rows.append(
                [model, period, row.box, csv_text(row.label), "", "", csv_amount(row.cents)]
            )
    for party in m347:
        label = "Cliente" if party.key == "B" else "Proveedor"
        rows.append(
            [
                "347",
                str(m303.year),
                party.key,
                label,
                csv_text(party.nif),
                csv_text(party.name),
                csv_amount(party.total_cents),
            ]
        )
    return csv_bytes(["Modelo", "Periodo", "Casilla", "Concepto", "NIF", "Nombre", "Importe"], rows)
