"""The vendored official artefacts (``einvoice/artefacts/``), and how their imports stay local.

Every file under ``artefacts/`` is a copy of an official file, unedited; each folder's README
names its source, version and SHA-256 (``tests/test_einvoice_artefacts.py`` checks them). Only
this module knows their paths.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"

_UBL_MAINDOC = ARTEFACTS / "ubl-2.1" / "xsd" / "maindoc"
UBL_INVOICE_XSD = _UBL_MAINDOC / "UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = _UBL_MAINDOC / "UBL-CreditNote-2.1.xsd"
UBL_APPLICATION_RESPONSE_XSD = _UBL_MAINDOC / "UBL-ApplicationResponse-2.1.xsd"
CII_XSD = ARTEFACTS / "cen-en16931" / "cii" / "schema" / "CrossIndustryInvoice_100pD16B.xsd"
FACTURAE_XSD = ARTEFACTS / "facturae-3.2.2" / "Facturaev3_2_2.xsd"
XMLDSIG_XSD = ARTEFACTS / "w3c-xmldsig" / "xmldsig-core-schema.xsd"

EN16931_UBL_XSLT = ARTEFACTS / "cen-en16931" / "ubl" / "xslt" / "EN16931-UBL-validation.xslt"
EN16931_CII_XSLT = ARTEFACTS / "cen-en16931" / "cii" / "xslt" / "EN16931-CII-validation.xslt"
PEPPOL_UBL_SCH = ARTEFACTS / "peppol-bis-3" / "PEPPOL-EN16931-UBL.sch"
SCHXSLT_TRANSPILER = ARTEFACTS / "schxslt2" / "transpile.xsl"

# Facturae 3.2.2 imports the W3C schema by this URL; the UBL and CII schemas import only
# relative file names, which resolve inside their own folders.
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"


class LocalArtefacts(etree.Resolver):
    """Map the W3C xmldsig URL to the vendored copy; anything else resolves as a local file
    or not at all (the schema parser has ``no_network=True``)."""

    def resolve(self, system_url, public_id, context):  # type: ignore[override]
        if system_url == XMLDSIG_URL:
            return self.resolve_filename(str(XMLDSIG_XSD), context)
        return None
