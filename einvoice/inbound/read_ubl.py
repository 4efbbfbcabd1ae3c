"""UBL 2.1 Invoice and CreditNote (EN 16931, Peppol BIS Billing 3.0) into a ReceivedDocument.

EN 16931 has no withholding. A prepaid amount (BT-113) is read as IRPF withheld only when the
document's note says so the way Factu writes it (``einvoice.ubl``: "Retención IRPF 15 %: …,
cargada como importe anticipado."), on the whole net amount as Spanish IRPF is; any other
prepaid amount is a real prepayment and stays one.
"""

from __future__ import annotations

import re

from lxml import etree

from einvoice.inbound.amounts import basis_points, cents, decimal, signed
from einvoice.inbound.document import (
    DocumentKind,
    Format,
    Line,
    Party,
    ReceivedDocument,
    Totals,
    Withholding,
)
from einvoice.inbound.xmlpath import Finder, is_signed, iso_date, party, where

_UBL = "urn:oasis:names:specification:ubl:schema:xsd"
CREDIT_NOTE_ROOT = f"{{{_UBL}:CreditNote-2}}CreditNote"

F = Finder(
    {
        "cac": f"{_UBL}:CommonAggregateComponents-2",
        "cbc": f"{_UBL}:CommonBasicComponents-2",
    }
)


def read_ubl(root: etree._Element) -> ReceivedDocument:
    """The document a validated UBL Invoice or CreditNote states; a credit note's amounts
    negated (``document``'s sign convention)."""
    credit = root.tag == CREDIT_NOTE_ROOT
    sign = -1 if credit else 1
    currency = F.required(root, "cbc:DocumentCurrencyCode")
    totals = _totals(root, currency, sign)
    line_tag = "cac:CreditNoteLine" if credit else "cac:InvoiceLine"
    quantity_tag = "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity"
    return ReceivedDocument(
        format=Format.UBL,
        kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE,
        number=F.required(root, "cbc:ID"),
        issue_date=iso_date(F.required(root, "cbc:IssueDate"), root),
        currency=currency,
        supplier=_party(F.first(root, "cac:AccountingSupplierParty/cac:Party"), root),
        buyer=_party(F.first(root, "cac:AccountingCustomerParty/cac:Party"), root),
        lines=tuple(_line(node, quantity_tag, sign) for node in F.all(root, line_tag)),
        taxes=tuple(
            F.subtotal(
                node,
                sign,
                category="cac:TaxCategory/cbc:ID",
                rate="cac:TaxCategory/cbc:Percent",
                base="cbc:TaxableAmount",
                tax="cbc:TaxAmount",
                reason="cac:TaxCategory/cbc:TaxExemptionReasonCode",
            )
            for node in F.all(root, "cac:TaxTotal/cac:TaxSubtotal")
        ),
        totals=totals,
        withholdings=_withholdings(root, totals),
        corrects=F.optional(root, "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"),
        signed=is_signed(root),
    )


def _party(node: etree._Element | None, root: etree._Element) -> Party:
    if node is None:
        return party("", "", "")
    name = F.any_of(node, "cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name")
    tax_id = F.any_of(
        node,
        "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID",
        "cac:PartyTaxScheme/cbc:CompanyID",
        "cac:PartyLegalEntity/cbc:CompanyID",
        "cac:PartyIdentification/cbc:ID",
    )
    country = F.any_of(node, "cac:PostalAddress/cac:Country/cbc:IdentificationCode").upper()
    return party(name, tax_id, country)


def _line(node: etree._Element, quantity_tag: str, sign: int) -> Line:
    here = where(node)
    return Line(
        description=F.any_of(node, "cac:Item/cbc:Name", "cac:Item/cbc:Description"),
        quantity=signed(decimal(F.required(node, quantity_tag), here), sign),
        unit_price=decimal(F.required(node, "cac:Price/cbc:PriceAmount"), here),
        net_cents=F.amount(node, "cbc:LineExtensionAmount", sign),
        category=F.required(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID"),
        rate_bp=F.rate(node, "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent"),
        price_base_quantity=decimal(F.optional(node, "cac:Price/cbc:BaseQuantity") or "1", here),
    )


def _totals(root: etree._Element, currency: str, sign: int) -> Totals:
    """BT-110 is the TaxTotal in the document's currency; a second one, in the tax currency
    (BT-111), is not the invoice's tax."""
    tax = next(
        (
            cents((node.text or "").strip(), where(node))
            for node in F.all(root, "cac:TaxTotal/cbc:TaxAmount")
            if node.get("currencyID") == currency
        ),
        0,
    )
    monetary = "cac:LegalMonetaryTotal"
    return Totals(
        net_cents=F.amount(root, f"{monetary}/cbc:TaxExclusiveAmount", sign),
        tax_cents=sign * tax,
        total_cents=F.amount(root, f"{monetary}/cbc:TaxInclusiveAmount", sign),
        prepaid_cents=F.optional_amount(root, f"{monetary}/cbc:PrepaidAmount", sign),
        payable_cents=F.amount(root, f"{monetary}/cbc:PayableAmount", sign),
    )


_IRPF_NOTE = re.compile(r"Retención IRPF (\d+(?:,\d{1,2})?) %: .*cargada como importe anticipado")


def _withholdings(root: etree._Element, totals: Totals) -> tuple[Withholding, ...]:
    note = " ".join(F.optional(node, ".") or "" for node in F.all(root, "cbc:Note"))
    found = _IRPF_NOTE.search(note)
    if found is None or not totals.prepaid_cents:
        return ()
    rate = basis_points(found.group(1).replace(",", "."), where(root))
    return (Withholding("IRPF", rate, totals.net_cents, totals.prepaid_cents),)
