"""The AEAT SOAP simulator (verifactu/simulator): a real peer over HTTP(S) on loopback.

No Django database is needed: every test talks to a simulator started in-process on a free
port. Test XML is built here by hand, from SPEC §4 and the XSDs, not by the application code.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import requests
from lxml import etree

from verifactu.simulator import huella_alta, huella_anulacion, start_simulator
from verifactu.simulator.testcerts import generate_test_certs

SCHEMAS = Path(__file__).resolve().parent.parent / "verifactu" / "schemas"
_AEAT = (
    "https://www2.agenciatributaria.gob.es/static_files/common/internet/dep/aplicaciones/"
    "es/aeat/tike/cont/ws/"
)
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
NS = {
    "env": SOAP,
    "sf": _AEAT + "SuministroInformacion.xsd",
    "sfLR": _AEAT + "SuministroLR.xsd",
    "sfR": _AEAT + "RespuestaSuministro.xsd",
    "sfLRC": _AEAT + "ConsultaLR.xsd",
    "sfLRRC": _AEAT + "RespuestaConsultaLR.xsd",
}
OBLIGADO = "89890001K"
RECIPIENT = "B87654323"
ISSUED = date.today() - timedelta(days=1)
FECHA = ISSUED.strftime("%d-%m-%Y")
GEN = "2026-11-22T10:20:30+01:00"
XMLDSIG_URL = "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"


# ------------------------------------------------------------------------------ XML helpers


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest().upper()


class Chain:
    """What the test SIF remembers of its last generated record."""

    def __init__(self) -> None:
        self.last: tuple[str, str, str] | None = None  # (NumSerieFactura, Fecha, Huella)


def encadenamiento(prev: tuple[str, str, str] | None) -> str:
    if prev is None:
        return "<sf:Encadenamiento><sf:PrimerRegistro>S</sf:PrimerRegistro></sf:Encadenamiento>"
    num, fecha, huella = prev
    return (
        "<sf:Encadenamiento><sf:RegistroAnterior>"
        f"<sf:IDEmisorFactura>{OBLIGADO}</sf:IDEmisorFactura>"
        f"<sf:NumSerieFactura>{escape(num)}</sf:NumSerieFactura>"
        f"<sf:FechaExpedicionFactura>{fecha}</sf:FechaExpedicionFactura>"
        f"<sf:Huella>{huella}</sf:Huella>"
        "</sf:RegistroAnterior></sf:Encadenamiento>"
    )


SISTEMA = (
    "<sf:SistemaInformatico><sf:NombreRazon>Factu Software SL</sf:NombreRazon>"
    f"<sf:NIF>{RECIPIENT}</sf:NIF><sf:NombreSistemaInformatico>Factu</sf:NombreSistemaInformatico>"
    "<sf:IdSistemaInformatico>FA</sf:IdSistemaInformatico><sf:Version>1.0</sf:Version>"
    "<sf:NumeroInstalacion>test-1</sf:NumeroInstalacion>"
    "<sf:TipoUsoPosibleSoloVerifactu>N</sf:TipoUsoPosibleSoloVerifactu>"
    "<sf:TipoUsoPosibleMultiOT>S</sf:TipoUsoPosibleMultiOT>"
    "<sf:IndicadorMultiplesOT>N</sf:IndicadorMultiplesOT></sf:SistemaInformatico>"
)


def alta(
    chain: Chain,
    num: str,
    *,
    fecha: str = FECHA,
    tipo: str = "F1",
    base: str = "100.00",
    rate: str = "21.00",
    cuota: str = "21.00",
    cuota_total: str | None = None,
    importe_total: str | None = None,
    emisor: str = OBLIGADO,
    recipient: str | None = RECIPIENT,
    subsanacion: bool = False,
    first: bool | None = None,
    previous_huella: str | None = None,
    bad_huella: bool = False,
    detalles: str | None = None,
    middle: str = "",
    destinatarios: str | None = None,
) -> str:
    """One <sfLR:RegistroFactura> with a RegistroAlta chained after ``chain.last``."""
    cuota_total = cuota_total or cuota
    importe_total = importe_total or f"{float(base) + float(cuota):.2f}"
    prev = None if first else chain.last
    if previous_huella and prev:
        prev = (prev[0], prev[1], previous_huella)
    prev_huella = prev[2] if prev else ""
    huella = sha(
        f"IDEmisorFactura={emisor}&NumSerieFactura={num}&FechaExpedicionFactura={fecha}"
        f"&TipoFactura={tipo}&CuotaTotal={cuota_total}&ImporteTotal={importe_total}"
        f"&Huella={prev_huella}&FechaHoraHusoGenRegistro={GEN}"
    )
    sent_huella = "0" * 64 if bad_huella else huella
    chain.last = (num, fecha, sent_huella)
    if destinatarios is None:
        destinatarios = (
            "<sf:Destinatarios><sf:IDDestinatario><sf:NombreRazon>Cliente SA</sf:NombreRazon>"
            f"<sf:NIF>{recipient}</sf:NIF></sf:IDDestinatario></sf:Destinatarios>"
            if recipient
            else ""
        )
    if detalles is None:
        detalles = detalle(base=base, rate=rate, cuota=cuota)
    return (
        "<sfLR:RegistroFactura><sf:RegistroAlta><sf:IDVersion>1.0</sf:IDVersion>"
        f"<sf:IDFactura><sf:IDEmisorFactura>{emisor}</sf:IDEmisorFactura>"
        f"<sf:NumSerieFactura>{escape(num)}</sf:NumSerieFactura>"
        f"<sf:FechaExpedicionFactura>{fecha}</sf:FechaExpedicionFactura></sf:IDFactura>"
        f"<sf:RefExterna>ref-{escape(num)}</sf:RefExterna>"
        "<sf:NombreRazonEmisor>Empresa Demo SL</sf:NombreRazonEmisor>"
        + ("<sf:Subsanacion>S</sf:Subsanacion>" if subsanacion else "")
        + f"<sf:TipoFactura>{tipo}</sf:TipoFactura>"
        + middle
        + "<sf:DescripcionOperacion>Servicios de prueba</sf:DescripcionOperacion>"
        + destinatarios
        + f"<sf:Desglose>{detalles}</sf:Desglose>"
        f"<sf:CuotaTotal>{cuota_total}</sf:CuotaTotal><sf:ImporteTotal>{importe_total}"
        "</sf:ImporteTotal>"
        + encadenamiento(prev)
        + SISTEMA
        + f"<sf:FechaHoraHusoGenRegistro>{GEN}</sf:FechaHoraHusoGenRegistro>"
        f"<sf:TipoHuella>01</sf:TipoHuella><sf:Huella>{sent_huella}</sf:Huella>"
        "</sf:RegistroAlta></sfLR:RegistroFactura>"
    )


def detalle(
    *,
    base: str = "100.00",
    rate: str | None = "21.00",
    cuota: str | None = "21.00",
    impuesto: str = "01",
    clave: str | None = "01",
    op: str = "S1",
    coste: str | None = None,
) -> str:
    """One DetalleDesglose, its elements in XSD order."""
    kind = "OperacionExenta" if op.startswith("E") else "CalificacionOperacion"
    return (
        f"<sf:DetalleDesglose><sf:Impuesto>{impuesto}</sf:Impuesto>"
        + (f"<sf:ClaveRegimen>{clave}</sf:ClaveRegimen>" if clave else "")
        + f"<sf:{kind}>{op}</sf:{kind}>"
        + (f"<sf:TipoImpositivo>{rate}</sf:TipoImpositivo>" if rate else "")
        + f"<sf:BaseImponibleOimporteNoSujeto>{base}</sf:BaseImponibleOimporteNoSujeto>"
        + (f"<sf:BaseImponibleACoste>{coste}</sf:BaseImponibleACoste>" if coste else "")
        + (f"<sf:CuotaRepercutida>{cuota}</sf:CuotaRepercutida>" if cuota else "")
        + "</sf:DetalleDesglose>"
    )


def dest(name: str = "Kunde GmbH", *, nif: str | None = None, vat: str = "DE123456789") -> str:
    ident = (
        f"<sf:NIF>{nif}</sf:NIF>"
        if nif
        else f"<sf:IDOtro><sf:IDType>02</sf:IDType><sf:ID>{vat}</sf:ID></sf:IDOtro>"
    )
    return (
        f"<sf:Destinatarios><sf:IDDestinatario><sf:NombreRazon>{name}</sf:NombreRazon>"
        f"{ident}</sf:IDDestinatario></sf:Destinatarios>"
    )


def anulacion(chain: Chain, num: str, *, fecha: str = FECHA, sin_registro: bool = False) -> str:
    prev = chain.last
    huella = sha(
        f"IDEmisorFacturaAnulada={OBLIGADO}&NumSerieFacturaAnulada={num}"
        f"&FechaExpedicionFacturaAnulada={fecha}&Huella={prev[2] if prev else ''}"
        f"&FechaHoraHusoGenRegistro={GEN}"
    )
    chain.last = (num, fecha, huella)
    return (
        "<sfLR:RegistroFactura><sf:RegistroAnulacion><sf:IDVersion>1.0</sf:IDVersion>"
        f"<sf:IDFactura><sf:IDEmisorFacturaAnulada>{OBLIGADO}</sf:IDEmisorFacturaAnulada>"
        f"<sf:NumSerieFacturaAnulada>{escape(num)}</sf:NumSerieFacturaAnulada>"
        f"<sf:FechaExpedicionFacturaAnulada>{fecha}</sf:FechaExpedicionFacturaAnulada>"
        "</sf:IDFactura>"
        + ("<sf:SinRegistroPrevio>S</sf:SinRegistroPrevio>" if sin_registro else "")
        + encadenamiento(prev)
        + SISTEMA
        + f"<sf:FechaHoraHusoGenRegistro>{GEN}</sf:FechaHoraHusoGenRegistro>"
        f"<sf:TipoHuella>01</sf:TipoHuella><sf:Huella>{huella}</sf:Huella>"
        "</sf:RegistroAnulacion></sfLR:RegistroFactura>"
    )


def soap(body: str) -> bytes:
    ns = " ".join(f'xmlns:{p}="{u}"' for p, u in NS.items() if p in ("sf", "sfLR", "sfLRC"))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP}" {ns}>'
        f"<env:Header/><env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def reg_factu(*records: str, obligado: str = OBLIGADO) -> bytes:
    return soap(
        "<sfLR:RegFactuSistemaFacturacion><sfLR:Cabecera><sf:ObligadoEmision>"
        f"<sf:NombreRazon>Empresa Demo SL</sf:NombreRazon><sf:NIF>{obligado}</sf:NIF>"
        "</sf:ObligadoEmision></sfLR:Cabecera>"
        + "".join(records)
        + "</sfLR:RegFactuSistemaFacturacion>"
    )


def consulta_request(ejercicio: str, periodo: str, num: str | None = None) -> bytes:
    return soap(
        "<sfLRC:ConsultaFactuSistemaFacturacion><sfLRC:Cabecera><sf:IDVersion>1.0</sf:IDVersion>"
        "<sf:ObligadoEmision><sf:NombreRazon>Empresa Demo SL</sf:NombreRazon>"
        f"<sf:NIF>{OBLIGADO}</sf:NIF></sf:ObligadoEmision></sfLRC:Cabecera>"
        "<sfLRC:FiltroConsulta><sfLRC:PeriodoImputacion>"
        f"<sf:Ejercicio>{ejercicio}</sf:Ejercicio><sf:Periodo>{periodo}</sf:Periodo>"
        "</sfLRC:PeriodoImputacion>"
        + (f"<sfLRC:NumSerieFactura>{escape(num)}</sfLRC:NumSerieFactura>" if num else "")
        + "</sfLRC:FiltroConsulta></sfLRC:ConsultaFactuSistemaFacturacion>"
    )


# ------------------------------------------------------------------------ response helpers


class _Resolver(etree.Resolver):
    def resolve(self, system_url, public_id, context):  # noqa: ANN001, ANN201
        if system_url == XMLDSIG_URL:
            return self.resolve_filename(str(SCHEMAS / "xmldsig-core-schema.xsd"), context)
        assert not system_url.startswith("http"), f"schema tried to fetch {system_url}"
        return None


_SCHEMAS: dict[str, etree.XMLSchema] = {}


def response_schema(name: str) -> etree.XMLSchema:
    if name not in _SCHEMAS:
        parser = etree.XMLParser(no_network=True)
        parser.resolvers.add(_Resolver())
        _SCHEMAS[name] = etree.XMLSchema(etree.parse(str(SCHEMAS / name), parser))
    return _SCHEMAS[name]


def answer(response: requests.Response, schema: str = "RespuestaSuministro.xsd"):
    """The SOAP Body payload, after checking it validates against AEAT's response XSD."""
    assert response.status_code == 200, response.text
    payload = etree.fromstring(response.content).find("env:Body", NS)[0]
    doc = etree.fromstring(etree.tostring(payload))
    validator = response_schema(schema)
    assert validator.validate(doc), validator.error_log
    return payload


def fault(response: requests.Response) -> str:
    assert response.status_code == 500
    return etree.fromstring(response.content).findtext("env:Body/env:Fault/faultstring", None, NS)


def lines(payload) -> list[dict[str, str | None]]:
    return [
        {
            "num": el.findtext("sfR:IDFactura/sf:NumSerieFactura", None, NS),
            "estado": el.findtext("sfR:EstadoRegistro", None, NS),
            "codigo": el.findtext("sfR:CodigoErrorRegistro", None, NS),
            "ref": el.findtext("sfR:RefExterna", None, NS),
        }
        for el in payload.findall("sfR:RespuestaLinea", NS)
    ]


@pytest.fixture
def sim():
    simulator = start_simulator(wait_seconds=0)
    yield simulator
    simulator.stop()


def post(sim, data: bytes, timeout: float = 10, **kwargs) -> requests.Response:
    return requests.post(
        sim.url,
        data=data,
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=timeout,
        **kwargs,
    )


# ------------------------------------------------------------------------------------ tests


def requerimiento(*records: str, ref: str = "REQ-1") -> bytes:
    return soap(
        "<sfLR:RegFactuSistemaFacturacion><sfLR:Cabecera><sf:ObligadoEmision>"
        f"<sf:NombreRazon>Empresa Demo SL</sf:NombreRazon><sf:NIF>{OBLIGADO}</sf:NIF>"
        "</sf:ObligadoEmision><sf:RemisionRequerimiento>"
        f"<sf:RefRequerimiento>{ref}</sf:RefRequerimiento>"
        "<sf:FinRequerimiento>S</sf:FinRequerimiento></sf:RemisionRequerimiento></sfLR:Cabecera>"
        + "".join(records)
        + "</sfLR:RegFactuSistemaFacturacion>"
    )


# Schema-valid, but it signs nothing: no certificate, a digest and a value of one zero byte.
BOGUS_SIGNATURE = (
    '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
    '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>'
    '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
    '<ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
    "<ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo>"
    "<ds:SignatureValue>AA==</ds:SignatureValue></ds:Signature>"
)


def test_requerimiento_records_without_a_valid_signature_are_incorrecto_1100(sim):
    chain = Chain()
    unsigned = alta(chain, "U/1")
    bogus = alta(chain, "U/2").replace("</sf:RegistroAlta>", BOGUS_SIGNATURE + "</sf:RegistroAlta>")
    response = requests.post(
        sim.requerimiento_url,
        data=requerimiento(unsigned, bogus),
        headers={"Content-Type": "text/xml; charset=UTF-8"},
        timeout=10,
    )
    payload = answer(response)
    assert payload.findtext("sfR:EstadoEnvio", None, NS) == "Incorrecto"
    assert [(x["num"], x["estado"], x["codigo"]) for x in lines(payload)] == [
        ("U/1", "Incorrecto", "1100"),
        ("U/2", "Incorrecto", "1100"),
    ]
    descriptions = [
        el.findtext("sfR:DescripcionErrorRegistro", None, NS)
        for el in payload.findall("sfR:RespuestaLinea", NS)
    ]
    assert "no está firmado" in descriptions[0]
    assert "ds:Signature" in descriptions[1] and "certificado" in descriptions[1]
    received = sim.snapshot()["requerimientos"]["REQ-1"]
    assert [(r["signed"], r["estado"]) for r in received] == [
        (False, "Incorrecto"),
        (True, "Incorrecto"),
    ]


def test_simulator_imports_nothing_from_the_project():
    import ast

    package = SCHEMAS.parent / "simulator"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                assert root not in {
                    "verifactu",
                    "django",
                    "factu",
                    "api",
                    "invoicing",
                    "expenses",
                    "clients",
                }, f"{source.name} imports {name}"


def test_hash_matches_aeat_official_vectors():
    first = huella_alta(
        {
            "IDEmisorFactura": "89890001K",
            "NumSerieFactura": "12345678/G33",
            "FechaExpedicionFactura": "01-01-2024",
            "TipoFactura": "F1",
            "CuotaTotal": "12.35",
            "ImporteTotal": "123.45",
            "Huella": "",
            "FechaHoraHusoGenRegistro": "2024-01-01T19:20:30+01:00",
        }
    )
    assert first == "3C464DAF61ACB827C65FDA19F352A4E3BDC2C640E9E9FC4CC058073F38F12F60"
    second = huella_alta(
        {
            "IDEmisorFactura": "89890001K",
            "NumSerieFactura": "12345679/G34",
            "FechaExpedicionFactura": "01-01-2024",
            "TipoFactura": "F1",
            "CuotaTotal": "12.35",
            "ImporteTotal": "123.45",
            "Huella": first,
            "FechaHoraHusoGenRegistro": "2024-01-01T19:20:35+01:00",
        }
    )
    assert second == "F7B94CFD8924EDFF273501B01EE5153E4CE8F259766F88CF6ACB8935802A2B97"
    third = huella_anulacion(
        {
            "IDEmisorFacturaAnulada": "89890001K",
            "NumSerieFacturaAnulada": "12345679/G34",
            "FechaExpedicionFacturaAnulada": "01-01-2024",
            "Huella": second,
            "FechaHoraHusoGenRegistro": "2024-01-01T19:20:40+01:00",
        }
    )
    assert third == "177547C0D57AC74748561D054A9CEC14B4C4EA23D1BEFD6F2E69E3A388F90C68"


def test_two_chained_records_are_correcto_with_csv(sim):
    chain = Chain()
    payload = answer(post(sim, reg_factu(alta(chain, "A/1"), alta(chain, "A/2&B"))))
    assert payload.findtext("sfR:EstadoEnvio", None, NS) == "Correcto"
    csv = payload.findtext("sfR:CSV", None, NS)
    assert csv and len(csv) == 16 and csv.isalnum()
    assert payload.findtext("sfR:TiempoEsperaEnvio", None, NS) == "0"
    assert payload.findtext("sfR:Cabecera/sf:ObligadoEmision/sf:NIF", None, NS) == OBLIGADO
    assert payload.findtext("sfR:DatosPresentacion/sf:NIFPresentador", None, NS) == OBLIGADO
    assert lines(payload) == [
        {"num": "A/1", "estado": "Correcto", "codigo": None, "ref": "ref-A/1"},
        {"num": "A/2&B", "estado": "Correcto", "codigo": None, "ref": "ref-A/2&B"},
    ]
    state = requests.get(sim.control_url + "/state", timeout=5).json()
    assert {r["num_serie"] for r in state["records"]} == {"A/1", "A/2&B"}
    assert state["received"][f"{OBLIGADO}|A/1|{FECHA}"] == 1


def _element_to_dict(el):
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        return el.text
    out: dict = {}
    for child in children:
        name = etree.QName(child).localname
        value = _element_to_dict(child)
        if name in out:
            out[name] = out[name] if isinstance(out[name], list) else [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def test_zeep_client_from_vendored_wsdl(sim):
    from zeep import Client, Settings
    from zeep.transports import Transport

    class LocalOnly(Transport):
        def load(self, url):
            if url == XMLDSIG_URL:
                url = str(SCHEMAS / "xmldsig-core-schema.xsd")
            assert not url.startswith("http"), f"zeep tried to fetch {url}"
            return super().load(url)

    # W3C's xmldsig schema declares an internal DTD entity; it is our vendored local copy.
    client = Client(
        str(SCHEMAS / "SistemaFacturacion.wsdl"),
        transport=LocalOnly(),
        settings=Settings(forbid_entities=False),
    )
    service = client.create_service("{" + _AEAT + "SistemaFacturacion.wsdl}sfVerifactu", sim.url)
    chain = Chain()
    request = etree.fromstring(reg_factu(alta(chain, "Z/1"), alta(chain, "Z/2")))
    records = request.findall(".//sfLR:RegistroFactura", NS)
    result = service.RegFactuSistemaFacturacion(
        Cabecera={"ObligadoEmision": {"NombreRazon": "Empresa Demo SL", "NIF": OBLIGADO}},
        RegistroFactura=[_element_to_dict(r) for r in records],
    )
    assert result.EstadoEnvio == "Correcto"
    assert len(result.CSV) == 16
    assert [line.EstadoRegistro for line in result.RespuestaLinea] == ["Correcto", "Correcto"]


def test_schema_invalid_and_unparseable_envelopes_are_faults(sim):
    record = alta(Chain(), "S/1").replace(
        "<sf:DescripcionOperacion>Servicios de prueba</sf:DescripcionOperacion>", ""
    )
    assert fault(post(sim, reg_factu(record))).startswith(
        "Codigo[4102].El XML no cumple el esquema"
    )
    assert fault(post(sim, b"<env:Envelope><broken")).startswith("Codigo[4103].")
    assert requests.get(sim.control_url + "/state", timeout=5).json()["records"] == []


def test_more_than_1000_records_is_fault_4114(sim):
    chain = Chain()
    records = [alta(chain, f"M/{i}") for i in range(1001)]
    assert fault(post(sim, reg_factu(*records))).startswith("Codigo[4114].")


def test_wrong_huella_is_accepted_with_error_2000(sim):
    chain = Chain()
    payload = answer(post(sim, reg_factu(alta(chain, "H/1"), alta(chain, "H/2", bad_huella=True))))
    assert payload.findtext("sfR:EstadoEnvio", None, NS) == "ParcialmenteCorrecto"
    assert [(x["estado"], x["codigo"]) for x in lines(payload)] == [
        ("Correcto", None),
        ("AceptadoConErrores", "2000"),
    ]


def test_chain_errors(sim):
    chain = Chain()
    answer(post(sim, reg_factu(alta(chain, "C/1"))))
    again_first = alta(chain, "C/2", first=True)
    wrong_prev = alta(chain, "C/3", previous_huella="A" * 64)
    short_prev = alta(chain, "C/4", previous_huella="ABC")
    payload = answer(post(sim, reg_factu(again_first, wrong_prev, short_prev)))
    assert [x["codigo"] for x in lines(payload)] == ["2007", "2003", "2002"]
    assert {x["estado"] for x in lines(payload)} == {"AceptadoConErrores"}


def test_duplicate_is_3000_with_registro_duplicado(sim):
    chain = Chain()
    envelope = reg_factu(alta(chain, "D/1"))
    first = answer(post(sim, envelope))
    csv = first.findtext("sfR:CSV", None, NS)
    second = answer(post(sim, envelope))
    assert second.findtext("sfR:EstadoEnvio", None, NS) == "Incorrecto"
    assert second.find("sfR:CSV", NS) is None
    line = second.find("sfR:RespuestaLinea", NS)
    assert line.findtext("sfR:CodigoErrorRegistro", None, NS) == "3000"
    dup = line.find("sfR:RegistroDuplicado", NS)
    assert dup.findtext("sf:IdPeticionRegistroDuplicado", None, NS) == csv
    assert dup.findtext("sf:EstadoRegistroDuplicado", None, NS) == "Correcta"
    # The resend does not break the chain of the next new record.
    assert lines(answer(post(sim, reg_factu(alta(chain, "D/2")))))[0]["estado"] == "Correcto"
    received = sim.snapshot()["received"]
    assert received[f"{OBLIGADO}|D/1|{FECHA}"] == 2


def test_chosen_code_rejects_only_that_invoice(sim):
    response = requests.post(sim.control_url, json={"reject": {"R/2": 1100}}, timeout=5)
    assert response.json()["reject"] == {"R/2": 1100}
    chain = Chain()
    payload = answer(
        post(sim, reg_factu(alta(chain, "R/1"), alta(chain, "R/2"), alta(chain, "R/3")))
    )
    assert payload.findtext("sfR:EstadoEnvio", None, NS) == "ParcialmenteCorrecto"
    assert [(x["estado"], x["codigo"]) for x in lines(payload)] == [
        ("Correcto", None),
        ("Incorrecto", "1100"),
        ("Correcto", None),
    ]
    assert {r["num_serie"] for r in sim.snapshot()["records"]} == {"R/1", "R/3"}


def test_field_rules(sim):
    chain = Chain()
    future = (date.today() + timedelta(days=3)).strftime("%d-%m-%Y")
    records = [
        alta(chain, "V/1", base="1000.00", cuota="300.00"),  # 1000 × 21 % = 210 ≠ 300 → 1142
        alta(chain, "V/2", fecha=future),
        alta(chain, "V/3", tipo="F2", recipient=None, base="4000.00", cuota="840.00"),
        alta(chain, "V/4", emisor=RECIPIENT),
        alta(chain, "V/5", recipient="B87654320"),
        alta(chain, "V/6", recipient="00000000T"),
        alta(chain, "V/7", cuota_total="40.00"),
        alta(chain, "V/8", importe_total="200.00"),
        alta(chain, "V/9", base="100.00", cuota="21.00", importe_total="125.00"),  # within ±10
    ]
    payload = answer(post(sim, reg_factu(*records)))
    assert [(x["estado"], x["codigo"]) for x in lines(payload)] == [
        ("Incorrecto", "1142"),
        ("Incorrecto", "1112"),
        ("Incorrecto", "1150"),
        ("Incorrecto", "1108"),
        ("Incorrecto", "1123"),
        ("Incorrecto", "1123"),
        ("AceptadoConErrores", "2006"),
        ("AceptadoConErrores", "2005"),
        ("Correcto", None),
    ]
    # Rejected records stay in the chain: V/9 chained after the rejected V/1…V/6 is fine.


def test_regime_operation_and_party_rules(sim):
    """The rules of issue 15, as AEAT's errores.properties states them (1116, 1144, 1147–1149,
    1178, 1182, 1199–1205, 1239, 1252, 1257, 1283, 1286, 1289; 2009 accepted with errors)."""
    chain = Chain()

    def exempt(numserie: str, op: str, clave: str = "01", **fields) -> str:
        """A 100 € alta exempt under ``op`` (E1–E8): no rate, no cuota."""
        return alta(
            chain,
            numserie,
            detalles=detalle(clave=clave, op=op, rate=None, cuota=None),
            cuota_total="0.00",
            importe_total="100.00",
            **fields,
        )

    sustituidas = (
        "<sf:FacturasSustituidas><sf:IDFacturaSustituida>"
        f"<sf:IDEmisorFactura>{OBLIGADO}</sf:IDEmisorFactura>"
        "<sf:NumSerieFactura>T-1</sf:NumSerieFactura>"
        f"<sf:FechaExpedicionFactura>{FECHA}</sf:FechaExpedicionFactura>"
        "</sf:IDFacturaSustituida></sf:FacturasSustituidas>"
    )
    later = (ISSUED + timedelta(days=30)).strftime("%d-%m-%Y")
    cases = [
        ("F3 without FacturasSustituidas", alta(chain, "K/1", tipo="F3"), "1116"),
        ("F3 with them", alta(chain, "K/2", tipo="F3", middle=sustituidas), None),
        ("F1 with them", alta(chain, "K/3", middle=sustituidas), "1116"),
        (
            "07 with S2",
            alta(
                chain,
                "K/4",
                detalles=detalle(clave="07", op="S2", rate="0", cuota="0"),
                cuota_total="0.00",
                importe_total="100.00",
            ),
            "1203",
        ),
        ("07 with E4", exempt("K/5", "E4", clave="07"), "1203"),
        ("02 with S1", alta(chain, "K/6", detalles=detalle(clave="02")), "1286"),
        ("02 with E2", exempt("K/7", "E2", clave="02"), None),
        ("01 with E2", exempt("K/8", "E2"), "1199"),
        ("E5 to a NIF", exempt("K/9", "E5"), "1289"),
        ("E5 to IDOtro", exempt("K/10", "E5", destinatarios=dest()), None),
        ("E7 on IVA", exempt("K/11", "E7"), "1182"),
        ("06 without cost base", alta(chain, "K/12", detalles=detalle(clave="06")), "1202"),
        (
            "06 with cost base",
            alta(chain, "K/13", detalles=detalle(clave="06", coste="100.00")),
            None,
        ),
        (
            "06 cuota off the cost base",
            alta(chain, "K/14", detalles=detalle(clave="06", coste="10.00")),
            "1144",
        ),
        ("cost base under 01", alta(chain, "K/15", detalles=detalle(coste="100.00")), "1257"),
        ("08 with S1", alta(chain, "K/16", detalles=detalle(clave="08")), "1252"),
        ("10 with S1", alta(chain, "K/17", detalles=detalle(clave="10")), "1205"),
        (
            "14 without FechaOperacion",
            alta(chain, "K/18", detalles=detalle(clave="14"), recipient="P2807900B"),
            "1147",
        ),
        (
            "14 to a company",
            alta(
                chain,
                "K/19",
                detalles=detalle(clave="14"),
                middle=f"<sf:FechaOperacion>{later}</sf:FechaOperacion>",
            ),
            "1149",
        ),
        (
            "14 to a council",
            alta(
                chain,
                "K/20",
                detalles=detalle(clave="14"),
                middle=f"<sf:FechaOperacion>{later}</sf:FechaOperacion>",
                recipient="P2807900B",
            ),
            None,
        ),
        (
            "recipient NIF without a name",
            alta(chain, "K/21", destinatarios=dest("", nif=RECIPIENT)),
            "1283",
        ),
        ("IDOtro without a name", alta(chain, "K/22", destinatarios=dest("")), "1239"),
        (
            "IPSI without ClaveRegimen",
            alta(
                chain,
                "K/23",
                detalles=detalle(impuesto="02", clave=None, rate="4.00", cuota="4.00"),
                cuota_total="4.00",
                importe_total="104.00",
            ),
            "2009",
        ),
    ]
    payload = answer(post(sim, reg_factu(*(c[1] for c in cases))))
    got = [(x["estado"], x["codigo"]) for x in lines(payload)]
    expected = [
        ("Correcto", None)
        if code is None
        else ("AceptadoConErrores", code)
        if code.startswith("2")
        else ("Incorrecto", code)
        for _, _, code in cases
    ]
    assert dict(zip([c[0] for c in cases], got, strict=True)) == dict(
        zip([c[0] for c in cases], expected, strict=True)
    )


def test_invalid_obligado_nif_is_fault(sim):
    assert fault(post(sim, reg_factu(alta(Chain(), "N/1"), obligado="00000000T"))).startswith(
        "Codigo[4116]."
    )


def test_anulacion_and_subsanacion(sim):
    chain = Chain()
    answer(post(sim, reg_factu(alta(chain, "X/1"), alta(chain, "X/2"))))
    payload = answer(
        post(
            sim,
            reg_factu(
                anulacion(chain, "X/1"),
                anulacion(chain, "X/1"),
                anulacion(chain, "X/9"),
                anulacion(chain, "X/8", sin_registro=True),
                alta(chain, "X/2", subsanacion=True, base="200.00", cuota="42.00"),
                alta(chain, "X/7", subsanacion=True),
            ),
        )
    )
    assert [(x["estado"], x["codigo"]) for x in lines(payload)] == [
        ("Correcto", None),
        ("Incorrecto", "3001"),
        ("Incorrecto", "3002"),
        ("Correcto", None),
        ("Correcto", None),
        ("Incorrecto", "3002"),
    ]
    records = {r["num_serie"]: r for r in sim.snapshot()["records"]}
    assert records["X/1"]["estado"] == "Anulado"
    assert records["X/8"]["estado"] == "Anulado"
    assert "<sf:ImporteTotal>242.00</sf:ImporteTotal>" in records["X/2"]["raw_xml"]
    dup = answer(post(sim, reg_factu(alta(chain, "X/1"))))
    assert dup.findtext(".//sf:EstadoRegistroDuplicado", None, NS) == "Anulada"


def test_http500_then_normal(sim):
    requests.post(sim.control_url, json={"mode": "http500", "times": 1}, timeout=5)
    response = post(sim, reg_factu(alta(Chain(), "F/1")))
    assert response.status_code == 500
    assert b"Envelope" not in response.content
    # It hangs up after a bare 500 and says so, or a client would reuse the dying socket.
    assert response.headers["Connection"] == "close"
    assert (
        answer(post(sim, reg_factu(alta(Chain(), "F/1")))).findtext("sfR:EstadoEnvio", None, NS)
        == "Correcto"
    )


def test_fault20009_mode(sim):
    sim.set_mode("fault20009", times=2)
    for _ in range(2):
        assert fault(post(sim, reg_factu(alta(Chain(), "G/1")))) == (
            "Codigo[20009].Error interno en el servidor"
        )
    assert sim.snapshot()["records"] == []
    assert post(sim, reg_factu(alta(Chain(), "G/1"))).status_code == 200


@pytest.mark.parametrize("code", ["3500", "4134", "4102", "4112", "4141"])
def test_fault_modes_answer_their_aeat_code_and_store_nothing(sim, code):
    sim.set_mode(f"fault{code}", times=1)
    assert fault(post(sim, reg_factu(alta(Chain(), "G/1")))).startswith(f"Codigo[{code}].")
    assert sim.snapshot()["records"] == []
    assert post(sim, reg_factu(alta(Chain(), "G/1"))).status_code == 200


def test_timeout_mode(sim):
    sim.configure(mode="timeout", times=1, timeout_seconds=5)
    started = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        post(sim, reg_factu(alta(Chain(), "T/1")), timeout=0.3)
    assert time.monotonic() - started < 3
    assert sim.snapshot()["records"] == []
    assert post(sim, reg_factu(alta(Chain(), "T/1"))).status_code == 200


def test_drop_response_stores_then_resend_is_duplicate(sim):
    sim.set_mode("drop_response", times=1)
    envelope = reg_factu(alta(Chain(), "L/1"))
    with pytest.raises(requests.exceptions.ConnectionError):
        post(sim, envelope)
    assert [r["num_serie"] for r in sim.snapshot()["records"]] == ["L/1"]
    assert lines(answer(post(sim, envelope)))[0]["codigo"] == "3000"


def test_control_reset(sim):
    answer(post(sim, reg_factu(alta(Chain(), "Q/1"))))
    requests.post(sim.control_url, json={"mode": "http500"}, timeout=5)
    assert requests.post(sim.control_url + "/reset", timeout=5).json()["mode"] == "normal"
    state = requests.get(sim.control_url + "/state", timeout=5).json()
    assert state["records"] == [] and state["received"] == {}
    assert requests.post(sim.control_url, json={"mode": "bogus"}, timeout=5).status_code == 400


def test_consulta_returns_stored_record(sim):
    chain = Chain()
    answer(post(sim, reg_factu(alta(chain, "K/1"), alta(chain, "K/2"))))
    year, month = f"{ISSUED.year:04d}", f"{ISSUED.month:02d}"
    payload = answer(post(sim, consulta_request(year, month, "K/2")), "RespuestaConsultaLR.xsd")
    assert payload.findtext("sfLRRC:ResultadoConsulta", None, NS) == "ConDatos"
    rows = payload.findall("sfLRRC:RegistroRespuestaConsultaFactuSistemaFacturacion", NS)
    assert len(rows) == 1
    assert rows[0].findtext("sfLRRC:IDFactura/sf:NumSerieFactura", None, NS) == "K/2"
    assert rows[0].findtext("sfLRRC:EstadoRegistro/sfLRRC:EstadoRegistro", None, NS) == "Correcto"
    assert rows[0].findtext("sfLRRC:DatosRegistroFacturacion/sfLRRC:ImporteTotal", None, NS) == (
        "121.00"
    )
    everything = answer(post(sim, consulta_request(year, month)), "RespuestaConsultaLR.xsd")
    assert (
        len(everything.findall("sfLRRC:RegistroRespuestaConsultaFactuSistemaFacturacion", NS)) == 2
    )
    other_year = str(ISSUED.year - 1)
    empty = answer(post(sim, consulta_request(other_year, month)), "RespuestaConsultaLR.xsd")
    assert empty.findtext("sfLRRC:ResultadoConsulta", None, NS) == "SinDatos"


def test_state_file_survives_restart(tmp_path):
    state_file = tmp_path / "sim.sqlite3"
    chain = Chain()
    first = start_simulator(wait_seconds=0, state_file=state_file)
    try:
        answer(post(first, reg_factu(alta(chain, "P/1"))))
    finally:
        first.stop()
    second = start_simulator(wait_seconds=0, state_file=state_file)
    try:
        assert lines(answer(post(second, reg_factu(alta(Chain(), "P/1")))))[0]["codigo"] == "3000"
        # The chain tail survived too: the next record chained to P/1 is Correcto.
        assert lines(answer(post(second, reg_factu(alta(chain, "P/2")))))[0]["codigo"] is None
    finally:
        second.stop()


def test_https_requires_client_certificate(tmp_path):
    certs = generate_test_certs(tmp_path)
    assert certs.client_p12.read_bytes()
    simulator = start_simulator(
        wait_seconds=0,
        tls_cert=certs.server_cert,
        tls_key=certs.server_key,
        client_ca=certs.ca_cert,
    )
    try:
        assert simulator.url.startswith("https://127.0.0.1:")
        response = post(
            simulator,
            reg_factu(alta(Chain(), "TLS/1")),
            cert=(str(certs.client_cert), str(certs.client_key)),
            verify=str(certs.ca_cert),
        )
        assert answer(response).findtext("sfR:EstadoEnvio", None, NS) == "Correcto"
        with pytest.raises((requests.exceptions.SSLError, requests.exceptions.ConnectionError)):
            post(simulator, reg_factu(alta(Chain(), "TLS/2")), verify=str(certs.ca_cert))
        assert [r["num_serie"] for r in simulator.snapshot()["records"]] == ["TLS/1"]
    finally:
        simulator.stop()


def test_command_line_server(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "verifactu.simulator",
            "--port",
            "0",
            "--wait-seconds",
            "7",
            "--state-file",
            str(tmp_path / "cli.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        line = process.stdout.readline()
        url = line.split(" on ")[1].split(" ")[0]
        payload = answer(requests.post(url, data=reg_factu(alta(Chain(), "CLI/1")), timeout=5))
        assert payload.findtext("sfR:TiempoEsperaEnvio", None, NS) == "7"
    finally:
        process.terminate()
        process.wait(5)
