"""Facturae 3.2.2 into ReceivedDocuments, one per ``Invoice`` of the file's batch.

Facturae names taxes by its own codes (``TaxTypeCode``), not by EN 16931's categories; the
mapping, for the taxes a received Spanish invoice charges:

- ``01`` IVA at a positive rate: ``S``. At 0 %: ``E`` (exempt) when the lines at that rate say
  ``SpecialTaxableEventCode`` 01, ``O`` (not subject) when 02; ``AE`` (reverse charge) when a
  line without an event, or the invoice's ``LegalLiterals``, mentions the inversión del sujeto
  pasivo (Facturae has no element for it: the mention the law asks for, art. 6.1.m of the
  Reglamento de facturación, is how a Spanish file says it); otherwise ``Z``.
- ``02`` IPSI: ``M``; ``03`` IGIC: ``L`` (the codes EN 16931 gives Ceuta/Melilla and Canarias).
- Its ``EquivalenceSurcharge`` (recargo de equivalencia) becomes a :class:`Surcharge` on the
  same base; ``TaxesWithheld`` (IRPF, code ``04``) a :class:`Withholding`.

Any other tax code charged is refused rather than guessed. Facturae's ``InvoiceTotal`` is
net + taxes − withholding; the document's ``total`` is EN 16931's (before withholding), so it
is ``InvoiceTotal`` plus ``TotalTaxesWithheld``. A file whose totals do not add up is refused:
``InvoiceTotal`` that way, ``TotalTaxOutputs`` as the sum of the cuotas and recargos of its
``TaxesOutputs``, ``TotalTaxesWithheld`` as the sum of its ``TaxesWithheld``. Amounts are
signed as written (a rectificativa carries its own negatives); a rectificativa
(``InvoiceClass`` OR or CR) whose total is negative is a credit note.
"""

from __future__ import annotations

from lxml import etree

from einvoice.inbound.amounts import AMOUNT, Unreadable, basis_points, cents, decimal
from einvoice.inbound.document import (
    DocumentKind,
    Format,
    Line,
    Party,
    ReceivedDocument,
    Surcharge,
    TaxSubtotal,
    Totals,
    Withholding,
)
from einvoice.inbound.xmlpath import Finder, alpha2, is_signed, iso_date, party, where

F = Finder({})

UNSUPPORTED_TAX = "INBOUND-TAX"
TOTALS_MISMATCH = "INBOUND-TOTALS"

CHARGED_TAXES = {"01": "IVA", "02": "IPSI", "03": "IGIC"}
WITHHELD_TAXES = {"04": "IRPF"}
RECTIFICATIVA = frozenset({"OR", "CR"})
_EVENT_CATEGORY = {"01": "E", "02": "O"}
_REVERSE_CHARGE = "inversión del sujeto pasivo"


def _mentions_reverse_charge(*texts: str | None) -> bool:
    return any(_REVERSE_CHARGE in (text or "").lower() for text in texts)


def read_facturae(root: etree._Element) -> tuple[ReceivedDocument, ...]:
    """Every invoice of a validated Facturae file."""
    supplier = _party(F.first(root, "Parties/SellerParty"))
    buyer = _party(F.first(root, "Parties/BuyerParty"))
    signed = is_signed(root)
    return tuple(
        _invoice(node, supplier, buyer, signed) for node in F.all(root, "Invoices/Invoice")
    )


def _party(node: etree._Element | None) -> Party:
    if node is None:
        return party("", "", "")
    tax_id = F.optional(node, "TaxIdentification/TaxIdentificationNumber") or ""
    if F.first(node, "LegalEntity") is not None:
        name = F.optional(node, "LegalEntity/CorporateName") or ""
    else:
        name = " ".join(
            part
            for part in (
                F.optional(node, "Individual/Name"),
                F.optional(node, "Individual/FirstSurname"),
                F.optional(node, "Individual/SecondSurname"),
            )
            if part
        )
    country = alpha2(F.optional(node, "*/AddressInSpain/CountryCode|*/OverseasAddress/CountryCode"))
    return party(name, tax_id, country)


def _invoice(node: etree._Element, supplier: Party, buyer: Party, signed: bool) -> ReceivedDocument:
    line_nodes = F.all(node, "Items/InvoiceLine")
    # The invoice's legal literal names the reverse charge only when no line says which
    # lines it is on: then every 0 % line without an event is under it.
    said_per_line = any(
        _mentions_reverse_charge(F.optional(line, "AdditionalLineItemInformation"))
        for line in line_nodes
    )
    literals = (
        ""
        if said_per_line
        else " ".join(text for legal in F.all(node, "LegalLiterals") for text in legal.itertext())
    )
    lines = tuple(_line(line, literals) for line in line_nodes)
    taxes, surcharges = _taxes(node, lines)
    withholdings = tuple(_withholding(tax) for tax in F.all(node, "TaxesWithheld/Tax"))
    totals = _totals(node, sum(w.amount_cents for w in withholdings))
    charged = sum(tax.tax_cents for tax in taxes) + sum(s.amount_cents for s in surcharges)
    if charged != totals.tax_cents:
        raise Unreadable(
            TOTALS_MISMATCH,
            "Los totales de la factura no cuadran: TotalTaxOutputs debe ser la suma de las "
            "cuotas y los recargos de equivalencia de TaxesOutputs.",
            where(node),
        )
    header = "InvoiceHeader"
    rectificativa = F.required(node, f"{header}/InvoiceClass") in RECTIFICATIVA
    corrects = None
    if F.first(node, f"{header}/Corrective") is not None:
        corrects = (F.optional(node, f"{header}/Corrective/InvoiceSeriesCode") or "") + (
            F.optional(node, f"{header}/Corrective/InvoiceNumber") or ""
        ) or None
    return ReceivedDocument(
        format=Format.FACTURAE,
        kind=DocumentKind.CREDIT_NOTE
        if rectificativa and totals.total_cents < 0
        else DocumentKind.INVOICE,
        number=(F.optional(node, f"{header}/InvoiceSeriesCode") or "")
        + F.required(node, f"{header}/InvoiceNumber"),
        issue_date=iso_date(F.required(node, "InvoiceIssueData/IssueDate"), node),
        currency=F.required(node, "InvoiceIssueData/InvoiceCurrencyCode"),
        supplier=supplier,
        buyer=buyer,
        lines=lines,
        taxes=taxes,
        totals=totals,
        withholdings=withholdings,
        surcharges=surcharges,
        corrects=corrects,
        signed=signed,
    )


def _category(code: str, rate_bp: int, event: str | None, here: str) -> str:
    if code not in CHARGED_TAXES:
        raise Unreadable(
            UNSUPPORTED_TAX,
            f"La factura repercute un impuesto con código Facturae {code}, que aún no se "
            "sabe leer (solo IVA, IPSI e IGIC).",
            here,
        )
    if code == "02":
        return "M"
    if code == "03":
        return "L"
    if rate_bp:
        return "S"
    return _EVENT_CATEGORY.get(event or "", "AE" if event == _REVERSE_CHARGE else "Z")


def _line(node: etree._Element, invoice_literals: str) -> Line:
    here = where(node)
    tax = F.first(node, "TaxesOutputs/Tax")
    code = F.required(tax, "TaxTypeCode") if tax is not None else "01"
    rate = basis_points(F.required(tax, "TaxRate"), here) if tax is not None else 0
    event = F.optional(node, "SpecialTaxableEvent/SpecialTaxableEventCode")
    if event is None and _mentions_reverse_charge(
        F.optional(node, "AdditionalLineItemInformation"), invoice_literals
    ):
        event = _REVERSE_CHARGE
    return Line(
        description=F.required(node, "ItemDescription"),
        quantity=decimal(F.required(node, "Quantity"), here),
        unit_price=decimal(F.required(node, "UnitPriceWithoutTax"), here),
        net_cents=cents(F.required(node, "GrossAmount"), here),
        category=_category(code, rate, event, here),
        rate_bp=rate,
    )


def _taxes(
    node: etree._Element, lines: tuple[Line, ...]
) -> tuple[tuple[TaxSubtotal, ...], tuple[Surcharge, ...]]:
    taxes: list[TaxSubtotal] = []
    surcharges: list[Surcharge] = []
    at_zero = {line.category for line in lines if line.rate_bp == 0} & {"E", "O", "AE", "Z"}
    event = (
        {"E": "01", "O": "02", "AE": _REVERSE_CHARGE}.get(next(iter(at_zero)))
        if len(at_zero) == 1
        else None
    )
    for tax in F.all(node, "TaxesOutputs/Tax"):
        here = where(tax)
        rate = basis_points(F.required(tax, "TaxRate"), here)
        base = cents(F.required(tax, "TaxableBase/TotalAmount"), here)
        code = F.required(tax, "TaxTypeCode")
        amount = F.optional(tax, "TaxAmount/TotalAmount")
        taxes.append(
            TaxSubtotal(
                category=_category(code, rate, event, here),
                rate_bp=rate,
                base_cents=base,
                tax_cents=cents(amount, here) if amount is not None else 0,
            )
        )
        surcharge_rate = F.optional(tax, "EquivalenceSurcharge")
        surcharge_amount = F.optional(tax, "EquivalenceSurchargeAmount/TotalAmount")
        if surcharge_rate is not None or surcharge_amount is not None:
            surcharges.append(
                Surcharge(
                    base_cents=base,
                    rate_bp=basis_points(surcharge_rate or "0", here),
                    amount_cents=cents(surcharge_amount or "0", here),
                )
            )
    return tuple(taxes), tuple(surcharges)


def _withholding(tax: etree._Element) -> Withholding:
    here = where(tax)
    code = F.required(tax, "TaxTypeCode")
    return Withholding(
        tax=WITHHELD_TAXES.get(code, code),
        rate_bp=basis_points(F.required(tax, "TaxRate"), here),
        base_cents=cents(F.required(tax, "TaxableBase/TotalAmount"), here),
        amount_cents=cents(F.required(tax, "TaxAmount/TotalAmount"), here),
    )


def _totals(node: etree._Element, withheld_taxes: int) -> Totals:
    totals = F.first(node, "InvoiceTotals")
    if totals is None:
        raise Unreadable(AMOUNT, "Falta InvoiceTotals.", where(node))
    here = where(totals)
    net = cents(F.required(totals, "TotalGrossAmountBeforeTaxes"), here)
    tax = cents(F.required(totals, "TotalTaxOutputs"), here)
    withheld = cents(F.required(totals, "TotalTaxesWithheld"), here)
    invoice_total = cents(F.required(totals, "InvoiceTotal"), here)
    if invoice_total != net + tax - withheld or withheld != withheld_taxes:
        raise Unreadable(
            TOTALS_MISMATCH,
            "Los totales de la factura no cuadran: InvoiceTotal debe ser la base más los "
            "impuestos repercutidos menos los retenidos, y TotalTaxesWithheld la suma de las "
            "retenciones.",
            here,
        )
    prepaid = F.optional(totals, "TotalPaymentsOnAccount")
    return Totals(
        net_cents=net,
        tax_cents=tax,
        total_cents=net + tax,
        prepaid_cents=cents(prepaid, here) if prepaid is not None else 0,
        payable_cents=cents(F.required(totals, "TotalExecutableAmount"), here),
    )
