"""What may be done to a registered invoice through the VERI*FACTU API (retry, subsanación,
cancel), and the answer to an AEAT requerimiento."""

from __future__ import annotations

from dataclasses import replace

from django.utils.translation import ngettext
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers, status

from api import schema as common
from api.exceptions import Refused
from api.v1 import openapi as doc
from api.v1 import outputs as out
from api.v1.base import NIF_PARAMETER, InvoiceView, V1View, refused
from api.v1.serializers import (
    InvoiceInputSerializer,
    RequerimientoInputSerializer,
    SubsanacionInputSerializer,
    facts_from,
)
from verifactu import corrections
from verifactu.models import FiscalInvoice
from verifactu.records import RecordRefused
from verifactu.requerimiento import RequerimientoFailed, RequerimientoRefused, send_requested


class _EnvelopeCount(serializers.IntegerField):
    """How many envelopes went."""

    def to_representation(self, value: list) -> int:
        return len(value)


@extend_schema_serializer(component_name="V1RequerimientoSentData")
class RequerimientoSentSerializer(serializers.Serializer):
    ref = serializers.CharField()
    sent = serializers.IntegerField()
    accepted = serializers.IntegerField()
    envelopes = _EnvelopeCount()


V1RequerimientoSent = out.envelope(
    "V1RequerimientoSent", RequerimientoSentSerializer(), message=True
)


class InvoiceRetryView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_retry",
        tags=doc.TAGS_INVOICES,
        summary="Resubmit a rejected invoice",
        description="Only for invoices whose latest record is `rejected` or `error`: a failed "
        "record is queued again as it is; after a rejection a new record with the same data "
        "(subsanación, or a new anulación) is chained and queued. To send corrected data use "
        "`POST /api/v1/invoices/{id}/subsanacion`. No body.",
        request=None,
        responses={200: out.V1RecordQueued},
        errors=[*common.WRITE, 404, 409],
        idempotent=True,
        error_descriptions={
            409: "The invoice is not rejected, or its retry was refused (a rejection of the "
            "number or the date is fixed by cancelling and registering a new invoice)."
        },
    )
    def post(self, request, invoice_id):
        invoice = self.get_object()
        try:
            record = corrections.retry(invoice)
        except corrections.InvalidCorrection as exc:
            return self.refuse(Refused(str(exc)))
        except RecordRefused as exc:
            return self.refuse(refused(exc, status.HTTP_409_CONFLICT))
        return self.answer(out.V1RecordQueued, record, message="Record queued for submission.")


class InvoiceSubsanacionView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_subsanacion",
        tags=doc.TAGS_INVOICES,
        summary="Correct a rejected or accepted-with-errors record (subsanación)",
        description="Chains a new RegistroAlta (Subsanacion=S; RechazoPrevio=X when AEAT "
        "holds no earlier record of the invoice, S when it holds one and a later correction "
        "was rejected, N after acceptance with errors) carrying the corrected data, which "
        "become a new version of the invoice. The body is the create body's fiscal fields, "
        "each optional: an absent field keeps its value, an array replaces the whole array, "
        "and `total_amount` and `total_tax_amount` are required with a new `breakdown`. "
        "`invoice_number`, `invoice_date`, `taxpayer_id` and `computer_system_id` never "
        "change (400): an invoice AEAT refused for its number or date is cancelled and "
        "registered again. Changing the recipient's identity or an amount corrects the "
        "invoice itself, which only a rectifying invoice may do (422), unless "
        "`matches_delivered_invoice` is true: the invoice as delivered already carried "
        "the corrected data. A recipient whose NIF is not in AEAT's census may be sent as "
        "`recipient_id_type` 07 (no censado) with the same ID without that statement.",
        request=SubsanacionInputSerializer,
        responses={201: out.V1InvoiceRegistered},
        errors=[*common.BODY, 404, 409, 422],
        idempotent=True,
        error_descriptions={
            409: "Its latest record is queued, being sent, accepted or cancelled; or the "
            "`Idempotency-Key` was reused.",
            422: "Nothing changes; a change that needs a rectifying invoice without "
            "`matches_delivered_invoice`; on an invoice issued in Factu, anything but its "
            "recipient sent as no censado; or AEAT refused the number or date.",
        },
    )
    def post(self, request, invoice_id):
        invoice = self.get_object()
        body = SubsanacionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        merged = InvoiceInputSerializer(data={**out.as_input(invoice), **body.fiscal_changes})
        merged.is_valid(raise_exception=True)
        facts = replace(
            facts_from(merged.validated_data, invoice.taxpayer),
            issuer_nif=invoice.issuer_nif,
            issuer_name=invoice.issuer_name,
        )
        token = request.auth
        try:
            record = corrections.subsanar(
                invoice,
                facts,
                reason=body.validated_data["reason"],
                actor=corrections.Actor(
                    user=request.user, token_id=token.pk, token_label=token.name
                ),
                matches_delivered_invoice=body.validated_data["matches_delivered_invoice"],
            )
        except corrections.InvalidCorrection as exc:
            return self.refuse(Refused(str(exc)))
        except corrections.CorrectionRefused as exc:
            fields = {exc.field: [exc.message]} if exc.field else None
            return self.refuse(
                Refused(exc.message, fields, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)
            )
        except RecordRefused as exc:
            return self.refuse(refused(exc, status.HTTP_400_BAD_REQUEST))
        return self.answer(
            out.V1InvoiceRegistered, record, message="Subsanación registered.", status=201
        )


class InvoiceCancelView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_cancel",
        tags=doc.TAGS_INVOICES,
        summary="Cancel an invoice (RegistroAnulacion)",
        description="Chains and queues a cancellation record. No body.",
        request=None,
        responses={201: out.V1InvoiceCancelled},
        errors=[*common.WRITE, 404, 409],
        idempotent=True,
        error_descriptions={
            409: "Already cancelled, or issued in Factu (cancel it there or through "
            "`PATCH /api/invoices/{id}/status`)."
        },
    )
    def post(self, request, invoice_id):
        invoice = self.get_object()
        if invoice.source == FiscalInvoice.Source.FACTU:
            return self.refuse(
                Refused(
                    "This invoice was issued in Factu: cancel it there or through "
                    "PATCH /api/invoices/{id}/status."
                )
            )
        try:
            record = corrections.cancel(invoice)
        except corrections.InvalidCorrection as exc:
            return self.refuse(Refused(str(exc)))
        except RecordRefused as exc:  # e.g. a NO VERI*FACTU anulación that cannot be signed
            return self.refuse(refused(exc, status.HTTP_400_BAD_REQUEST))
        return self.answer(out.V1InvoiceCancelled, record, message="Invoice cancelled.", status=201)


class TaxpayerRequerimientoView(V1View):
    """``POST /api/v1/taxpayers/{nif}/requerimiento``: answer an AEAT requerimiento."""

    @doc.operation(
        operation_id="v1_taxpayer_requerimiento",
        tags=doc.TAGS_TAXPAYERS,
        summary="Send NO VERI*FACTU records the AEAT asked for (requerimiento)",
        description="Sends the taxpayer's signed NO VERI*FACTU records issued between "
        "`date_from` and `date_to` (both optional, inclusive) to the AEAT's Requerimiento "
        "endpoint with `RemisionRequerimiento/RefRequerimiento` = `ref` (1–18 characters). "
        "409 when a requested record has no signature (an anomaly: records are signed when "
        "chained), none match, or no certificate may sign the event 08 of the answer.",
        request=RequerimientoInputSerializer,
        responses={201: V1RequerimientoSent},
        parameters=[NIF_PARAMETER],
        errors=[*common.WRITE, 404, 409, 502],
        idempotent=True,
    )
    def post(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        body = RequerimientoInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        try:
            result = send_requested(
                taxpayer,
                values["ref"],
                date_from=values.get("date_from"),
                date_to=values.get("date_to"),
            )
        except RequerimientoRefused as exc:
            records = {"records": [r.invoice_number for r in exc.records]} if exc.records else None
            return self.refuse(Refused(exc.message, records))
        except RequerimientoFailed as exc:
            return self.refuse(
                Refused(
                    exc.message,
                    {"sent": [str(exc.sent)]},
                    status_code=status.HTTP_502_BAD_GATEWAY,
                )
            )
        return self.answer(
            V1RequerimientoSent,
            result,
            message=ngettext(
                "%(n)d record sent to the AEAT.", "%(n)d records sent to the AEAT.", result.sent
            )
            % {"n": result.sent},
            status=201,
        )
