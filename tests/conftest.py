"""Shared fixtures: the personas of tenancy, and the gates for real services.

A test marked ``postgres``, ``redis`` or ``browser`` is skipped with a reason when the service
is not configured here; with ``CI=true`` a missing service fails the test instead, so CI can
never pass by skipping what it was meant to prove.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from urllib.parse import urlparse

import pytest
from django.conf import global_settings
from django.core import mail
from django.db import connection
from django.urls import reverse

from factu.models import Account, Membership, Role, Taxpayer, User
from tests.invoices import acme, actor, draft, issued  # noqa: F401 - the fixtures of invoicing
from tests.mailing_helpers import eager_celery, refusing_smtp  # noqa: F401 - Celery in-process; refusing SMTP
from tests.quotes import make_quote  # noqa: F401 - the fixture of quotes
from tests.signers import pki, signing_ca, signing_certificate  # noqa: F401 - NO VERI*FACTU
from tests.smtp import smtp_outbox  # noqa: F401 - the fixture: a real SMTP server on loopback
from tests.tampering import signed_chain, tamper  # noqa: F401 - the tampering cases

# Every signature the session makes is verified by xmlsec1 at its end (tests/signature_audit.py).
pytest_plugins = ("tests.signature_audit",)

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def redis_url() -> str | None:
    for name in ("CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL"):
        value = os.environ.get(name, "")
        if value.startswith("redis"):
            return value
    return None


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _missing(item) -> str | None:
    postgres = connection.vendor == "postgresql"
    if item.get_closest_marker("postgres") and not postgres:
        return "needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
    if item.get_closest_marker("redis"):
        url = redis_url()
        if url is None:
            return "needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/0"
        if not _reachable(url, 6379):
            return f"needs Redis, but {url} does not answer"
    if item.get_closest_marker("browser") and not os.path.exists(CHROMIUM):
        return "needs Debian's chromium: apt-get install chromium"
    return None


def _flush_allowing_deletes() -> None:
    """SQLite refuses deleting billing records, events, signatures and chains unless
    ``factu_deletes_allowed()`` says 1 (:mod:`verifactu.triggers`): the runner's flush of a
    transactional test empties the tables with ``DELETE``, so it alone sets it, while it runs
    (PostgreSQL's flush truncates, which fires no row trigger)."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    from factu.triggers import DELETES

    operations = DatabaseWrapper.ops_class
    flush = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        DELETES.allowed = True
        try:
            return flush(self, sql_list)
        finally:
            DELETES.allowed = False

    operations.execute_sql_flush = execute_sql_flush


def pytest_configure(config) -> None:
    _flush_allowing_deletes()


def pytest_runtest_setup(item) -> None:
    reason = _missing(item)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI=true and a required service is missing: {reason}", pytrace=False)
    pytest.skip(reason)


# The personas' passwords are hashed with MD5: the suite creates and checks thousands of them,
# and Django's PBKDF2 is slow on purpose. Django's own hashers follow, so that a hash made by a
# child process (on the product's settings) still verifies here.
FAST_PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    *global_settings.PASSWORD_HASHERS,
]


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing(django_test_environment):
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=FAST_PASSWORD_HASHERS):
        yield


@pytest.fixture
def product_hashers(settings) -> None:
    """Django's own hashers, for a test whose child process (on the product's settings, with
    no MD5) checks a password made here."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Each test starts with no counts of the sign-up and password-reset throttles (django-
    ratelimit counts in the cache, which outlives a test): the suite signs up the same
    addresses from 127.0.0.1 many times."""
    from django.core.cache import cache

    with contextlib.suppress(Exception):  # a test that takes the cache away meets its errors
        cache.clear()


def sign_up_through_the_link(client, data: dict):
    """Sign-up as a person does it: step one (the email), the emailed link (Django's outbox),
    and step two's form with the rest of ``data``. Returns step two's response."""
    response = client.post(reverse("sign_up"), {"email": data["email"]})
    assert response["Location"] == reverse("sign_up_sent")
    [message] = [m for m in mail.outbox if m.to == [data["email"].lower()]]
    link = re.search(r"https?://[^/\s]+(/\S+)", message.body)
    assert link, message.body
    moved = client.get(link.group(1))
    assert moved["Location"] == reverse("sign_up_continue")
    rest = {k: v for k, v in data.items() if k != "email"}
    return client.post(reverse("sign_up_continue"), rest)


def make_user(email: str) -> User:
    return User.objects.create_user(email, "correct horse battery", full_name=email.split("@")[0])


@pytest.fixture
def account(db) -> Account:
    return Account.objects.create(name="Estudio Sol", slug="estudio-sol", kind=Account.Kind.COMPANY)


@pytest.fixture
def taxpayer(account) -> Taxpayer:
    return Taxpayer.objects.create(account=account, nif="B87654323", name="Estudio Sol SL")


@pytest.fixture
def other_account(db) -> Account:
    other = Account.objects.create(
        name="Gestoría Ajena", slug="gestoria-ajena", kind=Account.Kind.GESTORIA
    )
    Taxpayer.objects.create(account=other, nif="A28045631", name="Cliente Ajeno SA")
    return other


def _member(account: Account, email: str, role: str) -> User:
    user = make_user(email)
    Membership.objects.create(user=user, account=account, role=role)
    return user


@pytest.fixture
def owner(account, taxpayer) -> User:
    return _member(account, "owner@example.com", Role.OWNER)


@pytest.fixture
def viewer(account, taxpayer) -> User:
    return _member(account, "viewer@example.com", Role.VIEWER)


@pytest.fixture
def accountant(account, taxpayer) -> User:
    return _member(account, "accountant@example.com", Role.ACCOUNTANT)


@pytest.fixture
def accountant_elsewhere(other_account) -> User:
    """An accountant, but of another account: an outsider to ``account``."""
    return _member(other_account, "accountant@elsewhere.example", Role.ACCOUNTANT)


@pytest.fixture
def outsider(db) -> User:
    return make_user("outsider@example.com")


@pytest.fixture
def login(client):
    def _login(user: User):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def computer_system(account):
    from verifactu.models import ComputerSystem

    return ComputerSystem.objects.create(
        account=account,
        label="test-1",
        producer_name="Factu Software SL",
        producer_nif="B87654323",
        name="Factu",
        system_id="FA",
        version="1.0",
        installation_number="TEST-1",
    )


def make_facts(**overrides):
    """The v1 seed's example invoice as engine facts, with a valid recipient NIF."""
    from datetime import date
    from decimal import Decimal

    from verifactu.facts import BreakdownFacts, InvoiceFacts

    values = {
        "issuer_nif": "B87654323",
        "issuer_name": "Estudio Sol SL",
        "invoice_number": "F-2026-042",
        "invoice_date": date(2026, 3, 13),
        "invoice_type": "F1",
        "description": "Mantenimiento mensual",
        "regime_types": ("01",),
        "recipient_nif": "A28045631",
        "recipient_name": "Cliente SA",
        "breakdown": (
            BreakdownFacts(
                base_amount=Decimal("500.00"),
                tax_rate=Decimal("21.00"),
                tax_amount=Decimal("105.00"),
            ),
            BreakdownFacts(
                base_amount=Decimal("200.00"),
                tax_rate=Decimal("10.00"),
                tax_amount=Decimal("20.00"),
            ),
        ),
        "total_amount": Decimal("825.00"),
        "total_tax_amount": Decimal("125.00"),
    }
    values.update(overrides)
    return InvoiceFacts(**values)


def another_installation(system, installation_number: str, account=None):
    """The software of ``system`` on another installation of its account (or of ``account``)."""
    from verifactu.models import ComputerSystem

    return ComputerSystem.objects.create(
        account=account or system.account,
        label=installation_number.lower(),
        producer_name=system.producer_name,
        producer_nif=system.producer_nif,
        name=system.name,
        system_id=system.system_id,
        version=system.version,
        installation_number=installation_number,
    )


def register_for(taxpayer, system, invoice_number: str, **overrides):
    """Register an invoice of any ``taxpayer`` (its NIF and name as the issuer's) on
    ``system``; returns the :class:`~verifactu.records.Registration`."""
    from verifactu.records import register_invoice

    return register_invoice(
        account=taxpayer.account,
        taxpayer=taxpayer,
        system=system,
        facts=make_facts(
            issuer_nif=taxpayer.nif,
            issuer_name=taxpayer.name,
            invoice_number=invoice_number,
            **overrides,
        ),
        source="api_v1",
    )


@pytest.fixture
def register(account, taxpayer, computer_system):
    """Register an invoice of ``taxpayer`` through the engine; keyword args override facts."""
    from verifactu.records import register_invoice

    def _register(now=None, **overrides):
        return register_invoice(
            account=account,
            taxpayer=taxpayer,
            system=computer_system,
            facts=make_facts(**overrides),
            source="api_v1",
            now=now,
        )

    return _register


@pytest.fixture
def api_token(account, owner) -> str:
    """A raw API token of ``account``, created by its owner."""
    from api.services import create_token

    _, raw = create_token(account, owner, "tests")
    return raw


@pytest.fixture
def api_client(client, api_token):
    """The Django test client sending ``Authorization: Bearer <token>`` on every request."""
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_token}"
    return client


@pytest.fixture
def series(taxpayer):
    """The taxpayer's ordinary series "A"."""
    from invoicing.models import Series

    return Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="A")


@pytest.fixture
def rect_series(taxpayer):
    """The taxpayer's series "R" for facturas rectificativas."""
    from invoicing.models import Series

    return Series.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, code="R", kind=Series.Kind.RECTIFYING
    )


@pytest.fixture
def simulator(settings):
    """The AEAT simulator in this process (plain HTTP, no wait), where the engine sends."""
    from verifactu.simulator.server import start_simulator

    sim = start_simulator(wait_seconds=0)
    settings.AEAT_ENDPOINT = sim.url
    settings.AEAT_CERT_FILE = ""
    settings.VERIFACTU_DEFAULT_WAIT = 0
    yield sim
    sim.stop()
