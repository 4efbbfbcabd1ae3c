"""The HTTP(S) front of the simulator: SOAP endpoint, JSON control API, fault injection.

Control API (same host/port as the SOAP endpoint; over HTTPS it needs the client cert too):

- ``POST /_control`` with JSON ``{"mode": M, "times": N, "timeout_seconds": S, "reject":
  {"<NumSerieFactura>": code}, "wait_seconds": W}`` — every key optional; ``M`` is one of
  :data:`MODES` (``normal``, ``http500``, ``timeout``, ``drop_response``, ``faultNNNN``).
  ``times`` = the mode applies to the next N SOAP requests, then ``normal`` resumes
  (absent/null = until changed). ``reject`` replaces the map of forced per-invoice codes
  (2xxx codes give AceptadoConErrores, others Incorrecto).
- ``GET /_control/state`` — accepted records, per-record receive counts, control settings,
  and ``requerimientos``: the records received on the Requerimiento endpoint
  (``…/RequerimientoSOAP``, which requires ``Cabecera/RemisionRequerimiento``), by
  RefRequerimiento — kept apart from the VERI*FACTU registrations. Their XAdES signatures
  are verified (``signature_ca``: the CAs the signing certificates must chain to; without
  it, each signature is checked against the certificate it carries).
- ``POST /_control/reset`` — forget every record and chain, back to normal mode.

Fault modes: ``http500`` answers a bare HTTP 500 (no SOAP); ``faultNNNN`` a SOAP Fault
``Codigo[NNNN]`` (:data:`FAULT_MODES`: server errors and outages, a schema refusal, a
certificate that may not present, a suspended presenter); ``timeout`` waits
``timeout_seconds`` and then closes the connection without processing anything;
``drop_response`` processes and stores the records, then closes the connection without
answering (a lost answer).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
import traceback
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .schemas import WSDL_PATH
from .service import handle_soap
from .soap import Options, SoapFault, fault_envelope
from .state import State

SOAP_PATH = "/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP"
REQUERIMIENTO_PATH = "/wlpl/TIKE-CONT/ws/SistemaFacturacion/RequerimientoSOAP"
# The SOAP Faults a mode answers every envelope with: (code, message, faultcode).
FAULT_MODES = {
    "fault20009": (20009, "Error interno en el servidor", "env:Server"),
    "fault3500": (3500, "Error técnico de base de datos", "env:Server"),
    "fault4134": (4134, "Servicio no activo", "env:Server"),
    "fault4102": (
        4102,
        "El XML no cumple el esquema. Falta informar campo obligatorio.: NIF",
        "env:Client",
    ),
    "fault4112": (
        4112,
        "El titular del certificado debe ser Obligado Emisión, Colaborador Social, "
        "Apoderado o Sucesor.",
        "env:Client",
    ),
    "fault4141": (4141, "Acceso suspendido para este presentador", "env:Client"),
}
MODES = ("normal", "http500", "timeout", "drop_response", *FAULT_MODES)


@dataclass
class Control:
    mode: str = "normal"
    times: int | None = None
    timeout_seconds: float = 30.0
    reject: dict[str, int] = field(default_factory=dict)
    wait_seconds: int = 60


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    simulator: Simulator

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs here, in the request's own thread, so a slow or bad client
        # never blocks the accept loop.
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet for clients that hang up (timeouts, refused certificates: expected here);
        anything else is the simulator's own failure, which the client only sees as a closed
        connection, so it is written to stderr with its traceback."""
        kind = sys.exc_info()[0]
        if kind is not None and not issubclass(kind, (OSError, ssl.SSLError)):
            traceback.print_exc(file=sys.stderr)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AEATSimulator/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.simulator.verbose:
            super().log_message(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, *, close: bool = False) -> None:
        """Reply; with ``close`` say ``Connection: close`` so the client never reuses a socket
        this side is about to shut (a silent close races the client's next request)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.close_connection = True
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, indent=1).encode(), "application/json")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        sim = self.server.simulator
        if self.path.rstrip("/") == "/_control/state":
            self._send_json(200, sim.snapshot())
        elif self.path.lower().endswith("?wsdl"):
            self._send(200, WSDL_PATH.read_bytes(), "text/xml; charset=UTF-8")
        else:
            self._send(404, b"not found\n", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        sim = self.server.simulator
        body = self._body()
        path = self.path.rstrip("/")
        if path == "/_control":
            try:
                data = json.loads(body or b"{}")
                sim.configure(**data)
            except (ValueError, TypeError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, sim.control_state())
            return
        if path == "/_control/reset":
            sim.reset()
            self._send_json(200, sim.control_state())
            return
        self._soap(sim, body, requerimiento=path.endswith("/RequerimientoSOAP"))

    def _soap(self, sim: Simulator, body: bytes, *, requerimiento: bool = False) -> None:
        mode, timeout_seconds = sim.take_mode()
        if mode == "http500":
            self._send(500, b"Internal Server Error\n", "text/plain", close=True)
        elif mode in FAULT_MODES:
            code, message, faultcode = FAULT_MODES[mode]
            fault = SoapFault(code, message, faultcode=faultcode)
            self._send(500, fault_envelope(fault), "text/xml; charset=UTF-8")
        elif mode == "timeout":
            sim.stopping.wait(timeout_seconds)
            self._hang_up()
        elif mode == "drop_response":
            handle_soap(body, sim.state, sim.options(), requerimiento=requerimiento)
            self._hang_up()
        else:
            status, answer = handle_soap(
                body, sim.state, sim.options(), requerimiento=requerimiento
            )
            self._send(status, answer, "text/xml; charset=UTF-8")

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class Simulator:
    """An AEAT simulator bound to ``host:port`` (0 = a free port), served from a thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        wait_seconds: int = 60,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
        client_ca: str | Path | None = None,
        state_file: str | Path | None = None,
        signature_ca: str | Path | None = None,
        verbose: bool = False,
    ) -> None:
        self.verbose = verbose
        self.signature_ca = str(signature_ca) if signature_ca else None
        self.state = State(state_file)
        self.stopping = threading.Event()
        self._default_wait = wait_seconds
        self._control = Control(wait_seconds=wait_seconds)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.httpd = _Server((host, port), _Handler)
        self.httpd.simulator = self
        self.tls = tls_cert is not None
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls_cert), str(tls_key) if tls_key else None)
            if client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(str(client_ca))
            self.httpd.socket = context.wrap_socket(
                self.httpd.socket, server_side=True, do_handshake_on_connect=False
            )

    # -- addresses
    @property
    def host(self) -> str:
        return self.httpd.server_address[0]

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The SOAP endpoint (AEAT's path; any POST path other than /_control works)."""
        return self.base_url + SOAP_PATH

    @property
    def requerimiento_url(self) -> str:
        """The Requerimiento endpoint (``sfRequerimiento``): NO VERI*FACTU records on request."""
        return self.base_url + REQUERIMIENTO_PATH

    @property
    def control_url(self) -> str:
        return self.base_url + "/_control"

    # -- life cycle
    def start(self) -> Simulator:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"aeat-simulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.stopping.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
        self.state.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- control
    def configure(
        self,
        mode: str | None = None,
        times: int | None = None,
        timeout_seconds: float | None = None,
        reject: dict[str, int | str] | None = None,
        wait_seconds: int | None = None,
    ) -> None:
        """Change the fault mode and knobs; see the module docstring for the meaning."""
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
        with self._lock:
            if mode is not None:
                self._control.mode = mode
                self._control.times = int(times) if times is not None else None
            elif times is not None:
                self._control.times = int(times)
            if timeout_seconds is not None:
                self._control.timeout_seconds = float(timeout_seconds)
            if reject is not None:
                self._control.reject = {str(k): int(v) for k, v in reject.items()}
            if wait_seconds is not None:
                self._control.wait_seconds = int(wait_seconds)

    def set_mode(
        self, mode: str, times: int | None = None, timeout_seconds: float | None = None
    ) -> None:
        self.configure(mode=mode, times=times, timeout_seconds=timeout_seconds)

    def reject(self, num_serie: str, code: int) -> None:
        """Force ``code`` for every record of invoice number ``num_serie``."""
        with self._lock:
            self._control.reject[num_serie] = int(code)

    def take_mode(self) -> tuple[str, float]:
        """The mode for this SOAP request, counting down ``times``."""
        with self._lock:
            control = self._control
            mode = control.mode
            if mode != "normal" and control.times is not None:
                control.times -= 1
                if control.times <= 0:
                    control.mode, control.times = "normal", None
            return mode, control.timeout_seconds

    def options(self) -> Options:
        with self._lock:
            return Options(
                wait_seconds=self._control.wait_seconds,
                reject=dict(self._control.reject),
                signature_ca=self.signature_ca,
            )

    def control_state(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self._control)

    def snapshot(self) -> dict[str, Any]:
        """Accepted records, receive counts per record id and the control settings."""
        data = self.state.snapshot()
        data["control"] = self.control_state()
        return data

    def reset(self) -> None:
        self.state.reset()
        with self._lock:
            self._control = Control(wait_seconds=self._default_wait)


def start_simulator(
    host: str = "127.0.0.1",
    port: int = 0,
    **kwargs: Any,
) -> Simulator:
    """Start a simulator in a background thread; ``port=0`` picks a free port."""
    return Simulator(host, port, **kwargs).start()
