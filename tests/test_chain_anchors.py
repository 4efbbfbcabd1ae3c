"""A chain cannot lose its tail unseen: the database guards the chain row and refuses
deletes on both engines, the summary events anchor what the chain held, the dates must run
forward, and both the anomaly check and ``verifactu_verify`` name what was cut or re-dated.

The tampering cases lift every guard first (``tamper``), as someone with access to the
storage would, and then edit the rows by hand.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from lxml import etree

from tests.tampering import log, records, signed, summarized, verify_fails
from verifactu import anchors, event_log, event_xml, triggers
from verifactu import xml as vxml
from verifactu.anomalies import run_anomaly_check
from verifactu.models import BillingRecord, Chain, EventRecord, RecordSignature
from verifactu.verification import verify

HEAD_COLUMNS = triggers.RECORD_HEAD + triggers.EVENT_HEAD


@pytest.fixture
def kept(signed_chain):
    return signed_chain


# --------------------------------------------------------------------------- the guards


def test_the_inserts_move_both_heads_of_the_chain_row(kept):
    event_log.log_event(kept, "90")
    signed(kept)
    last_record, last_event = records(kept)[-1], log(kept)[-1]
    assert (kept.length, kept.head_id, kept.last_huella) == (2, last_record.pk, last_record.huella)
    assert (kept.events_length, kept.last_event_huella) == (last_event.position, last_event.huella)
    assert verify(kept).ok


@pytest.mark.parametrize("column", HEAD_COLUMNS)
def test_the_database_refuses_a_raw_update_of_each_head_column(kept, column):
    first = records(kept)[0]
    value = {
        "length": 1,
        "head_id": first.pk,
        "last_huella": first.huella,
        "head_invoice_number": first.invoice_number + "X",
        "head_invoice_date_text": "01-01-2026",
        "head_generated_at_text": "2026-01-01T00:00:00+01:00",
        "events_length": 0,
        "last_event_huella": "0" * 64,
    }[column]
    with pytest.raises(DatabaseError, match="head only moves on"), transaction.atomic():
        Chain.objects.filter(pk=kept.pk).update(**{column: value})
    assert getattr(Chain.objects.get(pk=kept.pk), column) == getattr(kept, column)


def test_the_guard_refuses_rewinding_the_head_to_a_real_record(kept):
    first = records(kept)[0]
    rewind = {
        "length": 1,
        "head_id": first.pk,
        "last_huella": first.huella,
        "head_invoice_number": first.invoice_number,
        "head_invoice_date_text": first.invoice_date_text,
    }
    with pytest.raises(DatabaseError), transaction.atomic():
        Chain.objects.filter(pk=kept.pk).update(**rewind)


def test_every_other_column_of_the_chain_row_stays_writable(kept):
    now = timezone.now()
    Chain.objects.filter(pk=kept.pk).update(
        next_flush_at=now,
        flush_claimed_until=now,
        faulting_since=now,
        last_fault_at=now,
        multiple_taxpayers=True,
        issuer_name="Otro nombre SL",
    )
    assert Chain.objects.get(pk=kept.pk).multiple_taxpayers


def test_the_database_refuses_deleting_records_events_signatures_and_chains(kept):
    record, event = records(kept)[-1], log(kept)[-1]
    orphan = Chain.objects.create(
        account=kept.account,
        issuer_nif="A28045631",
        producer_nif=kept.producer_nif,
        system_id=kept.system_id,
        installation_number=kept.installation_number,
    )
    querysets = (
        RecordSignature.objects.filter(record=record),
        RecordSignature.objects.filter(event=event),
        EventRecord.objects.filter(pk=event.pk),
        BillingRecord.objects.filter(pk=record.pk),
        Chain.objects.filter(pk=orphan.pk),
    )
    for queryset in querysets:
        # The queryset's delete skips the models' own guards; Django's collector refuses some
        # (a protected foreign key), the database the rest.
        with (
            pytest.raises(DatabaseError, match="never deleted|protected foreign keys"),
            transaction.atomic(),
        ):
            queryset.delete()
        meta = queryset.model._meta
        with (
            pytest.raises(DatabaseError, match="never deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {meta.db_table}")  # noqa: S608
        assert queryset.exists()


@pytest.mark.django_db(transaction=True)
def test_the_test_runners_flush_still_empties_the_tables_and_nothing_else_can(
    account, taxpayer, computer_system, register
):
    register()
    if connection.vendor == "sqlite":
        # A client without Factu's SQL function (the sqlite3 shell) cannot delete either.
        raw = sqlite3.connect(connection.settings_dict["NAME"])
        with pytest.raises(sqlite3.OperationalError, match="factu_deletes_allowed"):
            raw.execute("DELETE FROM verifactu_billingrecord")
        raw.close()
    call_command("flush", interactive=False, verbosity=0)
    assert not BillingRecord.objects.exists() and not Chain.objects.exists()


def test_a_record_whose_appender_waited_for_the_lock_is_not_dated_before_its_predecessor(
    register,
):
    """``now`` is taken before the chain's lock: an appender that waited behind another one
    dates its record at its predecessor's time, never before it."""
    later = timezone.now()
    first = register(now=later).record
    second = register(invoice_number="F-2026-043", now=later - timedelta(seconds=5)).record
    assert second.generated_at_text == first.generated_at_text
    assert Chain.objects.get(pk=first.chain_id).head_generated_at_text == first.generated_at_text
    assert verify(Chain.objects.get(pk=first.chain_id)).ok


# --------------------------------------------------------------------------- anchors


def test_each_summary_anchors_the_records_and_events_since_the_previous_one(kept):
    first = summarized(kept)
    assert event_xml.validate_evento(first.xml) == []
    parsed = event_xml.parse_evento(first.xml)
    assert anchors.parse_anchor(parsed["otros"]) == (2, first.position - 1)
    last = records(kept)[-1]
    assert f"<Huella>{last.huella}</Huella></RegistroFacturacionFinalPeriodo>" in first.xml
    event_log.log_event(kept, "90")
    signed(kept)
    second = summarized(kept)
    assert anchors.parse_anchor(event_xml.parse_evento(second.xml)["otros"]) == (
        2,
        second.position - 1,
    )
    assert "RegistroFacturacionFinalPeriodo" not in second.xml
    assert verify(kept).ok


def test_the_runs_declare_the_counts_they_checked(kept):
    event_log.log_event(kept, "90")
    signed(kept)
    assert run_anomaly_check(kept) == []
    run03, run05 = (EventRecord.objects.get(chain=kept, tipo_evento=t) for t in ("03", "05"))
    for name in ("IntegridadHuellas", "IntegridadFirmas", "TrazabilidadCadena"):
        assert f"<NumeroDeRegistrosFacturacionProcesadosSobre{name}>2<" in run03.xml
    assert "<NumeroDeRegistrosFacturacionProcesadosSobreTrazabilidadFechas>2<" in run03.xml
    # 01 and 90, and the 03 this run logged first: what the 05 read.
    for name in ("IntegridadHuellas", "IntegridadFirmas", "TrazabilidadCadena"):
        assert f"<NumeroDeRegistrosEventoProcesadosSobre{name}>2<" in run05.xml


def test_a_clean_chain_passes_both_commands(kept):
    summarized(kept)
    out = StringIO()
    call_command("verifactu_check_anomalies", stdout=out)
    assert "1 chains checked, 0 with anomalies." in out.getvalue()
    signed(kept)
    out = StringIO()
    call_command("verifactu_verify", stdout=out)
    assert "OK chain" in out.getvalue() and "events, event head #" in out.getvalue()


# --------------------------------------------------------------------------- dates


def test_a_verifactu_record_dated_in_the_future_is_named_by_verify(register, tamper, settings):
    settings.VERIFACTU_CLOCK_SKEW = 300
    record = register().record
    later = (timezone.now() + timedelta(minutes=10)).astimezone(
        datetime.fromisoformat(record.generated_at_text).tzinfo
    )
    stated = later.replace(microsecond=0).isoformat()
    forged = record.xml.replace(record.generated_at_text, stated)
    huella = vxml.recompute_huella(vxml.parse_record(forged))
    forged = forged.replace(f"<Huella>{record.huella}</Huella>", f"<Huella>{huella}</Huella>")
    tamper.update(record, xml=forged, huella=huella, generated_at_text=stated)
    tamper.update(Chain.objects.get(pk=record.chain_id), last_huella=huella)
    message = verify_fails()
    assert "later than the clock allows" in message and str(record.pk) in message
    settings.VERIFACTU_CLOCK_SKEW = 3600
    call_command("verifactu_verify", stdout=StringIO())


def test_the_summary_names_the_last_record_in_a_schema_valid_anchor(kept):
    summary = summarized(kept)
    root = etree.fromstring(summary.xml.encode())
    otros = root.findtext("ev:Evento/ev:OtrosDatosEvento", namespaces=event_xml.NSMAP)
    assert otros == f"registros=2;eventos={summary.position - 1}"
    assert len(otros) <= 100


def test_the_anomaly_command_names_an_unknown_taxpayer(kept):
    with pytest.raises(CommandError, match="A28045631"):
        call_command("verifactu_check_anomalies", "--taxpayer", "A28045631")
    out = StringIO()
    call_command("verifactu_check_anomalies", "--taxpayer", kept.issuer_nif, stdout=out)
    assert f"chain {kept.pk} {kept}: no anomaly" in out.getvalue()
