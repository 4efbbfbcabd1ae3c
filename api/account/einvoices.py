"""An issued invoice's stored e-invoices: ``GET /api/invoices/{id}/ubl`` and ``/facturae``.

The file is the one made at issue and stored (:mod:`einvoice.outbound`), the same bytes every
time; a draft has none yet and a format that is not offered says why, both a 409.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes

from api.account import schema as doc
from api.account.views import InvoiceView
from api.exceptions import Conflict
from clients.models import EInvoiceFormat
from einvoice import outbound
from factu.downloads import file_response

DRAFT = "La factura es un borrador: solo una factura emitida tiene factura electrónica."


class EInvoiceView(InvoiceView):
    format: EInvoiceFormat

    def get(self, request, invoice_id):
        invoice = self.get_object()
        if not invoice.is_issued:
            raise Conflict(DRAFT)
        row = outbound.stored_einvoice(invoice, self.format)
        if row is None or not row.offered:
            raise Conflict(row.reason if row is not None else DRAFT)
        return file_response(bytes(row.content), outbound.MIMETYPE, row.filename)


def _operation(name: str, what: str):
    return doc.operation(
        operation_id=f"account_invoice_{name}",
        tags=doc.TAGS_INVOICES,
        summary=f"Download an invoice's {what}",
        description=f"The invoice's {what} as it was made and validated when it was issued "
        "(the same bytes on every request), as an attachment.",
        responses={(200, "application/xml"): OpenApiTypes.BINARY},
        errors=[404, 409],
        error_descriptions={
            404: "No such invoice.",
            409: "The invoice is a draft, or this e-invoice is not offered for it (the "
            "message says why: a simplified invoice, a client without a Peppol address, "
            "a file the official rules refuse).",
        },
    )


class InvoiceUblView(EInvoiceView):
    format = EInvoiceFormat.UBL

    @_operation("ubl", "UBL 2.1 e-invoice (Peppol BIS Billing 3.0)")
    def get(self, request, invoice_id):
        return super().get(request, invoice_id)


class InvoiceFacturaeView(EInvoiceView):
    format = EInvoiceFormat.FACTURAE

    @_operation("facturae", "Facturae 3.2.2 e-invoice")
    def get(self, request, invoice_id):
        return super().get(request, invoice_id)
