"""The official business rules, run as XSLT by Saxon (saxonche), compiled once per process.

Each ruleset is one stylesheet producing SVRL: CEN publishes its EN 16931 rules already
compiled from the Schematron to XSLT, which is run as published; OpenPEPPOL publishes the
Peppol BIS Billing 3.0 rules only as Schematron, which is transpiled here with SchXslt2 (both
vendored unedited) and then compiled. Compiling takes seconds, so it happens once per process,
on first use, under a lock; never at import, so that a parent that forks (gunicorn, Celery's
prefork pool) has no Saxon state its children would inherit half-alive.

A compiled ``PyXsltExecutable`` is not thread-safe (saxonche's documentation): each thread
runs its own clone of the one compiled per process.

Saxon may only open ``file:`` URIs (``allowedProtocols``): the stylesheets read nothing but
their own files, and a document's content never makes Saxon reach the network. The document
itself reaches Saxon only as the text lxml serialises from the tree ``xmlsafe`` accepted, which
carries no DTD.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor, PyXdmNode, PyXsltExecutable

from einvoice.artefacts import (
    EN16931_CII_XSLT,
    EN16931_UBL_XSLT,
    PEPPOL_UBL_SCH,
    SCHXSLT_TRANSPILER,
)
from einvoice.findings import FATAL, Finding

EN16931_UBL = "en16931-ubl"
EN16931_CII = "en16931-cii"
PEPPOL_UBL = "peppol-ubl"
RULES_UNAVAILABLE = "RULES"

SVRL = "http://purl.oclc.org/dsdl/svrl"
ALLOWED_PROTOCOLS = "http://saxon.sf.net/feature/allowedProtocols"

_lock = threading.Lock()
_compiling = threading.Lock()
_processor: PySaxonProcessor | None = None
_executables: dict[str, PyXsltExecutable] = {}
_local = threading.local()


def processor() -> PySaxonProcessor:
    """The process's Saxon processor, made on first use."""
    global _processor
    made = _processor
    if made is None:
        with _lock:
            if _processor is None:
                made = PySaxonProcessor(license=False)
                made.set_configuration_property(ALLOWED_PROTOCOLS, "file")
                _processor = made
            made = _processor
    return made


def _compile_file(path: Path) -> PyXsltExecutable:
    return processor().new_xslt30_processor().compile_stylesheet(stylesheet_file=str(path))


def _compile_schematron(path: Path) -> PyXsltExecutable:
    """Transpile the Schematron at ``path`` with SchXslt2, then compile the result."""
    saxon = processor()
    transpiler = _compile_file(SCHXSLT_TRANSPILER)
    schema = saxon.parse_xml(xml_file_name=str(path))
    stylesheet = transpiler.transform_to_value(xdm_node=schema)
    return saxon.new_xslt30_processor().compile_stylesheet(stylesheet_node=stylesheet.head)


RULESETS: dict[str, Callable[[], PyXsltExecutable]] = {
    EN16931_UBL: lambda: _compile_file(EN16931_UBL_XSLT),
    EN16931_CII: lambda: _compile_file(EN16931_CII_XSLT),
    PEPPOL_UBL: lambda: _compile_schematron(PEPPOL_UBL_SCH),
}


def compile_ruleset(name: str) -> PyXsltExecutable:
    """Compile the ruleset ``name`` (one of :data:`RULESETS`); :func:`executable` caches it."""
    return RULESETS[name]()


def executable(name: str) -> PyXsltExecutable:
    """The ruleset ``name``, compiled by the first caller of the process; others wait for it."""
    compiled = _executables.get(name)
    if compiled is None:
        with _compiling:
            compiled = _executables.get(name)
            if compiled is None:
                compiled = _executables[name] = compile_ruleset(name)
    return compiled


def _thread_copy(name: str) -> PyXsltExecutable:
    """This thread's clone of the process's compiled ruleset ``name``."""
    compiled = executable(name)
    clones: dict[str, tuple[PyXsltExecutable, PyXsltExecutable]] = _local.__dict__.setdefault(
        "clones", {}
    )
    held = clones.get(name)
    if held is None or held[0] is not compiled:
        held = clones[name] = (compiled, compiled.clone())
    return held[1]


def saxon_document(root: etree._Element) -> PyXdmNode:
    """``root``'s document as Saxon's tree, parsed from lxml's serialisation (no DTD)."""
    text = etree.tostring(root, encoding="unicode")
    return processor().parse_xml(xml_text=text, encoding="UTF-8")


def run(name: str, document: PyXdmNode, source: str) -> list[Finding]:
    """The failed asserts and successful reports of ruleset ``name`` over ``document``."""
    try:
        svrl = _thread_copy(name).transform_to_string(xdm_node=document)
    except PySaxonApiError as error:
        return [
            Finding(
                rule=RULES_UNAVAILABLE,
                flag=FATAL,
                message=f"No se pudieron evaluar las reglas {name}: {error}",
                location="",
                source=source,
            )
        ]
    return svrl_findings(svrl.encode(), source)


def svrl_findings(svrl: bytes, source: str) -> list[Finding]:
    """The findings of an SVRL report: each ``failed-assert`` and ``successful-report``."""
    report = etree.fromstring(svrl, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    findings = []
    for fired in report.iter(f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"):
        text = fired.find(f"{{{SVRL}}}text")
        message = " ".join("".join(text.itertext()).split()) if text is not None else ""
        findings.append(
            Finding(
                rule=fired.get("id", ""),
                flag=fired.get("flag") or FATAL,
                message=message,
                location=fired.get("location", ""),
                source=source,
            )
        )
    return findings
