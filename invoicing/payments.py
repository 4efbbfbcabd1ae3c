"""Getting paid: partial payments, the balance, "Cobrada" and its undo.

The one home of these rules; the invoice page, the account API and ``services.mark_paid``
(``PATCH status=paid``) all call it.

* A payment is recorded on an issued invoice that is still to be collected (``sent`` or
  ``overdue``): never on a draft, a cancelled invoice, or one already paid (a 409, through
  :class:`~invoicing.actions.InvalidTransition`). Its date is neither in the future nor before
  the invoice's issue date; its amount is whole cents, more than zero and no more than what
  is outstanding (field errors, a 400).
* The payment that brings the balance to zero settles the invoice: ``paid``, with
  ``paid_at`` the noon of that payment's date. Removing a payment ("deshacer") of a paid
  invoice brings it back to ``overdue`` if its due date has passed, else ``sent``.
* A rectificativa with a negative total is settled the other way: its payments are refunds
  to the client. Amounts are stored positive (what changed hands); the invoice's sign says
  which way (:attr:`invoicing.models.Invoice.paid_cents`), so ``total - paid`` is always
  the balance. An invoice whose total is zero has nothing to collect: marking it paid
  records no payment.
"""

from __future__ import annotations

from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from invoicing import taxes
from invoicing.actions import Actor, InvalidTransition, log
from invoicing.models import Invoice, InvoiceStatus, Payment, PaymentMethod, has_substitute

OPEN_STATUSES = (InvoiceStatus.SENT, InvoiceStatus.OVERDUE)
REFUSALS = {
    InvoiceStatus.DRAFT: "Un borrador no se cobra: emita la factura primero.",
    InvoiceStatus.CANCELLED: "Una factura anulada no admite cobros.",
    InvoiceStatus.PAID: "La factura ya está cobrada: deshaga un cobro para corregirla.",
}


def with_paid(invoices: QuerySet[Invoice]) -> QuerySet[Invoice]:
    """``invoices`` with ``paid_total`` (the sum of their payments' amounts) and
    ``has_substitute`` annotated, which :attr:`Invoice.paid_cents` and
    :attr:`Invoice.outstanding_cents` read instead of queries per invoice."""
    sums = (
        Payment.objects.filter(invoice=OuterRef("pk"))
        .order_by()
        .values("invoice")
        .annotate(s=Sum("amount_cents"))
        .values("s")
    )
    return invoices.annotate(
        paid_total=Coalesce(Subquery(sums), 0), has_substitute=has_substitute()
    )


def noon(day: date) -> datetime:
    """The moment a payment of ``day`` is said to have happened (``paid_at``)."""
    return timezone.make_aware(datetime.combine(day, time(12, 0)))


def _locked(invoice: Invoice) -> Invoice:
    return Invoice.objects.select_for_update().get(pk=invoice.pk)


def _check_open(invoice: Invoice) -> None:
    if invoice.status not in OPEN_STATUSES:
        raise InvalidTransition(REFUSALS[InvoiceStatus(invoice.status)])


def _date_problem(invoice: Invoice, day: date | None, today: date) -> str:
    if day is None:
        return "Indique la fecha de cobro."
    if day > today:
        return "La fecha de cobro no puede ser futura."
    if day < invoice.issue_date:
        return (
            "La fecha de cobro no puede ser anterior a la de expedición "
            f"({invoice.issue_date:%d/%m/%Y})."
        )
    return ""


def _amount_problem(invoice: Invoice, amount_cents: int | None) -> str:
    outstanding = abs(invoice.outstanding_cents)
    if amount_cents is None:
        return "Indique el importe."
    if amount_cents <= 0:
        return "El importe debe ser mayor que cero."
    if amount_cents > outstanding:
        what = "de devolver" if invoice.total_cents < 0 else "de cobro"
        return f"Supera lo pendiente {what}: {taxes.format_euros(outstanding)}."
    return ""


def _record(
    invoice: Invoice, day: date, amount_cents: int, method: str, note: str, actor: Actor
) -> Payment:
    payment = Payment.objects.create(
        account_id=invoice.account_id,
        invoice=invoice,
        date=day,
        amount_cents=amount_cents,
        method=method,
        note=note,
        created_by=actor.user,
    )
    log(invoice, actor, "payment", amount=amount_cents, date=day.isoformat(), method=method)
    return payment


def _settle(invoice: Invoice, paid_at: datetime, actor: Actor) -> None:
    invoice.status = InvoiceStatus.PAID
    invoice.paid_at = paid_at
    invoice.save(update_fields=["status", "paid_at", "updated_at"])
    log(invoice, actor, "paid", paid_at=paid_at.isoformat())


def add_payment(
    invoice: Invoice,
    *,
    day: date | None,
    amount_cents: int | None,
    method: str = PaymentMethod.TRANSFER,
    note: str = "",
    actor: Actor,
    today: date | None = None,
) -> Payment:
    """Record a payment (or a refund, on a negative invoice); the one that leaves nothing
    outstanding settles the invoice."""
    today = today or timezone.localdate()
    with transaction.atomic():
        invoice = _locked(invoice)
        _check_open(invoice)
        errors = {}
        if problem := _date_problem(invoice, day, today):
            errors["date"] = [problem]
        if problem := _amount_problem(invoice, amount_cents):
            errors["amount"] = [problem]
        if method not in PaymentMethod.values:
            errors["method"] = ["Elija una forma de pago de la lista."]
        if errors:
            raise ValidationError(errors)
        payment = _record(invoice, day, amount_cents, method, note, actor)
        if invoice.outstanding_cents == 0:
            _settle(invoice, noon(day), actor)
    return payment


def pay_balance(
    invoice: Invoice,
    *,
    paid_at: datetime | None,
    actor: Actor,
    method: str = PaymentMethod.OTHER,
    field: str = "paidAt",
    today: date | None = None,
) -> Invoice:
    """Mark the invoice paid at ``paid_at``: a payment of what is outstanding is recorded
    (none when nothing is), so the balance and the status never disagree. Errors on the
    date go under ``field``."""
    today = today or timezone.localdate()
    with transaction.atomic():
        invoice = _locked(invoice)
        if invoice.status not in OPEN_STATUSES:
            raise InvalidTransition(
                f"Una factura {invoice.get_status_display().lower()} no puede pasar a cobrada."
            )
        day = timezone.localdate(paid_at) if paid_at is not None else None
        if problem := _date_problem(invoice, day, today):
            raise ValidationError({field: [problem]})
        outstanding = abs(invoice.outstanding_cents)
        if outstanding:
            _record(invoice, day, outstanding, method, "", actor)
        _settle(invoice, paid_at, actor)
    return invoice


def remove_payment(payment: Payment, *, actor: Actor, today: date | None = None) -> Invoice:
    """Undo a payment. A paid invoice goes back to ``overdue`` past its due date, else to
    ``sent``; a cancelled invoice keeps its payments (the history of what happened).
    ``Payment.DoesNotExist`` when another undo removed it first (the caller's 404)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        invoice = _locked(payment.invoice)
        # Read again under the invoice's lock: a concurrent undo may have removed it already.
        payment = Payment.objects.filter(pk=payment.pk, invoice=invoice).first()
        if payment is None:
            raise Payment.DoesNotExist("Ese cobro ya no existe.")
        if invoice.status == InvoiceStatus.CANCELLED:
            raise InvalidTransition("Una factura anulada conserva sus cobros.")
        log(
            invoice,
            actor,
            "payment_removed",
            amount=payment.amount_cents,
            date=payment.date.isoformat(),
            method=payment.method,
        )
        Payment.objects.filter(pk=payment.pk).delete()
        if invoice.status == InvoiceStatus.PAID:
            past_due = invoice.due_date is not None and invoice.due_date < today
            invoice.status = InvoiceStatus.OVERDUE if past_due else InvoiceStatus.SENT
            invoice.paid_at = None
            invoice.save(update_fields=["status", "paid_at", "updated_at"])
            log(invoice, actor, "unpaid", status=invoice.status)
    return invoice


def payments_of(invoice: Invoice) -> QuerySet[Payment]:
    """The invoice's payments, oldest first."""
    return Payment.objects.filter(invoice=invoice).order_by("date", "created_at", "id")
