"""The client's answers about an issued B2B invoice, and the one rule that records them.

:func:`record_client_answer` is the only writer of :class:`~einvoice.models.IssuedStatusEvent`:
the invoice page, the account API and the ApplicationResponse reader all call it, so the
sequence rules and the Spanish field errors live here once. The sequence follows what the
law names (received, accepted, rejected with its reason, paid with date and amount):

- received, accepted or rejected may be the first answer (accepting or rejecting implies
  having received it);
- after received: accepted, rejected or paid; a second "received" changes nothing and is
  refused;
- after rejected: only a new "received" (the client got the invoice again, corrected);
- after accepted: only paid; after paid: another paid, a partial payment, while the
  answered payments do not exceed the invoice's total.

A "paid" answer is what the client says; it registers no payment in ``invoicing`` (the
collection is the taxpayer's own fact, see docs/einvoice-mapping.md).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from einvoice.models import AnswerSource, IssuedStatusEvent
from einvoice.status import B2BStatus, answer_deadline, days_left, not_due
from invoicing import taxes
from invoicing.actions import Actor
from invoicing.models import Invoice, InvoiceStatus
from mailing.models import EmailDelivery, Kind

REASON_MAX = 500

# What may follow the current status (None: no answer yet).
ALLOWED_AFTER: dict[str | None, frozenset[str]] = {
    None: frozenset({B2BStatus.RECEIVED, B2BStatus.ACCEPTED, B2BStatus.REJECTED}),
    B2BStatus.RECEIVED: frozenset({B2BStatus.ACCEPTED, B2BStatus.REJECTED, B2BStatus.PAID}),
    B2BStatus.ACCEPTED: frozenset({B2BStatus.PAID}),
    B2BStatus.REJECTED: frozenset({B2BStatus.RECEIVED}),
    B2BStatus.PAID: frozenset({B2BStatus.PAID}),
}

_REFUSALS = {
    (None, B2BStatus.PAID): "Antes de pagada, la factura tiene que constar recibida o aceptada.",
    (B2BStatus.RECEIVED, B2BStatus.RECEIVED): "La factura ya consta como recibida.",
    (B2BStatus.ACCEPTED, B2BStatus.ACCEPTED): "La factura ya consta como aceptada.",
    (B2BStatus.ACCEPTED, B2BStatus.REJECTED): (
        "El cliente ya la aceptó: una factura aceptada no se rechaza después. Si hay un error, "
        "emita una rectificativa."
    ),
    (B2BStatus.ACCEPTED, B2BStatus.RECEIVED): "El cliente ya la aceptó.",
    (B2BStatus.PAID, B2BStatus.RECEIVED): "El cliente ya la ha pagado.",
    (B2BStatus.PAID, B2BStatus.ACCEPTED): "El cliente ya la ha pagado.",
    (B2BStatus.PAID, B2BStatus.REJECTED): "El cliente ya la ha pagado: no puede rechazarla.",
}
_AFTER_REJECTED = (
    "La factura está rechazada: solo puede constar de nuevo como recibida (el cliente recibió "
    "la factura corregida)."
)


class NotAnswerable(Exception):
    """The invoice takes no B2B answer: a draft, a cancelled invoice, or one without an
    identified buyer (no e-invoice is due for it)."""


def refusal(invoice: Invoice) -> str:
    """Why the invoice takes no B2B answer, or "" when it does."""
    if not invoice.is_issued:
        return "Solo las facturas emitidas tienen estado de factura electrónica."
    if invoice.status == InvoiceStatus.CANCELLED:
        return "La factura está anulada: no se registran más respuestas del cliente."
    return not_due(invoice)


def history(invoice: Invoice) -> list[IssuedStatusEvent]:
    """The invoice's answers, oldest first."""
    return list(IssuedStatusEvent.objects.filter(invoice=invoice).select_related("user"))


def current_status(events: list[IssuedStatusEvent]) -> str | None:
    """The latest answer's status, or None without any."""
    return events[-1].status if events else None


def answered_paid_cents(events: list[IssuedStatusEvent]) -> int:
    return sum(e.paid_cents or 0 for e in events if e.status == B2BStatus.PAID)


def answered_at(day: dt.date | None) -> dt.datetime:
    """The moment of an answer given on ``day``: now for today (or no day), noon of an
    earlier (or later: refused by the rules) day, in the local time zone."""
    if day is None or day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def record_client_answer(
    invoice: Invoice,
    *,
    status: str,
    actor: Actor,
    source: str,
    reason: str = "",
    paid_on: dt.date | None = None,
    paid_cents: int | None = None,
    at: dt.datetime | None = None,
    response_id: str = "",
    response_code: str = "",
) -> IssuedStatusEvent:
    """Record the client's answer about ``invoice``, or refuse it.

    Raises :class:`NotAnswerable` for an invoice that takes no answer, and Django's
    ``ValidationError`` with Spanish messages keyed ``status``, ``reason``, ``paid_on``,
    ``paid_cents`` or ``at`` for an answer that does not fit. ``at`` is when the client
    answered (now by default); the four-day clock reads it.
    """
    with transaction.atomic():
        locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
        why = refusal(locked)
        if why:
            raise NotAnswerable(why)
        at = at or timezone.now()
        reason = (reason or "").strip()
        if status not in B2BStatus.values:
            raise ValidationError({"status": ["Estado desconocido."]})
        events = history(locked)
        if response_id and any(e.response_id == response_id for e in events):
            raise ValidationError(
                {"status": [f"La respuesta {response_id} ya está registrada en esta factura."]}
            )
        errors = _answer_errors(locked, events, status, reason, paid_on, paid_cents, at)
        if errors:
            raise ValidationError(errors)
        if events and at < events[-1].at:
            at = events[-1].at  # the same day as the last answer: it stays after it
        return IssuedStatusEvent.objects.create(
            account_id=locked.account_id,
            invoice=locked,
            status=status,
            at=at,
            reason=reason,
            paid_on=paid_on if status == B2BStatus.PAID else None,
            paid_cents=paid_cents if status == B2BStatus.PAID else None,
            source=AnswerSource(source),
            response_id=response_id,
            response_code=response_code,
            user=actor.user,
            token_label=actor.token_label,
        )


def _answer_errors(
    invoice: Invoice,
    events: list[IssuedStatusEvent],
    status: str,
    reason: str,
    paid_on: dt.date | None,
    paid_cents: int | None,
    at: dt.datetime,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    current = current_status(events)
    if status not in ALLOWED_AFTER[current]:
        message = (
            _AFTER_REJECTED
            if current == B2BStatus.REJECTED
            else _REFUSALS.get((current, status), "Ese estado no puede seguir al actual.")
        )
        errors["status"] = [message]
    today = timezone.localdate()
    answered_on = timezone.localdate(at)
    if answered_on > today:
        errors["at"] = ["La fecha de la respuesta no puede ser futura."]
    elif answered_on < invoice.issue_date:
        errors["at"] = ["La fecha de la respuesta no puede ser anterior a la de la factura."]
    elif events and answered_on < timezone.localdate(events[-1].at):
        last = timezone.localdate(events[-1].at)
        errors["at"] = [
            f"La respuesta no puede ser anterior a la última registrada ({last:%d/%m/%Y})."
        ]
    if status == B2BStatus.REJECTED and not reason:
        errors["reason"] = ["Indique el motivo del rechazo."]
    if len(reason) > REASON_MAX:
        errors["reason"] = [f"El motivo no puede pasar de {REASON_MAX} caracteres."]
    if status == B2BStatus.PAID:
        errors.update(_paid_errors(invoice, events, paid_on, paid_cents, today))
    else:
        if paid_on is not None:
            errors["paid_on"] = ["La fecha de pago solo se indica con el estado «Pagada»."]
        if paid_cents is not None:
            errors["paid_cents"] = ["El importe pagado solo se indica con el estado «Pagada»."]
    return errors


def _paid_errors(
    invoice: Invoice,
    events: list[IssuedStatusEvent],
    paid_on: dt.date | None,
    paid_cents: int | None,
    today: dt.date,
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if paid_on is None:
        errors["paid_on"] = ["Indique la fecha de pago."]
    elif paid_on > today:
        errors["paid_on"] = ["La fecha de pago no puede ser futura."]
    elif paid_on < invoice.issue_date:
        errors["paid_on"] = ["La fecha de pago no puede ser anterior a la de la factura."]
    if invoice.total_cents <= 0:
        errors["paid_cents"] = ["Una factura de total cero o negativo no se paga."]
    elif paid_cents is None:
        errors["paid_cents"] = ["Indique el importe pagado."]
    elif paid_cents <= 0:
        errors["paid_cents"] = ["El importe pagado debe ser mayor que cero."]
    else:
        left = invoice.total_cents - answered_paid_cents(events)
        if paid_cents > left:
            errors["paid_cents"] = [
                f"El importe pagado ({taxes.format_euros(paid_cents)}) supera lo que queda "
                f"por pagar según el cliente ({taxes.format_euros(left)}; total de la factura "
                f"{taxes.format_euros(invoice.total_cents)})."
            ]
    return errors


# ---------------------------------------------------------------------------------------
# The four-day clock
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """The four days to accept or reject: when they started and from what (``received``:
    the client's answer; ``sent``: the invoice's email, the client not having confirmed),
    the last day, and the answer given in time or not."""

    starts_on: dt.date | None
    basis: str
    deadline: dt.date | None
    days_left: int | None
    answered: IssuedStatusEvent | None

    @property
    def label(self) -> str:
        if self.starts_on is None:
            return "El plazo de cuatro días empieza cuando el cliente recibe la factura."
        if self.answered is not None:
            answered_on = timezone.localdate(self.answered.at)
            verb = "Aceptada" if self.answered.status == B2BStatus.ACCEPTED else "Rechazada"
            timing = "en plazo" if answered_on <= self.deadline else "fuera de plazo"
            return f"{verb} el {answered_on:%d/%m/%Y}, {timing}."
        return plazo_label(self.days_left)

    @property
    def tone(self) -> str:
        if self.starts_on is None or self.answered is not None:
            return ""
        if self.days_left < 0:
            return "bad"
        return "warn" if self.days_left <= 1 else ""


def plazo_label(left: int) -> str:
    """The days left as the page says them, Spanish plurals included."""
    if left < 0:
        return "Plazo vencido"
    if left == 0:
        return "Último día: hoy"
    if left == 1:
        return "Queda 1 día"
    return f"Quedan {left} días"


def clock(invoice: Invoice, events: list[IssuedStatusEvent], today: dt.date) -> Clock:
    """The clock of the current round: a rejection followed by a new "received" starts
    another. Before any answer it runs from the first email of the invoice that reached
    the mail server, the moment the client had it in hand."""
    starts_on: dt.date | None = None
    basis = ""
    answered: IssuedStatusEvent | None = None
    for event in events:
        day = timezone.localdate(event.at)
        if event.status == B2BStatus.RECEIVED:
            if starts_on is None or (answered and answered.status == B2BStatus.REJECTED):
                starts_on, basis, answered = day, "received", None
        elif event.status in (B2BStatus.ACCEPTED, B2BStatus.REJECTED) and answered is None:
            answered = event
            if starts_on is None:
                starts_on, basis = day, "received"
    if starts_on is None:
        sent_at = (
            EmailDelivery.objects.filter(
                account_id=invoice.account_id,
                kind=Kind.INVOICE,
                object_id=invoice.pk,
                sent_at__isnull=False,
            )
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        if sent_at is not None:
            starts_on, basis = timezone.localdate(sent_at), "sent"
    if starts_on is None:
        return Clock(None, "", None, None, None)
    return Clock(
        starts_on, basis, answer_deadline(starts_on), days_left(starts_on, today), answered
    )
