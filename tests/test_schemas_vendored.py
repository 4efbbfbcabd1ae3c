"""The vendored AEAT files are AEAT's, byte for byte (sums from shared/aeat/SOURCE.md)."""

import hashlib
from pathlib import Path

import pytest

SCHEMAS = Path(__file__).resolve().parent.parent / "verifactu" / "schemas"

RECORDED_SHA256 = {
    "ConsultaLR.xsd": "bf2cdb8fc4b95b291757a72b76d8fffca06a6d30d9329122ca2fd6b2d5f8f1b1",
    "EventosSIF.xsd": "3d3d5df30fb0190f97ddb3b64e9d34d2ecc43e8162b8896ac282955d7298c9b2",
    "RespuestaConsultaLR.xsd": "de35063acb8d9ba0d6ae51acc6b595de9c2b12333250e95e13108ef5f2670d45",
    "RespuestaSuministro.xsd": "82acf80f785643caac13087aae66808ed721a13f08ca5218cf8ae81b695549ef",
    "RespuestaValRegistNoVeriFactu.xsd": (
        "041347db03edf4ec97da035a78cbe8e1adb3159c3341d796ce91b558d8c59c7d"
    ),
    "SuministroInformacion.xsd": "ee4c1655175644de44c4c25055ffeb8e5f4bb4bc3834ce8254d4222ef18c8aa1",
    "SuministroLR.xsd": "cbdac8d427cc5ab5d77ca48974cab0f35d6bb819c4c66db361681e3710aeba36",
    "xmldsig-core-schema.xsd": "d102ad3df7664c307e0c2c776ba4a90513b1969974d8a940bae1a77f9f21e15d",
    "SistemaFacturacion.wsdl": "05919120708ff7650612fa6683c9336eaf919335d9a4db10e86759190af48602",
}


@pytest.mark.parametrize("name", sorted(RECORDED_SHA256))
def test_vendored_file_is_unedited(name):
    digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
    assert digest == RECORDED_SHA256[name]
