"""The OpenAPI schema of both APIs is what the API really does: schemathesis, in-process.

The schema is loaded from ``/api/schema/`` through Django's WSGI application, and every
operation is called with cases generated from it (valid ones and, for the same operation,
invalid ones), with a real token, against a database seeded with a series, a client, a draft
invoice and an issued one (for its e-invoices), an expense category and a registered v1
invoice, so that ids in paths and bodies sometimes resolve to real objects. Each response
must:

* not be a server error (``not_a_server_error``),
* have a status the operation documents (``status_code_conformance``),
* have a body that matches the documented schema (``response_schema_conformance``),
* have the documented content type (``content_type_conformance``),
* have the documented headers, typed (``response_headers_conformance``: the ``X-RateLimit-*``).

Fixed seed, a bounded number of examples per operation and mode (``SCHEMATHESIS_EXAMPLES``:
60 by default, about 1.5 minutes, as ``make test`` runs it; ``make test-schema-deep``, which
``.ci/run`` runs after ``make test``, sets 150, 300 cases per operation, about 4), no example
database: the same run every time.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.django_db

# A received Facturae whose buyer is the seeded taxpayer (B87654323).
RECEIVED = (
    Path(__file__).parent / "fixtures" / "einvoice" / "facturae-3.2.2-minimal.xml"
).read_bytes()

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "60"))
SEED = 20260313
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]


@pytest.fixture
def wsgi_app(settings):
    """Django's real WSGI handler, inside the test's transaction.

    As Django's own test client does, ``close_old_connections`` is detached from the request
    signals: closing the connection at the end of a request would end the test transaction.
    """
    from django.core.wsgi import get_wsgi_application

    settings.API_RATE_LIMIT = 1_000_000
    settings.API_ACCOUNT_RATE_LIMIT = 1_000_000
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(account, taxpayer, owner, computer_system, register):
    """Real objects for path and body ids to point at."""
    from clients.services import create_client
    from einvoice.received import import_upload
    from expenses.services import create_category
    from invoicing.models import Series
    from invoicing.services import Actor, DraftLine, create_draft, issue_invoice
    from quotes.services import create_quote
    from recurring.services import create_plan
    from tests.invoices import give_addresses

    series = Series.objects.create(account=account, taxpayer=taxpayer, code="A")
    Series.objects.create(account=account, taxpayer=taxpayer, code="R", kind=Series.Kind.RECTIFYING)
    client = create_client(
        taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES", "city": "Madrid"}
    )
    give_addresses(taxpayer, client)  # a Facturae needs postal code and town

    def new_draft():
        return create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=date(2026, 3, 13),
            lines=[DraftLine(description="Consultoría", quantity=100, unit_price=100000)],
            actor=Actor(user=owner),
        )

    draft = new_draft()
    issued = issue_invoice(new_draft(), actor=Actor(user=owner))
    category = create_category(account, "Pruebas de la API")
    fiscal = register().invoice
    quote = create_quote(
        taxpayer,
        client=client,
        issue_date=date(2026, 3, 13),
        valid_until=date(2099, 12, 31),
        lines=[DraftLine(description="Consultoría", quantity=100, unit_price=100000)],
        actor=Actor(user=owner),
    )
    (received,) = import_upload(account, RECEIVED, "application/xml", "recibida.xml")
    plan = create_plan(
        taxpayer,
        name="Hosting",
        client=client,
        series=series,
        start_date=date(2026, 1, 1),
        lines=[DraftLine(description="Hosting", quantity=100, unit_price=2500)],
    )
    return {
        "seriesId": str(series.pk),
        "clientId": str(client.pk),
        "taxpayerId": str(taxpayer.pk),
        "taxpayer_id": str(taxpayer.pk),
        "computer_system_id": str(computer_system.pk),
        "categoryId": str(category.pk),
        "account_invoice_id": str(draft.pk),
        "issued_invoice_id": str(issued.pk),
        "v1_invoice_id": str(fiscal.pk),
        "quote_id": str(quote.pk),
        "nif": taxpayer.nif,
        "plan_id": str(plan.pk),
        "received_invoice_id": str(received.invoice.pk),
    }


def with_real_ids(operation, strategy, ids):
    """Half of the cases point their path and body ids at the seeded objects."""
    path = operation.path

    def point(args):
        case, real = args
        if not real:
            return case
        if "invoice_id" in (case.path_parameters or {}):
            key = "v1_invoice_id" if path.startswith("/api/v1/") else "account_invoice_id"
            if path.endswith(("/ubl", "/facturae")):
                key = "issued_invoice_id"  # a draft has no e-invoice: only a 409 to see
            case.path_parameters["invoice_id"] = ids[key]
        if "quote_id" in (case.path_parameters or {}):
            case.path_parameters["quote_id"] = ids["quote_id"]
        if "nif" in (case.path_parameters or {}):
            case.path_parameters["nif"] = ids["nif"]
        if "plan_id" in (case.path_parameters or {}):
            case.path_parameters["plan_id"] = ids["plan_id"]
        if "received_invoice_id" in (case.path_parameters or {}):
            case.path_parameters["received_invoice_id"] = ids["received_invoice_id"]
        if isinstance(case.body, dict):
            for name in ("seriesId", "clientId", "taxpayerId", "categoryId"):
                if name in case.body and not path.startswith("/api/v1/"):
                    case.body[name] = ids[name]
            for name in ("taxpayer_id", "computer_system_id"):
                if name in case.body and path.startswith("/api/v1/"):
                    case.body[name] = ids[name]
        return case

    return st.tuples(strategy, st.booleans()).map(point)


def run_operation(operation, mode, ids, token, seen: set[int]) -> None:
    strategy = with_real_ids(operation, operation.as_strategy(generation_mode=mode), ids)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=strategy)
    def check(case):
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
        )
        seen.add(response.status_code)

    check()


def explicit_cases(ids: dict) -> list[tuple[str, str, dict, int]]:
    """(method, path, case data, expected status): the successes random data rarely reaches.

    They run first, through the same checks, so every 2xx shape is validated at least once.
    """
    account_invoice = {"invoice_id": ids["account_invoice_id"]}
    quote = {"path_parameters": {"quote_id": ids["quote_id"]}}
    series = {"seriesId": ids["seriesId"]}
    email = {"to": "billing@acme.es", "subject": "Presupuesto", "message": "Hola"}
    registration = {
        "taxpayer_id": ids["taxpayer_id"],
        "computer_system_id": ids["computer_system_id"],
        "invoice_number": "F-2026-043 & Co",
        "invoice_date": "2026-03-13",
        "invoice_type": "F1",
        "description": "Mantenimiento mensual · soporte técnico",
        "regime_types": ["01"],
        "recipient_nif": "A28045631",
        "recipient_name": "Cliente SA",
        "breakdown": [
            {
                "tax_type": "01",
                "regime_type": "01",
                "operation_type": "S1",
                "base_amount": 500.00,
                "tax_rate": 21.00,
                "tax_amount": 105.00,
            },
            {
                "tax_type": "01",
                "regime_type": "01",
                "operation_type": "S1",
                "base_amount": 200.00,
                "tax_rate": 10.00,
                "tax_amount": 20.00,
            },
        ],
        "total_amount": 825.00,
        "total_tax_amount": 125.00,
    }
    system = {
        "producer_name": "Integrador SL",
        "producer_nif": "A28045631",
        "name": "Integrador",
        "system_id": "IN",
        "version": "2.1",
        "installation_number": "INST-7",
    }
    return [
        ("POST", "/api/v1/invoices", {"body": registration}, 201),
        (
            "GET",
            "/api/v1/taxpayers/{nif}/invoices",
            {"path_parameters": {"nif": ids["nif"]}, "query": {"status": "queued"}},
            200,
        ),
        (
            "GET",
            "/api/v1/invoices/{invoice_id}/qr",
            {"path_parameters": {"invoice_id": ids["v1_invoice_id"]}, "query": {"format": "png"}},
            200,
        ),
        (
            "GET",
            "/api/v1/invoices/{invoice_id}/qr",
            {"path_parameters": {"invoice_id": ids["v1_invoice_id"]}, "query": {"format": "svg"}},
            200,
        ),
        (
            "DELETE",
            "/api/v1/invoices/{invoice_id}",
            {"path_parameters": {"invoice_id": ids["v1_invoice_id"]}},
            405,
        ),
        (
            "POST",
            "/api/v1/invoices/{invoice_id}/cancel",
            {"path_parameters": {"invoice_id": ids["v1_invoice_id"]}},
            201,
        ),
        (
            "GET",
            "/api/v1/invoices/{invoice_id}",
            {"path_parameters": {"invoice_id": ids["v1_invoice_id"]}},
            200,
        ),
        ("POST", "/api/v1/computer-systems", {"body": system}, 201),
        ("POST", "/api/v1/taxpayers", {"body": {"nif": "A28045631", "name": "Otra SA"}}, 201),
        (
            "POST",
            "/api/clients",
            {
                "body": {
                    "name": "Cliente Nuevo",
                    "nif": "12345678Z",
                    "taxpayerId": ids["taxpayerId"],
                }
            },
            201,
        ),
        (
            "PATCH",
            "/api/invoices/{invoice_id}/status",
            {"path_parameters": account_invoice, "body": {"status": "sent"}},
            200,
        ),
        (
            "PATCH",
            "/api/invoices/{invoice_id}/status",
            {
                "path_parameters": account_invoice,
                "body": {"status": "paid", "paidAt": "2026-03-20"},
            },
            200,
        ),
        ("GET", "/api/invoices/{invoice_id}", {"path_parameters": account_invoice}, 200),
        (
            "POST",
            "/api/received-invoices",
            {
                "body": RECEIVED.replace(b"<InvoiceNumber>0001<", b"<InvoiceNumber>0002<"),
                "media_type": "application/xml",
            },
            200,
        ),
        (
            "POST",
            "/api/quotes",
            {
                "body": {
                    "clientId": ids["clientId"],
                    "issueDate": "2026-03-13",
                    "validUntil": "2099-12-31",
                    "lines": [{"description": "Web", "quantity": 100, "unitPrice": 50000}],
                }
            },
            201,
        ),
        ("PATCH", "/api/quotes/{quote_id}/status", {**quote, "body": {"status": "sent"}}, 200),
        ("POST", "/api/quotes/{quote_id}/send", {**quote, "body": email}, 202),
        ("POST", "/api/quotes/{quote_id}/invoice", {**quote, "body": series}, 201),
        ("POST", "/api/quotes/{quote_id}/invoice", {**quote, "body": series}, 409),
        ("POST", "/api/quotes/{quote_id}/send", {**quote, "body": email}, 409),
        ("GET", "/api/quotes/{quote_id}", quote, 200),
        (
            "POST",
            "/api/invoices/{invoice_id}/send",
            {
                "path_parameters": account_invoice,
                "body": {"to": "billing@acme.es", "subject": "Factura", "message": "Hola"},
            },
            202,
        ),
    ]


@pytest.mark.slow
@pytest.mark.timeout(900)  # every operation of both APIs, positive and negative: one walk
def test_every_operation_conforms_to_the_schema(wsgi_app, seeded, api_token):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    by_route = {(op.method.upper(), op.path): op for op in operations}
    auth = {"Authorization": f"Bearer {api_token}"}
    for method, path, data, expected in explicit_cases(seeded):
        case = by_route[(method, path)].Case(**{"media_type": "application/json", **data})
        response = case.call_and_validate(headers=auth, checks=CHECKS)
        assert response.status_code == expected, (method, path, response.text)
    failures = []
    statuses: dict[str, set[int]] = {}
    for operation in operations:
        seen = statuses.setdefault(operation.label, set())
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                run_operation(operation, mode, seeded, api_token, seen)
            except Exception as exc:  # noqa: BLE001 - every operation is reported, then fail
                failures.append(f"--- {operation.label} [{mode.value}]\n{exc}")
    print("\n".join(f"{label}: {sorted(codes)}" for label, codes in statuses.items()))
    assert not failures, "\n\n".join(failures)
    # The seeded ids were reached: every read answered 200 at least once.
    unreached = [
        label for label, codes in statuses.items() if label.startswith("GET") and 200 not in codes
    ]
    assert not unreached, unreached


# -- The frame of every operation, read from the schema itself (fast) -------------------------


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    assert response.status_code == 200
    return response.json()


def operations_of(openapi: dict):
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_every_operation_has_a_unique_id_and_the_shared_frame(openapi):
    ids = [op["operationId"] for _, _, op in operations_of(openapi)]
    assert len(ids) == len(set(ids)) >= 25
    for path, method, op in operations_of(openapi):
        envelope = "V1Error" if path.startswith("/api/v1/") else "AccountError"
        label = f"{method.upper()} {path}"
        for status in ("401", "429", "503"):
            assert status in op["responses"], (label, status)
        for status, response in op["responses"].items():
            assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(
                response.get("headers", {})
            ), (label, status)
            if status >= "400":
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": f"#/components/schemas/{envelope}"}, (label, status)
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        if method == "post":
            assert "Idempotency-Key" in params, label
            assert {"400", "409", "403", "413"} <= set(op["responses"]), label
        if "requestBody" in op:
            assert {"400", "413", "415"} <= set(op["responses"]), label
        if "{" in path:
            assert "404" in op["responses"], label
        assert op["security"] == [{"bearerAuth": []}], label


def test_the_error_envelopes_and_amounts_are_typed(openapi):
    schemas = openapi["components"]["schemas"]
    assert set(schemas["V1Error"]["required"]) == {"message", "errors"}
    assert schemas["AccountError"]["required"] == ["error"]
    assert set(schemas["AccountErrorDetail"]["required"]) == {"code", "message"}
    # v1: numbers with two decimals, in and out; account API: integer cents.
    registered = schemas["V1InvoiceDetailData"]["properties"]["total_amount"]
    assert (registered["type"], registered["multipleOf"]) == ("number", 0.01)
    sent = schemas["V1InvoiceInputRequest"]["properties"]["total_amount"]
    assert (sent["type"], sent["multipleOf"]) == ("number", 0.01)
    for name, field in [
        ("AccountInvoiceItem", "total"),
        ("AccountExpenseItem", "amount"),
        ("AccountLineInputRequest", "unitPrice"),
        ("AccountExpenseInputRequest", "amount"),
    ]:
        assert schemas[name]["properties"][field]["type"] == "integer", (name, field)
    # each API's invoice input is its own component
    assert "AccountInvoiceInputRequest" in schemas and "V1InvoiceInputRequest" in schemas


def test_the_seed_examples_are_in_the_schema(openapi):
    create = openapi["paths"]["/api/v1/invoices"]["post"]
    example = next(iter(create["requestBody"]["content"]["application/json"]["examples"].values()))
    assert example["value"]["invoice_number"] == "F-2026-042"
    account = openapi["paths"]["/api/invoices"]["post"]
    response = account["responses"]["201"]["content"]["application/json"]["examples"]
    assert next(iter(response.values()))["value"]["total"] == 106500


def test_each_account_list_example_has_the_shape_of_its_response(openapi):
    """A list's example is one page (or one array) of items, never an array of pages."""
    for path in ["/api/invoices", "/api/expenses", "/api/clients", "/api/series", "/api/recurring"]:
        content = openapi["paths"][path]["get"]["responses"]["200"]["content"]
        for example in content["application/json"]["examples"].values():
            value = example["value"]
            items = value["items"] if isinstance(value, dict) else value
            assert items and all(isinstance(item, dict) and "id" in item for item in items), path
