"""The v1 API's PDF of a fiscal invoice: the one fiscal document
(:func:`invoicing.documents.document_for`), Factu's own invoice when it was issued in Factu,
otherwise drawn from the registered facts."""

from __future__ import annotations

from invoicing.documents import render_pdf
from verifactu.models import FiscalInvoice


def render_fiscal_invoice(invoice: FiscalInvoice) -> tuple[str, str, bytes]:
    return render_pdf(invoice)
