"""Running a :class:`~transfers.models.Job`: claim it once, report progress cheaply, finish.

A task claims its job with a conditional UPDATE (queued → running) and checks the row count,
so a message delivered twice runs the job once. A job left ``running`` longer than
``LEASE`` (its worker died; tasks are ``acks_late``) may be claimed again: imports write
their rows and mark the job done in one transaction, so a rerun never imports twice.

Progress (``done``/``total``) is written with one UPDATE every ``step`` items or every
second, whichever comes first: never per row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from transfers.models import Job

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)
FLUSH_SECONDS = 1.0


def claim(job_id) -> Job | None:
    """The job, now ``running``; None when another run has it or it is finished."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=now, done=0
    )
    if not claimed:
        claimed = Job.objects.filter(
            pk=job_id, status=Job.Status.RUNNING, started_at__lt=now - LEASE
        ).update(started_at=now, done=0)
    if not claimed:
        return None
    return Job.objects.select_related("account", "taxpayer", "user").get(pk=job_id)


class Progress:
    """Counts items done and writes ``done`` in batches."""

    def __init__(self, job: Job, total: int = 0, *, clock: Callable[[], float] = time.monotonic):
        self.job = job
        self.clock = clock
        self.done = 0
        self.reported = 0
        self.last_flush = clock()
        self.writes = 0
        self.set_total(total)

    def set_total(self, total: int) -> None:
        self.total = total
        # About 50 writes for a big job, one per item for a small one.
        self.step = max(1, min(500, total // 50))
        Job.objects.filter(pk=self.job.pk).update(total=total, done=self.done)
        self.writes += 1

    def advance(self, count: int = 1) -> None:
        self.done += count
        if (
            self.done - self.reported >= self.step
            or self.clock() - self.last_flush >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self.done == self.reported:
            return
        Job.objects.filter(pk=self.job.pk).update(done=self.done)
        self.reported = self.done
        self.last_flush = self.clock()
        self.writes += 1


def finish(job: Job, report: dict, *, status: str = Job.Status.DONE, result_path: str = "") -> None:
    job.status = status
    job.report = report
    job.finished_at = timezone.now()
    fields = {"status": status, "report": report, "finished_at": job.finished_at}
    if result_path:
        job.result_path = result_path
        fields["result_path"] = result_path
    if status == Job.Status.DONE:
        fields["done"] = F("total")
    Job.objects.filter(pk=job.pk).update(**fields)


def run(job_id, work: Callable[[Job], None]) -> str:
    """Claim the job and call ``work(job)``; an unexpected error fails the job, loudly."""
    job = claim(job_id)
    if job is None:
        return "skipped"
    try:
        work(job)
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        report = dict(job.report or {})
        report["message"] = f"Error inesperado: {exc.__class__.__name__}. No se ha importado nada."
        if job.kind == Job.Kind.EXPORT_ZIP:
            report["message"] = f"Error inesperado al preparar el ZIP: {exc.__class__.__name__}."
        if job.kind == Job.Kind.RESUBMIT:
            report["message"] = (
                f"Error inesperado al reenviar: {exc.__class__.__name__}. Los registros ya "
                "reenviados siguen en cola; los demás siguen en la mesa para volver a intentarlo."
            )
        finish(job, report, status=Job.Status.FAILED)
        return "failed"
    return Job.objects.filter(pk=job.pk).values_list("status", flat=True).get()
