"""Read one received e-invoice file: tell its format, validate it, map it.

A file is read only when its validation found no fatal problem (``ValidationReport.valid``):
a document the official rules refuse is not half-read, the result carries the report instead.
Nothing here raises for a bad file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from lxml import etree

from einvoice.findings import FATAL, Finding, ValidationReport
from einvoice.inbound.amounts import Unreadable
from einvoice.inbound.document import ReadResult, ReceivedDocument
from einvoice.inbound.read_cii import read_cii
from einvoice.inbound.read_facturae import read_facturae
from einvoice.inbound.read_ubl import read_ubl
from einvoice.validation import (
    CII_KINDS,
    FACTURAE_KINDS,
    UBL_APPLICATION_RESPONSE,
    UBL_KINDS,
    Kind,
    validate_cii,
    validate_facturae,
    validate_ubl,
)
from einvoice.xmlsafe import Refused, parse_untrusted

NOT_AN_INVOICE = "INBOUND-FORMAT"
EMPTY = "INBOUND-EMPTY"
FAILED = "INBOUND-FAILED"

logger = logging.getLogger(__name__)

Mapper = Callable[[etree._Element], tuple[ReceivedDocument, ...]]
_FORMATS: list[tuple[dict[str, Kind], Callable[[bytes], ValidationReport], Mapper]] = [
    (UBL_KINDS, validate_ubl, lambda root: (read_ubl(root),)),
    (CII_KINDS, validate_cii, lambda root: (read_cii(root),)),
    (FACTURAE_KINDS, validate_facturae, read_facturae),
]


def read_received(data: bytes, name: str = "") -> ReadResult:
    """The documents in ``data`` (one, or a Facturae batch's), or why there are none.

    A defect of ours met while mapping a valid file is logged and reported as this file's
    error, so that one file never stops the others of an upload."""
    try:
        return dataclasses.replace(_read(data, name), content=data)
    except Exception:
        logger.exception("Reading a received e-invoice failed (%s)", name or "upload")
        return ReadResult(
            name=name,
            errors=(
                _finding(
                    FAILED,
                    "No se ha podido leer el fichero por un error interno; el resto del envío "
                    "se ha leído. Avísenos si se repite.",
                ),
            ),
        )


def _read(data: bytes, name: str) -> ReadResult:
    try:
        root = parse_untrusted(data)
    except Refused as refused:
        return ReadResult(name=name, errors=(refused.finding,))
    for kinds, validate, mapper in _FORMATS:
        kind = kinds.get(root.tag)
        if kind is None:
            continue
        if kind.name == UBL_APPLICATION_RESPONSE:
            break
        report = validate(data)
        if not report.valid:
            return ReadResult(name=name, errors=tuple(report.errors), report=report)
        try:
            documents = mapper(root)
        except Unreadable as unreadable:
            return ReadResult(name=name, errors=(unreadable.finding,), report=report)
        if not documents:
            return ReadResult(
                name=name,
                errors=(_finding(EMPTY, "El fichero no contiene ninguna factura."),),
                report=report,
            )
        return ReadResult(name=name, documents=documents, report=report)
    return ReadResult(name=name, errors=(_not_an_invoice(root),))


def _finding(rule: str, message: str, location: str = "") -> Finding:
    return Finding(rule=rule, flag=FATAL, message=message, location=location, source="inbound")


def _not_an_invoice(root: etree._Element) -> Finding:
    return _finding(
        NOT_AN_INVOICE,
        f"El fichero no es una factura electrónica que se sepa leer (su elemento raíz es "
        f"{etree.QName(root).localname}): se admiten UBL 2.1 (Invoice, CreditNote), "
        "UN/CEFACT CII y Facturae 3.2.2.",
        f"línea {root.sourceline}",
    )
