"""``/api/invoices/{id}/b2b-status``: the client's answers about an issued B2B invoice
(received, accepted, rejected, paid), read and recorded.

Thin views over :func:`einvoice.answers.record_client_answer`, the rule the invoice page and
the ApplicationResponse reader follow too. Another account's invoice is a 404; an invoice
that takes no answer (a draft, cancelled, without an identified buyer) a 409; an answer
that does not fit the sequence, or a bad field, a 400 on its field (Spanish messages).
Amounts in integer euro cents, as the rest of the account API.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api import schema as common
from api.account import schema as doc
from api.account.serializers import Cents, Text
from api.account.views import InvoiceView
from api.exceptions import Conflict
from einvoice import answers
from einvoice.models import AnswerSource
from einvoice.status import B2BStatus

# The service's error keys as the body names them.
API_FIELDS = {
    "status": "status",
    "reason": "reason",
    "paid_on": "paidOn",
    "paid_cents": "paidAmount",
    "at": "answeredOn",
}


@extend_schema_serializer(component_name="AccountB2BStatusInput")
class AnswerInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=B2BStatus.choices)
    reason = Text(
        answers.REASON_MAX,
        required=False,
        allow_blank=True,
        default="",
        help_text="Required when `status` is `rejected`.",
    )
    paidOn = serializers.DateField(  # noqa: N815
        required=False, allow_null=True, help_text="Only with `paid`, and required then."
    )
    paidAmount = Cents(  # noqa: N815
        required=False,
        allow_null=True,
        min_value=1,
        help_text="Euro cents the client says it paid; only with `paid`, and required then. "
        "With earlier `paid` answers, no more than the invoice's total.",
    )
    answeredOn = serializers.DateField(  # noqa: N815
        required=False,
        allow_null=True,
        help_text="The day the client answered (today by default): the four-day clock "
        "counts from the `received` answer's day. Not in the future.",
    )


@extend_schema_serializer(component_name="AccountB2BStatusEvent")
class EventSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=B2BStatus.choices)
    at = serializers.DateTimeField()
    reason = serializers.CharField()
    paidOn = serializers.DateField(source="paid_on", allow_null=True)  # noqa: N815
    paidAmount = serializers.IntegerField(source="paid_cents", allow_null=True)  # noqa: N815
    source = serializers.ChoiceField(choices=AnswerSource.values)
    responseId = serializers.CharField(source="response_id")  # noqa: N815
    responseCode = serializers.CharField(source="response_code")  # noqa: N815
    recordedBy = serializers.CharField(source="actor")  # noqa: N815


@extend_schema_serializer(component_name="AccountB2BDeadline")
class DeadlineSerializer(serializers.Serializer):
    startsOn = serializers.DateField(allow_null=True)  # noqa: N815
    basis = serializers.ChoiceField(
        choices=["received", "sent"],
        allow_null=True,
        help_text="`received`: the client's `received` answer; `sent`: the invoice's email, "
        "before the client confirmed it.",
    )
    lastDay = serializers.DateField(allow_null=True)  # noqa: N815
    daysLeft = serializers.IntegerField(  # noqa: N815
        allow_null=True, help_text="0 on the last day, negative once past; null without a start."
    )
    answered = serializers.BooleanField(help_text="Accepted or rejected in this round.")
    answeredInTime = serializers.BooleanField(allow_null=True)  # noqa: N815
    label = serializers.CharField(help_text="As the invoice page says it, in Spanish.")


@extend_schema_serializer(component_name="AccountB2BStatus")
class B2BStatusSerializer(serializers.Serializer):
    invoiceId = serializers.UUIDField()  # noqa: N815
    status = serializers.ChoiceField(
        choices=B2BStatus.choices, allow_null=True, help_text="The latest answer; null before any."
    )
    paidAmount = serializers.IntegerField(  # noqa: N815
        help_text="Euro cents the client's `paid` answers add up to."
    )
    deadline = DeadlineSerializer()
    history = EventSerializer(many=True)


def state_of(invoice) -> dict:
    events = answers.history(invoice)
    clock = answers.clock(invoice, events, timezone.localdate())
    answered_on = timezone.localdate(clock.answered.at) if clock.answered else None
    return {
        "invoiceId": invoice.pk,
        "status": answers.current_status(events),
        "paidAmount": answers.answered_paid_cents(events),
        "deadline": {
            "startsOn": clock.starts_on,
            "basis": clock.basis or None,
            "lastDay": clock.deadline,
            "daysLeft": clock.days_left,
            "answered": clock.answered is not None,
            "answeredInTime": answered_on <= clock.deadline if answered_on else None,
            "label": clock.label,
        },
        "history": events,
    }


EXAMPLE_UUID = "7d3c1b2a-9e8f-4a6b-8c5d-1e2f3a4b5c6d"
STATE_EXAMPLE = {
    "invoiceId": doc.UUID,
    "status": "rejected",
    "paidAmount": 0,
    "deadline": {
        "startsOn": "2026-03-16",
        "basis": "received",
        "lastDay": "2026-03-20",
        "daysLeft": -2,
        "answered": True,
        "answeredInTime": True,
        "label": "Rechazada el 18/03/2026, en plazo.",
    },
    "history": [
        {
            "id": EXAMPLE_UUID,
            "status": "rejected",
            "at": "2026-03-18T10:15:00+01:00",
            "reason": "El pedido no corresponde.",
            "paidOn": None,
            "paidAmount": None,
            "source": "api",
            "responseId": "",
            "responseCode": "",
            "recordedBy": "API: ERP (kf_1a2b…)",
        }
    ],
}
EXAMPLES = [
    OpenApiExample(
        "Rejected",
        value={"status": "rejected", "reason": "El pedido no corresponde."},
        request_only=True,
    ),
    OpenApiExample(
        "Paid",
        value={"status": "paid", "paidOn": "2026-04-02", "paidAmount": 106500},
        request_only=True,
    ),
    OpenApiExample(
        "Rejected", value=STATE_EXAMPLE, response_only=True, status_codes=["200", "201"]
    ),
]


class InvoiceB2BStatusView(InvoiceView):
    serializer_class = B2BStatusSerializer

    @doc.operation(
        operation_id="account_invoice_b2b_status_retrieve",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice's e-invoice status (the client's answers)",
        description="The latest answer of the client about an issued B2B invoice, every "
        "answer oldest first, and the four days to accept or reject it (Ley 18/2022).",
        responses={200: B2BStatusSerializer},
        examples=EXAMPLES,
        errors=[404],
    )
    def get(self, request, invoice_id):
        invoice = self.get_object()
        return Response(B2BStatusSerializer(state_of(invoice)).data)

    @doc.operation(
        operation_id="account_invoice_b2b_status_create",
        tags=doc.TAGS_INVOICES,
        summary="Record the client's answer about an invoice",
        description="`received`, `accepted`, `rejected` (with `reason`) or `paid` (with "
        "`paidOn` and `paidAmount` in euro cents). The order is checked: nothing follows "
        "`rejected` but a new `received`; `paid` follows `received`, `accepted` or an earlier "
        "partial `paid`. A `paid` answer is the client's word: it records no payment "
        "(`/api/invoices/{id}/payments` does). Answers the status as it stands after.",
        request=AnswerInputSerializer,
        responses={201: B2BStatusSerializer},
        examples=EXAMPLES,
        errors=[*common.BODY, 404, 409],
        idempotent=True,
        error_descriptions={
            409: "The invoice takes no answer: a draft, cancelled, or without an identified buyer."
        },
    )
    def post(self, request, invoice_id):
        invoice = self.get_object()
        data = self.validated(AnswerInputSerializer)
        try:
            answers.record_client_answer(
                invoice,
                status=data["status"],
                actor=self.actor(),
                source=AnswerSource.API,
                reason=data["reason"],
                paid_on=data.get("paidOn"),
                paid_cents=data.get("paidAmount"),
                at=answers.answered_at(data.get("answeredOn")),
            )
        except answers.NotAnswerable as exc:
            raise Conflict(str(exc)) from None
        except DjangoValidationError as exc:
            raise ValidationError(
                {API_FIELDS.get(k, k): v for k, v in exc.message_dict.items()}
            ) from None
        body = B2BStatusSerializer(state_of(invoice)).data
        return Response(body, status=status.HTTP_201_CREATED)
