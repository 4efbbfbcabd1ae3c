from celery import shared_task

from invoicing.reminders import send_reminders as send_due_reminders
from invoicing.services import mark_overdue as mark_overdue_invoices


@shared_task(name="invoicing.mark_overdue")
def mark_overdue() -> int:
    return mark_overdue_invoices()


@shared_task(name="invoicing.send_reminders")
def send_reminders() -> int:
    """Beat, daily: today's payment reminders (invoicing.reminders)."""
    return send_due_reminders()
