"""The NO VERI*FACTU event log: RegistroEvento XML, its chain, signing and anomaly checks."""

from __future__ import annotations

import hashlib

import pytest
from lxml import etree

from tests.test_signing import Pki
from verifactu import events, signing
from verifactu import xml as vxml
from verifactu.models import BillingRecord, EventRecord, ImmutableRecordError, RecordSignature

# SPEC §1.2, derived event vector (field order of SPEC §1.1).
VECTOR_STRING = (
    "NIF=89890001K&ID=&IdSistemaInformatico=77&Version=1.0&NumeroInstalacion=383"
    "&NIF=89890002E&TipoEvento=01&HuellaEvento=&FechaHoraHusoGenEvento=2024-01-01T19:20:30+01:00"
)
VECTOR_HUELLA = "C12D61CB5FB075971821ACE48EF5EF0783C6181AF7699BEC140994F496BCD53E"

SISTEMA = vxml.SistemaInformatico(
    nombre_razon="Productor SL",
    nif="89890001K",
    nombre_sistema="Factu",
    id_sistema="77",
    version="1.0",
    numero_instalacion="383",
)
OBLIGADO = vxml.Obligado("Obligado SL", "89890002E")


def first_event() -> events.BuiltEvent:
    return events.build_evento(
        events.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="01",
            fecha_hora_huso="2024-01-01T19:20:30+01:00",
        )
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


# --------------------------------------------------------------------------- pure XML


def test_event_vector_of_spec_1_2():
    assert hashlib.sha256(VECTOR_STRING.encode()).hexdigest().upper() == VECTOR_HUELLA
    built = first_event()
    assert built.huella == VECTOR_HUELLA
    assert events.validate_evento(built.xml) == []
    parsed = events.parse_evento(built.xml)
    assert parsed["first"] and parsed["previous"] is None
    assert events.recompute_huella_evento(parsed) == parsed["huella"] == VECTOR_HUELLA
    assert "<PrimerEvento>S</PrimerEvento>" in built.xml


def test_second_event_chains_to_the_first_and_recomputes():
    first = first_event()
    second = events.build_evento(
        events.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="03",
            fecha_hora_huso="2024-01-01T19:25:00+01:00",
            previous=events.PreviousEvent("01", "2024-01-01T19:20:30+01:00", first.huella),
            datos_propios=events.lanzamiento_deteccion(
                "RegFacturacion", huellas=3, firmas=3, cadena=3, fechas=3
            ),
        )
    )
    expected = (
        hashlib.sha256(
            (
                "NIF=89890001K&ID=&IdSistemaInformatico=77&Version=1.0&NumeroInstalacion=383"
                f"&NIF=89890002E&TipoEvento=03&HuellaEvento={first.huella}"
                "&FechaHoraHusoGenEvento=2024-01-01T19:25:00+01:00"
            ).encode()
        )
        .hexdigest()
        .upper()
    )
    assert second.huella == expected
    assert events.validate_evento(second.xml) == []
    parsed = events.parse_evento(second.xml)
    assert parsed["previous"] == events.PreviousEvent(
        "01", "2024-01-01T19:20:30+01:00", first.huella
    )
    assert events.recompute_huella_evento(parsed) == expected


@pytest.mark.parametrize(
    "datos",
    [
        events.lanzamiento_deteccion("RegEvento", huellas=1, firmas=1, cadena=1, fechas=1),
        events.deteccion_facturacion(
            "02", "firma <no> válida", vxml.InvoiceId("89890002E", "A&B/1", "01-01-2024")
        ),
        events.deteccion_evento(
            "01", None, events.PreviousEvent("01", "2024-01-01T19:20:30+01:00", VECTOR_HUELLA)
        ),
    ],
)
def test_datos_propios_validate(datos):
    built = events.build_evento(
        events.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="90",
            fecha_hora_huso="2024-01-01T19:20:30+01:00",
            datos_propios=datos,
        )
    )
    assert events.validate_evento(built.xml) == []


def test_schema_catches_bad_events():
    with pytest.raises(ValueError):
        events.build_evento(
            events.EventoData(
                sistema=SISTEMA,
                obligado=OBLIGADO,
                tipo_evento="11",
                fecha_hora_huso="2024-01-01T19:20:30+01:00",
            )
        )
    xml = first_event().xml
    assert events.validate_evento(xml, signed=True) == ["RegistroEvento: ds:Signature is missing"]
    bad = xml.replace("<NIF>89890002E</NIF>", "<NIF>8989</NIF>")
    assert any("NIF" in p for p in events.validate_evento(bad))


def test_signed_event_has_signature_last_in_evento_and_verifies(pki):
    built = first_event()
    signed = signing.sign_record_xml(built.xml, pki.identity)
    root = etree.fromstring(signed.encode())
    evento = root.find("ev:Evento", events._NSMAP)
    assert evento[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    assert events.validate_evento(signed) == []
    assert events.parse_evento(signed)["huella"] == VECTOR_HUELLA
    assert events.recompute_huella_evento(events.parse_evento(signed)) == VECTOR_HUELLA
    result = signing.verify_record_signature(signed, pki.ca_pem)
    assert etree.QName(result.signed_xml).localname == "RegistroEvento"
    with pytest.raises(signing.SignatureProblem):
        signing.verify_record_signature(signed.replace("383<", "384<"), pki.ca_pem)


# --------------------------------------------------------------------------- database


@pytest.fixture
def chain(register, account, taxpayer, computer_system):
    """A NO VERI*FACTU chain: started with event 01, then two invoices registered."""
    from django.db import transaction

    from verifactu.records import lock_chain

    with transaction.atomic():
        c = lock_chain(account, taxpayer.nif, taxpayer.name, computer_system)
    events.log_event(c, "01")
    register()
    register(invoice_number="F-2026-043")
    c.refresh_from_db()
    return c


@pytest.fixture
def stored_certificate(settings, account, taxpayer, pki):
    from verifactu.certificates import store_certificate

    return store_certificate(account, pki.p12("clave"), "clave", taxpayer=taxpayer)


def test_log_event_chains_and_is_immutable(chain):
    second = events.log_event(chain, "90", otros_datos="prueba")
    first = EventRecord.objects.get(chain=chain, position=1)
    assert (second.position, second.previous_id, second.previous_huella) == (
        2,
        first.pk,
        first.huella,
    )
    assert f"<HuellaEvento>{first.huella}</HuellaEvento>" in second.xml
    assert events.no_verifactu_active(chain)
    with pytest.raises(ImmutableRecordError):
        second.save()
    with pytest.raises(ImmutableRecordError):
        second.delete()
    count, anomalies = events.check_events(chain)
    assert (count, anomalies) == (2, [])


def test_sign_pending_signs_records_and_events_with_the_taxpayers_certificate(
    chain, stored_certificate, pki
):
    assert events.sign_pending(chain) == 3  # 2 billing records + event 01
    assert events.sign_pending(chain) == 0
    for signature in RecordSignature.objects.all():
        item = signature.record or signature.event
        signing.verify_record_signature(signature.signed_xml, pki.ca_pem)
        assert signing.signed_content(signature.signed_xml) == etree.tostring(
            etree.fromstring(item.xml.encode()), method="c14n"
        )
        assert "ESTUDIO SOL SL" in signature.certificate_subject
        with pytest.raises(ImmutableRecordError):
            signature.save()
    record = BillingRecord.objects.get(chain=chain, position=2)
    assert vxml.validate_record(record.signature.signed_xml) == []
    assert vxml.parse_record(record.signature.signed_xml)["huella"] == record.huella
    assert events.validate_evento(EventRecord.objects.get(chain=chain).signature.signed_xml) == []


def test_verifactu_chains_are_not_signed(register, stored_certificate):
    record = register().record
    assert events.sign_pending(record.chain) == 0
    assert not RecordSignature.objects.exists()


def test_anomaly_check_on_a_clean_chain_logs_only_the_runs(chain, stored_certificate, pki):
    events.sign_pending(chain)
    assert events.run_anomaly_check(chain, ca_pem=pki.ca_pem) == []
    tipos = list(EventRecord.objects.filter(chain=chain).values_list("tipo_evento", flat=True))
    assert tipos == ["01", "03", "05"]
    run = EventRecord.objects.get(chain=chain, tipo_evento="03")
    assert "<NumeroDeRegistrosFacturacionProcesadosSobreIntegridadFirmas>2<" in run.xml


def test_one_tampered_character_is_detected_and_logged(chain, stored_certificate, pki):
    events.sign_pending(chain)
    record = BillingRecord.objects.get(chain=chain, position=1)
    signed = record.signature.signed_xml
    assert signed.count("<ImporteTotal>825.00</ImporteTotal>") == 1
    # An attacker edits the stored signed copy directly, bypassing the model's guard.
    RecordSignature.objects.filter(pk=record.signature.pk).update(
        signed_xml=signed.replace("<ImporteTotal>825.00<", "<ImporteTotal>825.01<")
    )
    anomalies = events.run_anomaly_check(chain, ca_pem=pki.ca_pem)
    assert [(a.tipo_evento, a.tipo_anomalia, a.record) for a in anomalies] == [("04", "02", record)]
    logged = EventRecord.objects.get(chain=chain, tipo_evento="04")
    assert "<TipoAnomalia>02</TipoAnomalia>" in logged.xml
    assert f"<NumSerieFactura>{record.invoice_number}</NumSerieFactura>" in logged.xml
    assert events.validate_evento(logged.xml) == []
    # Without a CA the independent digest check alone detects it too; nothing new is logged.
    assert len(events.run_anomaly_check(chain)) == 1
    assert EventRecord.objects.filter(chain=chain, tipo_evento="04").count() == 1
    # The event chain itself still recomputes, and the new events get signed.
    events.sign_pending(chain)
    count, event_anomalies = events.check_events(chain, pki.ca_pem)
    assert count == 6 and event_anomalies == []


def test_tampered_event_signature_is_logged_as_06(chain, stored_certificate, pki):
    events.sign_pending(chain)
    event = EventRecord.objects.get(chain=chain, position=1)
    signed = event.signature.signed_xml
    RecordSignature.objects.filter(pk=event.signature.pk).update(
        signed_xml=signed.replace("<TipoEvento>01<", "<TipoEvento>02<", 1)
    )
    anomalies = events.run_anomaly_check(chain, ca_pem=pki.ca_pem)
    assert [(a.tipo_evento, a.tipo_anomalia) for a in anomalies] == [("06", "02")]
    logged = EventRecord.objects.get(chain=chain, tipo_evento="06")
    assert "<RegEventoAnomalo><TipoEvento>01</TipoEvento>" in logged.xml


def test_broken_event_chain_is_detected(chain):
    events.log_event(chain, "90")
    # Rewrite event 2 behind the model's back: its HuellaEvento no longer recomputes.
    event = EventRecord.objects.get(chain=chain, position=2)
    EventRecord.objects.filter(pk=event.pk).update(
        xml=event.xml.replace("<TipoEvento>90<", "<TipoEvento>07<")
    )
    _, anomalies = events.check_events(chain)
    assert [(a.tipo_anomalia, a.record.pk) for a in anomalies] == [("01", event.pk)]


def test_celery_tasks_sign_and_check(chain, stored_certificate):
    from verifactu import tasks

    assert tasks.sign_pending() == 3
    assert tasks.anomaly_check() == 0
    assert not EventRecord.objects.filter(signature__isnull=True).exists()
    assert not BillingRecord.objects.filter(signature__isnull=True).exists()
