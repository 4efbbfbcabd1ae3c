"""An issued invoice as a Facturae 3.2.2 file, unsigned (:func:`build_facturae`).

Like :mod:`einvoice.ubl`, everything comes from the fiscal document the PDF renders
(:func:`invoicing.documents.document_for`) and the tax groups of
:func:`invoicing.totals.recomputed`: every amount is the invoice's cents written with two
places, and no tax is computed here. A rectificativa keeps its signs (Facturae takes negative
amounts in a corrective invoice). How each Spanish case is carried:
docs/einvoice-mapping.md, section "Facturae 3.2.2".

The signature is not this module's: :func:`build_facturae` returns the unsigned document, and
:func:`einvoice.signing.signed_facturae` adds ``ds:Signature`` (XAdES-EPES under the Facturae
signature policy) as the last child of the root, after ``Invoices`` (the XSD's place for it),
without changing anything before it. ``unsigned_tree`` gives it the tree to sign.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from lxml import etree

from einvoice.addresses import client_address, issuer_address
from einvoice.facturae_parties import NotRepresentable, party_element, sub
from einvoice.ubl import amount
from einvoice.ubl_taxes import category_of, percent
from factu.money import round_half_up
from invoicing import documents, taxes, totals
from invoicing.models import Invoice
from invoicing.pdf_document import InvoiceDocument, InvoiceLine

NAMESPACE = "http://www.facturae.gob.es/formato/Versiones/Facturaev3_2_2.xml"
DS = "http://www.w3.org/2000/09/xmldsig#"
SCHEMA_VERSION = "3.2.2"
CURRENCY = "EUR"
IRPF = "04"
TRANSFER = "04"
UNITS = "01"  # Facturae's "Unidades"
EXEMPT_EVENT = "01"  # operación sujeta y exenta
NOT_SUBJECT_EVENT = "02"  # operación no sujeta
REVERSE_CHARGE_MENTION = "Inversión del sujeto pasivo (art. 84.Uno.2º de la Ley 37/1992)"
QR_LABEL = "QR tributario VERI*FACTU"

# Facturae's ReasonCode for each VERI*FACTU rectificativa type (TipoFactura R1–R5). The
# cause Factu records is the legal one, not the field corrected, so the closest generic
# reason is taken: R1 (LIVA art. 80.1, 80.2, 80.6 and errors in law) and R5 (a simplified
# invoice) change the taxable base (16); R2 (a concurso) and R3 (bad debts, art. 80.4) are
# cuotas not paid (85); R4 (any other cause) corrects the operation's detail (10).
REASONS = {
    "R1": ("16", "Base imponible"),
    "R2": ("85", "Base imponible modificada cuotas repercutidas no satisfechas. "
                 "Auto de declaración de concurso"),
    "R3": ("85", "Base imponible modificada cuotas repercutidas no satisfechas. "
                 "Auto de declaración de concurso"),
    "R4": ("10", "Detalle Operación"),
    "R5": ("16", "Base imponible"),
}  # fmt: skip
CORRECTION_METHODS = {
    "S": ("01", "Rectificación íntegra"),
    "I": ("02", "Rectificación por diferencias"),
}
MAX_NUMBER = 20  # InvoiceNumber is TextMax20Type


def build_facturae(invoice: Invoice) -> bytes:
    """The unsigned Facturae 3.2.2 file of an issued invoice, UTF-8 with an XML declaration."""
    return etree.tostring(unsigned_tree(invoice), xml_declaration=True, encoding="UTF-8")


def unsigned_tree(invoice: Invoice) -> etree._Element:
    """The ``fe:Facturae`` root, complete but for the ``ds:Signature`` the signing step
    appends as its last child."""
    if not invoice.is_issued:
        raise ValueError("Only an issued invoice has an e-invoice.")
    document = documents.document_for(invoice)
    if document.client is None:
        raise NotRepresentable("Una factura Facturae necesita un destinatario identificado.")
    if len(document.number) > MAX_NUMBER:
        raise NotRepresentable(
            f"El número {document.number} tiene más de {MAX_NUMBER} caracteres, "
            "el máximo de Facturae."
        )
    lines = list(invoice.lines.all())
    computed = totals.recomputed(invoice, lines)
    root = etree.Element(f"{{{NAMESPACE}}}Facturae", nsmap={"fe": NAMESPACE, "ds": DS})
    _file_header(root, document)
    parties = sub(root, "Parties")
    party_element(
        parties, "SellerParty", document.issuer, "ES", issuer_address(invoice), whose="del emisor"
    )
    party_element(
        parties,
        "BuyerParty",
        document.client,
        invoice.client_country or "ES",
        client_address(invoice),
        tax_id=invoice.client_nif or invoice.client_foreign_id,
        whose="del cliente",
        dir3=dir3_codes(invoice),
    )
    node = sub(sub(root, "Invoices"), "Invoice")
    _header(node, invoice, document)
    _issue_data(node, document)
    _taxes_outputs(node, computed)
    if document.irpf_cents:
        withheld = sub(sub(node, "TaxesWithheld"), "Tax")
        sub(withheld, "TaxTypeCode", IRPF)
        sub(withheld, "TaxRate", str(percent(document.irpf_rate_bp)))
        _amount(withheld, "TaxableBase", document.subtotal_cents)
        _amount(withheld, "TaxAmount", document.irpf_cents)
    _totals(node, document, computed)
    items = sub(node, "Items")
    for index, (line, shown) in enumerate(zip(lines, document.lines, strict=True)):
        group = computed.groups[computed.line_groups[index]]
        _line(items, line.unit_price_cents, shown, group)
    _payment(node, document)
    literals = _legal_literals(computed)
    if literals:
        legal = sub(node, "LegalLiterals")
        for literal in literals:
            sub(legal, "LegalReference", literal[:250])
    additional = _additional_information(document)
    if additional:
        sub(sub(node, "AdditionalData"), "InvoiceAdditionalInformation", additional[:2500])
    return root


def dir3_codes(invoice: Invoice) -> tuple[str, str, str] | None:
    """The client's oficina contable, órgano gestor and unidad tramitadora, when it is a
    public administration that gave them (``clients.models.Client`` keeps all three or none)."""
    client = invoice.client
    if client is None:
        return None
    codes = (
        client.dir3_oficina_contable,
        client.dir3_organo_gestor,
        client.dir3_unidad_tramitadora,
    )
    return codes if all(codes) else None


def _amount(parent: etree._Element, name: str, cents: int) -> None:
    """An ``AmountType``: the amount in ``TotalAmount`` (always euros here)."""
    sub(sub(parent, name), "TotalAmount", amount(cents))


def _file_header(root: etree._Element, document: InvoiceDocument) -> None:
    header = sub(root, "FileHeader")
    sub(header, "SchemaVersion", SCHEMA_VERSION)
    sub(header, "Modality", "I")  # individual: one invoice per file
    sub(header, "InvoiceIssuerType", "EM")  # issued by the seller
    batch = sub(header, "Batch")
    # The seller's NIF and the number: unique per seller, as FACe expects of a batch.
    sub(batch, "BatchIdentifier", f"{document.issuer.tax_id}{document.number}"[:70])
    sub(batch, "InvoicesCount", "1")
    _amount(batch, "TotalInvoicesAmount", document.total_cents)
    _amount(batch, "TotalOutstandingAmount", document.total_cents)
    _amount(batch, "TotalExecutableAmount", document.total_cents)
    sub(batch, "InvoiceCurrencyCode", CURRENCY)


def tax_period(day: date) -> tuple[date, date]:
    """The quarter of ``day``: the 303's period, the one most Factu taxpayers file."""
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = date(day.year, first_month, 1)
    end = date(day.year + 1, 1, 1) if first_month == 10 else date(day.year, first_month + 3, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def _header(node: etree._Element, invoice: Invoice, document: InvoiceDocument) -> None:
    """The number as Factu stores it, series included ("2026-A-001"), so no
    ``InvoiceSeriesCode``: a reader joining series and number gets the number back."""
    header = sub(node, "InvoiceHeader")
    sub(header, "InvoiceNumber", document.number)
    sub(header, "InvoiceDocumentType", "FC")  # factura completa
    corrective = document.rectified_number is not None
    sub(header, "InvoiceClass", "OR" if corrective else "OO")
    if not corrective:
        return
    node = sub(header, "Corrective")
    sub(node, "InvoiceNumber", document.rectified_number[:20])
    code, description = REASONS.get(invoice.invoice_type, REASONS["R1"])
    sub(node, "ReasonCode", code)
    sub(node, "ReasonDescription", description)
    start, end = tax_period(document.rectified_date or document.issue_date)
    period = sub(node, "TaxPeriod")
    sub(period, "StartDate", start.isoformat())
    sub(period, "EndDate", end.isoformat())
    method, method_description = CORRECTION_METHODS[document.rectification_type or "I"]
    sub(node, "CorrectionMethod", method)
    sub(node, "CorrectionMethodDescription", method_description)
    if document.description:
        sub(node, "AdditionalReasonDescription", document.description[:2500])
    if document.rectified_date:
        sub(node, "InvoiceIssueDate", document.rectified_date.isoformat())


def _issue_data(node: etree._Element, document: InvoiceDocument) -> None:
    data = sub(node, "InvoiceIssueData")
    sub(data, "IssueDate", document.issue_date.isoformat())
    if document.operation_date and document.operation_date != document.issue_date:
        sub(data, "OperationDate", document.operation_date.isoformat())
    sub(data, "InvoiceCurrencyCode", CURRENCY)
    sub(data, "TaxCurrencyCode", CURRENCY)
    sub(data, "LanguageName", "es")
    if document.description and document.rectified_number is None:
        sub(data, "InvoiceDescription", document.description[:2500])


def _rate(group: taxes.TaxGroup) -> int:
    """The rate Facturae writes: 0 where VERI*FACTU declares none (exempt, not subject,
    reverse charge: the seller charges no tax)."""
    return group.rate_bp if group.operation_type == "S1" else 0


def _taxes_outputs(node: etree._Element, computed: taxes.InvoiceTotals) -> None:
    """One ``Tax`` per tax, rate and recargo rate: the groups VERI*FACTU tells apart only by
    cause or regime are added up, cent by cent."""
    merged: dict[tuple[str, int, int], list[int]] = {}
    for group in computed.groups:
        key = (group.tax_type, _rate(group), group.surcharge_rate_bp)
        sums = merged.setdefault(key, [0, 0, 0])
        sums[0] += group.base_cents
        sums[1] += group.iva_cents
        sums[2] += group.surcharge_cents
    outputs = sub(node, "TaxesOutputs")
    for (code, rate, surcharge_rate), (base, tax, surcharge) in merged.items():
        output = sub(outputs, "Tax")
        sub(output, "TaxTypeCode", code)
        sub(output, "TaxRate", str(percent(rate)))
        _amount(output, "TaxableBase", base)
        _amount(output, "TaxAmount", tax)
        if surcharge_rate:
            sub(output, "EquivalenceSurcharge", str(percent(surcharge_rate)))
            _amount(output, "EquivalenceSurchargeAmount", surcharge)


def _totals(node: etree._Element, document: InvoiceDocument, computed: taxes.InvoiceTotals) -> None:
    """``InvoiceTotal`` is what the client pays: the bases, plus the taxes charged, minus the
    IRPF withheld (the PDF's total)."""
    node = sub(node, "InvoiceTotals")
    sub(node, "TotalGrossAmount", amount(document.subtotal_cents))
    sub(node, "TotalGrossAmountBeforeTaxes", amount(document.subtotal_cents))
    sub(node, "TotalTaxOutputs", amount(computed.tax_total_cents))
    sub(node, "TotalTaxesWithheld", amount(document.irpf_cents))
    sub(node, "InvoiceTotal", amount(document.total_cents))
    sub(node, "TotalOutstandingAmount", amount(document.total_cents))
    sub(node, "TotalExecutableAmount", amount(document.total_cents))


def _decimal(hundredths: int) -> str:
    return str((Decimal(hundredths) / 100).quantize(Decimal("0.01")))


def _line(
    items: etree._Element, unit_price_cents: int, shown: InvoiceLine, group: taxes.TaxGroup
) -> None:
    """A line: quantity × price = ``TotalCost``, less the discount = ``GrossAmount`` (the
    line's base); its tax with rate and base only, the cuota being the group's."""
    line = sub(items, "InvoiceLine")
    sub(line, "ItemDescription", shown.description or "-")
    sub(line, "Quantity", _decimal(shown.quantity_hundredths))
    sub(line, "UnitOfMeasure", UNITS)
    sub(line, "UnitPriceWithoutTax", amount(unit_price_cents))
    gross = round_half_up(shown.quantity_hundredths * unit_price_cents, 100)
    sub(line, "TotalCost", amount(gross))
    if shown.discount_bp:
        discount = sub(sub(line, "DiscountsAndRebates"), "Discount")
        sub(discount, "DiscountReason", "Descuento")
        sub(discount, "DiscountRate", str(percent(shown.discount_bp)))
        sub(discount, "DiscountAmount", amount(gross - shown.amount_cents))
    sub(line, "GrossAmount", amount(shown.amount_cents))
    tax = sub(sub(line, "TaxesOutputs"), "Tax")
    sub(tax, "TaxTypeCode", group.tax_type)
    sub(tax, "TaxRate", str(percent(_rate(group))))
    _amount(tax, "TaxableBase", shown.amount_cents)
    if group.surcharge_rate_bp:
        sub(tax, "EquivalenceSurcharge", str(percent(group.surcharge_rate_bp)))
    if group.operation_type == "S2":
        sub(line, "AdditionalLineItemInformation", REVERSE_CHARGE_MENTION)
    elif group.is_exempt or group.operation_type in ("N1", "N2"):
        event = sub(line, "SpecialTaxableEvent")
        code = EXEMPT_EVENT if group.is_exempt else NOT_SUBJECT_EVENT
        sub(event, "SpecialTaxableEventCode", code)
        sub(event, "SpecialTaxableEventReason", category_of(group).reason)


def _payment(node: etree._Element, document: InvoiceDocument) -> None:
    """One instalment by transfer, when the client owes something."""
    if document.total_cents <= 0:
        return
    installment = sub(sub(node, "PaymentDetails"), "Installment")
    sub(installment, "InstallmentDueDate", (document.due_date or document.issue_date).isoformat())
    sub(installment, "InstallmentAmount", amount(document.total_cents))
    sub(installment, "PaymentMeans", TRANSFER)
    if document.iban:
        sub(sub(installment, "AccountToBeCredited"), "IBAN", document.iban.replace(" ", ""))


def _legal_literals(computed: taxes.InvoiceTotals) -> list[str]:
    """The mentions the law asks the invoice to print (RD 1619/2012 art. 6.1.j, 6.1.m):
    each exemption's or non-subjection's cause, and the reverse charge."""
    literals: list[str] = []
    for group in computed.groups:
        if group.operation_type == "S2":
            literal = REVERSE_CHARGE_MENTION
        elif group.is_exempt or group.operation_type in ("N1", "N2"):
            literal = category_of(group).reason
        else:
            continue
        if literal not in literals:
            literals.append(literal)
    return literals


def _additional_information(document: InvoiceDocument) -> str:
    """The VERI*FACTU QR URL (Orden HAC/1177/2024, art. 20) and the invoice's notes, as text:
    Facturae has no element for a URL, and an attachment (``RelatedDocuments``) must embed
    its data."""
    parts = []
    if document.qr_url:
        parts.append(f"{QR_LABEL}: {document.qr_url}")
    if document.notes:
        parts.append(document.notes)
    return "\n".join(parts)
