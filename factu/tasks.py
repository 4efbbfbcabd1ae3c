from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from factu import jobs
from factu.models import WorkerHeartbeat


@shared_task(name="factu.tasks.heartbeat")
def heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})


@shared_task(name="factu.requeue_jobs")
def requeue_jobs() -> int:
    """Beat: send again the jobs whose message was lost (factu.jobs.requeue_stale)."""
    return jobs.requeue_stale()


@worker_ready.connect
def announce_worker(sender=None, **kwargs) -> None:
    """Beat first fires after a full interval; a fresh worker says it is alive at once."""
    heartbeat.delay()
