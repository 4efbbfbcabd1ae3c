"""Login and account safety: lockout, throttles, a sign-up that reveals nothing, passwords
that end sessions and tokens, and memberships whose end ends their tokens and invitations.

Emails cross a real SMTP server on loopback (:mod:`tests.smtp`).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.services import create_token
from factu import services
from factu.models import Invitation, Membership, Role, User
from tests.conftest import make_user
from tests.smtp import body, link_in

PASSWORD = "correct horse battery"  # make_user's
LOCKED = "Demasiados intentos fallidos"
THROTTLED = "Demasiados intentos en poco tiempo"


def at(address: str, **defaults) -> Client:
    """A browser at ``address``."""
    return Client(REMOTE_ADDR=address, **defaults)


def log_in(client: Client, email: str, password: str):
    return client.post(reverse("login"), {"username": email, "password": password})


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def api_status(raw_token: str) -> tuple[int, str]:
    response = Client().get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {raw_token}")
    code = response.json().get("error", {}).get("code", "") if response.status_code >= 400 else ""
    return response.status_code, code


# -- login lockout --------------------------------------------------------------------------


def test_eleven_wrong_passwords_then_the_right_one_is_refused_in_spanish(owner):
    attacker = at("203.0.113.5")
    for _ in range(11):
        assert log_in(attacker, owner.email, "not the password").status_code in (200, 429)
    response = log_in(attacker, owner.email, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page and "15 minutos" in page
    assert reverse("password_reset") in page  # the way out is on the page
    assert not signed_in(attacker)


def test_the_lock_is_per_address_so_the_user_still_logs_in_from_elsewhere(owner):
    attacker = at("203.0.113.5")
    for _ in range(12):
        log_in(attacker, owner.email.upper(), "not the password")  # case counts as one email
    assert log_in(attacker, owner.email, PASSWORD).status_code == 429
    victim = at("198.51.100.7")
    response = log_in(victim, owner.email, PASSWORD)
    assert response.status_code == 302 and signed_in(victim)


def test_behind_the_proxy_one_clients_failures_do_not_lock_the_others(owner, settings):
    """docker-compose: every request reaches gunicorn from Caddy's address, which names the
    client in X-Forwarded-For; the lock is the client's, not the proxy's."""
    settings.FACTU_TRUST_PROXY = True
    proxy = "172.18.0.5"
    attacker = at(proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    for _ in range(12):
        log_in(attacker, owner.email, "not the password")
    assert log_in(attacker, owner.email, PASSWORD).status_code == 429
    victim = at(proxy, HTTP_X_FORWARDED_FOR="198.51.100.7")
    response = log_in(victim, owner.email, PASSWORD)
    assert response.status_code == 302 and signed_in(victim)


def test_an_address_trying_many_emails_is_locked_for_all_of_them(owner):
    sprayer = at("203.0.113.9")
    for n in range(10):
        log_in(sprayer, f"someone{n}@example.com", "Password1!")
    response = log_in(sprayer, owner.email, PASSWORD)
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert log_in(at("198.51.100.7"), owner.email, PASSWORD).status_code == 302


def test_nine_failures_do_not_lock(owner):
    person = at("192.0.2.10")
    for _ in range(9):
        log_in(person, owner.email, "typo")
    assert log_in(person, owner.email, PASSWORD).status_code == 302


def test_a_sprayer_cannot_reset_the_count_by_logging_into_their_own_account(owner):
    sprayer_account = make_user("sprayer@example.com")
    sprayer = at("203.0.113.11")
    for n in range(9):
        log_in(sprayer, owner.email, f"guess {n}")
    assert log_in(sprayer, sprayer_account.email, PASSWORD).status_code == 302
    sprayer.logout()
    log_in(sprayer, owner.email, "guess 10")
    assert log_in(sprayer, owner.email, PASSWORD).status_code == 429


def test_an_admin_lifts_a_lock_with_axes_reset_username(owner):
    attacker = at("203.0.113.5")
    for _ in range(10):
        log_in(attacker, owner.email, "nope")
    assert log_in(attacker, owner.email, PASSWORD).status_code == 429
    call_command("axes_reset_username", owner.email)
    assert log_in(attacker, owner.email, PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(owner, settings, monkeypatch):
    attacker = at("203.0.113.5")
    for _ in range(10):
        log_in(attacker, owner.email, "nope")
    assert log_in(attacker, owner.email, PASSWORD).status_code == 429
    later = timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)
    monkeypatch.setattr("axes.handlers.proxy.now", lambda: later)  # where axes reads the clock
    assert log_in(attacker, owner.email, PASSWORD).status_code == 302


def test_api_tokens_and_sessions_still_work_beside_the_lockout(owner, api_token, client):
    assert api_status(api_token) == (200, "")
    client.force_login(owner)
    assert client.get(reverse("account_list")).status_code == 200


# -- throttles ------------------------------------------------------------------------------


def test_password_reset_is_throttled_per_address(
    owner,
    settings,
    smtp_outbox,
):
    settings.PASSWORD_RESET_RATE_PER_ADDRESS = "3/h"
    flooder = at("203.0.113.20")
    for n in range(3):
        response = flooder.post(reverse("password_reset"), {"email": f"x{n}@example.com"})
        assert response.status_code == 302
    response = flooder.post(reverse("password_reset"), {"email": owner.email})
    assert response.status_code == 429 and THROTTLED in response.content.decode()
    assert smtp_outbox.to(owner.email) == []
    allowed = at("198.51.100.20").post(reverse("password_reset"), {"email": owner.email})
    assert allowed.status_code == 302
    smtp_outbox.wait_for(owner.email)


def test_password_reset_is_throttled_per_email_from_one_address(owner, settings, smtp_outbox):
    settings.PASSWORD_RESET_RATE_PER_ADDRESS_AND_EMAIL = "2/h"
    flooder = at("203.0.113.30")
    for _ in range(2):
        response = flooder.post(reverse("password_reset"), {"email": owner.email})
        assert response.status_code == 302
    response = flooder.post(reverse("password_reset"), {"email": owner.email.upper()})
    assert response.status_code == 429 and THROTTLED in response.content.decode()
    assert len(smtp_outbox.wait_for(owner.email, 2)) == 2


def test_a_stranger_cannot_use_up_someone_elses_password_reset(owner, settings, smtp_outbox):
    settings.PASSWORD_RESET_RATE_PER_ADDRESS_AND_EMAIL = "2/h"
    for n in range(6):  # from many addresses, as a stranger could
        at(f"203.0.113.{30 + n}").post(reverse("password_reset"), {"email": owner.email})
    smtp_outbox.wait_for(owner.email, 6)
    response = at("198.51.100.99").post(reverse("password_reset"), {"email": owner.email})
    assert response.status_code == 302
    assert len(smtp_outbox.wait_for(owner.email, 7)) == 7


def test_sign_up_is_throttled_per_address_and_per_email(
    db,
    settings,
    smtp_outbox,
):
    settings.SIGN_UP_RATE_PER_ADDRESS = "3/h"
    settings.SIGN_UP_RATE_PER_ADDRESS_AND_EMAIL = "2/h"
    flooder = at("203.0.113.50")
    for n in range(3):
        assert flooder.post(reverse("sign_up"), {"email": f"n{n}@example.com"}).status_code == 302
    response = flooder.post(reverse("sign_up"), {"email": "n9@example.com"})
    assert response.status_code == 429 and THROTTLED in response.content.decode()
    repeater = at("198.51.100.60")
    for _ in range(2):
        response = repeater.post(reverse("sign_up"), {"email": "v@example.com"})
        assert response.status_code == 302
    response = repeater.post(reverse("sign_up"), {"email": "v@example.com"})
    assert response.status_code == 429
    assert len(smtp_outbox.wait_for("v@example.com", 2)) == 2
    assert smtp_outbox.to("n9@example.com") == []


# -- sign-up that reveals nothing ------------------------------------------------------------


def test_sign_up_answers_the_same_for_a_new_and_an_existing_email(
    owner,
    smtp_outbox,
):
    answers = []
    for email in (owner.email, "nueva@example.com"):
        browser = at("192.0.2.80")
        response = browser.post(reverse("sign_up"), {"email": email})
        page = browser.get(response["Location"]).content.decode()
        page = re.sub(r'nonce="[^"]*"', "nonce", page.replace(email, "@"))  # CSP's, per response
        answers.append((response.status_code, response["Location"], page))
    assert answers[0] == answers[1]
    assert "Le hemos enviado un correo" in answers[0][2]
    assert User.objects.filter(email="nueva@example.com").count() == 0  # nothing until the link
    [existing] = smtp_outbox.wait_for(owner.email)
    assert "ya tiene usuario" in body(existing)
    assert reverse("password_reset") in body(existing)
    assert "/registro/" not in body(existing)
    [new] = smtp_outbox.wait_for("nueva@example.com")
    assert link_in(new, "/registro/")


def test_the_emailed_link_creates_the_account_and_signs_in(
    db,
    smtp_outbox,
):
    browser = at("192.0.2.81")
    browser.post(reverse("sign_up"), {"email": "Nueva@Example.com"})
    [message] = smtp_outbox.wait_for("nueva@example.com")
    continued = browser.get(link_in(message, "/registro/"))
    assert continued["Location"] == reverse("sign_up_continue")  # the token leaves the URL
    page = browser.get(continued["Location"]).content.decode()
    assert "nueva@example.com" in page
    form = {
        "full_name": "Nueva Persona",
        "password": "una clave bastante larga",
        "account_kind": "autonomo",
        "account_name": "Nueva SL",
        "taxpayer_nif": "12345678Z",
        "taxpayer_name": "Nueva Persona",
        "email": "intruso@example.com",  # ignored: the link names the address
    }
    response = browser.post(reverse("sign_up_continue"), form)
    assert response.status_code == 302 and signed_in(browser)
    user = User.objects.get(email="nueva@example.com")
    assert not User.objects.filter(email="intruso@example.com").exists()
    assert user.memberships.get().role == Role.OWNER
    # Used once: the same link now says the address has a user.
    again = at("192.0.2.82")
    again.get(link_in(message, "/registro/"))
    assert again.get(reverse("sign_up_continue")).status_code == 410


def test_a_forged_or_expired_sign_up_link_is_refused(db, settings):
    browser = at("192.0.2.83")
    forged = services.sign_up_token("victima@example.com")[:-2] + "xx"
    browser.get(reverse("sign_up_confirm", args=[forged]))
    assert browser.get(reverse("sign_up_continue")).status_code == 410
    settings.SIGN_UP_LINK_MAX_AGE = -1
    browser.get(reverse("sign_up_confirm", args=[services.sign_up_token("v@example.com")]))
    assert browser.get(reverse("sign_up_continue")).status_code == 410
    assert not User.objects.exists()


# -- passwords, sessions and tokens ----------------------------------------------------------


def change_password(client: Client, **extra):
    data = {
        "old_password": PASSWORD,
        "new_password1": "una clave nueva y larga",
        "new_password2": "una clave nueva y larga",
        **extra,
    }
    return client.post(reverse("password_change"), data)


def test_change_password_ends_other_sessions_and_revokes_tokens_when_checked(
    owner, account, api_token
):
    here, elsewhere = Client(), Client()
    here.force_login(owner)
    elsewhere.force_login(owner)
    page = here.get(reverse("password_change")).content.decode()
    assert 'name="revoke_tokens"' in page and "checked" in page  # offered, checked by default
    response = change_password(here, revoke_tokens="on")
    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password("una clave nueva y larga")
    assert here.get(reverse("account_list")).status_code == 200  # this session stays
    gone = elsewhere.get(reverse("account_list"))
    assert gone.status_code == 302 and gone["Location"].startswith(reverse("login"))
    assert api_status(api_token) == (401, "token_revoked")


def test_change_password_keeps_tokens_when_unchecked(owner, account, api_token):
    here = Client()
    here.force_login(owner)
    assert change_password(here).status_code == 302  # an unchecked box is absent
    assert api_status(api_token) == (200, "")


def test_change_password_needs_the_current_one(owner, account, api_token):
    here = Client()
    here.force_login(owner)
    response = change_password(here, old_password="wrong", revoke_tokens="on")
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
    assert api_status(api_token) == (200, "")


def test_password_reset_offers_to_revoke_tokens_and_does(
    owner,
    account,
    api_token,
    smtp_outbox,
):
    browser = at("192.0.2.90")
    browser.post(reverse("password_reset"), {"email": owner.email})
    [message] = smtp_outbox.wait_for(owner.email)
    form_page = browser.get(link_in(message, "/entrar/olvido/"), follow=True)
    page = form_page.content.decode()
    assert 'name="revoke_tokens"' in page and "checked" in page
    response = browser.post(
        form_page.redirect_chain[-1][0],
        {
            "new_password1": "otra clave muy segura",
            "new_password2": "otra clave muy segura",
            "revoke_tokens": "on",
        },
    )
    assert response["Location"] == reverse("password_reset_complete")
    assert api_status(api_token) == (401, "token_revoked")


# -- memberships: tokens and invitations -----------------------------------------------------


@pytest.fixture
def admin(account, owner) -> User:
    user = make_user("admin@example.com")
    Membership.objects.create(user=user, account=account, role=Role.ADMIN)
    return user


def membership(user, account) -> Membership:
    return Membership.objects.select_related("user", "account").get(user=user, account=account)


def test_a_removed_members_tokens_stay_revoked_when_they_are_added_again(owner, account, admin):
    token, raw = create_token(account, admin, "integración")
    assert api_status(raw) == (200, "")
    services.remove_member(membership(owner, account), membership(admin, account))
    assert api_status(raw)[0] == 401
    Membership.objects.create(user=admin, account=account, role=Role.ADMIN)
    assert api_status(raw) == (401, "token_revoked")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_removing_a_member_revokes_only_their_tokens_of_that_account(
    owner, account, admin, other_account
):
    Membership.objects.create(user=admin, account=other_account, role=Role.OWNER)
    _, elsewhere = create_token(other_account, admin, "otra cuenta")
    _, owners = create_token(account, owner, "del propietario")
    services.remove_member(membership(owner, account), membership(admin, account))
    assert api_status(elsewhere) == (200, "")
    assert api_status(owners) == (200, "")


def invite(admin_membership, email: str, role: str = Role.ACCOUNTANT) -> str:
    def link_for(raw: str) -> str:
        return "http://testserver" + reverse("invitation_accept", args=[raw])

    services.invite(admin_membership, email, role, link_for=link_for)
    return email


@pytest.mark.parametrize("fate", ["removed", "demoted"])
def test_a_removed_or_demoted_admins_invitation_link_no_longer_works(
    owner, account, admin, smtp_outbox, fate
):
    invite(membership(admin, account), "nuevo@example.com")
    [message] = smtp_outbox.wait_for("nuevo@example.com")
    actor, sender = membership(owner, account), membership(admin, account)
    if fate == "removed":
        services.remove_member(actor, sender)
    else:
        services.change_role(actor, sender, Role.ACCOUNTANT)
    assert not Invitation.objects.exists()
    invited = Client()
    invited.get(link_in(message, "/invitacion/"))
    assert invited.get(reverse("invitation_continue")).status_code in (404, 410)
    response = invited.post(
        reverse("invitation_continue"), {"full_name": "Nuevo", "password": "una clave larga 1"}
    )
    assert response.status_code in (404, 410)
    assert not User.objects.filter(email="nuevo@example.com").exists()


def test_an_owner_demoted_to_admin_loses_only_their_owner_invitations(owner, account, admin):
    Membership.objects.filter(user=admin).update(role=Role.OWNER)
    sender = membership(admin, account)
    invite(sender, "socio@example.com", Role.OWNER)
    invite(sender, "contable@example.com", Role.ACCOUNTANT)
    services.change_role(membership(owner, account), sender, Role.ADMIN)
    assert list(Invitation.objects.values_list("email", flat=True)) == ["contable@example.com"]


def test_acceptance_rechecks_that_the_sender_may_still_invite(owner, account, admin):
    invite(membership(admin, account), "nuevo@example.com")
    invitation = Invitation.objects.get()
    # The sender lost the right by a path that did not cancel the invitation.
    Membership.objects.filter(user=admin).update(role=Role.VIEWER)
    raw = "x"  # the raw token is only in the email: re-key the row to a known one
    Invitation.objects.filter(pk=invitation.pk).update(
        token_hash=services.hash_invitation_token(raw)
    )
    with pytest.raises(services.InvitationRefused) as refused:
        services.accept_invitation(raw, full_name="Nuevo", password="una clave larga 1")
    assert refused.value.code == "sender"
    invited = Client()
    invited.get(reverse("invitation_accept", args=[raw]))
    response = invited.get(reverse("invitation_continue"))
    assert response.status_code == 410 and "quien la envió" in response.content.decode()
    assert ApiToken.objects.count() == 0 and not User.objects.filter(email="nuevo@example.com")
