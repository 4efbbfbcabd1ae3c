"""Emailing the invoices a plan issues, when the plan sends automatically.

:func:`send_generated` runs in the transaction that generated the invoice and asks
:func:`invoicing.sending.send_invoices` for it, with the account's invoice template and the
client's email: the email's task is queued after the commit, so a rolled-back generation
sends nothing. When it cannot be sent (the client has no email, the account's hourly limit)
the invoice stays issued and the period records why, shown on the plan's page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError

from invoicing.actions import Actor
from invoicing.sending import send_invoices
from mailing.services import SendingLimitReached

if TYPE_CHECKING:
    from recurring.models import GeneratedPeriod

SENDER = Actor()  # the history says "Sistema"


def send_generated(period: GeneratedPeriod) -> str:
    """Queue the email of ``period.invoice`` (issued) to its client; "" when queued, else
    why not, in words for the plan's page."""
    try:
        result = send_invoices([period.invoice], actor=SENDER)
    except (SendingLimitReached, ValidationError) as exc:
        reason = str(exc) if isinstance(exc, SendingLimitReached) else " ".join(exc.messages)
        return f"No se envió por correo: {reason}"
    if result.skipped:
        [(_invoice, reason)] = result.skipped
        return f"No se envió por correo: {reason}."
    return ""
