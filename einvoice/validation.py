"""Is this e-invoice valid? The one entry point for every check of a UBL, CII or Facturae file.

Each ``validate_*`` takes the file's bytes, as received or as generated, and returns a
:class:`~einvoice.findings.ValidationReport`; none raises for a bad document. The steps, in
order, each only when the previous one found nothing:

1. parse safely (``xmlsafe``: no DTD, no entities, no network), and tell the document by its
   root element;
2. validate against the official XSD of that document (``schemas``);
3. run the official business rules as XSLT (``schematron``): for UBL, CEN's EN 16931 rules and
   the Peppol BIS Billing 3.0 rules; for CII, CEN's EN 16931 rules. Both rulesets run, so one
   report names every rule broken.

The rules are not run on a document the schema refuses: they assume its structure, and on
one that lacks it they may report nonsense or stop with a dynamic error.

"Valid" means no parse or schema error and no fatal assert; warnings are reported and never
invalidate (``findings.TOLERATED_WARNINGS`` lists those a generated file may carry).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from einvoice import schematron
from einvoice.artefacts import (
    CII_XSD,
    FACTURAE_XSD,
    UBL_APPLICATION_RESPONSE_XSD,
    UBL_CREDIT_NOTE_XSD,
    UBL_INVOICE_XSD,
)
from einvoice.findings import FATAL, Finding, ValidationReport
from einvoice.schemas import schema_findings
from einvoice.xmlsafe import Refused, parse_untrusted

UNEXPECTED_ROOT = "XML-ROOT"

UBL_INVOICE = "ubl:Invoice"
UBL_CREDIT_NOTE = "ubl:CreditNote"
UBL_APPLICATION_RESPONSE = "ubl:ApplicationResponse"
CII = "cii"
FACTURAE = "facturae"


@dataclass(frozen=True)
class Kind:
    """A document this app validates: its name in reports, its XSD, the rulesets run on it."""

    name: str
    xsd: Path
    rulesets: tuple[str, ...] = ()


_UBL = "urn:oasis:names:specification:ubl:schema:xsd"
UBL_KINDS = {
    f"{{{_UBL}:Invoice-2}}Invoice": Kind(
        UBL_INVOICE, UBL_INVOICE_XSD, (schematron.EN16931_UBL, schematron.PEPPOL_UBL)
    ),
    f"{{{_UBL}:CreditNote-2}}CreditNote": Kind(
        UBL_CREDIT_NOTE, UBL_CREDIT_NOTE_XSD, (schematron.EN16931_UBL, schematron.PEPPOL_UBL)
    ),
    # A status answer (received, accepted, rejected, paid): EN 16931 does not cover it, and
    # the Peppol Invoice Response rules are not vendored yet, so only its schema is checked.
    f"{{{_UBL}:ApplicationResponse-2}}ApplicationResponse": Kind(
        UBL_APPLICATION_RESPONSE, UBL_APPLICATION_RESPONSE_XSD
    ),
}
CII_KINDS = {
    "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice": Kind(
        CII, CII_XSD, (schematron.EN16931_CII,)
    ),
}
FACTURAE_KINDS = {
    "{http://www.facturae.gob.es/formato/Versiones/Facturaev3_2_2.xml}Facturae": Kind(
        FACTURAE, FACTURAE_XSD
    ),
}

RULESET_SOURCES = {
    schematron.EN16931_UBL: "en16931",
    schematron.EN16931_CII: "en16931",
    schematron.PEPPOL_UBL: "peppol",
}


def validate_ubl(xml: bytes) -> ValidationReport:
    """A UBL 2.1 Invoice or CreditNote against the UBL XSD, EN 16931 and Peppol BIS Billing
    3.0; an ApplicationResponse against its XSD."""
    return _validate(xml, UBL_KINDS, "UBL 2.1 (Invoice, CreditNote o ApplicationResponse)")


def validate_cii(xml: bytes) -> ValidationReport:
    """A UN/CEFACT Cross Industry Invoice (D16B) against its XSD and EN 16931."""
    return _validate(xml, CII_KINDS, "UN/CEFACT CII D16B (CrossIndustryInvoice)")


def validate_facturae(xml: bytes) -> ValidationReport:
    """A Facturae 3.2.2 file against its XSD, a ``ds:Signature`` against W3C's xmldsig XSD.

    The signature's structure only: :func:`einvoice.signing.verify_signature` verifies it.
    """
    return _validate(xml, FACTURAE_KINDS, "Facturae 3.2.2")


def _validate(xml: bytes, kinds: dict[str, Kind], expected: str) -> ValidationReport:
    try:
        root = parse_untrusted(xml)
    except Refused as refused:
        return ValidationReport.of("", [refused.finding])
    kind = kinds.get(root.tag)
    if kind is None:
        return ValidationReport.of("", [_unexpected_root(root, expected)])
    findings = schema_findings(kind.xsd, root)
    if findings or not kind.rulesets:
        return ValidationReport.of(kind.name, findings)
    document = schematron.saxon_document(root)
    for ruleset in kind.rulesets:
        findings += schematron.run(ruleset, document, RULESET_SOURCES[ruleset])
    return ValidationReport.of(kind.name, findings)


def _unexpected_root(root: etree._Element, expected: str) -> Finding:
    name = etree.QName(root)
    namespace = f" del espacio de nombres {name.namespace}" if name.namespace else ""
    return Finding(
        rule=UNEXPECTED_ROOT,
        flag=FATAL,
        message=f"El elemento raíz es {name.localname}{namespace}; se esperaba {expected}.",
        location=f"línea {root.sourceline}",
        source="xml",
    )
