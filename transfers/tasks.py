"""Celery tasks of transfers: thin, they take the job's id and call the work functions."""

from __future__ import annotations

from celery import shared_task

from factu import jobs
from transfers import exports, housekeeping, imports, quarter_close


@shared_task(name="transfers.import_clients", acks_late=True)
def import_clients(job_id: str) -> str:
    return jobs.run(job_id, imports.import_clients)


@shared_task(name="transfers.import_invoices", acks_late=True)
def import_invoices(job_id: str) -> str:
    return jobs.run(job_id, imports.import_invoices)


@shared_task(name="transfers.export_zip", acks_late=True)
def export_zip(job_id: str) -> str:
    return jobs.run(job_id, exports.build_zip)


@shared_task(name="transfers.export_quarter", acks_late=True)
def export_quarter(job_id: str) -> str:
    """The quarter close's first step: it sends the tasks of the books (which send the PDFs')."""
    return jobs.run(job_id, quarter_close.build)


@shared_task(name=quarter_close.BOOKS_TASK, acks_late=True)
def export_quarter_books(job_id: str, part: int, taxpayer_ids: list[str]) -> str:
    return quarter_close.write_books(job_id, part, taxpayer_ids)


@shared_task(name=quarter_close.PART_TASK, acks_late=True)
def export_quarter_pdfs(job_id: str, part: str, items: list[list[str]]) -> str:
    return quarter_close.render_part(job_id, part, items)


@shared_task(name="transfers.purge_files")
def purge_files() -> dict:
    """Beat, hourly: delete CSVs and ZIPs past their retention (transfers.housekeeping)."""
    return housekeeping.purge_files()
