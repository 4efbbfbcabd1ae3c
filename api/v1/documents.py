"""The PDF of a fiscal invoice: Factu's own rendering when it was issued in Factu, otherwise
one drawn from the registered facts (one line per breakdown group)."""

from __future__ import annotations

from invoicing import pdf, taxes
from verifactu.corrections import printed_version
from verifactu.facts import from_cents
from verifactu.models import FiscalInvoice

OPERATION_LABELS = {
    "S2": "Inversión del sujeto pasivo",
    "N1": "No sujeto (N1)",
    "N2": "No sujeto por reglas de localización (N2)",
}


def _label(line: dict) -> str:
    operation = line["operation_type"]
    if operation.startswith("E"):
        return f"Exento ({operation})"
    if operation in OPERATION_LABELS:
        return OPERATION_LABELS[operation]
    rate = from_cents(line["rate_bp"] or 0)
    tax = taxes.TAX_NAMES.get(line.get("tax_type"), "IVA")
    return f"{tax} {rate.normalize():f} %".replace(".", ",")


def document_for_fiscal_invoice(registered: FiscalInvoice) -> pdf.InvoiceDocument:
    """The document of ``registered``, with the facts of the version the client received
    (:func:`verifactu.corrections.printed_version`); QR and cancellation are the invoice's."""
    invoice = printed_version(registered)
    groups = tuple(
        pdf.TaxGroup(
            label=_label(line),
            base_cents=line["base_cents"],
            rate_bp=line.get("rate_bp"),
            cuota_cents=line.get("tax_cents") or 0,
            recargo_rate_bp=line.get("surcharge_rate_bp") or 0,
            recargo_cents=line.get("surcharge_cents") or 0,
        )
        for line in invoice.breakdown
    )
    lines = tuple(
        pdf.InvoiceLine(
            description=invoice.description if i == 0 else f"{invoice.description} ({g.label})",
            quantity_hundredths=100,
            unit_price_cents=g.base_cents,
            amount_cents=g.base_cents,
            tax_label=g.label,
        )
        for i, g in enumerate(groups)
    )
    client = None
    if invoice.recipient_nif or invoice.recipient_id:
        client = pdf.Party(
            name=invoice.recipient_name or invoice.recipient_id,
            tax_id=invoice.recipient_nif or invoice.recipient_id,
            tax_id_label="NIF" if invoice.recipient_nif else "ID",
        )
    cancelled = registered.records.filter(kind="anulacion").exists()
    subtotal = sum(g.base_cents for g in groups)
    iva = sum(g.cuota_cents for g in groups)
    recargo = sum(g.recargo_cents for g in groups)
    taxpayer = registered.taxpayer
    address = ", ".join(p for p in (taxpayer.address, taxpayer.postal_code, taxpayer.city) if p)
    return pdf.InvoiceDocument(
        number=invoice.invoice_number,
        issue_date=invoice.invoice_date,
        issuer=pdf.Party(
            name=invoice.issuer_name,
            tax_id=invoice.issuer_nif,
            address_lines=(address,) if address else (),
        ),
        client=client,
        lines=lines,
        tax_groups=groups,
        subtotal_cents=subtotal,
        iva_cents=iva,
        recargo_cents=recargo,
        irpf_rate_bp=registered.irpf_rate_bp or 0,
        irpf_cents=registered.irpf_amount_cents or 0,
        # What the client pays: ImporteTotal less the IRPF withheld (never in the record).
        total_cents=invoice.total_amount_cents - (registered.irpf_amount_cents or 0),
        operation_date=invoice.operation_date,
        title="Factura rectificativa"
        if invoice.invoice_type.startswith("R")
        else ("Factura simplificada" if invoice.invoice_type == "F2" else "Factura"),
        qr_url=registered.qr_url,
        # The legend of the record's mode, not the taxpayer's today (a switch comes later).
        verifactu=not registered.no_verifactu,
        cancelled=cancelled,
    )


def render_fiscal_invoice(invoice: FiscalInvoice) -> tuple[str, str, bytes]:
    factu_invoice = getattr(invoice, "factu_invoice", None)
    if factu_invoice is not None:
        try:
            from invoicing.documents import document_for
        except ImportError:
            document_for = None
        if document_for is not None:
            return pdf.InvoiceRenderer().render(document_for(factu_invoice))
    return pdf.InvoiceRenderer().render(document_for_fiscal_invoice(invoice))
