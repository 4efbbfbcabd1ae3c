from celery import shared_task

from einvoice import outbound


@shared_task(name=outbound.STORE_TASK, acks_late=True)
def store_issued(invoice_id: str) -> int:
    """Make and store the e-invoices of a just-issued invoice (idempotent)."""
    return outbound.store_issued(invoice_id)
