"""What every AEAT document the engine writes or reads shares: namespaces, text, schemas.

Records (:mod:`verifactu.xml`), their envelopes (:mod:`verifactu.envelopes`) and events
(:mod:`verifactu.event_xml`) write their text through :func:`text` and :func:`optional`, and
validate against the vendored XSDs of :data:`SCHEMAS_DIR` (never the network).

Pure Python + lxml: no Django.
"""

from __future__ import annotations

import threading
from dataclasses import MISSING, fields
from pathlib import Path
from typing import TypeVar

from lxml import etree

AEAT_BASE = (
    "https://www2.agenciatributaria.gob.es/static_files/common/internet/dep/aplicaciones/"
    "es/aeat/tike/cont/ws/"
)
NS_SF = AEAT_BASE + "SuministroInformacion.xsd"
NS_LR = AEAT_BASE + "SuministroLR.xsd"
NS_EV = AEAT_BASE + "EventosSIF.xsd"
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"


_Frozen = TypeVar("_Frozen", bound=type)


def quick_init(cls: _Frozen) -> _Frozen:
    """Give a frozen, slotted dataclass an ``__init__`` that fills each slot through its
    descriptor, the rest of the class (frozen, eq, hash, repr) as ``dataclass`` made it.

    Why by hand: ``dataclass(frozen=True)`` fills each field with ``object.__setattr__`` (a
    global lookup, an attribute lookup and a call per field), so building a record's data
    (AltaData has 27 fields, each BreakdownLine 10) cost about as much as hashing and
    rendering it, and the record pipeline is benchmarked against another library
    (bench/README.md). The generated ``__init__`` takes the same parameters (positional and
    keyword-only, the same defaults) and calls ``__post_init__`` as dataclass's does; fields
    with a ``default_factory`` or ``init=False`` are refused here rather than half-supported.
    """
    own = fields(cls)
    for f in own:
        if not f.init or f.default_factory is not MISSING:
            raise TypeError(f"quick_init: {cls.__name__}.{f.name} needs dataclass's __init__")
    namespace: dict[str, object] = {}

    def parameter(f) -> str:
        if f.default is MISSING:
            return f.name
        namespace[f"_default_{f.name}"] = f.default
        return f"{f.name}=_default_{f.name}"

    positional = [parameter(f) for f in own if not f.kw_only]
    keyword = [parameter(f) for f in own if f.kw_only]
    params = ", ".join(["self", *positional, *(["*", *keyword] if keyword else [])])
    body = []
    for f in own:
        namespace[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
        body.append(f"    _set_{f.name}(self, {f.name})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    exec(f"def __init__({params}):\n" + "\n".join(body), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


def xml_escape(value: str) -> str:
    """Escape ``& < > " '`` for XML text; fast path when there is nothing to escape."""
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', "&quot;")
            .replace("'", "&apos;")
        )
    return value


def text(value: str) -> str:
    """A text value as it goes in the XML: trimmed, then escaped.

    AEAT ignores edge blanks when hashing, so the XML must not carry them either (SPEC §1),
    otherwise the QR and AEAT could disagree.
    """
    value = value.strip()
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return xml_escape(value)
    return value


def optional(tag: str, value: str | None) -> str:
    """``<tag>value</tag>``, or nothing when ``value`` is None."""
    if value is None:
        return ""
    return f"<{tag}>{text(value)}</{tag}>"


class LocalSchemas(etree.Resolver):
    """Map AEAT's import of the W3C xmldsig schema to the vendored copy; never the network."""

    def resolve(self, system_url, public_id, context):  # type: ignore[override]
        if system_url == XMLDSIG_URL or system_url.endswith("/xmldsig-core-schema.xsd"):
            return self.resolve_filename(str(SCHEMAS_DIR / "xmldsig-core-schema.xsd"), context)
        return None


# libxml2 compiles an XSD with process-wide state (its table of built-in types is filled on
# first use): two threads compiling at once crashed a process ("the given type 'anyURI' is
# not a built-in type", then a segmentation fault). Compiling is rare (once per thread and
# file), so it is serialised; validating is not.
_COMPILE_LOCK = threading.Lock()


def load_schema(filename: str) -> etree.XMLSchema:
    """The vendored XSD ``filename`` (``SuministroLR.xsd``, ``EventosSIF.xsd``), freshly loaded."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(LocalSchemas())
    with _COMPILE_LOCK:
        doc = etree.parse(str(SCHEMAS_DIR / filename), parser)
        return etree.XMLSchema(doc)


# lxml keeps the last error_log on the schema object, so each thread gets its own schemas
# (loaded once per thread, ~0.1 s each) instead of sharing them behind a lock.
_local = threading.local()


def schema(filename: str) -> etree.XMLSchema:
    """This thread's copy of the vendored XSD ``filename`` (see :func:`load_schema`)."""
    schemas = getattr(_local, "schemas", None)
    if schemas is None:
        schemas = _local.schemas = {}
    loaded = schemas.get(filename)
    if loaded is None:
        loaded = schemas[filename] = load_schema(filename)
    return loaded


def instance_parser() -> etree.XMLParser:
    """This thread's parser for documents (not schemas): no network, no entities, no DTD."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False
        )
    return parser
