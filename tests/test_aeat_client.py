"""The AEAT SOAP client (verifactu/aeat.py) against the in-process AEAT simulator.

No Django database: every test starts its own simulator on a free loopback port.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.record_parts import DEMO_NAME as NAME
from tests.record_parts import DEMO_NIF as NIF
from tests.record_parts import DEMO_OBLIGADO as OBLIGADO
from tests.record_parts import LINE_21 as LINE
from tests.record_parts import factu_sistema
from verifactu.aeat import (
    XMLDSIG_URL,
    AeatClient,
    AeatError,
    AeatFault,
    AeatTransportError,
    ClientCertificate,
    LocalOnlyTransport,
    fault_code,
    soap_envelope,
)
from verifactu.envelopes import build_envelope
from verifactu.simulator import start_simulator
from verifactu.simulator.testcerts import generate_test_certs
from verifactu.xml import (
    AltaData,
    BuiltRecord,
    PreviousRecord,
    Recipient,
    build_alta,
)

FECHA = "15-01-2025"
SISTEMA = factu_sistema("inst-aeat-tests")


def chain(*numseries: str, emisor_name: str = NAME) -> list[BuiltRecord]:
    """Valid chained RegistroAlta records, RefExterna ``ref-<numserie>``."""
    records: list[BuiltRecord] = []
    previous: PreviousRecord | None = None
    for numserie in numseries:
        built = build_alta(
            AltaData(
                nif=NIF,
                numserie=numserie,
                fecha_expedicion=FECHA,
                nombre_razon_emisor=emisor_name,
                tipo_factura="F1",
                descripcion="Servicios de consultoría",
                lines=(LINE,),
                cuota_total="21.00",
                importe_total="121.00",
                sistema=SISTEMA,
                fecha_hora_huso="2025-01-15T10:00:00+01:00",
                previous=previous,
                recipients=(Recipient("Cliente Nacional SA", nif="A39200019"),),
                ref_externa=f"ref-{numserie}",
            )
        )
        previous = PreviousRecord(NIF, numserie, FECHA, built.huella)
        records.append(built)
    return records


def body(*numseries: str, **kwargs: str) -> bytes:
    return build_envelope(OBLIGADO, chain(*numseries, **kwargs))


@pytest.fixture
def sim():
    simulator = start_simulator(wait_seconds=0)
    yield simulator
    simulator.stop()


@pytest.fixture
def client(sim):
    with AeatClient(sim.url, timeout=10) as aeat:
        yield aeat


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return generate_test_certs(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_sim(certs):
    simulator = start_simulator(
        wait_seconds=0,
        tls_cert=certs.server_cert,
        tls_key=certs.server_key,
        client_ca=certs.ca_cert,
    )
    yield simulator
    simulator.stop()


# ------------------------------------------------------------------------------ send


def test_two_chained_records_are_correct(client, sim):
    request = body("A-1", "A-2")
    result = client.send(request)
    assert result.http_status == 200
    assert result.estado_envio == "Correcto"
    assert len(result.csv) == 16
    assert result.wait_seconds == 0
    assert [
        (line.ref_externa, line.numserie, line.estado, line.operation) for line in result.lines
    ] == [("ref-A-1", "A-1", "Correcto", "Alta"), ("ref-A-2", "A-2", "Correcto", "Alta")]
    first = result.lines[0]
    assert (first.nif, first.fecha, first.code, first.description) == (NIF, FECHA, "", "")
    assert first.duplicate_state is None and first.duplicate_code == ""
    assert result.duration_ms >= 0
    # What was sent is our document verbatim inside a SOAP 1.1 envelope; both sides kept.
    assert request.split(b"?>", 1)[1].decode() in result.request_xml
    assert result.request_xml.count("<?xml") == 1
    assert "soapenv:Envelope" in result.request_xml and "<soapenv:Header/>" in result.request_xml
    assert "RespuestaRegFactuSistemaFacturacion" in result.response_xml
    assert result.csv in result.response_xml
    assert len(sim.snapshot()["records"]) == 2


def test_exact_body_bytes_go_on_the_wire(client, monkeypatch):
    """Records are stored immutably: the bytes we built are the bytes posted (no re-serialising
    turning ``&apos;`` into ``'``), with the SOAP 1.1 headers of SPEC §3."""
    request = body("Q-1", emisor_name='L\'Olivera & "Cía"')
    assert b"L&apos;Olivera &amp; &quot;C" in request
    posted: list[tuple[bytes, dict]] = []
    original = client.transport.session.post

    def spy(url, data=None, **kwargs):
        posted.append((data, kwargs["headers"]))
        return original(url, data=data, **kwargs)

    monkeypatch.setattr(client.transport.session, "post", spy)
    assert client.send(request).estado_envio == "Correcto"
    ((data, headers),) = posted
    assert data == soap_envelope(request)
    assert request.split(b"?>", 1)[1] in data
    assert headers["Content-Type"] == "text/xml; charset=UTF-8"
    assert headers["SOAPAction"] == '""'


def test_chosen_rejection_is_incorrecto_with_its_code(client, sim):
    sim.reject("B-2", 1104)
    result = client.send(body("B-1", "B-2", "B-3"))
    assert result.estado_envio == "ParcialmenteCorrecto"
    assert result.csv
    by_num = {line.numserie: line for line in result.lines}
    assert by_num["B-2"].estado == "Incorrecto"
    assert by_num["B-2"].code == "1104"
    assert by_num["B-2"].description
    assert by_num["B-2"].ref_externa == "ref-B-2"
    assert by_num["B-1"].estado == by_num["B-3"].estado == "Correcto"
    assert by_num["B-1"].code == by_num["B-3"].code == ""


def test_accepted_with_errors_code(client, sim):
    sim.reject("W-1", 2005)
    result = client.send(body("W-1"))
    assert result.estado_envio == "ParcialmenteCorrecto"
    (line,) = result.lines
    assert (line.estado, line.code) == ("AceptadoConErrores", "2005")


def test_all_rejected_envelope_has_no_csv(client, sim):
    sim.reject("X-1", 1105)
    result = client.send(body("X-1"))
    assert result.estado_envio == "Incorrecto"
    assert result.csv == ""
    assert result.lines[0].code == "1105"


def test_duplicate_resend_reports_the_stored_state(client):
    request = body("D-1")
    assert client.send(request).lines[0].estado == "Correcto"
    again = client.send(request)
    (line,) = again.lines
    assert line.estado == "Incorrecto"
    assert line.code == "3000"
    assert line.duplicate_state == "Correcta"
    assert line.duplicate_code == ""
    assert line.ref_externa == "ref-D-1"


def test_duplicate_of_a_record_accepted_with_errors_carries_its_code(client, sim):
    sim.reject("D-9", 2001)
    request = body("D-9")
    assert client.send(request).lines[0].estado == "AceptadoConErrores"
    sim.configure(reject={})
    (line,) = client.send(request).lines
    assert (line.code, line.duplicate_state, line.duplicate_code) == (
        "3000",
        "AceptadaConErrores",
        "2001",
    )
    assert line.duplicate_description


# ------------------------------------------------------------------------------ faults


def test_fault_20009_is_an_aeat_fault(client, sim):
    sim.set_mode("fault20009", times=1)
    with pytest.raises(AeatFault) as info:
        client.send(body("F-1"))
    fault = info.value
    assert fault.code == "20009"
    assert "Error interno" in fault.message
    assert fault.http_status == 500
    assert "Fault" in fault.response_xml
    assert "F-1" in fault.request_xml
    assert isinstance(fault, AeatError) and not isinstance(fault, AeatTransportError)
    assert sim.snapshot()["records"] == []


def test_schema_invalid_body_is_fault_4102(client, sim):
    request = body("S-1").replace(f"<NIF>{NIF}</NIF>".encode(), b"", 1)  # header NIF gone
    with pytest.raises(AeatFault) as info:
        client.send(request)
    assert info.value.code == "4102"
    assert info.value.message.startswith("Codigo[4102]")
    assert sim.snapshot()["records"] == []


def test_fault_code_parsing():
    assert fault_code("Codigo[4102].El XML no cumple el esquema.: NIF") == "4102"
    assert fault_code("Error without a code") == ""


def test_body_must_be_a_regfactu_document(client):
    with pytest.raises(ValueError):
        client.send(b"<?xml version='1.0'?><Other/>")


# ------------------------------------------------------------------------------ unknown outcome


def test_http_500_without_soap_is_a_transport_error(client, sim):
    sim.set_mode("http500", times=1)
    request = body("H-1")
    with pytest.raises(AeatTransportError) as info:
        client.send(request)
    assert info.value.http_status == 500
    assert "Internal Server Error" in info.value.response_xml
    assert "H-1" in info.value.request_xml
    # The outcome was unknown: resending the very same records works afterwards.
    assert client.send(request).estado_envio == "Correcto"


def test_timeout_is_a_transport_error_and_nothing_was_stored(sim):
    sim.set_mode("timeout", times=1, timeout_seconds=3)
    with AeatClient(sim.url, timeout=0.5) as client, pytest.raises(AeatTransportError) as info:
        client.send(body("T-1"))
    assert info.value.http_status is None
    assert "Timeout" in info.value.message
    snapshot = sim.snapshot()
    assert snapshot["records"] == [] and snapshot["received"] == {}


def test_dropped_answer_is_a_transport_error_and_the_resend_is_a_duplicate(client, sim):
    sim.set_mode("drop_response", times=1)
    request = body("L-1")
    with pytest.raises(AeatTransportError):
        client.send(request)
    assert len(sim.snapshot()["records"]) == 1  # stored though we never heard back
    (line,) = client.send(request).lines
    assert (line.code, line.duplicate_state) == ("3000", "Correcta")


def test_connection_refused_is_a_transport_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = AeatClient(f"http://127.0.0.1:{port}/VerifactuSOAP", timeout=2)
    with client, pytest.raises(AeatTransportError) as info:
        client.send(body("C-1"))
    assert info.value.http_status is None
    assert "C-1" in info.value.request_xml


# ------------------------------------------------------------------------------ mutual TLS


def test_https_with_pem_client_certificate(tls_sim, certs):
    cert = ClientCertificate.from_pem(certs.client_cert.read_bytes(), certs.client_key.read_bytes())
    with cert, AeatClient(tls_sim.url, certificate=cert, verify=str(certs.ca_cert)) as client:
        assert tls_sim.url.startswith("https://")
        result = client.send(body("P-1"))
    assert result.estado_envio == "Correcto"


def test_https_with_pkcs12_client_certificate(tls_sim, certs):
    cert = ClientCertificate.from_pkcs12(
        certs.client_p12.read_bytes(), certs.client_p12_password.encode()
    )
    assert len(cert.chain) == 1  # the CA came along in the bundle
    with cert, AeatClient(tls_sim.url, certificate=cert, verify=str(certs.ca_cert)) as client:
        assert client.send(body("P-2")).estado_envio == "Correcto"


def test_https_from_file_p12_and_combined_pem(tls_sim, certs, tmp_path):
    combined = tmp_path / "combined.pem"
    combined.write_bytes(certs.client_cert.read_bytes() + certs.client_key.read_bytes())
    from_p12 = ClientCertificate.from_file(str(certs.client_p12), certs.client_p12_password)
    from_pem = ClientCertificate.from_file(combined)
    assert from_p12.subject == from_pem.subject
    records = chain("P-3", "P-4")  # one chain, sent in two envelopes with two identities
    for record, cert in zip(records, (from_p12, from_pem), strict=True):
        with cert, AeatClient(tls_sim.url, certificate=cert, verify=str(certs.ca_cert)) as client:
            result = client.send(build_envelope(OBLIGADO, [record]))
            assert result.estado_envio == "Correcto"


def test_closed_certificate_is_refused_before_sending(tls_sim, certs):
    cert = ClientCertificate.from_pem(certs.client_cert.read_bytes(), certs.client_key.read_bytes())
    client = AeatClient(tls_sim.url, certificate=cert, verify=str(certs.ca_cert))
    cert.close()
    with client, pytest.raises(AeatError) as info:
        client.send(body("P-9"))
    assert not isinstance(info.value, AeatTransportError)
    assert tls_sim.snapshot()["received"] == {}


def test_https_without_client_certificate_is_a_transport_error(tls_sim, certs):
    client = AeatClient(tls_sim.url, verify=str(certs.ca_cert), timeout=5)
    with client, pytest.raises(AeatTransportError):
        client.send(body("N-1"))
    assert tls_sim.snapshot()["records"] == []


def test_https_with_unknown_server_ca_is_a_transport_error(tls_sim, certs):
    cert = ClientCertificate.from_pem(certs.client_cert.read_bytes(), certs.client_key.read_bytes())
    client = AeatClient(tls_sim.url, certificate=cert, timeout=5)  # system CAs only
    with cert, client, pytest.raises(AeatTransportError) as info:
        client.send(body("N-2"))
    assert "SSL" in info.value.message or "certificate" in info.value.message.lower()


# ------------------------------------------------------------------------------ certificate files


def _open_memfds() -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("/memfd:factu"):
            found.append(target)
    return found


def _files_holding(root: Path, needle: bytes) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and needle in path.read_bytes():
                hits.append(path)
        except OSError:
            continue
    return hits


def test_the_decrypted_key_never_touches_a_file(tls_sim, certs, tmp_path, monkeypatch):
    """Mutual TLS works while nothing under the temp dir holds the key, and the in-memory
    file that handed it to OpenSSL is closed before the connection is made."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile_dir = tempfile.tempdir
    tempfile.tempdir = None  # re-read TMPDIR
    try:
        cert = ClientCertificate.from_pkcs12(
            certs.client_p12.read_bytes(), certs.client_p12_password.encode()
        )
        raw_key = cert.private_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with cert, AeatClient(tls_sim.url, certificate=cert, verify=str(certs.ca_cert)) as client:
            assert _open_memfds() == []  # closed before any connection
            assert client.send(body("M-1")).estado_envio == "Correcto"
            assert _open_memfds() == []
            assert list(tmp_path.iterdir()) == []
        assert not hasattr(cert, "directory") and not hasattr(cert, "requests_cert")
        assert _files_holding(Path(tempfile.gettempdir()), raw_key[-32:]) == []
    finally:
        tempfile.tempdir = tempfile_dir


def test_a_closed_certificate_forgets_its_key(certs):
    cert = ClientCertificate.from_pem(certs.client_cert.read_bytes(), certs.client_key.read_bytes())
    assert cert.private_key is not None and not cert.closed
    cert.close()
    cert.close()  # idempotent
    assert cert.closed
    with pytest.raises(AeatError):
        cert.private_key  # noqa: B018
    with pytest.raises(AeatError):
        cert.ssl_context(str(certs.ca_cert))


def test_start_up_sweep_removes_key_files_left_by_older_versions(tmp_path):
    """A crash under the old code left ``factu-aeat-cert-*/key.pem`` under the temp dir;
    starting Django (any process: web, worker, beat) removes it."""
    leftover = tmp_path / "factu-aeat-cert-abc123"
    leftover.mkdir(mode=0o700)
    (leftover / "key.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nMIIB\n")
    (leftover / "cert.pem").write_bytes(b"-----BEGIN CERTIFICATE-----\n")
    unrelated = tmp_path / "something-else"
    unrelated.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "factu.settings"}
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not leftover.exists()
    assert unrelated.is_dir()


def test_certificate_expiry_and_subject_are_read_from_the_cert(certs):
    with ClientCertificate.from_pem(
        certs.client_cert.read_bytes(), certs.client_key.read_bytes()
    ) as cert:
        expected = x509.load_pem_x509_certificate(certs.client_cert.read_bytes())
        assert cert.not_valid_after == expected.not_valid_after_utc
        assert cert.not_valid_after.tzinfo is not None
        now = datetime.now(UTC)
        assert now + timedelta(days=1) < cert.not_valid_after < now + timedelta(days=3)
        assert "89890001K" in cert.subject and "PRUEBAS FACTU" in cert.subject


def test_encrypted_pem_key_and_mismatched_key(certs, tmp_path):
    key = serialization.load_pem_private_key(certs.client_key.read_bytes(), password=None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"s3cret"),
    )
    with ClientCertificate.from_pem(certs.client_cert.read_bytes(), encrypted, b"s3cret") as c:
        assert c.chain == []
    with pytest.raises(ValueError):
        ClientCertificate.from_pem(certs.ca_cert.read_bytes(), certs.client_key.read_bytes())
    with pytest.raises(ValueError):  # wrong PKCS#12 password
        ClientCertificate.from_pkcs12(certs.client_p12.read_bytes(), b"wrong")


# ------------------------------------------------------------------------------ no network


def test_zeep_never_fetches_a_url(sim, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError(f"zeep tried to fetch {args} {kwargs}")

    monkeypatch.setattr(requests.Session, "get", no_network)
    with AeatClient(sim.url) as client:
        assert client.transport.refused == []
        assert client.send(body("Z-1")).estado_envio == "Correcto"
        assert client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01")
        assert client.transport.refused == []
    transport = LocalOnlyTransport()
    assert b"SignatureValue" in transport.load(XMLDSIG_URL)  # mapped to the vendored copy
    for url in (
        "https://www2.agenciatributaria.gob.es/x/SuministroLR.xsd",
        "http://example.org/evil.xsd",
    ):
        with pytest.raises(AeatError):
            transport.load(url)
    assert transport.refused == [
        "https://www2.agenciatributaria.gob.es/x/SuministroLR.xsd",
        "http://example.org/evil.xsd",
    ]


def test_clients_of_one_thread_parse_the_wsdl_once_and_each_posts_through_its_own(sim):
    """The WSDL and its schemas are parsed once per thread, not for every client (every
    flush builds one); each client still sends through its own transport."""
    import threading

    with AeatClient(sim.url) as first, AeatClient(sim.url) as second:
        assert first._zeep.wsdl is second._zeep.wsdl
        assert first.transport is not second.transport
        assert first.send(body("W-1")).estado_envio == "Correcto"
        assert second.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01")
        other: list = []
        thread = threading.Thread(target=lambda: other.append(AeatClient(sim.url)._zeep.wsdl))
        thread.start()
        thread.join()
        assert other[0] is not first._zeep.wsdl


# ------------------------------------------------------------------------------ consulta


def test_consulta_returns_the_stored_record(client, sim):
    records = chain("K-1", "K-2")
    client.send(build_envelope(OBLIGADO, records))
    rows = client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01", numserie="K-2")
    assert rows == [
        {
            "nif": NIF,
            "numserie": "K-2",
            "fecha": FECHA,
            "estado": "Correcto",
            "code": "",
            "description": "",
            "ref_externa": "ref-K-2",
            "huella": records[1].huella,
        }
    ]
    all_rows = client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01")
    assert sorted(r["numserie"] for r in all_rows) == ["K-1", "K-2"]
    assert client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="02") == []


def test_consulta_reports_accepted_with_errors_code(client, sim):
    sim.reject("K-9", 2000)
    client.send(body("K-9"))
    (row,) = client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01", numserie="K-9")
    assert (row["estado"], row["code"]) == ("AceptadoConErrores", "2000")
    assert row["description"]


def test_consulta_fault_and_transport_errors(client, sim):
    sim.set_mode("fault20009", times=1)
    with pytest.raises(AeatFault):
        client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01")
    sim.set_mode("http500", times=1)
    with pytest.raises(AeatTransportError):
        client.consulta(nif=NIF, name=NAME, ejercicio="2025", periodo="01")
