"""Payment reminders: the account's schedule applied to its unpaid issued invoices, daily.

Each invoice with a due date and a client email gets, for the latest step of the schedule
it has reached (``before-3``: three days before its due date, ``after-7``: seven after), one
email from the reminder templates. A step is sent at most once: the delivery's row is unique
per (kind, invoice, step), so a second beat the same day, or two workers at once, find it
taken. A step missed (no beat that day) goes the next run, within :data:`CATCH_UP_DAYS`;
earlier steps it passed do not.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from invoicing.models import Invoice, InvoiceStatus
from invoicing.payments import with_paid
from invoicing.sending import log_sending, placeholder_values, recipient_email
from invoicing.services import Actor
from mailing import texts
from mailing.models import EmailDelivery, Kind, MailSettings
from mailing.services import Draft, SendingLimitReached, queue_email, reply_to_for

logger = logging.getLogger(__name__)

UNPAID = (InvoiceStatus.SENT, InvoiceStatus.OVERDUE)
# A step missed (no beat, the hourly limit) still goes this many days after its day; later it
# is dropped, so a schedule set today never mails every invoice overdue for months.
CATCH_UP_DAYS = 7


def due_step(
    invoice: Invoice, before: list[int], after: list[int], today: date
) -> tuple[str, str, int] | None:
    """The reminder ``invoice`` is due for today: (kind, step, days), or None."""
    due = invoice.due_date
    if due is None:
        return None
    if today < due:
        left = (due - today).days
        reached = [d for d in before if d >= left and due - timedelta(days=d) >= invoice.issue_date]
        if reached:
            days = min(reached)
            return Kind.REMINDER_BEFORE, f"before-{days}", days
    elif today > due:
        late = (today - due).days
        reached = [d for d in after if d <= late]
        if reached and late - max(reached) <= CATCH_UP_DAYS:
            days = max(reached)
            return Kind.REMINDER_AFTER, f"after-{days}", days
    return None


def send_reminders(today: date | None = None) -> int:
    """Queue today's reminders of every account with a schedule; how many were queued."""
    today = today or timezone.localdate()
    count = 0
    schedules = MailSettings.objects.select_related("account").order_by("account_id")
    for schedule in schedules:
        count += _remind_account(schedule, today)
    return count


def _remind_account(schedule: MailSettings, today: date) -> int:
    before = list(schedule.reminder_days_before or [])
    after = list(schedule.reminder_days_after or [])
    if not before and not after:
        return 0
    window_start = today - timedelta(days=max(after, default=0) + CATCH_UP_DAYS)
    window_end = today + timedelta(days=max(before, default=0))
    invoices = with_paid(
        Invoice.objects.filter(
            account=schedule.account,
            status__in=UNPAID,
            issued_at__isnull=False,
            due_date__gte=window_start,
            due_date__lte=window_end,
        )
        .select_related("client", "taxpayer", "account")
        .order_by("due_date", "id")
    )
    count = 0
    for invoice in invoices.iterator():
        step = due_step(invoice, before, after, today)
        if step is None or not recipient_email(invoice) or invoice.outstanding_cents <= 0:
            continue
        kind, name, days = step
        if EmailDelivery.objects.filter(kind=kind, object_id=invoice.pk, step=name).exists():
            continue
        try:
            if _remind(invoice, kind, name, days):
                count += 1
        except SendingLimitReached:
            logger.warning("Reminders of %s stop for today: hourly limit", schedule.account)
            break
    return count


def _remind(invoice: Invoice, kind: str, step: str, days: int) -> bool:
    subject, body = texts.render(invoice.account, kind, placeholder_values(invoice, days))
    try:
        with transaction.atomic():
            delivery = queue_email(
                invoice.account,
                kind=kind,
                object_id=invoice.pk,
                draft=Draft(to=recipient_email(invoice), subject=subject, body=body),
                reply_to=reply_to_for(invoice.account, invoice.taxpayer),
                taxpayer=invoice.taxpayer,
                step=step,
            )
            log_sending(invoice, Actor(), "reminded", delivery)
    except IntegrityError:  # another worker sent this step first
        return False
    except ValidationError as exc:
        logger.warning("Reminder of %s not sent: %s", invoice.pk, exc)
        return False
    return True
