"""The invoice page's "Factura electrónica" panel (registered in :mod:`invoicing.einvoices`)."""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.template.loader import render_to_string

from clients.models import EInvoiceFormat
from einvoice import outbound
from invoicing.models import Invoice

logger = logging.getLogger(__name__)

SHORT = {EInvoiceFormat.UBL: "UBL", EInvoiceFormat.FACTURAE: "Facturae"}


def invoice_panel(request: HttpRequest, invoice: Invoice) -> str:
    """The panel of an issued invoice: each format's download link, or why it is not
    offered, and "sin firmar" for an unsigned Facturae. Nothing for a draft."""
    if not invoice.is_issued:
        return ""
    context: dict = {"invoice": invoice, "rows": [], "unavailable": False}
    try:
        stored = outbound.stored_einvoices(invoice)
    except Exception:
        # A file that cannot be made now (a defect, a database hiccup) must not take the
        # invoice's page down; nothing was stored, so the next request tries again.
        logger.exception("E-invoices of invoice %s could not be made", invoice.pk)
        context["unavailable"] = True
        stored = {}
    for format in outbound.FORMATS:
        row = stored.get(format)
        if row is None:
            continue
        context["rows"].append(
            {
                "format": format.value,
                "label": format.label,
                "short": SHORT[format],
                "offered": row.offered,
                "unsigned": row.offered and format == EInvoiceFormat.FACTURAE and not row.signed,
                "reason": row.reason,
                "unsigned_why": row.reason.removeprefix("sin firmar: ") if row.offered else "",
            }
        )
    reasons = {row["reason"] for row in context["rows"] if not row["offered"]}
    if len(reasons) == 1 and not any(row["offered"] for row in context["rows"]):
        context["none_reason"] = reasons.pop()  # both refused alike: said once
    return render_to_string("einvoice/invoice_panel.html", context, request=request)
