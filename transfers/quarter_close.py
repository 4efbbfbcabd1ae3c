"""The quarter close: one ZIP of a quarter for every taxpayer of an account, as one job.

Contents of ``factu-<cuenta>-<year>-<q>T.zip``::

    contribuyentes.csv                 one row per taxpayer: its counts and totals
    <NIF>/facturas.csv                 the books of each taxpayer (transfers.books, the same
    <NIF>/gastos.csv                   functions as the one-taxpayer ZIP)
    <NIF>/resumen-impuestos.csv
    <NIF>/registros/<...>.xml          the stored XML of each billing record of the quarter's
                                       invoices (a NO VERI*FACTU record's signed copy)
    <NIF>/facturas/<número>.pdf        only when the PDFs were asked for
    <NIF>/facturas-electronicas/<número>.ubl.xml, .facturae.xml
                                       each invoice's stored e-invoices that are offered,
                                       only when they were asked for

Memory stays flat whatever the account's size: each part of the ZIP is written member by
member, each query is read by chunks (``iterator``), nothing holds more than one
taxpayer's rows of ``facturas.csv``, and the joining holds one part's directory at a time.
The work is spread over the worker pool: the first task (:func:`build`) sends a books task
per run of taxpayers with about ``TRANSFERS_BOOKS_CHUNK`` invoices (:func:`write_books`),
which sends a PDF task per ``TRANSFERS_PDF_CHUNK`` invoices when the PDFs were asked for
(:func:`render_part`). Each writes a part file; whichever task completes the set (told under
the job's row lock, :func:`_part_done`) joins the parts into the ZIP without compressing
anything again (:mod:`transfers.zipjoin`) and publishes it (:func:`_publish`). A failure
anywhere fails the job and removes every file: no ZIP is offered unless it is whole.
"""

from __future__ import annotations

import logging
import shutil
import uuid
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from expenses import summaries
from expenses.exports import csv_amount, csv_bytes, csv_text, expenses_csv
from factu import jobs
from factu.models import Job, Taxpayer
from factu.queue import send_now
from factu.text import count_of
from invoicing import documents, totals
from invoicing.models import Invoice
from transfers import books, zipjoin
from transfers.exports import EXPORT_DIR
from verifactu.event_log import no_verifactu_active
from verifactu.events import log_export
from verifactu.models import BillingRecord, Chain, UnsignedRecord
from verifactu.signatures import SigningUnavailable

logger = logging.getLogger(__name__)

READ_CHUNK = 1000  # rows fetched at a time
# No part takes this long (a books part ~2,000 invoices, a PDF part 100 PDFs): a quarter close
# no part has moved for this long will never finish by itself.
STALLED_AFTER = timedelta(minutes=30)
BOOKS_TASK = "transfers.export_quarter_books"
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


NOTHING_MADE = "No se ha generado el ZIP: vuelva a intentarlo; si se repite, avise a soporte."


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

    def __init__(self, job: Job, archive: zipfile.ZipFile, progress: jobs.Progress, prefix: str):
        self.job = job
        self.prefix = prefix
        self.year, self.quarter = job.params["year"], job.params["quarter"]
        self.pdfs = bool(job.params.get("pdfs"))
        self.einvoices = bool(job.params.get("einvoices"))
        self.archive = archive
        self.progress = progress
        self.chunk: list[list[str]] = []
        self.parts = 0
        self.chains: dict[str, set] = {}
        self.counts = {"invoices": 0, "expenses": 0, "records": 0, "einvoices": 0}

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
            if self.einvoices:
                for member, content in books.einvoice_members(invoice, used):
                    self.archive.writestr(f"{nif}/{member}", content)
                    self.counts["einvoices"] += 1
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
        name = f"{self.prefix}-{self.parts:05d}"
        send_now(PART_TASK, str(self.job.pk), name, self.chunk)
        self.parts += 1
        self.chunk = []

    def logged_taxpayers(self) -> list[str]:
        """The taxpayers whose export is an event (a chain of theirs runs NO VERI*FACTU)."""
        every = {chain for chains in self.chains.values() for chain in chains}
        active = {c.pk for c in Chain.objects.filter(pk__in=every) if no_verifactu_active(c)}
        return [taxpayer for taxpayer, chains in self.chains.items() if chains & active]


def build(job: Job) -> None:
    """The job's first task: count, then send the books' tasks (taxpayers in parts)."""
    year, quarter = job.params["year"], job.params["quarter"]
    _, _, partial, parts_dir = _paths(job)
    _clean(job)
    parts_dir.mkdir(parents=True, exist_ok=True)
    counts = dict(
        books.issued_in_quarter(job.account_id, year, quarter)
        .values_list("taxpayer_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    groups: list[list[str]] = [[]]
    size = 0
    for taxpayer_id in account_taxpayers(job).values_list("pk", flat=True):
        if groups[-1] and size >= settings.TRANSFERS_BOOKS_CHUNK:
            groups.append([])
            size = 0
        groups[-1].append(str(taxpayer_id))
        size += counts.get(taxpayer_id, 0)
    invoices = sum(counts.values())
    pdfs = bool(job.params.get("pdfs"))
    # One step per invoice row, per PDF, and the publishing.
    total = invoices * (2 if pdfs else 1) + 1
    report = {"books_parts": len(groups), "books_done": [], "pdf_parts": 0, "pdf_done": []}
    report["touched"] = timezone.now().isoformat()
    Job.objects.filter(pk=job.pk).update(total=total, done=0, report=report)
    try:
        for number, taxpayer_ids in enumerate(groups):
            send_now(BOOKS_TASK, str(job.pk), number, taxpayer_ids)
    except Exception:
        _fail(job, f"No se ha podido repartir el trabajo. {NOTHING_MADE}")
        raise


def write_books(job_id: str, part: int, taxpayer_ids: list[str]) -> str:
    """A books task: the folders of ``taxpayer_ids`` into part file ``books-<part>``."""
    job = _running(job_id)
    if job is None:
        return "skipped"
    _, _, _, parts_dir = _paths(job)
    target = parts_dir / f"books-{part:05d}.zip"
    temporary = _temporary(target)
    progress = jobs.SharedProgress(job)
    taxpayers = Taxpayer.objects.filter(account_id=job.account_id, pk__in=taxpayer_ids)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            writer = _Writer(job, archive, progress, f"{part:05d}")
            index = [writer.taxpayer(taxpayer) for taxpayer in taxpayers.order_by("nif", "id")]
            writer.send_chunk()
        temporary.replace(target)
    except ExportFailed as exc:
        _fail(job, exc.message)
        return "failed"
    except Exception as exc:
        logger.exception("Quarter close %s: books part %s failed", job_id, part)
        _fail(job, f"Error inesperado al preparar el ZIP: {type(exc).__name__}. {NOTHING_MADE}")
        return "failed"
    progress.flush()
    logged = writer.logged_taxpayers()

    def update(report: dict) -> None:
        if part in report["books_done"]:
            return  # delivered again (a worker died before acknowledging): counted once
        report["books_done"] = sorted({*report["books_done"], part})
        report["pdf_parts"] += writer.parts
        report.setdefault("index", {})[str(part)] = index
        report["log_taxpayers"] = report.get("log_taxpayers", []) + logged
        for key, value in writer.counts.items():
            report[key] = report.get(key, 0) + value

    return _part_done(job_id, update)


def render_part(job_id: str, part: str, items: list[list[str]]) -> str:
    """A PDF task: render ``items`` (invoice id, member name) into part file ``pdf-<part>``."""
    job = _running(job_id)
    if job is None:
        return "skipped"
    _, _, _, parts_dir = _paths(job)
    try:
        ids = [uuid.UUID(invoice_id) for invoice_id, _ in items]
        invoices = books.for_pdf(Invoice.objects.filter(account_id=job.account_id)).in_bulk(ids)
        target = parts_dir / f"pdf-{part}.zip"
        temporary = _temporary(target)
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
            f"Error al preparar los PDF: {type(exc).__name__}. {NOTHING_MADE}",
        )
        return "failed"

    def update(report: dict) -> None:
        report["pdf_done"] = sorted({*report["pdf_done"], part})

    return _part_done(job_id, update)


def _running(job_id: str) -> Job | None:
    job = Job.objects.select_related("account").filter(pk=job_id).first()
    if job is None or job.status != Job.Status.RUNNING:
        return None
    return job


def _part_done(job_id, update: Callable[[dict], None]) -> str:
    """Record that a part is written (``update`` the report); the task that completes the
    set publishes the ZIP. The row is locked (an UPDATE first: SQLite has no
    ``SELECT … FOR UPDATE``), so two tasks finishing together never both publish."""
    with transaction.atomic():
        if not Job.objects.filter(pk=job_id, status=Job.Status.RUNNING).update(done=F("done")):
            return "skipped"
        job = Job.objects.select_for_update().select_related("account").get(pk=job_id)
        report = dict(job.report or {})
        update(report)
        report["touched"] = timezone.now().isoformat()
        ready = (
            len(report["books_done"]) == report["books_parts"]
            and len(report["pdf_done"]) == report["pdf_parts"]
            and not report.get("publishing")
        )
        report["publishing"] = bool(ready or report.get("publishing"))
        Job.objects.filter(pk=job_id).update(report=report)
        job.report = report
    if not ready:
        return "part"
    _publish(job)
    return Job.objects.filter(pk=job_id).values_list("status", flat=True).get()


def _publish(job: Job) -> None:
    """Join the parts into the ZIP, log the export where it is an event, publish it."""
    relative, target, partial, parts_dir = _paths(job)
    report = job.report
    try:
        with zipjoin.open_joined(partial) as archive:
            index = [
                row for part in sorted(report["index"], key=int) for row in report["index"][part]
            ]
            archive.writestr("contribuyentes.csv", csv_bytes(INDEX_HEADER, index))
            for part in sorted(parts_dir.glob("books-*.zip")) + sorted(parts_dir.glob("pdf-*.zip")):
                zipjoin.append_raw(archive, part)
        zipjoin.check_joined(partial, archive.filelist)  # a member copied wrong fails here
        year, quarter = job.params["year"], job.params["quarter"]
        period = summaries.quarter_range(year, quarter)
        logged = report.get("log_taxpayers", [])
        for taxpayer in Taxpayer.objects.filter(account_id=job.account_id, pk__in=logged):
            log_export(quarter_records(taxpayer, year, quarter), period=period)
    except SigningUnavailable as exc:
        _fail(job, f"No se ha generado el ZIP. {exc.message}")
        return
    except Exception:
        _fail(job, f"Error inesperado al unir el ZIP. {NOTHING_MADE}")
        raise
    partial.replace(target)
    shutil.rmtree(parts_dir, ignore_errors=True)
    taxpayers, invoices = len(index), report.get("invoices", 0)
    expenses, records = report.get("expenses", 0), report.get("records", 0)
    final = {
        "year": year,
        "quarter": quarter,
        "pdfs": bool(job.params.get("pdfs")),
        "einvoices": report.get("einvoices", 0),
        "taxpayers": taxpayers,
        "invoices": invoices,
        "expenses": expenses,
        "records": records,
        "parts": report["books_parts"] + report["pdf_parts"],
        "size": target.stat().st_size,
        "filename": export_filename(job),
        "message": (
            f"ZIP listo: {count_of(taxpayers, 'contribuyente', 'contribuyentes')}, "
            f"{count_of(invoices, 'factura', 'facturas')}, "
            f"{count_of(expenses, 'gasto', 'gastos')} y "
            f"{count_of(records, 'registro', 'registros')} de facturación."
        ),
        "errors": [],
    }
    jobs.finish(job, final, result_path=relative)


def _temporary(target: Path) -> Path:
    """A part's file while it is written: its own per attempt, as a part delivered again
    (its worker died before acknowledging it) may be written by two tasks at once."""
    return target.with_name(f"{target.stem}.{uuid.uuid4().hex}.tmp")


def fail_stalled(now: datetime | None = None) -> int:
    """Fail every quarter close no part has moved for :data:`STALLED_AFTER` (a worker died
    while it joined the parts, or a part's message was lost): nothing else would ever finish
    it. Run by the hourly housekeeping; how many."""
    now = now or timezone.now()
    failed = 0
    running = Job.objects.filter(kind=Job.Kind.EXPORT_QUARTER, status=Job.Status.RUNNING)
    for job in running.select_related("account"):
        touched = (job.report or {}).get("touched")
        last = datetime.fromisoformat(touched) if touched else job.started_at or job.created_at
        if now - last >= STALLED_AFTER:
            _fail(job, f"El cierre del trimestre se ha detenido. {NOTHING_MADE}")
            failed += 1
    return failed


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
