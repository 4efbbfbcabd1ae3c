from celery import shared_task

from recurring.services import generate_due as generate_due_invoices


@shared_task(name="recurring.generate_due")
def generate_due() -> int:
    """Beat, daily: the invoices of every period due today (recurring.services.generate_due)."""
    return len(generate_due_invoices().invoices)
