"""Flushing a chain in-process against the simulator: pacing, leases, faults, credentials.

The worker's end-to-end behaviour is in test_verifactu_e2e; here ``submission.flush`` is
called directly so each rule can be pinned quickly (still real SOAP over HTTP with zeep).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from verifactu import submission
from verifactu.certificates import credentials_for, decrypt, store_certificate
from verifactu.models import BillingRecord, Chain, RecordStatus, Submission
from verifactu.simulator.server import start_simulator
from verifactu.simulator.testcerts import generate_test_certs


def statuses(records) -> list[str]:
    return [BillingRecord.objects.get(pk=r.pk).status for r in records]


def test_flush_sends_queued_records_in_chain_order(register, simulator):
    records = [register(invoice_number=f"A-{i}").record for i in range(1, 4)]
    outcome = submission.flush(records[0].chain_id)
    assert (outcome.state, outcome.sent, outcome.pending) == ("sent", 3, 0)
    assert statuses(records) == [RecordStatus.ACCEPTED] * 3
    sent = Submission.objects.get()
    assert (
        sent.request_xml.index("A-1")
        < sent.request_xml.index("A-2")
        < sent.request_xml.index("A-3")
    )
    assert sent.estado_envio == "Correcto" and sent.csv


def test_next_flush_waits_for_tiempo_espera_envio(register, simulator, settings):
    simulator.configure(wait_seconds=60)
    first = register(invoice_number="A-1").record
    before = timezone.now()
    assert submission.flush(first.chain_id).state == "sent"
    chain = Chain.objects.get(pk=first.chain_id)
    assert chain.next_flush_at >= before + timedelta(seconds=59)

    later = register(invoice_number="A-2").record
    outcome = submission.flush(first.chain_id)
    assert outcome.state == "wait" and outcome.next_at == chain.next_flush_at
    assert statuses([later]) == [RecordStatus.QUEUED]
    assert Submission.objects.count() == 1


def test_a_full_batch_does_not_wait(register, simulator, settings):
    simulator.configure(wait_seconds=60)
    settings.VERIFACTU_BATCH_SIZE = 2
    first = register(invoice_number="A-1").record
    submission.flush(first.chain_id)
    more = [register(invoice_number=f"A-{i}").record for i in (2, 3, 4)]
    outcome = submission.flush(first.chain_id)
    assert (outcome.state, outcome.sent, outcome.pending) == ("sent", 2, 1)
    assert statuses(more) == [RecordStatus.ACCEPTED, RecordStatus.ACCEPTED, RecordStatus.QUEUED]


def test_transport_failure_keeps_records_queued_and_marks_the_resend_as_incidencia(
    register, simulator
):
    simulator.set_mode("http500", times=1)
    record = register().record
    outcome = submission.flush(record.chain_id)
    assert outcome.state == "retry" and outcome.next_at > timezone.now()
    row = BillingRecord.objects.get(pk=record.pk)
    assert (row.status, row.attempts, row.huella, row.xml) == (
        RecordStatus.QUEUED,
        1,
        record.huella,
        record.xml,
    )
    Chain.objects.filter(pk=record.chain_id).update(next_flush_at=None)
    assert submission.flush(record.chain_id).state == "sent"
    resend = Submission.objects.order_by("-started_at").first()
    assert "<Incidencia>S</Incidencia>" in resend.request_xml
    assert BillingRecord.objects.get(pk=record.pk).incidencia is True


def test_records_after_a_failed_one_wait_for_it(register, simulator):
    first = register(invoice_number="A-1").record
    BillingRecord.objects.filter(pk=first.pk).update(status=RecordStatus.ERROR)
    second = register(invoice_number="A-2").record
    assert submission.flush(first.chain_id).state == "idle"
    assert statuses([second]) == [RecordStatus.QUEUED]


def test_only_one_flush_holds_a_chain(register):
    record = register().record
    now = timezone.now()
    assert submission.claim_chain(record.chain_id, now) is True
    assert submission.claim_chain(record.chain_id, now) is False
    assert submission.flush(record.chain_id).state == "busy"
    later = now + timedelta(seconds=3600)
    assert submission.claim_chain(record.chain_id, later) is True  # the lease expired


def test_reclaim_requeues_what_a_dead_worker_left_sending(register, settings):
    record = register().record
    long_ago = timezone.now() - timedelta(seconds=settings.VERIFACTU_SENDING_LEASE + 5)
    BillingRecord.objects.filter(pk=record.pk).update(
        status=RecordStatus.SENDING, claimed_at=long_ago
    )
    Chain.objects.filter(pk=record.chain_id).update(flush_claimed_until=long_ago)
    assert submission.reclaim_stale() == 1
    assert statuses([record]) == [RecordStatus.QUEUED]
    assert submission.chains_due() == [record.chain_id]


def test_a_record_still_being_sent_is_not_reclaimed(register):
    record = register().record
    now = timezone.now()
    BillingRecord.objects.filter(pk=record.pk).update(status=RecordStatus.SENDING, claimed_at=now)
    Chain.objects.filter(pk=record.chain_id).update(flush_claimed_until=now + timedelta(seconds=60))
    assert submission.reclaim_stale() == 0


@pytest.fixture
def pki(tmp_path):
    return generate_test_certs(tmp_path)


@pytest.fixture
def tls_simulator(pki, settings):
    sim = start_simulator(
        wait_seconds=0,
        tls_cert=str(pki.server_cert),
        tls_key=str(pki.server_key),
        client_ca=str(pki.ca_cert),
    )
    settings.AEAT_ENDPOINT = sim.url
    settings.AEAT_CA_FILE = str(pki.ca_cert)
    settings.AEAT_CERT_FILE = ""
    yield sim
    sim.stop()


def test_certificates_are_encrypted_at_rest(account, taxpayer, pki):
    data = pki.client_p12.read_bytes()
    stored = store_certificate(account, data, pki.client_p12_password, taxpayer=taxpayer)
    assert bytes(stored.encrypted_data) != data
    assert pki.client_p12_password.encode() not in bytes(stored.encrypted_password)
    assert decrypt(stored.encrypted_data) == data
    assert stored.not_valid_after > timezone.now()


def test_a_certificate_that_does_not_open_is_refused(account, taxpayer, pki):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as exc:
        store_certificate(account, pki.client_p12.read_bytes(), "wrong", taxpayer=taxpayer)
    assert "contraseña" in exc.value.message_dict["file"][0]


def test_the_taxpayers_own_certificate_authenticates_the_submission(
    register, account, taxpayer, pki, tls_simulator
):
    store_certificate(
        account, pki.client_p12.read_bytes(), pki.client_p12_password, taxpayer=taxpayer
    )
    record = register().record
    assert submission.flush(record.chain_id).state == "sent"
    assert statuses([record]) == [RecordStatus.ACCEPTED]


def test_without_a_certificate_mutual_tls_fails_and_records_stay_queued(register, tls_simulator):
    record = register().record
    assert submission.flush(record.chain_id).state == "retry"
    assert statuses([record]) == [RecordStatus.QUEUED]
    assert Submission.objects.get().transport_error


def test_a_representative_certificate_is_named_in_the_envelope(
    register, account, pki, tls_simulator
):
    store_certificate(
        account,
        pki.client_p12.read_bytes(),
        pki.client_p12_password,
        representative_nif="89890001K",
        representative_name="Gestoría Ebro SA",
    )
    record = register().record
    credentials = credentials_for(Chain.objects.get(pk=record.chain_id))
    assert credentials.representante.nif == "89890001K"
    credentials.close()
    assert submission.flush(record.chain_id).state == "sent"
    request = Submission.objects.get().request_xml
    assert "<Representante><NombreRazon>Gestoría Ebro SA</NombreRazon><NIF>89890001K</NIF>" in (
        request
    )
    assert statuses([record]) == [RecordStatus.ACCEPTED]
