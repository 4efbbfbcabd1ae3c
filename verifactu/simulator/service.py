"""The simulator's SOAP endpoint: an envelope parsed, checked against the schema and
dispatched to its operation (:mod:`.registration`, :mod:`.consulta`); a whole-envelope
rejection is answered as a SOAP Fault."""

from __future__ import annotations

from lxml import etree

from .consulta import consulta
from .registration import reg_factu, reg_factu_requerimiento
from .schemas import NS_SF, NS_SFLR, NS_SFLRC, SOAP_ENV, parse_xml, validate_element
from .soap import Options, SoapFault, envelope, fault_envelope, q
from .state import State

MAX_RECORDS = 1000


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
