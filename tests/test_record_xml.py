"""Record XML (SPEC §3–§4): builder, XSD validation, and huella recomputed from the XML text."""

import re
import socket

import pytest
from lxml import etree

from tests.record_parts import DEMO_OBLIGADO as OBLIGADO
from tests.record_parts import LINE_21, factu_sistema
from verifactu.envelopes import build_envelope, validate_envelope, validate_record
from verifactu.huella import huella_alta
from verifactu.xml import (
    AltaData,
    AnulacionData,
    BreakdownLine,
    IDOtro,
    ImporteRectificacion,
    InvoiceId,
    Obligado,
    PreviousRecord,
    Recipient,
    SistemaInformatico,
    build_alta,
    build_anulacion,
    parse_record,
    recompute_huella,
)
from verifactu.xmlkit import NS_LR, NS_SF, load_schema

H1 = "3C464DAF61ACB827C65FDA19F352A4E3BDC2C640E9E9FC4CC058073F38F12F60"
H2 = "F7B94CFD8924EDFF273501B01EE5153E4CE8F259766F88CF6ACB8935802A2B97"
H3 = "177547C0D57AC74748561D054A9CEC14B4C4EA23D1BEFD6F2E69E3A388F90C68"
NS = {"sf": NS_SF, "sfLR": NS_LR}

SISTEMA = factu_sistema("inst-0001")
LINE_10 = BreakdownLine(
    impuesto="01",
    clave_regimen="01",
    calificacion="S1",
    tipo_impositivo="10.00",
    base="50.00",
    cuota="5.00",
)


def alta(**overrides) -> AltaData:
    values = dict(
        nif="89890001K",
        numserie="2025-A/0001",
        fecha_expedicion="15-01-2025",
        nombre_razon_emisor="Empresa Demo SL",
        tipo_factura="F1",
        descripcion="Servicios de consultoría",
        lines=(LINE_21, LINE_10),
        cuota_total="26.00",
        importe_total="176.00",
        sistema=SISTEMA,
        fecha_hora_huso="2025-01-15T10:00:00+01:00",
        recipients=(
            Recipient("Cliente Nacional SA", nif="A39200019"),
            Recipient("Client GmbH", id_otro=IDOtro(id_type="02", id="DE123456789", country="DE")),
        ),
        ref_externa="inv-42",
    )
    values.update(overrides)
    return AltaData(**values)


def vector1(**overrides) -> AltaData:
    values = dict(
        numserie="12345678/G33",
        fecha_expedicion="01-01-2024",
        cuota_total="12.35",
        importe_total="123.45",
        fecha_hora_huso="2024-01-01T19:20:30+01:00",
        lines=(
            BreakdownLine(
                impuesto="01",
                clave_regimen="01",
                calificacion="S1",
                tipo_impositivo="21.00",
                base="111.10",
                cuota="12.35",
            ),
        ),
    )
    values.update(overrides)
    return alta(**values)


def root_of(fragment: str) -> etree._Element:
    return etree.fromstring(fragment.encode())


def test_full_alta_with_recipients_and_two_lines_validates():
    built = build_alta(alta())
    assert validate_record(built) == []
    root = root_of(built.xml)
    assert root.tag == f"{{{NS_SF}}}RegistroAlta"
    recipients = root.findall("sf:Destinatarios/sf:IDDestinatario", NS)
    assert [r.findtext("sf:NombreRazon", namespaces=NS) for r in recipients] == [
        "Cliente Nacional SA",
        "Client GmbH",
    ]
    assert recipients[1].findtext("sf:IDOtro/sf:IDType", namespaces=NS) == "02"
    assert len(root.findall("sf:Desglose/sf:DetalleDesglose", NS)) == 2
    assert root.findtext("sf:TipoHuella", namespaces=NS) == "01"
    assert root.findtext("sf:Huella", namespaces=NS) == built.huella


def test_huella_recomputes_from_the_xml_text_alone():
    built = build_alta(alta(previous=PreviousRecord("89890001K", "2025-A/0000", "14-01-2025", H1)))
    parsed = parse_record(built.xml)
    assert parsed["kind"] == "RegistroAlta"
    assert parsed["huella"] == built.huella
    assert parsed["fields"] == {
        "IDEmisorFactura": "89890001K",
        "NumSerieFactura": "2025-A/0001",
        "FechaExpedicionFactura": "15-01-2025",
        "TipoFactura": "F1",
        "CuotaTotal": "26.00",
        "ImporteTotal": "176.00",
        "Huella": H1,
        "FechaHoraHusoGenRegistro": "2025-01-15T10:00:00+01:00",
    }
    assert recompute_huella(parsed) == built.huella
    assert huella_alta(*parsed["fields"].values()) == built.huella


def test_official_vector_1_through_the_builder():
    built = build_alta(vector1())
    assert built.huella == H1
    assert validate_record(built) == []
    assert recompute_huella(parse_record(built.xml)) == H1


def test_official_vector_2_through_the_builder():
    built = build_alta(
        vector1(
            numserie="12345679/G34",
            fecha_hora_huso="2024-01-01T19:20:35+01:00",
            previous=PreviousRecord("89890001K", "12345678/G33", "01-01-2024", H1),
        )
    )
    assert built.huella == H2


def test_first_record_has_primer_registro_later_ones_registro_anterior():
    first = build_alta(vector1())
    root = root_of(first.xml)
    assert root.findtext("sf:Encadenamiento/sf:PrimerRegistro", namespaces=NS) == "S"
    assert root.find("sf:Encadenamiento/sf:RegistroAnterior", NS) is None
    assert parse_record(first.xml)["fields"]["Huella"] == ""

    second = build_alta(
        alta(previous=PreviousRecord("89890001K", "12345678/G33", "01-01-2024", first.huella))
    )
    root = root_of(second.xml)
    assert root.find("sf:Encadenamiento/sf:PrimerRegistro", NS) is None
    prev = root.find("sf:Encadenamiento/sf:RegistroAnterior", NS)
    assert [child.text for child in prev] == ["89890001K", "12345678/G33", "01-01-2024", H1]
    assert validate_record(second) == []


def test_anulacion_validates_and_matches_vector_3():
    built = build_anulacion(
        AnulacionData(
            nif="89890001K",
            numserie="12345679/G34",
            fecha_expedicion="01-01-2024",
            sistema=SISTEMA,
            fecha_hora_huso="2024-01-01T19:20:40+01:00",
            previous=PreviousRecord("89890001K", "12345679/G34", "01-01-2024", H2),
            ref_externa="cancel-1",
        )
    )
    assert built.huella == H3
    assert built.kind == "RegistroAnulacion"
    assert validate_record(built) == []
    parsed = parse_record(built.xml)
    assert parsed["kind"] == "RegistroAnulacion"
    assert list(parsed["fields"]) == [
        "IDEmisorFacturaAnulada",
        "NumSerieFacturaAnulada",
        "FechaExpedicionFacturaAnulada",
        "Huella",
        "FechaHoraHusoGenRegistro",
    ]
    assert recompute_huella(parsed) == H3 == parsed["huella"]


def test_anulacion_with_all_optional_fields_validates():
    built = build_anulacion(
        AnulacionData(
            nif="89890001K",
            numserie="A&B",
            fecha_expedicion="01-01-2025",
            sistema=SISTEMA,
            fecha_hora_huso="2025-01-02T10:00:00+01:00",
            sin_registro_previo="S",
            rechazo_previo="N",
            generado_por="T",
            generador=Recipient("Gestoría López", nif="B12345674"),
        )
    )
    assert validate_record(built) == []
    assert recompute_huella(parse_record(built.xml)) == built.huella


def test_escaping_round_trips_and_the_hash_uses_the_raw_text():
    data = alta(
        numserie="A&B<1>'\"",
        nombre_razon_emisor="Smith & Sons <Ltd>",
        descripcion="Tom & Jerry <\"quoted\"> 'x'",
        recipients=(Recipient("R&D <Labs>", nif="A39200019"),),
    )
    built = build_alta(data)
    assert "&amp;" in built.xml and "&lt;" in built.xml
    root = root_of(built.xml)
    assert root.findtext("sf:IDFactura/sf:NumSerieFactura", namespaces=NS) == "A&B<1>'\""
    assert root.findtext("sf:NombreRazonEmisor", namespaces=NS) == "Smith & Sons <Ltd>"
    assert root.findtext("sf:DescripcionOperacion", namespaces=NS) == (
        "Tom & Jerry <\"quoted\"> 'x'"
    )
    assert built.huella == huella_alta(
        "89890001K",
        "A&B<1>'\"",
        "15-01-2025",
        "F1",
        "26.00",
        "176.00",
        "",
        "2025-01-15T10:00:00+01:00",
    )
    assert recompute_huella(parse_record(built.xml)) == built.huella
    assert validate_record(built) == []


def test_edge_blanks_are_trimmed_in_xml_and_hash():
    built = build_alta(vector1(numserie="  12345678/G33 ", nif=" 89890001K"))
    assert built.huella == H1
    assert "<NumSerieFactura>12345678/G33</NumSerieFactura>" in built.xml


@pytest.mark.parametrize("numserie", ["A\r1", "A\x011", "A\u00a01", "A\n1"])
def test_hashed_literals_an_xml_parser_would_alter_are_refused(numserie):
    with pytest.raises(ValueError, match="NumSerieFactura"):
        build_alta(alta(numserie=numserie))
    with pytest.raises(ValueError, match="NumSerieFacturaAnulada"):
        build_anulacion(
            AnulacionData(
                nif="89890001K",
                numserie=numserie,
                fecha_expedicion="01-01-2025",
                sistema=SISTEMA,
                fecha_hora_huso="2025-01-02T10:00:00+01:00",
            )
        )


def test_missing_descripcion_operacion_is_reported():
    built = build_alta(alta())
    fragment = re.sub(r"<DescripcionOperacion>.*?</DescripcionOperacion>", "", built.xml)
    errors = validate_record(fragment)
    assert errors
    assert any("DescripcionOperacion" in e for e in errors)


def test_thirteen_breakdown_lines_are_reported():
    built = build_alta(alta(lines=(LINE_21,) * 13))
    errors = validate_record(built)
    assert errors
    assert any("DetalleDesglose" in e for e in errors)
    assert (
        build_alta(alta(lines=(LINE_21,) * 12))
        and validate_record(build_alta(alta(lines=(LINE_21,) * 12))) == []
    )


def test_bad_literals_are_reported_by_element():
    errors = validate_record(build_alta(alta(importe_total="176.000")))
    assert any("ImporteTotal" in e for e in errors)
    errors = validate_record(build_alta(alta(fecha_expedicion="2025-01-15")))
    assert any("FechaExpedicionFactura" in e for e in errors)


def test_not_well_formed_is_reported():
    assert validate_envelope(b"<oops>")[0].startswith("XML not well-formed")


def test_all_optional_alta_fields_follow_the_xsd_order():
    data = alta(
        tipo_factura="R1",
        subsanacion="S",
        rechazo_previo="X",
        tipo_rectificativa="S",
        facturas_rectificadas=(
            InvoiceId("89890001K", "2024-A/9", "10-12-2024"),
            InvoiceId("89890001K", "2024-A/10", "11-12-2024"),
        ),
        importe_rectificacion=ImporteRectificacion("100.00", "21.00", "5.20"),
        fecha_operacion="14-01-2025",
        simplificada_art7273="N",
        sin_identif_destinatario_art61d="N",
        macrodato="N",
        emitida_por_tercero_o_destinatario="T",
        tercero=Recipient("Tercero SL", id_otro=IDOtro(id_type="07", id="X123")),
        cupon="N",
        lines=(
            BreakdownLine(
                impuesto="01",
                clave_regimen="18",
                calificacion="S1",
                tipo_impositivo="21.00",
                base="100.00",
                cuota="21.00",
                tipo_recargo="5.20",
                cuota_recargo="5.20",
            ),
            BreakdownLine(impuesto="01", clave_regimen="01", exenta="E1", base="10.00"),
            BreakdownLine(
                clave_regimen="06",
                calificacion="S1",
                tipo_impositivo="21.00",
                base="10.00",
                base_a_coste="8.00",
                cuota="2.10",
            ),
        ),
        previous=PreviousRecord("89890001K", "2025-A/0000", "14-01-2025", H1),
    )
    assert validate_record(build_alta(data)) == []
    sustitutiva = alta(
        tipo_factura="F3", facturas_sustituidas=(InvoiceId("89890001K", "T-1", "10-01-2025"),)
    )
    assert validate_record(build_alta(sustitutiva)) == []


def test_sistema_informatico_with_id_otro_validates():
    sistema = SistemaInformatico(
        nombre_razon="Foreign Dev",
        nombre_sistema="Factu",
        id_sistema="FC",
        version="1",
        numero_instalacion="1",
        id_otro=IDOtro(id_type="04", id="ABC", country="FR"),
    )
    assert validate_record(build_alta(alta(sistema=sistema))) == []


def test_dataclass_invariants():
    with pytest.raises(ValueError):
        Recipient("X")
    with pytest.raises(ValueError):
        Recipient("X", nif="A39200019", id_otro=IDOtro(id_type="02", id="1"))
    with pytest.raises(ValueError):
        IDOtro(id_type="01", id="1")
    with pytest.raises(ValueError):
        BreakdownLine(base="1.00")
    with pytest.raises(ValueError):
        BreakdownLine(base="1.00", calificacion="S1", exenta="E1")


def test_envelope_of_1000_records_validates():
    previous = None
    records = []
    for i in range(1000):
        built = build_alta(alta(numserie=f"2025-A/{i:04d}", previous=previous))
        previous = PreviousRecord("89890001K", f"2025-A/{i:04d}", "15-01-2025", built.huella)
        records.append(built)
    envelope = build_envelope(OBLIGADO, records)
    assert validate_envelope(envelope) == []
    root = etree.fromstring(envelope)
    assert root.tag == f"{{{NS_LR}}}RegFactuSistemaFacturacion"
    assert root.findtext("sfLR:Cabecera/sf:ObligadoEmision/sf:NIF", namespaces=NS) == ("89890001K")
    alta_elements = root.findall("sfLR:RegistroFactura/sf:RegistroAlta", NS)
    assert len(alta_elements) == 1000
    # Each record read back from the envelope recomputes and chains to the previous one.
    prev_huella = ""
    for element in alta_elements:
        parsed = parse_record(element)
        assert parsed["fields"]["Huella"] == prev_huella
        assert recompute_huella(parsed) == parsed["huella"]
        prev_huella = parsed["huella"]


def test_envelope_with_mixed_records_and_header_options():
    first = build_alta(vector1())
    cancel = build_anulacion(
        AnulacionData(
            nif="89890001K",
            numserie="12345678/G33",
            fecha_expedicion="01-01-2024",
            sistema=SISTEMA,
            fecha_hora_huso="2024-01-01T19:21:00+01:00",
            previous=PreviousRecord("89890001K", "12345678/G33", "01-01-2024", first.huella),
        )
    )
    envelope = build_envelope(
        OBLIGADO,
        [first, cancel.xml],
        representante=Obligado("Gestoría", "B12345674"),
        fecha_fin_verifactu="31-12-2025",
        incidencia="N",
    )
    assert validate_envelope(envelope) == []


def test_envelope_error_names_the_record():
    records = [build_alta(alta(numserie=f"N{i}")) for i in range(3)]
    records[1] = build_alta(alta(numserie="N1", tipo_factura="F9"))
    errors = validate_envelope(build_envelope(OBLIGADO, records))
    assert len(errors) == 1
    assert "TipoFactura" in errors[0]
    assert "RegistroFactura[2]" in errors[0]


def test_envelope_size_limits():
    built = build_alta(alta())
    with pytest.raises(ValueError):
        build_envelope(OBLIGADO, [])
    with pytest.raises(ValueError):
        build_envelope(OBLIGADO, [built] * 1001)


def test_schema_loads_without_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    schema = load_schema("SuministroLR.xsd")
    doc = etree.fromstring(build_envelope(OBLIGADO, [build_alta(alta())]))
    assert schema.validate(doc)


def test_the_record_datas_quick_init_takes_what_dataclass_takes_and_stays_frozen():
    """``xmlkit.quick_init`` replaces only the ``__init__``: the same defaults, keyword-only
    parameters refused positionally, unknown or missing ones refused, ``__post_init__``
    still run, instances still frozen, equal and hashable as dataclass made them."""
    import dataclasses

    from verifactu.xml import BreakdownLine, BuiltRecord, Recipient

    line = BreakdownLine(base="100.00", calificacion="S1", cuota="21.00")
    assert (line.impuesto, line.exenta, line.cuota) == (None, None, "21.00")
    assert line == BreakdownLine(base="100.00", calificacion="S1", cuota="21.00")
    assert hash(line) == hash(BreakdownLine(base="100.00", calificacion="S1", cuota="21.00"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.base = "1.00"
    with pytest.raises(TypeError):
        BreakdownLine("100.00", calificacion="S1")
    with pytest.raises(TypeError):
        BreakdownLine(calificacion="S1")
    with pytest.raises(TypeError):
        BreakdownLine(base="1.00", calificacion="S1", unknown="x")
    with pytest.raises(ValueError, match="exactly one of calificacion"):
        BreakdownLine(base="1.00")
    with pytest.raises(ValueError, match="exactly one of nif"):
        Recipient("Cliente SL")
    built = BuiltRecord("<x/>", "ABC", "RegistroAlta")
    assert dataclasses.astuple(built) == ("<x/>", "ABC", "RegistroAlta")
    assert dataclasses.replace(built, huella="DEF").huella == "DEF"
