"""From an invoice to what is shown of it: its parties, its tax breakdown, and the one fiscal
document both PDFs render (:func:`document_for`, a :class:`invoicing.pdf.InvoiceDocument`):
the pages' and the account API's from an :class:`~invoicing.models.Invoice`, the v1 API's
from a :class:`~verifactu.models.FiscalInvoice` (Factu's own invoice when it was issued in
Factu, else the registered facts of the version the client received). The title, the QR,
the VERI*FACTU legend (the record's mode, never the taxpayer's today) and the cancellation
mark follow the same rules either way.

An issued invoice shows the parties frozen on it at issue, never the client as it is today;
a draft shows the taxpayer and the client as they are now (nothing is frozen yet). The tax
breakdown is recomputed from the stored lines (:func:`invoicing.totals.recomputed`), the
same arithmetic that produced the stored totals.
"""

from __future__ import annotations

from clients.models import Client, IdType
from factu.addresses import address_line, address_lines
from factu.branding import brand_for
from factu.models import Taxpayer
from invoicing import pdf, taxes, totals
from invoicing.models import Invoice, InvoiceStatus, Series
from verifactu.corrections import printed_version
from verifactu.facts import from_cents
from verifactu.models import FiscalInvoice

_ID_TYPE_LABELS = {
    IdType.NIF_IVA: "NIF-IVA",
    IdType.PASSPORT: "Pasaporte",
    IdType.RESIDENCE_ID: "Documento de identidad",
    IdType.RESIDENCE_CERTIFICATE: "Certificado de residencia",
    IdType.OTHER: "Documento",
    IdType.NOT_CENSUSED: "No censado",
}
OPERATION_LABELS = {
    "S2": "Inversión del sujeto pasivo",
    "N1": "No sujeto (N1)",
    "N2": "No sujeto por reglas de localización (N2)",
}


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p).strip()


def tax_label(iva_type: str, cause: str = "", rate_bp: int = 0) -> str:
    """How a line's or a group's tax is named: "IVA 21 %", "IGIC 7 %", "Exento (E1)",
    "Exento de IGIC (E1)", "No sujeto (N2)"."""
    tax = taxes.TAX_NAMES[taxes.TAX_TYPES.get(iva_type, taxes.IVA)]
    if iva_type in (taxes.IGIC_EXENTO, taxes.IPSI_EXENTO):
        return f"Exento de {tax} ({cause})" if cause else f"Exento de {tax}"
    if iva_type == taxes.EXENTO:
        return f"Exento ({cause})" if cause else "Exento"
    if iva_type == taxes.NO_SUJETO:
        return f"No sujeto ({cause})" if cause else "No sujeto"
    if iva_type == taxes.INVERSION_SUJETO_PASIVO:
        return "Inversión del sujeto pasivo"
    return f"{tax} {taxes.format_percent(rate_bp)}"


def tax_total_label(groups) -> str:
    """ "Total IVA", or the taxes the groups carry when IGIC or IPSI is among them."""
    names = [taxes.TAX_NAMES[t] for t in (taxes.IVA, taxes.IGIC, taxes.IPSI)]
    present = {taxes.TAX_NAMES[g.tax_type] for g in groups} or {"IVA"}
    return "Total " + " + ".join(n for n in names if n in present)


def taxpayer_party(taxpayer: Taxpayer) -> pdf.Party:
    """The taxpayer as it is today (a draft's issuer, a quote's)."""
    return pdf.Party(taxpayer.name, taxpayer.nif, address_lines=address_lines(taxpayer))


def issuer_party(invoice: Invoice) -> pdf.Party:
    if invoice.is_issued:
        address = tuple(a for a in [invoice.issuer_address] if a)
        return pdf.Party(invoice.issuer_name, invoice.issuer_nif, address_lines=address)
    return taxpayer_party(invoice.taxpayer)


def current_client_party(client: Client | None) -> pdf.Party | None:
    """The client as it is today (a draft's, a quote's)."""
    if client is None:
        return None
    address = address_lines(client)
    return _party(
        client.name, client.nif, client.country, client.id_type, client.foreign_id, address
    )


def client_party(invoice: Invoice) -> pdf.Party | None:
    if not invoice.is_issued:
        return current_client_party(invoice.client)
    if not (invoice.client_name or invoice.client_nif or invoice.client_foreign_id):
        return None
    address = tuple(a for a in [invoice.client_address] if a)
    return _party(
        invoice.client_name,
        invoice.client_nif,
        invoice.client_country,
        invoice.client_id_type,
        invoice.client_foreign_id,
        address,
    )


def _party(
    name: str, nif: str, country: str, id_type: str, foreign_id: str, address: tuple[str, ...]
) -> pdf.Party:
    if nif:
        return pdf.Party(name, nif, "NIF", address)
    label = _ID_TYPE_LABELS.get(id_type, "Identificación")
    tax_id = _join(country, foreign_id) if id_type != IdType.NIF_IVA else foreign_id
    return pdf.Party(name, tax_id, label, address)


def document_branding(taxpayer: Taxpayer) -> pdf.DocumentBranding:
    """What the PDF prints of the taxpayer's branding (:func:`factu.branding.brand_for`)."""
    brand = brand_for(taxpayer)
    return pdf.DocumentBranding(
        logo=brand.logo,
        accent_color=brand.accent_color,
        contact_lines=brand.contact_lines,
        footer=brand.footer,
    )


def document_title(invoice_type: str) -> str:
    """ "Factura rectificativa" (R1–R5), "Factura simplificada" (F2), else "Factura"."""
    if invoice_type.startswith("R"):
        return "Factura rectificativa"
    return "Factura simplificada" if invoice_type == "F2" else "Factura"


def record_marks(registered: FiscalInvoice) -> tuple[str | None, bool]:
    """The QR URL and whether the VERI*FACTU legend is printed: the mode the invoice was
    registered in (its record), not the taxpayer's mode today; NO VERI*FACTU prints the QR
    (ValidarQRNoVerifactu) without the legend."""
    return registered.qr_url or None, not registered.no_verifactu


def document_for(source: Invoice | FiscalInvoice) -> pdf.InvoiceDocument:
    """The PDF's frozen snapshot of an invoice, or of a registered fiscal invoice (Factu's
    own invoice when it was issued here); an issued invoice carries its QR."""
    if isinstance(source, FiscalInvoice):
        invoice = Invoice.objects.filter(fiscal_invoice=source).first()
        return _registered_document(source) if invoice is None else _invoice_document(invoice)
    return _invoice_document(source)


def tax_groups(computed: taxes.InvoiceTotals) -> tuple[pdf.TaxGroup, ...]:
    """The PDF's tax breakdown of computed totals (an invoice's, a quote's)."""
    return tuple(
        pdf.TaxGroup(
            label=tax_label(g.iva_type, g.cause, g.rate_bp),
            base_cents=g.base_cents,
            rate_bp=g.rate_bp if g.reports_rate else None,
            cuota_cents=g.iva_cents,
            recargo_rate_bp=g.surcharge_rate_bp,
            recargo_cents=g.surcharge_cents,
        )
        for g in computed.groups
    )


def document_lines(lines) -> tuple[pdf.InvoiceLine, ...]:
    """The PDF's lines of stored lines with an invoice line's columns (a quote's have them)."""
    return tuple(
        pdf.InvoiceLine(
            description=line.description,
            quantity_hundredths=line.quantity,
            unit_price_cents=line.unit_price_cents,
            amount_cents=line.amount_cents,
            discount_bp=line.discount_bp,
            tax_label=tax_label(line.iva_type, line.cause, taxes.TAX_RATES_BP[line.iva_type]),
        )
        for line in lines
    )


def _invoice_document(invoice: Invoice) -> pdf.InvoiceDocument:
    lines = list(invoice.lines.all())
    recomputed = totals.recomputed(invoice, lines)
    rectificativa = invoice.series.kind == Series.Kind.RECTIFYING
    title = document_title("R" if rectificativa else invoice.invoice_type)
    if not invoice.is_issued:
        title = f"{title} (borrador)"
    groups = tax_groups(recomputed)
    doc_lines = document_lines(lines)
    qr_url = None
    verifactu = invoice.taxpayer.verifactu_mode == Taxpayer.VerifactuMode.VERIFACTU
    if invoice.is_issued and invoice.fiscal_invoice_id:
        qr_url, verifactu = record_marks(invoice.fiscal_invoice)
    original = invoice.rectified_invoice
    return pdf.InvoiceDocument(
        number=invoice.number,
        issue_date=invoice.issue_date,
        issuer=issuer_party(invoice),
        client=client_party(invoice),
        lines=doc_lines,
        tax_groups=groups,
        subtotal_cents=invoice.subtotal_cents,
        iva_cents=invoice.iva_cents,
        tax_total_label=tax_total_label(recomputed.groups),
        recargo_cents=invoice.surcharge_cents,
        irpf_rate_bp=invoice.irpf_bp,
        irpf_cents=invoice.irpf_cents,
        total_cents=invoice.total_cents,
        title=title,
        due_date=invoice.due_date,
        operation_date=invoice.operation_date,
        issuance=" · ".join(
            filter(
                None,
                [
                    issuance_mention(
                        invoice.issued_by, invoice.third_party_nif, invoice.third_party_name
                    ),
                    # RD 1619/2012 art. 6.1.o: the mention a taxpayer in the RECC must print.
                    CASH_CRITERION_MENTION if invoice.cash_criterion else "",
                ],
            )
        ),
        replaces=tuple(
            invoice.replaced_invoices.order_by("issue_date", "number").values_list(
                "number", flat=True
            )
        )
        if invoice.invoice_type == "F3"
        else (),
        rectified_number=original.number if original else None,
        rectified_date=original.issue_date if original else None,
        rectification_type=invoice.rectification_type if original else "",
        description=invoice.description,
        payment_method=invoice.payment_details,
        # Where to pay: the taxpayer's account today (a refund, a negative total, has none).
        iban=invoice.taxpayer.iban if invoice.total_cents > 0 else "",
        notes=invoice.notes,
        qr_url=qr_url,
        verifactu=verifactu,
        cancelled=invoice.status == InvoiceStatus.CANCELLED,
        branding=document_branding(invoice.taxpayer),
    )


CASH_CRITERION_MENTION = "Régimen especial del criterio de caja"


def issuance_mention(issued_by: str, third_party_nif: str, third_party_name: str) -> str:
    """What the invoice says about who expedited it (EmitidaPorTerceroODestinatario)."""
    if issued_by == "recipient":
        return "Facturación por el destinatario"
    if issued_by == "third_party":
        return f"Facturación por tercero: {third_party_name} (NIF {third_party_nif})"
    return ""


def _breakdown_label(line: dict) -> str:
    operation = line["operation_type"]
    if operation.startswith("E"):
        return f"Exento ({operation})"
    if operation in OPERATION_LABELS:
        return OPERATION_LABELS[operation]
    rate = from_cents(line["rate_bp"] or 0)
    tax = taxes.TAX_NAMES.get(line.get("tax_type"), "IVA")
    return f"{tax} {rate.normalize():f} %".replace(".", ",")


def _registered_document(registered: FiscalInvoice) -> pdf.InvoiceDocument:
    """The document of an invoice registered through the API (one line per breakdown
    group), with the facts of the version the client received
    (:func:`verifactu.corrections.printed_version`); QR and cancellation are the record's."""
    invoice = printed_version(registered)
    groups = tuple(
        pdf.TaxGroup(
            label=_breakdown_label(line),
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
    address = address_line(registered.taxpayer)
    qr_url, verifactu = record_marks(registered)
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
        subtotal_cents=sum(g.base_cents for g in groups),
        iva_cents=sum(g.cuota_cents for g in groups),
        recargo_cents=sum(g.recargo_cents for g in groups),
        irpf_rate_bp=registered.irpf_rate_bp or 0,
        irpf_cents=registered.irpf_amount_cents or 0,
        # What the client pays: ImporteTotal less the IRPF withheld (never in the record).
        total_cents=invoice.total_amount_cents - (registered.irpf_amount_cents or 0),
        operation_date=invoice.operation_date,
        title=document_title(invoice.invoice_type),
        qr_url=qr_url,
        verifactu=verifactu,
        cancelled=registered.records.filter(kind="anulacion").exists(),
        branding=document_branding(registered.taxpayer),
    )


def render_pdf(source: Invoice | FiscalInvoice) -> tuple[str, str, bytes]:
    """``(filename, mimetype, bytes)`` of the PDF of :func:`document_for` ``source``."""
    return pdf.InvoiceRenderer().render(document_for(source))
