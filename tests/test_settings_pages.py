"""Settings in the browser: members and roles, taxpayers, certificates, computer systems."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from factu.models import Membership, Role, Taxpayer
from tests.certs import self_signed_p12
from tests.conftest import make_user
from verifactu.certificates import decrypt
from verifactu.models import Certificate
from verifactu.simulator.testcerts import generate_test_certs


def members_url(account) -> str:
    return reverse("member_list", args=[account.slug])


def membership(user, account) -> Membership:
    return Membership.objects.get(user=user, account=account)


def add_member(account, email: str, role: str):
    user = make_user(email)
    Membership.objects.create(user=user, account=account, role=role)
    return user


# -- members and roles ----------------------------------------------------------------------


def test_owner_sees_members_and_can_invite(login, owner, viewer, account):
    page = login(owner).get(members_url(account)).content.decode()
    assert "owner@example.com" in page and "viewer@example.com" in page
    assert "Solo lectura" in page and "Enviar invitación" in page
    assert "(único propietario)" in page


def test_viewer_reads_members_but_cannot_change_anything(login, owner, viewer, account):
    client = login(viewer)
    page = client.get(members_url(account)).content.decode()
    assert "owner@example.com" in page and "Enviar invitación" not in page
    assert (
        client.post(members_url(account), {"email": "x@example.com", "role": "viewer"}).status_code
        == 403
    )
    target = membership(owner, account)
    role_url = reverse("member_role", args=[account.slug, target.id])
    assert client.post(role_url, {"role": Role.VIEWER}).status_code == 403
    remove_url = reverse("member_remove", args=[account.slug, target.id])
    assert client.get(remove_url).status_code == 403
    assert client.post(remove_url).status_code == 403
    assert membership(owner, account).role == Role.OWNER


def test_outsiders_get_404_on_every_settings_page(login, outsider, owner, account):
    client = login(outsider)
    target = membership(owner, account)
    for url in [
        members_url(account),
        reverse("member_role", args=[account.slug, target.id]),
        reverse("member_remove", args=[account.slug, target.id]),
        reverse("certificate_list", args=[account.slug]),
        reverse("computer_systems", args=[account.slug]),
    ]:
        assert client.get(url).status_code in (404, 405), url
        assert client.post(url, {"role": Role.VIEWER}).status_code == 404, url
    assert membership(owner, account).role == Role.OWNER


def test_another_accounts_member_is_404(login, owner, account, accountant_elsewhere, other_account):
    foreign = membership(accountant_elsewhere, other_account)
    client = login(owner)
    role_url = reverse("member_role", args=[account.slug, foreign.id])
    assert client.post(role_url, {"role": Role.VIEWER}).status_code == 404
    assert client.post(reverse("member_remove", args=[account.slug, foreign.id])).status_code == 404
    assert membership(accountant_elsewhere, other_account).role == Role.ACCOUNTANT


def test_owner_changes_a_role(login, owner, viewer, account):
    target = membership(viewer, account)
    url = reverse("member_role", args=[account.slug, target.id])
    assert login(owner).post(url, {"role": Role.ACCOUNTANT}).status_code == 302
    assert membership(viewer, account).role == Role.ACCOUNTANT


def test_the_last_owner_cannot_be_demoted_or_removed(login, owner, account):
    client = login(owner)
    mine = membership(owner, account)
    response = client.post(
        reverse("member_role", args=[account.slug, mine.id]), {"role": Role.ADMIN}, follow=True
    )
    assert "último propietario" in response.content.decode()
    assert membership(owner, account).role == Role.OWNER
    response = client.post(reverse("member_remove", args=[account.slug, mine.id]), follow=True)
    assert "último propietario" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_with_a_second_owner_the_first_may_step_down_and_leave(login, owner, account):
    second = add_member(account, "second@example.com", Role.OWNER)
    client = login(owner)
    mine = membership(owner, account)
    client.post(reverse("member_role", args=[account.slug, mine.id]), {"role": Role.ADMIN})
    assert membership(owner, account).role == Role.ADMIN
    # Now the second is the last owner: the (admin) first cannot touch them.
    theirs = membership(second, account)
    response = client.post(
        reverse("member_role", args=[account.slug, theirs.id]), {"role": "viewer"}
    )
    assert response.status_code == 403
    response = client.post(reverse("member_remove", args=[account.slug, mine.id]))
    assert response.status_code == 302 and response["Location"] == reverse("account_list")
    assert not Membership.objects.filter(pk=mine.pk).exists()


def test_an_admin_cannot_grant_ownership_or_invite_owners(login, owner, account):
    admin = add_member(account, "admin@example.com", Role.ADMIN)
    viewer_user = add_member(account, "v2@example.com", Role.VIEWER)
    client = login(admin)
    page = client.get(members_url(account)).content.decode()
    assert 'value="owner"' not in page
    target = membership(viewer_user, account)
    response = client.post(
        reverse("member_role", args=[account.slug, target.id]), {"role": "owner"}
    )
    assert response.status_code == 403
    assert membership(viewer_user, account).role == Role.VIEWER
    response = client.post(members_url(account), {"email": "x@example.com", "role": "owner"})
    assert response.status_code == 200 and "owner" not in [
        i.role for i in account.invitations.all()
    ]
    # An admin may remove a non-owner.
    response = client.post(reverse("member_remove", args=[account.slug, target.id]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=target.pk).exists()


def test_settings_navigation_is_on_the_settings_pages(login, owner, account):
    client = login(owner)
    for name in ("member_list", "certificate_list", "computer_systems"):
        page = client.get(reverse(name, args=[account.slug])).content.decode()
        assert 'aria-label="Ajustes"' in page, name
        assert reverse("api_token_list", args=[account.slug]) in page


# -- taxpayers ------------------------------------------------------------------------------


def test_taxpayer_form_offers_both_modes_with_the_rule_and_saves_the_irpf(
    login, owner, account, taxpayer
):
    client = login(owner)
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.id])
    page = client.get(url).content.decode()
    assert 'value="verifactu"' in page and 'value="no_verifactu"' in page
    assert "hasta el 31 de" in page  # the year-end rule is explained
    assert "15 % (profesionales)" in page
    response = client.post(
        url,
        {
            "nif": taxpayer.nif,
            "name": taxpayer.name,
            "country": "ES",
            "default_irpf_bp": "1500",
            "verifactu_mode": "verifactu",
        },
    )
    assert response.status_code == 302
    taxpayer.refresh_from_db()
    assert taxpayer.default_irpf_bp == 1500
    assert taxpayer.verifactu_mode == Taxpayer.VerifactuMode.VERIFACTU
    bogus = client.post(
        url,
        {
            "nif": taxpayer.nif,
            "name": taxpayer.name,
            "country": "ES",
            "default_irpf_bp": "1500",
            "verifactu_mode": "no-verifactu",
        },
    )
    assert bogus.status_code == 400 and "verifactu_mode" in bogus.context["form"].errors


def test_a_gestoria_adds_taxpayers_with_their_irpf(login, owner, account, taxpayer):
    response = login(owner).post(
        reverse("taxpayer_create", args=[account.slug]),
        {"nif": "12345678Z", "name": "Ana Ruiz", "country": "ES", "default_irpf_bp": "700"},
    )
    assert response.status_code == 302
    created = Taxpayer.objects.get(account=account, nif="12345678Z")
    assert (created.default_irpf_bp, created.verifactu_mode) == (700, "verifactu")


def test_an_irpf_set_through_the_api_stays_selectable(login, owner, account, taxpayer):
    taxpayer.default_irpf_bp = 250
    taxpayer.save()
    page = login(owner).get(reverse("taxpayer_edit", args=[account.slug, taxpayer.id]))
    assert "2,50 %" in page.content.decode()


# -- certificates ---------------------------------------------------------------------------


def make_p12(days: float, password: str, common_name: str = "CERT CORTO - 12345678Z") -> bytes:
    return self_signed_p12([x509.NameAttribute(NameOID.COMMON_NAME, common_name)], password, days)


def upload(client, account, data: bytes, password: str, **fields):
    return client.post(
        reverse("certificate_list", args=[account.slug]),
        {
            "file": SimpleUploadedFile("cert.p12", data, "application/x-pkcs12"),
            "password": password,
            **fields,
        },
        follow=True,
    )


def assert_secret_absent(content: bytes, data: bytes, password: str) -> None:
    assert password.encode() not in content
    assert data not in content
    assert base64.b64encode(data) not in content
    assert data.hex().encode() not in content


def test_upload_a_taxpayers_certificate(login, owner, account, taxpayer, tmp_path):
    certs = generate_test_certs(tmp_path)
    data, password = certs.client_p12.read_bytes(), certs.client_p12_password
    client = login(owner)
    response = upload(client, account, data, password, owner=str(taxpayer.id))
    assert response.redirect_chain[-1][0] == reverse("certificate_list", args=[account.slug])
    stored = Certificate.objects.get(account=account)
    assert stored.taxpayer == taxpayer and "PRUEBAS FACTU" in stored.subject
    assert decrypt(stored.encrypted_data) == data
    assert decrypt(stored.encrypted_password).decode() == password
    page = response.content.decode()
    assert "PRUEBAS FACTU" in page and stored.not_valid_after.strftime("%Y") in page
    # The test CA issues for two days: badge and message warn.
    assert 'data-expiry="warn"' in page and "Atención: este certificado caduca" in page
    for url in [
        reverse("certificate_list", args=[account.slug]),
        reverse("dashboard", args=[account.slug]),
        reverse("taxpayer_edit", args=[account.slug, taxpayer.id]),
        reverse("computer_systems", args=[account.slug]),
    ]:
        assert_secret_absent(client.get(url).content, data, password)
    assert_secret_absent(response.content, data, password)


def test_a_long_lived_certificate_has_no_warning(login, owner, account, taxpayer):
    data = make_p12(400, "larga-vida")
    page = upload(login(owner), account, data, "larga-vida", owner=str(taxpayer.id)).content
    page = page.decode()
    assert 'data-expiry="ok"' in page and "Vigente" in page
    assert 'data-expiry="warn"' not in page and 'role="alert"' not in page
    assert "Atención: este certificado caduca" not in page


def test_a_certificate_expiring_within_30_days_is_flagged(login, owner, account, taxpayer):
    data = make_p12(20, "corta-vida")
    client = login(owner)
    page = upload(client, account, data, "corta-vida", owner=str(taxpayer.id)).content.decode()
    assert 'data-expiry="warn"' in page and "Caduca en 19 días" in page
    again = client.get(reverse("certificate_list", args=[account.slug])).content.decode()
    assert 'role="alert"' in again and "Suba uno nuevo antes" in again


def test_an_expired_certificate_shows_as_expired(login, owner, account, taxpayer, settings):
    from django.utils import timezone

    Certificate.objects.create(
        account=account,
        taxpayer=taxpayer,
        subject="CN=VIEJO",
        not_valid_after=timezone.now() - dt.timedelta(days=1),
        encrypted_data=b"x",
        encrypted_password=b"x",
    )
    page = login(owner).get(reverse("certificate_list", args=[account.slug])).content.decode()
    assert 'data-expiry="bad"' in page and "Caducado" in page


def test_a_wrong_password_is_an_error_on_the_form(login, owner, account, taxpayer, tmp_path):
    certs = generate_test_certs(tmp_path)
    data = certs.client_p12.read_bytes()
    response = upload(login(owner), account, data, "no-es-esta", owner=str(taxpayer.id))
    page = response.content.decode()
    assert response.status_code == 200
    assert "No se puede abrir el certificado con esa contraseña" in page
    assert not Certificate.objects.exists()
    assert_secret_absent(response.content, data, "no-es-esta")
    assert_secret_absent(response.content, data, certs.client_p12_password)


def test_a_representative_certificate_needs_a_valid_nif_and_a_name(login, owner, account, taxpayer):
    data = make_p12(400, "rep")
    client = login(owner)
    page = upload(
        client, account, data, "rep", owner="representante", representative_nif="123"
    ).content.decode()
    assert 'id="id_representative_nif_error"' in page
    assert not Certificate.objects.exists()
    upload(
        client,
        account,
        data,
        "rep",
        owner="representante",
        representative_nif="B87654323",
        representative_name="Gestoría Sol",
    )
    stored = Certificate.objects.get()
    assert stored.taxpayer is None
    assert (stored.representative_nif, stored.representative_name) == ("B87654323", "Gestoría Sol")


def test_only_owners_and_admins_upload_certificates(login, viewer, account, taxpayer):
    accountant = add_member(account, "contable@example.com", Role.ACCOUNTANT)
    data = make_p12(400, "x")
    for user in (viewer, accountant):
        client = login(user)
        page = client.get(reverse("certificate_list", args=[account.slug])).content.decode()
        assert "Subir un certificado" not in page
        response = client.post(
            reverse("certificate_list", args=[account.slug]),
            {"file": SimpleUploadedFile("c.p12", data), "password": "x", "owner": str(taxpayer.id)},
        )
        assert response.status_code == 403
    assert not Certificate.objects.exists()


def test_another_accounts_taxpayer_cannot_be_chosen(login, owner, account, other_account):
    foreign = other_account.taxpayers.get()
    response = upload(login(owner), account, make_p12(400, "x"), "x", owner=str(foreign.id))
    assert response.status_code == 200 and 'id="id_owner_error"' in response.content.decode()
    assert not Certificate.objects.exists()


# -- computer systems -----------------------------------------------------------------------


@override_settings(
    FACTU_SIF_PRODUCER_NAME="Productora Propia SL", FACTU_SIF_PRODUCER_NIF="A28045631"
)
def test_computer_system_page_before_the_first_invoice(login, viewer, account, taxpayer):
    page = login(viewer).get(reverse("computer_systems", args=[account.slug])).content.decode()
    assert "Se creará con este número" in page
    assert f"{account.pk}-factu" in page
    assert "Productora Propia SL" in page and "A28045631" in page
    assert "Ninguna." in page


@pytest.mark.parametrize("with_api_system", [True, False])
def test_computer_system_page_lists_factus_own_and_the_apis(
    login, owner, account, taxpayer, settings, with_api_system
):
    from verifactu import installations

    installations.default_installation(account.pk)
    if with_api_system:
        installations.create_installation(account, "almacen-2")
    page = login(owner).get(reverse("computer_systems", args=[account.slug])).content.decode()
    assert f"{account.pk}-factu" in page and "Se creará" not in page
    assert settings.FACTU_SIF_VERSION in page
    assert (
        "almacen-2" in page
        and f"{account.pk}-almacen-2" in page
        and "multi obligado posible" in page
    ) is with_api_system
