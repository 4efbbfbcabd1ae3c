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
    """The quarter close's books and records; it sends the PDFs' tasks when asked for."""
    return jobs.run(job_id, quarter_close.build)


@shared_task(name=quarter_close.PART_TASK, acks_late=True)
def export_quarter_pdfs(job_id: str, part: int, items: list[list[str]]) -> str:
    return quarter_close.render_part(job_id, part, items)


@shared_task(name="transfers.purge_files")
def purge_files() -> dict:
    """Beat, hourly: delete CSVs and ZIPs past their retention (transfers.housekeeping)."""
    return housekeeping.purge_files()
