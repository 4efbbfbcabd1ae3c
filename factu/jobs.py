"""Running a :class:`~factu.models.Job`: send it, claim it once, report progress cheaply, finish.

Each kind names its Celery task (:func:`register`, called by the app that owns the work in
its ``AppConfig.ready``), so a job is queued by task name after the commit that wrote it
(:func:`enqueue`, on :mod:`factu.queue`) and ``factu`` imports no app above it. The send is
robust: a broker that is down leaves the job ``queued``, and the beat task
``factu.requeue_jobs`` sends again every job queued for longer than :data:`REQUEUE_AFTER`
(:func:`requeue_stale`). A second message for the same job is harmless: it is claimed once.

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
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from factu.models import Job
from factu.queue import enqueue_after_commit

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)
FLUSH_SECONDS = 1.0
# A job still queued this long after it was written may have lost its message (the broker
# was down when it was sent): the beat task sends it again, every REQUEUE_AFTER until claimed.
REQUEUE_AFTER = timedelta(minutes=5)
DEFAULT_FAILURE = "Error inesperado: {error}. No se ha importado nada."


@dataclass(frozen=True)
class KindSpec:
    task: str  # the registered Celery task name that runs a job of the kind
    failure: str  # the report's message when the work raises; {error} is the exception class


_KINDS: dict[str, KindSpec] = {}


def register(kind: str, task: str, *, failure: str = DEFAULT_FAILURE) -> None:
    """Say which task runs jobs of ``kind`` and what a failed one reports."""
    _KINDS[kind] = KindSpec(task=task, failure=failure)


def kind_spec(kind: str) -> KindSpec:
    """What :func:`register` said of ``kind``; ``LookupError`` when no app registered it."""
    try:
        return _KINDS[kind]
    except KeyError:
        raise LookupError(f"No task is registered for jobs of kind {kind!r}.") from None


def enqueue(job: Job, **options: Any) -> None:
    """Send ``job`` to its kind's task once the current transaction commits."""
    enqueue_after_commit(kind_spec(job.kind).task, str(job.pk), **options)


def requeue_stale(now: datetime | None = None) -> int:
    """Send again every job queued for longer than :data:`REQUEUE_AFTER`; how many.

    Each message expires after :data:`REQUEUE_AFTER`, so a worker that was down for a day
    finds one live message per job, not one per beat.
    """
    now = now or timezone.now()
    stale = Job.objects.filter(status=Job.Status.QUEUED, created_at__lt=now - REQUEUE_AFTER)
    count = 0
    for job in stale.only("pk", "kind"):
        if job.kind not in _KINDS:
            logger.error("Job %s of unregistered kind %r left queued", job.pk, job.kind)
            continue
        enqueue(job, expires=REQUEUE_AFTER.total_seconds())
        count += 1
    return count


def claim(job_id: str) -> Job | None:
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
        self._start(job, clock)
        self.set_total(total)

    def _start(self, job: Job, clock: Callable[[], float]) -> None:
        self.job = job
        self.clock = clock
        self.done = 0
        self.reported = 0
        self.last_flush = clock()
        self.writes = 0

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


class SharedProgress(Progress):
    """Progress of a job that several tasks advance at once (a part each): every flush adds
    its own count to ``done`` (``F``), so no task overwrites another's. The total is set
    once, by whoever starts the job (:meth:`Progress.set_total` or an UPDATE)."""

    def __init__(self, job: Job, step: int = 100, *, clock: Callable[[], float] = time.monotonic):
        self._start(job, clock)
        self.total = 0
        self.step = step

    def flush(self) -> None:
        if self.done == self.reported:
            return
        Job.objects.filter(pk=self.job.pk).update(done=F("done") + (self.done - self.reported))
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


def run(job_id: str, work: Callable[[Job], None]) -> str:
    """Claim the job and call ``work(job)``; an unexpected error fails the job, loudly."""
    job = claim(job_id)
    if job is None:
        return "skipped"
    try:
        work(job)
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        report = dict(job.report or {})
        failure = _KINDS[job.kind].failure if job.kind in _KINDS else DEFAULT_FAILURE
        report["message"] = failure.format(error=exc.__class__.__name__)
        finish(job, report, status=Job.Status.FAILED)
        return "failed"
    return Job.objects.filter(pk=job.pk).values_list("status", flat=True).get()
