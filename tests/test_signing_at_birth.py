"""NO VERI*FACTU that cannot be forged (issue 18, points 1, 2 and 6): records and events are
signed when they are chained or never stored; the signer is the taxpayer's kept certificate,
trusted through the operator's CA bundle; the mode needs a certificate that signs; unsigned
records are never served as the legal copy."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from datetime import date, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from factu.models import Taxpayer
from tests.signers import drop_signature
from tests.test_api_v1 import register as register_v1
from tests.test_api_v1 import v1  # noqa: F401 - the fixture
from tests.test_no_verifactu import issued  # noqa: F401 - the fixture: a factory
from tests.test_signing import Pki, _name, issue
from verifactu import events, modes, requerimiento, signatures, signers, signing, tasks
from verifactu.certificates import store_certificate
from verifactu.models import (
    BillingRecord,
    Certificate,
    EventRecord,
    FiscalInvoice,
    RecordSignature,
    SignerCertificate,
)
from verifactu.records import SigningRefused
from verifactu.vault import encrypt

NO = Taxpayer.VerifactuMode.NO_VERIFACTU
NO_SIGNER = "No hay ningún certificado que pueda firmar"


def switch(taxpayer) -> None:
    assert modes.change_mode(taxpayer, NO).mode == NO


def tipos(chain) -> list[str]:
    return list(chain.events.order_by("position").values_list("tipo_evento", flat=True))


def lift_guards() -> None:
    """Lift the signature table's guard, as someone with access to the database would."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending trigger events
            cursor.execute(
                "ALTER TABLE verifactu_recordsignature "
                "DISABLE TRIGGER verifactu_signature_immutable"
            )
        else:
            cursor.execute("DROP TRIGGER verifactu_signature_immutable")


def forced_no_verifactu(taxpayer) -> None:
    """The taxpayer's row says NO VERI*FACTU without a certificate (a switch made before this
    rule, or the certificate deleted since)."""
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_mode=NO)
    taxpayer.refresh_from_db()


def p12(key, cert, chain=()) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"firma", key, cert, list(chain), serialization.BestAvailableEncryption(b"clave")
    )


def leaf(pki: Pki, key, *, before: dt.timedelta, after: dt.timedelta) -> x509.Certificate:
    """A certificate of ``pki``'s intermediate for the taxpayer, valid from now+before to
    now+after."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name("ESTUDIO SOL SL - B87654323"))
        .issuer_name(pki.inter.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + before)
        .not_valid_after(now + after)
        .sign(pki.inter_key, hashes.SHA256())
    )


# --------------------------------------------------------------------------- signed at birth


def test_a_no_verifactu_record_is_signed_in_the_transaction_that_chains_it(
    taxpayer, register, signing_certificate, pki
):
    switch(taxpayer)
    with transaction.atomic():
        record = register().record
        # Inside the registering transaction, before anyone else can see the record.
        signature = RecordSignature.objects.get(record=record)
        assert signature.signer.obligado_nif == taxpayer.nif
        assert signers.signature_problem(BillingRecord.objects.get(pk=record.pk)) is None
    assert signature.signed_xml.count("<ds:Signature ") == 1
    assert "Registro de facturación NO VERI*FACTU" in signature.signed_xml
    signing.verify_record_signature(signature.signed_xml, pki.ca_pem)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_another_connection_never_sees_a_record_or_event_without_its_signature(
    account, taxpayer, register, signing_certificate
):
    switch(taxpayer)
    other = connection.copy()
    try:
        with transaction.atomic():
            record = register().record
            with other.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM verifactu_billingrecord")
                assert cursor.fetchone() == (0,)  # not visible yet
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM verifactu_billingrecord r JOIN verifactu_recordsignature s"
                " ON s.record_id = r.id WHERE r.id = %s",
                [record.pk],
            )
            assert cursor.fetchone() == (1,)
            cursor.execute(
                "SELECT count(*) FROM verifactu_eventrecord e LEFT JOIN "
                "verifactu_recordsignature s ON s.event_id = e.id WHERE s.id IS NULL"
            )
            assert cursor.fetchone() == (0,)
    finally:
        other.close()


def test_every_event_is_signed_when_logged(
    taxpayer, account, register, signing_certificate, simulator, pki
):
    switch(taxpayer)
    record = register().record
    chain = record.chain
    events.log_backup_restored(chain, note="copia")  # 07
    events.log_export([record])  # 08
    events.export_events(taxpayer)  # 09
    events.log_summary(chain)  # 10
    tasks.anomaly_check()  # 03, 05
    assert set(tipos(chain)) == {"01", "07", "08", "09", "10", "03", "05"}
    for event in EventRecord.objects.filter(chain=chain).select_related("signature"):
        assert signers.signature_problem(event) is None, event
        assert "Registro de evento NO VERI*FACTU" in event.signature.signed_xml
    assert SignerCertificate.objects.count() == 1  # kept once for the (account, NIF)


def test_without_a_certificate_nothing_is_stored_and_the_engine_says_why(taxpayer, register):
    forced_no_verifactu(taxpayer)
    with pytest.raises(SigningRefused) as refused:
        register()
    assert [(p.field, p.code) for p in refused.value.problems] == [("certificate", "")]
    assert refused.value.message == signatures.NO_SIGNER.format(nif=taxpayer.nif)
    assert "VERI*FACTU" not in refused.value.message.split("firma al generarse.")[1]
    assert not FiscalInvoice.objects.exists() and not BillingRecord.objects.exists()
    assert not EventRecord.objects.exists() and not RecordSignature.objects.exists()


def test_without_a_certificate_the_v1_api_answers_400_on_the_certificate(taxpayer, v1):  # noqa: F811
    forced_no_verifactu(taxpayer)
    response = register_v1(v1)
    assert response.status_code == 400, response.content
    body = response.json()
    assert NO_SIGNER in body["errors"]["certificate"][0]
    assert not FiscalInvoice.objects.exists() and not EventRecord.objects.exists()


def test_without_a_certificate_the_account_api_answers_400_on_the_certificate(
    taxpayer, api_client, draft
):
    invoice = draft()
    forced_no_verifactu(taxpayer)
    response = api_client.patch(
        f"/api/invoices/{invoice.pk}/status", {"status": "sent"}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert NO_SIGNER in str(response.json())
    invoice.refresh_from_db()
    assert invoice.status == "draft" and not BillingRecord.objects.exists()


def test_without_a_certificate_the_invoice_page_says_why_in_spanish(
    taxpayer, account, owner, login, draft
):
    invoice = draft()
    forced_no_verifactu(taxpayer)
    response = login(owner).post(reverse("invoice_issue", args=[account.slug, invoice.pk]))
    assert response.status_code == 400
    assert NO_SIGNER in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == "draft" and not BillingRecord.objects.exists()


def test_a_cancellation_that_cannot_be_signed_is_refused_on_every_path(
    taxpayer,
    v1,  # noqa: F811 - the fixture imported above
    signing_certificate,
    login,
    owner,
    account,
):
    switch(taxpayer)
    invoice_id = register_v1(v1).json()["data"]["id"]
    Certificate.objects.all().delete()
    response = v1.post(f"/api/v1/invoices/{invoice_id}/cancel")
    assert response.status_code == 400, response.content
    assert NO_SIGNER in response.json()["errors"]["certificate"][0]
    page = login(owner).post(
        reverse("desk_anular", args=[account.slug, invoice_id]), {"reason": "error"}, follow=True
    )
    text = page.content.decode()
    assert NO_SIGNER in text and "La AEAT lo rechazaría" not in text
    assert BillingRecord.objects.count() == 1


def test_a_due_year_end_switch_without_a_certificate_refuses_registrations(
    taxpayer, register, caplog
):
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_until=date(2025, 12, 31))
    taxpayer.refresh_from_db()
    assert modes.apply_due_change(taxpayer, date(2026, 1, 2)) is False  # not applied
    assert "not applied" in caplog.text
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == ("verifactu", date(2025, 12, 31))
    with pytest.raises(SigningRefused, match="O pida volver a VERI\\*FACTU"):
        register()
    assert not BillingRecord.objects.exists() and not EventRecord.objects.exists()
    # Returning to VERI*FACTU cancels the switch: registrations go on, as VERI*FACTU.
    modes.change_mode(taxpayer, modes.VERIFACTU)
    assert register().record.no_verifactu is False


def test_the_tasks_warn_and_go_on_when_a_chain_cannot_sign(
    taxpayer, register, signing_certificate, caplog
):
    switch(taxpayer)
    chain = register().record.chain
    Certificate.objects.all().delete()
    assert tasks.anomaly_check() == 0 and tasks.event_summary() == 0
    assert "not logged" in caplog.text and NO_SIGNER in caplog.text
    assert tipos(chain) == ["01"]


def test_nothing_ever_signs_an_existing_item(taxpayer, register, signing_certificate):
    switch(taxpayer)
    record = register().record
    lift_guards()
    drop_signature(record)
    tasks.anomaly_check()
    tasks.event_summary()
    events.export_events(taxpayer)
    assert not RecordSignature.objects.filter(record=record).exists()
    assert signers.signature_problem(BillingRecord.objects.get(pk=record.pk)) == "not signed"


# --------------------------------------------------------------------------- the mode needs it


def test_a_newer_certificate_the_verifier_would_reject_never_signs(
    account, taxpayer, register, signing_certificate
):
    """Signing checks a certificate as the switch does: one uploaded later from a CA outside
    the bundle refuses the registration instead of signing records that would be anomalies."""
    switch(taxpayer)
    store_certificate(account, Pki().p12("clave"), "clave", taxpayer=taxpayer)
    records = BillingRecord.objects.count()
    with pytest.raises(SigningRefused, match="autoridad de certificación de confianza"):
        register()
    assert BillingRecord.objects.count() == records


def test_an_expired_certificate_stops_issuing_and_leaving_until_a_new_one_is_uploaded(
    account, taxpayer, register, signing_certificate, pki
):
    switch(taxpayer)
    register(invoice_number="F-2026-001")  # the chain's log is open: leaving it logs a 02
    Certificate.objects.filter(pk=signing_certificate.pk).update(
        not_valid_after=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(SigningRefused, match="caducó el .*suba uno vigente") as refused:
        register()
    assert "VERI*FACTU" not in refused.value.message
    with pytest.raises(modes.ModeRefused, match="evento firmado.*caducó el"):
        modes.change_mode(taxpayer, modes.VERIFACTU)
    store_certificate(account, pki.p12("clave"), "clave", taxpayer=taxpayer)
    assert register().record.signature
    assert modes.change_mode(taxpayer, modes.VERIFACTU).mode == modes.VERIFACTU


def test_the_switch_is_refused_without_a_certificate(taxpayer):
    with pytest.raises(modes.ModeRefused) as refused:
        modes.change_mode(taxpayer, NO)
    assert "No hay ningún certificado que pueda firmar por B87654323" in refused.value.reason
    assert refused.value.message_dict == {"verifactu_mode": [refused.value.reason]}
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_mode == "verifactu" and not EventRecord.objects.exists()


def test_the_scheduled_switch_is_refused_too(taxpayer, register):
    register()  # VERI*FACTU used this year: the switch would wait for 1 January
    with pytest.raises(modes.ModeRefused):
        modes.change_mode(taxpayer, NO)
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_until is None


def test_the_switch_is_refused_with_an_expired_certificate(account, taxpayer, signing_ca, pki):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = leaf(pki, key, before=-timedelta(days=30), after=-timedelta(days=1))
    Certificate.objects.create(  # store_certificate refuses it: as if it expired since
        account=account,
        taxpayer=taxpayer,
        subject=cert.subject.rfc4514_string(),
        holder_nif=taxpayer.nif,
        not_valid_after=cert.not_valid_after_utc,
        encrypted_data=encrypt(p12(key, cert, [pki.inter])),
        encrypted_password=encrypt(b"clave"),
    )
    with pytest.raises(modes.ModeRefused, match="caducó el"):
        modes.change_mode(taxpayer, NO)


def test_the_switch_is_refused_with_a_certificate_not_valid_yet(account, taxpayer, signing_ca, pki):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = leaf(pki, key, before=timedelta(days=2), after=timedelta(days=30))
    store_certificate(account, p12(key, cert, [pki.inter]), "clave", taxpayer=taxpayer)
    with pytest.raises(modes.ModeRefused, match="no es válido hasta"):
        modes.change_mode(taxpayer, NO)


def test_the_switch_is_refused_with_an_ec_certificate(account, taxpayer, signing_ca, pki):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = leaf(pki, key, before=-timedelta(minutes=5), after=timedelta(days=30))
    store_certificate(account, p12(key, cert, [pki.inter]), "clave", taxpayer=taxpayer)
    with pytest.raises(modes.ModeRefused, match="no tiene clave RSA"):
        modes.change_mode(taxpayer, NO)


def test_the_switch_is_refused_with_a_certificate_outside_the_ca_bundle(
    account, taxpayer, signing_ca
):
    stranger = Pki()  # its own root, not in the bundle
    store_certificate(account, stranger.p12("clave"), "clave", taxpayer=taxpayer)
    with pytest.raises(modes.ModeRefused, match="autoridad de certificación de confianza"):
        modes.change_mode(taxpayer, NO)


def test_the_switch_is_allowed_with_a_good_certificate(taxpayer, signing_certificate):
    assert signers.signing_problem_for(taxpayer) is None
    assert modes.change_mode(taxpayer, NO).changed


def test_the_form_shows_the_refusal_on_the_mode_and_changes_nothing(
    login, owner, account, taxpayer
):
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.pk])
    data = {
        "nif": taxpayer.nif,
        "name": "Estudio Sol SLU",
        "country": "ES",
        "verifactu_mode": "no_verifactu",
    }
    page = login(owner).get(url).content.decode()
    assert "hace falta haber subido antes un certificado vigente" in page
    response = login(owner).post(url, data)
    assert response.status_code == 400
    form = response.context["form"]
    assert (
        "No hay ningún certificado que pueda firmar por B87654323"
        in form.errors["verifactu_mode"][0]
    )
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.name) == ("verifactu", "Estudio Sol SL")


def test_a_new_taxpayer_starts_in_verifactu(login, owner, account, api_client):
    data = {"nif": "A28045631", "name": "Acme SL", "country": "ES"}
    response = login(owner).post(
        reverse("taxpayer_create", args=[account.slug]), {**data, "verifactu_mode": NO}
    )
    assert "Un contribuyente nuevo empieza en VERI*FACTU" in response.content.decode()
    answer = api_client.post(
        "/api/v1/taxpayers",
        {"nif": "A28045631", "name": "Acme SL", "verifactu_mode": NO},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert "empieza en VERI*FACTU" in answer.json()["errors"]["verifactu_mode"][0]
    assert not Taxpayer.objects.filter(nif="A28045631").exists()


# --------------------------------------------------------------------------- which is trusted


@pytest.fixture
def signed_record(taxpayer, register, signing_certificate):
    switch(taxpayer)
    record = register().record
    lift_guards()
    return record


def replace_signature(record, **columns) -> BillingRecord:
    RecordSignature.objects.filter(record=record).update(**columns)
    return BillingRecord.objects.select_related("signature__signer").get(pk=record.pk)


def test_a_signature_with_a_self_made_key_is_named(signed_record):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name("ESTUDIO SOL SL - B87654323")
    cert = issue(name, key, name, key, ca=False)
    forged = signing.sign_record_xml(
        signed_record.xml, signing.SigningIdentity(key, cert), signing_time=timezone.now()
    )
    problem = signers.signature_problem(replace_signature(signed_record, signed_xml=forged))
    assert problem.startswith("signature: XAdES verification failed")


def test_a_certificate_of_the_trusted_ca_that_is_not_the_kept_signer_is_named(signed_record, pki):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = issue(_name("OTRO - B87654323"), key, pki.inter.subject, pki.inter_key, ca=False)
    signed_at = signed_record.signature.signed_at
    forged = signing.sign_record_xml(
        signed_record.xml, signing.SigningIdentity(key, cert, (pki.inter,)), signing_time=signed_at
    )
    signing.verify_record_signature(forged, pki.ca_pem)  # a good signature, by someone else
    problem = signers.signature_problem(replace_signature(signed_record, signed_xml=forged))
    assert "not by the kept signer certificate" in problem and "OTRO" in problem


def test_a_signing_time_outside_the_validity_period_is_named(signed_record):
    later = signed_record.signature.signer.not_valid_after + timedelta(days=1)
    problem = signers.signature_problem(replace_signature(signed_record, signed_at=later))
    assert "outside the validity of its certificate" in problem


def test_a_tampered_signed_copy_is_named(signed_record):
    signed = signed_record.signature.signed_xml
    tampered = signed.replace("<ImporteTotal>825.00<", "<ImporteTotal>825.01<")
    assert tampered != signed
    problem = signers.signature_problem(replace_signature(signed_record, signed_xml=tampered))
    assert problem.startswith("signature: XAdES verification failed")


def test_the_anomaly_check_reports_another_key(signed_record, pki):
    from verifactu.anomalies import run_anomaly_check

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name("ESTUDIO SOL SL - B87654323")
    forged = signing.sign_record_xml(
        signed_record.xml, signing.SigningIdentity(key, issue(name, key, name, key, ca=False))
    )
    record = replace_signature(signed_record, signed_xml=forged)
    assert [(a.tipo_evento, a.tipo_anomalia) for a in run_anomaly_check(record.chain)] == [
        ("04", "02")
    ]


def test_the_invoice_pages_show_a_kept_signed_record_not_an_aeat_queue(
    login, owner, account, taxpayer, draft, signing_certificate
):
    switch(taxpayer)
    client = login(owner)
    issue = reverse("invoice_issue", args=[account.slug, draft().pk])
    page = client.post(issue, follow=True).content.decode()
    assert "queda firmado y conservado" in page and "en cola para enviarse" not in page
    assert "NO VERI*FACTU · registro firmado" in page and "data-polling" not in page
    assert "Firmado y conservado" in page and "Firmado al generarse con el certificado" in page
    listing = client.get(reverse("invoice_list", args=[account.slug])).content.decode()
    assert ">Conservado<" in listing and "En cola" not in listing


# --------------------------------------------------------------------------- point 6


def test_the_requerimiento_logs_its_08_naming_the_reference(
    taxpayer, register, signing_certificate, simulator
):
    switch(taxpayer)
    record = register().record
    result = requerimiento.send_requested(taxpayer, "REQ-7")
    assert result.sent == 1
    event = EventRecord.objects.filter(chain=record.chain).order_by("position").last()
    assert event.tipo_evento == "08"
    assert "<OtrosDatosEvento>Remisión por requerimiento REQ-7</OtrosDatosEvento>" in event.xml
    assert signers.signature_problem(event) is None


@pytest.fixture
def kept_invoice(taxpayer, issued, signing_certificate):  # noqa: F811 - the fixture imported above
    """An invoice of a NO VERI*FACTU taxpayer, issued: its record signed at birth."""
    switch(taxpayer)
    return issued()


def zip_export(account, taxpayer, owner, settings, tmp_path):
    """The gestoría's ZIP of the first quarter of 2026, built; its job."""
    from transfers import services as transfer_services
    from transfers import tasks as transfer_tasks

    settings.MEDIA_ROOT = tmp_path
    job = transfer_services.start_export(account, taxpayer, owner, 2026, 1)
    transfer_tasks.export_zip(str(job.pk))
    job.refresh_from_db()
    return job


def test_an_unsigned_record_is_never_served(
    kept_invoice, taxpayer, account, owner, login, api_client, settings, tmp_path
):
    invoice = kept_invoice
    lift_guards()
    drop_signature(invoice.fiscal_invoice.latest_record)
    page = login(owner).post(reverse("invoice_xml", args=[account.slug, invoice.pk]), follow=True)
    assert "application/xml" not in page["Content-Type"]
    assert "no tiene firma, así que no se entrega como copia legal" in page.content.decode()
    api = f"/api/v1/invoices/{invoice.fiscal_invoice_id}/xml"
    refused = api_client.post(api)
    assert refused.status_code == 409
    assert "no tiene firma" in refused.json()["errors"]["record"][0]
    modes.change_mode(taxpayer, modes.VERIFACTU)  # a GET serves VERI*FACTU records' XML
    assert api_client.get(api).status_code == 409
    # The quarter's ZIP holds no record XML at all, signed or not.
    job = zip_export(account, taxpayer, owner, settings, tmp_path)
    with zipfile.ZipFile(io.BytesIO((tmp_path / job.result_path).read_bytes())) as archive:
        assert not [name for name in archive.namelist() if name.endswith(".xml")]


def test_an_export_whose_event_cannot_be_signed_is_refused(
    kept_invoice, taxpayer, account, owner, login, api_client, settings, tmp_path
):
    invoice = kept_invoice
    chain = invoice.fiscal_invoice.latest_record.chain
    Certificate.objects.all().delete()
    page = login(owner).post(reverse("invoice_xml", args=[account.slug, invoice.pk]), follow=True)
    assert "No se ha descargado el XML" in page.content.decode()
    assert api_client.post(f"/api/v1/invoices/{invoice.fiscal_invoice_id}/xml").status_code == 409
    events_url = f"/api/v1/taxpayers/{taxpayer.nif}/events.xml"
    assert api_client.post(events_url).status_code == 409
    desk = login(owner).post(
        reverse("event_log_download", args=[account.slug, taxpayer.pk]), follow=True
    )
    assert "No se ha exportado el registro de eventos" in desk.content.decode()
    job = zip_export(account, taxpayer, owner, settings, tmp_path)
    assert job.status == job.Status.FAILED and NO_SIGNER in job.report["message"]
    assert tipos(chain) == ["01"]  # nothing exported, nothing logged


# --------------------------------------------------------------------------- the kept signer


def test_a_signer_certificate_never_changes(taxpayer, register, signing_certificate):
    from django.db import DatabaseError

    from verifactu.models import ImmutableRecordError

    switch(taxpayer)
    register()
    signer = SignerCertificate.objects.get()
    with pytest.raises(ImmutableRecordError):
        signer.save()
    with pytest.raises(ImmutableRecordError):
        signer.delete()
    for column, value in (("fingerprint", "0" * 64), ("not_valid_after", timezone.now())):
        with pytest.raises(DatabaseError), transaction.atomic():
            SignerCertificate.objects.filter(pk=signer.pk).update(**{column: value})


def _migrate(targets):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor.loader.project_state(targets).apps if targets else None


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_signer_of_legacy_signatures(taxpayer, pki):
    """Signatures made before 0018 get, as signer, the certificate their KeyInfo holds, kept
    for the chain's (account, NIF); one without a readable certificate keeps none. Then the
    database guards ``signer_id`` like every other column of a signature."""
    import hashlib

    from django.db import DatabaseError

    from tests.test_events import first_event

    try:
        old = _migrate([("verifactu", "0017_namespaced_installations")])
        chain = old.get_model("verifactu", "Chain").objects.create(
            account_id=taxpayer.account_id,
            issuer_nif=taxpayer.nif,
            producer_nif="B87654323",
            system_id="FA",
            installation_number="TEST-1",
        )
        event = old.get_model("verifactu", "EventRecord")
        signature = old.get_model("verifactu", "RecordSignature")
        built = first_event()
        fields = {
            "chain": chain,
            "tipo_evento": "01",
            "producer_nif": "89890001K",
            "system_id": "77",
            "version": "1.0",
            "installation_number": "383",
            "obligado_nif": taxpayer.nif,
            "generated_at_text": "2024-01-01T19:20:30+01:00",
            "huella": built.huella,
            "xml": built.xml,
        }
        first = event.objects.create(position=1, **fields)
        second = event.objects.create(position=2, previous=first, **fields)
        legacy = signature.objects.create(
            event=first,
            signed_xml=signing.sign_record_xml(built.xml, pki.identity),
            signed_at=timezone.now(),
            certificate_subject="legacy",
            certificate_serial="1",
        )
        unreadable = signature.objects.create(
            event=second,
            signed_xml="<RegistroEvento/>",
            signed_at=timezone.now(),
            certificate_subject="legacy",
            certificate_serial="2",
        )
        _migrate(None)
        kept = RecordSignature.objects.get(pk=legacy.pk).signer
        der = pki.cert.public_bytes(serialization.Encoding.DER)
        assert kept.fingerprint == hashlib.sha256(der).hexdigest()
        assert (kept.account_id, kept.obligado_nif) == (taxpayer.account_id, taxpayer.nif)
        assert kept.not_valid_after == pki.cert.not_valid_after_utc
        assert RecordSignature.objects.get(pk=unreadable.pk).signer is None
        with pytest.raises(DatabaseError), transaction.atomic():
            RecordSignature.objects.filter(pk=unreadable.pk).update(signer=kept)
    finally:
        _migrate(None)
