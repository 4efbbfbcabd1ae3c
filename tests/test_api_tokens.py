"""API tokens: created and shown once, hashed at rest, Bearer authentication with a code per
failure, the creator's role at request time, the command, and Settings → API tokens."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from django.urls import include, path, reverse
from django.utils import timezone

from api.models import ApiPing, ApiToken
from api.services import create_token, hash_token, revoke_token
from api.views import PingView
from factu.models import Account, Membership, Role

pytestmark = pytest.mark.django_db

# A URLconf for tests that need an endpoint under /api/v1/ whatever api.v1 holds today.
urlpatterns = [
    path("api/v1/ping", PingView.as_view()),
    path("api/", include("api.urls")),
    path("c/<slug:account_slug>/ajustes/tokens/", include("api.urls_settings")),
]

TOKEN_RE = re.compile(r"kf_[A-Za-z0-9]{32}")
PING = "/api/ping"


@pytest.fixture(autouse=True)
def _private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def owner_token(account, owner):
    return create_token(account, owner, "ERP")


def raw_appears_anywhere_in_the_database(raw: str) -> list[str]:
    """Every text column of every table (tokens, sessions, idempotency records…)."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, (models.CharField, models.TextField)):
                continue
            if model._default_manager.filter(**{f"{field.name}__contains": raw}).exists():
                found.append(f"{model._meta.label}.{field.name}")
    return found


# -- services ---------------------------------------------------------------------------------


def test_create_token_returns_the_raw_token_once_and_stores_only_its_hash(account, owner):
    token, raw = create_token(account, owner, "  ERP  ")
    assert TOKEN_RE.fullmatch(raw)
    token.refresh_from_db()
    assert token.name == "ERP"
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:7] and token.prefix.startswith("kf_")
    assert token.created_by == owner and token.account == account
    assert token.last_used_at is None and token.revoked_at is None
    assert raw_appears_anywhere_in_the_database(raw) == []


def test_tokens_are_random(account, owner):
    raws = {create_token(account, owner, f"t{i}")[1] for i in range(20)}
    assert len(raws) == 20


def test_create_token_refuses_a_blank_name_and_a_non_member(account, owner, outsider):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        create_token(account, owner, "   ")
    with pytest.raises(ValidationError):
        create_token(account, outsider, "ERP")
    assert not ApiToken.objects.exists()


def test_revoke_token_is_idempotent(owner_token):
    token, _ = owner_token
    revoke_token(token)
    first = token.revoked_at
    assert first is not None
    revoke_token(token)
    assert token.revoked_at == first


# -- authentication -------------------------------------------------------------------------


def test_a_token_authenticates_and_last_used_is_recorded(client, owner_token, account):
    token, raw = owner_token
    response = client.get(PING, headers=bearer(raw))
    assert response.status_code == 200
    assert response.json() == {"ok": True, "account": account.slug}
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(seconds=10)


def test_last_used_is_written_at_most_once_a_minute(client, owner_token, django_assert_num_queries):
    token, raw = owner_token
    client.get(PING, headers=bearer(raw))
    token.refresh_from_db()
    first = token.last_used_at
    with django_assert_num_queries(1):  # the token lookup only: no UPDATE
        assert client.get(PING, headers=bearer(raw)).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    client.get(PING, headers=bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at > first


def _unauthorized(response, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]


def test_missing_token_is_401_token_missing(client):
    _unauthorized(client.get(PING), "token_missing")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Token kf_" + "a" * 32,
        "Bearer kf_" + "a" * 31,
        "Bearer kf_" + "a" * 32 + " extra",
    ],
)
def test_malformed_token_is_401_token_malformed(client, header):
    _unauthorized(client.get(PING, headers={"Authorization": header}), "token_malformed")


def test_unknown_token_is_401_token_unknown(client, owner_token):
    _unauthorized(client.get(PING, headers=bearer("kf_" + "A" * 32)), "token_unknown")


def test_a_revoked_token_is_refused_at_once(client, owner_token):
    token, raw = owner_token
    assert client.get(PING, headers=bearer(raw)).status_code == 200
    revoke_token(token)
    _unauthorized(client.get(PING, headers=bearer(raw)), "token_revoked")


@pytest.mark.urls("tests.test_api_tokens")
def test_the_v1_api_answers_401_in_its_own_envelope(client, owner_token):
    token, raw = owner_token
    revoke_token(token)
    response = client.get("/api/v1/ping", headers=bearer(raw))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json() == {"message": "This token has been revoked.", "errors": {}}


def test_a_token_whose_creator_left_the_account_stops_working(client, owner_token, owner):
    _, raw = owner_token
    Membership.objects.filter(user=owner).delete()
    _unauthorized(client.get(PING, headers=bearer(raw)), "token_inactive")


def test_a_token_whose_creator_was_deleted_or_deactivated_stops_working(
    client, account, owner, viewer
):
    _, deleted_creators = create_token(account, viewer, "Viewer's")
    _, deactivated_creators = create_token(account, owner, "Owner's")
    viewer.delete()  # the token stays, created_by SET NULL
    _unauthorized(client.get(PING, headers=bearer(deleted_creators)), "token_inactive")
    type(owner).objects.filter(pk=owner.pk).update(is_active=False)
    _unauthorized(client.get(PING, headers=bearer(deactivated_creators)), "token_inactive")


def test_a_role_in_another_account_does_not_lend_itself_to_the_token(
    client, owner_token, owner, other_account
):
    _, raw = owner_token
    Membership.objects.filter(user=owner).update(account=other_account)
    _unauthorized(client.get(PING, headers=bearer(raw)), "token_inactive")


def test_the_authenticated_token_carries_its_account_creator_and_role(
    owner_token, owner, account, django_assert_num_queries
):
    from api.authentication import token_with_account_creator_and_role

    token, raw = owner_token
    with django_assert_num_queries(1):
        found = token_with_account_creator_and_role(hash_token(raw))
        assert (found.pk, found.account.slug, found.created_by.email, found.role) == (
            token.pk,
            account.slug,
            owner.email,
            Role.OWNER,
        )
    assert found.created_by == owner and found.account == account
    assert token_with_account_creator_and_role(hash_token("kf_" + "B" * 32)) is None


def test_a_session_does_not_authenticate_the_api(client, owner):
    client.force_login(owner)
    _unauthorized(client.get(PING), "token_missing")
    assert client.post(PING, {}, content_type="application/json").status_code == 401


# -- permissions -----------------------------------------------------------------------------


def test_a_viewer_token_reads_but_cannot_write(client, account, viewer):
    _, raw = create_token(account, viewer, "Lectura")
    assert client.get(PING, headers=bearer(raw)).status_code == 200
    response = client.post(PING, {}, content_type="application/json", headers=bearer(raw))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not ApiPing.objects.exists()


def test_the_role_is_read_at_each_request(client, account, owner):
    _, raw = create_token(account, owner, "ERP")
    Membership.objects.filter(user=owner).update(role=Role.VIEWER)
    response = client.post(PING, {}, content_type="application/json", headers=bearer(raw))
    assert response.status_code == 403


def test_a_token_sees_only_its_own_account(client, owner_token, other_account, account):
    from tests.conftest import make_user

    stranger = make_user("stranger@elsewhere.example")
    Membership.objects.create(user=stranger, account=other_account, role=Role.OWNER)
    _, other_raw = create_token(other_account, stranger, "Ajeno")
    assert client.get(PING, headers=bearer(other_raw)).json()["account"] == other_account.slug
    response = client.post(PING, {}, content_type="application/json", headers=bearer(other_raw))
    assert response.status_code == 201
    assert ApiPing.objects.get().account == other_account
    assert not ApiPing.objects.filter(account=account).exists()


# -- create_api_token command -----------------------------------------------------------------


def run_command(*args) -> str:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue()


def test_command_prints_only_the_token_of_the_owned_account(client, account, owner):
    out = run_command("--email", "OWNER@example.com", "--name", "CI")
    raw = out.strip()
    assert TOKEN_RE.fullmatch(raw) and out == raw + "\n"
    token = ApiToken.objects.get(token_hash=hash_token(raw))
    assert token.name == "CI" and token.account == account and token.created_by == owner
    assert client.get(PING, headers=bearer(raw)).json()["account"] == account.slug


def test_command_with_account_and_the_seeded_gestoria(client):
    call_command("seed_demo", stdout=StringIO())
    raw = run_command("--email", "demo@factu.test", "--account", "demo-gestoria").strip()
    assert client.get(PING, headers=bearer(raw)).json() == {
        "ok": True,
        "account": "demo-gestoria",
    }
    # demo owns demo-autonomo, so that is the default
    raw = run_command("--email", "demo@factu.test").strip()
    assert client.get(PING, headers=bearer(raw)).json()["account"] == "demo-autonomo"


def test_command_uses_the_only_account_of_a_non_owner(viewer, account):
    raw = run_command("--email", "viewer@example.com").strip()
    assert ApiToken.objects.get(token_hash=hash_token(raw)).account == account


def test_command_errors_clearly(account, owner, outsider, other_account):
    with pytest.raises(CommandError, match="No user"):
        run_command("--email", "nobody@example.com")
    with pytest.raises(CommandError, match="not a member of any account"):
        run_command("--email", "outsider@example.com")
    with pytest.raises(CommandError, match="not a member of account 'gestoria-ajena'"):
        run_command("--email", "owner@example.com", "--account", "gestoria-ajena")
    Membership.objects.create(user=owner, account=other_account, role=Role.OWNER)
    with pytest.raises(CommandError, match="--account"):
        run_command("--email", "owner@example.com")
    assert not ApiToken.objects.exists()


# -- Settings → API tokens ------------------------------------------------------------------


def tokens_url(account: Account) -> str:
    return reverse("api_token_list", args=[account.slug])


def test_settings_page_creates_a_token_shown_once(login, owner, account):
    client = login(owner)
    page = client.get(tokens_url(account))
    assert page.status_code == 200
    assert "aún no tiene tokens" in page.content.decode()
    assert "no-store" in page["Cache-Control"]

    posted = client.post(tokens_url(account), {"name": "Zapier"})
    assert posted.status_code == 302 and not TOKEN_RE.search(posted.content.decode())
    created = client.get(posted["Location"])
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    html = created.content.decode()
    raws = set(TOKEN_RE.findall(html))
    assert len(raws) == 1
    raw = raws.pop()
    assert "no se volverá a mostrar" in html
    assert "data-copy-target" in html and "api/copy-token" in html

    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw) and token.created_by == owner
    assert raw_appears_anywhere_in_the_database(raw) == []

    listing = client.get(tokens_url(account)).content.decode()
    assert raw not in listing
    assert f"{token.prefix}…" in listing and "Zapier" in listing and "Nunca" in listing
    assert "Activo" in listing


def test_settings_page_revokes_after_confirmation(login, owner, account):
    client = login(owner)
    token, raw = create_token(account, owner, "Viejo")
    listing = client.get(tokens_url(account)).content.decode()
    revoke_url = reverse("api_token_revoke", args=[account.slug, token.pk])
    assert revoke_url in listing
    confirm = client.get(revoke_url)
    assert confirm.status_code == 200 and "¿Revocar" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # asking is not revoking
    done = client.post(revoke_url, follow=True)
    assert done.status_code == 200 and "Revocado" in done.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get(PING, headers=bearer(raw)).status_code == 401


def test_settings_page_refuses_a_blank_name(login, owner, account):
    response = login(owner).post(tokens_url(account), {"name": "  "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    assert not TOKEN_RE.search(response.content.decode())


def test_a_viewer_sees_the_tokens_read_only(login, viewer, owner, account):
    token, _ = create_token(account, owner, "ERP")
    client = login(viewer)
    page = client.get(tokens_url(account))
    html = page.content.decode()
    assert page.status_code == 200 and "ERP" in html
    assert "Crear token" not in html and "Revocar" not in html
    assert client.post(tokens_url(account), {"name": "Mío"}).status_code == 403
    revoke_url = reverse("api_token_revoke", args=[account.slug, token.pk])
    assert client.get(revoke_url).status_code == 403
    assert client.post(revoke_url).status_code == 403
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_outsider_gets_404(login, outsider, owner, account):
    token, _ = create_token(account, owner, "ERP")
    client = login(outsider)
    assert client.get(tokens_url(account)).status_code == 404
    assert client.post(tokens_url(account), {"name": "x"}).status_code == 404
    revoke_url = reverse("api_token_revoke", args=[account.slug, token.pk])
    assert client.post(revoke_url).status_code == 404


def test_another_accounts_token_cannot_be_revoked_from_here(login, owner, account, other_account):
    from tests.conftest import make_user

    stranger = make_user("stranger@elsewhere.example")
    Membership.objects.create(user=stranger, account=other_account, role=Role.OWNER)
    foreign, _ = create_token(other_account, stranger, "Ajeno")
    url = reverse("api_token_revoke", args=[account.slug, foreign.pk])
    assert login(owner).post(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_the_navigation_links_to_settings(login, owner, account):
    html = login(owner).get(reverse("dashboard", args=[account.slug])).content.decode()
    assert tokens_url(account) in html and "Ajustes" in html


def test_anonymous_visitors_are_sent_to_log_in(client, account):
    response = client.get(tokens_url(account))
    assert response.status_code == 302 and "/entrar/" in response["Location"]
