"""An issued invoice as a UBL 2.1 Invoice or CreditNote, EN 16931 with the Peppol BIS Billing
3.0 customization (:func:`build_ubl`).

Everything comes from the fiscal document the PDF renders (:func:`invoicing.documents.
document_for`) and from the tax groups of :func:`invoicing.totals.recomputed`; no tax is
computed here. How each Spanish case is carried, and the rule it satisfies, is
docs/einvoice-mapping.md:

* a rectificativa whose total is negative is a CreditNote (381) with every amount's sign
  turned (a credit note states what is credited); any other rectificativa is an Invoice
  (380: Peppol allows the corrected invoice, 384, only between German parties,
  PEPPOL-EN16931-P0112); both name the original in ``cac:BillingReference``;
* the IRPF withheld goes as ``cbc:PrepaidAmount`` (BT-113), so that the amount due (BT-115)
  is what the client pays and BR-CO-16 holds, and the document's note says it is IRPF;
* the VERI*FACTU QR URL (Orden HAC/1177/2024, art. 20) is a supporting document (BG-24)
  whose external location (BT-124) is the URL.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from einvoice.addresses import AddressParts, client_address, issuer_address
from einvoice.ubl_taxes import Category, category_of, percent, tax_cents
from factu.money import round_half_up
from invoicing import documents, taxes, totals
from invoicing.models import Invoice
from invoicing.pdf_document import InvoiceDocument, Party
from verifactu.facts import from_cents

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_TYPE = "380"
CREDIT_NOTE_TYPE = "381"
CURRENCY = "EUR"
QR_REFERENCE_ID = "VERIFACTU-QR"

_UBL = "urn:oasis:names:specification:ubl:schema:xsd"
CBC = f"{_UBL}:CommonBasicComponents-2"
CAC = f"{_UBL}:CommonAggregateComponents-2"
INVOICE_NS = f"{_UBL}:Invoice-2"
CREDIT_NOTE_NS = f"{_UBL}:CreditNote-2"

# Peppol's electronic address schemes (EAS, the code list of Peppol BIS 3.0.19) by the VAT
# number's prefix: a client is reached at its VAT number, with its country prefix. 9920 is
# Spain's (the NIF). Italy's VAT scheme 9906 left the list for the Partita IVA (0211);
# Denmark's CVR (0184) and Finland's VAT (0213) take the VAT number as it is; Sweden has no
# VAT scheme left, so its organisation number (0007) is read from the VAT number
# (:func:`endpoint`).
VAT_SCHEMES = {
    "AT": "9914", "BE": "9925", "BG": "9926", "CY": "9928", "CZ": "9929", "DE": "9930",
    "EE": "9931", "ES": "9920", "FR": "9957", "EL": "9933", "HR": "9934", "IE": "9935",
    "IT": "0211", "LT": "9937", "LU": "9938", "LV": "9939", "MT": "9943", "NL": "9944",
    "PL": "9945", "PT": "9946", "RO": "9947", "SI": "9949", "SK": "9950", "HU": "9910",
    "GB": "9932", "CH": "9927", "DK": "0184", "FI": "0213", "SE": "0007",
}  # fmt: skip


# The VAT prefix that is not the ISO country code (Directive 2006/112/EC art. 215).
VAT_PREFIXES = {"GR": "EL"}


class NotRepresentable(ValueError):
    """An invoice that EN 16931 with Peppol's rules cannot carry as it is."""


class MixedNotSubject(NotRepresentable):
    """A not-subject line (category O) beside any other category: BR-O-11 to BR-O-14 allow
    an invoice with O only when every line is O."""


class NoElectronicAddress(NotRepresentable):
    """Peppol needs the buyer's electronic address (PEPPOL-EN16931-R010), and Factu knows
    one only for a VAT number of a country with a Peppol VAT scheme."""


def _cbc(parent: etree._Element, name: str, text: str | None = None, **attrs: str):
    element = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def amount(cents: int) -> str:
    """Cents as EN 16931 writes an amount: a decimal with exactly two places."""
    return str(from_cents(cents))


def _money(parent: etree._Element, name: str, cents: int) -> None:
    _cbc(parent, name, amount(cents), currencyID=CURRENCY)


def is_credit_note(invoice: Invoice) -> bool:
    """A rectificativa that credits the client (its total is negative)."""
    return invoice.rectified_invoice_id is not None and invoice.total_cents < 0


def build_ubl(invoice: Invoice) -> bytes:
    """The UBL 2.1 document of an issued invoice, as UTF-8 bytes with an XML declaration."""
    if not invoice.is_issued:
        raise ValueError("Only an issued invoice has an e-invoice.")
    document = documents.document_for(invoice)
    lines = list(invoice.lines.all())
    computed = totals.recomputed(invoice, lines)
    credit = is_credit_note(invoice)
    sign = -1 if credit else 1
    namespace, root_name = (CREDIT_NOTE_NS, "CreditNote") if credit else (INVOICE_NS, "Invoice")
    root = etree.Element(
        f"{{{namespace}}}{root_name}", nsmap={None: namespace, "cac": CAC, "cbc": CBC}
    )
    _cbc(root, "CustomizationID", CUSTOMIZATION_ID)
    _cbc(root, "ProfileID", PROFILE_ID)
    _cbc(root, "ID", document.number)
    _cbc(root, "IssueDate", document.issue_date.isoformat())
    if not credit and document.due_date:
        _cbc(root, "DueDate", document.due_date.isoformat())
    if credit:
        _cbc(root, "CreditNoteTypeCode", CREDIT_NOTE_TYPE)
    else:
        _cbc(root, "InvoiceTypeCode", INVOICE_TYPE)
    note = _note(document, computed)
    if note:
        _cbc(root, "Note", note)
    _cbc(root, "DocumentCurrencyCode", CURRENCY)
    # Peppol asks for a buyer reference or an order reference (PEPPOL-EN16931-R003); Factu
    # keeps no purchase order, so the buyer is given the invoice's own number.
    _cbc(root, "BuyerReference", document.number)
    if document.rectified_number:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", document.rectified_number)
        if document.rectified_date:
            _cbc(reference, "IssueDate", document.rectified_date.isoformat())
    if document.qr_url:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", QR_REFERENCE_ID)
        _cbc(reference, "DocumentDescription", "QR tributario VERI*FACTU")
        external = _cac(_cac(reference, "Attachment"), "ExternalReference")
        _cbc(external, "URI", document.qr_url)
    client = document.client
    if client is None:
        raise NotRepresentable("Una factura UBL necesita un destinatario identificado.")
    categories = [category_of(group) for group in computed.groups]
    # BR-O-02/BR-O-03: a not-subject invoice names no VAT identifier; the NIF is then only
    # the parties' legal registration identifier (BT-30, BT-47).
    vat = all(category.code != "O" for category in categories)
    if not vat and any(category.code != "O" for category in categories):
        raise MixedNotSubject(
            f"La factura {document.number} mezcla operaciones no sujetas con otras: "
            "UBL (EN 16931) las exige en facturas separadas."
        )
    _party(
        _cac(root, "AccountingSupplierParty"), document.issuer, "ES", issuer_address(invoice), vat
    )
    country = invoice.client_country or "ES"
    _party(_cac(root, "AccountingCustomerParty"), client, country, client_address(invoice), vat)
    if any(c.code == "K" for c in categories):
        _delivery(root, document, invoice.client_country)
    _payment_means(root, document)
    _tax_total(root, computed, categories, sign)
    _monetary_total(root, document, sign)
    for index, (line, shown) in enumerate(zip(lines, document.lines, strict=True)):
        category = categories[computed.line_groups[index]]
        _line(root, credit, index + 1, line.unit_price_cents, shown, category, sign)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _note(document: InvoiceDocument, computed: taxes.InvoiceTotals) -> str:
    """The one document-level note Peppol allows (PEPPOL-EN16931-R002): what EN 16931 cannot
    say in a field, the IRPF withheld and the recargo inside the S rates, and the invoice's
    own notes."""
    parts = []
    if document.irpf_cents:
        rate = taxes.format_percent(document.irpf_rate_bp)
        euros = taxes.format_euros(document.irpf_cents)
        parts.append(f"Retención IRPF {rate}: {euros}, cargada como importe anticipado.")
    for group in computed.groups:
        if group.surcharge_cents:
            parts.append(
                f"IVA {taxes.format_percent(group.rate_bp)} "
                f"{taxes.format_euros(group.iva_cents)} + recargo de equivalencia "
                f"{taxes.format_percent(group.surcharge_rate_bp)} "
                f"{taxes.format_euros(group.surcharge_cents)} sobre "
                f"{taxes.format_euros(group.base_cents)}."
            )
    if document.notes:
        parts.append(document.notes)
    return " ".join(parts)


def vat_id(party: Party, country: str) -> str:
    """The party's VAT identifier with its country prefix (a Spanish NIF becomes ES + NIF)."""
    tax_id = party.tax_id.replace(" ", "").upper()
    if party.tax_id_label == "NIF":
        return f"ES{tax_id}"
    prefix = VAT_PREFIXES.get(country, country)
    return tax_id if tax_id[:2] == prefix else f"{prefix}{tax_id}"


def endpoint(identifier: str) -> tuple[str, str] | None:
    """The Peppol electronic address (value, EAS scheme) of a VAT identifier with its prefix,
    or None where Peppol has no scheme for it. A Swedish VAT number is SE, the 10-digit
    organisation number and 01 (scheme 0007 takes the organisation number)."""
    scheme = VAT_SCHEMES.get(identifier[:2])
    if scheme is None:
        return None
    if scheme == "0007":
        return identifier[2:12], scheme
    return identifier, scheme


def _party(
    parent: etree._Element, party: Party, country: str, parts: AddressParts, vat: bool
) -> None:
    node = _cac(parent, "Party")
    identifier = vat_id(party, country)
    reached_at = endpoint(identifier)
    if reached_at is None or party.tax_id_label not in ("NIF", "NIF-IVA"):
        raise NoElectronicAddress(
            f"{party.name} no tiene un número de IVA con dirección Peppol: "
            "no se puede generar su factura UBL."
        )
    _cbc(node, "EndpointID", reached_at[0], schemeID=reached_at[1])
    address = _cac(node, "PostalAddress")
    for name, value in (
        ("StreetName", parts.street),
        ("CityName", parts.city),
        ("PostalZone", parts.postal_code),
        ("CountrySubentity", parts.province),
    ):
        if value:
            _cbc(address, name, value)
    _cbc(_cac(address, "Country"), "IdentificationCode", country)
    if vat:
        scheme_node = _cac(node, "PartyTaxScheme")
        _cbc(scheme_node, "CompanyID", identifier)
        _cbc(_cac(scheme_node, "TaxScheme"), "ID", "VAT")
    legal = _cac(node, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    if party.tax_id:
        _cbc(legal, "CompanyID", party.tax_id.replace(" ", ""))


def _delivery(root: etree._Element, document: InvoiceDocument, country: str) -> None:
    """Where and when an intra-community supply was delivered (BR-IC-11, BR-IC-12)."""
    delivery = _cac(root, "Delivery")
    _cbc(
        delivery, "ActualDeliveryDate", (document.operation_date or document.issue_date).isoformat()
    )
    address = _cac(_cac(delivery, "DeliveryLocation"), "Address")
    _cbc(_cac(address, "Country"), "IdentificationCode", country)


def _payment_means(root: etree._Element, document: InvoiceDocument) -> None:
    if not document.iban:
        return
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", "58")  # SEPA credit transfer
    _cbc(_cac(means, "PayeeFinancialAccount"), "ID", document.iban.replace(" ", ""))


def _tax_category(parent: etree._Element, name: str, category: Category, reasons: bool) -> None:
    node = _cac(parent, name)
    _cbc(node, "ID", category.code)
    if category.percent is not None:
        _cbc(node, "Percent", str(category.percent))
    if reasons and category.reason_code:
        _cbc(node, "TaxExemptionReasonCode", category.reason_code)
    if reasons and category.reason:
        _cbc(node, "TaxExemptionReason", category.reason)
    _cbc(_cac(node, "TaxScheme"), "ID", "VAT")


def _tax_total(
    root: etree._Element, computed: taxes.InvoiceTotals, categories: list[Category], sign: int
) -> None:
    """One subtotal per category and rate (BR-CO-18): groups that only differ in what
    VERI*FACTU tells apart (the regime) are added up, cent by cent."""
    merged: dict[tuple, tuple[Category, int, int]] = {}
    for group, category in zip(computed.groups, categories, strict=True):
        _, base, tax = merged.get(category.key, (category, 0, 0))
        merged[category.key] = (category, base + group.base_cents, tax + tax_cents(group))
    total = _cac(root, "TaxTotal")
    _money(total, "TaxAmount", sign * computed.tax_total_cents)
    for category, base, tax in merged.values():
        subtotal = _cac(total, "TaxSubtotal")
        _money(subtotal, "TaxableAmount", sign * base)
        _money(subtotal, "TaxAmount", sign * tax)
        _tax_category(subtotal, "TaxCategory", category, reasons=category.code not in "SZ")


def _monetary_total(root: etree._Element, document: InvoiceDocument, sign: int) -> None:
    """BT-106 to BT-115; the IRPF withheld is the prepaid amount, so that BR-CO-16 (due =
    total with VAT − prepaid) gives what the client pays, the PDF's total."""
    monetary = _cac(root, "LegalMonetaryTotal")
    with_tax = document.subtotal_cents + document.iva_cents + document.recargo_cents
    _money(monetary, "LineExtensionAmount", sign * document.subtotal_cents)
    _money(monetary, "TaxExclusiveAmount", sign * document.subtotal_cents)
    _money(monetary, "TaxInclusiveAmount", sign * with_tax)
    if document.irpf_cents:
        _money(monetary, "PrepaidAmount", sign * document.irpf_cents)
    _money(monetary, "PayableAmount", sign * document.total_cents)


def _line(
    root: etree._Element,
    credit: bool,
    number: int,
    unit_price_cents: int,
    shown,
    category: Category,
    sign: int,
) -> None:
    """A line: the price is never negative (BR-27), so a negative price turns the quantity's
    sign instead; quantity × price − discount = the line's amount (PEPPOL-EN16931-R120)."""
    node = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
    _cbc(node, "ID", str(number))
    price_sign = -1 if unit_price_cents < 0 else 1
    quantity = Decimal(sign * price_sign * shown.quantity_hundredths) / 100
    _cbc(
        node,
        "CreditedQuantity" if credit else "InvoicedQuantity",
        str(quantity.quantize(Decimal("0.01"))),
        unitCode="C62",
    )
    _money(node, "LineExtensionAmount", sign * shown.amount_cents)
    gross = round_half_up(shown.quantity_hundredths * unit_price_cents, 100)
    if shown.discount_bp:
        allowance = _cac(node, "AllowanceCharge")
        _cbc(allowance, "ChargeIndicator", "false")
        _cbc(allowance, "AllowanceChargeReason", "Descuento")
        _cbc(allowance, "MultiplierFactorNumeric", str(percent(shown.discount_bp)))
        _money(allowance, "Amount", sign * (gross - shown.amount_cents))
        _money(allowance, "BaseAmount", sign * gross)
    item = _cac(node, "Item")
    _cbc(item, "Name", shown.description or "-")
    _tax_category(item, "ClassifiedTaxCategory", category, reasons=False)
    price = _cac(node, "Price")
    _money(price, "PriceAmount", abs(unit_price_cents))
