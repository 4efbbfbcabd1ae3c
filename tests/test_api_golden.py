"""Golden wire format of both APIs: every endpoint of seeds 000 (``/api/...``) and 003
(``/api/v1/...``) answers byte for byte what ``tests/golden/`` records.

Each case is one request; its golden file ``tests/golden/<api>/<NN>_<name>.json`` holds the
request, the status code, the headers that are part of the contract (``Content-Type``,
``Content-Disposition``, ``Location``, ``X-Total-Count``, ``X-RateLimit-Limit``,
``WWW-Authenticate``, ``Allow``; never ``Date`` or the rate limit's remaining/reset), and the
body exactly as sent: the text of a JSON, XML or SVG body (so key order, spacing and number
formatting are pinned) with its SHA-256, plus, for JSON, the body parsed and pretty-printed so
that a diff points at the value that changed (an aid only: ``body`` is the wire); for a PDF or
PNG only its magic bytes (their bytes carry creation stamps and compression choices that are
not the contract).

Determinism, so that the same files hold on SQLite and PostgreSQL and run after run:

- a fixed clock (``time-machine``, not ticking): every ``timezone.now()``, and so every
  VERI*FACTU generation timestamp, huella and QR URL, is the same each run;
- fixed ids: every model's ``UUIDField(default=uuid.uuid4)`` and ``uuid.uuid4`` itself draw
  from a counter (``00000000-0000-4000-8000-<n>``), so ids depend only on the order in which
  the scenario creates rows; the API token's random part is fixed too, and the expense
  categories a data migration seeds are made again with ids fixed by name;
- the cases run in one scenario per API, in a fixed order, and every listing the golden
  files show orders on a column plus the id.

To record the files again on purpose (after a change that is *meant* to change the wire
format), run with ``GOLDEN_UPDATE=1``::

    GOLDEN_UPDATE=1 FACTU_DATA_DIR=$(mktemp -d) .venv/bin/python -m pytest -q \
        -p no:cacheprovider tests/test_api_golden.py

and review the diff of ``tests/golden/`` before committing it. Without it the test compares
and fails with a unified diff of every case that changed.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.apps import apps

from tests.payloads import seed_000_invoice
from tests.test_api_v1 import body as v1_body

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"
NOW = datetime(2026, 3, 20, 10, 30, 0, tzinfo=UTC)
RAW_TOKEN = "kf_" + "G0ldenT0ken" + "A" * 21
CONTRACT_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "Location",
    "X-Total-Count",
    "X-RateLimit-Limit",
    "WWW-Authenticate",
    "Allow",
)
MAGIC = {"application/pdf": b"%PDF-", "image/png": b"\x89PNG\r\n\x1a\n"}
UNKNOWN = "00000000-0000-4000-8000-00000000dead"


def _counter_uuid(counter: itertools.count):
    def uuid4() -> uuid.UUID:
        return uuid.UUID(f"00000000-0000-4000-8000-{next(counter):012d}")

    return uuid4


@pytest.fixture
def fixed_world(db, monkeypatch, settings):
    """A fixed clock, counter ids for every model and ``uuid.uuid4``, a fixed API token."""
    import api.services

    settings.TIME_ZONE = "Europe/Madrid"
    original = uuid.uuid4
    generate = _counter_uuid(itertools.count(1))
    monkeypatch.setattr(uuid, "uuid4", generate)
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if model_field.default is original:
                # Field caches its default callable (a cached_property): replace the cached
                # one first, so what the undo restores is read while the default is uuid4.
                monkeypatch.setattr(model_field, "_get_default", generate)
                monkeypatch.setattr(model_field, "default", generate)
    monkeypatch.setattr(api.services, "generate_raw_token", lambda: RAW_TOKEN)
    _fixed_seeded_categories()
    with time_machine.travel(NOW, tick=False):
        yield


def _fixed_seeded_categories() -> None:
    """The expense categories a data migration seeds took random ids when the test database
    was made: they are made again, same names, with ids fixed by their order by name."""
    from expenses.models import ExpenseCategory

    seeded = ExpenseCategory.objects.filter(account__isnull=True)
    names = sorted(seeded.values_list("name", flat=True))
    seeded.delete()
    ExpenseCategory.objects.bulk_create(
        ExpenseCategory(id=uuid.UUID(f"00000000-0000-4000-8000-c{n:011d}"), name=name)
        for n, name in enumerate(names, 1)
    )


@dataclass
class Recorder:
    client: object
    api: str
    update: bool = UPDATE
    mismatches: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    def __call__(
        self, name: str, method: str, path: str, payload=None, *, auth: str | None = "token"
    ):
        kwargs = {}
        if auth == "token":
            kwargs["HTTP_AUTHORIZATION"] = f"Bearer {RAW_TOKEN}"
        elif auth is not None:
            kwargs["HTTP_AUTHORIZATION"] = auth
        body_text = None
        if payload is not None:
            body_text = payload if isinstance(payload, str) else json.dumps(payload)
            kwargs.update(data=body_text, content_type="application/json")
        response = getattr(self.client, method.lower())(path, **kwargs)
        recorded = {
            "request": {"method": method, "path": path, "body": body_text},
            "status": response.status_code,
            "headers": {h: response[h] for h in CONTRACT_HEADERS if response.has_header(h)},
        }
        content_type = response.get("Content-Type", "").split(";")[0]
        content = response.content
        if content_type in MAGIC:
            assert content.startswith(MAGIC[content_type]), (name, content[:16])
            recorded["body_magic"] = MAGIC[content_type].decode("latin-1")
        else:
            recorded["body"] = content.decode("utf-8")
            recorded["body_sha256"] = hashlib.sha256(content).hexdigest()
            if content_type == "application/json":
                # The same body parsed, one value a line: where a diff of ``body`` is one long
                # line, this one points at the value that changed.
                recorded["body_parsed"] = json.loads(content)
        self.check(name, recorded)
        return response

    def check(self, name: str, recorded: dict) -> None:
        number = len(self.seen) + 1
        filename = f"{number:02d}_{name}.json"
        self.seen.append(filename)
        path = GOLDEN / self.api / filename
        text = json.dumps(recorded, indent=2, ensure_ascii=False) + "\n"
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            return
        if not path.exists():
            self.mismatches.append(f"{path}: no golden file (run with GOLDEN_UPDATE=1)")
            return
        expected = path.read_text(encoding="utf-8")
        if expected != text:
            diff = difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"golden/{self.api}/{filename}",
                "response now",
            )
            self.mismatches.append("".join(diff))

    def finish(self) -> None:
        folder = GOLDEN / self.api
        if self.update:
            for stale in folder.glob("*.json"):
                if stale.name not in self.seen:
                    stale.unlink()
            return
        stale = sorted(p.name for p in folder.glob("*.json") if p.name not in self.seen)
        assert not stale, f"golden files no case produces any more: {stale}"
        assert not self.mismatches, "wire format changed:\n" + "\n".join(self.mismatches)


def test_account_api_wire_format(fixed_world, client, account, taxpayer, api_token, other_account):
    """Seed 000: /api/invoices, /api/invoices/{id}, its status and PDF, /api/clients,
    /api/expenses, and the helpers the seed names (series, expense categories)."""
    from invoicing.models import Series

    series = Series.objects.create(account=account, taxpayer=taxpayer, code="A")
    call = Recorder(client, "account")

    call("ping", "GET", "/api/ping")
    call("invoices_list_no_token_401", "GET", "/api/invoices", auth=None)
    call("invoices_list_bad_token_401", "GET", "/api/invoices", auth="Bearer kf_nope")
    call("invoices_list_empty", "GET", "/api/invoices")
    call("series_list", "GET", "/api/series")

    client_body = {
        "name": "Acme SL",
        "nif": "A28045631",
        "email": "billing@acme.es",
        "address": "Calle Mayor 1",
        "city": "Madrid",
        "postalCode": "28001",
        "country": "ES",
    }
    acme = call("clients_create", "POST", "/api/clients", client_body).json()
    call("clients_create_bad_nif_400", "POST", "/api/clients", {**client_body, "nif": "A1"})
    call("clients_create_no_name_400", "POST", "/api/clients", {"nif": "A28045631"})
    call("clients_create_malformed_json_400", "POST", "/api/clients", "{not json")
    call(
        "clients_create_other_taxpayer_404",
        "POST",
        "/api/clients",
        {**client_body, "taxpayerId": UNKNOWN},
    )
    call(
        "clients_create_second",
        "POST",
        "/api/clients",
        {"name": "Beta Consultores SL", "nif": "B87654323", "country": "ES", "city": "Sevilla"},
    )
    call("clients_list", "GET", "/api/clients")
    call("clients_list_search", "GET", "/api/clients?search=acme")
    call("clients_list_paged", "GET", "/api/clients?page=2&limit=1")
    call("clients_list_bad_limit_400", "GET", "/api/clients?limit=0")

    invoice_body = seed_000_invoice(series.pk, acme["id"])
    first = call("invoices_create", "POST", "/api/invoices", invoice_body).json()
    second = call(
        "invoices_create_second",
        "POST",
        "/api/invoices",
        {**invoice_body, "issueDate": "2026-03-01", "applyIrpf": False},
    ).json()
    call(
        "invoices_create_no_lines_400",
        "POST",
        "/api/invoices",
        {**invoice_body, "lines": []},
    )
    call(
        "invoices_create_bad_iva_400",
        "POST",
        "/api/invoices",
        {**invoice_body, "lines": [{**invoice_body["lines"][0], "ivaType": "x"}]},
    )
    call(
        "invoices_create_unknown_series_404",
        "POST",
        "/api/invoices",
        {**invoice_body, "seriesId": UNKNOWN},
    )
    call(
        "invoices_create_unknown_client_404",
        "POST",
        "/api/invoices",
        {**invoice_body, "clientId": UNKNOWN},
    )
    call("invoices_list", "GET", "/api/invoices")
    call("invoices_list_filtered", "GET", "/api/invoices?dateFrom=2026-03-10&dateTo=2026-03-31")
    call("invoices_list_status", "GET", "/api/invoices?status=draft&search=acme")
    call("invoices_list_page_2", "GET", "/api/invoices?page=2")
    call("invoices_list_bad_page_400", "GET", "/api/invoices?page=0")
    call("invoices_list_bad_date_400", "GET", "/api/invoices?dateFrom=2026-02-30")
    call("invoices_list_bad_status_400", "GET", "/api/invoices?status=bogus")
    call("invoices_detail", "GET", f"/api/invoices/{first['id']}")
    call("invoices_detail_unknown_404", "GET", f"/api/invoices/{UNKNOWN}")
    call("invoices_detail_not_uuid_404", "GET", "/api/invoices/nope")
    call("invoices_pdf", "GET", f"/api/invoices/{first['id']}/pdf")

    status_url = f"/api/invoices/{first['id']}/status"
    call(
        "status_draft_to_paid_409", "PATCH", status_url, {"status": "paid", "paidAt": "2026-03-13"}
    )
    call("status_bad_value_400", "PATCH", status_url, {"status": "bogus"})
    call(
        "status_unknown_invoice_404", "PATCH", f"/api/invoices/{UNKNOWN}/status", {"status": "sent"}
    )
    call("status_to_sent", "PATCH", status_url, {"status": "sent"})
    call("status_paid_without_date_400", "PATCH", status_url, {"status": "paid"})
    call("status_to_paid", "PATCH", status_url, {"status": "paid", "paidAt": "2026-03-13"})
    call("status_paid_to_draft_409", "PATCH", status_url, {"status": "draft"})
    call("invoices_detail_paid", "GET", f"/api/invoices/{first['id']}")
    second_status = f"/api/invoices/{second['id']}/status"
    call("status_second_date_before_sent_400", "PATCH", second_status, {"status": "sent"})
    call("status_draft_to_cancelled", "PATCH", second_status, {"status": "cancelled"})
    third = call(
        "invoices_create_third",
        "POST",
        "/api/invoices",
        {**invoice_body, "issueDate": "2026-03-16", "dueDate": "2026-04-16"},
    ).json()
    third_status = f"/api/invoices/{third['id']}/status"
    call("status_third_to_sent", "PATCH", third_status, {"status": "sent"})
    call("status_sent_to_cancelled", "PATCH", third_status, {"status": "cancelled"})
    call("status_cancelled_to_sent_409", "PATCH", third_status, {"status": "sent"})
    call("invoices_list_after_status", "GET", "/api/invoices")

    categories = call("expense_categories_list", "GET", "/api/expenses/categories").json()
    expense_body = {
        "date": "2026-03-13",
        "description": "Cloud hosting March",
        "amount": 4999,
        "isDeductible": True,
        "supplierName": "AWS",
    }
    if categories:
        expense_body["categoryId"] = categories[0]["id"]
    call("expenses_create", "POST", "/api/expenses", expense_body)
    call(
        "expenses_create_second",
        "POST",
        "/api/expenses",
        {"date": "2026-02-10", "description": "Taxi", "amount": 1210, "isDeductible": False},
    )
    call("expenses_create_no_amount_400", "POST", "/api/expenses", {"date": "2026-03-13"})
    call(
        "expenses_create_unknown_category_404",
        "POST",
        "/api/expenses",
        {**expense_body, "categoryId": UNKNOWN},
    )
    call("expenses_list", "GET", "/api/expenses")
    call("expenses_list_deductible", "GET", "/api/expenses?deductible=true&dateFrom=2026-03-01")
    call("expenses_list_search", "GET", "/api/expenses?search=taxi")
    call("expenses_list_bad_deductible_400", "GET", "/api/expenses?deductible=maybe")
    call("unknown_path_404", "GET", "/api/nothing-here")
    call.finish()


def test_v1_api_wire_format(
    fixed_world, client, taxpayer, computer_system, api_token, other_account
):
    """Seed 003: /api/v1/invoices and its status, XML, QR, PDF, retry and cancel; the
    taxpayer's invoice list; taxpayers and computer systems."""
    from verifactu.models import BillingRecord, RecordStatus

    ids = {"taxpayer_id": str(taxpayer.pk), "computer_system_id": str(computer_system.pk)}
    call = Recorder(client, "v1")

    call("invoices_create_no_token_401", "POST", "/api/v1/invoices", v1_body(), auth=None)
    call("invoices_detail_bad_token_401", "GET", f"/api/v1/invoices/{UNKNOWN}", auth="Bearer x")
    call("taxpayers_list", "GET", "/api/v1/taxpayers")
    call("computer_systems_list", "GET", "/api/v1/computer-systems")
    created = call("invoices_create", "POST", "/api/v1/invoices", v1_body(**ids)).json()["data"]
    first_hash = created["hash"]
    call(
        "invoices_create_duplicate_number",
        "POST",
        "/api/v1/invoices",
        v1_body(**ids),
    )
    call(
        "invoices_create_date_goes_back",
        "POST",
        "/api/v1/invoices",
        v1_body(**ids, invoice_number="F-2026-043", invoice_date="2026-03-01"),
    )
    call(
        "invoices_create_three_decimals_400",
        "POST",
        "/api/v1/invoices",
        v1_body(**ids, invoice_number="F-2026-044").replace(
            '"total_amount":825.00', '"total_amount":825.001'
        ),
    )
    call(
        "invoices_create_missing_fields_400",
        "POST",
        "/api/v1/invoices",
        v1_body({**ids, "invoice_number": "F-2026-045"}),
    )
    call(
        "invoices_create_future_date_400",
        "POST",
        "/api/v1/invoices",
        v1_body(**ids, invoice_number="F-2026-046", invoice_date="2026-03-21"),
    )
    call(
        "invoices_create_unknown_taxpayer_404",
        "POST",
        "/api/v1/invoices",
        v1_body(**{**ids, "taxpayer_id": UNKNOWN}),
    )
    call("invoices_create_malformed_json_400", "POST", "/api/v1/invoices", "{")
    second = call(
        "invoices_create_second",
        "POST",
        "/api/v1/invoices",
        v1_body(**ids, invoice_number="F-2026-047"),
    ).json()["data"]

    invoice = f"/api/v1/invoices/{created['id']}"
    call("invoices_detail", "GET", invoice)
    call("invoices_detail_unknown_404", "GET", f"/api/v1/invoices/{UNKNOWN}")
    call("invoices_put_405", "PUT", invoice, "{}")
    call("invoices_status", "GET", f"{invoice}/status")
    call("invoices_status_unknown_404", "GET", f"/api/v1/invoices/{UNKNOWN}/status")
    call("invoices_xml", "GET", f"{invoice}/xml")
    call("invoices_xml_unknown_404", "GET", f"/api/v1/invoices/{UNKNOWN}/xml")
    call("invoices_qr", "GET", f"{invoice}/qr")
    call("invoices_qr_png", "GET", f"{invoice}/qr?format=png")
    call("invoices_qr_svg", "GET", f"{invoice}/qr?format=svg")
    call("invoices_qr_bad_format_400", "GET", f"{invoice}/qr?format=gif")
    call("invoices_pdf", "GET", f"{invoice}/pdf")
    call("invoices_pdf_unknown_404", "GET", f"/api/v1/invoices/{UNKNOWN}/pdf")

    nif = taxpayer.nif
    call("taxpayer_invoices", "GET", f"/api/v1/taxpayers/{nif}/invoices")
    call(
        "taxpayer_invoices_status", "GET", f"/api/v1/taxpayers/{nif}/invoices?status=queued&page=1"
    )
    call("taxpayer_invoices_page_2", "GET", f"/api/v1/taxpayers/{nif}/invoices?page=2")
    call("taxpayer_invoices_bad_page_400", "GET", f"/api/v1/taxpayers/{nif}/invoices?page=x")
    call("taxpayer_invoices_bad_status_400", "GET", f"/api/v1/taxpayers/{nif}/invoices?status=x")
    call("taxpayer_invoices_other_account_404", "GET", "/api/v1/taxpayers/A28045631/invoices")

    call("retry_queued_409", "POST", f"{invoice}/retry", "{}")
    call("retry_unknown_404", "POST", f"/api/v1/invoices/{UNKNOWN}/retry", "{}")
    BillingRecord.objects.filter(fiscal_invoice_id=created["id"]).update(
        status=RecordStatus.REJECTED, aeat_error_code="1100"
    )
    call("invoices_status_rejected", "GET", f"{invoice}/status")
    call("retry_rejected", "POST", f"{invoice}/retry", "{}")
    call("invoices_xml_after_retry", "GET", f"{invoice}/xml")

    second_url = f"/api/v1/invoices/{second['id']}"
    call("cancel", "POST", f"{second_url}/cancel", "{}")
    call("cancel_again_409", "POST", f"{second_url}/cancel", "{}")
    call("invoices_xml_cancellation", "GET", f"{second_url}/xml")
    BillingRecord.objects.filter(fiscal_invoice_id=created["id"]).update(
        status=RecordStatus.ACCEPTED
    )
    call("invoices_patch_accepted_409", "PATCH", invoice, "{}")
    call("taxpayer_invoices_accepted", "GET", f"/api/v1/taxpayers/{nif}/invoices?status=accepted")
    call.finish()

    # The huella hashes the record's fields and its generation timestamp: with the clock
    # fixed that timestamp is NOW in Madrid time, and the huella recomputes from the record.
    from verifactu.xml import parse_record, recompute_huella

    record = BillingRecord.objects.filter(fiscal_invoice_id=created["id"]).order_by("position")[0]
    assert record.huella == first_hash
    assert record.generated_at_text == "2026-03-20T11:30:00+01:00"
    assert recompute_huella(parse_record(record.xml)) == first_hash


def test_a_changed_response_fails_with_a_readable_diff(tmp_path, monkeypatch):
    """The comparison can fail: a golden file that differs from the response is reported
    with a unified diff naming the case, and a golden file no case produces is reported."""
    from django.http import HttpResponse

    class FakeClient:
        def get(self, path, **kwargs):
            return HttpResponse(b'{"total":2}', content_type="application/json")

    monkeypatch.setattr(f"{__name__}.GOLDEN", tmp_path)
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "01_case.json").write_text("{}\n", encoding="utf-8")
    (folder / "02_gone.json").write_text("{}\n", encoding="utf-8")
    call = Recorder(FakeClient(), "x", update=False)
    call("case", "GET", "/api/anything")
    assert len(call.mismatches) == 1
    assert "--- golden/x/01_case.json" in call.mismatches[0]
    assert '+  "body": "{\\"total\\":2}",' in call.mismatches[0]
    with pytest.raises(AssertionError, match="02_gone.json"):
        call.finish()
