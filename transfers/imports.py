"""CSV imports: clients, and historical invoices that keep their original numbers.

Both work in two phases:

1. **Validate** every row, saving nothing, with the owning app's rules (``Client.full_clean``
   exactly as :func:`clients.services.create_client` calls it, :mod:`transfers.client_rows`;
   the tax arithmetic of :func:`invoicing.taxes.compute_totals`,
   :mod:`transfers.invoice_rows`), and collect every problem as ``{"row", "field",
   "message"}``. Progress is reported during this phase, outside any transaction, so that
   other connections see it.
2. **Write**, in one transaction that also marks the job done: nothing when the mode is
   "todo o nada" and any row failed; otherwise the valid rows, in bulk. Should the database
   refuse a row that passed validation (someone created the same NIF or number meanwhile),
   "todo o nada" writes nothing and "solo las filas válidas" skips that row and reports it.

Historical invoices are stored by :mod:`invoicing.imported` (numbered by their series'
counter, issued without a VERI*FACTU record); an ``imported`` event names the job, the file
and the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import ngettext

from clients.models import Client
from factu import jobs
from factu.models import Job
from factu.text import count_of
from invoicing import imported
from invoicing.models import Invoice
from transfers.client_rows import CLIENT_ALIASES, ExistingNifs, client_from_row, validation_messages
from transfers.csvfile import CsvError, CsvTable, iter_chunks, read_table
from transfers.invoice_rows import (
    INVOICE_ALIASES,
    INVOICE_REQUIRED,
    ClientBook,
    InvoiceRow,
    invoice_from_row,
)

IMPORT_DIR = "imports"  # under MEDIA_ROOT: the uploaded CSV of each import job

BATCH = 500

# --- shared -------------------------------------------------------------------------------


@dataclass
class Outcome:
    table: CsvTable
    errors: list[dict] = field(default_factory=list)
    rejected_rows: set[int] = field(default_factory=set)
    imported: int = 0

    def reject(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "field": column, "message": message})
        self.rejected_rows.add(row)

    def report(self, job: Job, message: str) -> dict:
        table = self.table
        return {
            "file": job.params.get("filename", ""),
            "encoding": table.encoding,
            "delimiter": table.delimiter_label,
            "columns": list(table.columns.values()),
            "ignored_columns": table.ignored,
            "rows": len(table.rows) + len(table.problems),
            "rejected": len(self.rejected_rows),
            "imported": self.imported,
            "errors": sorted(self.errors, key=lambda e: (e["row"], e["field"])),
            "message": message,
        }


def read_source(job: Job) -> bytes:
    return (Path(settings.MEDIA_ROOT) / job.source_path).read_bytes()


def _unreadable(job: Job, exc: CsvError) -> None:
    report = {"file": job.params.get("filename", ""), "errors": [], "message": str(exc)}
    jobs.finish(job, report, status=Job.Status.FAILED)


def _start(
    job: Job, aliases: Mapping[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[CsvTable, Outcome, jobs.Progress] | None:
    """Phase 1's start: the file as a table, its outcome with the rows the file itself
    spoils already rejected, and the job's progress; ``None`` (the job failed) when the
    file cannot be read."""
    try:
        table = read_table(read_source(job), aliases, required=required)
    except CsvError as exc:
        _unreadable(job, exc)
        return None
    outcome = Outcome(table)
    progress = jobs.Progress(job, len(table.rows))
    for row, message in table.problems:
        outcome.reject(row, "", message)
    return table, outcome, progress


def _conclude(job: Job, outcome: Outcome, write, noun: tuple[str, str]) -> None:
    """Phase 2: write (or not) according to the mode, and finish the job atomically.

    ``noun`` names what was imported, agreeing in gender and number with its participle:
    ("factura importada", "facturas importadas")."""
    valid_only = job.mode == Job.Mode.VALID_ONLY
    rejected = len(outcome.rejected_rows)
    if rejected and not valid_only:
        message = (
            f"No se ha importado nada: {count_of(rejected, 'fila', 'filas')} con errores. "
            "Corríjalas y vuelva a subir el archivo, o elija «solo las filas válidas»."
        )
        jobs.finish(job, outcome.report(job, message), status=Job.Status.FAILED)
        return
    try:
        with transaction.atomic():
            outcome.imported = write(valid_only)
            message = count_of(outcome.imported, *noun) + "."
            if rejected or len(outcome.rejected_rows) > rejected:
                refused = len(outcome.rejected_rows)
                message += " " + ngettext("%(n)s rechazada.", "%(n)s rechazadas.", refused) % {
                    "n": count_of(refused, "fila", "filas")
                }
            jobs.finish(job, outcome.report(job, message))
    except _Clash as clash:
        outcome.imported = 0
        outcome.reject(clash.row, clash.column, clash.message)
        message = (
            f"No se ha importado nada: la fila {clash.row} chocó con datos creados mientras tanto."
        )
        jobs.finish(job, outcome.report(job, message), status=Job.Status.FAILED)


class _Clash(Exception):
    def __init__(self, row: int, column: str, message: str):
        super().__init__(message)
        self.row, self.column, self.message = row, column, message


def _bulk(model, items: list[tuple[int, object]], valid_only: bool, outcome: Outcome, column, msg):
    """``bulk_create`` in chunks; when the database refuses a chunk, row by row."""
    created = []
    for chunk in iter_chunks(items, BATCH):
        try:
            with transaction.atomic():
                model.objects.bulk_create([obj for _, obj in chunk])
            created.extend(chunk)
            continue
        except IntegrityError:
            if not valid_only:
                pass  # find which row, below, to name it in the report
        for row, obj in chunk:
            try:
                with transaction.atomic():
                    model.objects.bulk_create([obj])
                created.append((row, obj))
            except IntegrityError:
                if not valid_only:
                    raise _Clash(row, column, msg) from None
                outcome.reject(row, column, msg)
    return created


def import_clients(job: Job) -> None:
    started = _start(job, CLIENT_ALIASES, ("name",))
    if started is None:
        return
    table, outcome, progress = started
    valid: list[tuple[int, Client]] = []
    seen_nifs: dict[str, int] = {}
    existing = ExistingNifs(job.taxpayer)
    for row, values in table.rows:
        try:
            client = client_from_row(job.taxpayer, values, existing)
        except ValidationError as error:
            for name, messages in validation_messages(error).items():
                column = table.label(name, CLIENT_ALIASES.get(name, ("",))[0])
                for message in messages:
                    outcome.reject(row, column, message)
        else:
            if client.nif and client.nif in seen_nifs:
                outcome.reject(
                    row,
                    table.label("nif", "nif"),
                    f"El NIF {client.nif} ya aparece en la fila {seen_nifs[client.nif]}.",
                )
            else:
                if client.nif:
                    seen_nifs[client.nif] = row
                valid.append((row, client))
        progress.advance()
    progress.flush()

    def write(valid_only: bool) -> int:
        created = _bulk(
            Client,
            valid,
            valid_only,
            outcome,
            table.label("nif", "nif"),
            "Ya hay un cliente de este contribuyente con este NIF (creado durante la importación).",
        )
        return len(created)

    _conclude(job, outcome, write, ("cliente importado", "clientes importados"))


def import_invoices(job: Job) -> None:
    started = _start(job, INVOICE_ALIASES, INVOICE_REQUIRED)
    if started is None:
        return
    table, outcome, progress = started
    taken = set(Invoice.objects.filter(taxpayer=job.taxpayer).values_list("number", flat=True))
    book = ClientBook(job.taxpayer)
    seen: dict[str, int] = {}
    valid: list[InvoiceRow] = []
    problems: list[tuple[str, str]] = []

    def collect(name: str, message: str) -> None:
        problems.append((name, message))

    for row, values in table.rows:
        problems.clear()
        item = invoice_from_row(row, values, book, collect)
        if item is not None and item.number in taken:
            problems.append(("number", f"Ya existe una factura {item.number} en Factu."))
        elif item is not None and item.number in seen:
            problems.append(
                ("number", f"El número {item.number} ya aparece en la fila {seen[item.number]}.")
            )
        for name, message in problems:
            outcome.reject(row, table.label(name, INVOICE_ALIASES[name][0]), message)
        if not problems and item is not None:
            seen[item.number] = row
            valid.append(item)
        progress.advance()
    progress.flush()

    def write(valid_only: bool) -> int:
        # New clients first: only those some valid row uses, once each.
        new_clients = {}
        for item in valid:
            if item.client is not None and item.client._state.adding:
                new_clients.setdefault(item.client.pk, (item.row, item.client))
        created_clients = _bulk(
            Client,
            list(new_clients.values()),
            valid_only,
            outcome,
            table.label("client_nif", "nif_cliente"),
            "Ya hay un cliente con este NIF (creado durante la importación).",
        )
        created_ids = {c.pk for _, c in created_clients}
        items = []
        for item in valid:
            client = item.client
            if client is None or client.pk in created_ids or client.pk not in new_clients:
                items.append(item)
            elif item.row != new_clients[client.pk][0]:
                outcome.reject(
                    item.row,
                    table.label("client_nif", "nif_cliente"),
                    f"No se ha podido crear su cliente: vea la fila {new_clients[client.pk][0]}.",
                )
        for item in items:
            item.origin = {
                "job": str(job.pk),
                "file": job.params.get("filename", ""),
                "row": item.row,
                "original_number": item.number,
            }
        numbered = imported.numbered_invoices(job.taxpayer, items, user=job.user)
        by_row = {item.row: item for item, _ in numbered}
        created = _bulk(
            Invoice,
            [(item.row, invoice) for item, invoice in numbered],
            valid_only,
            outcome,
            table.label("number", "numero"),
            "Ya existe una factura con este número (creada durante la importación).",
        )
        imported.store_lines_and_events(
            [(by_row[row], invoice) for row, invoice in created], user=job.user
        )
        return len(created)

    _conclude(job, outcome, write, ("factura importada", "facturas importadas"))
