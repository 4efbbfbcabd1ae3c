"""Namespaces and the AEAT XML schemas, loaded from the vendored files with no network."""

from __future__ import annotations

import functools
import threading
from pathlib import Path

from lxml import etree

_VALIDATE_LOCK = threading.Lock()
SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
WSDL_PATH = SCHEMA_DIR / "SistemaFacturacion.wsdl"
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"

_BASE = (
    "https://www2.agenciatributaria.gob.es/static_files/common/internet/dep/aplicaciones/"
    "es/aeat/tike/cont/ws/"
)
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SF = _BASE + "SuministroInformacion.xsd"
NS_SFLR = _BASE + "SuministroLR.xsd"
NS_SFR = _BASE + "RespuestaSuministro.xsd"
NS_SFLRC = _BASE + "ConsultaLR.xsd"
NS_SFLRRC = _BASE + "RespuestaConsultaLR.xsd"
NSMAP = {
    "env": SOAP_ENV,
    "sf": NS_SF,
    "sfLR": NS_SFLR,
    "sfR": NS_SFR,
    "sfLRC": NS_SFLRC,
    "sfLRRC": NS_SFLRRC,
}


class LocalResolver(etree.Resolver):
    """Maps the W3C xmldsig URL to the vendored copy and refuses any other remote URL."""

    def resolve(self, system_url, public_id, context):  # noqa: ANN001, ANN201 - lxml API
        if system_url == XMLDSIG_URL:
            return self.resolve_filename(str(SCHEMA_DIR / "xmldsig-core-schema.xsd"), context)
        if system_url and system_url.startswith(("http://", "https://")):
            raise OSError(f"refusing to fetch {system_url}: the simulator never uses the network")
        return None


def _parser() -> etree.XMLParser:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(LocalResolver())
    return parser


# The server answers each request in a thread of its own, and libxml2 compiles an XSD with
# process-wide state: two first requests compiling the schema at once crashed the simulator
# (a segmentation fault). It is compiled once, under this lock.
_COMPILE_LOCK = threading.Lock()


def combined_schema() -> etree.XMLSchema:
    """One schema holding requests and responses of both operations (compiled once)."""
    with _COMPILE_LOCK:
        return _compiled_schema()


@functools.cache
def _compiled_schema() -> etree.XMLSchema:
    """The schema of :func:`combined_schema`.

    Built from an in-memory wrapper that imports the four top-level XSDs, so every element
    (``RegFactuSistemaFacturacion``, ``ConsultaFactuSistemaFacturacion`` and both answers)
    validates against the same compiled set.
    """
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{name}"/>'
        for ns, name in (
            (NS_SFLR, "SuministroLR.xsd"),
            (NS_SFLRC, "ConsultaLR.xsd"),
            (NS_SFR, "RespuestaSuministro.xsd"),
            (NS_SFLRRC, "RespuestaConsultaLR.xsd"),
        )
    )
    wrapper = f'<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{imports}</xs:schema>'
    doc = etree.fromstring(
        wrapper.encode(), parser=_parser(), base_url=str(SCHEMA_DIR / "wrapper.xsd")
    ).getroottree()
    return etree.XMLSchema(doc)


def validate_element(element: etree._Element) -> list[str]:
    """Validate ``element`` as a standalone document; returns the error messages (empty = ok)."""
    copy = etree.fromstring(etree.tostring(element), parser=etree.XMLParser(no_network=True))
    schema = combined_schema()
    with _VALIDATE_LOCK:  # the schema's error log is shared state
        if schema.validate(copy):
            return []
        return [f"{e.message}" for e in schema.error_log]


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML safely: no network, no entity expansion, no huge trees."""
    parser = etree.XMLParser(
        no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
    )
    return etree.fromstring(data, parser=parser)
