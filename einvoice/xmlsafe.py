"""Reading a document someone else wrote: no DTD, no entities, no network, libxml2's limits.

An e-invoice (UBL, CII, Facturae) never needs a document type declaration, so any document
that carries one is refused before anything in it is resolved: that closes external entities
(XXE), entity expansion ("billion laughs") and remote DTDs in one rule. Findings are in
Spanish: they are shown to the person who uploaded the file.
"""

from __future__ import annotations

from lxml import etree

from einvoice.findings import FATAL, Finding

MALFORMED = "XML"
DTD_REFUSED = "XML-DTD"


class Refused(Exception):
    """The bytes are not a document this app reads; ``finding`` says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )


def parse_untrusted(xml: bytes) -> etree._Element:
    """The root element of ``xml``, or :class:`Refused` (malformed, or it declares a DTD)."""
    try:
        root = etree.fromstring(xml, parser=_parser())
    except etree.XMLSyntaxError as error:
        line = f"línea {error.lineno}" if error.lineno else ""
        raise Refused(
            Finding(
                rule=MALFORMED,
                flag=FATAL,
                message=f"El fichero no es un XML bien formado: {error.msg}",
                location=line,
                source="xml",
            )
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise Refused(
            Finding(
                rule=DTD_REFUSED,
                flag=FATAL,
                message=(
                    "El fichero declara un DTD (<!DOCTYPE …>). Una factura electrónica no lo "
                    "necesita, y no se lee nada de él: ni entidades ni ficheros externos."
                ),
                location="línea 1",
                source="xml",
            )
        )
    return root
