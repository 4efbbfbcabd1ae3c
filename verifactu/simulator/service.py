"""The two SOAP operations: parsing, AEAT's checks, state changes and the answers.

Chain policy (documented choice): AEAT stores only accepted records, but the SIF chains
every record it *generated*, including those AEAT rejected (SPEC §1: "rejected records stay
in the chain"). So the chain tail kept per (obligado NIF, producer NIF + IdSistemaInformatico
+ NumeroInstalacion) advances with every record the simulator *receives*, Incorrecto ones
included. A record whose own huella was already received in that chain is a resend (e.g.
after a lost answer): it is neither chain-checked again nor moves the tail, so resending
old records never breaks the chain of the next new ones.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lxml import etree

from .huella import huella_alta, huella_anulacion
from .nif import is_valid_nif
from .schemas import (
    NS_SF,
    NS_SFLR,
    NS_SFLRC,
    NS_SFLRRC,
    NS_SFR,
    NSMAP,
    SOAP_ENV,
    parse_xml,
    validate_element,
)
from .signatures import BadSignature, check_record_signature
from .state import State, StoredRecord, record_key

MAX_RECORDS = 1000
TOLERANCE = Decimal("10.00")
F2_LIMIT = Decimal("3000.00")
NO_TOTALS_CHECK_REGIMES = {"03", "05", "06", "08", "09"}

DESCRIPTIONS = {
    1100: "Valor o tipo incorrecto del campo.",
    1105: "El campo FechaExpedicionFactura no es correcto.",
    1108: "El NIF del IDEmisorFactura debe ser el mismo que el NIF del ObligadoEmision.",
    1112: "El campo FechaExpedicionFactura es superior a la fecha actual.",
    1123: "El formato del NIF es incorrecto.",
    1142: "El campo CuotaRepercutida tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleOimporteNoSujeto y TipoImpositivo suministrados.",
    1150: "Cuando TipoFactura sea F2 y no este informado NumRegistroAcuerdoFacturacion o "
    "FacturaSinIdentifDestinatarioArt61d=S el sumatorio de BaseImponibleOimporteNoSujeto y "
    "CuotaRepercutida de todas las líneas de detalle no podrá ser superior a 3.000.",
    1116: "Debe informarse el campo FacturasSustituidas sólo si la factura es de tipo F3.",
    1144: "El campo CuotaRepercutida tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleACoste y TipoImpositivo suministrados.",
    1147: "Si ClaveRegimen es 14, FechaOperacion es obligatoria y debe ser posterior a la "
    "FechaExpedicionFactura.",
    1148: "Si la ClaveRegimen es 14, el campo TipoFactura debe ser F1, R1, R2, R3 o R4.",
    1149: "Si ClaveRegimen es 14, el NIF de Destinatarios debe estar identificado en el censo de "
    "la AEAT y comenzar por P, Q, S o V.",
    1178: "Error en el bloque de Tercero.",
    1182: "El valor del campo OperacionExenta es incorrecto.",
    1199: "Si Impuesto es '01' (IVA), '03' (IGIC) o no se cumplimenta y ClaveRegimen es 01 no "
    "pueden marcarse las OperacionExenta E2, E3.",
    1200: "Si ClaveRegimen es 03 CalificacionOperacion sólo puede ser S1.",
    1201: "Si ClaveRegimen es 04 CalificacionOperacion sólo puede ser S2 o bien OperacionExenta.",
    1202: "Si ClaveRegimen es 06 TipoFactura no puede ser F2, F3, R5 y BaseImponibleACoste debe "
    "estar cumplimentado.",
    1203: "Si ClaveRegimen es 07 OperacionExenta no puede ser E2, E3, E4 y E5 o "
    "CalificacionOperacion no puede ser S2, N1, N2.",
    1205: "Si ClaveRegimen es 10 CalificacionOperacion tiene que ser N1, TipoFactura F1 y "
    "Destinatarios estar identificada mediante NIF.",
    1239: "Error en el bloque Destinatario.",
    1252: "Si ClaveRegimen es 08 el campo CalificacionOperacion tiene que ser N2 e ir siempre "
    "informado.",
    1257: "El campo BaseImponibleACoste solo puede estar cumplimentado si la ClaveRegimen es = "
    "'06' o Impuesto = '02' (IPSI) o Impuesto = '05' (Otros).",
    1283: "Si el NIF de la contraparte es persona fisica se debe informar tambien de su "
    "NombreRazon",
    1286: "Si el impuesto es IVA(01), IGIC(03) o vacio, si ClaveRegimen es 02 solo se podrá "
    "informar OperacionExenta.",
    1289: "Si Impuesto es IVA(01) o vacio y si el campo OperacionExenta es igual a 'E5' sólo "
    "deberá existir la agrupación IDOtro en el bloque Destinatario.",
    1153: "Valor del campo RechazoPrevio no válido, solo podrá incluirse el campo RechazoPrevio "
    "con valor X o S si se ha informado el campo Subsanacion y tiene el valor S.",
    2000: "El cálculo de la huella suministrada es incorrecta.",
    2002: "La longitud de huella del registro anterior no es correcta.",
    2003: "El contenido de la huella del registro anterior no es correcto.",
    2005: "El campo ImporteTotal tiene un valor incorrecto para el valor de los campos "
    "BaseImponibleOimporteNoSujeto, CuotaRepercutida y CuotaRecargoEquivalencia suministrados.",
    2006: "El campo CuotaTotal tiene un valor incorrecto para el valor de los campos "
    "CuotaRepercutida y CuotaRecargoEquivalencia suministrados.",
    2007: "El campo PrimerRegistro no puede valer S si ya existen registros para el obligado "
    "y sistema informático.",
    2008: "La huella del registro anterior no puede ser igual a la huella del registro actual.",
    2009: "Si el campo Impuesto tiene valor IPSI(02) el campo ClaveRegimen debe de estar "
    "cumplimentado.",
    3000: "Registro de facturación duplicado.",
    3001: "El registro de facturación ya ha sido dado de baja.",
    3002: "No existe el registro de facturación.",
}
ESTADO_DUPLICADO = {
    "Correcto": "Correcta",
    "AceptadoConErrores": "AceptadaConErrores",
    "Anulado": "Anulada",
}


def madrid_now() -> datetime:
    """AEAT's clock: Spanish peninsular time (falls back to local time without tz data)."""
    try:
        return datetime.now(ZoneInfo("Europe/Madrid"))
    except ZoneInfoNotFoundError:
        return datetime.now().astimezone()


def description(code: int) -> str:
    return DESCRIPTIONS.get(code, f"Error {code} provocado en el simulador.")


class SoapFault(Exception):
    """A whole-envelope rejection, answered as a SOAP 1.1 Fault (HTTP 500)."""

    def __init__(self, code: int, message: str, faultcode: str = "env:Client") -> None:
        super().__init__(f"Codigo[{code}].{message}")
        self.code = code
        self.faultcode = faultcode

    @property
    def faultstring(self) -> str:
        return str(self)


@dataclass
class Options:
    """Per-request knobs the server passes in (from its control state)."""

    wait_seconds: int = 60
    reject: dict[str, int] = field(default_factory=dict)
    # PEM file of the CAs a NO VERI*FACTU record's signing certificate must chain to.
    signature_ca: str | None = None
    now: Callable[[], datetime] = field(default=lambda: madrid_now())


@dataclass
class Line:
    id_factura: tuple[str, str, str]
    operacion: list[tuple[str, str]]
    ref_externa: str
    estado: str = "Correcto"
    codigo: int | None = None
    duplicado: StoredRecord | None = None
    detalle: str = ""  # appended to the code's description


def q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


def sub(parent: etree._Element, ns: str, name: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, q(ns, name))
    if text is not None:
        el.text = text
    return el


def envelope(payload: etree._Element) -> bytes:
    env = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"env": SOAP_ENV})
    etree.SubElement(env, q(SOAP_ENV, "Header"))
    etree.SubElement(env, q(SOAP_ENV, "Body")).append(payload)
    etree.cleanup_namespaces(env)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_envelope(fault: SoapFault) -> bytes:
    env = etree.Element(q(SOAP_ENV, "Envelope"), nsmap={"env": SOAP_ENV})
    body = etree.SubElement(env, q(SOAP_ENV, "Body"))
    el = etree.SubElement(body, q(SOAP_ENV, "Fault"))
    etree.SubElement(el, "faultcode").text = fault.faultcode
    etree.SubElement(el, "faultstring").text = fault.faultstring
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def new_csv() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def handle_soap(
    body: bytes, state: State, options: Options, *, requerimiento: bool = False
) -> tuple[int, bytes]:
    """Answer one SOAP request: (HTTP status, response bytes).

    ``requerimiento``: the request came to the Requerimiento endpoint (``sfRequerimiento``,
    path ``…/RequerimientoSOAP``), where only RegFactuSistemaFacturacion with
    ``Cabecera/RemisionRequerimiento`` is accepted.
    """
    try:
        return 200, envelope(_dispatch(body, state, options, requerimiento))
    except SoapFault as fault:
        return 500, fault_envelope(fault)


def _dispatch(
    body: bytes, state: State, options: Options, requerimiento: bool = False
) -> etree._Element:
    if not body.strip():
        raise SoapFault(4138, "Petición vacía o con codificación incorrecta.")
    try:
        root = parse_xml(body)
    except etree.XMLSyntaxError as exc:
        raise SoapFault(4103, f"Error en el parseo del XML: {exc}") from exc
    soap_body = root.find(q(SOAP_ENV, "Body")) if root.tag == q(SOAP_ENV, "Envelope") else None
    payload = None
    if soap_body is not None:
        payload = next((c for c in soap_body if isinstance(c.tag, str)), None)
    if payload is None:
        raise SoapFault(4102, "El XML no cumple el esquema. Falta el sobre SOAP o su Body.")
    if payload.tag == q(NS_SFLR, "RegFactuSistemaFacturacion"):
        if len(payload.findall(q(NS_SFLR, "RegistroFactura"))) > MAX_RECORDS:
            raise SoapFault(4114, "El número de registros supera el máximo permitido (1000).")
        _validate(payload)
        remision = payload.find(f"{q(NS_SFLR, 'Cabecera')}/{q(NS_SF, 'RemisionRequerimiento')}")
        if requerimiento:
            if remision is None:
                raise SoapFault(
                    4102,
                    "El XML no cumple el esquema. En el servicio de requerimiento es obligatorio "
                    "informar RemisionRequerimiento.",
                )
            return reg_factu_requerimiento(payload, remision, state, options)
        if remision is not None:
            raise SoapFault(
                4102,
                "RemisionRequerimiento solo puede informarse en el servicio de requerimiento.",
            )
        return reg_factu(payload, state, options)
    if requerimiento:
        raise SoapFault(
            4102, "El servicio de requerimiento solo admite RegFactuSistemaFacturacion."
        )
    if payload.tag == q(NS_SFLRC, "ConsultaFactuSistemaFacturacion"):
        _validate(payload)
        return consulta(payload, state)
    raise SoapFault(4102, f"El XML no cumple el esquema. Operación desconocida: {payload.tag}")


def _validate(payload: etree._Element) -> None:
    errors = validate_element(payload)
    if errors:
        raise SoapFault(4102, "El XML no cumple el esquema. " + errors[0][:400])


def _text(el: etree._Element | None, path: str) -> str:
    if el is None:
        return ""
    return (el.findtext(path, namespaces=NSMAP) or "").strip()


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _parse_fecha(text: str) -> date | None:
    try:
        return datetime.strptime(text, "%d-%m-%Y").date()
    except ValueError:
        return None


def _estado_envio(lines: list[Line]) -> str:
    estados = {line.estado for line in lines}
    if estados == {"Incorrecto"}:
        return "Incorrecto"
    if estados == {"Correcto"}:
        return "Correcto"
    return "ParcialmenteCorrecto"


def _respuesta(
    cabecera: etree._Element,
    lines: list[Line],
    *,
    csv: str,
    presentador: str,
    stamp: str,
    options: Options,
) -> etree._Element:
    """RespuestaRegFactuSistemaFacturacion for ``lines``: the same for registrations and for
    records sent on a requerimiento."""
    estado_envio = _estado_envio(lines)
    answer = etree.Element(
        q(NS_SFR, "RespuestaRegFactuSistemaFacturacion"), nsmap={"sfR": NS_SFR, "sf": NS_SF}
    )
    if estado_envio != "Incorrecto":
        sub(answer, NS_SFR, "CSV", csv)
        datos = sub(answer, NS_SFR, "DatosPresentacion")
        sub(datos, NS_SF, "NIFPresentador", presentador)
        sub(datos, NS_SF, "TimestampPresentacion", stamp)
    echo = sub(answer, NS_SFR, "Cabecera")
    for child in cabecera:
        echo.append(copy.deepcopy(child))
    sub(answer, NS_SFR, "TiempoEsperaEnvio", str(options.wait_seconds))
    sub(answer, NS_SFR, "EstadoEnvio", estado_envio)
    for line in lines:
        _answer_line(answer, line)
    return answer


# --------------------------------------------------------------------------------- alta/baja


def reg_factu(payload: etree._Element, state: State, options: Options) -> etree._Element:
    cabecera = payload.find(q(NS_SFLR, "Cabecera"))
    obligado = _text(cabecera, "sf:ObligadoEmision/sf:NIF")
    presentador = _text(cabecera, "sf:Representante/sf:NIF") or obligado
    if not is_valid_nif(obligado):
        raise SoapFault(4116, "Error en la cabecera. El NIF del ObligadoEmision no es válido.")
    now = options.now().replace(microsecond=0)
    stamp = now.isoformat()
    csv = new_csv()
    lines: list[Line] = []
    with state.lock:
        accepted: list[StoredRecord] = []
        for registro in payload.iterfind(q(NS_SFLR, "RegistroFactura")):
            record = next(c for c in registro if isinstance(c.tag, str))
            line, stored = _process_record(
                record, obligado, presentador, csv, stamp, now, state, options
            )
            lines.append(line)
            if stored is not None:
                accepted.append(stored)
        for stored in accepted:
            state.put(stored)
        state.commit()

    return _respuesta(
        cabecera, lines, csv=csv, presentador=presentador, stamp=stamp, options=options
    )


def reg_factu_requerimiento(
    payload: etree._Element, remision: etree._Element, state: State, options: Options
) -> etree._Element:
    """NO VERI*FACTU records sent because the AEAT asked for them (Requerimiento endpoint).

    They are stored apart from the VERI*FACTU registrations (``state.requerimientos``, keyed
    by RefRequerimiento): they neither register invoices nor advance the VERI*FACTU chains.
    Each record's XAdES signature is verified (:mod:`.signatures`): a record unsigned, or
    whose signature fails, is rejected (Incorrecto) with 1100, «valor o tipo incorrecto del
    campo», naming ``ds:Signature`` and the reason (AEAT's list has no code of its own for a
    bad signature in the notes we have; 1100 is its generic "wrong value" code). Then its
    huella is recomputed (2000 if wrong: AceptadoConErrores).
    """
    cabecera = payload.find(q(NS_SFLR, "Cabecera"))
    obligado = _text(cabecera, "sf:ObligadoEmision/sf:NIF")
    presentador = _text(cabecera, "sf:Representante/sf:NIF") or obligado
    if not is_valid_nif(obligado):
        raise SoapFault(4116, "Error en la cabecera. El NIF del ObligadoEmision no es válido.")
    ref = _text(remision, "sf:RefRequerimiento")
    fin = _text(remision, "sf:FinRequerimiento") or "N"
    stamp = options.now().replace(microsecond=0).isoformat()
    csv = new_csv()
    lines: list[Line] = []
    received: list[dict] = []
    for registro in payload.iterfind(q(NS_SFLR, "RegistroFactura")):
        record = next(c for c in registro if isinstance(c.tag, str))
        is_alta = record.tag == q(NS_SF, "RegistroAlta")
        suffix = "" if is_alta else "Anulada"
        ids = tuple(
            _text(record, f"sf:IDFactura/sf:{n}{suffix}")
            for n in ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura")
        )
        prev = _text(record, "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella")
        fecha_hora = _text(record, "sf:FechaHoraHusoGenRegistro")
        huella = _text(record, "sf:Huella")
        if is_alta:
            expected = huella_alta(
                {
                    "IDEmisorFactura": ids[0],
                    "NumSerieFactura": ids[1],
                    "FechaExpedicionFactura": ids[2],
                    "TipoFactura": _text(record, "sf:TipoFactura"),
                    "CuotaTotal": _text(record, "sf:CuotaTotal"),
                    "ImporteTotal": _text(record, "sf:ImporteTotal"),
                    "Huella": prev,
                    "FechaHoraHusoGenRegistro": fecha_hora,
                }
            )
        else:
            expected = huella_anulacion(
                {
                    "IDEmisorFacturaAnulada": ids[0],
                    "NumSerieFacturaAnulada": ids[1],
                    "FechaExpedicionFacturaAnulada": ids[2],
                    "Huella": prev,
                    "FechaHoraHusoGenRegistro": fecha_hora,
                }
            )
        line = Line(
            id_factura=ids,
            operacion=[("TipoOperacion", "Alta" if is_alta else "Anulacion")],
            ref_externa=_text(record, "sf:RefExterna"),
        )
        signature_error = ""
        try:
            check_record_signature(record, options.signature_ca)
        except BadSignature as exc:
            signature_error = f"ds:Signature: {exc}"
        if ids[0] != obligado:
            line.estado, line.codigo = "Incorrecto", 1108
        elif signature_error:
            line.estado, line.codigo, line.detalle = "Incorrecto", 1100, signature_error
        elif huella != expected:
            line.estado, line.codigo = "AceptadoConErrores", 2000
        lines.append(line)
        received.append(
            {
                "tipo": "Alta" if is_alta else "Anulacion",
                "id_emisor": ids[0],
                "num_serie": ids[1],
                "fecha_expedicion": ids[2],
                "huella": huella,
                "estado": line.estado,
                "signed": record.find("ds:Signature", NSMAP_DS) is not None,
                "signature_error": signature_error,
                "raw_xml": etree.tostring(record, encoding="unicode"),
                "csv": csv,
                "timestamp": stamp,
                "fin_requerimiento": fin,
            }
        )
    with state.lock:
        state.add_requerimiento(ref, received)
        state.commit()
    return _respuesta(
        cabecera, lines, csv=csv, presentador=presentador, stamp=stamp, options=options
    )


NSMAP_DS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}


def _answer_line(answer: etree._Element, line: Line) -> None:
    el = sub(answer, NS_SFR, "RespuestaLinea")
    idf = sub(el, NS_SFR, "IDFactura")
    for name, value in zip(
        ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura"),
        line.id_factura,
        strict=True,
    ):
        sub(idf, NS_SF, name, value)
    op = sub(el, NS_SFR, "Operacion")
    for name, value in line.operacion:
        sub(op, NS_SF, name, value)
    if line.ref_externa:
        sub(el, NS_SFR, "RefExterna", line.ref_externa)
    sub(el, NS_SFR, "EstadoRegistro", line.estado)
    if line.codigo is not None:
        sub(el, NS_SFR, "CodigoErrorRegistro", str(line.codigo))
        text = description(line.codigo) + (f" {line.detalle}" if line.detalle else "")
        sub(el, NS_SFR, "DescripcionErrorRegistro", text[:1500])
    if line.duplicado is not None:
        dup = line.duplicado
        block = sub(el, NS_SFR, "RegistroDuplicado")
        sub(block, NS_SF, "IdPeticionRegistroDuplicado", dup.csv)
        sub(block, NS_SF, "EstadoRegistroDuplicado", ESTADO_DUPLICADO[dup.estado])
        if dup.codigo_error is not None:
            sub(block, NS_SF, "CodigoErrorRegistro", str(dup.codigo_error))
            sub(block, NS_SF, "DescripcionErrorRegistro", dup.descripcion_error[:500])


def _process_record(
    record: etree._Element,
    obligado: str,
    presentador: str,
    csv: str,
    stamp: str,
    now: datetime,
    state: State,
    options: Options,
) -> tuple[Line, StoredRecord | None]:
    is_alta = record.tag == q(NS_SF, "RegistroAlta")
    prev_huella = _text(record, "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella")
    huella = _text(record, "sf:Huella")
    fecha_hora = _text(record, "sf:FechaHoraHusoGenRegistro")
    if is_alta:
        ids = tuple(
            _text(record, f"sf:IDFactura/sf:{n}")
            for n in ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura")
        )
        expected = huella_alta(
            {
                "IDEmisorFactura": ids[0],
                "NumSerieFactura": ids[1],
                "FechaExpedicionFactura": ids[2],
                "TipoFactura": _text(record, "sf:TipoFactura"),
                "CuotaTotal": _text(record, "sf:CuotaTotal"),
                "ImporteTotal": _text(record, "sf:ImporteTotal"),
                "Huella": prev_huella,
                "FechaHoraHusoGenRegistro": fecha_hora,
            }
        )
        flags = [("TipoOperacion", "Alta")] + [
            (n, _text(record, f"sf:{n}"))
            for n in ("Subsanacion", "RechazoPrevio")
            if _text(record, f"sf:{n}")
        ]
    else:
        ids = tuple(
            _text(record, f"sf:IDFactura/sf:{n}Anulada")
            for n in ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura")
        )
        expected = huella_anulacion(
            {
                "IDEmisorFacturaAnulada": ids[0],
                "NumSerieFacturaAnulada": ids[1],
                "FechaExpedicionFacturaAnulada": ids[2],
                "Huella": prev_huella,
                "FechaHoraHusoGenRegistro": fecha_hora,
            }
        )
        flags = [("TipoOperacion", "Anulacion")] + [
            (n, _text(record, f"sf:{n}"))
            for n in ("RechazoPrevio", "SinRegistroPrevio")
            if _text(record, f"sf:{n}")
        ]
    line = Line(id_factura=ids, operacion=flags, ref_externa=_text(record, "sf:RefExterna"))
    key = record_key(*ids)
    state.count_received(key)

    chain_error = _check_chain(record, obligado, huella, prev_huella, state)
    existing = state.records.get(key)
    if is_alta:
        code, replaces = _alta_rejection(record, ids, obligado, existing, now, options)
    else:
        code, replaces = _anulacion_rejection(record, ids, obligado, existing, options)
    if code is not None and not 2000 <= code < 3000:
        line.estado, line.codigo = "Incorrecto", code
        if code == 3000:
            line.duplicado = existing
        return line, None

    warning = code  # an injected 2xxx code
    if warning is None and huella != expected:
        warning = 2000
    if warning is None:
        warning = chain_error
    if warning is None and is_alta:
        warning = _totals_warning(record)
    if warning is not None:
        line.estado, line.codigo = "AceptadoConErrores", warning

    if is_alta:
        stored = StoredRecord(
            id_emisor=ids[0],
            num_serie=ids[1],
            fecha_expedicion=ids[2],
            obligado_nif=obligado,
            estado=line.estado,
            huella=huella,
            csv=csv,
            nif_presentador=presentador,
            timestamp_presentacion=stamp,
            timestamp_modificacion=stamp,
            raw_xml=etree.tostring(record, encoding="unicode"),
            tipo="Alta",
            ref_externa=line.ref_externa,
            codigo_error=line.codigo,
            descripcion_error=description(line.codigo) if line.codigo else "",
            recipients=[
                (n.text or "").strip()
                for n in record.iterfind("sf:Destinatarios/sf:IDDestinatario/sf:NIF", NSMAP)
            ],
        )
    elif replaces is not None:
        stored = copy.copy(replaces)
        stored.estado_previo, stored.estado = replaces.estado, "Anulado"
        stored.timestamp_modificacion = stamp
    else:  # SinRegistroPrevio=S: AEAT now knows the invoice only as annulled
        stored = StoredRecord(
            id_emisor=ids[0],
            num_serie=ids[1],
            fecha_expedicion=ids[2],
            obligado_nif=obligado,
            estado="Anulado",
            huella=huella,
            csv=csv,
            nif_presentador=presentador,
            timestamp_presentacion=stamp,
            timestamp_modificacion=stamp,
            raw_xml=etree.tostring(record, encoding="unicode"),
            tipo="Anulacion",
            ref_externa=line.ref_externa,
        )
    # Visible to the following records of the same envelope (duplicates inside one send).
    state.records[key] = stored
    return line, stored


def _check_chain(
    record: etree._Element, obligado: str, huella: str, prev: str, state: State
) -> int | None:
    system = record.find("sf:SistemaInformatico", NSMAP)
    chain_key = "|".join(
        [
            obligado,
            _text(system, "sf:NIF") or _text(system, "sf:IDOtro/sf:ID"),
            _text(system, "sf:IdSistemaInformatico"),
            _text(system, "sf:NumeroInstalacion"),
        ]
    )
    chain = state.chain(chain_key)
    if huella in chain.seen:
        return None  # a resend of something already received: not a new chain link
    error = None
    if _text(record, "sf:Encadenamiento/sf:PrimerRegistro") == "S":
        if chain.tail is not None:
            error = 2007
    elif not re.fullmatch(r"[0-9A-F]{64}", prev):
        error = 2002
    elif prev == huella:
        error = 2008
    elif chain.tail is not None and prev != chain.tail:
        error = 2003
    state.advance_chain(chain_key, huella)
    return error


def _alta_rejection(
    record: etree._Element,
    ids: tuple[str, ...],
    obligado: str,
    existing: StoredRecord | None,
    now: datetime,
    options: Options,
) -> tuple[int | None, StoredRecord | None]:
    if ids[1] in options.reject:
        return options.reject[ids[1]], None
    if ids[0] != obligado:
        return 1108, None
    for nif in record.iterfind("sf:Destinatarios/sf:IDDestinatario/sf:NIF", NSMAP):
        if not is_valid_nif((nif.text or "").strip()):
            return 1123, None
    issued = _parse_fecha(ids[2])
    if issued is None:
        return 1105, None
    if issued > now.date():
        return 1112, None
    lines = record.findall("sf:Desglose/sf:DetalleDesglose", NSMAP)
    tipo = _text(record, "sf:TipoFactura")
    if (
        tipo == "F2"
        and _text(record, "sf:FacturaSinIdentifDestinatarioArt61d") != "S"
        and not _text(record, "sf:NumRegistroAcuerdoFacturacion")
        and sum(
            _amount(_text(d, "sf:BaseImponibleOimporteNoSujeto"))
            + _amount(_text(d, "sf:CuotaRepercutida"))
            for d in lines
        )
        > F2_LIMIT + TOLERANCE
    ):
        return 1150, None
    if _text(record, "sf:TipoRectificativa") != "I" and tipo not in ("R2", "R3"):
        for d in lines:
            rate, cuota = _text(d, "sf:TipoImpositivo"), _text(d, "sf:CuotaRepercutida")
            if rate and cuota:
                coste = _text(d, "sf:BaseImponibleACoste")
                base = _amount(coste or _text(d, "sf:BaseImponibleOimporteNoSujeto"))
                if abs(base * _amount(rate) / 100 - _amount(cuota)) > TOLERANCE:
                    return (1144 if coste else 1142), None
    code = _invoice_rule(record, tipo) or next(
        (c for c in (_line_rule(record, tipo, d) for d in lines) if c is not None), None
    )
    if code is not None:
        return code, None
    subsanacion = _text(record, "sf:Subsanacion") == "S"
    rechazo = _text(record, "sf:RechazoPrevio")
    if rechazo in ("S", "X") and not subsanacion:
        return 1153, None
    if existing is not None:
        if not subsanacion:
            return 3000, None
        if existing.estado == "Anulado":
            return 3001, None
        return None, existing
    if subsanacion and rechazo != "X":
        return 3002, None
    return None, None


def _invoice_rule(record: etree._Element, tipo: str) -> int | None:
    """AEAT's record-level checks of FacturasSustituidas and the parties' names."""
    if (tipo == "F3") != (record.find("sf:FacturasSustituidas", NSMAP) is not None):
        return 1116  # F3 lists the simplified invoices it replaces; no other type does
    for dest in record.iterfind("sf:Destinatarios/sf:IDDestinatario", NSMAP):
        if not _text(dest, "sf:NombreRazon"):
            return 1283 if dest.find("sf:NIF", NSMAP) is not None else 1239
    tercero = record.find("sf:Tercero", NSMAP)
    if tercero is not None and not _text(tercero, "sf:NombreRazon"):
        return 1178
    return None


def _line_rule(record: etree._Element, tipo: str, d: etree._Element) -> int | None:
    """One DetalleDesglose against AEAT's regime / operation rules (errores.properties
    1199–1293, 1257, 1289; E7/E8 are IGIC's own exemptions)."""
    impuesto = _text(d, "sf:Impuesto") or "01"
    clave = _text(d, "sf:ClaveRegimen")
    op = _text(d, "sf:CalificacionOperacion") or _text(d, "sf:OperacionExenta")
    exenta = op.startswith("E")
    nif_recipients = [
        _text(x, "sf:NIF")
        for x in record.iterfind("sf:Destinatarios/sf:IDDestinatario", NSMAP)
        if x.find("sf:NIF", NSMAP) is not None
    ]
    coste = _text(d, "sf:BaseImponibleACoste")
    if op in ("E7", "E8") and impuesto != "03":
        return 1182
    if coste and clave != "06" and impuesto not in ("02", "05"):
        return 1257
    if impuesto == "01" and op == "E5" and nif_recipients:
        return 1289
    if impuesto not in ("01", "03"):
        return None
    if clave == "01" and op in ("E2", "E3"):
        return 1199
    if clave == "02" and not exenta:
        return 1286
    if clave == "03" and op != "S1":
        return 1200
    if clave == "04" and not (op == "S2" or exenta):
        return 1201
    if clave == "06" and (tipo in ("F2", "F3", "R5") or not coste):
        return 1202
    if clave == "07" and op in ("S2", "N1", "N2", "E2", "E3", "E4", "E5"):
        return 1203
    if clave == "08" and op != "N2":
        return 1252
    if clave == "10" and (op != "N1" or tipo != "F1" or not nif_recipients):
        return 1205
    if clave == "14":
        issued = _parse_fecha(_text(record, "sf:IDFactura/sf:FechaExpedicionFactura"))
        operated = _parse_fecha(_text(record, "sf:FechaOperacion"))
        if operated is None or issued is None or operated <= issued:
            return 1147
        if tipo not in ("F1", "R1", "R2", "R3", "R4"):
            return 1148
        if not nif_recipients or any(n[:1] not in ("P", "Q", "S", "V") for n in nif_recipients):
            return 1149
    return None


def _anulacion_rejection(
    record: etree._Element,
    ids: tuple[str, ...],
    obligado: str,
    existing: StoredRecord | None,
    options: Options,
) -> tuple[int | None, StoredRecord | None]:
    if ids[1] in options.reject:
        return options.reject[ids[1]], existing
    if ids[0] != obligado:
        return 1108, None
    if existing is None:
        if _text(record, "sf:SinRegistroPrevio") == "S":
            return None, None
        return 3002, None
    if existing.estado == "Anulado":
        return 3001, None
    return None, existing


def _totals_warning(record: etree._Element) -> int | None:
    lines = record.findall("sf:Desglose/sf:DetalleDesglose", NSMAP)
    if any(_text(d, "sf:Impuesto") == "02" and not _text(d, "sf:ClaveRegimen") for d in lines):
        return 2009  # IPSI without ClaveRegimen: stored, with an error to correct
    if any(_text(d, "sf:ClaveRegimen") in NO_TOTALS_CHECK_REGIMES for d in lines):
        return None
    cuotas = sum(
        (
            _amount(_text(d, "sf:CuotaRepercutida"))
            + _amount(_text(d, "sf:CuotaRecargoEquivalencia"))
            for d in lines
        ),
        Decimal(0),
    )
    bases = sum((_amount(_text(d, "sf:BaseImponibleOimporteNoSujeto")) for d in lines), Decimal(0))
    if abs(_amount(_text(record, "sf:CuotaTotal")) - cuotas) > TOLERANCE:
        return 2006
    if abs(_amount(_text(record, "sf:ImporteTotal")) - (bases + cuotas)) > TOLERANCE:
        return 2005
    return None


# ---------------------------------------------------------------------------------- consulta

CONSULTA_FIELDS = (
    "NombreRazonEmisor",
    "RefExterna",
    "Subsanacion",
    "RechazoPrevio",
    "SinRegistroPrevio",
    "GeneradoPor",
    "Generador",
    "TipoFactura",
    "TipoRectificativa",
    "FacturasRectificadas",
    "FacturasSustituidas",
    "ImporteRectificacion",
    "FechaOperacion",
    "DescripcionOperacion",
    "FacturaSimplificadaArt7273",
    "FacturaSinIdentifDestinatarioArt61d",
    "Macrodato",
    "EmitidaPorTerceroODestinatario",
    "Tercero",
    "Destinatarios",
    "Cupon",
    "Desglose",
    "CuotaTotal",
    "ImporteTotal",
    "Encadenamiento",
    "SistemaInformatico",
    "FechaHoraHusoGenRegistro",
    "NumRegistroAcuerdoFacturacion",
    "IdAcuerdoSistemaInformatico",
    "TipoHuella",
    "Huella",
)
# Blocks whose (anonymous) type is declared in RespuestaConsultaLR.xsd: their direct
# children are in that namespace too, unlike children of named sf types.
LOCAL_CHILDREN = {"FacturasRectificadas", "FacturasSustituidas", "Destinatarios", "Encadenamiento"}
MAX_ROWS = 10000


def consulta(payload: etree._Element, state: State) -> etree._Element:
    """Answer from the stored state; ClavePaginacion is ignored (at most 10,000 rows)."""
    cabecera = payload.find(q(NS_SFLRC, "Cabecera"))
    filtro = payload.find(q(NS_SFLRC, "FiltroConsulta"))
    nif = _text(cabecera, "sf:ObligadoEmision/sf:NIF")
    destinatario = _text(cabecera, "sf:Destinatario/sf:NIF")
    ejercicio = _text(filtro, "sfLRC:PeriodoImputacion/sf:Ejercicio")
    periodo = _text(filtro, "sfLRC:PeriodoImputacion/sf:Periodo")
    num_serie = _text(filtro, "sfLRC:NumSerieFactura")
    ref_externa = _text(filtro, "sfLRC:RefExterna")
    fecha = _text(filtro, "sfLRC:FechaExpedicionFactura/sf:FechaExpedicionFactura")
    rango = "sfLRC:FechaExpedicionFactura/sf:RangoFechaExpedicion"
    desde = _parse_fecha(_text(filtro, f"{rango}/sf:Desde"))
    hasta = _parse_fecha(_text(filtro, f"{rango}/sf:Hasta"))

    def matches(rec: StoredRecord) -> bool:
        issued = _parse_fecha(rec.fecha_expedicion)
        return (
            (rec.obligado_nif == nif if nif else destinatario in rec.recipients)
            and issued is not None
            and f"{issued.year:04d}" == ejercicio
            and f"{issued.month:02d}" == periodo
            and (not num_serie or rec.num_serie == num_serie)
            and (not ref_externa or rec.ref_externa == ref_externa)
            and (not fecha or rec.fecha_expedicion == fecha)
            and (desde is None or issued >= desde)
            and (hasta is None or issued <= hasta)
        )

    with state.lock:
        found = [rec for rec in state.records.values() if matches(rec)][:MAX_ROWS]

    answer = etree.Element(
        q(NS_SFLRRC, "RespuestaConsultaFactuSistemaFacturacion"),
        nsmap={"sfLRRC": NS_SFLRRC, "sf": NS_SF},
    )
    echo = sub(answer, NS_SFLRRC, "Cabecera")
    for child in cabecera:
        echo.append(copy.deepcopy(child))
    periodo_el = sub(answer, NS_SFLRRC, "PeriodoImputacion")
    sub(periodo_el, NS_SFLRRC, "Ejercicio", ejercicio)
    sub(periodo_el, NS_SFLRRC, "Periodo", periodo)
    sub(answer, NS_SFLRRC, "IndicadorPaginacion", "N")
    sub(answer, NS_SFLRRC, "ResultadoConsulta", "ConDatos" if found else "SinDatos")
    for rec in found:
        _consulta_row(answer, rec)
    return answer


def _consulta_row(answer: etree._Element, rec: StoredRecord) -> None:
    row = sub(answer, NS_SFLRRC, "RegistroRespuestaConsultaFactuSistemaFacturacion")
    idf = sub(row, NS_SFLRRC, "IDFactura")
    sub(idf, NS_SF, "IDEmisorFactura", rec.id_emisor)
    sub(idf, NS_SF, "NumSerieFactura", rec.num_serie)
    sub(idf, NS_SF, "FechaExpedicionFactura", rec.fecha_expedicion)
    datos = sub(row, NS_SFLRRC, "DatosRegistroFacturacion")
    raw = parse_xml(rec.raw_xml.encode())
    for name in CONSULTA_FIELDS:
        found = raw.find(q(NS_SF, name))
        if found is None:
            continue
        el = copy.deepcopy(found)
        el.tag = q(NS_SFLRRC, name)
        if name in LOCAL_CHILDREN:
            for child in el:
                if isinstance(child.tag, str):
                    child.tag = q(NS_SFLRRC, etree.QName(child).localname)
        datos.append(el)
    pres = sub(row, NS_SFLRRC, "DatosPresentacion")
    sub(pres, NS_SF, "NIFPresentador", rec.nif_presentador)
    sub(pres, NS_SF, "TimestampPresentacion", rec.timestamp_presentacion)
    sub(pres, NS_SF, "IdPeticion", rec.csv)
    estado = sub(row, NS_SFLRRC, "EstadoRegistro")
    sub(estado, NS_SFLRRC, "TimestampUltimaModificacion", rec.timestamp_modificacion)
    sub(estado, NS_SFLRRC, "EstadoRegistro", rec.estado)
    if rec.codigo_error is not None:
        sub(estado, NS_SFLRRC, "CodigoErrorRegistro", str(rec.codigo_error))
        sub(estado, NS_SFLRRC, "DescripcionErrorRegistro", rec.descripcion_error[:500])
