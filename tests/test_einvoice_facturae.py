"""Outbound Facturae 3.2.2, unsigned (issue 21): every Spanish case in scope becomes a file
that passes the official XSD, whose amounts are the invoice's cents, and that the inbound
reader reads back to the same number, date, supplier, taxes and totals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from clients.services import create_client, update_client
from einvoice.facturae import NAMESPACE, NotRepresentable, build_facturae, tax_period
from einvoice.inbound import read_received
from einvoice.inbound.document import DocumentKind
from einvoice.validation import validate_facturae
from invoicing.services import DraftLine, issue_invoice
from tests.invoices import (
    BILBAO,
    CONSULTING,
    exempt_beside_taxed,
    exempt_sale_abroad,
    give_addresses,
    issued_rectificativa,
    issued_refund,
    issued_substitution,
    retailer,
)

BOOKS = DraftLine("Libros", quantity=300, unit_price=2550, iva_type="superreducido")
INVOICE = "Invoices/Invoice/"


@pytest.fixture(autouse=True)
def addresses(taxpayer, acme):
    """The seller and Acme with the postal code and town Facturae's AddressInSpain needs."""
    give_addresses(taxpayer, acme)


def facturae_of(invoice) -> etree._Element:
    """The invoice's Facturae, asserted valid against the official XSD."""
    xml = build_facturae(invoice)
    report = validate_facturae(xml)
    assert report.valid, [(f.rule, f.message) for f in report.errors]
    return etree.fromstring(xml)


BILBAO_IN_FACTURAE = {
    "Address": "Gran Vía 7",
    "PostCode": "48001",
    "Town": "Bilbao",
    "Province": "Bizkaia",
    "CountryCode": "ESP",
}


def address_in_spain(root: etree._Element, party: str) -> dict[str, str]:
    address = root.find(f"Parties/{party}/LegalEntity/AddressInSpain")
    return {child.tag: child.text for child in address}


def money(root: etree._Element, path: str) -> Decimal:
    return Decimal(root.findtext(path))


def euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def taxes_outputs(root: etree._Element) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    return {
        (tax.findtext("TaxTypeCode"), tax.findtext("TaxRate")): (
            money(tax, "TaxableBase/TotalAmount"),
            money(tax, "TaxAmount/TotalAmount"),
        )
        for tax in root.iterfind(INVOICE + "TaxesOutputs/Tax")
    }


def assert_totals(root: etree._Element, invoice) -> None:
    totals = INVOICE + "InvoiceTotals/"
    assert money(root, totals + "TotalGrossAmountBeforeTaxes") == euros(invoice.subtotal_cents)
    assert money(root, totals + "TotalTaxOutputs") == euros(
        invoice.iva_cents + invoice.surcharge_cents
    )
    assert money(root, totals + "TotalTaxesWithheld") == euros(invoice.irpf_cents)
    assert money(root, totals + "InvoiceTotal") == euros(invoice.total_cents)
    assert money(root, totals + "TotalExecutableAmount") == euros(invoice.total_cents)
    assert money(root, "FileHeader/Batch/TotalInvoicesAmount/TotalAmount") == euros(
        invoice.total_cents
    )


def test_an_ordinary_invoice_with_two_iva_rates_is_a_valid_facturae(draft, actor):
    invoice = issue_invoice(draft([CONSULTING, BOOKS]), actor=actor)

    root = facturae_of(invoice)

    assert root.tag == f"{{{NAMESPACE}}}Facturae"
    assert root.findtext("FileHeader/SchemaVersion") == "3.2.2"
    assert root.findtext("FileHeader/Modality") == "I"
    assert root.findtext(INVOICE + "InvoiceHeader/InvoiceNumber") == invoice.number
    assert root.findtext(INVOICE + "InvoiceHeader/InvoiceClass") == "OO"
    assert taxes_outputs(root) == {
        ("01", "21.00"): (Decimal("1000.00"), Decimal("210.00")),
        ("01", "4.00"): (Decimal("76.50"), Decimal("3.06")),
    }
    assert_totals(root, invoice)
    seller = "Parties/SellerParty/TaxIdentification/"
    assert root.findtext(seller + "TaxIdentificationNumber") == "B87654323"
    assert root.findtext(seller + "PersonTypeCode") == "J"
    assert root.findtext(seller + "ResidenceTypeCode") == "R"
    assert [q.text for q in root.iterfind(INVOICE + "Items/InvoiceLine/Quantity")] == [
        "1.00",
        "3.00",
    ]


def test_the_signature_s_place_is_left_empty_for_the_signing_step(draft, actor):
    root = facturae_of(issue_invoice(draft(), actor=actor))

    assert root.find("{http://www.w3.org/2000/09/xmldsig#}Signature") is None
    assert [child.tag for child in root] == ["FileHeader", "Parties", "Invoices"]


def test_the_verifactu_qr_url_is_in_the_invoice_s_additional_information(draft, actor):
    invoice = issue_invoice(draft(), actor=actor)

    root = facturae_of(invoice)

    information = root.findtext(INVOICE + "AdditionalData/InvoiceAdditionalInformation")
    assert invoice.fiscal_invoice.qr_url
    assert invoice.fiscal_invoice.qr_url in information


def test_irpf_is_a_tax_withheld_and_lowers_the_invoice_total(draft, actor):
    invoice = issue_invoice(draft(irpf_bp=1500), actor=actor)

    root = facturae_of(invoice)

    withheld = root.find(INVOICE + "TaxesWithheld/Tax")
    assert withheld.findtext("TaxTypeCode") == "04"
    assert withheld.findtext("TaxRate") == "15.00"
    assert money(withheld, "TaxAmount/TotalAmount") == euros(invoice.irpf_cents) == 150
    assert money(root, INVOICE + "InvoiceTotals/InvoiceTotal") == Decimal("1060.00")
    assert_totals(root, invoice)


def test_recargo_de_equivalencia_goes_in_the_same_tax_as_its_iva(taxpayer, draft, actor):
    line = DraftLine("Género", quantity=100, unit_price=150, iva_type="general")
    invoice = issue_invoice(draft([line], client=retailer(taxpayer)), actor=actor)

    root = facturae_of(invoice)

    (tax,) = root.iterfind(INVOICE + "TaxesOutputs/Tax")
    assert tax.findtext("TaxRate") == "21.00"
    assert tax.findtext("EquivalenceSurcharge") == "5.20"
    assert money(tax, "TaxAmount/TotalAmount") == euros(invoice.iva_cents)
    assert money(tax, "EquivalenceSurchargeAmount/TotalAmount") == euros(invoice.surcharge_cents)
    assert invoice.surcharge_cents == 8
    assert_totals(root, invoice)


@pytest.mark.parametrize(
    ("line", "event"),
    [
        (DraftLine("Formación", 100, 50000, "exento", cause="E1"), "01"),
        (DraftLine("Servicio", 100, 50000, "no_sujeto", cause="N1"), "02"),
    ],
    ids=["exempt-E1", "not-subject-N1"],
)
def test_an_untaxed_line_is_iva_at_zero_with_its_special_taxable_event(draft, actor, line, event):
    invoice = issue_invoice(draft([line]), actor=actor)

    root = facturae_of(invoice)

    assert taxes_outputs(root) == {("01", "0.00"): (Decimal("500.00"), Decimal("0.00"))}
    item = root.find(INVOICE + "Items/InvoiceLine")
    assert item.findtext("SpecialTaxableEvent/SpecialTaxableEventCode") == event
    reason = item.findtext("SpecialTaxableEvent/SpecialTaxableEventReason")
    assert reason
    assert root.findtext(INVOICE + "LegalLiterals/LegalReference") == reason
    assert_totals(root, invoice)


def test_reverse_charge_is_iva_at_zero_with_the_legal_mention(draft, actor):
    line = DraftLine("Obra", 100, 50000, "inversion_sujeto_pasivo")
    invoice = issue_invoice(draft([line]), actor=actor)

    root = facturae_of(invoice)

    assert taxes_outputs(root) == {("01", "0.00"): (Decimal("500.00"), Decimal("0.00"))}
    item = root.find(INVOICE + "Items/InvoiceLine")
    assert item.find("SpecialTaxableEvent") is None
    assert "Inversión del sujeto pasivo" in item.findtext("AdditionalLineItemInformation")
    assert "Inversión del sujeto pasivo" in root.findtext(INVOICE + "LegalLiterals/LegalReference")
    assert_totals(root, invoice)


@pytest.mark.parametrize(
    ("country", "id_type", "foreign_id", "cause", "residence", "alpha3"),
    [
        ("DE", "02", "DE123456789", "E5", "U", "DEU"),
        ("US", "04", "P1234567", "E2", "E", "USA"),
    ],
    ids=["EU-client", "client-outside-the-EU"],
)
def test_a_foreign_client_is_resident_abroad_with_an_overseas_address(
    taxpayer, draft, actor, country, id_type, foreign_id, cause, residence, alpha3
):
    invoice = exempt_sale_abroad(taxpayer, draft, actor, country, id_type, foreign_id, cause)

    root = facturae_of(invoice)

    buyer = "Parties/BuyerParty/"
    assert root.findtext(buyer + "TaxIdentification/ResidenceTypeCode") == residence
    assert root.findtext(buyer + "TaxIdentification/TaxIdentificationNumber") == foreign_id
    assert root.findtext(buyer + "LegalEntity/OverseasAddress/CountryCode") == alpha3
    assert taxes_outputs(root) == {("01", "0.00"): (Decimal("3000.00"), Decimal("0.00"))}
    assert_totals(root, invoice)


@pytest.mark.parametrize(
    ("iva_type", "code", "rate"),
    [("igic_general", "03", "7.00"), ("ipsi_4", "02", "4.00")],
    ids=["IGIC", "IPSI"],
)
def test_igic_and_ipsi_are_their_own_tax_type_at_their_rate(draft, actor, iva_type, code, rate):
    invoice = issue_invoice(draft([DraftLine("Servicio", 100, 100000, iva_type)]), actor=actor)

    root = facturae_of(invoice)

    assert list(taxes_outputs(root)) == [(code, rate)]
    assert root.findtext(INVOICE + "Items/InvoiceLine/TaxesOutputs/Tax/TaxTypeCode") == code
    assert_totals(root, invoice)


def test_a_discounted_line_carries_its_discount_so_the_line_adds_up(draft, actor):
    discounted = DraftLine("Diseño", 200, 5000, "general", discount_bp=1000)
    invoice = issue_invoice(draft([discounted]), actor=actor)

    root = facturae_of(invoice)

    item = root.find(INVOICE + "Items/InvoiceLine")
    assert money(item, "TotalCost") == Decimal("100.00")
    assert money(item, "DiscountsAndRebates/Discount/DiscountAmount") == Decimal("10.00")
    assert money(item, "GrossAmount") == euros(invoice.subtotal_cents) == 90


def test_a_rectificativa_by_substitution_is_corrective_with_the_full_method(
    draft, actor, rect_series
):
    original, substitute = issued_substitution(draft, actor, rect_series)

    root = facturae_of(substitute)

    header = INVOICE + "InvoiceHeader/"
    assert root.findtext(header + "InvoiceClass") == "OR"
    assert root.findtext(header + "Corrective/InvoiceNumber") == original.number
    assert root.findtext(header + "Corrective/CorrectionMethod") == "01"
    assert root.findtext(header + "Corrective/ReasonCode") == "16"
    assert root.findtext(header + "Corrective/TaxPeriod/StartDate") == "2026-01-01"
    assert root.findtext(header + "Corrective/TaxPeriod/EndDate") == "2026-03-31"
    assert_totals(root, substitute)


def test_a_rectificativa_by_differences_keeps_its_negative_amounts(draft, actor, rect_series):
    _, refund = issued_refund(draft, actor, rect_series)

    root = facturae_of(refund)

    assert root.findtext(INVOICE + "InvoiceHeader/Corrective/CorrectionMethod") == "02"
    assert money(root, INVOICE + "InvoiceTotals/InvoiceTotal") == Decimal("-121.00")
    assert taxes_outputs(root) == {("01", "21.00"): (Decimal("-100.00"), Decimal("-21.00"))}
    assert root.find(INVOICE + "PaymentDetails") is None
    assert_totals(root, refund)


def test_an_address_with_a_spanish_postal_code_is_an_address_in_spain(taxpayer, draft, actor):
    taxpayer.address = "Calle Mayor 1"
    taxpayer.postal_code = "28013"
    taxpayer.city = "Madrid"
    taxpayer.province = "Madrid"
    taxpayer.save()
    invoice = issue_invoice(draft(), actor=actor)

    root = facturae_of(invoice)

    assert address_in_spain(root, "SellerParty") == {
        "Address": "Calle Mayor 1",
        "PostCode": "28013",
        "Town": "Madrid",
        "Province": "Madrid",
        "CountryCode": "ESP",
    }


def test_a_person_s_nif_is_person_type_f(taxpayer, draft, actor):
    person = create_client(
        taxpayer, {"name": "Ana Ruiz Gil", "nif": "12345678Z", "country": "ES", **BILBAO}
    )
    invoice = issue_invoice(draft(client=person), actor=actor)

    root = facturae_of(invoice)

    buyer = "Parties/BuyerParty/"
    assert root.findtext(buyer + "TaxIdentification/PersonTypeCode") == "F"
    assert root.findtext(buyer + "LegalEntity/CorporateName") == "Ana Ruiz Gil"


def test_the_taxpayer_s_iban_is_the_account_to_be_credited(taxpayer, draft, actor):
    taxpayer.iban = "ES9121000418450200051332"
    taxpayer.save()
    invoice = issue_invoice(draft(), actor=actor)

    root = facturae_of(invoice)

    installment = root.find(INVOICE + "PaymentDetails/Installment")
    assert installment.findtext("PaymentMeans") == "04"
    assert installment.findtext("AccountToBeCredited/IBAN") == "ES9121000418450200051332"
    assert money(installment, "InstallmentAmount") == euros(invoice.total_cents)


@pytest.mark.parametrize(
    ("day", "start", "end"),
    [(date(2026, 2, 10), date(2026, 1, 1), date(2026, 3, 31)),
     (date(2026, 11, 30), date(2026, 10, 1), date(2026, 12, 31))],
)  # fmt: skip
def test_the_tax_period_is_the_quarter_of_the_corrected_invoice(day, start, end):
    assert tax_period(day) == (start, end)


def test_the_operation_date_is_written_when_it_differs_from_the_issue_date(draft, actor):
    invoice = issue_invoice(draft(operation_date=date(2026, 2, 27)), actor=actor)

    root = facturae_of(invoice)

    assert root.findtext(INVOICE + "InvoiceIssueData/IssueDate") == "2026-03-13"
    assert root.findtext(INVOICE + "InvoiceIssueData/OperationDate") == "2026-02-27"


def test_an_invoice_without_an_operation_date_has_none(draft, actor):
    root = facturae_of(issue_invoice(draft(), actor=actor))

    assert root.find(INVOICE + "InvoiceIssueData/OperationDate") is None


def test_a_number_longer_than_facturae_allows_is_refused_not_cut(draft, actor, series):
    series.number_format = "{year}-{code}-FACTURA-LARGA-{number}"
    series.save()
    invoice = issue_invoice(draft(), actor=actor)

    with pytest.raises(NotRepresentable, match=invoice.number):
        build_facturae(invoice)


def test_a_draft_has_no_facturae(draft):
    with pytest.raises(ValueError):
        build_facturae(draft())


def test_the_inbound_reader_reads_back_what_was_written(draft, actor):
    invoice = issue_invoice(draft([CONSULTING, BOOKS], irpf_bp=1500), actor=actor)

    result = read_received(build_facturae(invoice))

    assert not result.errors, [(f.rule, f.message) for f in result.errors]
    (document,) = result.documents
    assert document.number == invoice.number
    assert document.issue_date == invoice.issue_date
    assert document.supplier.nif == "B87654323"
    assert document.buyer.nif == "A28045631"
    assert {(t.category, t.rate_bp, t.base_cents, t.tax_cents) for t in document.taxes} == {
        ("S", 2100, 100000, 21000),
        ("S", 400, 7650, 306),
    }
    assert document.totals.net_cents == invoice.subtotal_cents
    assert document.totals.tax_cents == invoice.iva_cents
    assert document.totals.payable_cents == invoice.total_cents
    assert document.withholdings[0].amount_cents == invoice.irpf_cents


def test_a_rectificativa_reads_back_as_a_credit_note_of_the_original(draft, actor, rect_series):
    original, refund = issued_refund(draft, actor, rect_series)

    (document,) = read_received(build_facturae(refund)).documents

    assert document.kind == DocumentKind.CREDIT_NOTE
    assert document.corrects == original.number
    assert document.totals.payable_cents == refund.total_cents


@pytest.mark.parametrize(
    ("line", "category", "rate_bp"),
    [
        (DraftLine("Formación", 100, 50000, "exento", cause="E1"), "E", 0),
        (DraftLine("Servicio", 100, 50000, "no_sujeto", cause="N1"), "O", 0),
        (DraftLine("Servicio", 100, 50000, "igic_general"), "L", 700),
        (DraftLine("Servicio", 100, 50000, "ipsi_4"), "M", 400),
    ],
    ids=["exempt-E1", "not-subject-N1", "IGIC", "IPSI"],
)
def test_an_untaxed_or_non_iva_line_reads_back_in_its_category(
    draft, actor, line, category, rate_bp
):
    invoice = issue_invoice(draft([line]), actor=actor)

    (document,) = read_received(build_facturae(invoice)).documents

    ((tax),) = document.taxes
    assert (tax.category, tax.rate_bp, tax.base_cents) == (category, rate_bp, 50000)
    assert tax.tax_cents == invoice.iva_cents
    assert document.totals.payable_cents == invoice.total_cents


def test_recargo_reads_back_as_a_surcharge_on_its_base(taxpayer, draft, actor):
    invoice = issue_invoice(draft(client=retailer(taxpayer)), actor=actor)

    (document,) = read_received(build_facturae(invoice)).documents

    ((surcharge),) = document.surcharges
    assert (surcharge.base_cents, surcharge.rate_bp) == (100000, 520)
    assert surcharge.amount_cents == invoice.surcharge_cents == 5200
    assert document.totals.tax_cents == invoice.iva_cents + invoice.surcharge_cents


def test_an_exempt_line_beside_a_taxed_one_keeps_both_taxes_and_the_mention(draft, actor):
    invoice = exempt_beside_taxed(draft, actor)

    root = facturae_of(invoice)

    assert taxes_outputs(root) == {
        ("01", "21.00"): (Decimal("1000.00"), Decimal("210.00")),
        ("01", "0.00"): (Decimal("500.00"), Decimal("0.00")),
    }
    events = [
        line.findtext("SpecialTaxableEvent/SpecialTaxableEventCode")
        for line in root.iterfind(INVOICE + "Items/InvoiceLine")
    ]
    assert events == [None, "01"]
    assert money(root, INVOICE + "TaxesWithheld/Tax/TaxableBase/TotalAmount") == Decimal("1500.00")
    assert_totals(root, invoice)


def test_a_rectificativa_of_an_invoice_with_irpf_withholds_a_negative_amount(
    draft, actor, rect_series
):
    _, refund = issued_refund(draft, actor, rect_series, irpf_bp=1500)

    root = facturae_of(refund)

    assert money(root, INVOICE + "TaxesWithheld/Tax/TaxAmount/TotalAmount") == Decimal("-15.00")
    assert money(root, INVOICE + "InvoiceTotals/InvoiceTotal") == Decimal("-106.00")
    assert_totals(root, refund)
    (document,) = read_received(build_facturae(refund)).documents
    assert document.withholdings[0].amount_cents == refund.irpf_cents


def test_a_rectificativa_for_a_bad_debt_gives_the_unpaid_cuotas_reason(draft, actor, rect_series):
    original = issue_invoice(draft(), actor=actor)
    unpaid = DraftLine("Impagado", quantity=-100, unit_price=100000, iva_type="general")
    refund = issued_rectificativa(original, rect_series, actor, "I", unpaid, invoice_type="R3")

    root = facturae_of(refund)

    assert root.findtext(INVOICE + "InvoiceHeader/Corrective/ReasonCode") == "85"
    assert root.findtext(INVOICE + "InvoiceHeader/Corrective/TaxPeriod/StartDate") == "2026-01-01"


def test_reverse_charge_reads_back_with_its_base_and_no_tax(draft, actor):
    line = DraftLine("Obra", 100, 50000, "inversion_sujeto_pasivo")
    invoice = issue_invoice(draft([line]), actor=actor)

    (document,) = read_received(build_facturae(invoice)).documents

    ((tax),) = document.taxes
    assert (tax.rate_bp, tax.base_cents, tax.tax_cents) == (0, 50000, 0)
    assert document.totals.payable_cents == invoice.total_cents == 50000


def test_a_public_administration_s_dir3_codes_are_the_buyer_s_administrative_centres(
    draft, actor, acme
):
    update_client(
        acme,
        {
            "dir3_oficina_contable": "L01280796",
            "dir3_organo_gestor": "L01280796",
            "dir3_unidad_tramitadora": "LA0002345",
        },
    )
    invoice = issue_invoice(draft(), actor=actor)

    root = facturae_of(invoice)

    centres = root.findall("Parties/BuyerParty/AdministrativeCentres/AdministrativeCentre")
    assert [(c.findtext("CentreCode"), c.findtext("RoleTypeCode")) for c in centres] == [
        ("L01280796", "01"),
        ("L01280796", "02"),
        ("LA0002345", "03"),
    ]
    for centre in centres:
        assert centre.findtext("AddressInSpain/PostCode") == "48001"
        assert centre.findtext("AddressInSpain/Town") == "Bilbao"
    assert [c.findtext("CentreDescription") for c in centres] == [
        "Oficina contable",
        "Órgano gestor",
        "Unidad tramitadora",
    ]
    (document,) = read_received(build_facturae(invoice)).documents
    assert (document.buyer.nif, document.buyer.country) == ("A28045631", "ES")


def test_a_client_without_dir3_codes_has_no_administrative_centres(draft, actor):
    root = facturae_of(issue_invoice(draft(), actor=actor))

    assert root.find("Parties/BuyerParty/AdministrativeCentres") is None


def test_the_buyer_s_address_is_written_in_its_parts(draft, actor):
    root = facturae_of(issue_invoice(draft(), actor=actor))

    assert address_in_spain(root, "BuyerParty") == BILBAO_IN_FACTURAE


def test_a_client_in_spain_without_postal_code_or_town_gets_no_facturae(draft, actor, acme):
    update_client(acme, {"postal_code": "", "city": ""})
    invoice = issue_invoice(draft(), actor=actor)

    with pytest.raises(NotRepresentable) as refused:
        build_facturae(invoice)

    assert str(refused.value) == (
        "Facturae exige la dirección en España del cliente con el código postal (5 cifras) "
        "y el municipio: la factura no los tiene, así que no se genera su Facturae."
    )


def test_an_issuer_without_postal_code_gets_no_facturae(taxpayer, draft, actor):
    taxpayer.postal_code = ""
    taxpayer.save()
    invoice = issue_invoice(draft(), actor=actor)

    with pytest.raises(NotRepresentable, match="del emisor con el código postal"):
        build_facturae(invoice)


def test_the_address_frozen_on_the_invoice_wins_over_a_later_change(draft, actor, acme):
    invoice = issue_invoice(draft(), actor=actor)
    update_client(acme, {"address": "Calle Nueva 3", "postal_code": "28001", "city": "Madrid"})

    root = facturae_of(invoice)

    assert address_in_spain(root, "BuyerParty") == BILBAO_IN_FACTURAE
