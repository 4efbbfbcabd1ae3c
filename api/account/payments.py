"""``/api/invoices/{id}/payments``: an invoice's payments, listed, added and removed.

Thin views over :mod:`invoicing.payments`, the rules the invoice page follows too. Another
account's invoice or payment is a 404; a draft, cancelled or paid invoice refuses a payment
with a 409; a bad date or amount is a 400 on its field.
"""

from __future__ import annotations

from django.http import Http404
from rest_framework import status
from rest_framework.response import Response

from api.account import schema as doc
from api.account import serializers as s
from api.account.views import InvoiceView
from api.exceptions import Conflict
from api.schema import BODY
from invoicing import payments
from invoicing.actions import InvalidTransition
from invoicing.models import Payment


class InvoicePaymentsView(InvoiceView):
    serializer_class = s.PaymentSerializer
    pagination_class = None
    filter_backends = []

    @doc.operation(
        operation_id="account_invoice_payments_list",
        tags=doc.TAGS_INVOICES,
        summary="List an invoice's payments",
        description="Oldest first. Amounts in euro cents, always positive; on an invoice with a "
        "negative total (a rectificativa) they are refunds to the client.",
        responses={200: s.PaymentSerializer(many=True)},
        examples=doc.PAYMENT_LIST_EXAMPLES,
        errors=[404],
    )
    def get(self, request, invoice_id):
        invoice = self.get_object()
        return Response(s.PaymentSerializer(payments.payments_of(invoice), many=True).data)

    @doc.operation(
        operation_id="account_invoice_payments_create",
        tags=doc.TAGS_INVOICES,
        summary="Record a payment",
        description="A partial or whole payment of an issued invoice (`sent` or `overdue`). "
        "The payment that leaves nothing outstanding makes the invoice `paid`, `paidAt` "
        "being its date. `amount` in euro cents.",
        request=s.PaymentInputSerializer,
        responses={201: s.PaymentCreatedSerializer},
        examples=doc.PAYMENT_CREATE_EXAMPLES,
        errors=[*BODY, 404, 409],
        idempotent=True,
        error_descriptions={409: "The invoice is a draft, cancelled or already paid."},
    )
    def post(self, request, invoice_id):
        invoice = self.get_object()
        data = self.validated(s.PaymentInputSerializer)
        try:
            payment = payments.add_payment(
                invoice,
                day=data["date"],
                amount_cents=data["amount"],
                method=data["method"],
                note=data["note"],
                actor=self.actor(),
            )
        except InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        body = s.PaymentCreatedSerializer(payment).data
        return Response(body, status=status.HTTP_201_CREATED)


class InvoicePaymentView(InvoiceView):
    serializer_class = s.InvoiceBalanceSerializer

    @doc.operation(
        operation_id="account_invoice_payment_delete",
        tags=doc.TAGS_INVOICES,
        summary="Remove a payment (undo)",
        description="A paid invoice goes back to `overdue` if its due date has passed, else "
        "to `sent`. Answers the invoice as it stands after.",
        responses={200: s.InvoiceBalanceSerializer},
        errors=[404, 409],
        error_descriptions={409: "The invoice is cancelled: its payments are kept."},
    )
    def delete(self, request, invoice_id, payment_id):
        invoice = self.get_object()
        payment = Payment.objects.filter(invoice=invoice, pk=payment_id).first()
        if payment is None:
            raise Http404("No such payment.")
        try:
            invoice = payments.remove_payment(payment, actor=self.actor())
        except Payment.DoesNotExist:
            raise Http404("No such payment.") from None
        except InvalidTransition as exc:
            raise Conflict(str(exc)) from None
        return Response(s.InvoiceBalanceSerializer(invoice).data)
