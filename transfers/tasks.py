"""Celery tasks of transfers: thin, they take the job's id and call the work functions."""

from __future__ import annotations

from celery import shared_task

from factu import jobs
from transfers import exports, housekeeping, imports


@shared_task(name="transfers.import_clients", acks_late=True)
def import_clients(job_id: str) -> str:
    return jobs.run(job_id, imports.import_clients)


@shared_task(name="transfers.import_invoices", acks_late=True)
def import_invoices(job_id: str) -> str:
    return jobs.run(job_id, imports.import_invoices)


@shared_task(name="transfers.export_zip", acks_late=True)
def export_zip(job_id: str) -> str:
    return jobs.run(job_id, exports.build_zip)


@shared_task(name="transfers.purge_files")
def purge_files() -> dict:
    """Beat, hourly: delete CSVs and ZIPs past their retention (transfers.housekeeping)."""
    return housekeeping.purge_files()
