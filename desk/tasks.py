"""Celery tasks of the desk: thin, they take the job's id and call the work functions."""

from __future__ import annotations

from celery import shared_task

from desk import resubmission
from factu import jobs


@shared_task(name="desk.resubmit", acks_late=True)
def resubmit(job_id: str) -> str:
    return jobs.run(job_id, resubmission.run)
