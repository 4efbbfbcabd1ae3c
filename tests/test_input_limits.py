"""Input that cannot hurt the server: the series format's grammar, JSON nesting depth, the
request-body cap before uploads are read, the token cap and the account-wide rate limit, and
the optional pagination of ``GET /api/clients``."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse

from invoicing.models import Series

pytestmark = pytest.mark.django_db


def url(account, name, *args):
    return reverse(name, args=[account.slug, *args])


# ---------------------------------------------------------------------------------------
# The series number format
# ---------------------------------------------------------------------------------------

# The formats Factu stores (the default, the imported series', the demo's) and the shapes
# str.format rendered that the grammar keeps: widths, zero fill, escaped braces.
STORED_FORMATS = [
    "{year}-{code}-{number}",
    "{code}-{year}-{number}",
    "{code}{number}",
    "{number}",
    "F{year}/{number}",
    "{code}.{year:04}.{number}",
    "{year:02}{code:4}{number}",
    "{code:05}-{number:8}",
    "{{{code}}}-{number}",
    # format specs the old form let through (str.format rendered them with "001")
    "{year:04d}-{number}",
    "{year:d}/{number}",
    "{number:>6}",
    "{code:<4}-{number}",
    "{code:_^8}{number}",
    "{number:s}",
    "{year:}-{code:}-{number:}",
    "{year:_>8d}-{number:0>6s}",
    "{year:*^10}{number:-<9}",
    "{year:=+8}{number}",
    "{year:+}{code: >5}{number}",
    "{year:x}-{year:#o}-{number}",
    "{year:,}/{year:_}/{number}",
    "{year:.2f}{number}",
    "{code:.1}{year:^20}{number:20}",
    "{code:020}{number:.2}",
    "{code:0<3s}{number:00007}",
    "{year:~<20}{number:>20s}",
]


@pytest.mark.parametrize("fmt", STORED_FORMATS)
@pytest.mark.parametrize("padding", range(1, 11))
def test_every_stored_format_renders_exactly_as_str_format_did(fmt, padding):
    from invoicing import numbering

    for year, code, counter in [(2026, "A", 1), (2026, "2026-WEB", 42), (1999, "R", 123456)]:
        number = str(counter).zfill(padding)
        assert numbering.render(fmt, year=year, code=code, number=number) == fmt.format(
            year=year, code=code, number=number
        )


def test_series_format_number_uses_the_grammar(series):
    series.padding = 5
    assert series.format_number(2026, 7) == "2026-A-00007"


@pytest.mark.parametrize(
    ("fmt", "message"),
    [
        ("{year:>100000000}-{number}", "no puede pasar de 20"),
        ("{year:100000000}-{number}", "no puede pasar de 20"),
        ("{code:.21}{number}", "no puede pasar de 20"),
        ("{year:>00000000000000021}{number}", "no puede pasar de 20"),
        ("{year:=>8}{number}", "error 1287"),
        ("{code:<<6}{number}", "error 1287"),
        ("{number:'^9}", "error 1287"),
        ("{number:ñ>9}", "sin acentos"),
        ("{year:{code}}{number}", "tras «:» solo un ancho"),
        ("{year:c}{number}", "tras «:» solo un ancho"),
        ("{number:d}", "tras «:» solo un ancho"),
        ("{code:=5}{number}", "tras «:» solo un ancho"),
        ("{year:,x}{number}", "tras «:» solo un ancho"),
        ("{year!s}{number}", "use solo {year}, {code} y {number}"),
        ("{year.__class__}-{number}", "use solo {year}, {code} y {number}"),
        ("{code[0]}-{number}", "use solo {year}, {code} y {number}"),
        ("{number!r}", "use solo {year}, {code} y {number}"),
        ("{oops}{number}", "use solo {year}, {code} y {number}"),
        ("{}{number}", "use solo {year}, {code} y {number}"),
        ("<{number}>", "error 1287"),
        ("A={number}", "error 1287"),
        ("A'{number}\"", "error 1287"),
        ("{year}-{code}", "debe incluir {number}"),
        ("{number", "Falta cerrar una llave"),
        ("}{number}", "sin abrir"),
        ("{number}ñ", "sin acentos"),
    ],
)
def test_the_form_refuses_formats_outside_the_grammar_with_a_field_error(
    login, owner, account, taxpayer, fmt, message
):
    response = login(owner).post(
        url(account, "series_create"),
        {"code": "B", "kind": "F1", "number_format": fmt, "padding": "3"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert message in errors["number_format"][0]
    assert not Series.objects.filter(code="B").exists()


def test_a_huge_width_is_refused_quickly_without_building_it(login, owner, account, taxpayer):
    started = time.monotonic()
    response = login(owner).post(
        url(account, "series_create"),
        {"code": "B", "kind": "F1", "number_format": "{year:999999999999}{number}", "padding": "3"},
    )
    assert response.status_code == 400
    assert time.monotonic() - started < 2


def test_a_width_of_thousands_of_digits_is_refused_without_converting_it():
    """Python refuses to convert an integer string of over 4,300 digits (ValueError); the
    grammar bounds the digits first, leading zeros or not."""
    from invoicing import numbering

    for digits in ["9" * 5000, "0" * 5000 + "21", "0" * 5000 + "7"]:
        fmt = "{year:" + digits + "}{number}"
        if digits.endswith("7"):
            rendered = fmt.format(year=2026, code="A", number="001")
            assert numbering.render(fmt, year=2026, code="A", number="001") == rendered
        else:
            with pytest.raises(numbering.FormatError, match="no puede pasar de 20"):
                numbering.parse(fmt)


def test_numbering_never_calls_str_format_on_user_text(monkeypatch):
    """A format the grammar accepts is rendered by concatenation: a str subclass whose
    ``format`` explodes proves no code path calls it."""

    from invoicing import numbering

    class Trap(str):
        def format(self, *args, **kwargs):  # pragma: no cover - failing is the point
            raise AssertionError("str.format called on user text")

    assert numbering.render(Trap("{year}-{code}-{number}"), year=2026, code="A", number="001")


def _migration_0008():
    import importlib

    return importlib.import_module("invoicing.migrations.0008_series_number_format_grammar")


DANGEROUS_FORMATS = [
    "{year.real}{number}",
    "{code[0]}{number}",
    "{number!r}",
    "{year:>100}{number}",
    "{code:.99}{number}",
    "{year:c}{number}",
    "A={number}",
    "{year:=>8}{number}",
    "{number}ñ",
    "{oops}{number}",
]


@pytest.mark.parametrize("fmt", STORED_FORMATS + DANGEROUS_FORMATS)
def test_the_migration_keeps_exactly_what_the_grammar_renders(fmt):
    """The migration's frozen rule and today's grammar agree: a format either renders or is
    reset, never left behind unrenderable."""
    from invoicing import numbering

    try:
        numbering.parse(fmt)
    except numbering.FormatError:
        accepted = False
    else:
        accepted = True
    assert accepted == (fmt in STORED_FORMATS)
    assert (_migration_0008().refusal(fmt) is None) == accepted


def test_the_migration_leaves_safe_formats_alone_and_resets_only_a_dangerous_one(taxpayer, capsys):
    from django.apps import apps

    kept = [
        Series.objects.create(
            account=taxpayer.account, taxpayer=taxpayer, code=f"K{i}", number_format=fmt
        )
        for i, fmt in enumerate(STORED_FORMATS)
        if len(fmt) <= 40
    ]
    assert len(kept) >= len(STORED_FORMATS) - 1
    bad = Series.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, code="X", number_format="{year.real}{number}"
    )
    _migration_0008().reset_unsafe_formats(apps, None)
    for series in kept:
        before = series.number_format
        series.refresh_from_db()
        assert series.number_format == before
    bad.refresh_from_db()
    assert bad.number_format == "{year}-{code}-{number}"
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert str(bad.pk) in lines[0] and "'{year.real}{number}'" in lines[0]


def test_the_migration_does_not_import_the_grammar_it_freezes():
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(_migration_0008()))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name and name.startswith("invoicing") for name in imported)


@pytest.mark.parametrize(
    "fmt", ["{year:04d}-{number}", "{number:>6}{number}", "{code:20}{year:20}{number}{number}"]
)
def test_the_form_accepts_what_it_accepted_before_even_with_ten_digits(
    login, owner, account, taxpayer, fmt
):
    """The old form judged a format by its sample with "001", whatever the padding; a format
    that passed then (here 46 characters with "001", 60 with ten digits) passes now."""
    assert len(fmt.format(year=2026, code="B", number="001")) <= 50
    response = login(owner).post(
        url(account, "series_create"),
        {"code": "B", "kind": "F1", "number_format": fmt, "padding": "10"},
    )
    assert response.status_code == 302, response.context["form"].errors
    series = Series.objects.get(code="B")
    assert series.number_format == fmt
    assert series.format_number(2026, 1) == fmt.format(year=2026, code="B", number="0000000001")


# ---------------------------------------------------------------------------------------
# JSON nesting depth, both APIs
# ---------------------------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000


@pytest.mark.parametrize("path", ["/api/clients", "/api/invoices", "/api/ping"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, '{"name": ' + DEEP + "}"])
def test_deep_json_is_a_400_in_the_account_api(api_client, path, body):
    response = api_client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "parse_error"
    assert "deeper than 32 levels" in error["message"]


@pytest.mark.parametrize("path", ["/api/v1/invoices", "/api/v1/taxpayers"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
def test_deep_json_is_a_400_in_the_v1_api(api_client, path, body):
    response = api_client.post(path, body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    assert "deeper than 32 levels" in response.json()["message"]


def test_deep_json_with_an_idempotency_key_is_a_400_too(api_client):
    response = api_client.post(
        "/api/clients", DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400


def test_brackets_inside_strings_do_not_count_and_normal_bodies_pass(api_client):
    from rest_framework.exceptions import ParseError

    from api.parsers import check_depth, nesting_depth

    assert nesting_depth('{"a": "[[[[{{{{\\"]]]"}') == 1
    assert nesting_depth("42") == 0
    assert nesting_depth('[{"a": [1, {"b": []}]}]') == 5
    check_depth("[" * 32 + "]" * 32)  # the limit itself passes
    with pytest.raises(ParseError):
        check_depth("[" * 33 + "]" * 33)
    name = "[" * 100 + "ACME" + "]" * 100
    response = api_client.post(
        "/api/clients",
        json.dumps({"name": name, "nif": "", "country": "FR"}),
        content_type="application/json",
    )
    assert response.status_code != 500 and "deeper" not in response.content.decode()


@pytest.mark.timeout(30)
def test_a_body_of_quotes_and_escapes_is_measured_in_linear_time(api_client):
    """A string pattern that skips escapes itself rescans the rest of the body from every
    quote: ``["\\"\\…`` of 2 MB took hours of a worker. Both steps must stay linear."""
    from api.parsers import nesting_depth

    body = "[" + '"\\' * 1_000_000  # 2 MB, under the API's body cap
    assert nesting_depth(body) == 1
    response = api_client.post("/api/clients", body, content_type="application/json")
    assert response.status_code == 400


# ---------------------------------------------------------------------------------------
# Request bodies: capped before any upload is read
# ---------------------------------------------------------------------------------------


@pytest.fixture
def received(monkeypatch):
    """The bytes Django's own upload handlers (memory, temporary file) were given."""
    from django.core.files import uploadhandler

    got = []
    for cls in (uploadhandler.MemoryFileUploadHandler, uploadhandler.TemporaryFileUploadHandler):
        original = cls.receive_data_chunk

        def spy(self, raw_data, start, _original=original):
            got.append(len(raw_data))
            return _original(self, raw_data, start)

        monkeypatch.setattr(cls, "receive_data_chunk", spy)
    return got


def _too_large(response, megabytes: str) -> None:
    assert response.status_code == 413, response.status_code
    page = response.content.decode()
    assert "Archivo demasiado grande" in page and f"más de {megabytes} MB" in page


def test_an_import_over_its_cap_is_a_413_before_the_file_is_read(
    login, owner, account, taxpayer, received, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from factu.models import Job

    settings.MEDIA_ROOT = tmp_path
    big = SimpleUploadedFile("clientes.csv", b"a;b\n" * (21 * 1024 * 1024 // 4))
    response = login(owner).post(
        url(account, "transfers_import_clients"), {"mode": "all", "file": big}
    )
    _too_large(response, "20,1")
    assert received == [] and not Job.objects.exists() and not list(tmp_path.rglob("*.csv"))


def test_a_receipt_over_its_cap_is_a_413_before_it_is_read(
    login, owner, account, taxpayer, received, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from expenses.models import Expense

    settings.FACTU_RECEIPT_MAX_BYTES = 100 * 1024
    big = SimpleUploadedFile("ticket.pdf", b"%PDF-" + b"0" * (300 * 1024))
    response = login(owner).post(
        url(account, "expense_create"),
        {"date": "2026-03-01", "description": "Hosting", "amount": "10", "receipt": big},
    )
    _too_large(response, "0,2")
    assert received == [] and not Expense.objects.exists()


def test_a_certificate_over_its_cap_is_a_413_before_it_is_read(
    login, owner, account, taxpayer, received
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("cert.p12", b"0" * (400 * 1024))
    response = login(owner).post(
        url(account, "certificate_list"), {"file": big, "password": "x", "owner": "rep"}
    )
    _too_large(response, "0,3")
    assert received == []


def test_a_page_that_takes_no_file_takes_no_big_body(login, owner, account, taxpayer, received):
    from django.core.files.uploadedfile import SimpleUploadedFile

    big = SimpleUploadedFile("x.bin", b"0" * (3 * 1024 * 1024))
    response = login(owner).post(url(account, "series_create"), {"code": "B", "file": big})
    _too_large(response, "2,5")
    assert received == []


def test_a_big_body_to_the_login_page_is_a_413_too(client, db):
    body = "email=a&password=" + "b" * (3 * 1024 * 1024)
    response = client.post("/entrar/", body, content_type="application/x-www-form-urlencoded")
    _too_large(response, "2,5")


def test_uploads_under_the_cap_still_reach_the_form(login, owner, account, taxpayer, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.FACTU_RECEIPT_MAX_BYTES = 1024
    small = SimpleUploadedFile("ticket.pdf", b"%PDF-" + b"0" * 2048)
    response = login(owner).post(
        url(account, "expense_create"),
        {"date": "2026-03-01", "description": "Hosting", "amount": "10", "receipt": small},
    )
    assert response.status_code == 200  # the form's own message, as before
    assert "ocupa demasiado" in response.content.decode()


def test_the_upload_handler_stops_at_the_cap_whatever_the_header_said():
    from factu.uploads import LimitedUploadHandler, UploadTooLarge

    handler = LimitedUploadHandler(10)
    handler.handle_raw_input(None, {}, 5, b"--b")
    assert handler.receive_data_chunk(b"x" * 6, 0) == b"x" * 6
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 6, 6)
    with pytest.raises(UploadTooLarge):
        LimitedUploadHandler(10).handle_raw_input(None, {}, 11, b"--b")


# ---------------------------------------------------------------------------------------
# Tokens: a cap per account, and an account-wide rate limit beside the per-token one
# ---------------------------------------------------------------------------------------


@pytest.fixture
def private_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    from django.core.cache import cache

    cache.clear()


def test_an_account_holds_at_most_the_configured_active_tokens(account, owner, settings):
    from django.core.exceptions import ValidationError

    from api.services import create_token, revoke_token

    settings.API_MAX_ACTIVE_TOKENS = 3
    tokens = [create_token(account, owner, f"t{i}")[0] for i in range(3)]
    with pytest.raises(ValidationError) as refused:
        create_token(account, owner, "one too many")
    assert "ya tiene 3 tokens activos" in refused.value.message_dict["name"][0]
    revoke_token(tokens[0])
    assert create_token(account, owner, "after a revocation")[0].is_active


@pytest.mark.postgres
def test_concurrent_creations_do_not_pass_the_cap(transactional_db, account, owner, settings):
    import threading

    from django.core.exceptions import ValidationError
    from django.db import connection

    from api.models import ApiToken
    from api.services import create_token

    settings.API_MAX_ACTIVE_TOKENS = 3
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def create(i: int) -> None:
        start.wait()
        try:
            create_token(account, owner, f"t{i}")
            outcomes.append("created")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["created"] * 3 + ["refused"] * 5
    assert ApiToken.objects.filter(account=account, revoked_at__isnull=True).count() == 3


def test_the_default_cap_is_fifty(account, owner):
    from django.core.exceptions import ValidationError

    from api.services import create_token

    for i in range(50):
        create_token(account, owner, f"t{i}")
    with pytest.raises(ValidationError):
        create_token(account, owner, "51st")


def test_the_settings_page_refuses_a_token_over_the_cap_with_a_400(login, owner, account, settings):
    from api.models import ApiToken
    from api.services import create_token

    settings.API_MAX_ACTIVE_TOKENS = 1
    create_token(account, owner, "ERP")
    response = login(owner).post(reverse("api_token_list", args=[account.slug]), {"name": "Otro"})
    assert response.status_code == 400
    assert "ya tiene 1 token activo," in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_the_command_refuses_a_token_over_the_cap(account, owner, settings):
    from django.core.management import CommandError, call_command

    settings.API_MAX_ACTIVE_TOKENS = 1
    call_command("create_api_token", "--email", owner.email, "--name", "a")
    with pytest.raises((CommandError, Exception)) as refused:
        call_command("create_api_token", "--email", owner.email, "--name", "b")
    assert "1 token activo," in str(refused.value)


def test_an_accounts_tokens_together_meet_the_account_limit(
    client, account, owner, settings, private_cache
):
    from api.services import create_token

    settings.API_RATE_LIMIT = 3
    settings.API_ACCOUNT_RATE_LIMIT = 5
    first = create_token(account, owner, "a")[1]
    second = create_token(account, owner, "b")[1]
    for _ in range(3):
        assert client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {first}").status_code == 200
    for _ in range(2):
        ok = client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {second}")
        assert ok.status_code == 200
    assert ok["X-Account-RateLimit-Limit"] == "5"
    assert ok["X-Account-RateLimit-Remaining"] == "0"
    assert ok["X-RateLimit-Limit"] == "3" and ok["X-RateLimit-Remaining"] == "1"
    refused = client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {second}")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "account_rate_limited"
    assert "across all of the account's tokens" in refused.json()["error"]["message"]
    assert int(refused["Retry-After"]) >= 1
    third = create_token(account, owner, "c")[1]
    v1 = client.get("/api/v1/taxpayers", HTTP_AUTHORIZATION=f"Bearer {third}")
    assert v1.status_code == 429 and "Account rate limit" in v1.json()["message"]


def test_another_account_is_not_affected(
    client, account, owner, other_account, settings, private_cache
):
    from api.services import create_token
    from factu.models import Membership

    settings.API_ACCOUNT_RATE_LIMIT = 2
    mine = create_token(account, owner, "a")[1]
    Membership.objects.create(user=owner, account=other_account, role="owner")
    theirs = create_token(other_account, owner, "b")[1]
    for _ in range(3):
        client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {mine}")
    assert client.get("/api/ping", HTTP_AUTHORIZATION=f"Bearer {theirs}").status_code == 200


def test_seed_000_per_token_headers_stay_with_the_defaults(api_client, private_cache):
    response = api_client.get("/api/ping")
    assert response["X-RateLimit-Limit"] == "100"
    assert response["X-RateLimit-Remaining"] == "99"
    assert response["X-Account-RateLimit-Limit"] == "500"


# ---------------------------------------------------------------------------------------
# GET /api/clients: a plain array, optionally paged, with X-Total-Count
# ---------------------------------------------------------------------------------------


@pytest.fixture
def five_clients(taxpayer):
    from clients.models import Client

    for name in ["Eco", "Alfa", "Delta", "Bravo", "Charlie"]:
        Client.objects.create(account=taxpayer.account, taxpayer=taxpayer, name=name, country="FR")


def _names(response) -> list[str]:
    body = response.json()
    assert isinstance(body, list)  # seed 000: a plain array, never an envelope
    return [item["name"] for item in body]


def test_clients_without_parameters_are_all_of_them_with_the_total(api_client, five_clients):
    response = api_client.get("/api/clients")
    assert response.status_code == 200
    assert _names(response) == ["Alfa", "Bravo", "Charlie", "Delta", "Eco"]
    assert response["X-Total-Count"] == "5"


def test_clients_page_and_limit_give_a_slice_of_the_array(api_client, five_clients):
    second = api_client.get("/api/clients?page=2&limit=2")
    assert _names(second) == ["Charlie", "Delta"] and second["X-Total-Count"] == "5"
    assert _names(api_client.get("/api/clients?limit=3")) == ["Alfa", "Bravo", "Charlie"]
    assert _names(api_client.get("/api/clients?page=9&limit=2")) == []
    searched = api_client.get("/api/clients?search=alfa&page=1")
    assert _names(searched) == ["Alfa"] and searched["X-Total-Count"] == "1"


@pytest.mark.parametrize("query", ["page=0", "page=x", "limit=0", "limit=201", "page=-1"])
def test_bad_clients_page_or_limit_is_a_400_naming_the_field(api_client, five_clients, query):
    response = api_client.get(f"/api/clients?{query}")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {query.split("=")[0]}
