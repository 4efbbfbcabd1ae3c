from celery import shared_task

from invoicing.services import mark_overdue as mark_overdue_invoices


@shared_task(name="invoicing.mark_overdue")
def mark_overdue() -> int:
    return mark_overdue_invoices()
