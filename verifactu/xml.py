"""Fast builder and reader of VERI*FACTU record XML (SPEC §3–§4).

Records (``RegistroAlta`` / ``RegistroAnulacion``) are rendered from string templates, not
element by element: building lxml trees costs several times more than the whole budget of
the record pipeline (≥14,000 records/s built, hashed, serialised and XSD-validated on one
core). Every text value goes through :func:`verifactu.xmlkit.text`, and the XSD validation
of the whole envelope (:mod:`verifactu.envelopes`, parsed once) is the safety net for the
structure. The element order follows SuministroInformacion.xsd exactly.

Inputs are frozen dataclasses whose amounts, dates and timestamps are already the literals
produced by :mod:`verifactu.huella`'s formatters. The builder hashes those same literals
(after trimming edge blanks, which it also does for the XML), so the text hashed is the text
in the XML. :func:`parse_record` reads the hashed literals back from the XML text alone.

Pure Python + lxml: no Django.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from verifactu.huella import huella_alta, huella_anulacion
from verifactu.xmlkit import NS_SF, instance_parser, quick_init, xml_escape
from verifactu.xmlkit import optional as _opt
from verifactu.xmlkit import text as _t

__all__ = [
    "AltaData",
    "AnulacionData",
    "BreakdownLine",
    "BuiltRecord",
    "IDOtro",
    "ImporteRectificacion",
    "InvoiceId",
    "Obligado",
    "PreviousRecord",
    "Recipient",
    "SistemaInformatico",
    "build_alta",
    "build_anulacion",
    "parse_record",
    "recompute_huella",
]

ID_TYPES = frozenset({"02", "03", "04", "05", "06", "07"})


# --------------------------------------------------------------------------- input data


@quick_init
@dataclass(frozen=True, slots=True)
class IDOtro:
    """Foreign / non-NIF identifier: ``id_type`` 02–07 (07 = not in census), ``country`` ISO."""

    id_type: str
    id: str
    country: str | None = None

    def __post_init__(self) -> None:
        if self.id_type not in ID_TYPES:
            raise ValueError(f"IDOtro id_type must be one of 02–07, got {self.id_type!r}")

    def to_xml(self) -> str:
        country = _opt("CodigoPais", self.country)
        return (
            f"<IDOtro>{country}<IDType>{_t(self.id_type)}</IDType><ID>{_t(self.id)}</ID></IDOtro>"
        )


def _nif_or_otro_xml(nif: str | None, id_otro: IDOtro | None) -> str:
    if (nif is None) == (id_otro is None):
        raise ValueError("exactly one of nif / id_otro is required")
    if nif is not None:
        return f"<NIF>{_t(nif)}</NIF>"
    assert id_otro is not None
    return id_otro.to_xml()


@quick_init
@dataclass(frozen=True, slots=True)
class Recipient:
    """A PersonaFisicaJuridicaType: recipient, Tercero or Generador (NIF xor IDOtro)."""

    nombre_razon: str
    nif: str | None = None
    id_otro: IDOtro | None = None

    def __post_init__(self) -> None:
        if (self.nif is None) == (self.id_otro is None):
            raise ValueError("Recipient needs exactly one of nif / id_otro")

    def body_xml(self) -> str:
        return f"<NombreRazon>{_t(self.nombre_razon)}</NombreRazon>" + _nif_or_otro_xml(
            self.nif, self.id_otro
        )


@dataclass(frozen=True, slots=True)
class Obligado:
    """ObligadoEmision / Representante of the envelope header (Spanish NIF only)."""

    nombre_razon: str
    nif: str


@dataclass(frozen=True, slots=True)
class SistemaInformatico:
    """Our software's SistemaInformatico block (the same in every record, rendered once)."""

    nombre_razon: str
    nombre_sistema: str
    id_sistema: str
    version: str
    numero_instalacion: str
    nif: str | None = None
    id_otro: IDOtro | None = None
    solo_verifactu: str = "N"
    multi_ot: str = "S"
    multiples_ot: str = "N"
    _xml: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        xml = (
            "<SistemaInformatico>"
            f"<NombreRazon>{_t(self.nombre_razon)}</NombreRazon>"
            + _nif_or_otro_xml(self.nif, self.id_otro)
            + f"<NombreSistemaInformatico>{_t(self.nombre_sistema)}"
            "</NombreSistemaInformatico>"
            f"<IdSistemaInformatico>{_t(self.id_sistema)}</IdSistemaInformatico>"
            f"<Version>{_t(self.version)}</Version>"
            f"<NumeroInstalacion>{_t(self.numero_instalacion)}</NumeroInstalacion>"
            f"<TipoUsoPosibleSoloVerifactu>{_t(self.solo_verifactu)}"
            "</TipoUsoPosibleSoloVerifactu>"
            f"<TipoUsoPosibleMultiOT>{_t(self.multi_ot)}</TipoUsoPosibleMultiOT>"
            f"<IndicadorMultiplesOT>{_t(self.multiples_ot)}</IndicadorMultiplesOT>"
            "</SistemaInformatico>"
        )
        object.__setattr__(self, "_xml", xml)

    def to_xml(self) -> str:
        return self._xml


@quick_init
@dataclass(frozen=True, slots=True)
class PreviousRecord:
    """The previous record of the chain (for an anulación: the annulled invoice's ID)."""

    nif: str
    numserie: str
    fecha: str
    huella: str


@quick_init
@dataclass(frozen=True, slots=True)
class InvoiceId:
    """IDFacturaRectificada / IDFacturaSustituida."""

    nif: str
    numserie: str
    fecha: str


@dataclass(frozen=True, slots=True)
class ImporteRectificacion:
    """ImporteRectificacion of a substitutive rectificativa (TipoRectificativa=S)."""

    base: str
    cuota: str
    cuota_recargo: str | None = None


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class BreakdownLine:
    """One DetalleDesglose; exactly one of ``calificacion`` (S1/S2/N1/N2) / ``exenta`` (E1–E8)."""

    base: str
    impuesto: str | None = None
    clave_regimen: str | None = None
    calificacion: str | None = None
    exenta: str | None = None
    tipo_impositivo: str | None = None
    base_a_coste: str | None = None
    cuota: str | None = None
    tipo_recargo: str | None = None
    cuota_recargo: str | None = None

    def __post_init__(self) -> None:
        if (self.calificacion is None) == (self.exenta is None):
            raise ValueError("BreakdownLine needs exactly one of calificacion / exenta")

    def to_xml(self) -> str:
        # Hot path (1–12 per record): inline conditionals instead of helper calls.
        kind = (
            f"<CalificacionOperacion>{_t(self.calificacion)}</CalificacionOperacion>"
            if self.calificacion is not None
            else f"<OperacionExenta>{_t(self.exenta or '')}</OperacionExenta>"
        )
        impuesto, clave, tipo = self.impuesto, self.clave_regimen, self.tipo_impositivo
        coste, cuota = self.base_a_coste, self.cuota
        recargo, cuota_recargo = self.tipo_recargo, self.cuota_recargo
        return "".join(
            (
                "<DetalleDesglose>",
                "" if impuesto is None else f"<Impuesto>{_t(impuesto)}</Impuesto>",
                "" if clave is None else f"<ClaveRegimen>{_t(clave)}</ClaveRegimen>",
                kind,
                "" if tipo is None else f"<TipoImpositivo>{_t(tipo)}</TipoImpositivo>",
                "<BaseImponibleOimporteNoSujeto>",
                _t(self.base),
                "</BaseImponibleOimporteNoSujeto>",
                "" if coste is None else f"<BaseImponibleACoste>{_t(coste)}</BaseImponibleACoste>",
                "" if cuota is None else f"<CuotaRepercutida>{_t(cuota)}</CuotaRepercutida>",
                ""
                if recargo is None
                else f"<TipoRecargoEquivalencia>{_t(recargo)}</TipoRecargoEquivalencia>",
                ""
                if cuota_recargo is None
                else f"<CuotaRecargoEquivalencia>{_t(cuota_recargo)}</CuotaRecargoEquivalencia>",
                "</DetalleDesglose>",
            )
        )


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class AltaData:
    """Everything a RegistroAlta carries, as XML literals. ``None`` = element omitted.

    ``previous`` is None for the first record of the chain (``PrimerRegistro=S``).
    NumRegistroAcuerdoFacturacion / IdAcuerdoSistemaInformatico are not supported (omitted).
    """

    nif: str
    numserie: str
    fecha_expedicion: str
    nombre_razon_emisor: str
    tipo_factura: str
    descripcion: str
    lines: Sequence[BreakdownLine]
    cuota_total: str
    importe_total: str
    sistema: SistemaInformatico
    fecha_hora_huso: str
    previous: PreviousRecord | None = None
    ref_externa: str | None = None
    subsanacion: str | None = None
    rechazo_previo: str | None = None
    tipo_rectificativa: str | None = None
    facturas_rectificadas: Sequence[InvoiceId] = ()
    facturas_sustituidas: Sequence[InvoiceId] = ()
    importe_rectificacion: ImporteRectificacion | None = None
    fecha_operacion: str | None = None
    simplificada_art7273: str | None = None
    sin_identif_destinatario_art61d: str | None = None
    macrodato: str | None = None
    emitida_por_tercero_o_destinatario: str | None = None
    tercero: Recipient | None = None
    recipients: Sequence[Recipient] = ()
    cupon: str | None = None


@quick_init
@dataclass(frozen=True, slots=True, kw_only=True)
class AnulacionData:
    """A RegistroAnulacion; ``nif``/``numserie``/``fecha_expedicion`` are the annulled invoice's."""

    nif: str
    numserie: str
    fecha_expedicion: str
    sistema: SistemaInformatico
    fecha_hora_huso: str
    previous: PreviousRecord | None = None
    ref_externa: str | None = None
    sin_registro_previo: str | None = None
    rechazo_previo: str | None = None
    generado_por: str | None = None
    generador: Recipient | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class BuiltRecord:
    """A record fragment (``xml``, a standalone element declaring ``sf``) and its ``huella``."""

    xml: str
    huella: str
    kind: str  # "RegistroAlta" | "RegistroAnulacion"


# --------------------------------------------------------------------------- builders

_ALTA_OPEN = f'<RegistroAlta xmlns="{NS_SF}"><IDVersion>1.0</IDVersion>'
_ANUL_OPEN = f'<RegistroAnulacion xmlns="{NS_SF}"><IDVersion>1.0</IDVersion>'
_FIRST = "<Encadenamiento><PrimerRegistro>S</PrimerRegistro></Encadenamiento>"


def _check_hashed(names: tuple[str, ...], *values: str) -> None:
    """Refuse hashed literals an XML parser would alter or reject (control chars, CR, NBSP).

    Otherwise the text a verifier reads back from the XML would not be the text hashed.
    One concatenation and one C-level check on the hot path; the loop runs only on failure.
    """
    if "".join(values).isprintable():
        return
    for name, value in zip(names, values, strict=True):
        if not value.isprintable():
            raise ValueError(f"{name} contains non-printable characters: {value!r}")


_ALTA_HASHED = (
    "IDEmisorFactura",
    "NumSerieFactura",
    "FechaExpedicionFactura",
    "TipoFactura",
    "CuotaTotal",
    "ImporteTotal",
    "Huella",
    "FechaHoraHusoGenRegistro",
)
_ANUL_HASHED = (
    "IDEmisorFacturaAnulada",
    "NumSerieFacturaAnulada",
    "FechaExpedicionFacturaAnulada",
    "Huella",
    "FechaHoraHusoGenRegistro",
)


def _chain_xml(prev: PreviousRecord | None) -> tuple[str, str]:
    if prev is None:
        return _FIRST, ""
    huella = prev.huella.strip()
    return (
        "<Encadenamiento><RegistroAnterior>"
        f"<IDEmisorFactura>{_t(prev.nif)}</IDEmisorFactura>"
        f"<NumSerieFactura>{_t(prev.numserie)}</NumSerieFactura>"
        f"<FechaExpedicionFactura>{_t(prev.fecha)}</FechaExpedicionFactura>"
        f"<Huella>{xml_escape(huella)}</Huella>"
        "</RegistroAnterior></Encadenamiento>"
    ), huella


def _record_tail(chain: str, sistema: SistemaInformatico, ts: str, huella: str, kind: str) -> str:
    """The end both record kinds share: chain, system, timestamp, huella and the closing tag."""
    return "".join(
        (
            chain,
            sistema.to_xml(),
            "<FechaHoraHusoGenRegistro>",
            xml_escape(ts),
            "</FechaHoraHusoGenRegistro>",
            "<TipoHuella>01</TipoHuella><Huella>",
            huella,
            f"</Huella></{kind}>",
        )
    )


def _invoice_ids(wrapper: str, item: str, ids: Sequence[InvoiceId]) -> str:
    if not ids:
        return ""
    inner = "".join(
        f"<{item}><IDEmisorFactura>{_t(i.nif)}</IDEmisorFactura>"
        f"<NumSerieFactura>{_t(i.numserie)}</NumSerieFactura>"
        f"<FechaExpedicionFactura>{_t(i.fecha)}</FechaExpedicionFactura></{item}>"
        for i in ids
    )
    return f"<{wrapper}>{inner}</{wrapper}>"


def _optional_alta_middle(d: AltaData) -> str:
    # Rare blocks between TipoFactura and DescripcionOperacion, in XSD order.
    parts = [_opt("TipoRectificativa", d.tipo_rectificativa)]
    parts.append(
        _invoice_ids("FacturasRectificadas", "IDFacturaRectificada", d.facturas_rectificadas)
    )
    parts.append(_invoice_ids("FacturasSustituidas", "IDFacturaSustituida", d.facturas_sustituidas))
    ir = d.importe_rectificacion
    if ir is not None:
        parts.append(
            "<ImporteRectificacion>"
            f"<BaseRectificada>{_t(ir.base)}</BaseRectificada>"
            f"<CuotaRectificada>{_t(ir.cuota)}</CuotaRectificada>"
            + _opt("CuotaRecargoRectificado", ir.cuota_recargo)
            + "</ImporteRectificacion>"
        )
    parts.append(_opt("FechaOperacion", d.fecha_operacion))
    return "".join(parts)


def build_alta(d: AltaData) -> BuiltRecord:
    """Render a RegistroAlta fragment and compute its huella from the very same literals."""
    nif = d.nif.strip()
    numserie = d.numserie.strip()
    fecha = d.fecha_expedicion.strip()
    tipo = d.tipo_factura.strip()
    cuota_total = d.cuota_total.strip()
    importe_total = d.importe_total.strip()
    ts = d.fecha_hora_huso.strip()
    chain, prev_huella = _chain_xml(d.previous)
    _check_hashed(
        _ALTA_HASHED, nif, numserie, fecha, tipo, cuota_total, importe_total, prev_huella, ts
    )
    huella = huella_alta(nif, numserie, fecha, tipo, cuota_total, importe_total, prev_huella, ts)

    middle = (
        _optional_alta_middle(d)
        if (
            d.tipo_rectificativa is not None
            or d.facturas_rectificadas
            or d.facturas_sustituidas
            or d.importe_rectificacion is not None
            or d.fecha_operacion is not None
        )
        else ""
    )
    tercero = d.tercero
    recipients = d.recipients
    xml = "".join(
        (
            _ALTA_OPEN,
            "<IDFactura><IDEmisorFactura>",
            xml_escape(nif),
            "</IDEmisorFactura><NumSerieFactura>",
            xml_escape(numserie),
            "</NumSerieFactura><FechaExpedicionFactura>",
            xml_escape(fecha),
            "</FechaExpedicionFactura></IDFactura>",
            _opt("RefExterna", d.ref_externa),
            "<NombreRazonEmisor>",
            _t(d.nombre_razon_emisor),
            "</NombreRazonEmisor>",
            _opt("Subsanacion", d.subsanacion),
            _opt("RechazoPrevio", d.rechazo_previo),
            "<TipoFactura>",
            xml_escape(tipo),
            "</TipoFactura>",
            middle,
            "<DescripcionOperacion>",
            _t(d.descripcion),
            "</DescripcionOperacion>",
            _opt("FacturaSimplificadaArt7273", d.simplificada_art7273),
            _opt("FacturaSinIdentifDestinatarioArt61d", d.sin_identif_destinatario_art61d),
            _opt("Macrodato", d.macrodato),
            _opt("EmitidaPorTerceroODestinatario", d.emitida_por_tercero_o_destinatario),
            f"<Tercero>{tercero.body_xml()}</Tercero>" if tercero is not None else "",
            (
                "<Destinatarios>"
                + "".join(f"<IDDestinatario>{r.body_xml()}</IDDestinatario>" for r in recipients)
                + "</Destinatarios>"
            )
            if recipients
            else "",
            _opt("Cupon", d.cupon),
            "<Desglose>",
            "".join([line.to_xml() for line in d.lines]),
            "</Desglose>",
            "<CuotaTotal>",
            xml_escape(cuota_total),
            "</CuotaTotal>",
            "<ImporteTotal>",
            xml_escape(importe_total),
            "</ImporteTotal>",
        )
    ) + _record_tail(chain, d.sistema, ts, huella, "RegistroAlta")
    return BuiltRecord(xml, huella, "RegistroAlta")


def build_anulacion(d: AnulacionData) -> BuiltRecord:
    """Render a RegistroAnulacion fragment and compute its huella from the same literals."""
    nif = d.nif.strip()
    numserie = d.numserie.strip()
    fecha = d.fecha_expedicion.strip()
    ts = d.fecha_hora_huso.strip()
    chain, prev_huella = _chain_xml(d.previous)
    _check_hashed(_ANUL_HASHED, nif, numserie, fecha, prev_huella, ts)
    huella = huella_anulacion(nif, numserie, fecha, prev_huella, ts)
    generador = d.generador
    xml = "".join(
        (
            _ANUL_OPEN,
            "<IDFactura><IDEmisorFacturaAnulada>",
            xml_escape(nif),
            "</IDEmisorFacturaAnulada><NumSerieFacturaAnulada>",
            xml_escape(numserie),
            "</NumSerieFacturaAnulada><FechaExpedicionFacturaAnulada>",
            xml_escape(fecha),
            "</FechaExpedicionFacturaAnulada></IDFactura>",
            _opt("RefExterna", d.ref_externa),
            _opt("SinRegistroPrevio", d.sin_registro_previo),
            _opt("RechazoPrevio", d.rechazo_previo),
            _opt("GeneradoPor", d.generado_por),
            f"<Generador>{generador.body_xml()}</Generador>" if generador is not None else "",
        )
    ) + _record_tail(chain, d.sistema, ts, huella, "RegistroAnulacion")
    return BuiltRecord(xml, huella, "RegistroAnulacion")


# --------------------------------------------------------------------------- reading

_NSMAP = {"sf": NS_SF}
_ALTA_FIELDS = (
    ("IDEmisorFactura", "sf:IDFactura/sf:IDEmisorFactura"),
    ("NumSerieFactura", "sf:IDFactura/sf:NumSerieFactura"),
    ("FechaExpedicionFactura", "sf:IDFactura/sf:FechaExpedicionFactura"),
    ("TipoFactura", "sf:TipoFactura"),
    ("CuotaTotal", "sf:CuotaTotal"),
    ("ImporteTotal", "sf:ImporteTotal"),
    ("Huella", "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella"),
    ("FechaHoraHusoGenRegistro", "sf:FechaHoraHusoGenRegistro"),
)
_ANUL_FIELDS = (
    ("IDEmisorFacturaAnulada", "sf:IDFactura/sf:IDEmisorFacturaAnulada"),
    ("NumSerieFacturaAnulada", "sf:IDFactura/sf:NumSerieFacturaAnulada"),
    ("FechaExpedicionFacturaAnulada", "sf:IDFactura/sf:FechaExpedicionFacturaAnulada"),
    ("Huella", "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella"),
    ("FechaHoraHusoGenRegistro", "sf:FechaHoraHusoGenRegistro"),
)


def parse_record(fragment: str | bytes | etree._Element) -> dict[str, Any]:
    """Read back what the huella of a record is computed from, using only the XML text.

    Returns ``{"kind": "RegistroAlta"|"RegistroAnulacion", "huella": <stored Huella>,
    "fields": {name: literal, ...}}`` where ``fields`` holds the hashed pairs in hash order,
    ``Huella`` being the previous record's (``""`` for PrimerRegistro). Text is unescaped
    (``&amp;`` -> ``&``), exactly what AEAT hashes.
    """
    if isinstance(fragment, etree._Element):
        root = fragment
    else:
        data = fragment.encode("utf-8") if isinstance(fragment, str) else fragment
        root = etree.fromstring(data, instance_parser())
    kind = etree.QName(root).localname
    if kind == "RegistroAlta":
        spec = _ALTA_FIELDS
    elif kind == "RegistroAnulacion":
        spec = _ANUL_FIELDS
    else:
        raise ValueError(f"not a RegistroAlta/RegistroAnulacion element: {kind}")
    fields = {name: root.findtext(path, default="", namespaces=_NSMAP) for name, path in spec}
    return {
        "kind": kind,
        "huella": root.findtext("sf:Huella", default="", namespaces=_NSMAP),
        "fields": fields,
    }


def recompute_huella(parsed: dict[str, Any]) -> str:
    """Huella recomputed from :func:`parse_record`'s output (compare with ``parsed["huella"]``)."""
    f = parsed["fields"]
    if parsed["kind"] == "RegistroAlta":
        return huella_alta(
            f["IDEmisorFactura"],
            f["NumSerieFactura"],
            f["FechaExpedicionFactura"],
            f["TipoFactura"],
            f["CuotaTotal"],
            f["ImporteTotal"],
            f["Huella"],
            f["FechaHoraHusoGenRegistro"],
        )
    return huella_anulacion(
        f["IDEmisorFacturaAnulada"],
        f["NumSerieFacturaAnulada"],
        f["FechaExpedicionFacturaAnulada"],
        f["Huella"],
        f["FechaHoraHusoGenRegistro"],
    )
