"""The payments part of an invoice's page: the form that records one, and what the page
shows (each payment with its undo, what was paid, what is outstanding)."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from factu.text import NoControlCharactersForm
from invoicing import payments, taxes
from invoicing.forms import DATE_FORMATS, DateInput, ScaledDecimalField
from invoicing.models import Invoice, InvoiceStatus, PaymentMethod


class PaymentForm(NoControlCharactersForm, forms.Form):
    """Field names as the service's error keys (``date``, ``amount``…), so each error of
    :func:`invoicing.payments.add_payment` lands on its field."""

    SERVICE_FIELDS = {"date": "date", "amount": "amount", "method": "method", "note": "note"}

    date = forms.DateField(label="Fecha de cobro", input_formats=DATE_FORMATS, widget=DateInput())
    amount = ScaledDecimalField(label="Importe (€)", minimum=1)
    method = forms.ChoiceField(label="Forma de pago", choices=PaymentMethod.choices)
    note = forms.CharField(label="Nota", max_length=200, required=False)

    def __init__(self, *args, invoice: Invoice, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "date": timezone.localdate(),
                "amount": abs(invoice.outstanding_cents),
                "method": PaymentMethod.TRANSFER,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs.update(autocomplete="off")
        if invoice.total_cents < 0:
            self.fields["date"].label = "Fecha de devolución"


def payments_context(invoice: Invoice, *, can_write: bool, form: PaymentForm | None = None) -> dict:
    """What the invoice page shows of its payments (``payments`` in its context)."""
    if not invoice.is_issued:
        return {"shown": False}
    found = list(payments.payments_of(invoice))
    paid, outstanding = invoice.paid_cents, invoice.outstanding_cents
    can_pay = can_write and invoice.status in payments.OPEN_STATUSES and outstanding != 0
    return {
        "shown": bool(found) or can_pay,
        "refund": invoice.total_cents < 0,
        "rows": [
            {
                "payment": p,
                "amount": taxes.format_euros(p.amount_cents),
                "method": p.get_method_display(),
            }
            for p in found
        ],
        "paid": taxes.format_euros(paid),
        "outstanding": taxes.format_euros(outstanding),
        "settled": invoice.status == InvoiceStatus.PAID,
        "can_pay": can_pay,
        "can_undo": can_write and invoice.status != InvoiceStatus.CANCELLED,
        "form": form or (PaymentForm(invoice=invoice) if can_pay else None),
    }
