"""CSV exports of expenses and of the quarterly summaries (format: ``factu.spreadsheets``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from expenses.models import Expense
from expenses.summaries import Modelo130, Modelo303, ThirdParty
from factu.spreadsheets import BOM, csv_amount, csv_bytes, csv_response, csv_text
from invoicing.taxes import format_percent

__all__ = ["BOM", "csv_amount", "csv_bytes", "csv_response", "csv_text"]


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


def summary_csv(m303: Modelo303, m130: Modelo130 | None, m347: Sequence[ThirdParty]) -> bytes:
    """One table: model, box, concept, amount; the 347 rows name the third party. No 130
    rows for a taxpayer who does not file it (``m130`` is ``None``)."""
    period = f"{m303.quarter}T {m303.year}"
    rows: list[list[str]] = []
    for model, summary in (("303", m303), ("130", m130)):
        if summary is None:
            continue
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
