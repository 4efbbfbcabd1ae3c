"""Invoices issued elsewhere are stored by invoicing (invoicing.imported), numbered by the same
locked series counter every invoice takes its number from (SeriesCounter.take)."""

from __future__ import annotations

from datetime import date

from invoicing import imported, taxes
from invoicing.models import Invoice, InvoiceStatus, SeriesCounter


def _item(number: str, day: date, kind: str = "F1") -> imported.ImportedInvoice:
    line = taxes.LineInput(quantity=100, unit_price=10000, iva_type=taxes.GENERAL, cause="")
    return imported.ImportedInvoice(
        number=number,
        date=day,
        invoice_type=kind,
        line=line,
        totals=taxes.compute_totals([line]),
        irpf_bp=0,
        surcharge=False,
        status=InvoiceStatus.SENT,
        paid_at=None,
        due_date=None,
        description="",
        client=None,
        client_name="Mostrador",
        client_nif="",
        origin={"source": "test"},
    )


def test_the_series_counter_reserves_consecutive_numbers(taxpayer):
    series = imported.imported_series(taxpayer, "F1")
    assert SeriesCounter.take(series, 2025) == 1
    assert SeriesCounter.take(series, 2025, 3) == 2
    assert SeriesCounter.take(series, 2025) == 5
    assert SeriesCounter.take(series, 2024) == 1


def test_imported_invoices_take_their_sequence_from_the_counter_in_date_order(taxpayer, owner):
    series = imported.imported_series(taxpayer, "F1")
    SeriesCounter.take(series, 2025, 4)  # four imported before
    items = [
        _item("B", date(2025, 3, 1)),
        _item("A", date(2025, 1, 1)),
        _item("T", date(2025, 2, 1), kind="F2"),
        _item("C", date(2024, 12, 31)),
    ]
    numbered = imported.numbered_invoices(taxpayer, items, user=owner)
    assert {i.number: (inv.series.code, inv.year, inv.sequence) for i, inv in numbered} == {
        "A": ("IMPORTADA-F1", 2025, 5),
        "B": ("IMPORTADA-F1", 2025, 6),
        "C": ("IMPORTADA-F1", 2024, 1),
        "T": ("IMPORTADA-F2", 2025, 1),
    }
    Invoice.objects.bulk_create([invoice for _, invoice in numbered])
    imported.store_lines_and_events(numbered, user=owner)
    stored = imported.imported_invoices(taxpayer).get(number="A")
    assert stored.is_issued and stored.fiscal_invoice is None and stored.total_cents == 12100
    assert stored.lines.get().amount_cents == 10000
    assert stored.events.get().detail == {"source": "test"}
    assert SeriesCounter.objects.get(series=series, year=2025).next_number == 7
