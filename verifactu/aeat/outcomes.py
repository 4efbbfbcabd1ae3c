"""What a call to the AEAT comes to, and how zeep's parsed reply maps onto it: a
:class:`SendResult` (one :class:`LineResult` per record), a consulta's rows, a SOAP Fault
(:class:`AeatFault`) or an unknown outcome (:class:`AeatTransportError`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_FAULT_CODE = re.compile(r"Codigo\[(\d+)\]")


@dataclass(frozen=True)
class LineResult:
    """One ``RespuestaLinea``: the AEAT's verdict on one record."""

    ref_externa: str
    nif: str
    numserie: str
    fecha: str
    operation: str  # "Alta" | "Anulacion"
    estado: str  # "Correcto" | "AceptadoConErrores" | "Incorrecto"
    code: str  # "" when none
    description: str
    duplicate_state: str | None  # "Correcta" | "AceptadaConErrores" | "Anulada" (on 3000)
    duplicate_code: str
    duplicate_description: str


@dataclass(frozen=True)
class SendResult:
    """A parsed ``RespuestaRegFactuSistemaFacturacion`` plus the raw exchange, for storage."""

    http_status: int
    estado_envio: str  # "Correcto" | "ParcialmenteCorrecto" | "Incorrecto"
    csv: str  # "" when the envelope was not accepted
    wait_seconds: int | None  # TiempoEsperaEnvio
    lines: list[LineResult]
    request_xml: str
    response_xml: str
    duration_ms: int


class AeatError(Exception):
    """Base of every error raised by the AEAT client (this package)."""


class AeatFault(AeatError):
    """A SOAP Fault: the AEAT refused the whole envelope; no record was stored."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        request_xml: str = "",
        response_xml: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.request_xml = request_xml
        self.response_xml = response_xml

    def __str__(self) -> str:
        return f"AEAT fault {self.code or '?'}: {self.message}"


class AeatTransportError(AeatError):
    """No usable answer: the outcome is UNKNOWN. Resend the same records; never regenerate."""

    def __init__(
        self,
        message: str,
        *,
        request_xml: str = "",
        http_status: int | None = None,
        response_xml: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request_xml = request_xml
        self.http_status = http_status
        self.response_xml = response_xml


def fault_code(faultstring: str) -> str:
    """``"4102"`` from ``"Codigo[4102].El XML no cumple el esquema..."`` ("" if absent)."""
    match = _FAULT_CODE.search(faultstring or "")
    return match.group(1) if match else ""


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def decoded(data: bytes) -> str:
    """The bytes of an exchange as stored text (undecodable bytes replaced)."""
    return data.decode("utf-8", errors="replace")


def send_result(
    status: int, result: Any, request_xml: str, response_xml: str, duration_ms: int
) -> SendResult:
    """A ``RespuestaRegFactuSistemaFacturacion`` as parsed by zeep, with the raw exchange."""
    return SendResult(
        http_status=status,
        estado_envio=_s(result.EstadoEnvio),
        csv=_s(result.CSV),
        wait_seconds=_int(result.TiempoEsperaEnvio),
        lines=[_line(linea) for linea in (result.RespuestaLinea or [])],
        request_xml=request_xml,
        response_xml=response_xml,
        duration_ms=duration_ms,
    )


def consulta_page(result: Any) -> tuple[list[dict], dict[str, str] | None]:
    """The rows of one ``RespuestaConsultaFactuSistemaFacturacion`` page, and the
    ClavePaginacion of the next page (None on the last one)."""
    page = list(result.RegistroRespuestaConsultaFactuSistemaFacturacion or [])
    rows = [_consulta_row(r) for r in page]
    if _s(result.IndicadorPaginacion) != "S" or not page:
        return rows, None
    last = page[-1].IDFactura
    return rows, {
        "IDEmisorFactura": last.IDEmisorFactura,
        "NumSerieFactura": last.NumSerieFactura,
        "FechaExpedicionFactura": last.FechaExpedicionFactura,
    }


def _line(linea: Any) -> LineResult:
    idf = linea.IDFactura
    dup = linea.RegistroDuplicado
    return LineResult(
        ref_externa=_s(linea.RefExterna),
        nif=_s(idf.IDEmisorFactura),
        numserie=_s(idf.NumSerieFactura),
        fecha=_s(idf.FechaExpedicionFactura),
        operation=_s(linea.Operacion.TipoOperacion),
        estado=_s(linea.EstadoRegistro),
        code=_s(linea.CodigoErrorRegistro),
        description=_s(linea.DescripcionErrorRegistro),
        duplicate_state=_s(dup.EstadoRegistroDuplicado) if dup is not None else None,
        duplicate_code=_s(dup.CodigoErrorRegistro) if dup is not None else "",
        duplicate_description=_s(dup.DescripcionErrorRegistro) if dup is not None else "",
    )


def _consulta_row(row: Any) -> dict:
    datos = row.DatosRegistroFacturacion
    estado = row.EstadoRegistro
    out: dict[str, Any] = {
        "nif": _s(row.IDFactura.IDEmisorFactura),
        "numserie": _s(row.IDFactura.NumSerieFactura),
        "fecha": _s(row.IDFactura.FechaExpedicionFactura),
        "estado": _s(estado.EstadoRegistro),
        "code": _s(estado.CodigoErrorRegistro),
        "description": _s(estado.DescripcionErrorRegistro),
    }
    if datos is not None:
        if datos.RefExterna:
            out["ref_externa"] = _s(datos.RefExterna)
        if datos.Huella:
            out["huella"] = _s(datos.Huella)
    return out
