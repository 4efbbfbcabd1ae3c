"""The XSDs (UBL 2.1, CII D16B, Facturae 3.2.2), compiled from the vendored files.

Their imports resolve locally (``artefacts.LocalArtefacts``, and a parser with no network),
so validating never reaches for the network.
"""

from __future__ import annotations

import threading
from pathlib import Path

from lxml import etree

from einvoice.artefacts import LocalArtefacts
from einvoice.findings import FATAL, Finding

XSD = "XSD"

# libxml2 compiles schemas with process-wide state and crashed when two threads compiled at
# once (verifactu.xmlkit has the story); compiling is rare, so it is serialised.
_COMPILING = threading.Lock()
# A compiled schema keeps the error log of its last validation, so no two threads share one.
_local = threading.local()


def _compile(path: Path) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(LocalArtefacts())
    with _COMPILING:
        return etree.XMLSchema(etree.parse(str(path), parser))


def schema(path: Path) -> etree.XMLSchema:
    """This thread's compiled schema of the vendored XSD at ``path``."""
    compiled: dict[Path, etree.XMLSchema] = _local.__dict__.setdefault("schemas", {})
    if path not in compiled:
        compiled[path] = _compile(path)
    return compiled[path]


def schema_findings(path: Path, root: etree._Element) -> list[Finding]:
    """Every error of ``root``'s document against the XSD at ``path`` (none when valid)."""
    xsd = schema(path)
    if xsd.validate(root.getroottree()):
        return []
    return [
        Finding(
            rule=XSD,
            flag=FATAL,
            message=error.message,
            location=f"línea {error.line}",
            source="xsd",
        )
        for error in xsd.error_log
    ]
