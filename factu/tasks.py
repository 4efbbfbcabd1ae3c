from celery import shared_task
from django.utils import timezone

from factu.models import WorkerHeartbeat


@shared_task(name="factu.tasks.heartbeat")
def heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(name="worker", defaults={"seen_at": timezone.now()})
