"""RegistroEvento XML (EventosSIF.xsd): build, validate and read the events of the log.

:func:`build_evento` renders a ``RegistroEvento`` and its ``HuellaEvento`` from the same
literals (SPEC §1.1, 9 pairs); the helpers below it render the ``DatosPropiosEvento`` of each
event type (03/05 runs, 04/06 anomalies, 08/09 exports, 10 summary); :func:`validate_evento`
checks an event against the vendored schema offline; :func:`parse_evento` reads the hashed
literals back from the XML text. The event log that stores them is :mod:`verifactu.event_log`.

Pure Python + lxml: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from lxml import etree

from verifactu.huella import huella_evento
from verifactu.xml import InvoiceId, Obligado, SistemaInformatico
from verifactu.xmlkit import NS_EV, instance_parser, schema
from verifactu.xmlkit import optional as _opt
from verifactu.xmlkit import text as _t

NSMAP = {"ev": NS_EV, "ds": "http://www.w3.org/2000/09/xmldsig#"}
_EV_OPEN = f'<RegistroEvento xmlns="{NS_EV}"><IDVersion>1.0</IDVersion><Evento>'

TIPOS_EVENTO = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "90"})
TIPOS_ANOMALIA = frozenset({f"{n:02d}" for n in range(1, 16)} | {"90"})


@dataclass(frozen=True, slots=True)
class PreviousEvent:
    """EventoAnterior: the previous event of the chain, as its own XML says."""

    tipo_evento: str
    fecha_hora_huso: str
    huella: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventoData:
    sistema: SistemaInformatico
    obligado: Obligado
    tipo_evento: str
    fecha_hora_huso: str
    previous: PreviousEvent | None = None
    datos_propios: str | None = None  # a rendered child of DatosPropiosEvento (helpers below)
    otros_datos: str | None = None


@dataclass(frozen=True, slots=True)
class BuiltEvent:
    xml: str
    huella: str


def build_evento(d: EventoData) -> BuiltEvent:
    """Render a RegistroEvento (without ds:Signature) and compute its HuellaEvento."""
    tipo = d.tipo_evento.strip()
    if tipo not in TIPOS_EVENTO:
        raise ValueError(f"TipoEvento must be one of {sorted(TIPOS_EVENTO)}, got {tipo!r}")
    ts = d.fecha_hora_huso.strip()
    s = d.sistema
    if d.previous is None:
        chain, prev_huella = "<Encadenamiento><PrimerEvento>S</PrimerEvento></Encadenamiento>", ""
    else:
        prev_huella = d.previous.huella.strip()
        chain = (
            "<Encadenamiento><EventoAnterior>"
            f"<TipoEvento>{_t(d.previous.tipo_evento)}</TipoEvento>"
            f"<FechaHoraHusoGenEvento>{_t(d.previous.fecha_hora_huso)}</FechaHoraHusoGenEvento>"
            f"<HuellaEvento>{_t(prev_huella)}</HuellaEvento>"
            "</EventoAnterior></Encadenamiento>"
        )
    huella = huella_evento(
        s.nif,
        s.id_otro.id if s.id_otro is not None else None,
        s.id_sistema,
        s.version,
        s.numero_instalacion,
        d.obligado.nif,
        tipo,
        prev_huella,
        ts,
    )
    xml = "".join(
        (
            _EV_OPEN,
            s.to_xml(),
            "<ObligadoEmision>",
            f"<NombreRazon>{_t(d.obligado.nombre_razon)}</NombreRazon>",
            f"<NIF>{_t(d.obligado.nif)}</NIF>",
            "</ObligadoEmision>",
            f"<FechaHoraHusoGenEvento>{_t(ts)}</FechaHoraHusoGenEvento>",
            f"<TipoEvento>{tipo}</TipoEvento>",
            f"<DatosPropiosEvento>{d.datos_propios}</DatosPropiosEvento>"
            if d.datos_propios
            else "",
            _opt("OtrosDatosEvento", d.otros_datos),
            chain,
            "<TipoHuella>01</TipoHuella>",
            f"<HuellaEvento>{huella}</HuellaEvento>",
            "</Evento></RegistroEvento>",
        )
    )
    return BuiltEvent(xml, huella)


def _sn(value: bool) -> str:
    return "S" if value else "N"


def lanzamiento_deteccion(kind: str, *, huellas: int, firmas: int, cadena: int, fechas: int) -> str:
    """DatosPropiosEvento of a 03 (``kind="RegFacturacion"``) or 05 (``"RegEvento"``) run."""
    if kind not in ("RegFacturacion", "RegEvento"):
        raise ValueError(kind)
    noun = "RegistrosFacturacion" if kind == "RegFacturacion" else "RegistrosEvento"
    cap = 9_999_999 if kind == "RegFacturacion" else 99_999  # DigitosMax7 / DigitosMax5
    parts = [f"<LanzamientoProcesoDeteccionAnomalias{kind}>"]
    for what, label, count in (
        ("IntegridadHuellas", "IntegridadHuellas", huellas),
        ("IntegridadFirmas", "IntegridadFirmas", firmas),
        ("TrazabilidadCadena", "TrazabilidadCadena", cadena),
        ("TrazabilidadFechas", "TrazabilidadFechas", fechas),
    ):
        parts.append(f"<RealizadoProcesoSobre{what}{kind}>S</RealizadoProcesoSobre{what}{kind}>")
        count = min(count, cap)
        parts.append(
            f"<NumeroDe{noun}ProcesadosSobre{label}>{count}</NumeroDe{noun}ProcesadosSobre{label}>"
        )
    parts.append(f"</LanzamientoProcesoDeteccionAnomalias{kind}>")
    return "".join(parts)


def deteccion_facturacion(
    tipo_anomalia: str, otros: str | None = None, registro: InvoiceId | None = None
) -> str:
    """DatosPropiosEvento of a 04 event (anomaly in billing records)."""
    if tipo_anomalia not in TIPOS_ANOMALIA:
        raise ValueError(f"TipoAnomalia {tipo_anomalia!r}")
    reg = ""
    if registro is not None:
        reg = (
            "<RegistroFacturacionAnomalo>"
            f"<IDEmisorFactura>{_t(registro.nif)}</IDEmisorFactura>"
            f"<NumSerieFactura>{_t(registro.numserie)}</NumSerieFactura>"
            f"<FechaExpedicionFactura>{_t(registro.fecha)}</FechaExpedicionFactura>"
            "</RegistroFacturacionAnomalo>"
        )
    return (
        "<DeteccionAnomaliasRegFacturacion>"
        f"<TipoAnomalia>{tipo_anomalia}</TipoAnomalia>"
        + _opt("OtrosDatosAnomalia", otros[:100] if otros else None)
        + reg
        + "</DeteccionAnomaliasRegFacturacion>"
    )


def deteccion_evento(
    tipo_anomalia: str, otros: str | None = None, evento: PreviousEvent | None = None
) -> str:
    """DatosPropiosEvento of a 06 event (anomaly in event records)."""
    if tipo_anomalia not in TIPOS_ANOMALIA:
        raise ValueError(f"TipoAnomalia {tipo_anomalia!r}")
    reg = ""
    if evento is not None:
        reg = (
            "<RegEventoAnomalo>"
            f"<TipoEvento>{_t(evento.tipo_evento)}</TipoEvento>"
            f"<FechaHoraHusoEvento>{_t(evento.fecha_hora_huso)}</FechaHoraHusoEvento>"
            f"<HuellaEvento>{_t(evento.huella)}</HuellaEvento>"
            "</RegEventoAnomalo>"
        )
    return (
        "<DeteccionAnomaliasRegEvento>"
        f"<TipoAnomalia>{tipo_anomalia}</TipoAnomalia>"
        + _opt("OtrosDatosAnomalia", otros[:100] if otros else None)
        + reg
        + "</DeteccionAnomaliasRegEvento>"
    )


@dataclass(frozen=True, slots=True)
class RecordLink:
    """A billing record as IDFacturaExpedidaHuellaType names it: its invoice id and huella."""

    nif: str
    numserie: str
    fecha: str
    huella: str

    def to_xml(self, tag: str) -> str:
        return (
            f"<{tag}>"
            f"<IDEmisorFactura>{_t(self.nif)}</IDEmisorFactura>"
            f"<NumSerieFactura>{_t(self.numserie)}</NumSerieFactura>"
            f"<FechaExpedicionFactura>{_t(self.fecha)}</FechaExpedicionFactura>"
            f"<Huella>{_t(self.huella)}</Huella>"
            f"</{tag}>"
        )


def _reg_evento(tag: str, event: PreviousEvent) -> str:
    return (
        f"<{tag}>"
        f"<TipoEvento>{_t(event.tipo_evento)}</TipoEvento>"
        f"<FechaHoraHusoEvento>{_t(event.fecha_hora_huso)}</FechaHoraHusoEvento>"
        f"<HuellaEvento>{_t(event.huella)}</HuellaEvento>"
        f"</{tag}>"
    )


def _digits(count: int, width: int) -> str:
    """A DigitosMaxN value: the count, capped at N digits as the 03/05 counts are."""
    return str(max(0, min(count, 10**width - 1)))


def _importe(value: Decimal) -> str:
    """ImporteSgn12.2Type, written as every amount of Factu is: two decimals."""
    return f"{value.quantize(Decimal('0.01')):.2f}"


def exportacion_facturacion(
    *,
    inicio: str,
    fin: str,
    primero: RecordLink,
    ultimo: RecordLink,
    altas: int,
    suma_cuota: Decimal,
    suma_importe: Decimal,
    anulaciones: int,
    dejan_de_conservarse: bool = False,
) -> str:
    """DatosPropiosEvento of an 08 event (billing records of a period exported)."""
    return (
        "<ExportacionRegFacturacionPeriodo>"
        f"<FechaHoraHusoInicioPeriodoExport>{_t(inicio)}</FechaHoraHusoInicioPeriodoExport>"
        f"<FechaHoraHusoFinPeriodoExport>{_t(fin)}</FechaHoraHusoFinPeriodoExport>"
        + primero.to_xml("RegistroFacturacionInicialPeriodo")
        + ultimo.to_xml("RegistroFacturacionFinalPeriodo")
        + "<NumeroDeRegistrosFacturacionAltaExportados>"
        f"{_digits(altas, 9)}</NumeroDeRegistrosFacturacionAltaExportados>"
        f"<SumaCuotaTotalAlta>{_importe(suma_cuota)}</SumaCuotaTotalAlta>"
        f"<SumaImporteTotalAlta>{_importe(suma_importe)}</SumaImporteTotalAlta>"
        "<NumeroDeRegistrosFacturacionAnulacionExportados>"
        f"{_digits(anulaciones, 9)}</NumeroDeRegistrosFacturacionAnulacionExportados>"
        "<RegistrosFacturacionExportadosDejanDeConservarse>"
        f"{_sn(dejan_de_conservarse)}</RegistrosFacturacionExportadosDejanDeConservarse>"
        "</ExportacionRegFacturacionPeriodo>"
    )


def exportacion_evento(
    *,
    inicio: str,
    fin: str,
    primero: PreviousEvent,
    ultimo: PreviousEvent,
    exportados: int,
    dejan_de_conservarse: bool = False,
) -> str:
    """DatosPropiosEvento of a 09 event (event records of a period exported)."""
    return (
        "<ExportacionRegEventoPeriodo>"
        f"<FechaHoraHusoInicioPeriodoExport>{_t(inicio)}</FechaHoraHusoInicioPeriodoExport>"
        f"<FechaHoraHusoFinPeriodoExport>{_t(fin)}</FechaHoraHusoFinPeriodoExport>"
        + _reg_evento("RegistroEventoInicialPeriodo", primero)
        + _reg_evento("RegistroEventoFinalPeriodo", ultimo)
        + f"<NumeroDeRegEventoExportados>{_digits(exportados, 7)}</NumeroDeRegEventoExportados>"
        "<RegEventoExportadosDejanDeConservarse>"
        f"{_sn(dejan_de_conservarse)}</RegEventoExportadosDejanDeConservarse>"
        "</ExportacionRegEventoPeriodo>"
    )


def resumen_eventos(
    counts: Mapping[str, int],
    *,
    altas: int,
    suma_cuota: Decimal,
    suma_importe: Decimal,
    anulaciones: int,
    primero: RecordLink | None = None,
    ultimo: RecordLink | None = None,
) -> str:
    """DatosPropiosEvento of a 10 event (summary of a period).

    One ``TipoEvento`` block per event type of the XSD (11, within its maximum of 20), zero
    counts included: the schema needs at least one, and a fixed list reads the same every time.
    """
    unknown = set(counts) - TIPOS_EVENTO
    if unknown:
        raise ValueError(f"unknown TipoEvento {sorted(unknown)}")
    blocks = "".join(
        f"<TipoEvento><TipoEvento>{tipo}</TipoEvento>"
        f"<NumeroDeEventos>{_digits(counts.get(tipo, 0), 4)}</NumeroDeEventos></TipoEvento>"
        for tipo in sorted(TIPOS_EVENTO)
    )
    return (
        "<ResumenEventos>"
        + blocks
        + (primero.to_xml("RegistroFacturacionInicialPeriodo") if primero else "")
        + (ultimo.to_xml("RegistroFacturacionFinalPeriodo") if ultimo else "")
        + "<NumeroDeRegistrosFacturacionAltaGenerados>"
        f"{_digits(altas, 6)}</NumeroDeRegistrosFacturacionAltaGenerados>"
        f"<SumaCuotaTotalAlta>{_importe(suma_cuota)}</SumaCuotaTotalAlta>"
        f"<SumaImporteTotalAlta>{_importe(suma_importe)}</SumaImporteTotalAlta>"
        "<NumeroDeRegistrosFacturacionAnulacionGenerados>"
        f"{_digits(anulaciones, 6)}</NumeroDeRegistrosFacturacionAnulacionGenerados>"
        "</ResumenEventos>"
    )


# --------------------------------------------------------------------------- validation

# Schema-valid stand-in for the mandatory ds:Signature when checking an unsigned event.
_PLACEHOLDER_SIGNATURE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
)


def _parse(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.fromstring(data, instance_parser())


def validate_evento(xml: str | bytes, *, signed: bool | None = None) -> list[str]:
    """XSD-validate a RegistroEvento against EventosSIF.xsd; ``[]`` when valid.

    The schema makes ``ds:Signature`` mandatory; an unsigned event (``signed=False``, or
    ``None`` and no signature present) is checked with a placeholder signature in its place.
    """
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as exc:
        return [f"XML not well-formed: {exc}"]
    has_signature = root.find("ev:Evento/ds:Signature", NSMAP) is not None
    if signed is None:
        signed = has_signature
    if signed and not has_signature:
        return ["RegistroEvento: ds:Signature is missing"]
    if not signed:
        evento = root.find("ev:Evento", NSMAP)
        if evento is not None:
            evento.append(etree.fromstring(_PLACEHOLDER_SIGNATURE))
    xsd = schema("EventosSIF.xsd")
    if xsd.validate(root):
        return []
    return [
        f"{e.path}: {e.message.replace('{' + NS_EV + '}', 'ev:')} (line {e.line})"
        for e in xsd.error_log
    ]


_EV_FIELDS = (
    ("NIF", "ev:Evento/ev:SistemaInformatico/ev:NIF"),
    ("ID", "ev:Evento/ev:SistemaInformatico/ev:IDOtro/ev:ID"),
    ("IdSistemaInformatico", "ev:Evento/ev:SistemaInformatico/ev:IdSistemaInformatico"),
    ("Version", "ev:Evento/ev:SistemaInformatico/ev:Version"),
    ("NumeroInstalacion", "ev:Evento/ev:SistemaInformatico/ev:NumeroInstalacion"),
    ("ObligadoNIF", "ev:Evento/ev:ObligadoEmision/ev:NIF"),
    ("TipoEvento", "ev:Evento/ev:TipoEvento"),
    ("HuellaEvento", "ev:Evento/ev:Encadenamiento/ev:EventoAnterior/ev:HuellaEvento"),
    ("FechaHoraHusoGenEvento", "ev:Evento/ev:FechaHoraHusoGenEvento"),
)


def parse_evento(xml: str | bytes | etree._Element) -> dict[str, Any]:
    """The hashed literals of an event read back from its XML (cf. ``xml.parse_record``).

    ``fields`` are in hash order; the obligado's ``NIF`` is keyed ``ObligadoNIF`` and
    ``HuellaEvento`` is the previous event's. ``previous`` is the EventoAnterior block,
    ``otros`` the OtrosDatosEvento and ``root`` the parsed element.
    """
    root = xml if isinstance(xml, etree._Element) else _parse(xml)
    if etree.QName(root).localname != "RegistroEvento":
        raise ValueError(f"not a RegistroEvento: {etree.QName(root).localname}")
    fields = {name: root.findtext(path, default="", namespaces=NSMAP) for name, path in _EV_FIELDS}
    anterior = root.find("ev:Evento/ev:Encadenamiento/ev:EventoAnterior", NSMAP)
    previous = None
    if anterior is not None:
        previous = PreviousEvent(
            anterior.findtext("ev:TipoEvento", default="", namespaces=NSMAP),
            anterior.findtext("ev:FechaHoraHusoGenEvento", default="", namespaces=NSMAP),
            anterior.findtext("ev:HuellaEvento", default="", namespaces=NSMAP),
        )
    first = root.findtext("ev:Evento/ev:Encadenamiento/ev:PrimerEvento", namespaces=NSMAP)
    return {
        "huella": root.findtext("ev:Evento/ev:HuellaEvento", default="", namespaces=NSMAP),
        "fields": fields,
        "previous": previous,
        "first": first == "S",
        "otros": root.findtext("ev:Evento/ev:OtrosDatosEvento", namespaces=NSMAP),
        "root": root,
    }


def recompute_huella_evento(parsed: dict[str, Any]) -> str:
    f = parsed["fields"]
    return huella_evento(
        f["NIF"],
        f["ID"],
        f["IdSistemaInformatico"],
        f["Version"],
        f["NumeroInstalacion"],
        f["ObligadoNIF"],
        f["TipoEvento"],
        f["HuellaEvento"],
        f["FechaHoraHusoGenEvento"],
    )
