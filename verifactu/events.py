"""The NO VERI*FACTU event log: RegistroEvento XML, its chain, signatures and anomaly checks.

Pure part (no database): :func:`build_evento` renders a ``RegistroEvento`` (EventosSIF.xsd)
and its ``HuellaEvento`` from the same literals (SPEC §1.1, 9 pairs), :func:`validate_evento`
checks it against the vendored schema offline, :func:`parse_evento` reads the hashed literals
back from the XML text.

Database part: :func:`log_event` appends an :class:`~verifactu.models.EventRecord` to the
chain of (obligado NIF, installation) under the same row lock as billing records;
:func:`sign_pending` signs, in the worker, what is not signed yet; :func:`run_anomaly_check`
verifies both chains and every signature and logs events 03/05 (the runs) and 04/06 (each
anomaly found, once); :func:`log_backup_restored` logs 07; :func:`log_export` logs 08/09
whenever billing or event records leave Factu (every export calls it); :func:`log_summary`
logs the periodic 10; :func:`export_events` writes the signed event log of a taxpayer.

The event log is kept only where the law asks for it: on chains running NO VERI*FACTU (their
last 01/02 event is a 01). Exports and summaries of other chains log nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from verifactu import xml as vxml
from verifactu.huella import MADRID, format_timestamp, huella_evento

log = logging.getLogger(__name__)

NS_EV = vxml._BASE + "EventosSIF.xsd"
_NSMAP = {"ev": NS_EV, "ds": "http://www.w3.org/2000/09/xmldsig#"}
_EV_OPEN = f'<RegistroEvento xmlns="{NS_EV}"><IDVersion>1.0</IDVersion><Evento>'
_t = vxml._t

TIPOS_EVENTO = frozenset({"01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "90"})
TIPOS_ANOMALIA = frozenset({f"{n:02d}" for n in range(1, 16)} | {"90"})


# --------------------------------------------------------------------------- pure XML


@dataclass(frozen=True, slots=True)
class PreviousEvent:
    """EventoAnterior: the previous event of the chain, as its own XML says."""

    tipo_evento: str
    fecha_hora_huso: str
    huella: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EventoData:
    sistema: vxml.SistemaInformatico
    obligado: vxml.Obligado
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
            vxml._opt("OtrosDatosEvento", d.otros_datos),
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
    tipo_anomalia: str, otros: str | None = None, registro: vxml.InvoiceId | None = None
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
        + vxml._opt("OtrosDatosAnomalia", otros[:100] if otros else None)
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
        + vxml._opt("OtrosDatosAnomalia", otros[:100] if otros else None)
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

_local = threading.local()
# Schema-valid stand-in for the mandatory ds:Signature when checking an unsigned event.
_PLACEHOLDER_SIGNATURE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
)


def _schema() -> etree.XMLSchema:
    schema = getattr(_local, "schema", None)
    if schema is None:
        parser = etree.XMLParser(no_network=True, resolve_entities=False)
        parser.resolvers.add(vxml._LocalSchemas())
        doc = etree.parse(str(vxml.SCHEMAS_DIR / "EventosSIF.xsd"), parser)
        schema = _local.schema = etree.XMLSchema(doc)
    return schema


def _parse(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    return etree.fromstring(data, vxml._instance_parser())


def validate_evento(xml: str | bytes, *, signed: bool | None = None) -> list[str]:
    """XSD-validate a RegistroEvento against EventosSIF.xsd; ``[]`` when valid.

    The schema makes ``ds:Signature`` mandatory; an unsigned event (``signed=False``, or
    ``None`` and no signature present) is checked with a placeholder signature in its place.
    """
    try:
        root = _parse(xml)
    except etree.XMLSyntaxError as exc:
        return [f"XML not well-formed: {exc}"]
    has_signature = root.find("ev:Evento/ds:Signature", _NSMAP) is not None
    if signed is None:
        signed = has_signature
    if signed and not has_signature:
        return ["RegistroEvento: ds:Signature is missing"]
    if not signed:
        evento = root.find("ev:Evento", _NSMAP)
        if evento is not None:
            evento.append(etree.fromstring(_PLACEHOLDER_SIGNATURE))
    schema = _schema()
    if schema.validate(root):
        return []
    return [
        f"{e.path}: {e.message.replace('{' + NS_EV + '}', 'ev:')} (line {e.line})"
        for e in schema.error_log
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
    ``HuellaEvento`` is the previous event's. ``previous`` is the EventoAnterior block.
    """
    root = xml if isinstance(xml, etree._Element) else _parse(xml)
    if etree.QName(root).localname != "RegistroEvento":
        raise ValueError(f"not a RegistroEvento: {etree.QName(root).localname}")
    fields = {name: root.findtext(path, default="", namespaces=_NSMAP) for name, path in _EV_FIELDS}
    anterior = root.find("ev:Evento/ev:Encadenamiento/ev:EventoAnterior", _NSMAP)
    previous = None
    if anterior is not None:
        previous = PreviousEvent(
            anterior.findtext("ev:TipoEvento", default="", namespaces=_NSMAP),
            anterior.findtext("ev:FechaHoraHusoGenEvento", default="", namespaces=_NSMAP),
            anterior.findtext("ev:HuellaEvento", default="", namespaces=_NSMAP),
        )
    first = root.findtext("ev:Evento/ev:Encadenamiento/ev:PrimerEvento", namespaces=_NSMAP)
    return {
        "huella": root.findtext("ev:Evento/ev:HuellaEvento", default="", namespaces=_NSMAP),
        "fields": fields,
        "previous": previous,
        "first": first == "S",
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


# --------------------------------------------------------------------------- database


def _system_for(chain):
    from verifactu.models import ComputerSystem

    system = (
        ComputerSystem.objects.filter(
            account_id=chain.account_id, installation_number=chain.installation_number
        )
        .order_by("-created_at")
        .first()
    )
    if system is None:
        raise ValueError(f"no computer system matches chain {chain}")
    return system


def log_event(
    chain,
    tipo_evento: str,
    *,
    now: datetime | None = None,
    datos_propios: str | None = None,
    otros_datos: str | None = None,
    anomaly_key: str = "",
    system=None,
):
    """Append an event to the event chain of ``chain`` (locked here); returns the EventRecord.

    Call inside ``transaction.atomic()``; the event is signed later by :func:`sign_pending`.
    """
    from django.db import transaction
    from django.utils import timezone

    from verifactu.models import Chain, EventRecord
    from verifactu.records import sistema_informatico

    if not transaction.get_connection().in_atomic_block:
        with transaction.atomic():
            return log_event(
                chain,
                tipo_evento,
                now=now,
                datos_propios=datos_propios,
                otros_datos=otros_datos,
                anomaly_key=anomaly_key,
                system=system,
            )
    chain = Chain.objects.select_for_update(no_key=True).get(pk=chain.pk)
    system = system or _system_for(chain)
    head = EventRecord.objects.filter(chain=chain).order_by("-position").first()
    previous = (
        PreviousEvent(head.tipo_evento, head.generated_at_text, head.huella) if head else None
    )
    sistema = sistema_informatico(system, multiple_taxpayers=chain.multiple_taxpayers)
    generated_at = format_timestamp(now or timezone.now())
    built = build_evento(
        EventoData(
            sistema=sistema,
            obligado=vxml.Obligado(chain.issuer_name, chain.issuer_nif),
            tipo_evento=tipo_evento,
            fecha_hora_huso=generated_at,
            previous=previous,
            datos_propios=datos_propios,
            otros_datos=otros_datos,
        )
    )
    problems = validate_evento(built.xml, signed=False)
    if problems:
        raise ValueError(f"the event does not validate against EventosSIF.xsd: {problems}")
    return EventRecord.objects.create(
        chain=chain,
        position=(head.position + 1) if head else 1,
        previous=head,
        tipo_evento=tipo_evento,
        producer_nif=sistema.nif or "",
        system_id=sistema.id_sistema,
        version=sistema.version,
        installation_number=sistema.numero_instalacion,
        obligado_nif=chain.issuer_nif,
        previous_huella=previous.huella if previous else "",
        generated_at_text=generated_at,
        huella=built.huella,
        xml=built.xml,
        anomaly_key=anomaly_key[:120],
    )


def no_verifactu_active(chain) -> bool:
    """Whether the chain runs as NO VERI*FACTU: its last 01/02 event is a 01 (start)."""
    from verifactu.models import EventRecord

    last = (
        EventRecord.objects.filter(chain=chain, tipo_evento__in=("01", "02"))
        .order_by("-position")
        .values_list("tipo_evento", flat=True)
        .first()
    )
    return last == "01"


def signing_identity_for(chain):
    """The taxpayer's (or representative's) stored certificate as a SigningIdentity, or None."""
    from verifactu.certificates import signing_credentials_for
    from verifactu.signing import SignatureProblem, SigningIdentity

    credentials = signing_credentials_for(chain)
    try:
        if credentials.certificate is None:
            return None
        return SigningIdentity.from_client_certificate(credentials.certificate)
    except SignatureProblem as exc:
        log.warning("chain %s: certificate unusable for signing: %s", chain.pk, exc)
        return None
    finally:
        credentials.close()


def sign_pending(chain, *, identity=None, now: datetime | None = None) -> int:
    """Sign every event of ``chain`` and, in NO VERI*FACTU mode, every billing record not yet
    signed, in chain order. Runs in the worker, never in a request. Returns how many."""
    from django.utils import timezone

    from verifactu.models import BillingRecord, EventRecord, RecordSignature
    from verifactu.signing import sign_record_xml

    events = EventRecord.objects.filter(chain=chain, signature__isnull=True).order_by("position")
    records = BillingRecord.objects.none()
    if no_verifactu_active(chain):
        records = BillingRecord.objects.filter(chain=chain, signature__isnull=True).order_by(
            "position"
        )
    if not events.exists() and not records.exists():
        return 0
    identity = identity or signing_identity_for(chain)
    if identity is None:
        log.warning("chain %s has unsigned records but no signing certificate", chain.pk)
        return 0
    count = 0
    for kind, queryset in (("record", records), ("event", events)):
        for item in queryset.iterator(chunk_size=200):
            when = now or timezone.now()
            RecordSignature.objects.create(
                **{kind: item},
                signed_xml=sign_record_xml(item.xml, identity, signing_time=when),
                signed_at=when,
                certificate_subject=identity.subject[:300],
                certificate_serial=str(identity.certificate.serial_number)[:64],
            )
            count += 1
    return count


@dataclass(frozen=True)
class Anomaly:
    tipo_evento: str  # "04" billing records | "06" event records
    tipo_anomalia: str
    message: str
    record: Any = None  # BillingRecord or EventRecord
    evidence: str = ""  # the stored data found wrong: the same data is reported once

    @property
    def key(self) -> str:
        digest = hashlib.sha256((self.evidence or self.message).encode()).hexdigest()[:16]
        ref = self.record.pk.hex if self.record is not None else "-"
        return f"{self.tipo_evento}:{self.tipo_anomalia}:{ref}:{digest}"


def _break_type(problem: str) -> str:
    if problem.startswith("huella recomputed") or problem.startswith("huella column"):
        return "01"
    if problem.startswith("RegistroAnterior/Huella"):
        return "08"
    if problem.startswith(("position", "previous", "the first record", "RegistroAnterior")):
        return "04"
    if problem.startswith("chain"):
        return "06"
    return "03"


def _signature_problem(item, ca_pem: bytes | None) -> str | None:
    """Why the signed copy of ``item`` is not a valid signature of its stored XML, or None."""
    from verifactu.signing import (
        SignatureProblem,
        independent_digest_check,
        signed_content,
        verify_record_signature,
    )

    signature = item.signature
    try:
        if ca_pem:
            verify_record_signature(signature.signed_xml, ca_pem, at=signature.signed_at)
        else:
            independent_digest_check(signature.signed_xml)
        if signed_content(signature.signed_xml) != etree.tostring(_parse(item.xml), method="c14n"):
            return "the signed copy differs from the stored record"
    except (SignatureProblem, etree.XMLSyntaxError) as exc:
        return f"signature: {exc}"
    return None


def _signed(queryset):
    return queryset.filter(signature__isnull=False).select_related("signature")


def check_billing_records(chain, ca_pem: bytes | None = None) -> tuple[int, list[Anomaly]]:
    from verifactu import integrity
    from verifactu.models import BillingRecord

    report = integrity.check_chain(chain)
    records = {str(r.pk): r for r in BillingRecord.objects.filter(chain=chain)}
    anomalies = [
        Anomaly("04", _break_type(b.problem), str(b), records.get(b.record_id))
        for b in report.breaks
    ]
    for record in _signed(BillingRecord.objects.filter(chain=chain)).order_by("position"):
        problem = _signature_problem(record, ca_pem)
        if problem:
            anomalies.append(
                Anomaly("04", "02", problem, record, record.xml + record.signature.signed_xml)
            )
    return report.records, anomalies


def check_events(chain, ca_pem: bytes | None = None) -> tuple[int, list[Anomaly]]:
    from verifactu.models import EventRecord

    anomalies: list[Anomaly] = []
    previous = None
    count = 0
    for event in EventRecord.objects.filter(chain=chain).order_by("position"):
        count += 1

        def add(tipo: str, message: str, event=event) -> None:
            signed = event.signature.signed_xml if hasattr(event, "signature") else ""
            evidence = f"{tipo}:{message}" if tipo != "02" else event.xml + signed
            anomalies.append(Anomaly("06", tipo, message, event, evidence))

        if event.position != count:
            add("04", f"event #{event.position} found where #{count} was expected")
        try:
            parsed = parse_evento(event.xml)
        except (etree.XMLSyntaxError, ValueError) as exc:
            add("03", f"event #{event.position}: XML cannot be read: {exc}")
            previous = event
            continue
        if recompute_huella_evento(parsed) != parsed["huella"] or event.huella != parsed["huella"]:
            add("01", f"event #{event.position}: HuellaEvento does not recompute")
        if previous is None:
            if not parsed["first"]:
                add("04", f"event #{event.position}: first event without PrimerEvento=S")
        else:
            link = parsed["previous"]
            expected = PreviousEvent(
                previous.tipo_evento, previous.generated_at_text, previous.huella
            )
            if link != expected:
                add("08", f"event #{event.position}: EventoAnterior does not match its predecessor")
        if hasattr(event, "signature"):
            problem = _signature_problem(event, ca_pem)
            if problem:
                add("02", f"event #{event.position}: {problem}")
        previous = event
    return count, anomalies


def _already_logged(chain, key: str) -> bool:
    from verifactu.models import EventRecord

    return EventRecord.objects.filter(chain=chain, anomaly_key=key).exists()


def run_anomaly_check(chain, *, ca_pem: bytes | None = None, now: datetime | None = None):
    """One detection run over both chains of ``chain``; returns the anomalies found.

    Logs 03 and 05 (the runs, with the number of records processed) and a 04 / 06 event
    per anomaly not logged before. ``ca_pem`` (trusted CAs) adds signxml's full XAdES
    verification to the independent digest and signature check.
    """
    from django.db import transaction

    from verifactu.models import BillingRecord

    records, record_anomalies = check_billing_records(chain, ca_pem)
    events, event_anomalies = check_events(chain, ca_pem)
    signed = _signed(BillingRecord.objects.filter(chain=chain)).count()
    with transaction.atomic():
        log_event(
            chain,
            "03",
            now=now,
            datos_propios=lanzamiento_deteccion(
                "RegFacturacion", huellas=records, firmas=signed, cadena=records, fechas=records
            ),
        )
        for anomaly in record_anomalies:
            if _already_logged(chain, anomaly.key):
                continue
            record = anomaly.record
            registro = (
                vxml.InvoiceId(record.issuer_nif, record.invoice_number, record.invoice_date_text)
                if record is not None
                else None
            )
            log_event(
                chain,
                "04",
                now=now,
                datos_propios=deteccion_facturacion(
                    anomaly.tipo_anomalia, anomaly.message, registro
                ),
                anomaly_key=anomaly.key,
            )
        log_event(
            chain,
            "05",
            now=now,
            datos_propios=lanzamiento_deteccion(
                "RegEvento", huellas=events, firmas=events, cadena=events, fechas=events
            ),
        )
        for anomaly in event_anomalies:
            if _already_logged(chain, anomaly.key):
                continue
            ev = anomaly.record
            log_event(
                chain,
                "06",
                now=now,
                datos_propios=deteccion_evento(
                    anomaly.tipo_anomalia,
                    anomaly.message,
                    PreviousEvent(ev.tipo_evento, ev.generated_at_text, ev.huella),
                ),
                anomaly_key=anomaly.key,
            )
    return record_anomalies + event_anomalies


def chains_with_event_log():
    from verifactu.models import Chain

    return Chain.objects.filter(events__isnull=False).distinct().order_by("pk")


# --------------------------------------------------------------------------- 07, 08, 09, 10

Period = tuple[date | datetime | None, date | datetime | None]


def log_backup_restored(chain, *, note: str | None = None, now: datetime | None = None):
    """Log 07 (backup restored) on a NO VERI*FACTU chain; ``None`` on any other chain."""
    if not no_verifactu_active(chain):
        return None
    return log_event(chain, "07", now=now, otros_datos=note.strip()[:100] if note else None)


def _record_link(record) -> RecordLink:
    # For an anulación the id columns hold the annulled invoice's id, as its XML does.
    return RecordLink(
        record.issuer_nif, record.invoice_number, record.invoice_date_text, record.huella
    )


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _totals(records) -> tuple[int, Decimal, Decimal, int]:
    """(altas, Σ CuotaTotal of the altas, Σ ImporteTotal of the altas, anulaciones)."""
    from verifactu.models import BillingRecord

    altas = [r for r in records if r.kind == BillingRecord.Kind.ALTA]
    return (
        len(altas),
        sum((_decimal(r.cuota_total_text) for r in altas), Decimal(0)),
        sum((_decimal(r.importe_total_text) for r in altas), Decimal(0)),
        len(records) - len(altas),
    )


def _local_start(day: date) -> datetime:
    return datetime.combine(day, time.min, MADRID)


def _bound(value: date | datetime | None, *, end: bool) -> str | None:
    """A period bound as FechaHoraHuso: a date covers its whole day in Madrid time."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_timestamp(value)
    return format_timestamp(datetime.combine(value, time(23, 59, 59) if end else time.min, MADRID))


def export_is_logged(records: Iterable[Any]) -> bool:
    """Whether exporting ``records`` would log an event (08/09): some chain of theirs runs
    NO VERI*FACTU. Such an export is an explicit action (a POST), never a plain GET, so a
    link, a prefetch or another site cannot write the taxpayer's event log."""
    from verifactu.models import Chain

    chain_ids = {record.chain_id for record in records}
    return any(no_verifactu_active(chain) for chain in Chain.objects.filter(pk__in=chain_ids))


def log_export(
    items: Iterable[Any], *, period: Period = (None, None), now: datetime | None = None
) -> list:
    """Log that ``items`` left Factu: an 08 per chain of billing records, a 09 per chain of
    event records. Returns the events logged.

    Every export calls this once, after producing its file: the gestoría's ZIP, the XML
    downloads and :func:`export_events`. Callers log only on an explicit action (a POST, a
    command, a job the user started), never on a GET (:func:`export_is_logged`). ``period``
    is what the export covered (dates, or aware datetimes); by default the generation times
    of the first and last item exported from each chain. Chains not running NO VERI*FACTU
    log nothing.
    """
    from verifactu.models import BillingRecord, Chain, EventRecord

    groups: dict[tuple[str, int], dict[Any, Any]] = {}
    for item in items:
        if isinstance(item, BillingRecord):
            kind = "08"
        elif isinstance(item, EventRecord):
            kind = "09"
        else:
            raise TypeError(f"exports are of BillingRecord or EventRecord, not {type(item)}")
        groups.setdefault((kind, item.chain_id), {})[item.pk] = item
    chains = Chain.objects.in_bulk({chain_id for _, chain_id in groups})
    logged = []
    for (kind, chain_id), by_pk in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
        chain = chains[chain_id]
        if not no_verifactu_active(chain):
            continue
        group = sorted(by_pk.values(), key=lambda item: item.position)
        first, last = group[0], group[-1]
        inicio = _bound(period[0], end=False) or first.generated_at_text
        fin = _bound(period[1], end=True) or last.generated_at_text
        if kind == "08":
            altas, cuota, importe, anulaciones = _totals(group)
            datos = exportacion_facturacion(
                inicio=inicio,
                fin=fin,
                primero=_record_link(first),
                ultimo=_record_link(last),
                altas=altas,
                suma_cuota=cuota,
                suma_importe=importe,
                anulaciones=anulaciones,
            )
        else:
            datos = exportacion_evento(
                inicio=inicio,
                fin=fin,
                primero=PreviousEvent(first.tipo_evento, first.generated_at_text, first.huella),
                ultimo=PreviousEvent(last.tipo_evento, last.generated_at_text, last.huella),
                exportados=len(group),
            )
        logged.append(log_event(chain, kind, now=now, datos_propios=datos))
    return logged


def log_summary(chain, *, now: datetime | None = None):
    """Log 10 (summary) on a NO VERI*FACTU chain: what happened since its previous 10.

    Counts the events of each type and the NO VERI*FACTU billing records generated since the
    previous summary (since the start of the log for the first one), under the chain's lock,
    so nothing appended meanwhile falls between two summaries. Returns ``None`` (nothing
    logged) on other chains and when nothing happened.
    """
    from django.db import transaction

    from verifactu.models import BillingRecord, Chain, EventRecord

    with transaction.atomic():
        chain = Chain.objects.select_for_update().get(pk=chain.pk)
        if not no_verifactu_active(chain):
            return None
        previous = (
            EventRecord.objects.filter(chain=chain, tipo_evento="10").order_by("-position").first()
        )
        events = EventRecord.objects.filter(chain=chain)
        records = BillingRecord.objects.filter(chain=chain, no_verifactu=True)
        if previous is not None:
            events = events.filter(position__gt=previous.position)
            records = records.filter(created_at__gt=previous.created_at)
        counts = Counter(events.values_list("tipo_evento", flat=True))
        generated = list(
            records.order_by("position").only(
                "chain_id",
                "position",
                "kind",
                "issuer_nif",
                "invoice_number",
                "invoice_date_text",
                "cuota_total_text",
                "importe_total_text",
                "huella",
            )
        )
        if not counts and not generated:
            return None
        altas, cuota, importe, anulaciones = _totals(generated)
        datos = resumen_eventos(
            counts,
            altas=altas,
            suma_cuota=cuota,
            suma_importe=importe,
            anulaciones=anulaciones,
            primero=_record_link(generated[0]) if generated else None,
            ultimo=_record_link(generated[-1]) if generated else None,
        )
        return log_event(chain, "10", now=now, datos_propios=datos)


# --------------------------------------------------------------------------- the log's export

EXPORT_ROOT = "ExportacionRegistrosEvento"


@dataclass
class EventExport:
    """An export of a taxpayer's event log: the XML, what went in it, and the 09s logged."""

    xml: bytes
    events: list
    unsigned: int = 0
    logged: list = field(default_factory=list)


def taxpayer_events(taxpayer, *, date_from: date | None = None, date_to: date | None = None):
    """The events of every chain of ``taxpayer``, created between the dates (inclusive, Madrid
    time), in chain and position order."""
    from verifactu.models import EventRecord
    from verifactu.modes import chains_of

    events = EventRecord.objects.filter(chain__in=chains_of(taxpayer))
    if date_from is not None:
        events = events.filter(created_at__gte=_local_start(date_from))
    if date_to is not None:
        events = events.filter(created_at__lt=_local_start(date_to + timedelta(days=1)))
    return events.order_by("chain_id", "position")


def render_event_export(
    nif: str,
    events: list,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    unsigned: int = 0,
    generated_at: datetime | None = None,
) -> bytes:
    """The export document: the signed ``RegistroEvento`` of each event, byte for byte, inside
    an ``ExportacionRegistrosEvento`` element with no namespace and no prefix.

    Nothing is declared above the events, so each one, read out of the document, is the very
    document that was signed (``URI=""``, inclusive C14N) and verifies on its own.
    """
    from xml.sax.saxutils import quoteattr

    from django.utils import timezone

    attributes = {
        "NIF": nif,
        "Desde": date_from.isoformat() if date_from else "",
        "Hasta": date_to.isoformat() if date_to else "",
        "Generado": format_timestamp(generated_at or timezone.now()),
        "Exportados": str(len(events)),
        "PendientesDeFirma": str(unsigned),
    }
    head = "".join(f" {name}={quoteattr(value)}" for name, value in attributes.items() if value)
    body = "".join(f"{event.signature.signed_xml}\n" for event in events)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{EXPORT_ROOT}{head}>\n{body}</{EXPORT_ROOT}>\n'
    ).encode()


def export_events(
    taxpayer,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    sign_missing: bool = False,
    now: datetime | None = None,
) -> EventExport:
    """Export the signed event log of ``taxpayer`` and log the 09 of the export.

    Only signed events go in (the log's value is its signatures); events the worker has not
    signed yet are counted in ``unsigned`` and left out, unless ``sign_missing`` signs them
    first (commands may; requests never sign). The 09 is logged after the document is built,
    so it is not part of it: the next export carries it.
    """
    from verifactu.modes import chains_of

    if sign_missing:
        for chain in chains_of(taxpayer):
            sign_pending(chain)
    events = list(
        taxpayer_events(taxpayer, date_from=date_from, date_to=date_to).select_related("signature")
    )
    signed = [event for event in events if hasattr(event, "signature")]
    xml = render_event_export(
        taxpayer.nif,
        signed,
        date_from=date_from,
        date_to=date_to,
        unsigned=len(events) - len(signed),
        generated_at=now,
    )
    logged = log_export(signed, period=(date_from, date_to), now=now)
    return EventExport(xml, signed, len(events) - len(signed), logged)
