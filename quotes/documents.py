"""A quote's PDF: the invoice's renderer (:mod:`invoicing.pdf`) on a document with no QR
and no VERI*FACTU legend (a quote is never registered), titled "Presupuesto", with its
valid-until date. The parties, lines and tax breakdown are built as an invoice draft's are
(:mod:`invoicing.documents`); the breakdown by the invoice's arithmetic."""

from __future__ import annotations

from invoicing import documents, pdf
from quotes.models import Quote

TITLE = "Presupuesto"


class QuoteRenderer(pdf.InvoiceRenderer):
    filename_prefix = "presupuesto"


def quote_document(quote: Quote) -> pdf.InvoiceDocument:
    """What the quote's PDF prints, as the renderer takes it."""
    lines = list(quote.lines.all())
    computed = quote.recomputed(lines)
    return pdf.InvoiceDocument(
        number=quote.number,
        issue_date=quote.issue_date,
        issue_date_label="Fecha",
        valid_until=quote.valid_until,
        issuer=documents.taxpayer_party(quote.taxpayer),
        client=documents.current_client_party(quote.client),
        lines=documents.document_lines(lines),
        tax_groups=documents.tax_groups(computed),
        subtotal_cents=quote.subtotal_cents,
        iva_cents=quote.iva_cents,
        tax_total_label=documents.tax_total_label(computed.groups),
        recargo_cents=quote.surcharge_cents,
        irpf_rate_bp=quote.irpf_bp,
        irpf_cents=quote.irpf_cents,
        total_cents=quote.total_cents,
        title=TITLE,
        notes=quote.notes,
        qr_url=None,
        verifactu=False,
    )


def render_pdf(quote: Quote) -> tuple[str, str, bytes]:
    """``(filename, "application/pdf", bytes)`` of the quote's PDF."""
    return QuoteRenderer().render(quote_document(quote))
