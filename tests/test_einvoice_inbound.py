"""Reading a received e-invoice file (UBL, CII, Facturae) into one typed ReceivedDocument.

The official examples (tests/fixtures/einvoice/README.md) are read and every value checked is
the one the file writes; a Facturae with IRPF and recargo is built here and validated first;
uploads (a raw XML, a ZIP) are read member by member under the limits against zip bombs.
"""

from __future__ import annotations

import datetime
import io
import struct
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from einvoice.inbound import (
    DocumentKind,
    Format,
    Limits,
    ReceivedDocument,
    Surcharge,
    TaxSubtotal,
    Totals,
    Withholding,
    read_received,
    read_upload,
)
from einvoice.inbound.amounts import Unreadable, basis_points, cents
from einvoice.inbound.xmlpath import spanish_nif
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


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


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


# ---- uploads ----


def test_a_raw_xml_upload_is_read_as_one_result():
    (result,) = read_upload(FACTURAE, "application/xml; charset=utf-8")

    assert result.ok
    assert result.documents[0].number == "20260001"


def test_a_zip_with_two_good_files_and_one_bad_gives_two_documents_and_one_error():
    results = read_upload(
        zip_of({"a.xml": INVOICE, "broken.xml": b"<Invoice", "b.xml": CII_INVOICE}),
        "application/zip",
    )

    assert [result.name for result in results] == ["a.xml", "broken.xml", "b.xml"]
    assert [result.ok for result in results] == [True, False, True]
    assert results[0].documents[0].format is Format.UBL
    assert results[2].documents[0].format is Format.CII
    assert results[1].documents == ()
    assert [finding.rule for finding in results[1].errors] == ["XML"]


def test_a_member_declaring_more_than_the_limit_is_refused_without_being_inflated(monkeypatch):
    bomb = zip_of({"bomb.xml": b"<a>" + b" " * 2_000_000 + b"</a>", "ok.xml": FACTURAE})
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    results = read_upload(bomb, "application/zip", Limits(max_file_bytes=100_000))

    assert [finding.rule for finding in results[0].errors] == ["INBOUND-SIZE"]
    assert results[1].ok
    assert opened == ["ok.xml"]


def _lie_about_sizes(archive: bytes, name: bytes, size: int) -> bytes:
    """The ZIP with ``name``'s uncompressed size rewritten to ``size`` in both headers."""
    data = bytearray(archive)
    local = 0
    while True:
        name_length = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30 : local + 30 + name_length] == name:
            struct.pack_into("<I", data, local + 22, size)
            break
        compressed = struct.unpack_from("<I", data, local + 18)[0]
        extra = struct.unpack_from("<H", data, local + 28)[0]
        local += 30 + name_length + extra + compressed
    central = data.index(b"PK\x01\x02")
    while data[central : central + 4] == b"PK\x01\x02":
        name_length, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        if data[central + 46 : central + 46 + name_length] == name:
            struct.pack_into("<I", data, central + 24, size)
        central += 46 + name_length + extra + comment
    return bytes(data)


def test_a_member_lying_about_its_size_is_stopped_while_inflating():
    honest = zip_of({"liar.xml": b"<a>" + b" " * 500_000 + b"</a>", "ok.xml": FACTURAE})
    lying = _lie_about_sizes(honest, b"liar.xml", 100)
    results = read_upload(lying, "application/zip", Limits(max_file_bytes=100_000))

    assert results[0].documents == ()
    assert results[0].errors
    assert results[1].ok


def test_members_adding_up_past_the_total_limit_are_refused_one_by_one():
    limits = Limits(max_file_bytes=len(FACTURAE) + 10, max_total_bytes=2 * len(FACTURAE) + 10)
    results = read_upload(
        zip_of({"1.xml": FACTURAE, "2.xml": FACTURAE, "3.xml": FACTURAE}), "application/zip", limits
    )

    assert [result.ok for result in results] == [True, True, False]
    assert [finding.rule for finding in results[2].errors] == ["INBOUND-ZIP-LIMIT"]


def test_a_zip_with_too_many_members_is_refused_whole():
    results = read_upload(
        zip_of({f"{index}.xml": FACTURAE for index in range(4)}),
        "application/zip",
        Limits(max_members=3),
    )

    assert len(results) == 1
    assert results[0].documents == ()
    assert [finding.rule for finding in results[0].errors] == ["INBOUND-ZIP-LIMIT"]


def test_a_zip_inside_a_zip_and_a_climbing_name_are_refused_and_the_rest_read():
    inner = zip_of({"x.xml": FACTURAE})
    results = read_upload(
        zip_of(
            {
                "inner.zip": inner,
                "disguised.xml": inner,
                "../../etc/evil.xml": FACTURAE,
                "ok.xml": FACTURAE,
            }
        ),
        "application/zip",
    )

    assert [result.ok for result in results] == [False, False, False, True]
    assert all(
        finding.rule == "INBOUND-ZIP-MEMBER" for result in results[:3] for finding in result.errors
    )


def test_an_upload_that_is_neither_xml_nor_zip_is_refused():
    (not_zip,) = read_upload(b"PK\x03\x04 not really", "application/zip")
    (pdf,) = read_upload(b"%PDF-1.7", "application/pdf")

    assert [finding.rule for finding in not_zip.errors] == ["INBOUND-ZIP"]
    assert [finding.rule for finding in pdf.errors] == ["INBOUND-CONTENT-TYPE"]


def test_a_raw_xml_over_the_size_limit_is_refused_unread():
    (result,) = read_upload(FACTURAE, "application/xml", Limits(max_file_bytes=100))

    assert [finding.rule for finding in result.errors] == ["INBOUND-SIZE"]


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


def test_a_defect_while_mapping_one_member_does_not_stop_the_others(monkeypatch):
    def broken_mapping(root):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("einvoice.inbound.reader.read_cii", broken_mapping)
    results = read_upload(zip_of({"cii.xml": CII_INVOICE, "ubl.xml": INVOICE}), "application/zip")

    assert [result.ok for result in results] == [False, True]
    assert [finding.rule for finding in results[0].errors] == ["INBOUND-FAILED"]
    assert results[0].documents == ()


def test_an_empty_zip_is_one_error_not_an_empty_success():
    (result,) = read_upload(zip_of({}), "application/zip")

    assert result.documents == ()
    assert [finding.rule for finding in result.errors] == ["INBOUND-ZIP-EMPTY"]
