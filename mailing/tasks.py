from celery import shared_task

from mailing import services


@shared_task(bind=True, name=services.SEND_TASK, acks_late=True, max_retries=None)
def send_delivery(self, delivery_id: str) -> str:
    """Send one queued email; a transient failure comes back after a growing delay (the
    number of attempts is counted on the delivery, :func:`mailing.services.attempt_delivery`)."""
    outcome = services.attempt_delivery(delivery_id)
    if outcome.status == "retry":
        raise self.retry(countdown=outcome.retry_in)
    return outcome.status


@shared_task(name="mailing.requeue")
def requeue() -> int:
    """Beat: queued deliveries whose message was lost go again."""
    return services.requeue_stale()
