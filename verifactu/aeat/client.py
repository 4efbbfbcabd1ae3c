"""The AEAT client: a registration, records sent on a requerimiento, and the consulta of
what the AEAT holds, each as one SOAP call whose reply or failure is an outcome
(:mod:`.outcomes`)."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.wsdl import Document
from zeep.wsdl.utils import etree_to_string

from .certificate import ClientCertificate
from .outcomes import (
    AeatFault,
    AeatTransportError,
    SendResult,
    consulta_page,
    decoded,
    fault_code,
    send_result,
)
from .transport import (
    HEADERS,
    WSDL_PATH,
    ContextAdapter,
    LocalOnlyTransport,
    plain_soap_envelope,
    soap_envelope,
)

_BASE = (
    "https://www2.agenciatributaria.gob.es/static_files/common/internet/dep/aplicaciones/"
    "es/aeat/tike/cont/ws/"
)
WSDL_NS = _BASE + "SistemaFacturacion.wsdl"
OP_SEND = "RegFactuSistemaFacturacion"
OP_CONSULTA = "ConsultaFactuSistemaFacturacion"
MAX_CONSULTA_PAGES = 100  # 10,000 rows per page: a million records is plenty per period
# strict: a truncated or garbled answer must fail (unknown outcome), not be "recovered" by
# lxml into something that looks like a verdict.
ZEEP_SETTINGS = Settings(forbid_entities=False, strict=True)
_parsed = threading.local()


def _wsdl() -> Document:
    """The AEAT's WSDL and its schemas as zeep reads them, parsed once per thread: parsing
    them cost every client (so every flush) ~85 ms of CPU. Loaded from disk only
    (:class:`LocalOnlyTransport`); each client posts through its own transport. Kept per
    thread because zeep does not promise its parsed types may be shared between threads."""
    document = getattr(_parsed, "document", None)
    if document is None:
        document = Document(str(WSDL_PATH), LocalOnlyTransport(), settings=ZEEP_SETTINGS)
        _parsed.document = document
    return document


class AeatClient:
    """One endpoint + identity. Not shared between threads; build one per worker task/loop."""

    def __init__(
        self,
        endpoint: str,
        *,
        certificate: ClientCertificate | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        session = requests.Session()
        session.verify = verify
        if certificate is not None:
            session.mount("https://", ContextAdapter(certificate.ssl_context(verify)))
        self._certificate = certificate
        self.transport = LocalOnlyTransport(
            session=session, timeout=timeout, operation_timeout=timeout
        )
        self._zeep = Client(_wsdl(), transport=self.transport, settings=ZEEP_SETTINGS)
        self._service = self._zeep.bind("sfVerifactu", "SistemaVerifactu")
        self._binding = self._zeep.wsdl.bindings[etree.QName(WSDL_NS, "sfVerifactu").text]

    # -- public
    def send(self, body: bytes) -> SendResult:
        """POST one ``RegFactuSistemaFacturacion`` document (bytes, as built) to the AEAT."""
        if b"RegFactuSistemaFacturacion" not in body[:600]:
            raise ValueError("body is not a RegFactuSistemaFacturacion document")
        envelope = soap_envelope(body)
        status, result, response_xml, duration_ms = self._call(OP_SEND, envelope)
        return send_result(status, result, decoded(envelope), response_xml, duration_ms)

    def send_requerimiento(self, body: bytes) -> SendResult:
        """POST a :func:`~verifactu.xml.build_requerimiento_envelope` document (signed records)
        to this client's endpoint, which should be the Requerimiento one."""
        if b"RegFactuSistemaFacturacion" not in body[:600] or b"RemisionRequerimiento" not in body:
            raise ValueError("body is not a requerimiento RegFactuSistemaFacturacion document")
        envelope = plain_soap_envelope(body)
        status, result, response_xml, duration_ms = self._call(OP_SEND, envelope)
        return send_result(status, result, decoded(envelope), response_xml, duration_ms)

    def consulta(
        self,
        *,
        nif: str,
        name: str,
        ejercicio: str,
        periodo: str,
        numserie: str | None = None,
    ) -> list[dict]:
        """Records the AEAT holds for ``nif`` in ``ejercicio``/``periodo`` (all pages).

        Each dict: ``nif``, ``numserie``, ``fecha``, ``estado`` (Correcto |
        AceptadoConErrores | Anulado), ``code``, ``description``, ``ref_externa`` and
        ``huella`` when the AEAT returns them.
        """
        rows: list[dict] = []
        clave: dict[str, str] | None = None
        for _ in range(MAX_CONSULTA_PAGES):
            filtro: dict[str, Any] = {
                "PeriodoImputacion": {"Ejercicio": ejercicio, "Periodo": periodo},
            }
            if numserie is not None:
                filtro["NumSerieFactura"] = numserie
            if clave is not None:
                filtro["ClavePaginacion"] = clave
            try:
                envelope = self._zeep.create_message(
                    self._service,
                    OP_CONSULTA,
                    Cabecera={
                        "IDVersion": "1.0",
                        "ObligadoEmision": {"NombreRazon": name, "NIF": nif},
                    },
                    FiltroConsulta=filtro,
                )
            except ZeepError as exc:
                raise ValueError(f"invalid consulta parameters: {exc}") from exc
            _status, result, _xml, _ms = self._call(OP_CONSULTA, etree_to_string(envelope))
            page, clave = consulta_page(result)
            rows.extend(page)
            if clave is None:
                break
        return rows

    def close(self) -> None:
        """Close the HTTP session (the certificate belongs to the caller: close it there)."""
        self.transport.session.close()

    def __enter__(self) -> AeatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals
    def _call(self, operation_name: str, envelope: bytes) -> tuple[int, Any, str, int]:
        """POST ``envelope`` and parse the answer: (status, zeep result, response text, ms)."""
        request_xml = decoded(envelope)
        if self._certificate is not None:
            self._certificate.private_key  # noqa: B018 - AeatError if closed: nothing is sent
        operation = self._binding.get(operation_name)
        started = time.monotonic()
        response: requests.Response | None = None
        try:
            response = self.transport.post_xml(self.endpoint, envelope, dict(HEADERS))
            result = self._binding.process_reply(self._zeep, operation, response)
        except Fault as fault:
            status = response.status_code if response is not None else None
            response_xml = decoded(response.content) if response is not None else ""
            if fault.code is None:  # non-200 XML without a soap:Fault: not a real fault
                raise AeatTransportError(
                    f"HTTP {status} without a SOAP fault",
                    request_xml=request_xml,
                    http_status=status,
                    response_xml=response_xml,
                ) from fault
            message = "" if fault.message is None else str(fault.message)
            raise AeatFault(
                message,
                code=fault_code(message),
                http_status=status,
                request_xml=request_xml,
                response_xml=response_xml,
            ) from fault
        except (
            requests.RequestException,
            TransportError,
            ZeepError,
            etree.LxmlError,
            ValueError,
            AttributeError,
            TypeError,
            OSError,
        ) as exc:
            # Anything but a parsed answer or a SOAP Fault means we don't know what the AEAT
            # did with the records.
            status = response.status_code if response is not None else None
            raise AeatTransportError(
                f"{type(exc).__name__}: {exc}"[:2000],
                request_xml=request_xml,
                http_status=status,
                response_xml=decoded(response.content) if response is not None else "",
            ) from exc
        duration_ms = int((time.monotonic() - started) * 1000)
        if result is None:
            raise AeatTransportError(
                f"HTTP {response.status_code} with an empty answer",
                request_xml=request_xml,
                http_status=response.status_code,
                response_xml="",
            )
        return response.status_code, result, decoded(response.content), duration_ms
