"""Received e-invoices in the account API: upload (raw XML, raw ZIP or multipart files), list
and read. Everything goes through :mod:`einvoice.received`, as the browser does."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import generics, parsers, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from api import schema as common
from api.account import schema as doc
from api.account.serializers import Cents, Text
from api.account.views import AccountView
from api.exceptions import Conflict
from api.pagination import FixedPagePagination
from einvoice.models import ReceivedInvoice
from einvoice.received import (
    CREATED,
    DUPLICATE,
    INVALID,
    answer,
    convert_to_expense,
    import_upload,
    received_invoices,
)
from einvoice.status import B2BStatus, answer_deadline
from expenses.services import categories_for

TAGS = ["account: received invoices"]


class RawXMLParser(parsers.BaseParser):
    """The body as bytes: one e-invoice file."""

    media_type = "application/xml"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class RawTextXMLParser(RawXMLParser):
    media_type = "text/xml"


class RawZipParser(RawXMLParser):
    media_type = "application/zip"


# -- serializers ------------------------------------------------------------------------------


def cents(help_text: str = "Cents of the document's currency.", **kwargs):
    return serializers.IntegerField(help_text=help_text, **kwargs)


class ReceivedLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    quantity = serializers.CharField(help_text="Exact decimal, as the file writes it.")
    unitPrice = serializers.CharField(source="unit_price", help_text="Exact decimal.")  # noqa: N815
    net = cents(source="net_cents")
    category = serializers.CharField(help_text="EN 16931 tax category (UNCL5305).")
    rate = serializers.IntegerField(source="rate_bp", help_text="Basis points.")


class ReceivedTaxSerializer(serializers.Serializer):
    category = serializers.CharField(help_text="EN 16931 tax category (UNCL5305).")
    rate = serializers.IntegerField(source="rate_bp", help_text="Basis points.")
    base = cents(source="base_cents")
    tax = cents(source="tax_cents")
    exemptionReasonCode = serializers.CharField(  # noqa: N815
        source="exemption_reason_code", allow_null=True
    )


class ReceivedEventSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=B2BStatus.choices)
    reason = serializers.CharField(allow_blank=True)
    paidOn = serializers.DateField(source="paid_on", allow_null=True)  # noqa: N815
    paidAmount = cents(source="paid_cents", allow_null=True)  # noqa: N815
    at = serializers.DateTimeField()


class SignatureSerializer(serializers.Serializer):
    present = serializers.BooleanField(source="signature_present")
    valid = serializers.BooleanField(
        source="signature_valid", allow_null=True, help_text="Null until it is verified."
    )
    signer = serializers.CharField(source="signature_signer", allow_blank=True)


@extend_schema_serializer(component_name="AccountReceivedInvoiceItem")
class ReceivedItemSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField()
    taxpayerId = serializers.UUIDField(source="taxpayer_id")  # noqa: N815
    format = serializers.ChoiceField(choices=["ubl", "cii", "facturae"])
    isCreditNote = serializers.BooleanField(source="is_credit_note")  # noqa: N815
    supplierNif = serializers.CharField(source="supplier_nif")  # noqa: N815
    supplierName = serializers.CharField(source="supplier_name", allow_blank=True)  # noqa: N815
    number = serializers.CharField()
    issueDate = serializers.DateField(source="issue_date")  # noqa: N815
    currency = serializers.CharField()
    subtotal = cents(source="net_cents")
    taxAmount = cents(source="tax_cents", help_text="Taxes charged, recargo included.")  # noqa: N815
    total = cents(source="total_cents", help_text="Before withholding (EN 16931 BT-112).")
    payable = cents(source="payable_cents", help_text="What is to pay (BT-115).")
    irpfWithheld = cents(source="irpf_withheld_cents")  # noqa: N815
    status = serializers.ChoiceField(choices=B2BStatus.choices)
    receivedOn = serializers.DateField(source="received_on")  # noqa: N815
    answerBy = serializers.DateField(  # noqa: N815
        source="answer_by", help_text="Last day to accept or reject it (four days from receipt)."
    )
    expenseId = serializers.UUIDField(source="expense_id", allow_null=True)  # noqa: N815

    class Meta:
        model = ReceivedInvoice
        fields = [
            "id",
            "taxpayerId",
            "format",
            "isCreditNote",
            "supplierNif",
            "supplierName",
            "number",
            "issueDate",
            "currency",
            "subtotal",
            "taxAmount",
            "total",
            "payable",
            "irpfWithheld",
            "status",
            "receivedOn",
            "answerBy",
            "expenseId",
        ]


@extend_schema_serializer(component_name="AccountReceivedInvoice")
class ReceivedDetailSerializer(ReceivedItemSerializer):
    fileName = serializers.CharField(source="file_name", allow_blank=True)  # noqa: N815
    fileSha256 = serializers.CharField(source="file_sha256")  # noqa: N815
    corrects = serializers.CharField(allow_blank=True)
    surcharge = cents(source="surcharge_cents", help_text="Recargo de equivalencia charged.")
    lines = ReceivedLineSerializer(many=True)
    taxes = ReceivedTaxSerializer(many=True)
    signature = SignatureSerializer(source="*")
    events = ReceivedEventSerializer(many=True, source="events.all")

    class Meta(ReceivedItemSerializer.Meta):
        fields = [
            *ReceivedItemSerializer.Meta.fields,
            "fileName",
            "fileSha256",
            "corrects",
            "surcharge",
            "lines",
            "taxes",
            "signature",
            "events",
        ]


class ProblemSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text="The rule's id: `BR-CO-15`, `XSD`, `RECEIVED-BUYER`…")
    message = serializers.CharField(source="text", help_text="In Spanish.")
    location = serializers.CharField(allow_blank=True)


@extend_schema_serializer(component_name="AccountReceivedUploadResult")
class OutcomeSerializer(serializers.Serializer):
    file = serializers.CharField(source="name", allow_blank=True, help_text="ZIP member's name.")
    result = serializers.ChoiceField(source="status", choices=[CREATED, DUPLICATE, INVALID])
    invoice = ReceivedDetailSerializer(
        allow_null=True,
        help_text="The invoice created, or the one already received for a duplicate.",
    )
    receivedAt = serializers.DateTimeField(  # noqa: N815
        source="received_before", allow_null=True, help_text="Duplicate: when it came first."
    )
    errors = ProblemSerializer(many=True, source="problems")


@extend_schema_serializer(component_name="AccountReceivedUpload")
class UploadResultSerializer(serializers.Serializer):
    results = OutcomeSerializer(many=True)


class UploadInputSerializer(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(), help_text="One or more XML or ZIP files."
    )


UPLOAD_EXAMPLE = OpenApiExample(
    "Un fichero creado y uno rechazado",
    value={
        "results": [
            {
                "file": "factura-0001.xml",
                "result": "invalid",
                "invoice": None,
                "receivedAt": None,
                "errors": [
                    {
                        "rule": "RECEIVED-BUYER",
                        "message": "El comprador de la factura (Acme SL, NIF A28045631) no es "
                        "ningún contribuyente de esta cuenta.",
                        "location": "",
                    }
                ],
            }
        ]
    },
    response_only=True,
)


# -- views ------------------------------------------------------------------------------------


def _with_deadline(invoice: ReceivedInvoice) -> ReceivedInvoice:
    invoice.answer_by = answer_deadline(invoice.received_on)
    return invoice


class ReceivedListView(AccountView, generics.ListAPIView):
    serializer_class = ReceivedItemSerializer
    pagination_class = FixedPagePagination
    filter_backends = []
    parser_classes = [RawXMLParser, RawTextXMLParser, RawZipParser, parsers.MultiPartParser]

    def get_queryset(self):
        return received_invoices(self.account)

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        items = [_with_deadline(invoice) for invoice in page]
        return self.get_paginated_response(self.get_serializer(items, many=True).data)

    @doc.operation(
        operation_id="account_received_invoices_list",
        tags=TAGS,
        summary="List received e-invoices",
        description="The account's received invoices, newest first, 50 per page. Amounts in "
        "cents of each document's currency.",
        responses={200: ReceivedItemSerializer(many=True)},
        errors=[400],
    )
    def get(self, request, *args, **kwargs):
        return self.list(request, *args, **kwargs)

    @doc.operation(
        operation_id="account_received_invoices_upload",
        tags=TAGS,
        summary="Upload received e-invoices",
        description="UBL 2.1, UN/CEFACT CII or Facturae 3.2.2: one XML file as the raw body "
        "(`application/xml`), a ZIP of them (`application/zip`), or one or more files as "
        "`multipart/form-data` (`files`). Each file is validated with the official rules and "
        "stored on its own, for the account's taxpayer its buyer names: the answer lists, per "
        "file (per invoice of a Facturae batch), `created`, `duplicate` (same supplier, number "
        "and date already received, with when) or `invalid` with the errors in Spanish. A bad "
        "file never stops the others. The answer is 200 whatever each file's result.",
        request={
            "application/xml": {"type": "string", "format": "binary"},
            "application/zip": {"type": "string", "format": "binary"},
            "multipart/form-data": UploadInputSerializer,
        },
        responses={200: UploadResultSerializer},
        examples=[UPLOAD_EXAMPLE],
        errors=[*common.BODY],
        idempotent=True,
    )
    def post(self, request):
        outcomes = []
        for name, content, content_type in self._files(request):
            outcomes += import_upload(self.account, content, content_type, name)
        for outcome in outcomes:
            if outcome.invoice is not None:
                _with_deadline(outcome.invoice)
        return Response(UploadResultSerializer({"results": outcomes}).data)

    def _files(self, request) -> list[tuple[str, bytes, str]]:
        if not request.content_type.lower().startswith("multipart/"):
            if not isinstance(request.data, bytes) or not request.data:
                raise ValidationError({"body": ["Envíe el fichero XML o ZIP en el cuerpo."]})
            return [("", request.data, request.content_type)]
        uploads = request.FILES.getlist("files")
        if not uploads:
            raise ValidationError({"files": ["Adjunte uno o más ficheros XML o ZIP."]})
        return [(upload.name or "", upload.read(), upload.content_type or "") for upload in uploads]


class AnswerInputSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[B2BStatus.ACCEPTED, B2BStatus.REJECTED, B2BStatus.PAID],
        help_text="`accepted`, `rejected` (final) or `paid`; `paid` may follow `accepted`.",
    )
    reason = Text(2000, required=False, allow_blank=True, default="", help_text="For `rejected`.")
    paidOn = serializers.DateField(required=False, allow_null=True, help_text="For `paid`.")  # noqa: N815
    paidAmount = Cents(required=False, allow_null=True, help_text="For `paid`: cents.")  # noqa: N815


class ExpenseInputSerializer(serializers.Serializer):
    categoryId = serializers.UUIDField(required=False, allow_null=True)  # noqa: N815


@extend_schema_serializer(component_name="AccountReceivedExpense")
class ExpenseCreatedSerializer(serializers.Serializer):
    expenseId = serializers.UUIDField(source="pk")  # noqa: N815
    description = serializers.CharField()
    amount = cents(source="amount_cents", help_text="Euro cents, before withholding.")


class ReceivedObjectView(AccountView):
    """One received invoice of the account (``received_invoice_id`` in the path)."""

    def received(self) -> ReceivedInvoice:
        invoice = (
            received_invoices(self.account).filter(pk=self.kwargs["received_invoice_id"]).first()
        )
        if invoice is None:
            raise Http404("No such received invoice.")
        return invoice


class ReceivedAnswerView(ReceivedObjectView):
    @doc.operation(
        operation_id="account_received_invoices_answer",
        tags=TAGS,
        summary="Answer the supplier: accept, reject or pay",
        description="Records the answer (kept in `events`) and returns the invoice. A "
        "rejection needs a `reason`; a payment `paidOn` and `paidAmount` (cents). Reporting "
        "the answer to the AEAT waits for its technical order.",
        request=AnswerInputSerializer,
        responses={201: ReceivedDetailSerializer},
        errors=[*common.BODY, 404],
        idempotent=True,
    )
    def post(self, request, received_invoice_id):
        invoice = self.received()
        data = self.validated(AnswerInputSerializer)
        by = request.auth.created_by
        answer(
            invoice,
            data["status"],
            reason=data.get("reason", ""),
            paid_on=data.get("paidOn"),
            paid_cents=data.get("paidAmount"),
            by=f"API ({request.auth.name})" if by is None else f"{by} (API)",
        )
        invoice.refresh_from_db()
        body = ReceivedDetailSerializer(_with_deadline(invoice)).data
        return Response(body, status=status.HTTP_201_CREATED)


class ReceivedExpenseView(ReceivedObjectView):
    @doc.operation(
        operation_id="account_received_invoices_expense",
        tags=TAGS,
        summary="Book a received invoice as an expense",
        description="Its base, IVA, recargo, IGIC or IPSI, reverse charge and IRPF withheld as "
        "the invoice states them (docs/einvoice-mapping.md). Once: a second call is a 409.",
        request=ExpenseInputSerializer,
        responses={201: ExpenseCreatedSerializer},
        errors=[*common.BODY, 404, 409],
        idempotent=True,
        error_descriptions={404: "No such received invoice or category."},
    )
    def post(self, request, received_invoice_id):
        invoice = self.received()
        data = self.validated(ExpenseInputSerializer)
        category = None
        if data.get("categoryId"):
            category = categories_for(self.account).filter(pk=data["categoryId"]).first()
            if category is None:
                raise Http404("No such category.")
        if invoice.expense_id is not None:
            raise Conflict("This received invoice is already an expense.")
        expense = convert_to_expense(invoice, category)
        return Response(ExpenseCreatedSerializer(expense).data, status=status.HTTP_201_CREATED)


class ReceivedDetailView(AccountView):
    @doc.operation(
        operation_id="account_received_invoices_retrieve",
        tags=TAGS,
        summary="Get a received e-invoice",
        description="With its lines, tax breakdown, signature and the answers given.",
        responses={200: ReceivedDetailSerializer},
        errors=[404],
    )
    def get(self, request, received_invoice_id):
        invoice = received_invoices(self.account).filter(pk=received_invoice_id).first()
        if invoice is None:
            raise Http404("No such received invoice.")
        return Response(ReceivedDetailSerializer(_with_deadline(invoice)).data)
