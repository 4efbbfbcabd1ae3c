"""Reading a received e-invoice file (UBL, CII, Facturae) into one typed ReceivedDocument.

The official examples (tests/fixtures/einvoice/README.md) are read and every value checked is
the one the file writes; Facturae variants (IRPF and recargo, exempt, IGIC, a rectificativa)
are built here and validated first. Uploads and their ZIP limits are
tests/test_einvoice_inbound_upload.py's.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from einvoice.inbound import (
    DocumentKind,
    Format,
    ReceivedDocument,
    Surcharge,
    TaxSubtotal,
    Totals,
    Withholding,
    read_received,
    read_upload,
)
from einvoice.inbound.amounts import Unreadable, basis_points, cents
from einvoice.inbound.xmlpath import alpha2, spanish_nif
from einvoice.validation import validate_facturae
from einvoice.xmlsafe import DTD_REFUSED

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "einvoice"
INVOICE = (FIXTURES / "peppol-base-example.xml").read_bytes()
CREDIT_NOTE = (FIXTURES / "peppol-base-creditnote-correction.xml").read_bytes()
CII_INVOICE = (FIXTURES / "cen-cii-example1.xml").read_bytes()
FACTURAE = (FIXTURES / "facturae-3.2.2-minimal.xml").read_bytes()

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&xxe;</Invoice>
"""


def changed(document: bytes, *replacements: tuple[bytes, bytes]) -> bytes:
    """``document`` with each ``old`` (which must occur exactly once) replaced by ``new``."""
    for old, new in replacements:
        assert document.count(old) == 1, old
        document = document.replace(old, new)
    return document


def only_document(data: bytes) -> ReceivedDocument:
    result = read_received(data)
    assert result.ok, result.errors
    (document,) = result.documents
    return document


# 100.00 at 21 % IVA with 5.2 % recargo (21.00 + 5.20 charged), 15 % IRPF withheld (15.00):
# InvoiceTotal = 100.00 + 26.20 - 15.00 = 111.20.
_SURCHARGE = (
    b"<TaxAmount>\n            <TotalAmount>21.00</TotalAmount>\n          </TaxAmount>\n"
    b"          <EquivalenceSurcharge>5.20</EquivalenceSurcharge>\n"
    b"          <EquivalenceSurchargeAmount><TotalAmount>5.20</TotalAmount>"
    b"</EquivalenceSurchargeAmount>\n        </Tax>\n      </TaxesOutputs>\n"
    b"      <TaxesWithheld><Tax><TaxTypeCode>04</TaxTypeCode><TaxRate>15.00</TaxRate>"
    b"<TaxableBase><TotalAmount>100.00</TotalAmount></TaxableBase>"
    b"<TaxAmount><TotalAmount>15.00</TotalAmount></TaxAmount></Tax></TaxesWithheld>\n"
    b"      <InvoiceTotals>"
)
FACTURAE_IRPF_RECARGO = changed(
    FACTURAE,
    (
        b"<TaxAmount>\n            <TotalAmount>21.00</TotalAmount>\n          </TaxAmount>\n"
        b"        </Tax>\n      </TaxesOutputs>\n      <InvoiceTotals>",
        _SURCHARGE,
    ),
    (b"<TotalTaxOutputs>21.00<", b"<TotalTaxOutputs>26.20<"),
    (b"<TotalTaxesWithheld>0.00<", b"<TotalTaxesWithheld>15.00<"),
    (b"<InvoiceTotal>121.00<", b"<InvoiceTotal>111.20<"),
    (
        b"<TotalOutstandingAmount>121.00</TotalOutstandingAmount>\n"
        b"        <TotalExecutableAmount>121.00<",
        b"<TotalOutstandingAmount>111.20</TotalOutstandingAmount>\n"
        b"        <TotalExecutableAmount>111.20<",
    ),
)


# ---- UBL ----


def test_a_peppol_ubl_invoice_is_read_with_the_values_the_file_states():
    document = only_document(INVOICE)

    assert document.format is Format.UBL
    assert document.kind is DocumentKind.INVOICE
    assert document.number == "Snippet1"
    assert document.issue_date == datetime.date(2017, 11, 13)
    assert document.currency == "EUR"
    assert document.supplier.tax_id == "GB1232434"
    assert document.supplier.name == "SupplierOfficialName Ltd"
    assert document.supplier.country == "GB"
    assert document.supplier.nif is None
    assert document.buyer.tax_id == "SE4598375937"
    assert document.totals == Totals(
        net_cents=132500,
        tax_cents=33125,
        total_cents=165625,
        prepaid_cents=0,
        payable_cents=165625,
    )
    assert document.taxes == (
        TaxSubtotal(category="S", rate_bp=2500, base_cents=132500, tax_cents=33125),
    )
    assert [(line.quantity, line.unit_price, line.net_cents) for line in document.lines] == [
        (Decimal("7"), Decimal("400"), 280000),
        (Decimal("-3"), Decimal("500"), -150000),
    ]
    assert {(line.category, line.rate_bp) for line in document.lines} == {("S", 2500)}
    assert document.withholdings == ()
    assert document.surcharges == ()
    assert document.signed is False


def test_a_ubl_credit_note_is_a_credit_note_with_every_amount_negated():
    document = only_document(CREDIT_NOTE)

    assert document.kind is DocumentKind.CREDIT_NOTE
    assert document.corrects == "Snippet1"
    assert document.totals == Totals(
        net_cents=-132500,
        tax_cents=-33125,
        total_cents=-165625,
        prepaid_cents=0,
        payable_cents=-165625,
    )
    assert document.taxes[0].base_cents == -132500
    assert document.taxes[0].tax_cents == -33125
    assert [(line.quantity, line.net_cents) for line in document.lines] == [
        (Decimal("-7"), -280000),
        (Decimal("3"), 150000),
    ]
    assert document.lines[0].unit_price == Decimal("400")


def exempt_invoice() -> bytes:
    """The Peppol example with every 25 % standard rate made exempt (E, 0 %, VATEX-EU-132)."""
    document = INVOICE.replace(b"<cbc:ID>S</cbc:ID>", b"<cbc:ID>E</cbc:ID>")
    document = document.replace(b"<cbc:Percent>25.0</cbc:Percent>", b"<cbc:Percent>0</cbc:Percent>")
    document = document.replace(b"331.25", b"0.00").replace(b"1656.25", b"1325")
    subtotal_end = b"</cac:TaxScheme>\n            </cac:TaxCategory>\n        </cac:TaxSubtotal>"
    return changed(
        document,
        (
            b"<cbc:Percent>0</cbc:Percent>\n                <cac:TaxScheme>\n"
            b"                    <cbc:ID>VAT</cbc:ID>\n                " + subtotal_end,
            b"<cbc:Percent>0</cbc:Percent>\n"
            b"                <cbc:TaxExemptionReasonCode>VATEX-EU-132"
            b"</cbc:TaxExemptionReasonCode>\n"
            b"                <cac:TaxScheme>\n"
            b"                    <cbc:ID>VAT</cbc:ID>\n                " + subtotal_end,
        ),
    )


def test_a_ubl_exemption_keeps_its_category_and_reason_code():
    document = only_document(exempt_invoice())

    assert document.taxes == (
        TaxSubtotal(
            category="E",
            rate_bp=0,
            base_cents=132500,
            tax_cents=0,
            exemption_reason_code="VATEX-EU-132",
        ),
    )
    assert {(line.category, line.rate_bp) for line in document.lines} == {("E", 0)}
    assert document.totals.total_cents == 132500


def test_a_ubl_price_for_a_base_quantity_keeps_that_quantity():
    per_ten = changed(
        INVOICE,
        (
            b'<cbc:PriceAmount currencyID="EUR">400</cbc:PriceAmount>',
            b'<cbc:PriceAmount currencyID="EUR">4000</cbc:PriceAmount>'
            b'<cbc:BaseQuantity unitCode="DAY">10</cbc:BaseQuantity>',
        ),
    )
    document = only_document(per_ten)

    assert (document.lines[0].unit_price, document.lines[0].price_base_quantity) == (
        Decimal("4000"),
        Decimal("10"),
    )
    assert document.lines[1].price_base_quantity == Decimal(1)


def test_a_ubl_invoice_the_official_rules_refuse_is_not_read_and_carries_the_report():
    wrong = changed(
        INVOICE,
        (
            b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
            b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
        ),
    )
    result = read_received(wrong)

    assert result.documents == ()
    assert not result.ok
    assert result.report is not None
    assert "BR-CO-15" in result.report.rules()
    assert {finding.rule for finding in result.errors} == {
        finding.rule for finding in result.report.errors
    }


def test_a_ubl_supplier_with_a_spanish_vat_number_gets_its_nif_normalised():
    spanish = changed(
        INVOICE,
        (
            b"<cbc:CompanyID>GB1232434</cbc:CompanyID>",
            b"<cbc:CompanyID>ESB12345674</cbc:CompanyID>",
        ),
    )
    document = only_document(spanish)

    assert document.supplier.tax_id == "ESB12345674"
    assert document.supplier.nif == "B12345674"


# ---- CII ----


def test_the_cen_cii_example_is_read_with_the_values_the_file_states():
    document = only_document(CII_INVOICE)

    assert document.format is Format.CII
    assert document.kind is DocumentKind.INVOICE
    assert document.number == "12115118"
    assert document.issue_date == datetime.date(2015, 1, 9)
    assert document.currency == "EUR"
    assert document.supplier.name == "De Koksmaat"
    assert document.supplier.tax_id == "NL8200.98.395.B.01"
    assert document.supplier.country == "NL"
    assert document.buyer.name == "ODIN 59"
    assert document.totals == Totals(
        net_cents=22960, tax_cents=2073, total_cents=25033, prepaid_cents=0, payable_cents=25033
    )
    assert document.taxes == (
        TaxSubtotal(category="S", rate_bp=600, base_cents=18323, tax_cents=1099),
        TaxSubtotal(category="S", rate_bp=2100, base_cents=4637, tax_cents=974),
    )
    assert len(document.lines) == 20
    assert document.lines[0].description == "PATAT FRITES 10MM 10KG"
    assert document.lines[0].quantity == Decimal("2")
    assert document.lines[0].unit_price == Decimal("9.95")
    assert document.lines[0].net_cents == 1990
    assert sum(line.net_cents for line in document.lines) == 22960


def test_a_cii_credit_note_type_code_negates_the_amounts():
    credit = changed(
        CII_INVOICE, (b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:TypeCode>381</ram:TypeCode>")
    )
    document = only_document(credit)

    assert document.kind is DocumentKind.CREDIT_NOTE
    assert document.totals.payable_cents == -25033
    assert document.taxes[1].tax_cents == -974


# ---- Facturae ----


def test_the_minimal_facturae_is_read_with_the_values_the_file_states():
    document = only_document(FACTURAE)

    assert document.format is Format.FACTURAE
    assert document.kind is DocumentKind.INVOICE
    assert document.number == "20260001"
    assert document.issue_date == datetime.date(2026, 1, 15)
    assert document.currency == "EUR"
    assert document.supplier.tax_id == "B12345674"
    assert document.supplier.nif == "B12345674"
    assert document.supplier.country == "ES"
    assert document.buyer.nif == "B87654323"
    assert document.totals == Totals(
        net_cents=10000, tax_cents=2100, total_cents=12100, prepaid_cents=0, payable_cents=12100
    )
    assert document.taxes == (
        TaxSubtotal(category="S", rate_bp=2100, base_cents=10000, tax_cents=2100),
    )
    (line,) = document.lines
    assert line.description == "Servicio de consultoría"
    assert line.unit_price == Decimal("100.00000000")
    assert line.net_cents == 10000
    assert (line.category, line.rate_bp) == ("S", 2100)


def test_a_facturae_with_irpf_withheld_and_recargo_reads_both():
    assert validate_facturae(FACTURAE_IRPF_RECARGO).valid, validate_facturae(
        FACTURAE_IRPF_RECARGO
    ).errors
    document = only_document(FACTURAE_IRPF_RECARGO)

    assert document.taxes == (
        TaxSubtotal(category="S", rate_bp=2100, base_cents=10000, tax_cents=2100),
    )
    assert document.surcharges == (Surcharge(base_cents=10000, rate_bp=520, amount_cents=520),)
    assert document.withholdings == (
        Withholding(tax="IRPF", rate_bp=1500, base_cents=10000, amount_cents=1500),
    )
    # total is before withholding (EN 16931's BT-112); payable is what the buyer pays.
    assert document.totals == Totals(
        net_cents=10000, tax_cents=2620, total_cents=12620, prepaid_cents=0, payable_cents=11120
    )


def test_a_facturae_whose_totals_do_not_add_up_is_refused():
    wrong = changed(
        FACTURAE_IRPF_RECARGO, (b"<TotalTaxesWithheld>15.00<", b"<TotalTaxesWithheld>0.00<")
    )
    assert validate_facturae(wrong).valid
    result = read_received(wrong)

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-TOTALS"]


def test_a_facturae_amount_with_a_third_decimal_is_refused_not_rounded():
    odd = changed(FACTURAE, (b"<GrossAmount>100.00000000<", b"<GrossAmount>100.00100000<"))
    assert validate_facturae(odd).valid
    result = read_received(odd)

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-AMOUNT"]
    assert "más de dos decimales" in result.errors[0].message


def test_a_facturae_charging_a_tax_it_cannot_map_is_refused():
    other = FACTURAE.replace(b"<TaxTypeCode>01<", b"<TaxTypeCode>05<")
    assert validate_facturae(other).valid
    result = read_received(other)

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-TAX"]


def test_a_facturae_batch_gives_one_document_per_invoice():
    start, end = FACTURAE.index(b"<Invoice>"), FACTURAE.index(b"</Invoice>") + len(b"</Invoice>")
    second = FACTURAE[start:end].replace(b"<InvoiceNumber>0001<", b"<InvoiceNumber>0002<")
    batch = FACTURAE[:end] + second + FACTURAE[end:]
    assert validate_facturae(batch).valid
    result = read_received(batch)

    assert result.ok
    assert [document.number for document in result.documents] == ["20260001", "20260002"]


def test_a_facturae_whose_tax_outputs_do_not_add_up_is_refused():
    wrong = changed(
        FACTURAE_IRPF_RECARGO,
        (
            b"<EquivalenceSurchargeAmount><TotalAmount>5.20<",
            b"<EquivalenceSurchargeAmount><TotalAmount>5.00<",
        ),
    )
    assert validate_facturae(wrong).valid
    result = read_received(wrong)

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-TOTALS"]


SIGNATURE = (
    b'<ds:Signature Id="Signature"><ds:SignedInfo>'
    b'<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    b'<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    b'<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    b"<ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    b"<ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"
)


def test_a_signature_element_present_is_reported_not_verified():
    signed = changed(FACTURAE, (b"</fe:Facturae>", SIGNATURE + b"</fe:Facturae>"))
    assert validate_facturae(signed).valid, validate_facturae(signed).errors

    assert only_document(signed).signed is True
    assert only_document(FACTURAE).signed is False


def test_a_facturae_exempt_line_makes_its_zero_rate_iva_category_e():
    exempt = FACTURAE.replace(b"<TaxRate>21.00<", b"<TaxRate>0.00<")
    exempt = exempt.replace(b"<TotalAmount>21.00</TotalAmount>", b"<TotalAmount>0.00</TotalAmount>")
    exempt = exempt.replace(b"121.00", b"100.00")
    exempt = changed(
        exempt,
        (b"<TotalTaxOutputs>21.00<", b"<TotalTaxOutputs>0.00<"),
        (
            b"</TaxesOutputs>\n        </InvoiceLine>",
            b"</TaxesOutputs>\n          <SpecialTaxableEvent>"
            b"<SpecialTaxableEventCode>01</SpecialTaxableEventCode>"
            b"<SpecialTaxableEventReason>Exenta por el art. 20 de la Ley del IVA"
            b"</SpecialTaxableEventReason></SpecialTaxableEvent>\n        </InvoiceLine>",
        ),
    )
    assert validate_facturae(exempt).valid, validate_facturae(exempt).errors
    document = only_document(exempt)

    assert document.taxes == (TaxSubtotal(category="E", rate_bp=0, base_cents=10000, tax_cents=0),)
    assert (document.lines[0].category, document.lines[0].rate_bp) == ("E", 0)
    assert document.totals.total_cents == 10000


def test_a_facturae_charging_igic_maps_to_category_l():
    igic = FACTURAE.replace(b"<TaxTypeCode>01<", b"<TaxTypeCode>03<")
    assert validate_facturae(igic).valid
    document = only_document(igic)

    assert [(tax.category, tax.rate_bp) for tax in document.taxes] == [("L", 2100)]
    assert document.lines[0].category == "L"


CORRECTIVE = (
    b"<InvoiceClass>OR</InvoiceClass>\n        <Corrective>"
    b"<InvoiceNumber>0001</InvoiceNumber><InvoiceSeriesCode>2026</InvoiceSeriesCode>"
    b"<ReasonCode>01</ReasonCode><ReasonDescription>N\xc3\xbamero de la factura</ReasonDescription>"
    b"<TaxPeriod><StartDate>2026-01-01</StartDate><EndDate>2026-01-31</EndDate></TaxPeriod>"
    b"<CorrectionMethod>01</CorrectionMethod>"
    b"<CorrectionMethodDescription>Rectificaci\xc3\xb3n \xc3\xadntegra"
    b"</CorrectionMethodDescription>"
    b"</Corrective>"
)


def test_a_facturae_rectificativa_with_negative_amounts_is_a_credit_note_keeping_its_signs():
    negative = FACTURAE
    for amount in (b"100.00000000", b"100.00", b"21.00", b"121.00"):
        negative = negative.replace(b">" + amount + b"<", b">-" + amount + b"<")
    negative = changed(
        negative,
        (b"<InvoiceNumber>0001</InvoiceNumber>", b"<InvoiceNumber>0002</InvoiceNumber>"),
        (b"<InvoiceClass>OO</InvoiceClass>", CORRECTIVE),
    )
    assert validate_facturae(negative).valid, validate_facturae(negative).errors
    document = only_document(negative)

    assert document.kind is DocumentKind.CREDIT_NOTE
    assert document.number == "20260002"
    assert document.corrects == "20260001"
    assert document.totals == Totals(
        net_cents=-10000, tax_cents=-2100, total_cents=-12100, prepaid_cents=0, payable_cents=-12100
    )
    assert document.lines[0].net_cents == -10000


def test_facturae_alpha3_countries_become_alpha2():
    assert alpha2("ESP") == "ES"
    assert alpha2("PRT") == "PT"
    assert alpha2("fr") == "FR"
    assert alpha2("XXX") == ""


# ---- values ----


def test_amounts_become_exact_cents_and_rates_basis_points():
    assert cents("1656.25", "") == 165625
    assert cents("1300", "") == 130000
    assert cents("-15.5", "") == -1550
    assert cents("100.00000000", "") == 10000
    assert basis_points("21.00", "") == 2100
    assert basis_points("5.2", "") == 520
    with pytest.raises(Unreadable):
        cents("0.005", "")
    with pytest.raises(Unreadable):
        cents("NaN", "")
    with pytest.raises(Unreadable):
        basis_points("1.234", "")
    # 31 significant digits: value * 100 would round to 28 and look like whole cents.
    with pytest.raises(Unreadable):
        cents("1.000000000000000000000000000001", "")
    with pytest.raises(Unreadable):
        cents("1E+20", "")


def test_a_credit_note_negates_quantities_exactly():
    long_quantity = b"7.000000000000000000000000000001"
    credit = changed(
        CREDIT_NOTE,
        (
            b'<cbc:CreditedQuantity unitCode="DAY">7<',
            b'<cbc:CreditedQuantity unitCode="DAY">' + long_quantity + b"<",
        ),
    )
    document = only_document(credit)

    assert document.lines[0].quantity == Decimal(long_quantity.decode()).copy_negate()
    assert str(document.lines[0].quantity) == "-" + long_quantity.decode()


def test_a_nif_is_normalised_only_when_it_is_a_valid_spanish_one():
    assert spanish_nif("es b-12345674", "ES") == "B12345674"
    assert spanish_nif("ESB12345674", "FR") == "B12345674"
    assert spanish_nif("B12345675", "ES") is None
    assert spanish_nif("12345678Z", "DE") is None


# ---- refused files ----


def test_a_file_with_a_dtd_is_refused_before_any_entity_is_read():
    result = read_received(XXE)

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == [DTD_REFUSED]
    (uploaded,) = read_upload(XXE, "application/xml")
    assert [finding.rule for finding in uploaded.errors] == [DTD_REFUSED]


def test_an_xml_that_is_no_invoice_is_refused_naming_the_formats_read():
    result = read_received(b"<order xmlns='urn:example'/>")

    assert [finding.rule for finding in result.errors] == ["INBOUND-FORMAT"]
    assert "Facturae" in result.errors[0].message
