"""The NO VERI*FACTU event log: RegistroEvento XML, its chain, signing and anomaly checks."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from lxml import etree

from verifactu import envelopes, event_log, event_xml, events, signing
from verifactu import xml as vxml
from verifactu.anomalies import run_anomaly_check
from verifactu.models import (
    BillingRecord,
    Chain,
    EventRecord,
    ImmutableRecordError,
    RecordSignature,
)
from verifactu.verification import verify

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


def first_event() -> event_xml.BuiltEvent:
    return event_xml.build_evento(
        event_xml.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="01",
            fecha_hora_huso="2024-01-01T19:20:30+01:00",
        )
    )


# --------------------------------------------------------------------------- pure XML


def test_event_vector_of_spec_1_2():
    assert hashlib.sha256(VECTOR_STRING.encode()).hexdigest().upper() == VECTOR_HUELLA
    built = first_event()
    assert built.huella == VECTOR_HUELLA
    assert event_xml.validate_evento(built.xml) == []
    parsed = event_xml.parse_evento(built.xml)
    assert parsed["first"] and parsed["previous"] is None
    assert event_xml.recompute_huella_evento(parsed) == parsed["huella"] == VECTOR_HUELLA
    assert "<PrimerEvento>S</PrimerEvento>" in built.xml


def test_second_event_chains_to_the_first_and_recomputes():
    first = first_event()
    second = event_xml.build_evento(
        event_xml.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="03",
            fecha_hora_huso="2024-01-01T19:25:00+01:00",
            previous=event_xml.PreviousEvent("01", "2024-01-01T19:20:30+01:00", first.huella),
            datos_propios=event_xml.lanzamiento_deteccion(
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
    assert event_xml.validate_evento(second.xml) == []
    parsed = event_xml.parse_evento(second.xml)
    assert parsed["previous"] == event_xml.PreviousEvent(
        "01", "2024-01-01T19:20:30+01:00", first.huella
    )
    assert event_xml.recompute_huella_evento(parsed) == expected


@pytest.mark.parametrize(
    "datos",
    [
        event_xml.lanzamiento_deteccion("RegEvento", huellas=1, firmas=1, cadena=1, fechas=1),
        event_xml.deteccion_facturacion(
            "02", "firma <no> válida", vxml.InvoiceId("89890002E", "A&B/1", "01-01-2024")
        ),
        event_xml.deteccion_evento(
            "01", None, event_xml.PreviousEvent("01", "2024-01-01T19:20:30+01:00", VECTOR_HUELLA)
        ),
    ],
)
def test_datos_propios_validate(datos):
    built = event_xml.build_evento(
        event_xml.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento="90",
            fecha_hora_huso="2024-01-01T19:20:30+01:00",
            datos_propios=datos,
        )
    )
    assert event_xml.validate_evento(built.xml) == []


def test_schema_catches_bad_events():
    with pytest.raises(ValueError):
        event_xml.build_evento(
            event_xml.EventoData(
                sistema=SISTEMA,
                obligado=OBLIGADO,
                tipo_evento="11",
                fecha_hora_huso="2024-01-01T19:20:30+01:00",
            )
        )
    xml = first_event().xml
    assert event_xml.validate_evento(xml, signed=True) == [
        "RegistroEvento: ds:Signature is missing"
    ]
    bad = xml.replace("<NIF>89890002E</NIF>", "<NIF>8989</NIF>")
    assert any("NIF" in p for p in event_xml.validate_evento(bad))


def test_signed_event_has_signature_last_in_evento_and_verifies(pki):
    built = first_event()
    signed = signing.sign_record_xml(built.xml, pki.identity)
    root = etree.fromstring(signed.encode())
    evento = root.find("ev:Evento", event_xml.NSMAP)
    assert evento[-1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"
    assert event_xml.validate_evento(signed) == []
    assert event_xml.parse_evento(signed)["huella"] == VECTOR_HUELLA
    assert event_xml.recompute_huella_evento(event_xml.parse_evento(signed)) == VECTOR_HUELLA
    result = signing.verify_record_signature(signed, pki.ca_pem)
    assert etree.QName(result.signed_xml).localname == "RegistroEvento"
    with pytest.raises(signing.SignatureProblem):
        signing.verify_record_signature(signed.replace("383<", "384<"), pki.ca_pem)


# --------------------------------------------------------------------------- database


@pytest.fixture
def chain(register, account, taxpayer, computer_system, signing_certificate):
    """A NO VERI*FACTU chain: started with event 01, then two invoices registered."""
    from django.db import transaction

    from verifactu import modes
    from verifactu.chains import lock_chain

    with transaction.atomic():
        c = lock_chain(account, taxpayer.nif, taxpayer.name, computer_system)
    modes.change_mode(taxpayer, modes.NO_VERIFACTU)  # logs the 01 on the chain
    register()
    register(invoice_number="F-2026-043")
    c.refresh_from_db()
    return c


def test_log_event_chains_and_is_immutable(chain):
    second = event_log.log_event(chain, "90", otros_datos="prueba")
    first = EventRecord.objects.get(chain=chain, position=1)
    assert (second.position, second.previous_id, second.previous_huella) == (
        2,
        first.pk,
        first.huella,
    )
    assert f"<HuellaEvento>{first.huella}</HuellaEvento>" in second.xml
    assert event_log.no_verifactu_active(chain)
    with pytest.raises(ImmutableRecordError):
        second.save()
    with pytest.raises(ImmutableRecordError):
        second.delete()
    result = verify(chain)
    assert (result.events, result.event_findings) == (2, [])


def test_an_event_logged_with_an_earlier_clock_takes_its_head_events_time(chain):
    """A clock stepped back does not date an event before its predecessor (a false
    TipoAnomalia 11): the records' rule, :func:`verifactu.chains.generation_time`."""
    head = event_log.log_event(chain, "90")
    earlier = timezone.now() - timedelta(hours=1)
    event = event_log.log_event(chain, "90", now=earlier)
    assert event.generated_at_text == head.generated_at_text
    assert f"<FechaHoraHusoGenEvento>{head.generated_at_text}<" in event.xml
    assert verify(chain).ok


def test_records_and_events_are_signed_at_birth_with_the_taxpayers_certificate(
    chain, signing_certificate, pki
):
    assert RecordSignature.objects.count() == 3  # 2 billing records + event 01
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
    assert envelopes.validate_record(record.signature.signed_xml) == []
    assert vxml.parse_record(record.signature.signed_xml)["huella"] == record.huella
    assert (
        event_xml.validate_evento(EventRecord.objects.get(chain=chain).signature.signed_xml) == []
    )


def test_without_proof_of_representation_no_event_is_logged(
    account, taxpayer, computer_system, pki, settings
):
    """Signing asks the rule that decides sending: a representative certificate with no
    representation recorded for the taxpayer does not sign in its name, and an event that
    cannot be signed is not logged."""
    from django.db import transaction

    from verifactu.certificates import store_certificate
    from verifactu.chains import lock_chain
    from verifactu.signatures import SigningUnavailable

    settings.VERIFACTU_SANDBOX = False
    store_certificate(  # the account's representative certificate, chosen for nobody
        account, pki.p12("clave"), "clave", representative_nif="B87654323"
    )
    with transaction.atomic():
        c = lock_chain(account, taxpayer.nif, taxpayer.name, computer_system)
    with pytest.raises(SigningUnavailable, match="No hay ningún certificado"):
        event_log.log_event(c, "01")
    assert not EventRecord.objects.exists() and not RecordSignature.objects.exists()


def test_verifactu_chains_are_not_signed(register, signing_certificate):
    register()
    assert not RecordSignature.objects.exists()


def test_anomaly_check_on_a_clean_chain_logs_only_the_runs(chain, signing_certificate, pki):
    assert run_anomaly_check(chain) == []
    tipos = list(EventRecord.objects.filter(chain=chain).values_list("tipo_evento", flat=True))
    assert tipos == ["01", "03", "05"]
    run = EventRecord.objects.get(chain=chain, tipo_evento="03")
    assert "<NumeroDeRegistrosFacturacionProcesadosSobreIntegridadFirmas>2<" in run.xml


def test_one_tampered_character_is_detected_and_logged(chain, signing_certificate, pki, tamper):
    record = BillingRecord.objects.get(chain=chain, position=1)
    signed = record.signature.signed_xml
    assert signed.count("<ImporteTotal>825.00</ImporteTotal>") == 1
    # An attacker edits the stored signed copy directly, bypassing the model's guard.
    RecordSignature.objects.filter(pk=record.signature.pk).update(
        signed_xml=signed.replace("<ImporteTotal>825.00<", "<ImporteTotal>825.01<")
    )
    anomalies = run_anomaly_check(chain)
    assert [(a.tipo_evento, a.tipo_anomalia, a.record) for a in anomalies] == [("04", "02", record)]
    logged = EventRecord.objects.get(chain=chain, tipo_evento="04")
    assert "<TipoAnomalia>02</TipoAnomalia>" in logged.xml
    assert f"<NumSerieFactura>{record.invoice_number}</NumSerieFactura>" in logged.xml
    assert event_xml.validate_evento(logged.xml) == []
    # A second run finds it again and logs nothing new.
    assert len(run_anomaly_check(chain)) == 1
    assert EventRecord.objects.filter(chain=chain, tipo_evento="04").count() == 1
    # The event chain itself still recomputes, and the new events were signed at birth.
    result = verify(chain)
    assert result.events == 6 and result.event_findings == []


def test_tampered_event_signature_is_logged_as_06(chain, signing_certificate, pki, tamper):
    event = EventRecord.objects.get(chain=chain, position=1)
    signed = event.signature.signed_xml
    RecordSignature.objects.filter(pk=event.signature.pk).update(
        signed_xml=signed.replace("<TipoEvento>01<", "<TipoEvento>02<", 1)
    )
    anomalies = run_anomaly_check(chain)
    assert [(a.tipo_evento, a.tipo_anomalia) for a in anomalies] == [("06", "02")]
    logged = EventRecord.objects.get(chain=chain, tipo_evento="06")
    assert "<RegEventoAnomalo><TipoEvento>01</TipoEvento>" in logged.xml


def test_broken_event_chain_is_detected(chain, tamper):
    event_log.log_event(chain, "90")
    # Rewrite event 2 behind the model's back: its HuellaEvento no longer recomputes.
    event = EventRecord.objects.get(chain=chain, position=2)
    EventRecord.objects.filter(pk=event.pk).update(
        xml=event.xml.replace("<TipoEvento>90<", "<TipoEvento>07<")
    )
    anomalies = verify(chain).event_findings
    # Its huella no longer recomputes, and its signed copy (made at birth) no longer matches.
    assert [(a.tipo_anomalia, a.record.pk) for a in anomalies] == [
        ("01", event.pk),
        ("02", event.pk),
    ]


def test_the_celery_task_checks_and_nothing_signs_later(chain, signing_certificate, settings):
    from verifactu import tasks

    assert not hasattr(tasks, "sign_pending")
    assert "verifactu.sign_pending" not in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert tasks.anomaly_check() == 0
    assert not EventRecord.objects.filter(signature__isnull=True).exists()
    assert not BillingRecord.objects.filter(signature__isnull=True).exists()


# --------------------------------------------------------------------------- the database guard


def test_the_database_refuses_to_change_an_event(chain):
    from django.db import DatabaseError, transaction

    event = EventRecord.objects.get(chain=chain, position=1)
    for column, value in [
        ("huella", "0" * 64),
        ("previous_huella", "A" * 64),
        ("tipo_evento", "02"),
        ("generated_at_text", "2020-01-01T00:00:00+01:00"),
        ("xml", event.xml.replace("<TipoEvento>01<", "<TipoEvento>02<")),
    ]:
        # QuerySet.update skips the model's guard: only the trigger stands in the way.
        with pytest.raises(DatabaseError), transaction.atomic():
            EventRecord.objects.filter(pk=event.pk).update(**{column: value})
    stored = EventRecord.objects.get(pk=event.pk)
    assert (stored.huella, stored.xml) == (event.huella, event.xml)


def test_the_database_refuses_to_change_a_signature(chain, signing_certificate):
    from django.db import DatabaseError, transaction

    signature = RecordSignature.objects.get(event__isnull=False)
    other = RecordSignature.objects.filter(record__isnull=False).first()
    for column, value in [
        ("signed_xml", signature.signed_xml.replace("<TipoEvento>01<", "<TipoEvento>02<")),
        ("certificate_subject", "CN=Otro"),
        ("event_id", None),
        ("record_id", other.record_id),
        ("signer_id", None),
    ]:
        with pytest.raises(DatabaseError), transaction.atomic():
            RecordSignature.objects.filter(pk=signature.pk).update(**{column: value})
    assert RecordSignature.objects.get(pk=signature.pk).signed_xml == signature.signed_xml


@pytest.mark.postgres
def test_postgres_refuses_to_delete_events_and_signatures(chain, signing_certificate):
    from django.db import DatabaseError, connection, transaction

    last = event_log.log_event(chain, "90")  # no successor: only the trigger objects
    signature = RecordSignature.objects.get(event=last)
    statements = (
        ("DELETE FROM verifactu_eventrecord WHERE id = %s", last.pk),
        ("DELETE FROM verifactu_recordsignature WHERE id = %s", signature.pk),
    )
    for sql, pk in statements:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [pk])
    assert EventRecord.objects.filter(pk=last.pk).exists()
    assert RecordSignature.objects.filter(pk=signature.pk).exists()


# --------------------------------------------------------------------------- 07, 08, 09, 10: XML

LINK = event_xml.RecordLink("89890002E", "A&B/1", "01-01-2024", VECTOR_HUELLA)
EVENT = event_xml.PreviousEvent("01", "2024-01-01T19:20:30+01:00", VECTOR_HUELLA)


@pytest.mark.parametrize(
    ("tipo", "datos"),
    [
        (
            "08",
            event_xml.exportacion_facturacion(
                inicio="2024-01-01T00:00:00+01:00",
                fin="2024-03-31T23:59:59+02:00",
                primero=LINK,
                ultimo=LINK,
                altas=3,
                suma_cuota=Decimal("-12.5"),
                suma_importe=Decimal("123456789012.34"),
                anulaciones=0,
            ),
        ),
        (
            "09",
            event_xml.exportacion_evento(
                inicio="2024-01-01T00:00:00+01:00",
                fin="2024-01-02T00:00:00+01:00",
                primero=EVENT,
                ultimo=EVENT,
                exportados=10**8,  # capped at the seven digits of the XSD
            ),
        ),
        (
            "10",
            event_xml.resumen_eventos(
                {"01": 1, "03": 4},
                altas=0,
                suma_cuota=Decimal(0),
                suma_importe=Decimal(0),
                anulaciones=0,
            ),
        ),
        (
            "10",
            event_xml.resumen_eventos(
                {},
                altas=2,
                suma_cuota=Decimal(1),
                suma_importe=Decimal(2),
                anulaciones=1,
                primero=LINK,
                ultimo=LINK,
            ),
        ),
    ],
)
def test_export_and_summary_events_validate(tipo, datos):
    built = event_xml.build_evento(
        event_xml.EventoData(
            sistema=SISTEMA,
            obligado=OBLIGADO,
            tipo_evento=tipo,
            fecha_hora_huso="2024-01-01T19:20:30+01:00",
            datos_propios=datos,
        )
    )
    assert event_xml.validate_evento(built.xml) == []


def test_summary_lists_every_event_type_and_refuses_unknown_ones():
    datos = event_xml.resumen_eventos(
        {"03": 2}, altas=0, suma_cuota=Decimal(0), suma_importe=Decimal(0), anulaciones=0
    )
    blocks = etree.fromstring(datos).findall("TipoEvento")
    counts = {b.findtext("TipoEvento"): b.findtext("NumeroDeEventos") for b in blocks}
    assert counts == {t: ("2" if t == "03" else "0") for t in sorted(event_xml.TIPOS_EVENTO)}
    with pytest.raises(ValueError):
        event_xml.resumen_eventos(
            {"11": 1}, altas=0, suma_cuota=Decimal(0), suma_importe=Decimal(0), anulaciones=0
        )


# --------------------------------------------------------------------------- 07, 08, 09, 10: log


@pytest.fixture
def kept(taxpayer, register, signing_certificate):
    """A NO VERI*FACTU taxpayer's chain: event 01, two altas, the cancellation of the second."""
    from factu.models import Taxpayer
    from verifactu import corrections, modes

    modes.change_mode(taxpayer, Taxpayer.VerifactuMode.NO_VERIFACTU)
    register()
    second = register(invoice_number="F-2026-043")
    corrections.cancel(second.invoice)
    return Chain.objects.get(pk=second.record.chain_id)


def tipos(chain) -> list[str]:
    return list(
        EventRecord.objects.filter(chain=chain)
        .order_by("position")
        .values_list("tipo_evento", flat=True)
    )


def text(event: EventRecord, path: str) -> str | None:
    root = etree.fromstring(event.xml.encode())
    return root.findtext(
        "ev:Evento/ev:DatosPropiosEvento/" + "/".join(f"ev:{p}" for p in path.split("/")),
        namespaces=event_xml.NSMAP,
    )


def test_backup_restored_logs_07_on_no_verifactu_chains_only(kept, account, computer_system):
    from django.db import transaction

    from verifactu.chains import lock_chain

    event = events.log_backup_restored(kept, note=" Copia del 21-11-2026 ")
    assert tipos(kept) == ["01", "07"]
    assert "<OtrosDatosEvento>Copia del 21-11-2026</OtrosDatosEvento>" in event.xml
    assert event_xml.validate_evento(event.xml) == []
    with transaction.atomic():
        verifactu_chain = lock_chain(account, "A28045631", "Otra SA", computer_system)
    assert events.log_backup_restored(verifactu_chain) is None
    assert tipos(verifactu_chain) == []


def test_backup_restored_command(kept, taxpayer):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("verifactu_backup_restored", "--note", "copia de anoche", stdout=out)
    assert "1 event 07 logged" in out.getvalue()
    assert tipos(kept) == ["01", "07"]
    call_command("verifactu_backup_restored", "--taxpayer", taxpayer.nif, stdout=StringIO())
    assert tipos(kept) == ["01", "07", "07"]
    with pytest.raises(CommandError, match="No chain runs NO VERI"):
        call_command("verifactu_backup_restored", "--taxpayer", "A28045631")
    with pytest.raises(CommandError, match="100"):
        call_command("verifactu_backup_restored", "--note", "x" * 101)


def test_backup_restored_command_without_any_no_verifactu_chain(register):
    from django.core.management import CommandError, call_command

    register()
    with pytest.raises(CommandError, match="No chain runs NO VERI"):
        call_command("verifactu_backup_restored")
    assert not EventRecord.objects.exists()


def test_an_export_of_billing_records_logs_08_with_its_totals(kept):
    records = BillingRecord.objects.filter(chain=kept).order_by("position")
    first, last = records.first(), records.last()
    [event] = events.log_export(records, period=(date(2026, 3, 1), date(2026, 3, 31)))
    assert (event.tipo_evento, tipos(kept)) == ("08", ["01", "08"])
    assert event_xml.validate_evento(event.xml) == []
    block = "ExportacionRegFacturacionPeriodo/"
    # Madrid time: winter at the start of March, summer (DST since the 29th) at its end.
    assert text(event, block + "FechaHoraHusoInicioPeriodoExport") == "2026-03-01T00:00:00+01:00"
    assert text(event, block + "FechaHoraHusoFinPeriodoExport") == "2026-03-31T23:59:59+02:00"
    assert text(event, block + "RegistroFacturacionInicialPeriodo/Huella") == first.huella
    assert text(event, block + "RegistroFacturacionInicialPeriodo/NumSerieFactura") == "F-2026-042"
    assert text(event, block + "RegistroFacturacionFinalPeriodo/Huella") == last.huella
    assert text(event, block + "NumeroDeRegistrosFacturacionAltaExportados") == "2"
    assert text(event, block + "SumaCuotaTotalAlta") == "250.00"
    assert text(event, block + "SumaImporteTotalAlta") == "1650.00"
    assert text(event, block + "NumeroDeRegistrosFacturacionAnulacionExportados") == "1"
    assert text(event, block + "RegistrosFacturacionExportadosDejanDeConservarse") == "N"
    # Without a period, the generation times of the first and last record exported.
    [again] = events.log_export([last, first, first])
    assert text(again, block + "FechaHoraHusoInicioPeriodoExport") == first.generated_at_text
    assert text(again, block + "FechaHoraHusoFinPeriodoExport") == last.generated_at_text
    assert text(again, block + "NumeroDeRegistrosFacturacionAltaExportados") == "1"


def test_exports_of_verifactu_chains_log_nothing(register):
    record = register().record
    assert events.log_export([record]) == []
    assert events.log_export([]) == []
    assert not EventRecord.objects.exists()
    with pytest.raises(TypeError):
        events.log_export([record.chain])


def test_the_summary_counts_what_happened_since_the_previous_one(kept):
    first = events.log_summary(kept)
    assert first.tipo_evento == "10" and event_xml.validate_evento(first.xml) == []
    root = etree.fromstring(first.xml.encode())
    counts = {
        b.findtext("ev:TipoEvento", namespaces=event_xml.NSMAP): b.findtext(
            "ev:NumeroDeEventos", namespaces=event_xml.NSMAP
        )
        for b in root.iterfind(".//ev:ResumenEventos/ev:TipoEvento", event_xml.NSMAP)
    }
    assert counts["01"] == "1" and counts["10"] == "0" and set(counts.values()) == {"0", "1"}
    assert text(first, "ResumenEventos/NumeroDeRegistrosFacturacionAltaGenerados") == "2"
    assert text(first, "ResumenEventos/NumeroDeRegistrosFacturacionAnulacionGenerados") == "1"
    assert text(first, "ResumenEventos/SumaCuotaTotalAlta") == "250.00"
    assert text(first, "ResumenEventos/SumaImporteTotalAlta") == "1650.00"
    records = BillingRecord.objects.filter(chain=kept).order_by("position")
    initial = "ResumenEventos/RegistroFacturacionInicialPeriodo/"
    assert text(first, initial + "Huella") == records.first().huella
    final = "ResumenEventos/RegistroFacturacionFinalPeriodo/"
    assert text(first, final + "Huella") == records.last().huella
    # Nothing since: no summary. Then only what came after the first one is counted.
    assert events.log_summary(kept) is None
    event_log.log_event(kept, "90")
    second = events.log_summary(kept)
    assert event_xml.validate_evento(second.xml) == []
    assert "<TipoEvento>90</TipoEvento><NumeroDeEventos>1</NumeroDeEventos>" in second.xml
    assert "<TipoEvento>01</TipoEvento><NumeroDeEventos>0</NumeroDeEventos>" in second.xml
    assert "<TipoEvento>10</TipoEvento><NumeroDeEventos>0</NumeroDeEventos>" in second.xml
    assert text(second, "ResumenEventos/NumeroDeRegistrosFacturacionAltaGenerados") == "0"
    assert "RegistroFacturacionInicialPeriodo" not in second.xml
    assert tipos(kept) == ["01", "10", "90", "10"]


def test_no_summary_on_a_verifactu_chain(register):
    record = register().record
    assert events.log_summary(record.chain) is None


def test_the_summary_task_logs_and_signs(kept, signing_certificate, pki, settings):
    from verifactu import tasks

    assert "verifactu.event_summary" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert tasks.event_summary() == 1
    summary = EventRecord.objects.get(chain=kept, tipo_evento="10")
    signing.verify_record_signature(summary.signature.signed_xml, pki.ca_pem)
    assert tasks.event_summary() == 0


# --------------------------------------------------------------------------- exporting the log


def signed_children(xml: bytes) -> tuple[etree._Element, list[str]]:
    root = etree.fromstring(xml)
    return root, [etree.tostring(child, encoding="unicode", with_tail=False) for child in root]


def test_the_event_log_export_holds_each_signed_event_and_logs_09(
    kept, taxpayer, signing_certificate, pki
):
    event_log.log_event(kept, "90")
    export = events.export_events(taxpayer)
    root, children = signed_children(export.xml)
    assert root.tag == events.EXPORT_ROOT
    assert (root.get("NIF"), root.get("Exportados"), root.get("SinFirma")) == (
        taxpayer.nif,
        "2",
        "0",
    )
    exported = list(EventRecord.objects.filter(chain=kept).order_by("position")[:2])
    assert [e.pk for e in export.events] == [e.pk for e in exported]
    for child, event in zip(children, exported, strict=True):
        # Read out of the document, each event is the very document that was signed.
        assert child == event.signature.signed_xml
        verified = signing.verify_record_signature(child, pki.ca_pem)
        assert etree.QName(verified.signed_xml).localname == "RegistroEvento"
        assert event_xml.validate_evento(child) == []
    [logged] = export.logged
    assert tipos(kept) == ["01", "90", "09"]
    block = "ExportacionRegEventoPeriodo/"
    assert text(logged, block + "NumeroDeRegEventoExportados") == "2"
    assert text(logged, block + "RegistroEventoInicialPeriodo/HuellaEvento") == exported[0].huella
    assert text(logged, block + "RegistroEventoFinalPeriodo/HuellaEvento") == exported[1].huella
    assert text(logged, block + "FechaHoraHusoInicioPeriodoExport") == exported[0].generated_at_text
    assert event_xml.validate_evento(logged.xml) == []
    # The next export carries the 09 of this one.
    again = events.export_events(taxpayer)
    assert [e.tipo_evento for e in again.events] == ["01", "90", "09"]


def test_an_event_without_its_signature_is_left_out_of_an_export_and_counted(
    kept, taxpayer, tamper
):
    event_log.log_event(kept, "90")
    # An attacker removes the signature of the 01 behind the models' back: nothing signs it
    # again, and the export leaves it out.
    RecordSignature.objects.filter(event__chain=kept, event__position=1).delete()
    export = events.export_events(taxpayer)
    root, children = signed_children(export.xml)
    assert (len(children), export.unsigned, len(export.logged)) == (1, 1, 1)
    assert root.get("SinFirma") == "1" and root.get("Exportados") == "1"
    assert not RecordSignature.objects.filter(event__chain=kept, event__position=1).exists()


def test_the_export_command_writes_the_file(kept, taxpayer, signing_certificate, pki, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    target = tmp_path / "eventos.xml"
    out = StringIO()
    call_command(
        "verifactu_export_events", "--nif", taxpayer.nif, "--output", str(target), stdout=out
    )
    assert "1 event written" in out.getvalue() and "1 event 09 logged" in out.getvalue()
    _, children = signed_children(target.read_bytes())
    assert len(children) == 1
    signing.verify_record_signature(children[0], pki.ca_pem)
    today = timezone.localdate()
    out = StringIO()
    call_command(
        "verifactu_export_events",
        "--nif",
        taxpayer.nif,
        "--from",
        str(today + timedelta(days=1)),
        "--output",
        "-",
        stdout=out,
    )
    root, children = signed_children(out.getvalue().encode())
    assert children == [] and root.get("Desde") == str(today + timedelta(days=1))
    call_command(
        "verifactu_export_events",
        "--nif",
        taxpayer.nif,
        "--from",
        str(today),
        "--to",
        str(today),
        "--output",
        str(target),
        stdout=StringIO(),
    )
    # 01 and the 09 of the first export; the empty export logged nothing.
    assert len(signed_children(target.read_bytes())[1]) == 2
    assert tipos(kept) == ["01", "09", "09"]
    for bad in (["--from", "2026-13-01"], ["--from", "2026-03-02", "--to", "2026-03-01"]):
        with pytest.raises(CommandError):
            call_command("verifactu_export_events", "--nif", taxpayer.nif, "--output", "-", *bad)
    with pytest.raises(CommandError, match="No taxpayer"):
        call_command("verifactu_export_events", "--nif", "A28045631", "--output", "-")


# --------------------------------------------------------------------------- the API


def test_the_api_lists_the_events_and_exports_the_signed_log(
    api_client, taxpayer, kept, signing_certificate, pki
):
    url = f"/api/v1/taxpayers/{taxpayer.nif}/events"
    event_log.log_event(kept, "90")
    event_log.log_event(kept, "90")
    response = api_client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meta"] == {"total": 3, "page": 1, "limit": 50}
    first, second, third = body["data"]
    assert (first["event_type"], first["previous_hash"], first["signed"]) == ("01", None, True)
    assert second["previous_hash"] == first["hash"] and second["position"] == 2
    assert third["signed"] is True and third["signed_at"]
    assert first["event_type_label"].startswith("Inicio del funcionamiento")
    assert api_client.get(url, {"page": 2}).json()["data"] == []

    # A GET exports nothing: it points to the POST, the export action.
    for refused in (api_client.get(url, {"format": "xml"}), api_client.get(url + ".xml")):
        assert refused.status_code == 405
        assert f"POST {url}.xml" in refused.json()["message"]
    assert tipos(kept) == ["01", "90", "90"]
    for exported, xml_response in enumerate(
        (api_client.post(url + ".xml"), api_client.post(url + ".xml")), start=3
    ):
        assert xml_response.status_code == 200
        assert xml_response["Content-Type"].startswith("application/xml")
        root, children = signed_children(xml_response.content)
        # every event, signed at birth; the second export carries the first one's 09
        assert (root.get("Exportados"), root.get("SinFirma")) == (str(exported), "0")
        for child in children:
            signing.verify_record_signature(child, pki.ca_pem)
    assert tipos(kept) == ["01", "90", "90", "09", "09"]  # each export is logged

    tomorrow = str(timezone.localdate() + timedelta(days=1))
    assert api_client.get(url, {"date_from": tomorrow}).json()["meta"]["total"] == 0
    assert api_client.get(url, {"date_from": "ayer"}).status_code == 400
    assert api_client.get(url, {"date_from": tomorrow, "date_to": "2026-01-01"}).status_code == 400
    assert api_client.get(url, {"format": "pdf"}).status_code == 400
    assert api_client.post(url + ".xml?date_to=x").status_code == 400


def test_another_accounts_event_log_is_not_found(api_client, other_account):
    for suffix in ("", ".xml"):
        response = api_client.get(f"/api/v1/taxpayers/A28045631/events{suffix}")
        assert response.status_code == 404
        assert response.json()["message"]
    assert api_client.post("/api/v1/taxpayers/A28045631/events.xml").status_code == 404


def test_a_verifactu_taxpayer_has_an_empty_log(api_client, taxpayer, register):
    register()
    url = f"/api/v1/taxpayers/{taxpayer.nif}/events"
    assert api_client.get(url).json() == {"data": [], "meta": {"total": 0, "page": 1, "limit": 50}}
    root, children = signed_children(api_client.post(url + ".xml").content)
    assert children == [] and root.get("Exportados") == "0"
    assert not EventRecord.objects.exists()
