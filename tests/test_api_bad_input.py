"""Bad input to both APIs, by hand: each is a 4xx in its API's envelope that names the field,
and nothing is stored. And the hard-but-valid input (accents, emoji, ``&`` in a NumSerie) is
accepted and round-trips."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import etree

from api.v1.json import DecimalJSONRenderer
from clients.models import Client
from clients.services import create_client
from expenses.models import Expense
from factu.models import Taxpayer
from invoicing.models import Invoice
from tests.payloads import one_line_invoice, seed_003_invoice
from verifactu.models import BillingRecord, ComputerSystem, FiscalInvoice

D = Decimal
pytestmark = pytest.mark.django_db

CONTROL = "Línea\x07con campana"  # BEL: a control character in otherwise good text


def stored() -> dict[str, int]:
    """How many rows of everything the two APIs can create."""
    return {
        model.__name__: model.objects.count()
        for model in (
            Invoice,
            Client,
            Expense,
            Taxpayer,
            ComputerSystem,
            FiscalInvoice,
            BillingRecord,
        )
    }


def send(client, method: str, path: str, data, content_type="application/json"):
    if not isinstance(data, (str, bytes)):
        data = DecimalJSONRenderer().render(data)
    return getattr(client, method.lower())(path, data=data, content_type=content_type)


def account_fields(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    return body["error"].get("fields", {})


def v1_fields(response) -> dict:
    body = json.loads(response.content)
    assert set(body) == {"message", "errors"}, body
    return body["errors"]


def fields_of(path: str, response) -> dict:
    return v1_fields(response) if path.startswith("/api/v1/") else account_fields(response)


@pytest.fixture
def acme(taxpayer):
    return create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})


@pytest.fixture
def ids(taxpayer, computer_system, series, acme):
    return {
        "taxpayer_id": str(taxpayer.pk),
        "computer_system_id": str(computer_system.pk),
        "seriesId": str(series.pk),
        "clientId": str(acme.pk),
    }


def account_invoice(ids, **overrides) -> dict:
    line = {"description": "Consultoría", "quantity": 100, "unitPrice": 100000}
    line.update(overrides.pop("line", {}))
    return {
        "seriesId": ids["seriesId"],
        "clientId": ids["clientId"],
        "issueDate": "2026-03-13",
        "lines": [line],
        **overrides,
    }


def v1_invoice(ids, **overrides) -> dict:
    return {
        **seed_003_invoice(),
        "taxpayer_id": ids["taxpayer_id"],
        "computer_system_id": ids["computer_system_id"],
        **overrides,
    }


def expense(**overrides) -> dict:
    return {"date": "2026-03-13", "description": "Hosting", "amount": 4999, **overrides}


def good_body(path: str, ids) -> dict:
    return {
        "/api/invoices": account_invoice(ids),
        "/api/clients": {"name": "Cliente Nuevo", "nif": "12345678Z"},
        "/api/expenses": expense(),
        "/api/v1/invoices": v1_invoice(ids),
        "/api/v1/taxpayers": {"nif": "A28045631", "name": "Otra SA"},
        "/api/v1/computer-systems": {
            "producer_name": "Integrador SL",
            "producer_nif": "A28045631",
            "name": "Integrador",
            "system_id": "IN",
            "version": "1.0",
            "installation_number": "1",
        },
    }[path]


CREATE_PATHS = [
    "/api/invoices",
    "/api/clients",
    "/api/expenses",
    "/api/v1/invoices",
    "/api/v1/taxpayers",
    "/api/v1/computer-systems",
]


# -- The body as a whole --------------------------------------------------------------------


MALFORMED = [
    '{"name": ',
    "{'name': 'single quotes'}",
    '{"name": "x",}',
    '{"total_amount": NaN}',
    '{"amount": Infinity}',
    b"\xff\xfe not utf-8",
    "",
]


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_malformed_json_is_a_400_in_the_envelope_and_stores_nothing(api_client, ids, path):
    before = stored()
    for raw in MALFORMED:
        response = send(api_client, "POST", path, raw)
        assert response.status_code == 400, (raw, response.content)
        fields_of(path, response)  # the envelope of its API
    assert stored() == before


@pytest.mark.parametrize("path", CREATE_PATHS)
def test_json_that_is_not_an_object_is_a_400(api_client, ids, path):
    before = stored()
    for raw in ["[]", '"text"', "null", "42", "[{}]"]:
        response = send(api_client, "POST", path, raw)
        assert response.status_code == 400, (raw, response.content)
        assert fields_of(path, response)
    assert stored() == before


def test_malformed_json_in_each_api_says_so(api_client, ids):
    account = send(api_client, "POST", "/api/invoices", '{"lines": [')
    assert account.json()["error"]["code"] == "parse_error"
    assert "JSON" in account.json()["error"]["message"]
    for raw in ('{"breakdown": [', '{"total_amount": NaN}', '{"total_amount": -Infinity}'):
        v1 = send(api_client, "POST", "/api/v1/invoices", raw)
        assert v1.json()["message"].startswith("Malformed JSON"), raw


@pytest.mark.parametrize("path", [*CREATE_PATHS, "/api/ping"])
def test_a_ten_megabyte_body_is_a_413_in_the_envelope(api_client, ids, path):
    before = stored()
    padding = "x" * (10 * 1024 * 1024)
    response = send(api_client, "POST", path, json.dumps({"name": padding}))
    assert response.status_code == 413
    if path.startswith("/api/v1/"):
        body = response.json()
        assert set(body) == {"message", "errors"} and "limit" in body["message"]
    else:
        assert response.json()["error"]["code"] == "payload_too_large"
    assert response["X-RateLimit-Limit"]
    assert stored() == before


@pytest.mark.parametrize("path", ["/api/invoices", "/api/v1/invoices"])
def test_a_body_that_is_not_json_is_a_415(api_client, ids, path):
    before = stored()
    response = send(api_client, "POST", path, "name=Acme", content_type="text/plain")
    assert response.status_code == 415
    fields_of(path, response)
    assert stored() == before


# -- Cents are integers (account API) -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "overrides", "field"),
    [
        ("/api/invoices", {"line": {"unitPrice": 1000.5}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"unitPrice": 1000.0}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"unitPrice": "1000"}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"unitPrice": "10,00"}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"unitPrice": True}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"unitPrice": 10**14}}, "lines.0.unitPrice"),
        ("/api/invoices", {"line": {"quantity": 1.5}}, "lines.0.quantity"),
        ("/api/invoices", {"line": {"quantity": "100"}}, "lines.0.quantity"),
        ("/api/invoices", {"line": {"discount": 10.5}}, "lines.0.discount"),
        ("/api/invoices", {"irpfRate": 15.0}, "irpfRate"),
        ("/api/invoices", {"irpfRate": "1500"}, "irpfRate"),
        ("/api/expenses", {"amount": 49.99}, "amount"),
        ("/api/expenses", {"amount": "4999"}, "amount"),
        ("/api/expenses", {"amount": None}, "amount"),
        ("/api/expenses", {"baseAmount": 41.31}, "baseAmount"),
        ("/api/expenses", {"ivaRate": 21.0}, "ivaRate"),
    ],
)
def test_floats_and_strings_where_cents_are_expected_are_refused(
    api_client, ids, path, overrides, field
):
    before = stored()
    data = account_invoice(ids, **overrides) if path == "/api/invoices" else expense(**overrides)
    response = send(api_client, "POST", path, data)
    assert response.status_code == 400, response.content
    assert field in account_fields(response), response.content
    assert stored() == before


def test_v1_json_numbers_with_three_decimals_are_refused(api_client, ids):
    before = stored()
    text = DecimalJSONRenderer().render(v1_invoice(ids)).decode()
    assert '"total_amount":825.00' in text
    for number in ("825.001", "825.0000001", "8.25001e2"):
        response = send(
            api_client,
            "POST",
            "/api/v1/invoices",
            text.replace('"total_amount":825.00', f'"total_amount":{number}'),
        )
        assert response.status_code == 400, response.content
        assert "total_amount" in v1_fields(response)
    assert stored() == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"total_amount": "825.001"}, "total_amount"),
        ({"total_amount": "ochocientos"}, "total_amount"),
        ({"total_amount": True}, "total_amount"),
        ({"total_amount": D("1E+12")}, "total_amount"),
        ({"total_tax_amount": None}, "total_tax_amount"),
    ],
)
def test_v1_amounts_have_at_most_two_decimals(api_client, ids, overrides, field):
    before = stored()
    response = send(api_client, "POST", "/api/v1/invoices", v1_invoice(ids, **overrides))
    assert response.status_code == 400, response.content
    assert field in v1_fields(response)
    assert stored() == before


# -- Negative quantities ----------------------------------------------------------------------


def test_a_negative_quantity_is_refused_in_an_ordinary_series(api_client, ids):
    before = stored()
    response = send(
        api_client, "POST", "/api/invoices", account_invoice(ids, line={"quantity": -100})
    )
    assert response.status_code == 400, response.content
    assert any(name.startswith("lines") for name in account_fields(response)), response.content
    assert stored() == before


def test_a_negative_quantity_is_accepted_in_a_rectifying_series(api_client, ids, rect_series):
    data = account_invoice(ids, seriesId=str(rect_series.pk), line={"quantity": -100})
    response = send(api_client, "POST", "/api/invoices", data)
    assert response.status_code == 201, response.content
    assert response.json()["total"] < 0


# -- Dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/invoices", "issueDate"),
        ("/api/invoices", "dueDate"),
        ("/api/expenses", "date"),
        ("/api/v1/invoices", "invoice_date"),
        ("/api/v1/invoices", "operation_date"),
    ],
)
def test_impossible_dates_are_refused_with_the_field_named(api_client, ids, path, field):
    before = stored()
    for bad in ["2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "13/03/2026", "", 20260313]:
        data = good_body(path, ids)
        data[field] = bad
        response = send(api_client, "POST", path, data)
        assert response.status_code == 400, (bad, response.content)
        assert field in fields_of(path, response), (bad, response.content)
    assert stored() == before


def test_an_impossible_paid_date_is_refused(api_client, ids):
    created = send(api_client, "POST", "/api/invoices", account_invoice(ids)).json()
    response = send(
        api_client,
        "PATCH",
        f"/api/invoices/{created['id']}/status",
        {"status": "paid", "paidAt": "2026-02-30"},
    )
    assert response.status_code == 400
    assert "paidAt" in account_fields(response)
    assert Invoice.objects.get(pk=created["id"]).status == "draft"


@pytest.mark.parametrize("param", ["dateFrom", "dateTo"])
@pytest.mark.parametrize("path", ["/api/invoices", "/api/expenses"])
def test_impossible_dates_in_filters_are_refused(api_client, path, param):
    response = api_client.get(path, {param: "2026-02-30"})
    assert response.status_code == 400
    assert param in account_fields(response)


@pytest.mark.parametrize(
    "path", ["/api/invoices", "/api/expenses", "/api/v1/taxpayers/B87654323/invoices"]
)
def test_bad_pages_are_refused(api_client, path):
    for page in ["0", "-1", "abc", "²", "١", "1.5", "99999999999999999999"]:
        response = api_client.get(path, {"page": page})
        assert response.status_code == 400, (page, response.content)
        assert "page" in fields_of(path, response)


# -- Text: control characters refused, accents and emoji kept -------------------------------

TEXT_FIELDS = [
    ("/api/invoices", "description"),
    ("/api/invoices", "notes"),
    ("/api/invoices", "lines.0.description"),
    ("/api/clients", "name"),
    ("/api/clients", "nif"),
    ("/api/clients", "address"),
    ("/api/clients", "city"),
    ("/api/clients", "postalCode"),
    ("/api/clients", "province"),
    ("/api/clients", "country"),
    ("/api/clients", "foreignId"),
    ("/api/clients", "email"),
    ("/api/expenses", "description"),
    ("/api/expenses", "supplierName"),
    ("/api/expenses", "supplierNif"),
    ("/api/v1/invoices", "invoice_number"),
    ("/api/v1/invoices", "description"),
    ("/api/v1/invoices", "recipient_name"),
    ("/api/v1/invoices", "recipient_nif"),
    ("/api/v1/invoices", "third_party_name"),
    ("/api/v1/invoices", "recipient_country"),
    ("/api/v1/invoices", "recipient_id"),
    ("/api/v1/invoices", "regime_types.0"),
    ("/api/v1/taxpayers", "name"),
    ("/api/v1/taxpayers", "nif"),
    # its other text fields are the deployment's, read-only (tests/test_installations.py)
    ("/api/v1/computer-systems", "label"),
]


def put_field(data: dict, dotted: str, value) -> dict:
    """``data`` with ``value`` at ``a.0.b``."""
    *parents, last = dotted.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


@pytest.mark.parametrize(("path", "field"), TEXT_FIELDS)
def test_control_characters_are_refused_with_the_field_named(api_client, ids, path, field):
    before = stored()
    for control in ["\x00", "\x07", "\x1b", "\x7f", "\r", "\x0b"]:
        data = good_body(path, ids)
        short = field in ("recipient_country", "country", "regime_types.0")
        put_field(data, field, f"E{control}" if short else f"A{control}B")
        response = send(api_client, "POST", path, data)
        assert response.status_code == 400, (control, response.content)
        named = fields_of(path, response)
        assert field in named, (control, named)
    assert stored() == before


def test_accents_and_emoji_are_kept_in_the_account_api(api_client, ids):
    name = "Panadería Ñandú 🥖 — «Ça va»"
    response = send(
        api_client, "POST", "/api/clients", {"name": name, "city": "A Coruña", "nif": "12345678Z"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["name"] == name
    assert Client.objects.get(pk=response.json()["id"]).city == "A Coruña"
    lines = "Diseño gráfico\n\tcon ñ y 🎨"  # newline and tab are text, not control
    response = send(
        api_client,
        "POST",
        "/api/invoices",
        account_invoice(ids, line={"description": lines}, notes="Gracias 🙏"),
    )
    assert response.status_code == 201, response.content
    detail = api_client.get(f"/api/invoices/{response.json()['id']}").json()
    assert detail["lines"][0]["description"] == lines


def test_accents_and_emoji_are_kept_in_v1_text_and_the_xml(api_client, ids):
    description = "Reparación de caña 🎣 — año 2026"
    data = v1_invoice(ids, description=description, recipient_name="Muñoz & Peña SL")
    response = send(api_client, "POST", "/api/v1/invoices", data)
    assert response.status_code == 201, response.content
    invoice_id = response.json()["data"]["id"]
    assert api_client.get(f"/api/v1/invoices/{invoice_id}").json()["data"]["description"] == (
        description
    )
    xml = api_client.get(f"/api/v1/invoices/{invoice_id}/xml").content
    texts = {el.text for el in etree.fromstring(xml).iter() if isinstance(el.tag, str)}
    assert description in texts and "Muñoz & Peña SL" in texts


def test_newline_and_tab_are_text_in_v1_as_in_the_account_api(api_client, ids):
    """One rule for control characters (``factu.text.no_control_characters``)."""
    description = "Mantenimiento\n\tmensual"
    response = send(
        api_client, "POST", "/api/v1/invoices", v1_invoice(ids, description=description)
    )
    assert response.status_code == 201, response.content
    invoice_id = response.json()["data"]["id"]
    detail = api_client.get(f"/api/v1/invoices/{invoice_id}").json()["data"]
    assert detail["description"] == description


def test_a_v1_invoice_number_with_n_tilde_is_aeat_1130(api_client, ids):
    before = stored()
    response = send(
        api_client, "POST", "/api/v1/invoices", v1_invoice(ids, invoice_number="F-Año-1")
    )
    assert response.status_code == 400, response.content
    assert "AEAT 1130" in v1_fields(response)["invoice_number"]
    assert stored() == before


@pytest.mark.parametrize("number", ["F-2026-042\U0001f600", "F\u00a02026"])
def test_a_v1_invoice_number_that_is_not_printable_ascii_is_aeat_1130(api_client, ids, number):
    before = stored()
    response = send(api_client, "POST", "/api/v1/invoices", v1_invoice(ids, invoice_number=number))
    assert response.status_code == 400
    assert "AEAT 1130" in v1_fields(response)["invoice_number"]
    assert stored() == before


# -- A NumSerie with & and spaces ---------------------------------------------------------------


def test_a_numserie_with_ampersand_and_spaces_round_trips(api_client, ids):
    number = "F 2026/042 & B"
    response = send(api_client, "POST", "/api/v1/invoices", v1_invoice(ids, invoice_number=number))
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["invoice_number"] == number
    assert "%26" in data["qr_url"] and "& B" not in data["qr_url"]
    assert parse_qs(urlsplit(data["qr_url"]).query)["numserie"] == [number]
    xml = api_client.get(f"/api/v1/invoices/{data['id']}/xml").content
    assert b"&amp;" in xml
    numbers = [
        el.text for el in etree.fromstring(xml).iter() if str(el.tag).endswith("NumSerieFactura")
    ]
    assert numbers and set(numbers) == {number}
    listed = api_client.get("/api/v1/taxpayers/B87654323/invoices").json()["data"]
    assert [i["invoice_number"] for i in listed] == [number]


# -- Search parameters are text ---------------------------------------------------------------

HOSTILE = [
    "' OR 1=1 --",
    "'; DROP TABLE invoicing_invoice; --",
    '" OR ""="',
    "%' OR '%'='",
    "<script>alert(1)</script>",
    "<b>Acme</b>",
    "\\",
    "%_",
    "😀",
]


@pytest.mark.parametrize("query", HOSTILE)
@pytest.mark.parametrize("path", ["/api/invoices", "/api/clients", "/api/expenses"])
def test_sql_and_html_in_search_are_plain_text(api_client, ids, path, query):
    send(api_client, "POST", "/api/invoices", account_invoice(ids))
    send(api_client, "POST", "/api/expenses", expense())
    before = stored()
    response = api_client.get(path, {"search": query})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    items = body if isinstance(body, list) else body["items"]
    assert items == []  # matched nothing: not "everything", as an injection would
    assert stored() == before


@pytest.mark.parametrize("path", ["/api/invoices", "/api/clients", "/api/expenses"])
def test_control_characters_in_search_are_refused(api_client, path):
    for query in ("\x00", "acme\x1b[2J"):
        response = api_client.get(path, {"search": query})
        assert response.status_code == 400, response.content
        assert "search" in account_fields(response)
    assert api_client.get(path, {"search": "acme\tsl\n"}).status_code == 200


def test_html_in_a_name_is_stored_and_found_as_text(api_client, ids):
    name = "<b>Acme</b> & 'Hijos'"
    created = send(api_client, "POST", "/api/clients", {"name": name, "nif": "12345678Z"})
    assert created.status_code == 201, created.content
    found = api_client.get("/api/clients", {"search": "<b>acme</b>"}).json()
    assert [c["name"] for c in found] == [name]


@pytest.mark.parametrize("nif", ["' OR 1=1 --", "B87654323' --", "<script>", "%", "B8765432%"])
def test_sql_in_the_v1_nif_path_is_not_found(api_client, ids, nif):
    from urllib.parse import quote

    response = api_client.get(f"/api/v1/taxpayers/{quote(nif, safe='')}/invoices")
    assert response.status_code == 404
    assert set(response.json()) == {"message", "errors"}


@pytest.mark.parametrize("value", ["not-a-uuid", "' OR 1=1 --"])
def test_a_bad_taxpayer_filter_is_a_400_not_a_500(api_client, value):
    response = api_client.get("/api/invoices", {"taxpayerId": value})
    assert response.status_code == 400
    assert "taxpayerId" in account_fields(response)


def test_the_shared_paginator_refuses_the_same_pages():
    from rest_framework.exceptions import ValidationError

    from api.pagination import positive_int

    for page in ["0", "²", "١", "99999999999999999999"]:
        request = type("R", (), {"query_params": {"page": page}})()
        with pytest.raises(ValidationError):
            positive_int(request, "page", 1)


def test_a_broker_outage_never_fails_a_registration(
    api_client, taxpayer, computer_system, monkeypatch, django_capture_on_commit_callbacks
):
    """The record is committed and queued; the enqueue after commit fails quietly and the
    beat task flushes the chain later."""
    from kombu.exceptions import OperationalError

    from verifactu import pacing
    from verifactu.models import BillingRecord, RecordStatus

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(pacing, "schedule_flush", broker_down)
    payload = one_line_invoice(
        "OUT-1",
        "2026-03-13",
        taxpayer_id=str(taxpayer.pk),
        computer_system_id=str(computer_system.pk),
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post("/api/v1/invoices", payload, content_type="application/json")
    assert len(callbacks) == 1
    assert response.status_code == 201
    assert BillingRecord.objects.get().status == RecordStatus.QUEUED


def test_a_database_outage_is_a_503_with_retry_after(api_client, monkeypatch):
    from django.db import OperationalError

    from api.account import views

    def database_down(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views.InvoiceListView, "get", database_down)
    response = api_client.get("/api/invoices")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "service_unavailable"


def test_every_bad_list_filter_is_named_in_the_one_400(api_client):
    response = api_client.get(
        "/api/invoices", {"status": "bogus", "dateFrom": "2026-02-30", "taxpayerId": "x"}
    )
    assert response.status_code == 400
    assert account_fields(response) == {
        "status": ["One of draft, sent, paid, overdue, cancelled."],
        "dateFrom": ["Use YYYY-MM-DD."],
        "taxpayerId": ["Must be a UUID."],
    }
