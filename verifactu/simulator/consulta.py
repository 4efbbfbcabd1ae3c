"""The ConsultaFactuSistemaFacturacion operation: the stored records matching a query,
answered as AEAT's RespuestaConsultaFactuSistemaFacturacion."""

from __future__ import annotations

import copy

from lxml import etree

from .schemas import NS_SF, NS_SFLRC, NS_SFLRRC, parse_xml
from .soap import parse_fecha, q, sub, text_at
from .state import State, StoredRecord

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
    nif = text_at(cabecera, "sf:ObligadoEmision/sf:NIF")
    destinatario = text_at(cabecera, "sf:Destinatario/sf:NIF")
    ejercicio = text_at(filtro, "sfLRC:PeriodoImputacion/sf:Ejercicio")
    periodo = text_at(filtro, "sfLRC:PeriodoImputacion/sf:Periodo")
    num_serie = text_at(filtro, "sfLRC:NumSerieFactura")
    ref_externa = text_at(filtro, "sfLRC:RefExterna")
    fecha = text_at(filtro, "sfLRC:FechaExpedicionFactura/sf:FechaExpedicionFactura")
    rango = "sfLRC:FechaExpedicionFactura/sf:RangoFechaExpedicion"
    desde = parse_fecha(text_at(filtro, f"{rango}/sf:Desde"))
    hasta = parse_fecha(text_at(filtro, f"{rango}/sf:Hasta"))

    def matches(rec: StoredRecord) -> bool:
        issued = parse_fecha(rec.fecha_expedicion)
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
