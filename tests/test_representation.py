"""Who may speak for a NIF: no record leaves for a real AEAT under a NIF the account has not
proved it may present for (verifactu.representation.sending_right).

"Real" here is our simulator with the sandbox off (``VERIFACTU_SANDBOX = False``), so real
SOAP still runs and what would have reached the AEAT is what the simulator received.
Certificates are generated here (cryptography), never downloaded.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse

from factu import env
from factu.models import Account, Taxpayer
from tests.browser import page  # noqa: F401 - the fixture
from tests.certs import self_signed_p12
from tests.conftest import register_for
from verifactu import installations, representation, submission
from verifactu.certificates import store_certificate
from verifactu.models import BillingRecord, Chain, RecordStatus, Representation, Submission

PASSWORD = "clave-de-prueba"
GESTORIA_NIF = "B12345674"
PDF = b"%PDF-1.4\n% signed representation document\n%%EOF\n"


def make_p12(
    *,
    serial: str | None = None,
    org_id: str | None = None,
    common_name: str = "PRUEBA",
    organization: str | None = None,
    seal: bool = False,
    days: int = 30,
) -> bytes:
    """A self-signed PKCS#12 whose subject names a NIF the way AEAT's certificates do."""
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    if org_id:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, org_id))
    return self_signed_p12(attrs, PASSWORD, days, seal=seal)


@pytest.fixture
def real_aeat(simulator, settings):
    """The simulator standing in for the real AEAT: sandbox off, real SOAP on."""
    settings.VERIFACTU_SANDBOX = False
    return simulator


def flushed(record) -> str:
    return submission.flush(record.chain_id).state


def status(record) -> BillingRecord:
    return BillingRecord.objects.get(pk=record.pk)


def gestoria_certificate(account, nif=GESTORIA_NIF, name="Gestoría Ebro SL"):
    return store_certificate(
        account,
        make_p12(org_id=f"VATES-{nif}", organization=name, common_name=name),
        PASSWORD,
        representative_name=name,
    )


# --------------------------------------------------------------------- nothing leaves unproved


def test_no_record_leaves_under_an_unproved_nif_even_with_a_deployment_certificate(
    register, real_aeat, settings, tmp_path
):
    """The attack of issue 16: a deployment-wide certificate used to send under any NIF."""
    deployment = tmp_path / "deployment.p12"
    deployment.write_bytes(make_p12(org_id=f"VATES-{GESTORIA_NIF}", organization="Operador SL"))
    settings.AEAT_CERT_FILE = str(deployment)
    settings.AEAT_CERT_PASSWORD = PASSWORD
    settings.AEAT_CERT_NIFS = frozenset()
    record = register().record

    assert flushed(record) == "held"
    row = status(record)
    assert row.status == RecordStatus.QUEUED  # built, chained, kept: no new status
    assert row.huella == record.huella and row.xml == record.xml
    assert row.aeat_error_code == representation.HELD_CODE
    assert "Suba el certificado" in row.aeat_error_description
    assert "B87654323" in row.aeat_error_description
    assert Submission.objects.count() == 0
    assert real_aeat.snapshot()["records"] == []
    # The beat does not spin on it: the chain is looked at again later, not at once.
    assert submission.chains_due() == []


def test_the_held_reason_reaches_the_v1_status(register, real_aeat, api_client):
    record = register().record
    flushed(record)
    invoice = record.fiscal_invoice
    answer = api_client.get(f"/api/v1/invoices/{invoice.pk}/status")
    assert answer.status_code == 200, answer.content
    body = answer.json()["data"]
    assert body["aeat_status"] == "queued"
    assert body["aeat_response"]["error_code"] == "4112"
    assert "no envía a la AEAT" in body["aeat_response"]["error_description"]


def test_proof_arriving_releases_the_chain(
    register, real_aeat, account, taxpayer, django_capture_on_commit_callbacks
):
    record = register().record
    assert flushed(record) == "held"
    with django_capture_on_commit_callbacks() as callbacks:
        store_certificate(account, make_p12(org_id="VATES-B87654323"), PASSWORD, taxpayer=taxpayer)
    assert callbacks, "storing the proof schedules the held chain's flush"
    assert Chain.objects.get(pk=record.chain_id).next_flush_at is None
    assert submission.chains_due() == [record.chain_id]
    assert flushed(record) == "sent"
    row = status(record)
    assert row.status == RecordStatus.ACCEPTED and row.aeat_error_code == ""
    assert "<Representante>" not in Submission.objects.get().request_xml


def test_a_broker_outage_when_a_proof_arrives_never_fails_storing_it(
    register, real_aeat, account, taxpayer, monkeypatch, django_capture_on_commit_callbacks
):
    """The proof is committed; the flush it asks for is sent after the commit, robustly, and
    the beat flushes the released chain later."""
    from kombu.exceptions import OperationalError

    from verifactu import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    record = register().record
    assert flushed(record) == "held"
    monkeypatch.setattr(tasks.flush_chain, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        store_certificate(account, make_p12(org_id="VATES-B87654323"), PASSWORD, taxpayer=taxpayer)
    assert callbacks
    assert Chain.objects.get(pk=record.chain_id).next_flush_at is None
    assert submission.chains_due() == [record.chain_id]


# ---------------------------------------------------------------- the taxpayer's own certificate


@pytest.mark.parametrize(
    ("nif", "subject"),
    [
        ("B87654323", {"org_id": "VATES-B87654323", "organization": "Estudio Sol SL"}),
        ("12345678Z", {"serial": "IDCES-12345678Z"}),
        ("12345678Z", {"serial": "12345678Z"}),
        # A legal person's representative: the person's serialNumber, the entity's org id.
        ("B87654323", {"serial": "IDCES-12345678Z", "org_id": "VATES-B87654323"}),
    ],
)
def test_the_taxpayers_own_certificate_proves(account, computer_system, real_aeat, nif, subject):
    taxpayer = Taxpayer.objects.create(account=account, nif=nif, name="Titular")
    store_certificate(account, make_p12(**subject), PASSWORD, taxpayer=taxpayer)
    right = representation.sending_right(taxpayer)
    assert (right.allowed, right.basis, right.representante) == (True, "own", None)
    record = register_for(taxpayer, computer_system, "OWN-1").record
    assert flushed(record) == "sent"
    assert status(record).status == RecordStatus.ACCEPTED


def test_a_certificate_of_another_nif_does_not_prove(account, taxpayer, register, real_aeat):
    store_certificate(account, make_p12(serial="IDCES-12345678Z"), PASSWORD, taxpayer=taxpayer)
    right = representation.sending_right(taxpayer)
    assert right.allowed is False
    assert "es de 12345678Z, no de B87654323" in right.reason
    record = register().record
    assert flushed(record) == "held"
    assert real_aeat.snapshot()["records"] == []


def test_an_expired_own_certificate_does_not_prove(account, taxpayer, real_aeat):
    from verifactu.models import Certificate

    store_certificate(account, make_p12(org_id="VATES-B87654323"), PASSWORD, taxpayer=taxpayer)
    Certificate.objects.update(not_valid_after=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert representation.sending_right(taxpayer).allowed is False


def test_identity_is_read_as_the_aeat_reads_it():
    def identity(**kw):
        opened = pkcs12.load_key_and_certificates(make_p12(**kw), PASSWORD.encode())[1]
        return representation.certificate_identity(opened)

    assert identity(serial="IDCES-12345678Z").nif == "12345678Z"
    assert identity(serial="12345678Z").nif == "12345678Z"
    assert identity(org_id="VATES-B87654323", serial="IDCES-12345678Z").nif == "B87654323"
    assert identity(serial="PASES-XX123").nif == ""
    assert identity(org_id="VATFR-12345678901").nif == ""
    assert identity(org_id="VATES-B87654323", seal=True).seal is True
    assert identity(org_id="VATES-B87654323").seal is False


# --------------------------------------------------------------------- a gestoría for many clients


def test_a_gestoria_certificate_serves_several_clients_with_the_right_representante(
    account, computer_system, real_aeat
):
    clients = [
        Taxpayer.objects.create(account=account, nif=nif, name=name)
        for nif, name in (
            ("B87654323", "Estudio Sol SL"),
            ("12345678Z", "Ana Pérez"),
            ("A28045631", "Cliente Sin Papeles SA"),
        )
    ]
    chosen = gestoria_certificate(account)
    # Uploaded later, never chosen: "the latest uploaded" must not be what serves.
    gestoria_certificate(account, nif="A58818501", name="Otra Gestoría SA")
    representation.record_representation(
        clients[0],
        kind="apoderamiento",
        certificate=chosen,
        reference="AP-2026-000123",
        scope="GENERALLEY58",
    )
    representation.record_representation(
        clients[1],
        kind="colaborador_social",
        certificate=chosen,
        document=PDF,
        document_name="representacion-ana.pdf",
    )
    records = [register_for(t, computer_system, f"G-{i}").record for i, t in enumerate(clients)]

    assert [flushed(r) for r in records] == ["sent", "sent", "held"]
    for taxpayer in clients[:2]:
        sent = Submission.objects.get(chain__issuer_nif=taxpayer.nif).request_xml
        assert (
            f"<ObligadoEmision><NombreRazon>{taxpayer.name}</NombreRazon>"
            f"<NIF>{taxpayer.nif}</NIF></ObligadoEmision>"
            "<Representante><NombreRazon>Gestoría Ebro SL</NombreRazon>"
            f"<NIF>{GESTORIA_NIF}</NIF></Representante>"
        ) in sent.replace("sf:", "").replace("sfLR:", "")
    assert not Submission.objects.filter(chain__issuer_nif="A28045631").exists()
    assert status(records[2]).status == RecordStatus.QUEUED
    received = {(r["num_serie"], r["nif_presentador"]) for r in real_aeat.snapshot()["records"]}
    assert received == {("G-0", GESTORIA_NIF), ("G-1", GESTORIA_NIF)}


def test_a_representation_needs_its_reference_scope_or_document(account, taxpayer, real_aeat):
    cert = gestoria_certificate(account)
    representation.record_representation(taxpayer, kind="apoderamiento", certificate=cert)
    right = representation.sending_right(taxpayer)
    assert not right.allowed and "referencia y el ámbito" in right.reason
    representation.record_representation(taxpayer, reference="AP-1", scope="VERIFACTU")
    assert representation.sending_right(taxpayer).allowed
    representation.record_representation(taxpayer, kind="colaborador_social")
    right = representation.sending_right(taxpayer)
    assert not right.allowed and "documento de representación" in right.reason
    representation.record_representation(taxpayer, certificate=None)
    assert "Elija qué certificado" in representation.sending_right(taxpayer).reason


def test_a_representation_cannot_use_another_accounts_or_a_clients_certificate(
    account, taxpayer, other_account
):
    foreign = gestoria_certificate(other_account)
    own_of_client = store_certificate(
        account, make_p12(org_id="VATES-B87654323"), PASSWORD, taxpayer=taxpayer
    )
    for cert in (foreign, own_of_client):
        with pytest.raises(ValidationError) as info:
            representation.record_representation(taxpayer, certificate=cert)
        assert "certificate" in info.value.message_dict
    assert not Representation.objects.filter(taxpayer=taxpayer, certificate__isnull=False).exists()


def test_the_representation_document_is_size_and_type_checked(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.REPRESENTATION_DOCUMENT_MAX_BYTES = 2048
    assert representation.read_document(SimpleUploadedFile("r.pdf", PDF)) == PDF
    with pytest.raises(ValidationError, match="tamaño máximo"):
        representation.read_document(SimpleUploadedFile("r.pdf", PDF + b"x" * 4096))
    with pytest.raises(ValidationError, match="PDF, PNG o JPEG"):
        representation.read_document(SimpleUploadedFile("r.html", b"<html>"))


def test_a_representative_nif_must_be_the_certificates(account):
    with pytest.raises(ValidationError) as info:
        store_certificate(
            account,
            make_p12(org_id=f"VATES-{GESTORIA_NIF}"),
            PASSWORD,
            representative_nif="A28045631",
            representative_name="Suplantador SA",
        )
    assert GESTORIA_NIF in info.value.message_dict["representative_nif"][0]


# --------------------------------------------------------------------- the deployment's allow-list


def test_the_deployment_certificate_sends_only_for_allow_listed_nifs(
    account, computer_system, real_aeat, settings, tmp_path
):
    deployment = tmp_path / "deployment.p12"
    deployment.write_bytes(
        make_p12(org_id=f"VATES-{GESTORIA_NIF}", organization="Operador SL", common_name="Op")
    )
    settings.AEAT_CERT_FILE = str(deployment)
    settings.AEAT_CERT_PASSWORD = PASSWORD
    settings.AEAT_CERT_NIFS = frozenset({(str(account.pk), "B87654323")})
    listed = Taxpayer.objects.create(account=account, nif="B87654323", name="Listada SL")
    other = Taxpayer.objects.create(account=account, nif="12345678Z", name="No Listado")
    a = register_for(listed, computer_system, "L-1").record
    b = register_for(other, computer_system, "L-2").record
    assert (flushed(a), flushed(b)) == ("sent", "held")
    sent = Submission.objects.get().request_xml
    assert f"<NIF>{GESTORIA_NIF}</NIF></Representante>" in sent.replace("sf:", "")
    assert representation.sending_right(listed).basis == "allow_list"


def test_an_allow_listed_nif_registered_in_another_account_does_not_send(
    account, other_account, real_aeat, settings, tmp_path
):
    """A NIF is unique only within an account: the operator vouches for (account, NIF)."""
    deployment = tmp_path / "deployment.p12"
    deployment.write_bytes(make_p12(org_id=f"VATES-{GESTORIA_NIF}", organization="Operador SL"))
    settings.AEAT_CERT_FILE = str(deployment)
    settings.AEAT_CERT_PASSWORD = PASSWORD
    settings.AEAT_CERT_NIFS = frozenset({(str(account.pk), "B87654323")})
    stranger = Taxpayer.objects.create(account=other_account, nif="B87654323", name="Copia SL")
    installation = installations.create_installation(other_account, "copia")
    record = register_for(stranger, installation, "S-1").record

    assert flushed(record) == "held"
    assert Submission.objects.count() == 0
    assert representation.describe(stranger)["deployment_certificate_allowed"] is False


def test_a_bare_nif_in_the_allow_list_is_refused_at_start_up(monkeypatch):
    monkeypatch.setenv("AEAT_CERT_NIFS", "B87654323")
    with pytest.raises(ImproperlyConfigured, match="account id"):
        env.deployment_certificate_allow_list("AEAT_CERT_NIFS")
    account_id = "0b7f3f5e-4f0a-4a53-9d54-5a1f8c3b2a10"
    monkeypatch.setenv("AEAT_CERT_NIFS", f" {account_id}:b87654323 ,")
    pairs = env.deployment_certificate_allow_list("AEAT_CERT_NIFS")
    assert pairs == frozenset({(account_id, "B87654323")})


def test_an_unreadable_deployment_certificate_holds_records_but_not_the_pages(
    register, real_aeat, settings, tmp_path, taxpayer, login, owner, account
):
    settings.AEAT_CERT_FILE = str(tmp_path / "gone.p12")
    settings.AEAT_CERT_NIFS = frozenset({(str(account.pk), taxpayer.nif)})
    record = register().record
    assert flushed(record) == "held"
    shown = login(owner).get(reverse("representation_edit", args=[account.slug, taxpayer.pk]))
    assert shown.status_code == 200 and "Suba el certificado" in shown.content.decode()


# --------------------------------------------------------------------- seal certificates


def test_a_seal_certificate_goes_to_the_seal_endpoint(
    account, taxpayer, register, real_aeat, settings
):
    settings.AEAT_SEAL_ENDPOINT = real_aeat.base_url + "/wlpl/TIKE-CONT/ws/SistemaFacturacion/Sello"
    store_certificate(
        account, make_p12(org_id="VATES-B87654323", seal=True), PASSWORD, taxpayer=taxpayer
    )
    record = register().record
    assert flushed(record) == "sent"
    assert Submission.objects.get().endpoint == settings.AEAT_SEAL_ENDPOINT


def test_seal_endpoints_are_aeats_seal_hosts(settings):
    settings.AEAT_SEAL_ENDPOINT = ""
    path = "/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP"
    for host, seal_host in representation.AEAT_HOSTS.items():
        assert representation.seal_endpoint(f"https://{host}{path}") == (
            f"https://{seal_host}{path}"
        )
    assert representation.seal_endpoint("http://127.0.0.1:8001" + path) == (
        "http://127.0.0.1:8001" + path
    )


# --------------------------------------------------------------------- the sandbox


def test_the_sandbox_lets_every_nif_send_against_the_simulator(register, simulator):
    assert representation.sandbox_active()
    record = register().record
    assert flushed(record) == "sent"
    assert representation.sending_right(record.fiscal_invoice.taxpayer).basis == "sandbox"


def test_the_sandbox_never_applies_off_loopback(settings):
    settings.VERIFACTU_SANDBOX = True
    settings.AEAT_ENDPOINT = "https://prewww1.aeat.es/wlpl/TIKE-CONT/ws/SistemaFacturacion/X"
    assert representation.sandbox_active() is False


def test_the_sandbox_setting_is_refused_with_a_real_endpoint(monkeypatch):
    real = (
        "https://www1.agenciatributaria.gob.es/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP"
    )
    monkeypatch.setenv("VERIFACTU_SANDBOX", "true")
    with pytest.raises(ImproperlyConfigured, match="VERIFACTU_SANDBOX"):
        env.sandbox_setting("VERIFACTU_SANDBOX", {"AEAT_ENDPOINT": real})
    monkeypatch.delenv("VERIFACTU_SANDBOX")
    assert env.sandbox_setting("VERIFACTU_SANDBOX", {"AEAT_ENDPOINT": real}) is False
    local = "http://127.0.0.1:8001/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP"
    assert env.sandbox_setting("VERIFACTU_SANDBOX", {"AEAT_ENDPOINT": local}) is True


def test_a_process_with_the_sandbox_and_a_real_endpoint_does_not_start(tmp_path):
    run_env = {
        **os.environ,
        "FACTU_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "factu.settings",
        "AEAT_ENDPOINT": "https://prewww1.aeat.es/wlpl/TIKE-CONT/ws/SistemaFacturacion/VerifactuSOAP",
        "VERIFACTU_SANDBOX": "1",
    }
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=run_env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and "VERIFACTU_SANDBOX" in done.stderr


def test_tenancy_an_account_proves_nothing_for_another_accounts_taxpayer(
    account, other_account, real_aeat
):
    """A representative certificate of one account never serves another account's NIF,
    even the same NIF registered in both."""
    cert = gestoria_certificate(account)
    mine = Taxpayer.objects.create(account=account, nif="A28045631", name="Compartido SA")
    representation.record_representation(
        mine, kind="apoderamiento", certificate=cert, reference="AP-9", scope="GENERALLEY58"
    )
    theirs = Taxpayer.objects.get(account=other_account, nif="A28045631")
    assert representation.sending_right(mine).allowed
    assert representation.sending_right(theirs).allowed is False
    assert Account.objects.count() == 2


# --------------------------------------------------------------------- the API


URL = "/api/v1/taxpayers/{}/representation"


def test_api_tells_what_proof_holds_and_records_an_apoderamiento(
    api_client, account, taxpayer, real_aeat
):
    answer = api_client.get(URL.format(taxpayer.nif))
    assert answer.status_code == 200, answer.content
    data = answer.json()["data"]
    assert data["may_send"] is False and data["basis"] is None
    assert "Suba el certificado" in data["message"]

    cert = gestoria_certificate(account)
    answer = api_client.put(
        URL.format(taxpayer.nif),
        {
            "kind": "apoderamiento",
            "certificate_id": str(cert.pk),
            "reference": "AP-2026-77",
            "scope": "GENERALLEY58",
        },
        content_type="application/json",
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()["data"]
    assert (data["may_send"], data["basis"]) == (True, "apoderamiento")
    assert data["representante"] == {"nif": GESTORIA_NIF, "name": "Gestoría Ebro SL"}
    assert data["representation"]["certificate"]["id"] == str(cert.pk)


def test_api_uploads_the_representation_document_as_multipart(
    api_client, account, taxpayer, settings
):
    cert = gestoria_certificate(account)
    from django.core.files.uploadedfile import SimpleUploadedFile

    answer = api_client.post(
        URL.format(taxpayer.nif),
        {
            "kind": "colaborador_social",
            "certificate_id": str(cert.pk),
            "document": SimpleUploadedFile("rep.pdf", PDF, "application/pdf"),
        },
    )
    assert answer.status_code == 200, answer.content
    data = answer.json()["data"]
    assert (data["may_send"], data["basis"]) == (True, "colaborador_social")
    assert data["representation"]["document"]["size"] == len(PDF)
    settings.REPRESENTATION_DOCUMENT_MAX_BYTES = 1024
    answer = api_client.post(
        URL.format(taxpayer.nif),
        {"document": SimpleUploadedFile("big.pdf", PDF + b"0" * 2048, "application/pdf")},
    )
    assert answer.status_code == 400
    assert "document" in answer.json()["errors"]


def test_one_idempotency_key_with_another_document_is_a_conflict(api_client, account, taxpayer):
    """A multipart body is compared by its fields and its files' contents, not their names."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    cert = gestoria_certificate(account)

    def upload(content: bytes):
        return api_client.post(
            URL.format(taxpayer.nif),
            {
                "kind": "colaborador_social",
                "certificate_id": str(cert.pk),
                "document": SimpleUploadedFile("rep.pdf", content, "application/pdf"),
            },
            HTTP_IDEMPOTENCY_KEY="rep-upload-1",
        )

    assert upload(PDF).status_code == 200
    replay = upload(PDF)
    assert replay.status_code == 200 and replay["Idempotent-Replayed"] == "true"
    assert upload(PDF + b"% another").status_code == 409


def test_api_refuses_another_accounts_certificate_and_nif(
    api_client, account, taxpayer, other_account
):
    foreign = gestoria_certificate(other_account)
    answer = api_client.put(
        URL.format(taxpayer.nif),
        {"certificate_id": str(foreign.pk)},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert "certificate_id" in answer.json()["errors"]
    # The other account's taxpayer is not there at all.
    assert api_client.get(URL.format("A28045631")).status_code == 404
    put = api_client.put(
        URL.format("A28045631"), {"kind": "apoderamiento"}, content_type="application/json"
    )
    assert put.status_code == 404
    assert not Representation.objects.filter(taxpayer__account=other_account).exists()


def test_api_representation_is_written_by_owners_and_admins_only(client, account, taxpayer):
    from api.services import create_token
    from factu.models import Membership, Role
    from tests.conftest import make_user

    accountant = make_user("contable@example.com")
    Membership.objects.create(user=accountant, account=account, role=Role.ACCOUNTANT)
    _, raw = create_token(account, accountant, "contable")
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    assert client.get(URL.format(taxpayer.nif)).status_code == 200
    answer = client.put(
        URL.format(taxpayer.nif), {"kind": "apoderamiento"}, content_type="application/json"
    )
    assert answer.status_code == 403


# --------------------------------------------------------------------- the desk


def test_the_desk_refuses_a_representation_from_an_accountant(login, account, taxpayer):
    from factu.models import Membership, Role
    from tests.conftest import make_user

    accountant = make_user("contable@example.com")
    Membership.objects.create(user=accountant, account=account, role=Role.ACCOUNTANT)
    browser = login(accountant)
    url = reverse("representation_edit", args=[account.slug, taxpayer.pk])
    assert browser.get(url).status_code == 200  # reads what proof holds
    answer = browser.post(url, {"kind": "apoderamiento", "reference": "X", "scope": "Y"})
    assert answer.status_code == 403
    assert not Representation.objects.filter(taxpayer=taxpayer).exists()


def test_the_desk_and_the_taxpayer_pages_say_what_to_upload(
    login, owner, account, taxpayer, register, real_aeat
):
    record = register().record
    assert flushed(record) == "held"
    client = login(owner)
    desk = client.get(f"/c/{account.slug}/mesa/")
    assert desk.status_code == 200
    html = desk.content.decode()
    assert f'data-held="{taxpayer.nif}"' in html and "Suba el certificado" in html
    summary = client.get(f"/c/{account.slug}/mesa/resumen/").content.decode()
    assert f'data-held="{taxpayer.nif}"' in summary
    shown = client.get(f"/c/{account.slug}/ajustes/representacion/{taxpayer.pk}/")
    assert shown.status_code == 200 and 'data-may-send="0"' in shown.content.decode()


def test_the_desk_records_a_representation_and_the_chain_flushes(
    login, owner, account, taxpayer, register, real_aeat
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    record = register().record
    assert flushed(record) == "held"
    cert = gestoria_certificate(account)
    client = login(owner)
    url = f"/c/{account.slug}/ajustes/representacion/{taxpayer.pk}/"
    answer = client.post(
        url,
        {
            "kind": "colaborador_social",
            "certificate": str(cert.pk),
            "document": SimpleUploadedFile("firmado.pdf", PDF, "application/pdf"),
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    rep = Representation.objects.get(taxpayer=taxpayer)
    assert rep.certificate == cert and rep.document_size == len(PDF)
    assert representation.sending_right(taxpayer).basis == "colaborador_social"
    assert flushed(record) == "sent"
    listing = client.get(f"/c/{account.slug}/ajustes/representacion/").content.decode()
    assert f'data-representation="{taxpayer.nif}" data-may-send="1"' in listing


def test_another_accounts_taxpayer_has_no_representation_page(login, owner, account, other_account):
    theirs = Taxpayer.objects.get(account=other_account)
    client = login(owner)
    assert client.get(f"/c/{account.slug}/ajustes/representacion/{theirs.pk}/").status_code == 404


def test_a_requerimiento_answer_needs_the_same_proof(register, real_aeat):
    from verifactu import requerimiento
    from verifactu.certificates import NotAuthorised

    record = register().record
    with pytest.raises(NotAuthorised) as info:
        requerimiento.connect(Chain.objects.get(pk=record.chain_id))
    assert "Suba el certificado" in info.value.reason


@pytest.mark.browser
def test_the_representation_and_system_pages_fit_a_phone(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
):
    """Their tables scroll inside their box; the page itself never pans at 390 px, also with
    the document's error on the form."""
    from tests.browser import screenshot
    from tests.test_journeys import log_in

    installations.create_installation(account, "tpv-tienda-principal")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, owner.email)
    settings_url = f"{live_server.url}/c/{account.slug}/ajustes"
    page.goto(f"{settings_url}/representacion/")
    page.get_by_role("link", name="Registrar la representación").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "representation-list-phone")
    page.get_by_role("link", name="Registrar la representación").first.click()
    page.get_by_label("¿Cómo representa a este contribuyente?").select_option("colaborador_social")
    page.set_input_files(
        "input[name=document]",
        files=[{"name": "nota.txt", "mimeType": "text/plain", "buffer": b"hola"}],
    )
    page.get_by_role("button", name="Guardar la representación").click()
    page.get_by_text("debe ser un PDF, PNG o JPEG").first.wait_for()  # and in the summary
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "representation-error-phone")
    page.goto(f"{settings_url}/sistema/")
    page.get_by_text("tpv-tienda-principal").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "computer-systems-phone")
