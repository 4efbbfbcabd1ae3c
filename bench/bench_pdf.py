"""Benchmark: invoice PDFs rendered per second (invoicing/pdf.py), one core.

Renders one-page invoices (3 lines, QR tributario) and ten-page invoices (lines enough to
fill ten A4 pages), each with its own number and so its own QR URL: no QR is served from the
cache. Prints invoices/s for each of R runs and the median. Target: >= 50 one-page invoices/s.

    .venv/bin/python bench/bench_pdf.py [--quick] [--one N] [--ten N] [--runs R]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

from invoicing.pdf import (  # noqa: E402
    InvoiceDocument,
    InvoiceLine,
    InvoiceRenderer,
    Party,
    TaxGroup,
)

ISSUER = Party("Estudio Sol SL", "89890001K", address_lines=("Calle Mayor 1", "28013 Madrid"))
CLIENT = Party("Cliente Ñandú SA", "A28045631", address_lines=("Avda. Constitución 5", "Sevilla"))
TEN_PAGE_LINES = 380


def document(serial: int, lines: int) -> InvoiceDocument:
    number = f"2026-B-{serial:06d}"
    items = tuple(
        InvoiceLine(f"Servicio de consultoría, partida {i}", 150, 10000, 15000, tax_label="21 %")
        for i in range(lines)
    )
    base = 15000 * lines
    iva = base * 21 // 100
    irpf = base * 15 // 100
    total = base + iva - irpf
    return InvoiceDocument(
        number=number,
        issue_date=date(2026, 3, 13),
        due_date=date(2026, 4, 12),
        issuer=ISSUER,
        client=CLIENT,
        lines=items,
        tax_groups=(TaxGroup("IVA 21 %", base, 2100, iva),),
        subtotal_cents=base,
        iva_cents=iva,
        irpf_rate_bp=1500,
        irpf_cents=irpf,
        total_cents=total,
        payment_method="Transferencia bancaria",
        iban="ES9121000418450200051332",
        qr_url=(
            "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR?nif=89890001K"
            f"&numserie={number}&fecha=13-03-2026&importe={total // 100}.{total % 100:02d}"
        ),
    )


def pages(data: bytes) -> int:
    import pypdf

    return len(pypdf.PdfReader(io.BytesIO(data)).pages)


def measure(renderer: InvoiceRenderer, docs: list[InvoiceDocument]) -> float:
    start = time.perf_counter()
    for doc in docs:
        renderer.render(doc)
    return len(docs) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", type=int, default=200, help="one-page invoices per run")
    parser.add_argument("--ten", type=int, default=20, help="ten-page invoices per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="20 + 2 invoices, 1 run")
    args = parser.parse_args()
    if args.quick:
        args.one, args.ten, args.runs = 20, 2, 1

    renderer = InvoiceRenderer()
    renderer.render(document(0, 3))  # warm-up: styles, fonts, imports
    serial = 1
    rows = []
    for label, lines, count in (
        ("one-page", 3, args.one),
        ("ten-page", TEN_PAGE_LINES, args.ten),
    ):
        print(f"{label} invoices: {pages(renderer.render(document(0, lines))[2])} page(s) each")
        rates = []
        for run in range(args.runs):
            docs = [document(serial + i, lines) for i in range(count)]
            serial += count
            rate = measure(renderer, docs)
            rates.append(rate)
            print(f"  run {run + 1}: {count} in {count / rate:.2f} s = {rate:.1f} invoices/s")
        median = statistics.median(rates)
        print(f"{label}: median {median:.1f} invoices/s")
        one_page = label == "one-page"
        rows.append(
            common.row(
                "pdf",
                f"{label} invoice PDFs",
                rates,
                "invoices/s",
                "≥ 50 invoices/s" if one_page else None,
                common.at_least(median, 50) if one_page else None,
            )
        )
    common.report("pdf", rows, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
