"""The VERI*FACTU API (seed 003): thin views over the engine's service functions."""

from __future__ import annotations

from django.db import IntegrityError
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from api.idempotency import IdempotentMixin
from api.v1 import representations as rep
from api.v1.json import DecimalJSONParser, DecimalJSONRenderer
from api.v1.serializers import (
    ComputerSystemSerializer,
    InvoiceInputSerializer,
    TaxpayerSerializer,
    facts_from,
)
from factu.models import Taxpayer
from factu.nif import normalize_nif
from verifactu import corrections
from verifactu.models import BillingRecord, ComputerSystem, FiscalInvoice, RecordStatus
from verifactu.qr import qr_png, qr_svg
from verifactu.records import ChainOwnedElsewhere, DuplicateInvoice, RecordRefused, register_invoice

PAGE_SIZE = 50


def problems_body(exc: RecordRefused) -> dict:
    errors: dict[str, list[str]] = {}
    for p in exc.problems:
        errors.setdefault(p.field, []).append(p.message)
        if p.code.isdigit():
            errors[p.field].append(f"AEAT {p.code}")
    return {"message": exc.message, "errors": errors}


def page_number(request) -> int:
    raw = request.query_params.get("page", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise ValidationError({"page": ["Must be a positive integer."]})
    return int(raw)


class V1View(IdempotentMixin, APIView):
    parser_classes = [DecimalJSONParser]
    renderer_classes = [DecimalJSONRenderer]

    @property
    def account(self):
        return self.request.auth.account

    def taxpayer(self, taxpayer_id) -> Taxpayer:
        taxpayers = Taxpayer.objects.filter(account=self.account)
        if taxpayer_id is None:
            only = list(taxpayers[:2])
            if len(only) != 1:
                raise ValidationError(
                    {"taxpayer_id": ["Required: this account has several taxpayers."]}
                    if only
                    else {"taxpayer_id": ["Create a taxpayer first."]}
                )
            return only[0]
        taxpayer = taxpayers.filter(pk=taxpayer_id).first()
        if taxpayer is None:
            raise Http404("No such taxpayer in this account.")
        return taxpayer

    def computer_system(self, system_id) -> ComputerSystem:
        systems = ComputerSystem.objects.filter(account=self.account)
        if system_id is None:
            only = list(systems[:2])
            if len(only) != 1:
                raise ValidationError({"computer_system_id": ["Required."]})
            return only[0]
        system = systems.filter(pk=system_id).first()
        if system is None:
            raise Http404("No such computer system in this account.")
        return system

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
    @extend_schema(responses=TaxpayerSerializer(many=True))
    def get(self, request):
        taxpayers = Taxpayer.objects.filter(account=self.account).order_by("name", "id")
        return Response({"data": TaxpayerSerializer(taxpayers, many=True).data})

    @extend_schema(request=TaxpayerSerializer, responses={201: TaxpayerSerializer})
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
    @extend_schema(responses=ComputerSystemSerializer(many=True))
    def get(self, request):
        systems = ComputerSystem.objects.filter(account=self.account).order_by("created_at", "id")
        return Response({"data": ComputerSystemSerializer(systems, many=True).data})

    @extend_schema(request=ComputerSystemSerializer, responses={201: ComputerSystemSerializer})
    def post(self, request):
        serializer = ComputerSystemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        system = serializer.save(account=self.account)
        return Response(
            {"message": "Computer system created.", "data": ComputerSystemSerializer(system).data},
            status=status.HTTP_201_CREATED,
        )


class InvoiceCreateView(V1View):
    @extend_schema(request=InvoiceInputSerializer)
    def post(self, request):
        serializer = InvoiceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        taxpayer = self.taxpayer(data.get("taxpayer_id"))
        system = self.computer_system(data.get("computer_system_id"))
        try:
            registration = register_invoice(
                account=self.account,
                taxpayer=taxpayer,
                system=system,
                facts=facts_from(data, taxpayer),
                source=FiscalInvoice.Source.API_V1,
            )
        except (DuplicateInvoice, ChainOwnedElsewhere) as exc:
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
        invoice, record = registration.invoice, registration.record
        return Response(
            {
                "message": "Invoice registered successfully.",
                "data": {
                    "id": invoice.pk,
                    "invoice_number": invoice.invoice_number,
                    "hash": record.huella,
                    "qr_url": invoice.qr_url,
                    "aeat_status": record.status,
                    "record_type": record.record_type,
                },
            },
            status=status.HTTP_201_CREATED,
        )


IMMUTABLE = "accepted invoices are immutable: cancel it or issue a rectifying invoice"


class InvoiceDetailView(V1View):
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

    def put(self, request, invoice_id):
        return self._refuse_change(invoice_id)

    def patch(self, request, invoice_id):
        return self._refuse_change(invoice_id)

    def delete(self, request, invoice_id):
        return self._refuse_change(invoice_id)


class InvoiceStatusView(V1View):
    def get(self, request, invoice_id):
        return Response({"data": rep.status_detail(self.fiscal_invoice(invoice_id))})


class InvoiceXmlView(V1View):
    def get(self, request, invoice_id):
        record = rep.latest(self.fiscal_invoice(invoice_id))
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + record.xml
        response = HttpResponse(body.encode(), content_type="application/xml; charset=utf-8")
        response["Content-Disposition"] = f'inline; filename="{record.invoice_number}.xml"'
        return response


class InvoiceQrView(V1View):
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
    def get(self, request, invoice_id):
        from api.v1.documents import render_fiscal_invoice

        filename, mimetype, data = render_fiscal_invoice(self.fiscal_invoice(invoice_id))
        response = HttpResponse(data, content_type=mimetype)
        response["Content-Disposition"] = f'inline; filename="{filename}"'
        return response


class InvoiceRetryView(V1View):
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


class InvoiceCancelView(V1View):
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
    def get(self, request, nif):
        taxpayer = Taxpayer.objects.filter(account=self.account, nif=normalize_nif(nif)).first()
        if taxpayer is None:
            raise Http404("No such taxpayer in this account.")
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
