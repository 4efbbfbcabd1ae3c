"""UN/CEFACT Cross Industry Invoice (D16B, EN 16931) into a ReceivedDocument."""

from __future__ import annotations

from lxml import etree

from einvoice.inbound.amounts import cents, decimal, signed
from einvoice.inbound.document import (
    DocumentKind,
    Format,
    Line,
    Party,
    ReceivedDocument,
    Totals,
)
from einvoice.inbound.xmlpath import Finder, is_signed, iso_date, party, where

F = Finder(
    {
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
        "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    }
)

# UNTDID 1001 codes EN 16931 accepts for a credit note (BT-3); any other is an invoice.
CREDIT_NOTE_TYPES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

_TRADE = "rsm:SupplyChainTradeTransaction"
_SETTLEMENT = f"{_TRADE}/ram:ApplicableHeaderTradeSettlement"
_SUMMATION = f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"


def read_cii(root: etree._Element) -> ReceivedDocument:
    """The document a validated CII states; a credit note's amounts negated (``document``)."""
    credit = F.required(root, "rsm:ExchangedDocument/ram:TypeCode") in CREDIT_NOTE_TYPES
    sign = -1 if credit else 1
    currency = F.required(root, f"{_SETTLEMENT}/ram:InvoiceCurrencyCode")
    agreement = f"{_TRADE}/ram:ApplicableHeaderTradeAgreement"
    return ReceivedDocument(
        format=Format.CII,
        kind=DocumentKind.CREDIT_NOTE if credit else DocumentKind.INVOICE,
        number=F.required(root, "rsm:ExchangedDocument/ram:ID"),
        issue_date=iso_date(
            F.required(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"), root
        ),
        currency=currency,
        supplier=_party(F.first(root, f"{agreement}/ram:SellerTradeParty")),
        buyer=_party(F.first(root, f"{agreement}/ram:BuyerTradeParty")),
        lines=tuple(
            _line(node, sign)
            for node in F.all(root, f"{_TRADE}/ram:IncludedSupplyChainTradeLineItem")
        ),
        taxes=tuple(
            F.subtotal(
                node,
                sign,
                category="ram:CategoryCode",
                rate="ram:RateApplicablePercent",
                base="ram:BasisAmount",
                tax="ram:CalculatedAmount",
                reason="ram:ExemptionReasonCode",
            )
            for node in F.all(root, f"{_SETTLEMENT}/ram:ApplicableTradeTax")
        ),
        totals=_totals(root, currency, sign),
        corrects=F.optional(
            root, f"{_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID"
        ),
        signed=is_signed(root),
    )


def _party(node: etree._Element | None) -> Party:
    if node is None:
        return party("", "", "")
    tax_id = F.any_of(
        node,
        "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='VA']",
        "ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']",
        "ram:SpecifiedLegalOrganization/ram:ID",
        "ram:ID",
    )
    country = F.any_of(node, "ram:PostalTradeAddress/ram:CountryID").upper()
    return party(F.any_of(node, "ram:Name"), tax_id, country)


def _line(node: etree._Element, sign: int) -> Line:
    here = where(node)
    settlement = "ram:SpecifiedLineTradeSettlement"
    return Line(
        description=F.optional(node, "ram:SpecifiedTradeProduct/ram:Name") or "",
        quantity=signed(
            decimal(F.required(node, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity"), here),
            sign,
        ),
        unit_price=decimal(
            F.required(
                node,
                "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:ChargeAmount",
            ),
            here,
        ),
        net_cents=F.amount(
            node,
            f"{settlement}/ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
            sign,
        ),
        category=F.required(node, f"{settlement}/ram:ApplicableTradeTax/ram:CategoryCode"),
        rate_bp=F.rate(node, f"{settlement}/ram:ApplicableTradeTax/ram:RateApplicablePercent"),
        price_base_quantity=decimal(
            F.optional(
                node,
                "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice/ram:BasisQuantity",
            )
            or "1",
            here,
        ),
    )


def _totals(root: etree._Element, currency: str, sign: int) -> Totals:
    """BT-110 is the TaxTotalAmount in the invoice's currency (a second one may give BT-111)."""
    tax = next(
        (
            cents((node.text or "").strip(), where(node))
            for node in F.all(root, f"{_SUMMATION}/ram:TaxTotalAmount")
            if node.get("currencyID", currency) == currency
        ),
        0,
    )
    return Totals(
        net_cents=F.amount(root, f"{_SUMMATION}/ram:TaxBasisTotalAmount", sign),
        tax_cents=sign * tax,
        total_cents=F.amount(root, f"{_SUMMATION}/ram:GrandTotalAmount", sign),
        prepaid_cents=F.optional_amount(root, f"{_SUMMATION}/ram:TotalPrepaidAmount", sign),
        payable_cents=F.amount(root, f"{_SUMMATION}/ram:DuePayableAmount", sign),
    )
