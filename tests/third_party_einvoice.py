"""Validators of e-invoices that are not the product's own, for tests only (issue 21,
"Checked by others").

- :func:`xsd_errors`: the XSD check again with ``xmlschema`` (pure Python, on elementpath),
  not libxml2 as :mod:`einvoice.schemas` is, against the same vendored XSDs. The document is
  parsed by ``xmlschema`` too (ElementTree), so no part of the check is lxml's. Schemas load
  only local files (``allow="local"``, no fallback copies of xmlschema's own), Facturae's
  xmldsig import mapped to the vendored copy, with the network refused while they compile.
- :func:`peppol_findings`: ``peppol-ubl-validate``, an independent re-implementation in
  Python of the EN 16931 / Peppol BIS Billing 3.0 business rules (mandatory terms, the
  BR-CO calculations, the S, Z, E, AE and O category rules), with its own copy of the OASIS
  UBL 2.1 XSD.

Both compile once per process (:func:`functools.cache`).
"""

from __future__ import annotations

import io
import socket
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from unittest import mock

import xmlschema
from peppol import check_rules, validate_xsd

from einvoice.artefacts import (
    FACTURAE_XSD,
    UBL_CREDIT_NOTE_XSD,
    UBL_INVOICE_XSD,
    XMLDSIG_URL,
    XMLDSIG_XSD,
)

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
_UBL = "urn:oasis:names:specification:ubl:schema:xsd"
# One schema for both UBL documents: compiling UBL's common components once halves the time.
_UBL_DOCUMENTS = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="{_UBL}:Invoice-2" schemaLocation="{UBL_INVOICE_XSD.as_uri()}"/>
  <xs:import namespace="{_UBL}:CreditNote-2" schemaLocation="{UBL_CREDIT_NOTE_XSD.as_uri()}"/>
</xs:schema>"""


@contextmanager
def no_network() -> Iterator[None]:
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"A validator tried to reach the network: {args!r}")

    with (
        mock.patch.object(socket.socket, "connect", refuse),
        mock.patch.object(socket, "create_connection", refuse),
    ):
        yield


def compile_offline(source: str) -> xmlschema.XMLSchema10:
    """A schema read from local files only: an import or include that cannot be (a remote
    URL, a missing file) fails instead of being skipped with a warning."""
    with no_network(), warnings.catch_warnings():
        warnings.simplefilter("error", xmlschema.XMLSchemaImportWarning)
        warnings.simplefilter("error", xmlschema.XMLSchemaIncludeWarning)
        return xmlschema.XMLSchema10(
            source,
            allow="local",
            use_fallback=False,
            uri_mapper={XMLDSIG_URL: XMLDSIG_XSD.as_uri()},
        )


@cache
def ubl_schema() -> xmlschema.XMLSchema10:
    """UBL 2.1 Invoice and CreditNote, compiled by xmlschema from the vendored XSDs."""
    return compile_offline(_UBL_DOCUMENTS)


@cache
def facturae_schema() -> xmlschema.XMLSchema10:
    """Facturae 3.2.2 with the vendored W3C xmldsig schema, compiled by xmlschema."""
    return compile_offline(str(FACTURAE_XSD))


def loaded_from(schema: xmlschema.XMLSchema10, namespace: str) -> list[str]:
    """The URLs the schema's components of ``namespace`` were read from."""
    return [document.url for document in schema.maps.namespaces.get(namespace, [])]


def _errors(schema: xmlschema.XMLSchema10, xml: bytes) -> list[str]:
    with no_network():
        resource = xmlschema.XMLResource(io.BytesIO(xml), allow="none", defuse="always")
        return [f"{error.path}: {error.reason}" for error in schema.iter_errors(resource)]


def xsd_errors(xml: bytes, *, facturae: bool = False) -> list[str]:
    """Every error xmlschema finds in a UBL (or, with ``facturae``, a Facturae) document."""
    return _errors(facturae_schema() if facturae else ubl_schema(), xml)


def peppol_findings(xml: bytes) -> list[str]:
    """The schema errors and fatal rule findings of peppol-ubl-validate (none when valid)."""
    valid, errors = validate_xsd(xml)
    findings = [] if valid else list(errors)
    findings += [str(f) for f in check_rules(xml) if f.severity == "fatal"]
    return findings
