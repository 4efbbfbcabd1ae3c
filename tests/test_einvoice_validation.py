"""The e-invoice validation layer judges documents by the official schemas and rules.

Official examples (tests/fixtures/einvoice/README.md names their sources) must pass; copies
broken in one place must fail naming the rule they break; a document with a DTD is refused
before anything in it is read; the rulesets are compiled once per process.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from collections import Counter
from pathlib import Path

import pytest

from einvoice import findings, schematron
from einvoice.findings import FATAL, WARNING, Finding, ValidationReport
from einvoice.validation import validate_cii, validate_facturae, validate_ubl

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "einvoice"
INVOICE = (FIXTURES / "peppol-base-example.xml").read_bytes()
CREDIT_NOTE = (FIXTURES / "peppol-base-creditnote-correction.xml").read_bytes()
CII_INVOICE = (FIXTURES / "cen-cii-example1.xml").read_bytes()
FACTURAE = (FIXTURES / "facturae-3.2.2-minimal.xml").read_bytes()


def broken(document: bytes, old: bytes, new: bytes) -> bytes:
    """``document`` with its one occurrence of ``old`` replaced by ``new``."""
    assert document.count(old) == 1, old
    return document.replace(old, new)


def errors_of(report: ValidationReport) -> set[str]:
    return {finding.rule for finding in report.errors}


@pytest.mark.parametrize(
    ("document", "kind"),
    [(INVOICE, "ubl:Invoice"), (CREDIT_NOTE, "ubl:CreditNote")],
    ids=["invoice", "credit-note"],
)
def test_the_official_peppol_examples_are_valid(document, kind):
    report = validate_ubl(document)

    assert report.document == kind
    assert report.valid, report.errors
    assert report.errors == []
    assert report.warnings == []


UBL_BREAKS = {
    "a wrong total with VAT": (
        INVOICE,
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
        b'<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
        {"BR-CO-15", "BR-CO-16"},
        "en16931",
    ),
    "no buyer name": (
        INVOICE,
        b"<cbc:RegistrationName>Buyer Official Name</cbc:RegistrationName>",
        b"",
        {"BR-07"},
        "en16931",
    ),
    "no buyer reference nor order reference (Peppol's own rule)": (
        INVOICE,
        b"<cbc:BuyerReference>0150abc</cbc:BuyerReference>",
        b"",
        {"PEPPOL-EN16931-R003"},
        "peppol",
    ),
    "a credit note whose lines do not add up": (
        CREDIT_NOTE,
        b'<cbc:LineExtensionAmount currencyID="EUR">1300<',
        b'<cbc:LineExtensionAmount currencyID="EUR">1301<',
        {"BR-CO-10", "BR-CO-13"},
        "en16931",
    ),
}


@pytest.mark.parametrize("case", UBL_BREAKS, ids=list(UBL_BREAKS))
def test_a_broken_ubl_document_is_invalid_naming_the_rule(case):
    document, old, new, rules, source = UBL_BREAKS[case]

    report = validate_ubl(broken(document, old, new))

    assert not report.valid
    assert errors_of(report) == rules
    fired = [finding for finding in report.errors if finding.rule in rules]
    assert all(finding.flag == FATAL and finding.source == source for finding in fired)
    assert all(finding.message and finding.location.startswith("/") for finding in fired)


def test_a_warning_is_reported_and_does_not_invalidate():
    document = broken(
        INVOICE,
        b"<cbc:CustomizationID>",
        b"<cbc:UBLVersionID>2.2</cbc:UBLVersionID><cbc:CustomizationID>",
    )

    report = validate_ubl(document)

    assert report.valid, report.errors
    assert [(finding.rule, finding.flag) for finding in report.warnings] == [
        ("UBL-CR-002", WARNING)
    ]
    assert report.unexpected_warnings == report.warnings


def test_a_tolerated_warning_is_not_unexpected(monkeypatch):
    monkeypatch.setattr(findings, "TOLERATED_WARNINGS", {"UBL-CR-002": "a reason"})
    warning = Finding("UBL-CR-002", WARNING, "m", "/", "en16931")
    other = Finding("UBL-CR-004", WARNING, "m", "/", "en16931")

    report = ValidationReport.of("ubl:Invoice", [warning, other])

    assert report.valid
    assert report.unexpected_warnings == [other]


def test_every_tolerated_warning_says_why():
    assert all(reason.strip() for reason in findings.TOLERATED_WARNINGS.values())


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<cbc:IssueDate>2017-11-13<", b"<cbc:IssueDate>2017-13-45<", "xs:date"),
        (b"<cbc:DueDate>", b"<cbc:Unknown>x</cbc:Unknown><cbc:DueDate>", "Unknown"),
    ],
    ids=["a date that is not a date", "an element UBL does not have"],
)
def test_a_schema_violation_is_invalid_and_stops_before_the_rules(old, new, message):
    report = validate_ubl(broken(INVOICE, old, new))

    assert not report.valid
    assert errors_of(report) == {"XSD"}
    assert {finding.source for finding in report.errors} == {"xsd"}
    assert message in report.errors[0].message
    assert report.errors[0].location.startswith("línea ")


def test_an_application_response_is_checked_against_its_schema():
    response = b"""<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
    xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
    xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>AR-1</cbc:ID>
  <cbc:IssueDate>2026-01-20</cbc:IssueDate>
  <cac:SenderParty><cac:PartyName><cbc:Name>Comprador</cbc:Name></cac:PartyName></cac:SenderParty>
  <cac:ReceiverParty><cac:PartyName><cbc:Name>Vendedor</cbc:Name></cac:PartyName></cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response><cbc:ResponseCode>AP</cbc:ResponseCode></cac:Response>
    <cac:DocumentReference><cbc:ID>2026-0001</cbc:ID></cac:DocumentReference>
  </cac:DocumentResponse>
</ApplicationResponse>"""

    assert validate_ubl(response).valid
    without_sender = validate_ubl(
        broken(
            response,
            b"<cac:SenderParty><cac:PartyName><cbc:Name>Comprador</cbc:Name></cac:PartyName>"
            b"</cac:SenderParty>",
            b"",
        )
    )
    assert without_sender.document == "ubl:ApplicationResponse"
    assert errors_of(without_sender) == {"XSD"}


def test_the_cen_cii_example_is_valid_and_a_broken_copy_is_not():
    assert validate_cii(CII_INVOICE).document == "cii"
    assert validate_cii(CII_INVOICE).valid, validate_cii(CII_INVOICE).errors

    without_seller_name = validate_cii(
        broken(CII_INVOICE, b"<ram:Name>De Koksmaat</ram:Name>", b"")
    )

    assert not without_seller_name.valid
    assert "BR-06" in errors_of(without_seller_name)


@pytest.mark.parametrize(
    ("validate", "document", "expected"),
    [
        (validate_ubl, CII_INVOICE, "UBL 2.1"),
        (validate_cii, INVOICE, "CII"),
        (validate_facturae, INVOICE, "Facturae 3.2.2"),
        (
            validate_facturae,
            FACTURAE.replace(b"Versiones/Facturaev3_2_2.xml", b"Versiones/Facturaev3_2_1.xml"),
            "Facturae 3.2.2",
        ),
    ],
    ids=["cii-as-ubl", "ubl-as-cii", "ubl-as-facturae", "facturae-3.2.1"],
)
def test_a_document_of_another_kind_is_refused_by_its_root(validate, document, expected):
    report = validate(document)

    assert not report.valid
    assert report.document == ""
    assert errors_of(report) == {"XML-ROOT"}
    assert expected in report.errors[0].message


@pytest.mark.parametrize("document", [b"", b"<Invoice>", b"not xml at all"])
def test_malformed_bytes_are_refused(document):
    report = validate_ubl(document)

    assert not report.valid
    assert errors_of(report) == {"XML"}


class Listener:
    """A loopback port that counts the connections made to it, closing each at once (so that
    a parser that did connect fails fast instead of waiting for an answer)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.count = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                accepted, _ = self.socket.accept()
            except OSError:
                continue
            accepted.close()
            self.count += 1

    def close(self) -> None:
        self.running = False
        self.thread.join(5)
        self.socket.close()


@pytest.fixture
def listener():
    made = Listener()
    yield made
    made.close()


class Pipe:
    """A named pipe that records whether anybody opened it to read (each reader gets an empty
    file at once, so that a parser that did open it goes on)."""

    def __init__(self, path: Path) -> None:
        os.mkfifo(path)
        self.path = path
        self.opened = threading.Event()
        self.stopped = False
        self.writer = threading.Thread(target=self._write, daemon=True)
        self.writer.start()

    def _write(self) -> None:
        while not self.stopped:
            with open(self.path, "wb"):  # blocks until a reader opens the pipe
                if not self.stopped:
                    self.opened.set()

    def was_read(self) -> bool:
        read = self.opened.is_set()
        self.stopped = True
        os.close(os.open(self.path, os.O_RDONLY | os.O_NONBLOCK))  # lets the writer go
        self.writer.join(5)
        return read


def test_external_entities_are_refused_without_being_read(tmp_path, listener):
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-MARKER-7f3a")
    pipe = Pipe(tmp_path / "pipe")
    hostile = f"""<?xml version="1.0"?>
<!DOCTYPE Invoice [
  <!ENTITY file SYSTEM "file://{secret}">
  <!ENTITY piped SYSTEM "file://{pipe.path}">
  <!ENTITY remote SYSTEM "{listener.url}/entity">
  <!ENTITY % local SYSTEM "file://{pipe.path}">
  <!ENTITY % dtd SYSTEM "{listener.url}/dtd">
  %local;
  %dtd;
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  >&file;&piped;&remote;</Invoice>
""".encode()

    for validate in (validate_ubl, validate_cii, validate_facturae):
        report = validate(hostile)

        assert not report.valid
        assert errors_of(report) == {"XML-DTD"}
        assert "SECRET-MARKER" not in repr(report)
    assert listener.count == 0
    assert not pipe.was_read()


def test_an_external_dtd_is_refused_without_being_fetched(listener):
    hostile = f"""<?xml version="1.0"?>
<!DOCTYPE Invoice SYSTEM "{listener.url}/invoice.dtd">
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>""".encode()

    report = validate_ubl(hostile)

    assert errors_of(report) == {"XML-DTD"}
    assert listener.count == 0


def test_entity_expansion_is_refused_without_expanding():
    levels = ['<!ENTITY a0 "lol">'] + [
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    ]
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE Invoice [' + "".join(levels) + "]>"
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&a9;</Invoice>'
    ).encode()

    report = validate_ubl(bomb)

    # libxml2's amplification guard may stop it first (rule "XML"): refused either way.
    assert not report.valid
    assert report.document == ""
    assert len(report.errors) == 1
    assert errors_of(report) <= {"XML", "XML-DTD"}
    assert "lol" not in repr(report)


def test_the_minimal_facturae_is_valid():
    report = validate_facturae(FACTURAE)

    assert report.document == "facturae"
    assert report.valid, report.errors
    assert report.warnings == []


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b"<SchemaVersion>3.2.2<", b"<SchemaVersion>3.2.3<", "SchemaVersion"),
        (b"<InvoiceTotal>121.00</InvoiceTotal>", b"", "TotalOutstandingAmount"),
        (
            b"<CountryCode>ESP</CountryCode>\n        </AddressInSpain>",
            b"</AddressInSpain>",
            "CountryCode",
        ),
    ],
    ids=["unknown version", "no invoice total", "an address without its country"],
)
def test_a_broken_facturae_is_invalid(old, new, message):
    document = FACTURAE.replace(old, new, 1)
    assert document != FACTURAE

    report = validate_facturae(document)

    assert not report.valid
    assert errors_of(report) == {"XSD"}
    assert message in report.errors[0].message


SIGNATURE = b"""<ds:Signature Id="Signature-1">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>AAAA</ds:DigestValue>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue>AAAA</ds:SignatureValue>
  </ds:Signature>
</fe:Facturae>"""


def test_a_facturae_signature_is_checked_against_the_w3c_schema():
    """The xmldsig import resolves to the vendored W3C file (no network): a signature of the
    right shape passes, one without its SignedInfo does not."""
    signed = broken(FACTURAE, b"</fe:Facturae>", SIGNATURE)
    without_signed_info = re.sub(rb"<ds:SignedInfo>.*</ds:SignedInfo>", b"", signed, flags=re.S)

    assert validate_facturae(signed).valid, validate_facturae(signed).errors
    report = validate_facturae(without_signed_info)
    assert not report.valid
    assert "{http://www.w3.org/2000/09/xmldsig#}SignedInfo" in report.errors[0].message


@pytest.fixture
def fresh_rulesets(monkeypatch):
    """Empty the process's compiled rulesets and count each compile from then on."""
    compiled: Counter[str] = Counter()
    real = schematron.compile_ruleset

    def counting(name: str):
        compiled[name] += 1
        return real(name)

    monkeypatch.setattr(schematron, "_executables", {})
    monkeypatch.setattr(schematron, "compile_ruleset", counting)
    return compiled


def test_each_ruleset_is_compiled_once_per_process(fresh_rulesets):
    without_reference = broken(INVOICE, b"<cbc:BuyerReference>0150abc</cbc:BuyerReference>", b"")
    for _ in range(2):
        assert validate_ubl(INVOICE).valid
        assert not validate_ubl(without_reference).valid
        assert validate_cii(CII_INVOICE).valid

    assert fresh_rulesets == {
        schematron.EN16931_UBL: 1,
        schematron.PEPPOL_UBL: 1,
        schematron.EN16931_CII: 1,
    }


def test_threads_validating_at_once_share_one_compile(fresh_rulesets):
    results: list[ValidationReport] = []
    start = threading.Barrier(4)

    def validate() -> None:
        start.wait()
        results.append(validate_ubl(INVOICE))

    threads = [threading.Thread(target=validate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 4
    assert all(report.valid for report in results)
    assert fresh_rulesets == {schematron.EN16931_UBL: 1, schematron.PEPPOL_UBL: 1}


def test_rules_that_cannot_run_make_the_document_invalid(fresh_rulesets, monkeypatch):
    failing = """<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="3.0">
      <xsl:template match="/"><xsl:sequence select="error()"/></xsl:template>
    </xsl:stylesheet>"""
    monkeypatch.setitem(
        schematron.RULESETS,
        schematron.PEPPOL_UBL,
        lambda: (
            schematron.processor()
            .new_xslt30_processor()
            .compile_stylesheet(stylesheet_text=failing)
        ),
    )

    report = validate_ubl(INVOICE)

    assert not report.valid
    assert [(finding.rule, finding.source) for finding in report.errors] == [("RULES", "peppol")]
