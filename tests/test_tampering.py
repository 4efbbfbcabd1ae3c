"""The tampering suite (issue 18): a signed NO VERI*FACTU chain, edited as someone with access
to the storage would, is named by the anomaly check and by ``verifactu_verify``, and nothing
ever signs the forgery.

Each case lifts every database guard first (``tamper``: triggers dropped, standing for a raw
edit of a copy of the database), forges, and ends in :func:`tests.tampering.assert_named_by_both`:
both commands exit non-zero naming the forged item, the check logs it as a 04 / 06 with its
TipoAnomalia, and the only signatures made afterwards are those of the check's own events.

- the worker's laundering: a record's or an event's signature deleted, its content changed;
- any key: re-signed with a self-made key, or by another holder of a trusted CA with a signer
  row written beside the signature;
- truncation: the last events cut (the chain row's event head names them), events a summary
  counts cut, the last record cut with the chain row rewritten (the summary names it);
- dates: a record dated before its predecessor, an event re-dated to 2030, both with their
  huella recomputed.

Elsewhere: the mode that needs a certificate, signing at birth (never visible unsigned) and
unsigned records never served are in ``test_signing_at_birth``; the guards themselves
(deletes refused on both engines, the chain row) in ``test_chain_anchors``.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.utils import timezone

from tests.tampering import (
    assert_named_by_both,
    check_fails,
    log,
    records,
    signed,
    summarized,
    verify_fails,
)
from tests.test_signing import Pki, _name, issue
from verifactu import event_log, event_xml, signing
from verifactu import xml as vxml
from verifactu.models import RecordSignature, SignerCertificate
from verifactu.verification import verify

NIF = "B87654323"


@pytest.fixture(scope="module")
def pki() -> Pki:
    """The taxpayer's certificate names its NIF, as FNMT's do: who may sign is checked by it."""
    return Pki(nif=NIF)


@pytest.fixture
def kept(signed_chain, settings):
    """The signed chain with a summary (10) logged, outside the sandbox (which lets any
    certificate speak for anyone)."""
    settings.VERIFACTU_SANDBOX = False
    summarized(signed_chain)
    assert verify(signed_chain).ok
    return signed_chain


def name(item) -> str:
    if hasattr(item, "invoice_number"):
        return f"record #{item.position} (invoice {item.invoice_number}, id {item.pk})"
    return f"event #{item.position} ({item.tipo_evento}, id {item.pk})"


def assert_never_signed(item) -> None:
    assert not RecordSignature.objects.filter(**{kind(item): item}).exists()


def kind(item) -> str:
    return "record" if hasattr(item, "invoice_number") else "event"


def resign(tamper, item, identity: signing.SigningIdentity, *, signer_row: bool) -> None:
    """Replace ``item``'s signature by one made with ``identity``, as a forger with the
    database and that key would; with ``signer_row``, writing the signer row that goes with
    it, else leaving the signature pointing at the taxpayer's kept certificate."""
    when = timezone.now().replace(microsecond=0)
    columns = {}
    if signer_row:
        der = identity.certificate.public_bytes(serialization.Encoding.DER)
        columns["signer_id"] = SignerCertificate.objects.create(
            account_id=item.chain.account_id,
            obligado_nif=item.chain.issuer_nif,
            der=der,
            fingerprint=hashlib.sha256(der).hexdigest(),
            subject=identity.subject,
            serial=str(identity.certificate.serial_number),
            not_valid_before=identity.certificate.not_valid_before_utc,
            not_valid_after=identity.certificate.not_valid_after_utc,
        ).pk
    tamper.update(
        item.signature,
        signed_xml=signing.sign_record_xml(item.xml, identity, signing_time=when),
        signed_at=when,
        certificate_subject=identity.subject,
        **columns,
    )


# --------------------------------------------------------------------------- laundering


def test_a_record_whose_signature_was_deleted_is_named_and_never_signed_again(kept, tamper):
    record = records(kept)[-1]
    tamper.delete(record.signature)
    assert_named_by_both(kept, f"{name(record)}: not signed", tipo=("04", "02"))
    assert_never_signed(record)


def test_an_event_whose_signature_was_deleted_is_named_and_never_signed_again(kept, tamper):
    event = log(kept)[0]
    tamper.delete(event.signature)
    assert_named_by_both(kept, f"{name(event)}: not signed", tipo=("06", "02"))
    assert_never_signed(event)


def test_a_record_changed_outside_its_huella_and_unsigned_is_named(kept, tamper):
    """DescripcionOperacion is not hashed: the chain still recomputes, only the signature
    would have shown the change, so the forger deletes it."""
    record = records(kept)[-1]
    forged = record.xml.replace("<DescripcionOperacion>", "<DescripcionOperacion>Nada. ", 1)
    assert forged != record.xml
    tamper.delete(record.signature)
    tamper.update(record, xml=forged)
    assert vxml.recompute_huella(vxml.parse_record(forged)) == record.huella
    assert_named_by_both(kept, f"{name(record)}: not signed", tipo=("04", "02"))
    assert_never_signed(record)


def test_a_record_changed_under_its_signature_is_named(kept, tamper):
    record = records(kept)[-1]
    forged = record.xml.replace("<DescripcionOperacion>", "<DescripcionOperacion>Nada. ", 1)
    tamper.update(record, xml=forged)
    assert_named_by_both(
        kept, f"{name(record)}: the signed copy differs from the stored record", tipo=("04", "02")
    )


def test_an_event_rewritten_with_its_huella_recomputed_and_unsigned_is_named(kept, tamper):
    event = event_log.log_event(kept, "90", otros_datos="copia diaria")
    forged = event.xml.replace("copia diaria", "copia semanal")
    huella = event_xml.recompute_huella_evento(event_xml.parse_evento(forged))
    forged = forged.replace(f"<HuellaEvento>{event.huella}<", f"<HuellaEvento>{huella}<")
    assert event_xml.parse_evento(forged)["huella"] == huella
    tamper.delete(event.signature)
    tamper.update(event, xml=forged, huella=huella)
    tamper.update(signed(kept), last_event_huella=huella)
    assert_named_by_both(kept, f"{name(event)}: not signed", tipo=("06", "02"))
    assert_never_signed(event)


# --------------------------------------------------------------------------- any key


def test_a_record_re_signed_with_a_self_made_key_is_named(kept, tamper):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name("ESTUDIO SOL SL - B87654323", NIF)
    record = records(kept)[-1]
    self_made = signing.SigningIdentity(key, issue(subject, key, subject, key, ca=False))
    resign(tamper, record, self_made, signer_row=True)
    assert_named_by_both(
        kept, f"{name(record)}: signature: XAdES verification failed", tipo=("04", "02")
    )


def test_a_record_re_signed_by_another_holder_of_a_trusted_ca_is_named(kept, tamper, pki):
    """A good signature, from the CA the operator trusts, by someone else: not the
    certificate kept for the taxpayer. (A forger who also writes a signer row for it is
    beyond what the database alone can tell: docs/SECURITY.md.)"""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = _name("OTRA PERSONA", "12345678Z")
    cert = issue(other, key, pki.inter.subject, pki.inter_key, ca=False)
    record = records(kept)[-1]
    resign(tamper, record, signing.SigningIdentity(key, cert, (pki.inter,)), signer_row=False)
    signing.verify_record_signature(record.signature.signed_xml, pki.ca_pem)
    assert_named_by_both(
        kept, name(record), "OTRA PERSONA", "not by the kept signer certificate", tipo=("04", "02")
    )


def test_a_recorded_representatives_signature_is_trusted_outside_the_sandbox(
    settings, signing_ca, account, taxpayer, register, pki
):
    """The control of the cases above: a gestoría's certificate, kept when it first signed
    for its client by the rule of sending, verifies outside the sandbox."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from factu.models import Taxpayer
    from verifactu import modes, representation
    from verifactu.certificates import store_certificate

    settings.VERIFACTU_SANDBOX = False
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = _name("GESTORA EBRO", "12345678Z")
    cert = issue(subject, key, pki.inter.subject, pki.inter_key, ca=False)
    p12 = pkcs12.serialize_key_and_certificates(
        b"gestoria", key, cert, [pki.inter], serialization.BestAvailableEncryption(b"clave")
    )
    stored = store_certificate(account, p12, "clave", representative_nif="12345678Z")
    representation.record_representation(
        taxpayer,
        kind="apoderamiento",
        certificate=stored,
        reference="AP-2026-000123",
        scope="GENERALLEY58",
    )
    assert modes.change_mode(taxpayer, Taxpayer.VerifactuMode.NO_VERIFACTU).changed
    chain = signed(register().record.chain)
    assert "GESTORA EBRO" in records(chain)[-1].signature.certificate_subject
    assert verify(chain).ok


# --------------------------------------------------------------------------- truncation


def test_deleting_the_last_events_is_named_by_the_chain_rows_event_head(kept, tamper):
    event_log.log_event(kept, "90")
    event_log.log_event(kept, "90")
    signed(kept)
    *kept_events, cut1, cut2 = log(kept)
    kept.refresh_from_db()
    for event in (cut2, cut1):
        tamper.delete(event.signature, event)
    assert_named_by_both(
        kept,
        f"event head is #{cut2.position} {cut2.huella}",
        f"the log ends at #{kept_events[-1].position}",
        tipo=("06", "05"),
    )


def test_a_cut_log_under_restored_guards_is_named_though_its_run_cannot_be_logged(kept, tamper):
    """The chain row still names the cut events, so the guard refuses every append to the
    log: the check names what it found and says the run could not be logged."""
    event_log.log_event(kept, "90")
    cut = log(kept)[-1]
    tamper.delete(cut.signature, cut)
    tamper.restore_guards()
    message = check_fails()
    assert f"event head is #{cut.position} {cut.huella}" in message
    assert "the run cannot be logged" in message and "only moves on" in message
    assert "event head is" in verify_fails()


def test_deleting_events_a_summary_counts_is_named_by_the_summary(kept, tamper):
    event_log.log_event(kept, "90")
    event_log.log_event(kept, "90")
    summary = summarized(kept)
    cut = log(kept)[-2]  # the last 90, before the 10 that counts it
    tamper.delete(cut.signature, cut)
    survivor = log(kept)[-2]
    tamper.update(summary, position=cut.position, previous_id=survivor.pk)
    tamper.update(kept, events_length=cut.position)
    messages = [str(f) for f in verify(kept).findings]
    assert (
        f"chain {kept.pk}: summary event #{cut.position} says {cut.position} events preceded"
        f" it, the log holds {cut.position - 1}" in messages
    )
    assert_named_by_both(kept, f"event #{cut.position} (10, id {summary.pk})", tipo=("06", "06"))


def test_deleting_the_last_record_and_rewriting_the_chain_row_is_named_by_the_summary(kept, tamper):
    summarized(kept)
    first, last = records(kept)
    tamper.update(
        kept,
        length=1,
        head_id=first.pk,
        last_huella=first.huella,
        head_invoice_number=first.invoice_number,
        head_invoice_date_text=first.invoice_date_text,
    )
    tamper.delete(last.signature, last)
    assert verify(kept).records == 1
    assert_named_by_both(
        kept,
        f"names record {last.invoice_number} of {last.invoice_date_text} (huella {last.huella})",
        tipo=("04", "05"),
    )


def test_a_record_dated_before_its_predecessor_is_named(kept, tamper):
    first, last = records(kept)
    earlier = datetime.fromisoformat(first.generated_at_text) - timedelta(hours=1)
    stated = earlier.isoformat()
    forged = last.xml.replace(last.generated_at_text, stated)
    huella = vxml.recompute_huella(vxml.parse_record(forged))
    forged = forged.replace(f"<Huella>{last.huella}</Huella>", f"<Huella>{huella}</Huella>")
    tamper.update(last, xml=forged, huella=huella, generated_at_text=stated)
    tamper.update(kept, last_huella=huella)
    messages = [str(f) for f in verify(kept).findings]
    assert any("earlier than its predecessor's" in m for m in messages), messages
    assert_named_by_both(
        kept,
        f"record #{last.position} (invoice {last.invoice_number}, id {last.pk})",
        tipo=("04", "11"),
    )


def test_an_event_re_dated_to_2030_is_named(kept, tamper):
    event = event_log.log_event(kept, "90")
    signed(kept)
    stated = "2030-01-01T10:00:00+01:00"
    forged = event.xml.replace(  # its own, which comes before EventoAnterior's
        f"<FechaHoraHusoGenEvento>{event.generated_at_text}</FechaHoraHusoGenEvento>",
        f"<FechaHoraHusoGenEvento>{stated}</FechaHoraHusoGenEvento>",
        1,
    )
    huella = event_xml.recompute_huella_evento(event_xml.parse_evento(forged))
    forged = forged.replace(
        f"<HuellaEvento>{event.huella}</HuellaEvento></Evento>",
        f"<HuellaEvento>{huella}</HuellaEvento></Evento>",
    )
    assert event_xml.parse_evento(forged)["huella"] == huella
    tamper.update(event, xml=forged, huella=huella, generated_at_text=stated)
    tamper.update(kept, last_event_huella=huella)
    tipos = {(f.tipo_anomalia, f.item) for f in verify(kept).findings}
    assert ("13", event) in tipos
    assert_named_by_both(
        kept, f"event #{event.position} (90, id {event.pk})", "2030-01-01", tipo=("06", "13")
    )


# --------------------------------------------------------------------------- review cases


def _after_the_switch(chain, seconds: int = 2) -> datetime:
    """A time ``seconds`` after the chain's 01, so that a record then is strictly inside the
    NO VERI*FACTU period."""
    start = next(e for e in log(chain) if e.tipo_evento == "01")
    return datetime.fromisoformat(start.generated_at_text) + timedelta(seconds=seconds)


def test_a_record_flipped_to_verifactu_and_unsigned_after_the_last_summary_is_named(
    kept, tamper, register
):
    """The column ``no_verifactu`` is not signed: the event log says when the chain ran NO
    VERI*FACTU, and a record generated then must be signed whatever its column says."""
    record = register(now=_after_the_switch(kept), invoice_number="F-2026-044").record
    assert records(kept)[-1].pk == record.pk and record.no_verifactu
    tamper.delete(records(kept)[-1].signature)
    tamper.update(record, no_verifactu=False)
    assert_named_by_both(
        kept,
        f"{name(record)}: not signed (generated while the chain ran NO VERI*FACTU)",
        tipo=("04", "02"),
    )
    assert_never_signed(record)


def test_a_signed_record_flipped_to_verifactu_is_named_by_its_column(kept, tamper, register):
    record = register(now=_after_the_switch(kept), invoice_number="F-2026-044").record
    tamper.update(record, no_verifactu=False)
    assert_named_by_both(
        kept,
        f"{name(record)}: column no_verifactu is False, but the record was generated while",
        tipo=("04", "03"),
    )


def test_a_verifactu_record_of_the_same_second_as_the_switch_is_judged_by_its_column(
    kept, tamper, register
):
    """The period is strict on both sides: a record of the second of a 01 (or 02) may be a
    VERI*FACTU record of just before (after) the switch, so its column alone decides and a
    genuine one is never a false anomaly."""
    record = register(now=_after_the_switch(kept, 0), invoice_number="F-2026-044").record
    tamper.delete(records(kept)[-1].signature)
    tamper.update(record, no_verifactu=False)
    assert verify(kept).ok


def test_an_anomaly_key_written_on_another_event_does_not_suppress_the_anomaly(kept, tamper):
    """``anomaly_key`` is neither hashed nor signed: only a signed 04 / 06 carrying the key
    in its OtrosDatosEvento counts as the anomaly logged."""
    record = records(kept)[-1]
    tamper.delete(record.signature)
    key = verify(kept).findings[0].key
    tamper.update(log(kept)[0], anomaly_key=key)
    assert_named_by_both(kept, f"{name(record)}: not signed", tipo=("04", "02"))
    logged = [e for e in log(kept) if e.tipo_evento == "04"]
    assert [event_xml.parse_evento(e.xml)["otros"] for e in logged] == [key]


def test_an_anomaly_is_logged_once(kept, tamper):
    record = records(kept)[-1]
    tamper.delete(record.signature)
    check_fails()
    check_fails()
    assert [e.tipo_evento for e in log(kept)].count("04") == 1


def test_a_summary_with_a_count_that_is_not_a_number_is_a_finding_not_a_crash(kept, tamper):
    summary = next(e for e in log(kept) if e.tipo_evento == "10")
    forged, count = re.subn(
        r"<NumeroDeEventos>\d+</NumeroDeEventos>",
        "<NumeroDeEventos>uno</NumeroDeEventos>",
        summary.xml,
    )
    assert count
    tamper.update(summary, xml=forged)
    messages = [str(f) for f in verify(kept).findings]
    assert any(f"summary event #{summary.position} counts 'uno' events" in m for m in messages)
    assert_named_by_both(kept, name(summary), tipo=("06", "06"))


def test_a_run_that_cannot_be_signed_still_names_what_it_found(kept, tamper):
    from verifactu.models import Certificate

    record = records(kept)[-1]
    tamper.delete(record.signature)
    Certificate.objects.all().delete()
    message = check_fails()
    assert f"{name(record)}: not signed" in message and "the run cannot be logged" in message


def test_the_tasks_go_on_to_the_next_account_when_one_chain_fails(
    signed_chain, computer_system, other_account, pki, caplog
):
    """One chain whose events cannot be built (a control character written into its
    issuer's name) does not stop the check nor the summary of another account's chain."""
    from factu.models import Taxpayer
    from tests.conftest import another_installation, register_for
    from verifactu import modes, tasks
    from verifactu.certificates import store_certificate
    from verifactu.models import Chain

    other = Taxpayer.objects.get(account=other_account)
    store_certificate(other_account, pki.p12("clave"), "clave", taxpayer=other)
    system = another_installation(computer_system, "TEST-2", account=other_account)
    modes.change_mode(other, Taxpayer.VerifactuMode.NO_VERIFACTU)
    healthy = register_for(other, system, "G-2026-001").record.chain
    assert healthy.pk > signed_chain.pk
    Chain.objects.filter(pk=signed_chain.pk).update(issuer_name="Estudio\x01Sol SL")

    assert tasks.anomaly_check() == 0
    assert tasks.event_summary() == 1
    assert [e.tipo_evento for e in log(healthy)][-3:] == ["03", "05", "10"]
    assert f"anomaly check of chain {signed_chain.pk} failed" in caplog.text
    assert f"summary of chain {signed_chain.pk} failed" in caplog.text
    assert verify(healthy).ok
