"""The RegFactuSistemaFacturacion operation: altas and anulaciones registered (their
checks are :mod:`.checks`), and NO VERI*FACTU records sent on a requerimiento, each answered
line by line as AEAT's RespuestaRegFactuSistemaFacturacion."""

from __future__ import annotations

import copy
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

from .checks import alta_rejection, anulacion_rejection, check_chain, totals_warning
from .codes import description
from .huella import huella_alta, huella_anulacion
from .nif import is_valid_nif
from .schemas import NS_SF, NS_SFLR, NS_SFR, NSMAP
from .signatures import BadSignature, check_record_signature
from .soap import Options, SoapFault, q, sub, text_at
from .state import State, StoredRecord, record_key

ESTADO_DUPLICADO = {
    "Correcto": "Correcta",
    "AceptadoConErrores": "AceptadaConErrores",
    "Anulado": "Anulada",
}
NSMAP_DS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}


@dataclass
class Line:
    id_factura: tuple[str, str, str]
    operacion: list[tuple[str, str]]
    ref_externa: str
    estado: str = "Correcto"
    codigo: int | None = None
    duplicado: StoredRecord | None = None
    detalle: str = ""  # appended to the code's description


def new_csv() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


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


def reg_factu(payload: etree._Element, state: State, options: Options) -> etree._Element:
    cabecera = payload.find(q(NS_SFLR, "Cabecera"))
    obligado, presentador = _parties(cabecera)
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
    obligado, presentador = _parties(cabecera)
    ref = text_at(remision, "sf:RefRequerimiento")
    fin = text_at(remision, "sf:FinRequerimiento") or "N"
    stamp = options.now().replace(microsecond=0).isoformat()
    csv = new_csv()
    lines: list[Line] = []
    received: list[dict] = []
    for registro in payload.iterfind(q(NS_SFLR, "RegistroFactura")):
        record = next(c for c in registro if isinstance(c.tag, str))
        is_alta = record.tag == q(NS_SF, "RegistroAlta")
        ids = _record_ids(record, is_alta)
        huella = text_at(record, "sf:Huella")
        expected = _expected_huella(record, is_alta, ids)
        line = Line(
            id_factura=ids,
            operacion=[("TipoOperacion", "Alta" if is_alta else "Anulacion")],
            ref_externa=text_at(record, "sf:RefExterna"),
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
    prev_huella = text_at(record, "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella")
    huella = text_at(record, "sf:Huella")
    ids = _record_ids(record, is_alta)
    expected = _expected_huella(record, is_alta, ids)
    if is_alta:
        flags = [("TipoOperacion", "Alta")] + [
            (n, text_at(record, f"sf:{n}"))
            for n in ("Subsanacion", "RechazoPrevio")
            if text_at(record, f"sf:{n}")
        ]
    else:
        flags = [("TipoOperacion", "Anulacion")] + [
            (n, text_at(record, f"sf:{n}"))
            for n in ("RechazoPrevio", "SinRegistroPrevio")
            if text_at(record, f"sf:{n}")
        ]
    line = Line(id_factura=ids, operacion=flags, ref_externa=text_at(record, "sf:RefExterna"))
    key = record_key(*ids)
    state.count_received(key)

    chain_error = check_chain(record, obligado, huella, prev_huella, state)
    existing = state.records.get(key)
    if is_alta:
        code, replaces = alta_rejection(record, ids, obligado, existing, now, options)
    else:
        code, replaces = anulacion_rejection(record, ids, obligado, existing, options)
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
        warning = totals_warning(record)
    if warning is not None:
        line.estado, line.codigo = "AceptadoConErrores", warning

    def first_seen(**fields: Any) -> StoredRecord:
        """The invoice as AEAT first stores it, from this record."""
        return StoredRecord(
            id_emisor=ids[0],
            num_serie=ids[1],
            fecha_expedicion=ids[2],
            obligado_nif=obligado,
            huella=huella,
            csv=csv,
            nif_presentador=presentador,
            timestamp_presentacion=stamp,
            timestamp_modificacion=stamp,
            raw_xml=etree.tostring(record, encoding="unicode"),
            ref_externa=line.ref_externa,
            **fields,
        )

    if is_alta:
        stored = first_seen(
            estado=line.estado,
            tipo="Alta",
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
        stored = first_seen(estado="Anulado", tipo="Anulacion")
    # Visible to the following records of the same envelope (duplicates inside one send).
    state.records[key] = stored
    return line, stored


def _parties(cabecera: etree._Element | None) -> tuple[str, str]:
    """(obligado, presentador) of a request's Cabecera; a Fault if the obligado's NIF is not
    valid."""
    obligado = text_at(cabecera, "sf:ObligadoEmision/sf:NIF")
    presentador = text_at(cabecera, "sf:Representante/sf:NIF") or obligado
    if not is_valid_nif(obligado):
        raise SoapFault(4116, "Error en la cabecera. El NIF del ObligadoEmision no es válido.")
    return obligado, presentador


def _record_ids(record: etree._Element, is_alta: bool) -> tuple[str, str, str]:
    """The IDFactura of an alta, or of the invoice an anulación annuls."""
    suffix = "" if is_alta else "Anulada"
    emisor, serie, fecha = (
        text_at(record, f"sf:IDFactura/sf:{n}{suffix}")
        for n in ("IDEmisorFactura", "NumSerieFactura", "FechaExpedicionFactura")
    )
    return emisor, serie, fecha


def _expected_huella(record: etree._Element, is_alta: bool, ids: tuple[str, str, str]) -> str:
    """The huella the record should carry, recomputed from its own fields."""
    prev = text_at(record, "sf:Encadenamiento/sf:RegistroAnterior/sf:Huella")
    fecha_hora = text_at(record, "sf:FechaHoraHusoGenRegistro")
    if is_alta:
        return huella_alta(
            {
                "IDEmisorFactura": ids[0],
                "NumSerieFactura": ids[1],
                "FechaExpedicionFactura": ids[2],
                "TipoFactura": text_at(record, "sf:TipoFactura"),
                "CuotaTotal": text_at(record, "sf:CuotaTotal"),
                "ImporteTotal": text_at(record, "sf:ImporteTotal"),
                "Huella": prev,
                "FechaHoraHusoGenRegistro": fecha_hora,
            }
        )
    return huella_anulacion(
        {
            "IDEmisorFacturaAnulada": ids[0],
            "NumSerieFacturaAnulada": ids[1],
            "FechaExpedicionFacturaAnulada": ids[2],
            "Huella": prev,
            "FechaHoraHusoGenRegistro": fecha_hora,
        }
    )
