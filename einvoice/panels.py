"""The invoice page's e-invoice panels, registered in ``einvoice.apps`` through
``invoicing.einvoices.register_detail_panel``: "Factura electrónica" (each format's download,
or why it is not offered) and "Factura electrónica: estado" (the client's current answer, the
history, the four-day clock, the form to record an answer and the upload of a UBL
ApplicationResponse)."""

from __future__ import annotations

import logging

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from clients.models import EInvoiceFormat
from einvoice import answers, outbound
from einvoice.application_response import CODE_LABELS
from einvoice.forms import AnswerForm, ResponseUploadForm
from einvoice.status import B2BStatus
from invoicing import taxes
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


STATUS_TONES = {
    B2BStatus.RECEIVED: "",
    B2BStatus.ACCEPTED: "ok",
    B2BStatus.REJECTED: "bad",
    B2BStatus.PAID: "ok",
}
# A view that refuses a form puts the bound form here, so that the page it renders again
# shows the errors on their fields.
ANSWER_FORM = "einvoice_answer_form"
UPLOAD_FORM = "einvoice_upload_form"


def status_panel(request: HttpRequest, invoice: Invoice) -> str:
    """The panel's HTML, or "" for an invoice that takes no B2B answer and has none."""
    events = answers.history(invoice) if invoice.is_issued else []
    why = answers.refusal(invoice)
    if why and not events:
        return ""
    current = answers.current_status(events)
    labels = dict(B2BStatus.choices)
    can_write = request.membership.can_write and not why
    said_paid = answers.answered_paid_cents(events)
    context = {
        "object": invoice,
        "account": request.account,
        "refusal": why,
        "current": labels[current] if current else "",
        "current_tone": STATUS_TONES.get(current, ""),
        "clock": answers.clock(invoice, events, timezone.localdate()) if not why else None,
        "rows": [
            {
                "event": e,
                "label": labels[e.status],
                "tone": STATUS_TONES[e.status],
                "paid": taxes.format_euros(e.paid_cents) if e.paid_cents else "",
                "code": f"{e.response_code} ({CODE_LABELS.get(e.response_code, '')})"
                if e.response_code
                else "",
            }
            for e in reversed(events)
        ],
        "said_paid": taxes.format_euros(said_paid) if said_paid else "",
        "collect_hint": bool(said_paid) and invoice.outstanding_cents > 0,
        "can_write": can_write,
        "answer_form": getattr(request, ANSWER_FORM, None) or AnswerForm(),
        "upload_form": getattr(request, UPLOAD_FORM, None) or ResponseUploadForm(),
    }
    return render_to_string("einvoice/_status_panel.html", context, request=request)
