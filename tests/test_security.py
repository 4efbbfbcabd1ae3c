"""Security (issue 8): secrets stay out of the logs, tokens are found by their digest, every
browser form is CSRF-protected, the production settings pass ``check --deploy``, and another
account's ids answer 404 on every URL of the URL conf.

The URL walks reuse the crawl's seeded world (:mod:`tests.test_crawl`): the demo gestoría with
one object of every type a URL takes. Here it plays account B, the victim; account A is a
fresh account whose owner and API token try B's ids.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import itertools
import json
import logging
import re
import secrets
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connections
from django.db.models.signals import post_save
from django.http import HttpResponseForbidden
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.log import AdminEmailHandler

from api.services import create_token, hash_token
from factu.models import Account, Invitation, Membership, Role, Taxpayer, User
from factu.services import hash_invitation_token, sign_up_token
from factu.signals import signed_up
from tests import test_crawl as crawl
from tests.conftest import make_user
from tests.processes import ROOT, child_env, free_port, stop, wait_for_http
from tests.test_onboarding import SIGN_UP
from tests.test_settings_pages import make_p12

world = crawl.world  # the crawl's seeded world, reused as a fixture
PASSWORD = "correct horse battery"  # make_user's password  # noqa: S105
RAW_TOKEN = re.compile(r"kf_[A-Za-z0-9]{32}")
CLEANSED = "********************"


# -- walking the URL conf -------------------------------------------------------------------


def walk(patterns, prefix: str = "", outer: tuple[str, ...] = ()):
    """(route, name, kwarg names, view) of every leaf pattern, recursively.

    Unlike the crawl's walk it also reads the named groups of ``re_path`` patterns, so a
    regex route with a parameter cannot slip past the tenancy walk as parameterless.
    """
    for pattern in patterns:
        own = tuple(getattr(pattern.pattern, "converters", {})) or tuple(
            pattern.pattern.regex.groupindex
        )
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), outer + own)
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, outer + own, pattern.callback


def all_routes() -> list[tuple[str, str | None, tuple[str, ...], object]]:
    found = list(walk(get_resolver().url_patterns))
    assert len(found) > 80, "the resolver walk found too few routes"
    return found


def is_api(route: str) -> bool:
    return route.startswith("api/")


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


def admin_url(route: str, value: str) -> str:
    """An admin route with every parameter set to ``value`` (its regex app index: factu's)."""
    if "(?P" in route:
        return "/admin/factu/"
    return "/" + re.sub(r"<(?:\w+:)?\w+>", value, route)


# -- 1. secrets never reach the logs --------------------------------------------------------

# Every logger the product, Django, DRF and Celery write to; all are lowered to DEBUG.
LOGGERS = (
    "",
    "django",
    "django.request",
    "django.server",
    "django.security",
    "django.db.backends",
    "django.template",
    "rest_framework",
    "celery",
    "kombu",
    "api",
    "factu",
    "clients",
    "invoicing",
    "expenses",
    "verifactu",
    "desk",
    "transfers",
    "py.warnings",
)


class Recorder(logging.Handler):
    """Keeps each record as a plain line (message and traceback) and as every attribute a
    structured (JSON) formatter could print, ``extra`` included."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(vars(record)))


@contextmanager
def all_logs_at_debug(settings):
    """Everything logged, at DEBUG, with the SQL of every query (as ``DEBUG=True`` would log
    it) and the reports ``mail_admins`` sends on a server error, HTML with frame locals
    included. ``DEBUG`` itself stays False, as in production."""
    settings.ADMINS = [("Ops", "ops@factu.test")]
    recorder = Recorder()
    admins = AdminEmailHandler(include_html=True)
    admins.setLevel(logging.ERROR)
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(recorder)
    logging.getLogger().addHandler(admins)
    debug_cursors = {c.alias: c.force_debug_cursor for c in connections.all()}
    for connection in connections.all():
        connection.force_debug_cursor = True
    try:
        yield recorder
    finally:
        for connection in connections.all():
            connection.force_debug_cursor = debug_cursors.get(connection.alias, False)
        logging.getLogger().removeHandler(admins)
        for name, level in saved.items():
            logging.getLogger(name).removeHandler(recorder)
            logging.getLogger(name).setLevel(level)


def mailed_reports() -> list[str]:
    texts = []
    for message in mail.outbox:
        texts += [message.subject, message.body]
        texts += [content for content, _ in getattr(message, "alternatives", [])]
    return texts


def leaks(texts: list[str], secrets_: dict[str, str]) -> list[str]:
    """The names of the secrets found in ``texts``, and any raw-looking API token."""
    found = []
    for label, secret in secrets_.items():
        if any(secret in text for text in texts):
            found.append(label)
    for text in texts:
        found += [f"raw token {m[:7]}…" for m in RAW_TOKEN.findall(text)]
    return sorted(set(found))


@pytest.fixture
def broken_templates(tmp_path, settings):
    """Make the two pages that hold secrets fail to render: a real 500 (a template syntax
    error) raised while the raw token or the certificate password is in the view's locals."""
    folder = tmp_path / "broken-templates"
    for name in ("api/token_created.html", "desk/settings_certificates.html"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{% if %}roto{% endif %}")

    def install() -> None:
        templates = copy.deepcopy(django_settings.TEMPLATES)
        templates[0]["DIRS"] = [folder, *templates[0]["DIRS"]]
        settings.TEMPLATES = templates

    return install


def pending_invitation(owner: User, account: Account, email: str) -> str:
    """An invitation of ``email`` as a viewer, valid 7 days, sent by ``owner``; its raw token."""
    raw = secrets.token_urlsafe(24)
    Invitation.objects.create(
        account=account,
        email=email,
        role=Role.VIEWER,
        token_hash=hash_invitation_token(raw),
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )
    return raw


def test_no_raw_token_certificate_password_or_secret_key_reaches_any_log(
    db, settings, owner, account, taxpayer, broken_templates, monkeypatch
):
    client = Client(raise_request_exception=False)
    good_password = "clave-del-p12-" + secrets.token_hex(8)
    wrong_password = "no-es-esta-" + secrets.token_hex(8)
    login_mistake = "contrasena-equivocada-" + secrets.token_hex(4)
    sign_up_password = "clave-de-alta-" + secrets.token_hex(8)
    invited_password = "clave-de-invitada-" + secrets.token_hex(8)
    invitation = pending_invitation(owner, account, "invitada@example.com")
    certificate = make_p12(400, good_password)
    wrong_token = "kf_" + "Z" * 32
    tokens_url = reverse("api_token_list", args=[account.slug])
    certificates_url = reverse("certificate_list", args=[account.slug])
    stdout = io.StringIO()

    with all_logs_at_debug(settings) as recorder:
        failed = client.post(reverse("login"), {"username": owner.email, "password": login_mistake})
        assert failed.status_code == 200 and not failed.wsgi_request.user.is_authenticated
        logged_in = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
        assert logged_in.status_code == 302

        created = client.post(tokens_url, {"name": "Integración"}, follow=True)
        assert created.status_code == 200
        [page_token] = set(RAW_TOKEN.findall(created.content.decode()))
        call_command("create_api_token", "--email", owner.email, "--name", "cli", stdout=stdout)
        command_token = stdout.getvalue().strip()
        assert RAW_TOKEN.fullmatch(command_token)

        api = Client(raise_request_exception=False)
        for raw, path, expected in (
            (page_token, "/api/v1/taxpayers", 200),
            (command_token, "/api/invoices", 200),
            (wrong_token, "/api/v1/taxpayers", 401),
            (page_token + "x", "/api/invoices", 401),
        ):
            answer = api.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
            assert answer.status_code == expected, (path, answer.content)

        upload = {"owner": str(taxpayer.pk), "representative_nif": "", "representative_name": ""}
        stored = client.post(
            certificates_url,
            {**upload, "password": good_password, "file": SimpleUploadedFile("a.p12", certificate)},
        )
        assert stored.status_code == 302
        refused = client.post(
            certificates_url,
            {
                **upload,
                "password": wrong_password,
                "file": SimpleUploadedFile("b.p12", certificate),
            },
        )
        assert refused.status_code == 200 and "No se puede abrir" in refused.content.decode()

        # Server errors, DEBUG=False, with the secrets in the failing view's locals and POST.
        broken_templates()
        assert client.post(tokens_url, {"name": "Fallará"}, follow=True).status_code == 500
        failing_upload = {
            **upload,
            "password": wrong_password,
            "file": SimpleUploadedFile("c.p12", certificate),
        }
        assert client.post(certificates_url, failing_upload).status_code == 500

        # The API turns every error into its JSON 500, so none can be provoked through it
        # without a fault: inject one in a view behind a valid token.
        def explode(*args, **kwargs):
            raise RuntimeError("injected fault in the API")

        monkeypatch.setattr("api.v1.views.TaxpayerListView.get", explode)
        crashed = api.get("/api/v1/taxpayers", HTTP_AUTHORIZATION=f"Bearer {page_token}")
        assert crashed.status_code == 500
        # A sign-up whose receiver fails: the new user's password is in the frames below.
        signed_up.connect(explode, dispatch_uid="tests.security.explode")
        try:
            anonymous = Client(raise_request_exception=False)
            signing_up = {**SIGN_UP, "password": sign_up_password}
            link = reverse("sign_up_confirm", args=[sign_up_token(SIGN_UP["email"])])
            assert anonymous.get(link)["Location"] == reverse("sign_up_continue")
            assert anonymous.post(reverse("sign_up_continue"), signing_up).status_code == 500
        finally:
            signed_up.disconnect(dispatch_uid="tests.security.explode")
        # Joining through an invitation, failing once the new user exists.
        post_save.connect(explode, sender=Membership, dispatch_uid="tests.security.explode")
        try:
            joining = {"full_name": "Invitada", "password": invited_password}
            accept = reverse("invitation_accept", args=[invitation])
            assert anonymous.post(accept, joining).status_code == 500
        finally:
            post_save.disconnect(sender=Membership, dispatch_uid="tests.security.explode")

    texts = recorder.lines + mailed_reports()
    secrets_ = {
        "settings-page token": page_token,
        "settings-page token's random part": page_token[3:],
        "command token": command_token,
        "command token's random part": command_token[3:],
        "wrong token": wrong_token,
        "certificate password": good_password,
        "wrong certificate password": wrong_password,
        "login password": PASSWORD,
        "mistyped login password": login_mistake,
        "sign-up password": sign_up_password,
        "invited user's password": invited_password,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    assert leaks(texts, secrets_) == []
    # The capture saw what it had to: the token lookups' SQL (by digest), the 500s and the
    # reports mailed to the admins, with their cleansed locals and POST.
    assert any(hash_token(page_token) in line for line in recorder.lines)
    assert any(hash_token(wrong_token) in line for line in recorder.lines)
    assert sum("Internal Server Error" in line for line in recorder.lines) >= 4
    assert any("injected fault in the API" in line for line in recorder.lines)
    html = [text for text in mailed_reports() if text.startswith("<!DOCTYPE html>")]
    assert len(html) >= 4, [m.subject for m in mail.outbox]
    assert all(CLEANSED in text for text in html)


def test_frames_holding_a_certificate_password_are_cleansed_in_error_reports(
    db, account, other_account, settings
):
    """``store_certificate`` holds the password and the PKCS#12 bytes; an unexpected error
    inside it is reported without either."""
    from django.views.debug import ExceptionReporter

    from verifactu.certificates import store_certificate

    password = "clave-" + secrets.token_hex(8)
    data = make_p12(400, password)
    foreign = other_account.taxpayers.get()
    try:
        store_certificate(account, data, password, taxpayer=foreign)
    except ValueError:
        kind, error, traceback = sys.exc_info()
        # From store_certificate down: this test's own frame holds the password too.
        report = ExceptionReporter(None, kind, error, traceback.tb_next, is_email=True)
        html, text = report.get_traceback_html(), report.get_traceback_text()
    else:  # pragma: no cover - the guard against another account's taxpayer is gone
        pytest.fail("store_certificate accepted another account's taxpayer")
    assert "store_certificate" in html and CLEANSED in html
    key_bytes = repr(data)[40:80]
    for shown in (unescape(html), text):
        assert (password in shown, key_bytes in shown) == (False, False)


@pytest.mark.slow
def test_a_real_server_logs_no_token_password_or_secret_key(
    transactional_db, tmp_path, product_hashers
):
    """gunicorn as ``make run`` starts it, every log at DEBUG, DEBUG=False, real HTTP."""
    from factu.management.commands.serve import process_specs

    account = Account.objects.create(name="Cuenta Log", slug="cuenta-log")
    taxpayer = Taxpayer.objects.create(account=account, nif="B87654323", name="Log SL")
    user = make_user("logs@example.com")
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    _, command_token = create_token(account, user, "cli")
    secret_key = secrets.token_urlsafe(60)
    cert_password = "p12-" + secrets.token_hex(8)
    wrong_token = "kf_" + "Q" * 32
    login_mistake = "mal-" + secrets.token_hex(6)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    argv = [*process_specs("127.0.0.1", port)["web"], "--workers", "1", "--log-level", "debug"]
    argv.append("--no-control-socket")  # its default path is shared by every gunicorn here
    env = child_env(DEBUG="false", LOG_LEVEL="DEBUG", SECRET_KEY=secret_key)
    with open(log_path, "wb") as log:
        server = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"{base}/entrar/")
        session = requests.Session()

        def post(path: str, data: dict, **kwargs) -> requests.Response:
            page = session.get(base + path)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            return session.post(
                base + path,
                data={**data, "csrfmiddlewaretoken": token},
                headers={"Referer": base + path},
                **kwargs,
            )

        failed = post("/entrar/", {"username": user.email, "password": login_mistake})
        assert failed.url.endswith("/entrar/") and "sessionid" not in session.cookies
        assert not post("/entrar/", {"username": user.email, "password": PASSWORD}).url.endswith(
            "/entrar/"
        )
        created = post(f"/c/{account.slug}/ajustes/tokens/", {"name": "web"})
        assert created.status_code == 200 and created.url.endswith("/creado/")  # after a 302
        [page_token] = set(RAW_TOKEN.findall(created.text))
        uploaded = post(
            f"/c/{account.slug}/ajustes/certificados/",
            {"owner": str(taxpayer.pk), "password": cert_password},
            files={"file": ("c.p12", make_p12(400, cert_password), "application/x-pkcs12")},
        )
        assert "guardado" in uploaded.text
        for raw, path, expected in (
            (page_token, "/api/v1/taxpayers", 200),
            (command_token, "/api/invoices", 200),
            (wrong_token, "/api/v1/taxpayers", 401),
        ):
            answer = requests.get(
                base + path, headers={"Authorization": f"Bearer {raw}"}, timeout=10
            )
            assert answer.status_code == expected, (path, answer.text)
    finally:
        stop(server)
    logged = log_path.read_text(errors="replace")
    secrets_ = {
        "settings-page token": page_token,
        "command token": command_token,
        "wrong token": wrong_token,
        "certificate password": cert_password,
        "login password": PASSWORD,
        "mistyped login password": login_mistake,
        "SECRET_KEY": secret_key,
    }
    assert leaks([logged], secrets_) == []
    # Verbose enough to have leaked: gunicorn's debug and access lines, Django's warnings.
    assert '"GET /api/v1/taxpayers HTTP/1.1" 401' in logged, logged[-2000:]
    assert "WARNING django.request Unauthorized: /api/v1/taxpayers" in logged
    assert f'"POST /c/{account.slug}/ajustes/certificados/ HTTP/1.1" 302' in logged
    assert "[DEBUG] POST /entrar/" in logged


# -- 2. tokens are compared by their digest only ----------------------------------------------


def test_an_api_request_looks_its_token_up_by_the_sha256_digest(db, api_token, account):
    from django.db import connection

    wrong = "kf_" + "W" * 32
    for raw, expected in ((api_token, 200), (wrong, 401)):
        client = Client()
        with CaptureQueriesContext(connection) as queries:
            status = client.get("/api/invoices", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
        assert status == expected
        sql = [q["sql"] for q in queries.captured_queries]
        assert any(hash_token(raw) in q and "token_hash" in q for q in sql), sql
        assert not any(raw[3:] in q for q in sql), sql
    assert hash_token(api_token) == hashlib.sha256(api_token.encode()).hexdigest()


# Where a raw secret (API token, invitation token, password) is handled.
SECRET_HANDLING_MODULES = (
    "api/authentication.py",
    "api/services.py",
    "api/middleware.py",
    "api/ratelimit.py",
    "api/web.py",
    "factu/services.py",
    "factu/views.py",
    "verifactu/certificates.py",
)
SECRET_WORDS = re.compile(r"token|hash|digest|password|secret|signature|raw", re.I)


def test_secrets_are_never_compared_with_equality_in_python():
    """Tokens are matched by the database on their digest (a unique index); a Python ``==``
    on a secret would be a timing oracle, so it must be ``hmac.compare_digest``."""
    offending = []
    for module in SECRET_HANDLING_MODULES:
        tree = ast.parse((ROOT / module).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
                continue
            operands = [ast.unparse(o) for o in (node.left, *node.comparators)]
            if any(SECRET_WORDS.search(o) for o in operands):
                offending.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert offending == []


# -- 3. CSRF on every browser form ------------------------------------------------------------

# Views that take a POST without Django's CSRF token, and why. The APIs' views are exempt
# (DRF's as_view), which is safe only because they authenticate by Bearer token alone.
CSRF_EXEMPT_PREFIXES = {"api/": "Bearer tokens only: no session or cookie authenticates it"}


def csrf_rejected(request, reason: str = ""):
    """The CSRF failure view while these tests run: a 403 that says it came from CSRF."""
    response = HttpResponseForbidden("csrf")
    response["X-Csrf-Rejected"] = reason
    return response


def browser_urls(world) -> list[tuple[str, str]]:
    """(route, url) of every non-API route, its parameters filled from the seeded world."""
    values = {k: v[0] for k, v in world["values"].items()}
    found = []
    for route, name, kwargs, _view in all_routes():
        if is_api(route):
            continue
        if is_admin(route):
            found.append((route, admin_url(route, "1")))
            continue
        if name in crawl.PUBLIC_KWARGS:
            filled = crawl.PUBLIC_KWARGS[name]
        else:
            missing = [k for k in kwargs if k not in values]
            assert not missing, f"{route}: no value for {missing}; add one to the world"
            filled = {k: values[k] for k in kwargs}
        found.append((route, reverse(name, kwargs=filled)))
    return found


def test_no_browser_view_is_csrf_exempt():
    exempt = [
        route
        for route, _name, _kwargs, view in all_routes()
        if getattr(view, "csrf_exempt", False) and not route.startswith(tuple(CSRF_EXEMPT_PREFIXES))
    ]
    assert exempt == []
    # The reason the API may be exempt holds: nothing but the Bearer token authenticates it.
    classes = django_settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]
    assert classes == ["api.authentication.BearerTokenAuthentication"]


def test_every_browser_route_refuses_a_post_without_the_csrf_token(world, settings):
    settings.CSRF_FAILURE_VIEW = "tests.test_security.csrf_rejected"
    urls = browser_urls(world)
    assert any(r == "admin/login/" for r, _ in urls) and any("facturas" in r for r, _ in urls)
    for user in (None, world["members"][Role.OWNER]):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        refused = []
        for route, url in urls:
            response = client.post(url, {"name": "sin token"})
            if response.status_code != 403 or "X-Csrf-Rejected" not in response:
                refused.append((route, url, response.status_code))
        assert refused == [], (user, refused)


class Forms(HTMLParser):
    """Each ``<form method="post">`` of a page and whether it carries the CSRF token."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.current = {
                "post": (attrs.get("method") or "get").lower() == "post",
                "action": attrs.get("action"),
                "token": False,
            }
            self.forms.append(self.current)
        elif (
            tag == "input"
            and self.current is not None
            and attrs.get("name") == "csrfmiddlewaretoken"
            and attrs.get("value")
        ):
            self.current["token"] = True

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None


def post_forms(html: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    return [form for form in parser.forms if form["post"]]


def test_every_post_form_on_every_page_carries_the_csrf_token(world):
    account = world["account"]
    owner = world["members"][Role.OWNER]
    raw_invitation = pending_invitation(owner, account, "nuevo@csrf.example")
    reset = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(owner.pk)),
            "token": default_token_generator.make_token(owner),
        },
    )
    anonymous_pages = [
        reverse("login"),
        reverse("sign_up"),
        reverse("password_reset"),
        reverse("invitation_accept", args=[raw_invitation]),
        reverse("sign_up_confirm", args=[sign_up_token("nueva@csrf.example")]),
    ]
    pages = {url for route, url in browser_urls(world) if not is_admin(route)}
    checked, missing = 0, []
    for user, urls in ((None, anonymous_pages + [reset]), (owner, sorted(pages))):
        client = Client(enforce_csrf_checks=True)
        if user is not None:
            client.force_login(user)
        for url in urls:
            response = client.get(url, follow=True)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for form in post_forms(response.content.decode()):
                checked += 1
                if not form["token"]:
                    missing.append((url, form["action"]))
    assert missing == []
    assert checked >= 25, checked  # the sign-up, login, invitation, reset and account forms


# -- 4. production settings -------------------------------------------------------------------


def production_env(tmp_path: Path, production: bool = True) -> dict[str, str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "FACTU_DATA_DIR": str(tmp_path),
        "CACHE_URL": "redis://127.0.0.1:6379/11",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/10",
        "DATABASE_URL": "postgres://factu@db.invalid:5432/factu",
    }
    if production:
        env.update(
            FACTU_PRODUCTION="true",
            SECRET_KEY=secrets.token_urlsafe(64),
            FACTU_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            ALLOWED_HOSTS="factu.example.com",
            CSRF_TRUSTED_ORIGINS="https://factu.example.com",
            FACTU_SIF_PRODUCER_NAME="Operadora de Factu SL",
            FACTU_SIF_PRODUCER_NIF="A28045631",
            EMAIL_URL="smtp+tls://factu:secreto@smtp.example.com",
            DEFAULT_FROM_EMAIL="Factu <facturas@factu.example.com>",
        )
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr
    # The same check does find the development defaults unfit to deploy.
    dev = manage(production_env(tmp_path, production=False), "check", "--deploy")
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in dev.stderr + dev.stdout, (check, dev.stderr)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"EMAIL_URL": ""}, "EMAIL_URL is required in production"),
        ({"DEFAULT_FROM_EMAIL": ""}, "DEFAULT_FROM_EMAIL is required in production"),
        ({"DEFAULT_FROM_EMAIL": "Factu <no-reply@factu.test>"}, "not a .test domain"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
            "EMAIL_BACKEND is no longer read",
        ),
    ],
    ids=["no-email-url", "no-sender", "test-sender", "old-email-backend"],
)
def test_production_refuses_to_start_without_a_way_to_send_mail(tmp_path, change, message):
    env = {**production_env(tmp_path), **change}
    env = {key: value for key, value in env.items() if value}
    result = manage(env, "check")
    assert result.returncode != 0
    assert message in result.stderr, result.stderr[-2000:]


def test_the_old_email_backend_variable_is_refused_in_development_too(tmp_path):
    env = {**production_env(tmp_path, production=False), "EMAIL_BACKEND": "x.y.Backend"}
    result = manage(env, "check")
    assert result.returncode != 0
    assert "EMAIL_BACKEND is no longer read" in result.stderr, result.stderr[-2000:]


def test_production_settings_secure_the_cookies_and_the_transport(tmp_path):
    names = (
        "DEBUG",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "SECURE_PROXY_SSL_HEADER",
        "SECURE_CONTENT_TYPE_NOSNIFF",
        "X_FRAME_OPTIONS",
        "SILENCED_SYSTEM_CHECKS",
    )
    script = (
        "import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"
    )
    result = manage(production_env(tmp_path), "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    # Redirect to HTTPS; X-Forwarded-Proto is trusted only behind our proxy (FACTU_TRUST_PROXY,
    # tests/test_deploy_files.py), never by default.
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SECURE_CONTENT_TYPE_NOSNIFF"] is True and values["X_FRAME_OPTIONS"] == "DENY"
    # The one silenced check is documented in settings.py (Django's RedisCache counts atomically).
    assert values["SILENCED_SYSTEM_CHECKS"] == ["django_ratelimit.W001"]


# -- 5. another account's ids are 404 on every URL --------------------------------------------

# Parameters that name no object of an account, with the values to try.
NON_OBJECT_KWARGS = {"kind": ["clientes", "facturas"]}
# Routes whose parameter is a capability, not an account's object id: the secret in the URL
# is the credential, whoever holds it (an invitation link, Django's password reset link, a
# sign-up confirmation link).
CAPABILITY_ROUTES = {"invitation_accept", "password_reset_confirm", "sign_up_confirm"}
API_METHODS = ("get", "post", "put", "patch", "delete")
BROWSER_METHODS = ("get", "post")


@pytest.fixture
def intruder(world):
    """Account A: an owner with a taxpayer and an API token, and nothing of B's."""
    account = Account.objects.create(name="Cuenta A", slug="cuenta-a")
    Taxpayer.objects.create(account=account, nif="11111111H", name="Intrusa SL")
    owner = make_user("owner@cuenta-a.example")
    Membership.objects.create(user=owner, account=account, role=Role.OWNER)
    _, raw = create_token(account, owner, "intrusa")
    assert not set(account.taxpayers.values_list("nif", flat=True)) & set(
        world["account"].taxpayers.values_list("nif", flat=True)
    )
    return {"account": account, "owner": owner, "token": raw}


def victim_ids(world) -> dict[str, list]:
    """Account B's objects for each parameter that names one, as the walk fills them."""
    from invoicing.models import Invoice
    from verifactu.models import FiscalInvoice

    b = world["account"]
    values = {k: v for k, v in world["values"].items() if k != "account_slug"}
    # The two APIs' ``invoice_id`` is a Factu invoice or a fiscal (engine) invoice: try both.
    values["invoice_id"] = [
        *values["invoice_id"],
        *FiscalInvoice.objects.filter(account=b).values_list("pk", flat=True)[:2],
    ]
    assert Invoice.objects.filter(pk__in=values["invoice_id"]).exists()
    values["nif"] = list(b.taxpayers.values_list("nif", flat=True))
    for name, found in values.items():
        assert found, f"account B has no object for {name}"
    return values


def tenancy_urls(world, intruder) -> tuple[list, list]:
    """(name, url) of every route with an object parameter, filled with B's ids; browser
    routes under A's slug. Fails on a parameter it cannot fill."""
    ids = victim_ids(world)
    browser, api, unknown = [], [], []
    for route, name, kwargs, _view in all_routes():
        if is_admin(route) or name in CAPABILITY_ROUTES:
            continue
        objects = [k for k in kwargs if k not in ("account_slug", *NON_OBJECT_KWARGS)]
        unknown += [(route, k) for k in objects if k not in ids]
        if not objects or any(k not in ids for k in objects):
            continue
        choices = [
            [intruder["account"].slug]
            if k == "account_slug"
            else NON_OBJECT_KWARGS.get(k) or ids[k]
            for k in kwargs
        ]
        for combo in itertools.product(*choices):
            url = reverse(name, kwargs=dict(zip(kwargs, combo, strict=True)))
            (api if is_api(route) else browser).append((name, url))
    assert unknown == [], f"the tenancy walk cannot fill {unknown}: add B's objects for them"
    return browser, api


def test_another_accounts_ids_are_404_on_every_browser_url(client, world, intruder):
    browser, _ = tenancy_urls(world, intruder)
    names = {name for name, _ in browser}
    assert {"invoice_detail", "desk_subsanar", "api_token_revoke", "member_role"} <= names
    client.force_login(intruder["owner"])
    wrong = []
    for name, url in browser:
        codes = {method: getattr(client, method)(url).status_code for method in BROWSER_METHODS}
        if not set(codes.values()) <= {404, 405} or 404 not in codes.values():
            wrong.append((name, url, codes))
    assert wrong == []


def test_another_accounts_ids_are_404_on_every_api_url(client, world, intruder, settings):
    settings.API_RATE_LIMIT = 100_000
    _, api = tenancy_urls(world, intruder)
    names = {name for name, _ in api}
    assert {"v1-invoice", "v1-cancel", "v1-taxpayer-invoices", "api-invoice-status"} <= names
    headers = {"HTTP_AUTHORIZATION": f"Bearer {intruder['token']}"}
    wrong = []
    for name, url in api:
        codes = {}
        for method in API_METHODS:
            response = getattr(client, method)(
                url, data={}, content_type="application/json", **headers
            )
            codes[method] = response.status_code
        if not set(codes.values()) <= {404, 405} or 404 not in codes.values():
            wrong.append((name, url, codes))
    assert wrong == []


def test_the_admin_sends_an_account_owner_to_its_login_whatever_the_id(client, intruder, world):
    """The admin is outside tenancy (staff only): a member's ids never get them in."""
    client.force_login(intruder["owner"])
    admin_routes = [r for r in all_routes() if is_admin(r[0]) and r[1] not in ("login", "logout")]
    assert len(admin_routes) > 10
    for route, _name, _kwargs, _view in admin_routes:
        url = admin_url(route, str(world["values"]["taxpayer_id"][0]))
        response = client.get(url)
        assert response.status_code == 302, (url, response.status_code)
        assert response["Location"].startswith("/admin/login/"), url
