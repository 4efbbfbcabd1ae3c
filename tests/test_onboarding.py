"""Onboarding in the browser: sign-up, password reset and invitations."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from factu import services
from factu.models import Account, Invitation, Membership, Role, Taxpayer, User
from factu.signals import signed_up
from tests.conftest import make_user, sign_up_through_the_link

SIGN_UP = {
    "full_name": "Ana Ruiz",
    "email": "Ana@Example.com",
    "password": "una clave bastante larga",
    "account_kind": "autonomo",
    "account_name": "Ana Ruiz Diseño",
    "taxpayer_nif": "12345678z",
    "taxpayer_name": "Ana Ruiz",
}


def field_error(page: str, field: str) -> str:
    """The error text rendered next to a field by ``factu/_field.html``."""
    found = re.search(rf'<div class="error" id="id_{field}_error">(.*?)</div>', page, re.S)
    return " ".join(re.findall(r"<p>([^<]*)</p>", found.group(1))) if found else ""


def link_in(message) -> str:
    match = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert match, message.body
    return match.group(1)


# -- sign-up --------------------------------------------------------------------------------


def test_sign_up_creates_user_account_taxpayer_and_signs_in(client, db):
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    signed_up.connect(receiver)
    try:
        response = sign_up_through_the_link(client, SIGN_UP)
    finally:
        signed_up.disconnect(receiver)
    user = User.objects.get(email="ana@example.com")
    account = Account.objects.get(memberships__user=user)
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard", args=[account.slug])
    assert user.full_name == "Ana Ruiz" and user.check_password(SIGN_UP["password"])
    assert (account.name, account.kind) == ("Ana Ruiz Diseño", Account.Kind.AUTONOMO)
    membership = Membership.objects.get(user=user, account=account)
    assert membership.role == Role.OWNER
    taxpayer = Taxpayer.objects.get(account=account)
    assert (taxpayer.nif, taxpayer.name) == ("12345678Z", "Ana Ruiz")
    assert membership.current_taxpayer == taxpayer
    assert received and received[0]["taxpayer"] == taxpayer
    dashboard = client.get(response["Location"])  # signed in
    assert dashboard.status_code == 200 and "Bienvenido a Factu" in dashboard.content.decode()


def test_sign_up_shows_an_invalid_nif_next_to_its_field(client, db):
    response = sign_up_through_the_link(client, {**SIGN_UP, "taxpayer_nif": "12345678A"})
    page = response.content.decode()
    assert response.status_code == 200
    assert field_error(page, "taxpayer_nif")
    assert not field_error(page, "account_name")
    assert SIGN_UP["password"] not in page
    assert Account.objects.count() == 0 and User.objects.count() == 0


def test_sign_up_with_a_taken_email_only_mails_its_owner(client, db):
    make_user("ana@example.com")
    response = client.post(reverse("sign_up"), {"email": SIGN_UP["email"]})
    assert response["Location"] == reverse("sign_up_sent")
    [message] = mail.outbox
    assert message.to == ["ana@example.com"] and "ya tiene usuario" in message.body
    assert Account.objects.count() == 0 and User.objects.count() == 1


def test_sign_up_applies_djangos_password_validators(client, db):
    response = sign_up_through_the_link(client, {**SIGN_UP, "password": "12345678"})
    assert field_error(response.content.decode(), "password")
    assert not User.objects.exists() and not Account.objects.exists()


def test_sign_up_is_all_or_nothing(db):
    def explode(sender, **kwargs):
        raise RuntimeError("a receiver failed")

    signed_up.connect(explode)
    try:
        with pytest.raises(RuntimeError):
            services.sign_up(**SIGN_UP)
    finally:
        signed_up.disconnect(explode)
    assert not User.objects.exists() and not Account.objects.exists()
    assert not Taxpayer.objects.exists()


def test_login_page_links_to_sign_up_and_password_reset(client, db):
    page = client.get(reverse("login")).content.decode()
    assert reverse("sign_up") in page and reverse("password_reset") in page


# -- password reset -------------------------------------------------------------------------


def test_password_reset_emails_a_link_that_sets_a_new_password(client, db):
    user = make_user("ana@example.com")
    response = client.post(reverse("password_reset"), {"email": "ana@example.com"})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ana@example.com"]
    assert "contraseña" in message.subject.lower()
    link = link_in(message)
    assert link.startswith("/entrar/olvido/")
    form_page = client.get(link, follow=True)
    assert "Elija una contraseña nueva" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(
        set_url,
        {"new_password1": "otra clave muy segura", "new_password2": "otra clave muy segura"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_complete")
    user.refresh_from_db()
    assert user.check_password("otra clave muy segura")
    # The link works once.
    again = client.get(link, follow=True).content.decode()
    assert "Enlace no válido" in again


def test_password_reset_for_an_unknown_address_sends_nothing(client, db):
    response = client.post(reverse("password_reset"), {"email": "nadie@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


# -- invitations ----------------------------------------------------------------------------


def invite_by_page(client, account, email, role=Role.ACCOUNTANT):
    return client.post(reverse("member_list", args=[account.slug]), {"email": email, "role": role})


def test_invitation_for_a_new_person(login, owner, account, client):
    response = invite_by_page(login(owner), account, "Nuevo@Example.com")
    assert response.status_code == 302
    invitation = Invitation.objects.get(account=account)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "nuevo@example.com",
        Role.ACCOUNTANT,
        owner,
    )
    assert invitation.expires_at - invitation.created_at == timedelta(days=7)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nuevo@example.com"]
    link = link_in(mail.outbox[0])
    raw = link.rstrip("/").rsplit("/", 1)[1]
    assert link == reverse("invitation_accept", args=[raw])
    assert raw not in invitation.token_hash and len(invitation.token_hash) == 64
    assert invitation.token_hash == services.hash_invitation_token(raw)

    client.logout()
    moved = client.get(link)
    assert moved.status_code == 302 and raw not in moved["Location"]
    page = client.get(moved["Location"])
    assert page.status_code == 200 and "Estudio Sol" in page.content.decode()
    response = client.post(
        moved["Location"], {"full_name": "Nuevo Contable", "password": "clave de nuevo 2026"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard", args=[account.slug])
    user = User.objects.get(email="nuevo@example.com")
    assert user.full_name == "Nuevo Contable" and user.check_password("clave de nuevo 2026")
    assert Membership.objects.get(user=user, account=account).role == Role.ACCOUNTANT
    assert client.get(response["Location"]).status_code == 200  # signed in
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == user


def test_invitation_for_an_existing_user_asks_them_to_sign_in(login, owner, account, client):
    existing = make_user("ya@example.com")
    invite_by_page(login(owner), account, "ya@example.com", Role.VIEWER)
    link = link_in(mail.outbox[0])
    client.logout()
    page = client.get(link, follow=True).content.decode()
    assert "Entrar para aceptar" in page and 'name="password"' not in page
    # Posting a password does not create or change anything without signing in.
    client.post(link, {"full_name": "X", "password": "clave de intruso 2026"})
    assert not Membership.objects.filter(user=existing, account=account).exists()

    login(existing)
    assert "Unirme a Estudio Sol" in client.get(link, follow=True).content.decode()
    response = client.post(link)
    assert response.status_code == 302
    assert Membership.objects.get(user=existing, account=account).role == Role.VIEWER
    assert existing.check_password("correct horse battery")


def test_a_signed_in_user_with_another_address_cannot_accept(login, owner, account, client):
    invite_by_page(login(owner), account, "destino@example.com")
    link = link_in(mail.outbox[0])
    intruder = make_user("intruso@example.com")
    login(intruder)
    page = client.get(link, follow=True).content.decode()
    assert "Esta invitación es para destino@example.com" in page
    client.post(link)
    assert not Membership.objects.filter(user=intruder, account=account).exists()
    assert Invitation.objects.get().accepted_at is None


def test_used_expired_and_unknown_tokens_are_refused(login, owner, account, client):
    actor = Membership.objects.get(user=owner, account=account)
    _, used = services.invite(actor, "uno@example.com", Role.VIEWER, link_for=str)
    services.accept_invitation(used, full_name="Uno", password="clave de uno 2026")
    past = timezone.now() - timedelta(days=8)
    _, expired = services.invite(actor, "dos@example.com", Role.VIEWER, link_for=str, now=past)
    client.logout()
    for token, status, text in [
        (used, 410, "ya se ha usado"),
        (expired, 410, "ha caducado"),
        ("no-existe", 404, "no es válido"),
    ]:
        url = reverse("invitation_accept", args=[token])
        response = client.post(url, {"full_name": "Otro", "password": "otra clave 2026 larga"})
        assert response.status_code == status, token
        assert text in response.content.decode()
    assert not User.objects.filter(email="dos@example.com").exists()
    assert Membership.objects.filter(account=account).count() == 2  # owner + uno
    with pytest.raises(services.InvitationRefused):
        services.accept_invitation(expired, full_name="Dos", password="clave de dos 2026")


def test_inviting_a_member_again_is_refused_and_reinviting_replaces(login, owner, viewer, account):
    client = login(owner)
    page = invite_by_page(client, account, "viewer@example.com").content.decode()
    assert "ya es miembro" in page
    invite_by_page(client, account, "nuevo@example.com")
    invite_by_page(client, account, "nuevo@example.com", Role.ADMIN)
    pending = Invitation.objects.get(account=account, email="nuevo@example.com")
    assert pending.role == Role.ADMIN
    first = link_in(mail.outbox[0])
    client.logout()
    assert client.get(first, follow=True).status_code == 404  # the replaced link is dead


def test_an_invitation_can_be_cancelled(login, owner, account, client):
    invite_by_page(login(owner), account, "nuevo@example.com")
    invitation = Invitation.objects.get()
    url = reverse("invitation_cancel", args=[account.slug, invitation.id])
    assert client.post(url).status_code == 302
    assert not Invitation.objects.exists()
    client.logout()
    assert client.get(link_in(mail.outbox[0]), follow=True).status_code == 404


def test_sign_up_gives_the_new_taxpayer_its_first_series(db):
    from factu.models import User
    from factu.services import sign_up
    from invoicing.models import Series

    sign_up(
        email="nueva@example.com",
        password="una clave larga 123",
        full_name="Nueva",
        account_kind="autonomo",
        account_name="Nueva",
        taxpayer_nif="12345678Z",
        taxpayer_name="Nueva Autónoma",
    )
    user = User.objects.get(email="nueva@example.com")
    taxpayer = user.memberships.get().account.taxpayers.get()
    assert list(Series.objects.filter(taxpayer=taxpayer).values_list("code", flat=True)) == ["A"]
