"""The gestoría's ZIP of a quarter: issued invoices as PDFs, expenses as CSV, receipts.

Contents of ``factu-<NIF>-<year>-<q>T.zip``::

    facturas/<número>.pdf      every invoice issued in the quarter (cancelled ones too,
                               marked as such on the PDF), drawn by invoicing's renderer
    facturas-electronicas/<número>.ubl.xml, .facturae.xml
                               each one's stored e-invoices that are offered, only when
                               they were asked for
    facturas.csv               their list: number, date, client, amounts, status, origin
    gastos.csv                 the quarter's expenses (expenses.exports.expenses_csv)
    justificantes/...          each expense's receipt, named by date and description
    resumen-impuestos.csv      modelos 303 and 130 of the quarter and the 347 of the year

The file is written under ``MEDIA_ROOT/exports/`` (a temporary name, then renamed), and
served only by the download view to members of the job's account.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from django.conf import settings

from expenses import summaries
from expenses.exports import expenses_csv
from factu import jobs
from factu.models import Job
from factu.text import count_of
from invoicing import documents
from transfers import books
from transfers.books import (
    einvoice_members,
    invoice_row,
    invoices_csv,
    pdf_name,
    safe_name,
    unique_name,
)
from verifactu.events import log_export
from verifactu.models import BillingRecord
from verifactu.signatures import SigningUnavailable

EXPORT_DIR = "exports"


def period_invoices(job: Job):
    return books.for_pdf(
        books.quarter_invoices(job.taxpayer, job.params["year"], job.params["quarter"])
    )


def export_filename(job: Job) -> str:
    return f"factu-{job.taxpayer.nif}-{job.params['year']}-{job.params['quarter']}T.zip"


def build_zip(job: Job) -> None:
    year, quarter = job.params["year"], job.params["quarter"]
    taxpayer = job.taxpayer
    start, end = summaries.quarter_range(year, quarter)
    invoices = list(period_invoices(job))
    expenses = list(books.quarter_expenses(taxpayer, year, quarter))
    with_receipt = [e for e in expenses if e.receipt]
    with_einvoices = bool(job.params.get("einvoices"))
    einvoice_count = 0
    progress = jobs.Progress(job, len(invoices) + len(with_receipt) + 2)

    relative = f"{EXPORT_DIR}/{job.pk}.zip"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".zip.part")
    missing_receipts = []
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        used: set[str] = set()
        rows = []
        for invoice in invoices:
            _, _, data = documents.render_pdf(invoice)
            name = pdf_name(invoice, used)
            archive.writestr(name, data)
            rows.append(invoice_row(invoice, name))
            if with_einvoices:
                for member, content in einvoice_members(invoice, used):
                    archive.writestr(member, content)
                    einvoice_count += 1
            progress.advance()
        archive.writestr("facturas.csv", invoices_csv(rows))
        archive.writestr("gastos.csv", expenses_csv(expenses))
        progress.advance()
        for expense in with_receipt:
            label = expense.receipt_name or os.path.basename(expense.receipt.name)
            stem, ext = os.path.splitext(label)
            name = unique_name(
                f"justificantes/{expense.date:%Y-%m-%d}-{safe_name(expense.description, 40)}-"
                f"{safe_name(stem, 40)}{ext.lower() or '.bin'}",
                used,
            )
            try:
                with expense.receipt.open("rb") as handle:
                    archive.writestr(name, handle.read())
            except FileNotFoundError:
                missing_receipts.append(expense.description)
            progress.advance()
        archive.writestr("resumen-impuestos.csv", books.tax_summary_csv(taxpayer, year, quarter))
        progress.advance()
    fiscal_ids = [invoice.fiscal_invoice_id for invoice in invoices]
    try:
        log_export(BillingRecord.objects.filter(fiscal_invoice__in=fiscal_ids), period=(start, end))
    except SigningUnavailable as exc:  # the 08 cannot be signed: nothing is exported
        partial.unlink(missing_ok=True)
        message = f"No se ha generado el ZIP. {exc.message}"
        jobs.finish(job, {"message": message, "errors": [message]}, status=Job.Status.FAILED)
        return
    os.replace(partial, target)
    progress.flush()
    receipts = len(with_receipt) - len(missing_receipts)
    report = {
        "year": year,
        "quarter": quarter,
        "invoices": len(invoices),
        "expenses": len(expenses),
        "receipts": receipts,
        "einvoices": einvoice_count,
        "missing_receipts": missing_receipts,
        "size": target.stat().st_size,
        "filename": export_filename(job),
        "message": (
            f"ZIP listo: {count_of(len(invoices), 'factura', 'facturas')}, "
            f"{count_of(len(expenses), 'gasto', 'gastos')} y "
            f"{count_of(receipts, 'justificante', 'justificantes')}."
        ),
        "errors": [],
    }
    jobs.finish(job, report, result_path=relative)


def result_file(job: Job) -> Path | None:
    if not job.result_path:
        return None
    path = (Path(settings.MEDIA_ROOT) / job.result_path).resolve()
    root = (Path(settings.MEDIA_ROOT) / EXPORT_DIR).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path
