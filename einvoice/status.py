"""The statuses of a B2B electronic invoice (Ley 18/2022, Real Decreto 238/2026) and its clock.

One vocabulary for both sides: an issued invoice's statuses are what its client answered; a
received invoice's are what the user answers its supplier. The recipient has four calendar
days from receipt to say it accepted or rejected the invoice (:func:`answer_deadline`).
"""

from __future__ import annotations

import datetime as dt

from django.db import models

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
