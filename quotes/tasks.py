from celery import shared_task

from quotes.services import expire_quotes


@shared_task(name="quotes.expire")
def expire() -> int:
    """Store ``expired`` on sent quotes past their valid-until date (beat, hourly)."""
    return expire_quotes()
