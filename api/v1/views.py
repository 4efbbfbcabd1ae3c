"""The VERI*FACTU API (seed 003): thin views over the engine's service functions."""

from __future__ import annotations

from dataclasses import replace

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema as common
from api.idempotency import IdempotentMixin
from api.tenancy import (
    account_computer_system,
    account_taxpayer,
    account_taxpayer_and_system,
    account_taxpayer_by_nif,
)
from api.v1 import representations as rep
from api.v1 import schema as doc
from api.v1.json import DecimalJSONParser, DecimalJSONRenderer
from api.v1.serializers import (
    ComputerSystemSerializer,
    InvoiceInputSerializer,
    SubsanacionInputSerializer,
    TaxpayerSerializer,
    facts_from,
    irpf_from,
)
from factu.models import Taxpayer
from verifactu import corrections, installations
from verifactu.events import export_is_logged, log_export
from verifactu.models import BillingRecord, ComputerSystem, FiscalInvoice, RecordStatus
from verifactu.qr import qr_png, qr_svg
from verifactu.records import DuplicateInvoice, RecordRefused, register_invoice

PAGE_SIZE = 50
MAX_PAGE = 1_000_000  # past it an offset no longer fits the database's integers


def problems_body(exc: RecordRefused) -> dict:
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.field, []).append(p.message)
        if p.code.isdigit():
            errors[p.field].append(f"AEAT {p.code}")
    return {"message": exc.message, "errors": errors}


def page_number(request) -> int:
    raw = request.query_params.get("page", "1")
    # isascii: "²" and "١" are digits to str.isdigit but not to int().
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise ValidationError({"page": [f"Must be an integer from 1 to {MAX_PAGE}."]})
    return int(raw)


class V1View(IdempotentMixin, APIView):
    parser_classes = [DecimalJSONParser]
    renderer_classes = [DecimalJSONRenderer]

    @property
    def account(self):
        return self.request.auth.account

    def taxpayer(self, taxpayer_id) -> Taxpayer:
        return account_taxpayer(self.account, taxpayer_id, field="taxpayer_id")

    def taxpayer_by_nif(self, nif: str) -> Taxpayer:
        return account_taxpayer_by_nif(self.account, nif)

    def computer_system(self, system_id) -> ComputerSystem:
        return account_computer_system(self.account, system_id, field="computer_system_id")

    def taxpayer_and_system(self, taxpayer_id, system_id) -> tuple[Taxpayer, ComputerSystem]:
        return account_taxpayer_and_system(
            self.account,
            taxpayer_id,
            system_id,
            taxpayer_field="taxpayer_id",
            system_field="computer_system_id",
        )

    def fiscal_invoice(self, invoice_id) -> FiscalInvoice:
        invoice = (
            FiscalInvoice.objects.filter(account=self.account, pk=invoice_id)
            .select_related("taxpayer", "computer_system")
            .first()
        )
        if invoice is None:
            raise Http404("No such invoice.")
        return invoice


class TaxpayerListView(V1View):
    @doc.operation(
        operation_id="v1_taxpayers_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List taxpayers",
        responses={200: doc.V1TaxpayerList},
    )
    def get(self, request):
        taxpayers = Taxpayer.objects.filter(account=self.account).order_by("name", "id")
        return Response({"data": TaxpayerSerializer(taxpayers, many=True).data})

    @doc.operation(
        operation_id="v1_taxpayers_create",
        tags=doc.TAGS_TAXPAYERS,
        summary="Create a taxpayer",
        request=TaxpayerSerializer,
        responses={201: doc.V1TaxpayerCreated},
        examples=doc.TAXPAYER_EXAMPLES,
        errors=common.BODY,
        idempotent=True,
        error_descriptions={409: "A taxpayer with this NIF is already in the account."},
    )
    def post(self, request):
        serializer = TaxpayerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        nif = serializer.validated_data["nif"]
        if Taxpayer.objects.filter(account=self.account, nif=nif).exists():
            return Response(
                {
                    "message": f"Taxpayer {nif} already exists in this account.",
                    "errors": {"nif": ["Already registered in this account."]},
                },
                status=status.HTTP_409_CONFLICT,
            )
        taxpayer = serializer.save(account=self.account)
        return Response(
            {"message": "Taxpayer created.", "data": TaxpayerSerializer(taxpayer).data},
            status=status.HTTP_201_CREATED,
        )


class ComputerSystemListView(V1View):
    @doc.operation(
        operation_id="v1_computer_systems_list",
        tags=doc.TAGS_SYSTEMS,
        summary="List computer systems (SIF)",
        description=doc.SYSTEMS_DESCRIPTION,
        responses={200: doc.V1ComputerSystemList},
    )
    def get(self, request):
        systems = ComputerSystem.objects.filter(account=self.account).order_by("created_at", "id")
        return Response({"data": ComputerSystemSerializer(systems, many=True).data})

    @doc.operation(
        operation_id="v1_computer_systems_create",
        tags=doc.TAGS_SYSTEMS,
        summary="Create an installation of the computer system (SIF)",
        description=doc.SYSTEMS_DESCRIPTION,
        request=ComputerSystemSerializer,
        responses={201: doc.V1ComputerSystemCreated},
        errors=common.BODY,
        idempotent=True,
        error_descriptions={
            400: "A field is invalid, or the label is already used in the account."
        },
    )
    def post(self, request):
        data = request.data
        if request.stream is None:  # every field has a default, but no body is not JSON
            raise ParseError("Malformed JSON: the body is empty (send {} for the defaults).")
        serializer = ComputerSystemSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            system = serializer.save(account=self.account)
        except installations.LabelRefused as exc:
            raise ValidationError({"label": [str(exc)]}) from None
        return Response(
            {"message": "Computer system created.", "data": ComputerSystemSerializer(system).data},
            status=status.HTTP_201_CREATED,
        )


class InvoiceCreateView(V1View):
    @doc.operation(
        operation_id="v1_invoices_create",
        tags=doc.TAGS_INVOICES,
        summary="Register an invoice (RegistroAlta)",
        description="The invoice is checked against AEAT's rules (a broken rule names the "
        "field and adds its AEAT code, e.g. `AEAT 1130`), chained and queued for AEAT. "
        "`taxpayer_id` and `computer_system_id` may be left out when the account has only "
        "one.",
        request=InvoiceInputSerializer,
        responses={201: doc.V1InvoiceRegistered},
        examples=doc.REGISTER_EXAMPLES,
        errors=[*common.BODY, 404],
        idempotent=True,
        error_descriptions={
            404: "No such taxpayer or computer system in this account.",
            409: "The number is already registered for this NIF, the date is before the "
            "last registered invoice's, or the `Idempotency-Key` was reused.",
        },
    )
    # No transaction of its own: register_invoice's is the request's (no savepoint round
    # trips on the hottest write), and the answer is built from the objects it stored, never
    # read back, so a database lost after the commit cannot turn a stored invoice into a 503.
    def post(self, request):
        serializer = InvoiceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        taxpayer, system = self.taxpayer_and_system(
            data.get("taxpayer_id"), data.get("computer_system_id")
        )
        try:
            registration = register_invoice_with_irpf(
                account=self.account,
                taxpayer=taxpayer,
                system=system,
                facts=facts_from(data, taxpayer),
                irpf=irpf_from(data),
            )
        except DuplicateInvoice as exc:
            return Response(problems_body(exc), status=status.HTTP_409_CONFLICT)
        except RecordRefused as exc:
            chronology = any(p.code == "chronology" for p in exc.problems)
            code = status.HTTP_409_CONFLICT if chronology else status.HTTP_400_BAD_REQUEST
            return Response(problems_body(exc), status=code)
        except IntegrityError:
            return Response(
                {
                    "message": "This invoice number is already registered.",
                    "errors": {"invoice_number": ["Already registered.", "AEAT 3000"]},
                },
                status=status.HTTP_409_CONFLICT,
            )
        return Response(
            {
                "message": "Invoice registered successfully.",
                "data": rep.registered(registration.invoice, registration.record),
            },
            status=status.HTTP_201_CREATED,
        )


def register_invoice_with_irpf(*, irpf: dict, **kwargs):
    """Register the invoice and, in the same transaction, the IRPF withheld (never part of
    the record, so stored beside it on the fiscal invoice)."""
    if not irpf:
        return register_invoice(source=FiscalInvoice.Source.API_V1, **kwargs)
    with transaction.atomic():
        registration = register_invoice(source=FiscalInvoice.Source.API_V1, **kwargs)
        FiscalInvoice.objects.filter(pk=registration.invoice.pk).update(**irpf)
    for name, value in irpf.items():
        setattr(registration.invoice, name, value)
    return registration


IMMUTABLE = "accepted invoices are immutable: cancel it or issue a rectifying invoice"


def _refused_change_doc(operation_id: str):
    """The OpenAPI of PUT, PATCH and DELETE on an invoice: the same refusal, three verbs."""
    return doc.operation(
        operation_id=operation_id,
        tags=doc.TAGS_INVOICES,
        summary="Not allowed: registered invoices are not edited",
        description="Always refused: 405 (use retry, cancel or a rectifying invoice), or 409 "
        "once AEAT accepted it.",
        request=None,
        responses={},
        errors=[*common.WRITE, 404, 405, 409],
        error_descriptions={
            405: "Registered invoices are not edited: use retry, cancel or a rectifying invoice.",
            409: "Accepted invoices are immutable.",
        },
    )


class InvoiceDetailView(V1View):
    @doc.operation(
        operation_id="v1_invoice_retrieve",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice",
        description="Every registered fact, with the breakdown, hash, QR URL and AEAT status.",
        responses={200: doc.V1InvoiceDetail},
        errors=[404],
    )
    def get(self, request, invoice_id):
        return Response({"data": rep.invoice_detail(self.fiscal_invoice(invoice_id))})

    def _refuse_change(self, invoice_id):
        invoice = self.fiscal_invoice(invoice_id)
        if invoice.records.filter(
            status__in=(RecordStatus.ACCEPTED, RecordStatus.ACCEPTED_WITH_ERRORS)
        ).exists():
            return Response({"message": IMMUTABLE, "errors": {}}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "message": "Registered invoices are not edited: use retry, cancel or a "
                "rectifying invoice.",
                "errors": {},
            },
            status=status.HTTP_405_METHOD_NOT_ALLOWED,
            headers={"Allow": "GET, HEAD, OPTIONS"},
        )

    @_refused_change_doc("v1_invoice_replace")
    def put(self, request, invoice_id):
        return self._refuse_change(invoice_id)

    @_refused_change_doc("v1_invoice_update")
    def patch(self, request, invoice_id):
        return self._refuse_change(invoice_id)

    @_refused_change_doc("v1_invoice_delete")
    def delete(self, request, invoice_id):
        return self._refuse_change(invoice_id)


class InvoiceStatusView(V1View):
    @doc.operation(
        operation_id="v1_invoice_status",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice's AEAT status",
        responses={200: doc.V1InvoiceStatus},
        examples=doc.STATUS_EXAMPLES,
        errors=[404],
    )
    def get(self, request, invoice_id):
        return Response({"data": rep.status_detail(self.fiscal_invoice(invoice_id))})


class InvoiceXmlView(V1View):
    """GET reads the XML of a VERI*FACTU record (seed 003). A NO VERI*FACTU record's XML
    leaves only through POST, the export action that logs event 08; its GET is a 405 that
    says so, so that no link, prefetch or retry writes the taxpayer's event log."""

    export_action = True  # a viewer's token may export (api.permissions)

    @doc.operation(
        operation_id="v1_invoice_xml",
        tags=doc.TAGS_INVOICES,
        summary="Get the XML of the latest record",
        description=(
            "The record as generated for AEAT (RegistroAlta or RegistroAnulacion). For a"
            " NO VERI*FACTU taxpayer every export is logged (event 08), so its XML is"
            " exported with `POST` on this path; a `GET` answers 405 and says so."
        ),
        responses={(200, "application/xml"): OpenApiTypes.STR},
        errors=[404, 405],
        error_descriptions={
            405: "The record is a NO VERI*FACTU taxpayer's: export it with `POST` on this path."
        },
    )
    def get(self, request, invoice_id):
        record = rep.latest(self.fiscal_invoice(invoice_id))
        if export_is_logged([record]):
            raise MethodNotAllowed(
                "GET",
                detail="This taxpayer runs NO VERI*FACTU: exporting a record is logged (event "
                f"08), so export it with POST /api/v1/invoices/{invoice_id}/xml.",
            )
        return self.xml_response(record)

    @doc.operation(
        operation_id="v1_invoice_xml_export",
        tags=doc.TAGS_INVOICES,
        summary="Export the XML of the latest record (logs the export)",
        description=(
            "The same XML as `GET`, for any taxpayer; for a NO VERI*FACTU taxpayer it is the"
            " XAdES-signed copy once signed, and the export is logged in its event log"
            " (event 08). No body."
        ),
        request=None,
        responses={(200, "application/xml"): OpenApiTypes.STR},
        errors=[*common.WRITE, 404],
        idempotent=True,
        error_descriptions={403: "Not raised here: a viewer's token may export too."},
    )
    def post(self, request, invoice_id):
        record = rep.latest(self.fiscal_invoice(invoice_id))
        response = self.xml_response(record)
        log_export([record])  # event 08 when the taxpayer runs NO VERI*FACTU
        return response

    @staticmethod
    def xml_response(record) -> HttpResponse:
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + record.exported_xml
        response = HttpResponse(body.encode(), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{record.invoice_number}.xml"'
        return response


class InvoiceQrView(V1View):
    @doc.operation(
        operation_id="v1_invoice_qr",
        tags=doc.TAGS_INVOICES,
        summary="Get the QR's URL, or the QR as PNG or SVG",
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["png", "svg"],
                description="Leave out for the URL as JSON.",
            )
        ],
        responses={
            (200, "application/json"): doc.V1QrUrl,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/svg+xml"): OpenApiTypes.STR,
        },
        examples=doc.QR_EXAMPLES,
        errors=[400, 404],
    )
    def get(self, request, invoice_id):
        invoice = self.fiscal_invoice(invoice_id)
        url = invoice.qr_url
        fmt = request.query_params.get("format", "")
        if fmt == "png":
            return HttpResponse(qr_png(url), content_type="image/png")
        if fmt == "svg":
            return HttpResponse(qr_svg(url), content_type="image/svg+xml")
        if fmt:
            raise ValidationError({"format": ["Use png or svg, or omit it for the URL."]})
        return Response({"data": {"qr_url": url}})


class InvoicePdfView(V1View):
    @doc.operation(
        operation_id="v1_invoice_pdf",
        tags=doc.TAGS_INVOICES,
        summary="Download the invoice's PDF",
        description="With the verification QR and the VERI*FACTU legend.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        errors=[404],
    )
    def get(self, request, invoice_id):
        from api.v1.documents import render_fiscal_invoice

        filename, mimetype, data = render_fiscal_invoice(self.fiscal_invoice(invoice_id))
        response = HttpResponse(data, content_type=mimetype)
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


class InvoiceRetryView(V1View):
    @doc.operation(
        operation_id="v1_invoice_retry",
        tags=doc.TAGS_INVOICES,
        summary="Resubmit a rejected invoice",
        description="Only for invoices whose latest record is `rejected` or `error`: a failed "
        "record is queued again as it is; after a rejection a new record with the same data "
        "(subsanación, or a new anulación) is chained and queued. To send corrected data use "
        "`POST /api/v1/invoices/{id}/subsanacion`. No body.",
        request=None,
        responses={200: doc.V1RecordQueued},
        errors=[*common.WRITE, 404, 409],
        idempotent=True,
        error_descriptions={
            409: "The invoice is not rejected, or its retry was refused (a rejection of the "
            "number or the date is fixed by cancelling and registering a new invoice)."
        },
    )
    def post(self, request, invoice_id):
        invoice = self.fiscal_invoice(invoice_id)
        try:
            record = corrections.retry(invoice)
        except corrections.InvalidCorrection as exc:
            return Response({"message": str(exc), "errors": {}}, status=status.HTTP_409_CONFLICT)
        except RecordRefused as exc:
            return Response(problems_body(exc), status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "message": "Record queued for submission.",
                "data": {
                    "id": invoice.pk,
                    "aeat_status": record.status,
                    "record_type": record.record_type,
                    "hash": record.huella,
                },
            }
        )


class InvoiceSubsanacionView(V1View):
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
        responses={201: doc.V1InvoiceRegistered},
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
        invoice = self.fiscal_invoice(invoice_id)
        body = SubsanacionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        merged = InvoiceInputSerializer(data={**rep.as_input(invoice), **body.fiscal_changes})
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
            return Response({"message": str(exc), "errors": {}}, status=status.HTTP_409_CONFLICT)
        except corrections.CorrectionRefused as exc:
            return Response(
                {
                    "message": exc.message,
                    "errors": {exc.field: [exc.message]} if exc.field else {},
                },
                status=status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        except RecordRefused as exc:
            return Response(problems_body(exc), status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {"message": "Subsanación registered.", "data": rep.registered(invoice, record)},
            status=status.HTTP_201_CREATED,
        )


class InvoiceCancelView(V1View):
    @doc.operation(
        operation_id="v1_invoice_cancel",
        tags=doc.TAGS_INVOICES,
        summary="Cancel an invoice (RegistroAnulacion)",
        description="Chains and queues a cancellation record. No body.",
        request=None,
        responses={201: doc.V1RecordQueued},
        errors=[*common.WRITE, 404, 409],
        idempotent=True,
        error_descriptions={
            409: "Already cancelled, or issued in Factu (cancel it there or through "
            "`PATCH /api/invoices/{id}/status`)."
        },
    )
    def post(self, request, invoice_id):
        invoice = self.fiscal_invoice(invoice_id)
        if invoice.source == FiscalInvoice.Source.FACTU:
            return Response(
                {
                    "message": "This invoice was issued in Factu: cancel it there or through "
                    "PATCH /api/invoices/{id}/status.",
                    "errors": {},
                },
                status=status.HTTP_409_CONFLICT,
            )
        try:
            record = corrections.cancel(invoice)
        except corrections.InvalidCorrection as exc:
            return Response({"message": str(exc), "errors": {}}, status=status.HTTP_409_CONFLICT)
        return Response(
            {
                "message": "Invoice cancelled.",
                "data": {
                    "id": invoice.pk,
                    "record_type": record.record_type,
                    "hash": record.huella,
                    "aeat_status": record.status,
                },
            },
            status=status.HTTP_201_CREATED,
        )


class TaxpayerInvoicesView(V1View):
    @doc.operation(
        operation_id="v1_taxpayer_invoices_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List a taxpayer's invoices",
        description="By invoice date descending, 50 per page.",
        parameters=[
            OpenApiParameter(
                "nif", OpenApiTypes.STR, OpenApiParameter.PATH, description="The taxpayer's NIF."
            ),
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=RecordStatus.values,
                description="Only invoices whose latest record has this AEAT status.",
            ),
            OpenApiParameter(
                "page",
                {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
                description="Page number; 50 invoices per page.",
            ),
        ],
        responses={200: doc.V1InvoicePage},
        examples=doc.PAGE_EXAMPLES,
        errors=[400, 404],
        error_descriptions={404: "No taxpayer with this NIF in the account."},
    )
    def get(self, request, nif):
        taxpayer = self.taxpayer_by_nif(nif)
        page = page_number(request)
        latest = BillingRecord.objects.filter(fiscal_invoice=OuterRef("pk")).order_by("-position")
        invoices = (
            FiscalInvoice.objects.filter(taxpayer=taxpayer)
            .annotate(latest_status=Subquery(latest.values("status")[:1]))
            .order_by("-invoice_date", "-id")
        )
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in RecordStatus.values:
                raise ValidationError({"status": [f"One of {', '.join(RecordStatus.values)}."]})
            invoices = invoices.filter(latest_status=wanted)
        total = invoices.count()
        chunk = list(invoices[(page - 1) * PAGE_SIZE : page * PAGE_SIZE])
        heads = {
            r.fiscal_invoice_id: r
            for r in BillingRecord.objects.filter(fiscal_invoice__in=chunk).order_by("position")
        }
        return Response(
            {
                "data": [rep.invoice_summary(i, heads[i.pk]) for i in chunk],
                "meta": {"total": total, "page": page, "limit": PAGE_SIZE},
            }
        )


# -- Requerimiento (NO VERI*FACTU records sent on the AEAT's request) --------------------------

from drf_spectacular.utils import inline_serializer  # noqa: E402
from rest_framework import serializers  # noqa: E402


class TaxpayerRequerimientoView(V1View):
    """``POST /api/v1/taxpayers/{nif}/requerimiento``: answer an AEAT requerimiento."""

    @doc.operation(
        operation_id="v1_taxpayer_requerimiento",
        tags=doc.TAGS_TAXPAYERS,
        summary="Send NO VERI*FACTU records the AEAT asked for (requerimiento)",
        description="Sends the taxpayer's signed NO VERI*FACTU records issued between "
        "`date_from` and `date_to` (both optional, inclusive) to the AEAT's Requerimiento "
        "endpoint with `RemisionRequerimiento/RefRequerimiento` = `ref` (1–18 characters). "
        "409 when a requested record is not signed yet (the worker signs them) or none match.",
        request=inline_serializer(
            "V1RequerimientoRequest",
            {
                "ref": serializers.CharField(max_length=18),
                "date_from": serializers.DateField(required=False),
                "date_to": serializers.DateField(required=False),
            },
        ),
        responses={
            201: inline_serializer(
                "V1RequerimientoSent",
                {
                    "message": serializers.CharField(),
                    "data": inline_serializer(
                        "V1RequerimientoSentData",
                        {
                            "ref": serializers.CharField(),
                            "sent": serializers.IntegerField(),
                            "accepted": serializers.IntegerField(),
                            "envelopes": serializers.IntegerField(),
                        },
                    ),
                },
            )
        },
        parameters=[
            OpenApiParameter(
                "nif", OpenApiTypes.STR, OpenApiParameter.PATH, description="The taxpayer's NIF."
            )
        ],
        errors=[*common.WRITE, 404, 409, 502],
        idempotent=True,
    )
    def post(self, request, nif):
        from verifactu.requerimiento import (
            RequerimientoFailed,
            RequerimientoRefused,
            send_requested,
        )

        taxpayer = self.taxpayer_by_nif(nif)
        body = _RequerimientoInput(data=request.data)
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
            return Response(
                {
                    "message": exc.message,
                    "errors": {"records": [r.invoice_number for r in exc.records]}
                    if exc.records
                    else {},
                },
                status=status.HTTP_409_CONFLICT,
            )
        except RequerimientoFailed as exc:
            return Response(
                {"message": exc.message, "errors": {"sent": [str(exc.sent)]}},
                status=status.HTTP_502_BAD_GATEWAY,
            )
        return Response(
            {
                "message": f"{result.sent} record(s) sent to the AEAT.",
                "data": {
                    "ref": result.ref,
                    "sent": result.sent,
                    "accepted": result.accepted,
                    "envelopes": len(result.envelopes),
                },
            },
            status=status.HTTP_201_CREATED,
        )


class _RequerimientoInput(serializers.Serializer):
    ref = serializers.CharField(max_length=18)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)

    def validate(self, attrs):
        start, end = attrs.get("date_from"), attrs.get("date_to")
        if start and end and start > end:
            raise ValidationError({"date_to": ["Must not be before date_from."]})
        return attrs
