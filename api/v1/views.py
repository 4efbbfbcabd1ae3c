"""The VERI*FACTU API (seed 003): taxpayers, computer systems and invoices, as thin generic
views over the engine's service functions. The actions on a registered invoice (retry,
subsanación, cancel) are in :mod:`api.v1.actions`."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import MethodNotAllowed, ParseError, ValidationError
from rest_framework.generics import ListAPIView

from api import schema as common
from api.exceptions import Refused
from api.tenancy import account_taxpayer_and_system
from api.v1 import openapi as doc
from api.v1 import outputs as out
from api.v1.base import NIF_PARAMETER, InvoiceView, V1View, refused
from api.v1.documents import render_fiscal_invoice
from api.v1.filters import TaxpayerInvoiceFilter
from api.v1.pagination import V1PageNumberPagination
from api.v1.serializers import (
    ComputerSystemSerializer,
    InvoiceInputSerializer,
    TaxpayerSerializer,
    facts_from,
    irpf_from,
)
from factu.downloads import file_response
from factu.models import Taxpayer
from verifactu import installations, modes
from verifactu.events import export_is_logged, log_export
from verifactu.models import (
    BillingRecord,
    ComputerSystem,
    FiscalInvoice,
    RecordStatus,
    UnsignedRecord,
)
from verifactu.qr import qr_png, qr_svg
from verifactu.records import DuplicateInvoice, RecordRefused, register_invoice
from verifactu.signatures import SigningUnavailable


def unsigned(exc: UnsignedRecord) -> Refused:
    """A NO VERI*FACTU record without its signature: a 409, never the unsigned XML."""
    return Refused(
        "This NO VERI*FACTU record has no signature: its XML is not served unsigned (an "
        "anomaly; every record is signed when it is chained).",
        {"record": [exc.message]},
    )


class TaxpayerListView(V1View):
    serializer_class = TaxpayerSerializer

    def get_queryset(self):
        return Taxpayer.objects.filter(account=self.account).order_by("name", "id")

    @doc.operation(
        operation_id="v1_taxpayers_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List taxpayers",
        responses={200: out.V1TaxpayerList},
    )
    def get(self, request):
        return self.answer(out.V1TaxpayerList, self.get_queryset())

    @doc.operation(
        operation_id="v1_taxpayers_create",
        tags=doc.TAGS_TAXPAYERS,
        summary="Create a taxpayer",
        request=TaxpayerSerializer,
        responses={201: out.V1TaxpayerCreated},
        examples=doc.TAXPAYER_EXAMPLES,
        errors=common.BODY,
        idempotent=True,
        error_descriptions={
            400: "A field is invalid, or `verifactu_mode` is `no_verifactu`: a taxpayer starts "
            "in VERI*FACTU and switches once a certificate that signs for it is uploaded.",
            409: "A taxpayer with this NIF is already in the account.",
        },
    )
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        nif = serializer.validated_data["nif"]
        if self.get_queryset().filter(nif=nif).exists():
            return self.refuse(
                Refused(
                    f"Taxpayer {nif} already exists in this account.",
                    {"nif": ["Already registered in this account."]},
                )
            )
        candidate = Taxpayer(account=self.account, nif=nif)
        problem = modes.mode_problem(candidate, serializer.validated_data["verifactu_mode"])
        if problem:  # NO VERI*FACTU needs a certificate that signs: a new taxpayer has none
            raise ValidationError({"verifactu_mode": [problem]})
        taxpayer = serializer.save(account=self.account)
        return self.answer(out.V1TaxpayerCreated, taxpayer, message="Taxpayer created.", status=201)


class ComputerSystemListView(V1View):
    serializer_class = ComputerSystemSerializer

    def get_queryset(self):
        return ComputerSystem.objects.filter(account=self.account).order_by("created_at", "id")

    @doc.operation(
        operation_id="v1_computer_systems_list",
        tags=doc.TAGS_SYSTEMS,
        summary="List computer systems (SIF)",
        description=doc.SYSTEMS_DESCRIPTION,
        responses={200: out.V1ComputerSystemList},
    )
    def get(self, request):
        return self.answer(out.V1ComputerSystemList, self.get_queryset())

    @doc.operation(
        operation_id="v1_computer_systems_create",
        tags=doc.TAGS_SYSTEMS,
        summary="Create an installation of the computer system (SIF)",
        description=doc.SYSTEMS_DESCRIPTION,
        request=ComputerSystemSerializer,
        responses={201: out.V1ComputerSystemCreated},
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
        serializer = self.get_serializer(data=data)
        serializer.is_valid(raise_exception=True)
        try:
            system = serializer.save(account=self.account)
        except installations.LabelRefused as exc:
            raise ValidationError({"label": [str(exc)]}) from None
        return self.answer(
            out.V1ComputerSystemCreated, system, message="Computer system created.", status=201
        )


class InvoiceCreateView(V1View):
    serializer_class = InvoiceInputSerializer

    @doc.operation(
        operation_id="v1_invoices_create",
        tags=doc.TAGS_INVOICES,
        summary="Register an invoice (RegistroAlta)",
        description="The invoice is checked against AEAT's rules (a broken rule names the "
        "field and adds its AEAT code, e.g. `AEAT 1130`), chained and queued for AEAT. "
        "`taxpayer_id` and `computer_system_id` may be left out when the account has only "
        "one.",
        request=InvoiceInputSerializer,
        responses={201: out.V1InvoiceRegistered},
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
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        taxpayer, system = account_taxpayer_and_system(
            self.account,
            data.get("taxpayer_id"),
            data.get("computer_system_id"),
            taxpayer_field="taxpayer_id",
            system_field="computer_system_id",
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
            return self.refuse(refused(exc, status.HTTP_409_CONFLICT))
        except RecordRefused as exc:
            chronology = any(p.code == "chronology" for p in exc.problems)
            code = status.HTTP_409_CONFLICT if chronology else status.HTTP_400_BAD_REQUEST
            return self.refuse(refused(exc, code))
        except IntegrityError:
            return self.refuse(
                Refused(
                    "This invoice number is already registered.",
                    {"invoice_number": ["Already registered.", "AEAT 3000"]},
                )
            )
        return self.answer(
            out.V1InvoiceRegistered,
            registration.record,
            message="Invoice registered successfully.",
            status=201,
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


class InvoiceDetailView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_retrieve",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice",
        description="Every registered fact, with the breakdown, hash, QR URL and AEAT status.",
        responses={200: out.V1InvoiceDetail},
        errors=[404],
    )
    def get(self, request, invoice_id):
        return self.answer(out.V1InvoiceDetail, self.get_object())

    def _refuse_change(self):
        invoice = self.get_object()
        if invoice.records.filter(
            status__in=(RecordStatus.ACCEPTED, RecordStatus.ACCEPTED_WITH_ERRORS)
        ).exists():
            return self.refuse(Refused(IMMUTABLE))
        return self.refuse(
            MethodNotAllowed(
                self.request.method,
                detail="Registered invoices are not edited: use retry, cancel or a "
                "rectifying invoice.",
            )
        )

    @_refused_change_doc("v1_invoice_replace")
    def put(self, request, invoice_id):
        return self._refuse_change()

    @_refused_change_doc("v1_invoice_update")
    def patch(self, request, invoice_id):
        return self._refuse_change()

    @_refused_change_doc("v1_invoice_delete")
    def delete(self, request, invoice_id):
        return self._refuse_change()


class InvoiceStatusView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_status",
        tags=doc.TAGS_INVOICES,
        summary="Get an invoice's AEAT status",
        description="The AEAT status of the invoice's latest record, and what the AEAT "
        "answered about it.",
        responses={200: out.V1InvoiceStatus},
        examples=doc.STATUS_EXAMPLES,
        errors=[404],
    )
    def get(self, request, invoice_id):
        return self.answer(out.V1InvoiceStatus, self.get_object())


class InvoiceXmlView(InvoiceView):
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
        errors=[404, 405, 409],
        error_descriptions={
            405: "The record is a NO VERI*FACTU taxpayer's: export it with `POST` on this path.",
            409: "A NO VERI*FACTU record without its signature: never served unsigned.",
        },
    )
    def get(self, request, invoice_id):
        record = out.latest(self.get_object())
        if export_is_logged([record]):
            raise MethodNotAllowed(
                "GET",
                detail="This taxpayer runs NO VERI*FACTU: exporting a record is logged (event "
                f"08), so export it with POST /api/v1/invoices/{invoice_id}/xml.",
            )
        try:
            return self.xml_response(record)
        except UnsignedRecord as exc:
            return self.refuse(unsigned(exc))

    @doc.operation(
        operation_id="v1_invoice_xml_export",
        tags=doc.TAGS_INVOICES,
        summary="Export the XML of the latest record (logs the export)",
        description=(
            "The same XML as `GET`, for any taxpayer; for a NO VERI*FACTU record it is the"
            " XAdES-signed copy (signed when it was chained), and the export is logged in its"
            " event log (event 08). No body."
        ),
        request=None,
        responses={(200, "application/xml"): OpenApiTypes.STR},
        errors=[*common.WRITE, 404, 409],
        idempotent=True,
        error_descriptions={
            403: "Not raised here: a viewer's token may export too.",
            409: "A NO VERI*FACTU record without its signature (never served unsigned), or "
            "no certificate may sign the event 08 of the export.",
        },
    )
    def post(self, request, invoice_id):
        record = out.latest(self.get_object())
        try:
            response = self.xml_response(record)
            log_export([record])  # event 08 when the taxpayer runs NO VERI*FACTU
        except UnsignedRecord as exc:
            return self.refuse(unsigned(exc))
        except SigningUnavailable as exc:
            return self.refuse(Refused(exc.message, {"certificate": [exc.message]}))
        return response

    @staticmethod
    def xml_response(record) -> HttpResponse:
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + record.exported_xml
        return file_response(
            body.encode(),
            "application/xml; charset=utf-8",
            f"{record.invoice_number}.xml",
            inline=True,
        )


class InvoiceQrView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_qr",
        tags=doc.TAGS_INVOICES,
        summary="Get the QR's URL, or the QR as PNG or SVG",
        description="The AEAT cotejo URL the invoice's QR encodes; with `format`, the QR itself.",
        parameters=[
            OpenApiParameter(
                "format",
                OpenApiTypes.STR,
                enum=["png", "svg"],
                description="Leave out for the URL as JSON.",
            )
        ],
        responses={
            (200, "application/json"): out.V1QrUrl,
            (200, "image/png"): OpenApiTypes.BINARY,
            (200, "image/svg+xml"): OpenApiTypes.STR,
        },
        examples=doc.QR_EXAMPLES,
        errors=[400, 404],
    )
    def get(self, request, invoice_id):
        invoice = self.get_object()
        url = invoice.qr_url
        fmt = request.query_params.get("format", "")
        if fmt == "png":
            return HttpResponse(qr_png(url), content_type="image/png")
        if fmt == "svg":
            return HttpResponse(qr_svg(url), content_type="image/svg+xml")
        if fmt:
            raise ValidationError({"format": ["Use png or svg, or omit it for the URL."]})
        return self.answer(out.V1QrUrl, invoice)


class InvoicePdfView(InvoiceView):
    @doc.operation(
        operation_id="v1_invoice_pdf",
        tags=doc.TAGS_INVOICES,
        summary="Download the invoice's PDF",
        description="With the verification QR and the VERI*FACTU legend.",
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        errors=[404],
    )
    def get(self, request, invoice_id):
        filename, mimetype, data = render_fiscal_invoice(self.get_object())
        return file_response(data, mimetype, filename, inline=True)


class TaxpayerInvoicesView(V1View, ListAPIView):
    """A taxpayer's invoices, by invoice date descending, 50 a page, with their latest
    record's hash and status."""

    serializer_class = out.InvoiceSummarySerializer
    pagination_class = V1PageNumberPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = TaxpayerInvoiceFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reads the model
            return FiscalInvoice.objects.none()
        taxpayer = self.taxpayer_by_nif(self.kwargs["nif"])
        latest = BillingRecord.objects.filter(fiscal_invoice=OuterRef("pk")).order_by("-position")
        return (
            FiscalInvoice.objects.filter(taxpayer=taxpayer)
            .annotate(latest_status=Subquery(latest.values("status")[:1]))
            .order_by("-invoice_date", "-id")
            .prefetch_related(
                Prefetch(
                    "records",
                    BillingRecord.objects.order_by("position"),
                    to_attr="prefetched_records",
                )
            )
        )

    @doc.operation(
        operation_id="v1_taxpayer_invoices_list",
        tags=doc.TAGS_TAXPAYERS,
        summary="List a taxpayer's invoices",
        description="By invoice date descending, 50 per page.",
        parameters=[NIF_PARAMETER],
        responses={200: out.InvoiceSummarySerializer(many=True)},
        examples=doc.PAGE_EXAMPLES,
        errors=[400, 404],
        error_descriptions={404: "No taxpayer with this NIF in the account."},
    )
    def get(self, request, nif):
        return self.list(request)
