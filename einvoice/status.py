"""The statuses of a B2B electronic invoice (Ley 18/2022, Real Decreto 238/2026) and its clock.

One vocabulary for both sides: an issued invoice's statuses are what its client answered; a
received invoice's are what the user answers its supplier. The recipient has four calendar
days from receipt to say it accepted or rejected the invoice (:func:`answer_deadline`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from invoicing.models import Invoice

ANSWER_DAYS = 4


class B2BStatus(models.TextChoices):
    RECEIVED = "received", "Recibida"
    ACCEPTED = "accepted", "Aceptada"
    REJECTED = "rejected", "Rechazada"
    PAID = "paid", "Pagada"


def answer_deadline(received_on: dt.date) -> dt.date:
    """The last day to accept or reject an invoice received on ``received_on``."""
    return received_on + dt.timedelta(days=ANSWER_DAYS)


def days_left(received_on: dt.date, today: dt.date) -> int:
    """Days until the answer is due: 0 on the last day, negative once it has passed."""
    return (answer_deadline(received_on) - today).days


SIMPLIFIED_TYPES = ("F2", "R5")


def not_due(invoice: Invoice) -> str:
    """Why no B2B e-invoice is due for ``invoice`` (in Spanish), or "" when one is: a
    simplified invoice, or one without an identified buyer, is not an invoice between
    businesses. The one rule the outbound files and the client's answers both follow."""
    if invoice.invoice_type in SIMPLIFIED_TYPES:
        return (
            f"Factura simplificada ({invoice.invoice_type}): no se emite factura electrónica, "
            "que solo es obligatoria entre empresas con destinatario identificado."
        )
    if not (invoice.client_nif or invoice.client_foreign_id):
        return (
            "La factura no tiene un destinatario identificado: no es una factura electrónica "
            "entre empresas."
        )
    return ""
