"""SOAP client for the AEAT's VERI*FACTU web service (SPEC §3), used by the Celery workers.

Design points:

- The vendored WSDL/XSDs (``verifactu/schemas``) are loaded once per :class:`AeatClient` by
  zeep, through :class:`LocalOnlyTransport`, which maps W3C's xmldsig schema URL to the local
  copy and refuses every other http(s) URL: nothing is ever fetched from the network to load
  schemas. ``Settings(forbid_entities=False)`` because the xmldsig XSD declares a DTD entity.
- ``send`` puts the exact bytes of the ``RegFactuSistemaFacturacion`` document built by
  :func:`verifactu.xml.build_envelope` inside the SOAP Body. Records are stored immutably and
  their XML must reach the AEAT byte for byte as stored, so the envelope is assembled as
  bytes and the transport posts those bytes verbatim (lxml would re-serialise ``&apos;`` and
  friends differently).
- Outcomes: a parsed answer (:class:`SendResult`); a SOAP Fault, i.e. the AEAT refused the
  whole envelope (:class:`AeatFault`, nothing stored); anything else — connection refused or
  reset, timeout, HTTP error without a SOAP fault, unparseable reply — is
  :class:`AeatTransportError`: the outcome is UNKNOWN, and the very same records must be
  resent (a duplicate comes back as 3000 with the stored state) or reconciled via
  :meth:`AeatClient.consulta`; never regenerated.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests
import requests.adapters
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from lxml import etree
from urllib3.util.ssl_ import create_urllib3_context
from zeep import Client, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport
from zeep.wsdl.utils import etree_to_string

__all__ = [
    "SOAP_ENV",
    "WSDL_PATH",
    "AeatClient",
    "AeatError",
    "AeatFault",
    "AeatTransportError",
    "ClientCertificate",
    "LineResult",
    "LocalOnlyTransport",
    "SendResult",
    "fault_code",
    "soap_envelope",
    "sweep_stale_key_files",
]

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
WSDL_PATH = SCHEMAS_DIR / "SistemaFacturacion.wsdl"
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_BASE = (
    "https://www2.agenciatributaria.gob.es/static_files/common/internet/dep/aplicaciones/"
    "es/aeat/tike/cont/ws/"
)
NS_LR = _BASE + "SuministroLR.xsd"
WSDL_NS = _BASE + "SistemaFacturacion.wsdl"
OP_SEND = "RegFactuSistemaFacturacion"
OP_CONSULTA = "ConsultaFactuSistemaFacturacion"
HEADERS = {"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'}
MAX_CONSULTA_PAGES = 100  # 10,000 rows per page: a million records is plenty per period

_ENVELOPE_OPEN = (
    f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_ENV}">'
    "<soapenv:Header/><soapenv:Body>"
).encode()
_ENVELOPE_CLOSE = b"</soapenv:Body></soapenv:Envelope>"
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")
_FAULT_CODE = re.compile(r"Codigo\[(\d+)\]")
_PEM_KEY = re.compile(
    rb"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----", re.S
)


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- errors


class AeatError(Exception):
    """Base of every error raised by this module."""


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


# --------------------------------------------------------------------------- certificate


def _pem_certs(data: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(data) if b"-----BEGIN CERTIFICATE" in data else []


def _same_key(cert: x509.Certificate, key: Any) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, fmt) == key.public_key().public_bytes(der, fmt)


KEY_DIR_PREFIX = "factu-aeat-cert-"  # where older versions wrote key.pem files


class ClientCertificate:
    """The mutual-TLS identity (qualified certificate or seal) used to call the AEAT.

    The decrypted private key lives only in this object's memory and in the
    :class:`ssl.SSLContext` built by :meth:`ssl_context`: OpenSSL (and so ``ssl``) loads a
    client key only from a path, so it is handed over through an anonymous in-memory file
    (``os.memfd_create``, never on a filesystem) that is closed as soon as
    ``load_cert_chain`` returns, before any connection is made. Even that memfd holds the key
    encrypted under a one-time random password that never leaves this process's memory.
    :meth:`close` drops the key; a closed certificate refuses to serve a new connection.
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: Any,
        chain: list[x509.Certificate] | tuple[x509.Certificate, ...] = (),
    ) -> None:
        if not _same_key(certificate, private_key):
            raise ValueError("the private key does not belong to the certificate")
        self.certificate = certificate
        self.chain = list(chain)
        self.not_valid_after: datetime = certificate.not_valid_after_utc
        self.subject: str = certificate.subject.rfc4514_string()
        self._key: Any = private_key

    # -- constructors
    @classmethod
    def from_pem(
        cls, cert_pem: bytes, key_pem: bytes, key_password: bytes | None = None
    ) -> ClientCertificate:
        """``cert_pem`` may hold the chain too; the leaf is the one matching the key."""
        certs = _pem_certs(cert_pem)
        if not certs:
            raise ValueError("no PEM certificate found")
        key = serialization.load_pem_private_key(key_pem, password=key_password)
        leaf = next((c for c in certs if _same_key(c, key)), None)
        if leaf is None:
            raise ValueError("none of the certificates matches the private key")
        return cls(leaf, key, [c for c in certs if c is not leaf])

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None) -> ClientCertificate:
        """A .p12/.pfx bundle (as issued by FNMT), chain certificates included."""
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        if key is None or cert is None:
            raise ValueError("the PKCS#12 bundle lacks a certificate or a private key")
        return cls(cert, key, extra)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], password: str | None = None
    ) -> ClientCertificate:
        """A .p12/.pfx file, or one PEM file holding the certificate(s) and the key."""
        try:
            return cls.from_bytes(Path(path).read_bytes(), password)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes, password: str | None = None) -> ClientCertificate:
        """PKCS#12 bytes, or PEM bytes holding the certificate(s) and the key."""
        secret = password.encode() if password else None
        if b"-----BEGIN" not in data:
            return cls.from_pkcs12(data, secret)
        key = _PEM_KEY.search(data)
        if key is None:
            raise ValueError("no private key in the PEM data")
        return cls.from_pem(data, key.group(0), secret)

    # -- use
    @property
    def closed(self) -> bool:
        return self._key is None

    @property
    def private_key(self) -> Any:
        """The private key object (in memory only); :class:`AeatError` once closed."""
        if self._key is None:
            raise AeatError("the client certificate was closed")
        return self._key

    def ssl_context(self, verify: bool | str = True) -> ssl.SSLContext:
        """A client TLS context presenting this certificate, trusting ``verify``'s CAs.

        ``verify``: True for the system CAs, a CA file or directory path, or False (no
        server verification, tests only). Only these CAs are trusted, never the system's
        on top of a given file.
        """
        key = self.private_key
        context = create_urllib3_context()
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif isinstance(verify, str):
            if os.path.isdir(verify):
                context.load_verify_locations(capath=verify)
            else:
                context.load_verify_locations(cafile=verify)
        else:
            context.load_default_certs()
        one_time = secrets.token_urlsafe(24)
        pem = serialization.Encoding.PEM
        key_pem = key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(one_time.encode()),
        )
        cert_pem = b"".join(c.public_bytes(pem) for c in [self.certificate, *self.chain])
        with _memory_file(cert_pem + key_pem) as path:
            context.load_cert_chain(path, password=one_time)
        return context

    def close(self) -> None:
        """Forget the private key (idempotent)."""
        self._key = None

    def __enter__(self) -> ClientCertificate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ClientCertificate {self.subject} until {self.not_valid_after:%Y-%m-%d}>"


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path to ``data`` held in an anonymous memory file, closed when the block ends.

    ``/proc/self/fd/N`` of a ``memfd_create`` file: RAM only, never linked in a filesystem,
    readable by OpenSSL in this process alone, gone with its last descriptor. Linux only,
    like the deployment; elsewhere it refuses rather than write a key to disk.
    """
    if not hasattr(os, "memfd_create"):
        raise AeatError("os.memfd_create is needed to hand a client key to OpenSSL")
    fd = os.memfd_create("factu-aeat-cert", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def sweep_stale_key_files(directory: str | None = None) -> int:
    """Remove the private ``factu-aeat-cert-*`` directories (cert.pem + an unencrypted
    key.pem) that versions before the in-memory key left under the temp dir, e.g. after a
    crash. Run at start-up (:class:`verifactu.apps.VerifactuConfig`); only this user's."""
    base = Path(directory or tempfile.gettempdir())
    removed = 0
    try:
        candidates = list(base.glob(KEY_DIR_PREFIX + "*"))
    except OSError:
        return 0
    for path in candidates:
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


class _ContextAdapter(requests.adapters.HTTPAdapter):
    """An HTTPS adapter whose connections use one prepared :class:`ssl.SSLContext`."""

    def __init__(self, context: ssl.SSLContext, **kwargs: Any) -> None:
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)


# --------------------------------------------------------------------------- transport


class LocalOnlyTransport(Transport):
    """zeep transport that loads schemas only from disk and posts pre-serialised envelopes.

    ``load`` maps W3C's xmldsig schema URL to the vendored copy and refuses any other
    http(s) URL (recorded in :attr:`refused`), so building the client never touches the
    network. ``post_xml`` also accepts ``bytes``: those are posted verbatim.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: list[str] = []

    def load(self, url: str) -> bytes:
        if url == XMLDSIG_URL:
            return (SCHEMAS_DIR / "xmldsig-core-schema.xsd").read_bytes()
        if url.lower().startswith(("http://", "https://")):
            self.refused.append(url)
            raise AeatError(f"refusing to fetch {url}: AEAT schemas are loaded from disk only")
        return super().load(url)

    def post_xml(self, address: str, envelope: Any, headers: dict[str, str]) -> requests.Response:
        message = envelope if isinstance(envelope, bytes) else etree_to_string(envelope)
        return self.post(address, message, headers)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        # ``verify`` is passed per request: requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE
        # override a Session's own ``verify`` (psf/requests#3829), which would silently swap
        # the CA we were told to trust. Env proxies still apply.
        return self.session.post(
            address,
            data=message,
            headers=headers,
            timeout=self.operation_timeout,
            verify=self.session.verify,
        )


# --------------------------------------------------------------------------- client


_PLAIN_ENVELOPE_OPEN = (
    f'<?xml version="1.0" encoding="UTF-8"?><Envelope xmlns="{SOAP_ENV}"><Header/><Body>'
).encode()
_PLAIN_ENVELOPE_CLOSE = b"</Body></Envelope>"


def plain_soap_envelope(body: bytes) -> bytes:
    """A SOAP 1.1 envelope with a default namespace and no prefix (signed records inside).

    No namespace prefix is declared above the body, so nothing extra is in scope at the
    signed records (see :func:`verifactu.xml.build_requerimiento_envelope`).
    """
    return _PLAIN_ENVELOPE_OPEN + _XML_DECL.sub(b"", body, count=1) + _PLAIN_ENVELOPE_CLOSE


def soap_envelope(body: bytes) -> bytes:
    """Wrap a request document in a SOAP 1.1 envelope, keeping its bytes untouched."""
    return _ENVELOPE_OPEN + _XML_DECL.sub(b"", body, count=1) + _ENVELOPE_CLOSE


def _s(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


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
            session.mount("https://", _ContextAdapter(certificate.ssl_context(verify)))
        self._certificate = certificate
        self.transport = LocalOnlyTransport(
            session=session, timeout=timeout, operation_timeout=timeout
        )
        self._zeep = Client(
            str(WSDL_PATH),
            transport=self.transport,
            # strict: a truncated or garbled answer must fail (unknown outcome), not be
            # "recovered" by lxml into something that looks like a verdict.
            settings=Settings(forbid_entities=False, strict=True),
        )
        self._service = self._zeep.bind("sfVerifactu", "SistemaVerifactu")
        self._binding = self._zeep.wsdl.bindings[etree.QName(WSDL_NS, "sfVerifactu").text]

    # -- public
    def send(self, body: bytes) -> SendResult:
        """POST one ``RegFactuSistemaFacturacion`` document (bytes, as built) to the AEAT."""
        if b"RegFactuSistemaFacturacion" not in body[:600]:
            raise ValueError("body is not a RegFactuSistemaFacturacion document")
        envelope = soap_envelope(body)
        status, result, response_xml, duration_ms = self._call(OP_SEND, envelope)
        return SendResult(
            http_status=status,
            estado_envio=_s(result.EstadoEnvio),
            csv=_s(result.CSV),
            wait_seconds=_int(result.TiempoEsperaEnvio),
            lines=[_line(linea) for linea in (result.RespuestaLinea or [])],
            request_xml=_text(envelope),
            response_xml=response_xml,
            duration_ms=duration_ms,
        )

    def send_requerimiento(self, body: bytes) -> SendResult:
        """POST a :func:`~verifactu.xml.build_requerimiento_envelope` document (signed records)
        to this client's endpoint, which should be the Requerimiento one."""
        if b"RegFactuSistemaFacturacion" not in body[:600] or b"RemisionRequerimiento" not in body:
            raise ValueError("body is not a requerimiento RegFactuSistemaFacturacion document")
        envelope = plain_soap_envelope(body)
        status, result, response_xml, duration_ms = self._call(OP_SEND, envelope)
        return SendResult(
            http_status=status,
            estado_envio=_s(result.EstadoEnvio),
            csv=_s(result.CSV),
            wait_seconds=_int(result.TiempoEsperaEnvio),
            lines=[_line(linea) for linea in (result.RespuestaLinea or [])],
            request_xml=_text(envelope),
            response_xml=response_xml,
            duration_ms=duration_ms,
        )

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
            page = list(result.RegistroRespuestaConsultaFactuSistemaFacturacion or [])
            rows.extend(_consulta_row(r) for r in page)
            if _s(result.IndicadorPaginacion) != "S" or not page:
                break
            last = page[-1].IDFactura
            clave = {
                "IDEmisorFactura": last.IDEmisorFactura,
                "NumSerieFactura": last.NumSerieFactura,
                "FechaExpedicionFactura": last.FechaExpedicionFactura,
            }
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
        request_xml = _text(envelope)
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
            response_xml = _text(response.content) if response is not None else ""
            if fault.code is None:  # non-200 XML without a soap:Fault: not a real fault
                raise AeatTransportError(
                    f"HTTP {status} without a SOAP fault",
                    request_xml=request_xml,
                    http_status=status,
                    response_xml=response_xml,
                ) from fault
            raise AeatFault(
                _s(fault.message),
                code=fault_code(_s(fault.message)),
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
                response_xml=_text(response.content) if response is not None else "",
            ) from exc
        duration_ms = int((time.monotonic() - started) * 1000)
        if result is None:
            raise AeatTransportError(
                f"HTTP {response.status_code} with an empty answer",
                request_xml=request_xml,
                http_status=response.status_code,
                response_xml="",
            )
        return response.status_code, result, _text(response.content), duration_ms


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
