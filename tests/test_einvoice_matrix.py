"""Every invoice type in scope, as UBL and as Facturae, checked by others (issue 21, "Checked
by others"): each case is built with the shared builders of tests/invoices.py, and each file
must pass the product's own validation (XSD, EN 16931 and Peppol rules run by Saxon) with no
fatal finding, xmlschema's XSD check (not libxml2), and for UBL peppol-ubl-validate's
independent business rules; its key amounts must be the invoice's cents. A case UBL cannot
carry is refused by name. The validators are tests/third_party_einvoice.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from clients.services import create_client
from einvoice.facturae import build_facturae
from einvoice.signing import signed_facturae
from einvoice.ubl import CAC, CBC, MixedNotSubject, NoElectronicAddress, build_ubl
from einvoice.validation import validate_facturae, validate_ubl
from invoicing.models import Invoice
from invoicing.services import DraftLine, issue_invoice
from tests import third_party_einvoice as others
from tests import xmlsec
from tests.invoices import (
    BOOKS,
    CONSULTING,
    exempt_beside_taxed,
    exempt_sale_abroad,
    foreign_client,
    give_addresses,
    issued_rectificativa,
    issued_refund,
    issued_substitution,
    retailer,
)
from tests.test_signing import Pki
from verifactu.certificates import store_certificate

NS = {"cac": CAC, "cbc": CBC}


@dataclass(frozen=True)
class Issuer:
    """What a case needs to issue its invoice: the fixtures of tests/invoices.py."""

    taxpayer: object
    draft: Callable[..., Invoice]
    actor: object
    rect_series: object

    def issue(self, lines, **kwargs) -> Invoice:
        return issue_invoice(self.draft(list(lines), **kwargs), actor=self.actor)


@pytest.fixture
def issuer(taxpayer, acme, draft, actor, rect_series) -> Issuer:
    give_addresses(taxpayer, acme)
    return Issuer(taxpayer, draft, actor, rect_series)


def _line(iva_type: str, cause: str = "", price: int = 50000) -> DraftLine:
    return DraftLine("Servicio", 100, price, iva_type, cause=cause)


def _exempt(cause: str) -> Callable[[Issuer], Invoice]:
    return lambda i: i.issue([_line("exento", cause)])


def _abroad(country: str, id_type: str, foreign_id: str, cause: str):
    return lambda i: exempt_sale_abroad(
        i.taxpayer, i.draft, i.actor, country, id_type, foreign_id, cause
    )


def _rectificativa_charging_more(i: Issuer) -> Invoice:
    original = i.issue([CONSULTING])
    extra = DraftLine("Horas adicionales", 200, 5000, "general")
    return issued_rectificativa(original, i.rect_series, i.actor, "I", extra)


def _services_to_an_eu_business(i: Issuer) -> Invoice:
    client = foreign_client(i.taxpayer, "FR", "02", "FR40303265045")
    return i.issue([_line("no_sujeto", "N2")], client=client)


def _every_header_field(i: Issuer) -> Invoice:
    i.taxpayer.address = "Calle de Alcalá 1, 3º izda."
    i.taxpayer.postal_code = "38001"
    i.taxpayer.city = "Santa Cruz de Tenerife"
    i.taxpayer.province = "Santa Cruz de Tenerife"
    i.taxpayer.iban = "ES9121000418450200051332"
    i.taxpayer.save()
    client = create_client(
        i.taxpayer,
        {
            "name": "Distribuciones & Logística del Noroeste " * 3,
            "nif": "B12345674",
            "country": "ES",
            "address": "Rúa <Nova> 5",
            "postal_code": "15001",
            "city": "A Coruña",
            "province": "A Coruña",
        },
    )
    return i.issue(
        [CONSULTING],
        client=client,
        due_date=date(2026, 4, 12),
        operation_date=date(2026, 2, 27),
        description="Consultoría de febrero",
        notes="Gracias por su confianza.",
    )


def _rectificativa_with_mixed_signs(i: Issuer) -> Invoice:
    original = i.issue([CONSULTING, BOOKS])
    lines = [
        DraftLine("Horas adicionales", 250, 4000, "general"),
        DraftLine("Libros no servidos", 100, -2550, "superreducido"),
    ]
    return issued_rectificativa(original, i.rect_series, i.actor, "I", lines)


def _credit_of_an_intra_community_supply(i: Issuer) -> Invoice:
    original = _abroad("DE", "02", "DE123456789", "E5")(i)
    returned = DraftLine("Maquinaria devuelta", -100, 100000, "exento", cause="E5")
    return issued_rectificativa(original, i.rect_series, i.actor, "I", returned)


def _credit_under_recargo(i: Issuer) -> Invoice:
    original = i.issue([CONSULTING, BOOKS], client=retailer(i.taxpayer))
    returned = DraftLine("Libros devueltos", -100, 2550, "superreducido")
    return issued_rectificativa(original, i.rect_series, i.actor, "I", returned)


@dataclass(frozen=True)
class Case:
    build: Callable[[Issuer], Invoice]
    ubl_root: str = "Invoice"  # or "CreditNote"
    ubl_refused: type[Exception] | None = None


CASES: dict[str, Case] = {
    "ordinary-two-iva-rates": Case(lambda i: i.issue([CONSULTING, BOOKS])),
    "ordinary-every-header-field": Case(_every_header_field),
    "ordinary-discounted-line": Case(
        lambda i: i.issue([DraftLine("Licencias", 300, 3333, "general", discount_bp=1000)])
    ),
    "ordinary-reduced-and-zero-rates": Case(
        lambda i: i.issue([_line("reducido"), _line("cero", price=1234)])
    ),
    "ordinary-rounding-at-every-step": Case(
        lambda i: i.issue(
            [
                DraftLine("Horas", 150, 3333, "general"),
                DraftLine("Horas de soporte", 333, 3333, "general", discount_bp=1250),
                DraftLine("Material", 7, 1999, "reducido", discount_bp=333),
                DraftLine("Cortesía", 100, 0, "general"),
            ]
        )
    ),
    "ordinary-tobacco-under-recargo": Case(
        lambda i: i.issue(
            [DraftLine("Tabaco", 100, 10000, "general", tobacco=True)],
            client=retailer(i.taxpayer),
        )
    ),
    "rectificativa-S": Case(lambda i: issued_substitution(i.draft, i.actor, i.rect_series)[1]),
    "rectificativa-I-credit": Case(
        lambda i: issued_refund(i.draft, i.actor, i.rect_series)[1], ubl_root="CreditNote"
    ),
    "rectificativa-I-charge": Case(_rectificativa_charging_more),
    "rectificativa-I-credit-with-IRPF": Case(
        lambda i: issued_refund(i.draft, i.actor, i.rect_series, irpf_bp=1500)[1],
        ubl_root="CreditNote",
    ),
    "rectificativa-R3-bad-debt": Case(
        lambda i: issued_rectificativa(
            i.issue([CONSULTING]),
            i.rect_series,
            i.actor,
            "I",
            DraftLine("Impagado", -100, 100000, "general"),
            invoice_type="R3",
        ),
        ubl_root="CreditNote",
    ),
    "rectificativa-I-mixed-signs": Case(_rectificativa_with_mixed_signs),
    "rectificativa-I-credit-of-E5": Case(
        _credit_of_an_intra_community_supply, ubl_root="CreditNote"
    ),
    "rectificativa-I-credit-under-recargo": Case(_credit_under_recargo, ubl_root="CreditNote"),
    "IRPF-15": Case(lambda i: i.issue([CONSULTING], irpf_bp=1500)),
    "IRPF-7-beside-exempt-E1": Case(lambda i: exempt_beside_taxed(i.draft, i.actor)),
    "recargo": Case(lambda i: i.issue([CONSULTING, BOOKS], client=retailer(i.taxpayer))),
    "recargo-rounded-apart": Case(
        lambda i: i.issue([_line("general", price=150)], client=retailer(i.taxpayer))
    ),
    "exempt-E1": Case(_exempt("E1")),
    "exempt-E3": Case(_exempt("E3")),
    "exempt-E4": Case(_exempt("E4")),
    "exempt-E6": Case(_exempt("E6")),
    "reverse-charge": Case(lambda i: i.issue([_line("inversion_sujeto_pasivo")])),
    "not-subject-N1": Case(lambda i: i.issue([_line("no_sujeto", "N1")])),
    "not-subject-N2-eu-business": Case(_services_to_an_eu_business),
    "not-subject-beside-taxed": Case(
        lambda i: i.issue([CONSULTING, _line("no_sujeto", "N2")]), ubl_refused=MixedNotSubject
    ),
    "IGIC": Case(lambda i: i.issue([_line("igic_general")])),
    "IPSI": Case(lambda i: i.issue([_line("ipsi_4")])),
    "eu-vat-id-intra-community-E5": Case(_abroad("DE", "02", "DE123456789", "E5")),
    "eu-vat-id-greece-E5": Case(_abroad("GR", "02", "EL094014201", "E5")),
    "eu-vat-id-sweden-E5": Case(_abroad("SE", "02", "SE556036079301", "E5")),
    "export-E2-gb-vat-id": Case(_abroad("GB", "02", "GB123456789", "E2")),
    "export-E2-us-passport": Case(
        _abroad("US", "03", "987654", "E2"), ubl_refused=NoElectronicAddress
    ),
}


def _errors(report) -> list[tuple[str, str]]:
    return [(finding.rule, finding.message) for finding in report.errors]


def _decimal(root: etree._Element, path: str, namespaces=None) -> Decimal:
    return Decimal(root.findtext(path, namespaces=namespaces))


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def test_the_xsd_validator_reads_xmldsig_only_from_the_vendored_copies():
    vendored = others.XMLDSIG_XSD.as_uri()

    assert others.loaded_from(others.facturae_schema(), others.XMLDSIG_NS) == [vendored]
    (ubl_copy,) = others.loaded_from(others.ubl_schema(), others.XMLDSIG_NS)
    assert ubl_copy.startswith(others.UBL_INVOICE_XSD.parent.parent.as_uri())


def test_the_xsd_validator_refuses_a_schema_it_would_have_to_fetch():
    remote = """<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
      <xs:import namespace="urn:x" schemaLocation="https://example.com/x.xsd"/>
    </xs:schema>"""

    with pytest.raises(others.xmlschema.XMLSchemaImportWarning, match="example.com"):
        others.compile_offline(remote)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_ubl_passes_every_validator_and_carries_the_invoice_s_cents(issuer, case):
    invoice = case.build(issuer)
    if case.ubl_refused:
        with pytest.raises(case.ubl_refused) as refused:
            build_ubl(invoice)
        assert invoice.number in str(refused.value) or invoice.client_name in str(refused.value)
        return

    xml = build_ubl(invoice)

    report = validate_ubl(xml)
    verdicts = {
        "einvoice.validation": _errors(report),
        "xmlschema": others.xsd_errors(xml),
        "peppol-ubl-validate": others.peppol_findings(xml),
    }
    assert verdicts == {"einvoice.validation": [], "xmlschema": [], "peppol-ubl-validate": []}
    assert not report.unexpected_warnings, [(f.rule, f.message) for f in report.warnings]
    root = etree.fromstring(xml)
    assert etree.QName(root).localname == case.ubl_root
    sign = -1 if case.ubl_root == "CreditNote" else 1
    total = "cac:LegalMonetaryTotal/cbc:"
    with_tax = invoice.subtotal_cents + invoice.iva_cents + invoice.surcharge_cents
    assert _decimal(root, total + "TaxExclusiveAmount", NS) == sign * _euros(invoice.subtotal_cents)
    assert _decimal(root, total + "TaxInclusiveAmount", NS) == sign * _euros(with_tax)
    prepaid = root.findtext(total + "PrepaidAmount", namespaces=NS)
    assert Decimal(prepaid or "0") == sign * _euros(invoice.irpf_cents)
    assert _decimal(root, total + "PayableAmount", NS) == sign * _euros(invoice.total_cents)
    assert _decimal(root, "cac:TaxTotal/cbc:TaxAmount", NS) == sign * _euros(
        invoice.iva_cents + invoice.surcharge_cents
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    """Root CA -> intermediate -> the certificate of Estudio Sol SL (B87654323)."""
    return Pki("ESTUDIO SOL SL - B87654323", nif="B87654323")


@pytest.fixture
def certificate(account, taxpayer, pki):
    return store_certificate(account, pki.p12("firma-pruebas"), "firma-pruebas", taxpayer=taxpayer)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_facturae_passes_every_validator_and_carries_the_invoice_s_cents(
    issuer, case, certificate, pki, tmp_path
):
    invoice = case.build(issuer)

    signed = signed_facturae(invoice)

    assert signed.signed, signed.reason
    xml = signed.content
    verdicts = {
        "einvoice.validation": _errors(validate_facturae(xml)),
        "xmlschema": others.xsd_errors(xml, facturae=True),
        "xmlsec1": xmlsec.verify_xml(xml.decode(), tmp_path, trusted=[pki.ca_pem]),
    }
    assert verdicts == {"einvoice.validation": [], "xmlschema": [], "xmlsec1": None}
    root = etree.fromstring(xml)
    totals = "Invoices/Invoice/InvoiceTotals/"
    assert _decimal(root, totals + "TotalGrossAmountBeforeTaxes") == _euros(invoice.subtotal_cents)
    assert _decimal(root, totals + "TotalTaxOutputs") == _euros(
        invoice.iva_cents + invoice.surcharge_cents
    )
    assert _decimal(root, totals + "TotalTaxesWithheld") == _euros(invoice.irpf_cents)
    assert _decimal(root, totals + "InvoiceTotal") == _euros(invoice.total_cents)
    batch = "FileHeader/Batch/TotalInvoicesAmount/TotalAmount"
    assert _decimal(root, batch) == _euros(invoice.total_cents)


def _tampered(xml: bytes, path: str, text: str, namespaces=None) -> bytes:
    root = etree.fromstring(xml)
    root.find(path, namespaces).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def test_the_third_party_validators_refuse_a_ubl_that_breaks_their_rules(issuer):
    xml = build_ubl(issuer.issue([CONSULTING]))

    unbalanced = _tampered(xml, "cac:LegalMonetaryTotal/cbc:PayableAmount", "1211.00", NS)
    not_a_date = _tampered(xml, "cbc:IssueDate", "13/03/2026", NS)

    assert any("BR-CO-16" in finding for finding in others.peppol_findings(unbalanced))
    assert others.xsd_errors(not_a_date)
    assert others.peppol_findings(not_a_date)


def test_the_xsd_validator_refuses_a_facturae_that_breaks_the_schema(issuer):
    xml = build_facturae(issuer.issue([CONSULTING]))

    broken = _tampered(xml, "FileHeader/Modality", "X")

    assert any("Modality" in error for error in others.xsd_errors(broken, facturae=True))
