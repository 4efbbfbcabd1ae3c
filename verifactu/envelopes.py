"""The envelopes of records sent to the AEAT, and their XSD validation (SPEC §3).

:func:`build_envelope` wraps record fragments (:mod:`verifactu.xml`) in the
``RegFactuSistemaFacturacion`` request the flush sends; :func:`build_requerimiento_envelope`
wraps signed ones for a requerimiento. :func:`validate_envelope` checks a document against the
vendored SuministroLR.xsd, and :func:`validate_record` one fragment in a minimal envelope.

Pure Python + lxml: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from verifactu.xml import BuiltRecord, Obligado
from verifactu.xmlkit import NS_LR, NS_SF, instance_parser, schema
from verifactu.xmlkit import optional as _opt
from verifactu.xmlkit import text as _t

MAX_RECORDS_PER_ENVELOPE = 1000

_ALTA_DECL = f'<RegistroAlta xmlns="{NS_SF}">'
_ANUL_DECL = f'<RegistroAnulacion xmlns="{NS_SF}">'


def _undeclared(fragment: str) -> str:
    if fragment.startswith(_ALTA_DECL):
        return "<RegistroAlta>" + fragment[len(_ALTA_DECL) :]
    if fragment.startswith(_ANUL_DECL):
        return "<RegistroAnulacion>" + fragment[len(_ANUL_DECL) :]
    return fragment


def _persona_es(tag: str, p: Obligado) -> str:
    return f"<{tag}><NombreRazon>{_t(p.nombre_razon)}</NombreRazon><NIF>{_t(p.nif)}</NIF></{tag}>"


def build_envelope(
    obligado: Obligado,
    records: Sequence[BuiltRecord | str],
    *,
    representante: Obligado | None = None,
    fecha_fin_verifactu: str | None = None,
    incidencia: str | None = None,
    ref_requerimiento: str | None = None,
    fin_requerimiento: str | None = None,
) -> bytes:
    """The ``sfLR:RegFactuSistemaFacturacion`` request body (UTF-8 bytes), 1..1000 records.

    ``records`` are BuiltRecords or their fragment strings, in chain order.
    """
    if not 1 <= len(records) <= MAX_RECORDS_PER_ENVELOPE:
        raise ValueError(
            f"an envelope holds 1..{MAX_RECORDS_PER_ENVELOPE} records, got {len(records)}"
        )
    header = [_persona_es("ObligadoEmision", obligado)]
    if representante is not None:
        header.append(_persona_es("Representante", representante))
    if fecha_fin_verifactu is not None or incidencia is not None:
        header.append(
            "<RemisionVoluntaria>"
            + _opt("FechaFinVeriFactu", fecha_fin_verifactu)
            + _opt("Incidencia", incidencia)
            + "</RemisionVoluntaria>"
        )
    if ref_requerimiento is not None:
        header.append(
            "<RemisionRequerimiento>"
            + _opt("RefRequerimiento", ref_requerimiento)
            + _opt("FinRequerimiento", fin_requerimiento)
            + "</RemisionRequerimiento>"
        )
    # Our fragments declare the default namespace on their root; inside the envelope the root
    # already declares it, and dropping the repeats makes the parse measurably cheaper.
    body = "</sfLR:RegistroFactura><sfLR:RegistroFactura>".join(
        [_undeclared(r if isinstance(r, str) else r.xml) for r in records]
    )
    return "".join(
        (
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<sfLR:RegFactuSistemaFacturacion xmlns:sfLR="{NS_LR}" xmlns="{NS_SF}">',
            "<sfLR:Cabecera>",
            *header,
            "</sfLR:Cabecera>",
            "<sfLR:RegistroFactura>",
            body,
            "</sfLR:RegistroFactura>",
            "</sfLR:RegFactuSistemaFacturacion>",
        )
    ).encode("utf-8")


def build_requerimiento_envelope(
    obligado: Obligado,
    records: Sequence[str],
    *,
    ref_requerimiento: str,
    fin_requerimiento: str = "S",
    representante: Obligado | None = None,
) -> bytes:
    """``RegFactuSistemaFacturacion`` for the Requerimiento endpoint, without prefixes.

    ``records`` are signed record fragments (``RegistroAlta`` / ``RegistroAnulacion`` with
    their enveloped XAdES signature), kept byte for byte, each with its own default namespace
    declaration. Every element around them uses a *default* namespace declaration and no
    prefix, so no namespace declaration is in scope at a record other than its own: the
    inclusive C14N 1.0 of a record taken out of this document (in place, or serialised on its
    own) equals that of the standalone record that was signed, and its ``URI=""`` signature
    still verifies. (With :func:`build_envelope`'s ``sfLR:`` prefix, the inherited
    ``xmlns:sfLR`` enters the canonical form and both the digest and SignatureValue fail.)
    """
    if not 1 <= len(records) <= MAX_RECORDS_PER_ENVELOPE:
        raise ValueError(
            f"an envelope holds 1..{MAX_RECORDS_PER_ENVELOPE} records, got {len(records)}"
        )
    ref = ref_requerimiento.strip()
    if not 1 <= len(ref) <= 18:
        raise ValueError("RefRequerimiento has 1 to 18 characters")
    if fin_requerimiento not in ("S", "N"):
        raise ValueError("FinRequerimiento is S or N")

    def persona(tag: str, p: Obligado) -> str:
        return (
            f'<{tag} xmlns="{NS_SF}"><NombreRazon>{_t(p.nombre_razon)}</NombreRazon>'
            f"<NIF>{_t(p.nif)}</NIF></{tag}>"
        )

    header = [persona("ObligadoEmision", obligado)]
    if representante is not None:
        header.append(persona("Representante", representante))
    header.append(
        f'<RemisionRequerimiento xmlns="{NS_SF}">'
        f"<RefRequerimiento>{_t(ref)}</RefRequerimiento>"
        f"<FinRequerimiento>{fin_requerimiento}</FinRequerimiento>"
        "</RemisionRequerimiento>"
    )
    body = "".join(f"<RegistroFactura>{record}</RegistroFactura>" for record in records)
    return "".join(
        (
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<RegFactuSistemaFacturacion xmlns="{NS_LR}">',
            "<Cabecera>",
            *header,
            "</Cabecera>",
            body,
            "</RegFactuSistemaFacturacion>",
        )
    ).encode("utf-8")


# --------------------------------------------------------------------------- validation

_PREFIXES = ((f"{{{NS_SF}}}", "sf:"), (f"{{{NS_LR}}}", "sfLR:"))


def _short(message: str) -> str:
    for uri, prefix in _PREFIXES:
        message = message.replace(uri, prefix)
    return message


def _readable_path(doc: etree._Element, path: str | None) -> str:
    """Turn libxml2's path (``…/*/*[6]`` for default-namespace elements) into local names,
    indexed where siblings repeat: ``RegFactuSistemaFacturacion/RegistroFactura[2]/…``."""
    if not path:
        return "?"
    try:
        nodes = doc.getroottree().xpath(path, namespaces={"sfLR": NS_LR, "sf": NS_SF})
    except etree.XPathError:
        return _short(path)
    if not nodes or not isinstance(nodes[0], etree._Element):
        return _short(path)
    steps = []
    node = nodes[0]
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/".join(reversed(steps))


def validate_envelope(xml_bytes: bytes | str) -> list[str]:
    """XSD-validate a RegFactuSistemaFacturacion document; ``[]`` when valid.

    Each message names the offending element and its path
    (``RegFactuSistemaFacturacion/RegistroFactura[3]/RegistroAlta/…``), so a caller can map
    it to the record.
    """
    if isinstance(xml_bytes, str):
        xml_bytes = xml_bytes.encode("utf-8")
    try:
        doc = etree.fromstring(xml_bytes, instance_parser())
    except etree.XMLSyntaxError as exc:
        return [f"XML not well-formed: {exc}"]
    xsd = schema("SuministroLR.xsd")
    if xsd.validate(doc):
        return []
    return [
        f"{_readable_path(doc, e.path)}: {_short(e.message)} (line {e.line})" for e in xsd.error_log
    ]


_MIN_OBLIGADO = Obligado("VALIDATION", "00000000T")


def validate_record(fragment: str | bytes | BuiltRecord) -> list[str]:
    """Validate one record fragment by wrapping it in a minimal one-record envelope."""
    if isinstance(fragment, BuiltRecord):
        fragment = fragment.xml
    if isinstance(fragment, bytes):
        fragment = fragment.decode("utf-8")
    if fragment.startswith("<?xml"):
        fragment = fragment[fragment.index("?>") + 2 :].lstrip()
    return validate_envelope(build_envelope(_MIN_OBLIGADO, [fragment]))
