"""The quarter close: one ZIP of a quarter for every taxpayer of an account, as one job.

Contents of ``factu-<cuenta>-<year>-<q>T.zip``::

    contribuyentes.csv                 one row per taxpayer: its counts and totals
    <NIF>/facturas.csv                 the books of each taxpayer (transfers.books, the same
    <NIF>/gastos.csv                   functions as the one-taxpayer ZIP)
    <NIF>/resumen-impuestos.csv
    <NIF>/registros/<...>.xml          the stored XML of each billing record of the quarter's
                                       invoices (a NO VERI*FACTU record's signed copy)
    <NIF>/facturas/<número>.pdf        only when the PDFs were asked for

Memory stays flat whatever the account's size: the ZIP is written member by member, each
query is read by chunks (``iterator``), and nothing holds more than one taxpayer's rows of
``facturas.csv``. The PDFs are rendered across the worker pool: while the books are written,
each run of ``TRANSFERS_PDF_CHUNK`` invoices goes to its own task (:func:`render_part`), which
writes a part file; whichever task finishes last (the books or a part, told apart under the
job's row lock in :func:`_part_done`) appends the parts to the ZIP and publishes it
(:func:`_publish`). A failure anywhere fails the job and removes every file: no ZIP is
offered unless it is whole.
"""

from __future__ import annotations

import logging
import shutil
import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from expenses import summaries
from expenses.exports import csv_amount, csv_bytes, csv_text, expenses_csv
from factu import jobs
from factu.models import Job, Taxpayer
from factu.queue import enqueue_after_commit
from factu.text import count_of
from invoicing import documents, totals
from invoicing.models import Invoice
from transfers import books
from transfers.exports import EXPORT_DIR
from verifactu.event_log import no_verifactu_active
from verifactu.events import log_export
from verifactu.models import BillingRecord, Chain, UnsignedRecord
from verifactu.signatures import SigningUnavailable

logger = logging.getLogger(__name__)

READ_CHUNK = 1000  # rows fetched at a time
PART_TASK = "transfers.export_quarter_pdfs"
INDEX_HEADER = [
    "NIF",
    "Nombre",
    "Facturas emitidas",
    "Facturas que cuentan",
    "Base imponible",
    "Cuota IVA",
    "Total facturado",
    "Gastos",
    "Total gastos",
    "Registros de facturación",
]


class ExportFailed(Exception):
    """The ZIP cannot be made; ``message`` says why, in Spanish, for the job's report."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def export_filename(job: Job) -> str:
    return f"factu-{job.account.slug}-{job.params['year']}-{job.params['quarter']}T.zip"


def _paths(job: Job) -> tuple[str, Path, Path, Path]:
    """(the ZIP relative to MEDIA_ROOT, the ZIP, the ZIP being written, the parts' folder)."""
    relative = f"{EXPORT_DIR}/{job.pk}.zip"
    target = Path(settings.MEDIA_ROOT) / relative
    return relative, target, target.with_suffix(".zip.part"), target.with_suffix(".parts")


def account_taxpayers(job: Job):
    return Taxpayer.objects.filter(account_id=job.account_id).order_by("nif", "id")


def quarter_records(taxpayer: Taxpayer, year: int, quarter: int):
    """The billing records of the taxpayer's invoices issued in the quarter, with signatures."""
    fiscal = books.quarter_invoices(taxpayer, year, quarter).values("fiscal_invoice_id")
    return (
        BillingRecord.objects.filter(fiscal_invoice_id__in=fiscal)
        .select_related("signature")
        .order_by("chain_id", "position")
    )


def record_name(record: BillingRecord, used: set[str]) -> str:
    kind = "anulacion" if record.kind == BillingRecord.Kind.ANULACION else "alta"
    number = books.safe_name(record.invoice_number)
    return books.unique_name(f"registros/registro-{kind}-{number}-{record.position}.xml", used)


class _Writer:
    """Writes the books and records of each taxpayer into the ZIP, and the PDF tasks' work."""

    def __init__(self, job: Job, archive: zipfile.ZipFile, progress: jobs.Progress):
        self.job = job
        self.year, self.quarter = job.params["year"], job.params["quarter"]
        self.pdfs = bool(job.params.get("pdfs"))
        self.archive = archive
        self.progress = progress
        self.chunk: list[list[str]] = []
        self.parts = 0
        self.chains: dict[str, set] = {}
        self.counts = {"invoices": 0, "expenses": 0, "records": 0}

    def taxpayer(self, taxpayer: Taxpayer) -> list[str]:
        """Write ``taxpayer``'s folder; its row of ``contribuyentes.csv``."""
        nif = books.safe_name(taxpayer.nif)
        used: set[str] = set()
        rows = []
        for invoice in books.quarter_invoices(taxpayer, self.year, self.quarter).iterator(
            chunk_size=READ_CHUNK
        ):
            name = books.pdf_name(invoice, used) if self.pdfs else ""
            rows.append(books.invoice_row(invoice, name))
            if self.pdfs:
                self._queue_pdf(str(invoice.pk), f"{nif}/{name}")
            self.progress.advance()
        self.archive.writestr(f"{nif}/facturas.csv", books.invoices_csv(rows))
        expense_count, expense_total = 0, 0

        def counted(expenses):
            nonlocal expense_count, expense_total
            for expense in expenses:
                expense_count += 1
                expense_total += expense.amount_cents
                yield expense

        expenses = books.quarter_expenses(taxpayer, self.year, self.quarter)
        self.archive.writestr(
            f"{nif}/gastos.csv", expenses_csv(counted(expenses.iterator(chunk_size=READ_CHUNK)))
        )
        self.archive.writestr(
            f"{nif}/resumen-impuestos.csv",
            books.tax_summary_csv(taxpayer, self.year, self.quarter),
        )
        records = self._records(taxpayer, nif)
        sums = totals.declared_sums(books.quarter_invoices(taxpayer, self.year, self.quarter))
        self.counts["invoices"] += len(rows)
        self.counts["expenses"] += expense_count
        self.counts["records"] += records
        return [
            csv_text(taxpayer.nif),
            csv_text(taxpayer.name),
            str(len(rows)),
            str(sums.count),
            csv_amount(sums.base),
            csv_amount(sums.iva),
            csv_amount(sums.total),
            str(expense_count),
            csv_amount(expense_total),
            str(records),
        ]

    def _records(self, taxpayer: Taxpayer, nif: str) -> int:
        used: set[str] = set()
        chains = self.chains.setdefault(str(taxpayer.pk), set())
        count = 0
        for record in quarter_records(taxpayer, self.year, self.quarter).iterator(
            chunk_size=READ_CHUNK
        ):
            try:
                xml = record.exported_xml
            except UnsignedRecord as exc:
                raise ExportFailed(
                    f"No se ha generado el ZIP. {taxpayer.name}, factura "
                    f"{record.invoice_number}: {exc.message}"
                ) from None
            self.archive.writestr(f"{nif}/{record_name(record, used)}", xml)
            chains.add(record.chain_id)
            count += 1
        return count

    def _queue_pdf(self, invoice_id: str, name: str) -> None:
        self.chunk.append([invoice_id, name])
        if len(self.chunk) >= settings.TRANSFERS_PDF_CHUNK:
            self.send_chunk()

    def send_chunk(self) -> None:
        if not self.chunk:
            return
        enqueue_after_commit(PART_TASK, str(self.job.pk), self.parts, self.chunk)
        self.parts += 1
        self.chunk = []

    def logged_taxpayers(self) -> list[str]:
        """The taxpayers whose export is an event (a chain of theirs runs NO VERI*FACTU)."""
        every = {chain for chains in self.chains.values() for chain in chains}
        active = {c.pk for c in Chain.objects.filter(pk__in=every) if no_verifactu_active(c)}
        return [taxpayer for taxpayer, chains in self.chains.items() if chains & active]


def build(job: Job) -> None:
    """The job's first task: the books and records of every taxpayer; the PDFs' tasks sent."""
    year, quarter = job.params["year"], job.params["quarter"]
    pdfs = bool(job.params.get("pdfs"))
    _, _, partial, parts_dir = _paths(job)
    partial.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(parts_dir, ignore_errors=True)
    start, end = summaries.quarter_range(year, quarter)
    invoices = Invoice.objects.filter(
        account_id=job.account_id,
        issued_at__isnull=False,
        issue_date__gte=start,
        issue_date__lte=end,
    ).count()
    # One step per invoice row, per PDF, and the publishing.
    Job.objects.filter(pk=job.pk).update(total=invoices * (2 if pdfs else 1) + 1, done=0)
    progress = jobs.SharedProgress(job)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            writer = _Writer(job, archive, progress)
            index = [writer.taxpayer(taxpayer) for taxpayer in account_taxpayers(job).iterator()]
            archive.writestr("contribuyentes.csv", csv_bytes(INDEX_HEADER, index))
            writer.send_chunk()
    except ExportFailed as exc:
        _fail(job, exc.message)
        return
    except Exception:
        _clean(job)
        raise
    progress.flush()
    taxpayers = len(index)
    summary = {
        "year": year,
        "quarter": quarter,
        "pdfs": pdfs,
        "taxpayers": taxpayers,
        **writer.counts,
        "log_taxpayers": writer.logged_taxpayers(),
        "filename": export_filename(job),
        "message": (
            f"{count_of(taxpayers, 'contribuyente', 'contribuyentes')}, "
            f"{count_of(writer.counts['invoices'], 'factura', 'facturas')}, "
            f"{count_of(writer.counts['expenses'], 'gasto', 'gastos')} y "
            f"{count_of(writer.counts['records'], 'registro', 'registros')} de facturación."
        ),
        "errors": [],
    }
    _part_done(job.pk, "books", parts=writer.parts, summary=summary)


def render_part(job_id: str, part: int, items: list[list[str]]) -> str:
    """A PDF task: render ``items`` (invoice id, member name) into part file ``part``."""
    job = Job.objects.select_related("account").filter(pk=job_id).first()
    if job is None or job.status != Job.Status.RUNNING:
        return "skipped"
    _, _, _, parts_dir = _paths(job)
    try:
        ids = [uuid.UUID(invoice_id) for invoice_id, _ in items]
        invoices = books.for_pdf(Invoice.objects.filter(account_id=job.account_id)).in_bulk(ids)
        parts_dir.mkdir(parents=True, exist_ok=True)
        target = parts_dir / f"pdf-{part:06d}.zip"
        temporary = target.with_suffix(".tmp")
        progress = jobs.SharedProgress(job, step=25)
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED) as archive:
            for invoice_id, (_, name) in zip(ids, items, strict=True):
                archive.writestr(name, documents.render_pdf(invoices[invoice_id])[2])
                progress.advance()
        temporary.replace(target)
        progress.flush()
    except Exception as exc:
        logger.exception("Quarter close %s: PDF part %s failed", job_id, part)
        _fail(
            job,
            "No se ha generado el ZIP: falló la preparación de los PDF "
            f"({type(exc).__name__}). Vuelva a intentarlo; si se repite, avise a soporte.",
        )
        return "failed"
    return _part_done(job.pk, part)


def _part_done(job_id, part, *, parts: int | None = None, summary: dict | None = None) -> str:
    """Record that ``part`` (``"books"`` or a PDF part's number) is written; the task that
    completes the set publishes the ZIP. The row is locked (an UPDATE first: SQLite has no
    ``SELECT … FOR UPDATE``), so two tasks finishing together never both publish."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(done=F("done")):
            return "skipped"
        job = Job.objects.select_for_update().select_related("account").get(pk=job_id)
        report = dict(job.report or {})
        if summary is not None:
            report.update(summary)
        if parts is not None:
            report["parts"] = parts
        if part != "books":
            report["parts_done"] = sorted(set(report.get("parts_done", [])) | {part})
        else:
            report["books_done"] = True
        ready = report.get("books_done") and len(report.get("parts_done", [])) == report.get(
            "parts"
        )
        if not ready or report.get("publishing"):
            Job.objects.filter(pk=job_id).update(report=report)
            return "part"
        report["publishing"] = True
        Job.objects.filter(pk=job_id).update(report=report)
        job.report = report
    _publish(job)
    return Job.objects.filter(pk=job_id).values_list("status", flat=True).get()


def _publish(job: Job) -> None:
    """Append the PDF parts to the ZIP, log the export where it is an event, publish it."""
    relative, target, partial, parts_dir = _paths(job)
    report = job.report
    try:
        if report.get("parts"):
            with zipfile.ZipFile(partial, "a", compression=zipfile.ZIP_DEFLATED) as archive:
                for part in sorted(parts_dir.glob("pdf-*.zip")):
                    with zipfile.ZipFile(part) as source:
                        for info in source.infolist():
                            member = zipfile.ZipInfo(info.filename, info.date_time)
                            member.compress_type = zipfile.ZIP_STORED
                            with source.open(info) as data, archive.open(member, "w") as out:
                                shutil.copyfileobj(data, out)
        year, quarter = report["year"], report["quarter"]
        for taxpayer in Taxpayer.objects.filter(pk__in=report.get("log_taxpayers", [])):
            period = summaries.quarter_range(year, quarter)
            log_export(quarter_records(taxpayer, year, quarter), period=period)
    except SigningUnavailable as exc:
        _fail(job, f"No se ha generado el ZIP. {exc.message}")
        return
    except Exception:
        _fail(job, "Error inesperado al preparar el ZIP.")
        raise
    partial.replace(target)
    shutil.rmtree(parts_dir, ignore_errors=True)
    report = {**report, "size": target.stat().st_size}
    for key in ("parts_done", "log_taxpayers", "publishing", "books_done"):
        report.pop(key, None)
    jobs.finish(job, report, result_path=relative)


def _clean(job: Job) -> None:
    _, _, partial, parts_dir = _paths(job)
    partial.unlink(missing_ok=True)
    shutil.rmtree(parts_dir, ignore_errors=True)


def _fail(job: Job, message: str) -> None:
    """Fail a running job with ``message`` and remove its files; a finished job is left."""
    _clean(job)
    report = {"message": message, "errors": [message]}
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(
        status=Job.Status.FAILED, report=report, finished_at=timezone.now()
    )
