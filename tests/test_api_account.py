"""The account API (/api), to the letter of seed 000: camelCase, integer cents."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from clients.services import create_client
from expenses.models import Expense
from invoicing.models import Invoice, Series
from invoicing.services import Actor, DraftLine, create_draft
from tests.payloads import seed_000_invoice


@pytest.fixture
def acme(taxpayer):
    return create_client(
        taxpayer,
        {
            "name": "Acme SL",
            "nif": "A28045631",
            "country": "ES",
            "email": "billing@acme.es",
            "address": "Calle Mayor 1",
            "city": "Madrid",
            "postal_code": "28001",
        },
    )


def post(api_client, path, payload):
    return api_client.post(path, payload, content_type="application/json")


def seed_invoice(api_client, series, acme, **overrides):
    return post(api_client, "/api/invoices", seed_000_invoice(series.pk, acme.pk, **overrides))


def test_create_invoice_seed_example_totals_106000(api_client, series, acme):
    response = seed_invoice(api_client, series, acme)
    assert response.status_code == 201, response.content
    data = response.json()
    assert {"id", "invoiceNumber", "status", "total"} <= set(data)
    assert (data["status"], data["total"]) == ("draft", 106000)
    assert data["invoiceNumber"].startswith("Borrador ")  # provisional: numbered at issue
    assert (data["subtotal"], data["ivaAmount"], data["irpfAmount"]) == (100000, 21000, 15000)
    assert isinstance(data["total"], int)


def test_list_invoices_shape_order_and_filters(api_client, series, acme, owner, taxpayer):
    numbers = [
        seed_invoice(api_client, series, acme, issueDate=day).json()["invoiceNumber"]
        for day in ("2026-03-01", "2026-03-10", "2026-02-01")
    ]
    body = api_client.get("/api/invoices").json()
    assert (body["total"], body["page"], body["limit"]) == (3, 1, 50)
    assert [i["issueDate"] for i in body["items"]] == ["2026-03-10", "2026-03-01", "2026-02-01"]
    item = body["items"][0]
    for field, kind in [
        ("id", str),
        ("invoiceNumber", str),
        ("issueDate", str),
        ("clientName", str),
        ("status", str),
        ("total", int),
        ("subtotal", int),
        ("ivaAmount", int),
        ("irpfAmount", int),
    ]:
        assert isinstance(item[field], kind), field
    assert "dueDate" in item
    march = api_client.get("/api/invoices?dateFrom=2026-03-01&dateTo=2026-03-31").json()
    assert march["total"] == 2
    assert api_client.get("/api/invoices?status=paid").json()["total"] == 0
    assert api_client.get("/api/invoices?search=ACME").json()["total"] == 3
    assert api_client.get("/api/invoices", {"search": numbers[1].lower()}).json()["total"] == 1
    assert api_client.get("/api/invoices?page=2").json()["items"] == []
    assert api_client.get("/api/invoices?page=0").status_code == 400
    assert api_client.get("/api/invoices?dateFrom=2026-02-30").status_code == 400
    assert api_client.get("/api/invoices?status=bogus").status_code == 400


def test_invoice_detail_shape(api_client, series, acme):
    invoice_id = seed_invoice(api_client, series, acme).json()["id"]
    body = api_client.get(f"/api/invoices/{invoice_id}").json()
    assert set(body) == {"invoice", "lines", "clientName", "clientNif"}
    assert body["invoice"]["total"] == 106000 and body["invoice"]["status"] == "draft"
    assert body["lines"] == [
        {
            "description": "Consulting services",
            "quantity": 100,
            "unitPrice": 100000,
            "amount": 100000,
            "ivaType": "general",
            "discount": 0,
        }
    ]
    assert (body["clientName"], body["clientNif"]) == ("Acme SL", "A28045631")


def test_status_draft_to_sent_to_paid(api_client, series, acme):
    invoice_id = seed_invoice(api_client, series, acme).json()["id"]
    url = f"/api/invoices/{invoice_id}/status"
    sent = api_client.patch(url, {"status": "sent"}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    invoice = Invoice.objects.get(pk=invoice_id)
    assert invoice.fiscal_invoice.records.count() == 1
    missing = api_client.patch(url, {"status": "paid"}, content_type="application/json")
    assert missing.status_code == 400 and "paidAt" in missing.json()["error"]["fields"]
    paid = api_client.patch(
        url, {"status": "paid", "paidAt": "2026-03-13"}, content_type="application/json"
    )
    assert paid.json() == {
        "id": invoice_id,
        "invoiceNumber": "2026-A-001",
        "status": "paid",
        "paidAt": "2026-03-13T00:00:00.000Z",
    }
    again = api_client.patch(url, {"status": "sent"}, content_type="application/json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


def test_the_audit_log_names_the_token(api_client, series, acme):
    invoice_id = seed_invoice(api_client, series, acme).json()["id"]
    event = Invoice.objects.get(pk=invoice_id).events.get()
    assert event.token_label.startswith("tests (kf_")


def test_invalid_lines_are_400_with_fields(api_client, series, acme):
    for bad in (
        {"quantity": 1.5},
        {"unitPrice": "100000"},
        {"unitPrice": 1000.5},
        {"ivaType": "medio"},
    ):
        line = {"description": "X", "quantity": 100, "unitPrice": 100000, "ivaType": "general"}
        line.update(bad)
        response = seed_invoice(api_client, series, acme, lines=[line])
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == "validation_error"
        assert response.json()["error"]["fields"]
    assert not Invoice.objects.exists()


def test_clients_list_and_create(api_client, acme):
    listing = api_client.get("/api/clients").json()
    assert listing == [
        {
            "id": str(acme.pk),
            "name": "Acme SL",
            "nif": "A28045631",
            "email": "billing@acme.es",
            "address": "Calle Mayor 1",
            "city": "Madrid",
            "postalCode": "28001",
            "country": "ES",
            "taxpayerId": str(acme.taxpayer_id),
            "einvoiceFormat": "",
            "dir3OficinaContable": "",
            "dir3OrganoGestor": "",
            "dir3UnidadTramitadora": "",
        }
    ]
    created = post(
        api_client,
        "/api/clients",
        {"name": "Beta SA", "nif": "ES B12345674", "email": "b@beta.es", "country": "ES"},
    )
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("name", "nif", "email")} == {
        "name": "Beta SA",
        "nif": "B12345674",
        "email": "b@beta.es",
    }
    assert api_client.get("/api/clients?search=beta").json()[0]["name"] == "Beta SA"


def test_the_seeds_sample_nif_is_refused_with_a_reason(api_client, taxpayer):
    response = post(
        api_client, "/api/clients", {"name": "Acme SL", "nif": "A12345678", "country": "ES"}
    )
    assert response.status_code == 400
    assert "control" in response.json()["error"]["fields"]["nif"][0]


def test_a_client_created_with_its_einvoice_format_and_dir3_codes_reads_them_back(api_client):
    created = post(
        api_client,
        "/api/clients",
        {
            "name": "Ayuntamiento de Madrid",
            "nif": "P2807900B",
            "einvoiceFormat": "facturae",
            "dir3OficinaContable": "L01280796",
            "dir3OrganoGestor": "L01280796",
            "dir3UnidadTramitadora": "la0002345",
        },
    )

    assert created.status_code == 201, created.json()
    assert {k: v for k, v in created.json().items() if k.startswith(("einvoice", "dir3"))} == {
        "einvoiceFormat": "facturae",
        "dir3OficinaContable": "L01280796",
        "dir3OrganoGestor": "L01280796",
        "dir3UnidadTramitadora": "LA0002345",
    }


def test_an_incomplete_set_of_dir3_codes_is_a_400_naming_the_missing_ones(api_client):
    response = post(
        api_client,
        "/api/clients",
        {"name": "Ayuntamiento", "nif": "P2807900B", "dir3OficinaContable": "L01280796"},
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert set(fields) == {"dir3_organo_gestor", "dir3_unidad_tramitadora"}
    assert "FACe pide los tres" in fields["dir3_organo_gestor"][0]


def test_series_list(api_client, series):
    assert api_client.get("/api/series").json() == [
        {
            "id": str(series.pk),
            "code": "A",
            "kind": "F1",
            "taxpayerId": str(series.taxpayer_id),
            "nextNumber": f"{timezone.localdate().year}-A-001",
        }
    ]


def test_expenses_create_list_and_categories(api_client, taxpayer):
    categories = api_client.get("/api/expenses/categories").json()
    software = next(c for c in categories if c["name"] == "Software y tecnología")
    created = post(
        api_client,
        "/api/expenses",
        {
            "date": "2026-03-13",
            "description": "Cloud hosting March",
            "amount": 4999,
            "categoryId": software["id"],
            "isDeductible": True,
            "supplierName": "AWS",
        },
    )
    assert created.status_code == 201, created.content
    assert {k: created.json()[k] for k in ("date", "description", "amount", "isDeductible")} == {
        "date": "2026-03-13",
        "description": "Cloud hosting March",
        "amount": 4999,
        "isDeductible": True,
    }
    listing = api_client.get("/api/expenses").json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert {k: item[k] for k in ("amount", "categoryName", "receiptUrl", "isDeductible")} == {
        "amount": 4999,
        "categoryName": "Software y tecnología",
        "receiptUrl": None,
        "isDeductible": True,
    }
    assert api_client.get("/api/expenses?deductible=false").json()["total"] == 0
    assert api_client.get("/api/expenses?search=hosting").json()["total"] == 1
    assert (
        post(
            api_client, "/api/expenses", {"date": "2026-03-13", "description": "X", "amount": 49.99}
        ).status_code
        == 400
    )
    assert Expense.objects.count() == 1


def test_another_accounts_ids_are_404(api_client, series, acme, other_account):
    invoice_id = seed_invoice(api_client, series, acme).json()["id"]
    Invoice.objects.filter(pk=invoice_id).update(account=other_account)
    assert api_client.get(f"/api/invoices/{invoice_id}").status_code == 404
    assert (
        api_client.patch(
            f"/api/invoices/{invoice_id}/status",
            {"status": "sent"},
            content_type="application/json",
        ).status_code
        == 404
    )
    assert api_client.get(f"/api/invoices/{invoice_id}/pdf").status_code == 404
    assert api_client.get("/api/invoices").json()["total"] == 0
    foreign_series = Series.objects.create(
        account=other_account, taxpayer=other_account.taxpayers.get(), code="Z"
    )
    assert seed_invoice(api_client, foreign_series, acme).status_code == 404


def test_pdf_of_an_invoice(api_client, series, acme, owner, taxpayer):
    draft = create_draft(
        taxpayer,
        series=series,
        client=acme,
        issue_date=date(2026, 3, 13),
        lines=[DraftLine("X", 100, 1000)],
        actor=Actor(owner),
    )
    response = api_client.get(f"/api/invoices/{draft.pk}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")


def test_irpf_defaults_to_the_taxpayers_rate(api_client, series, acme, taxpayer):
    taxpayer.default_irpf_bp = 700
    taxpayer.save()
    payload = {
        "clientId": str(acme.pk),
        "seriesId": str(series.pk),
        "issueDate": "2026-03-13",
        "lines": [{"description": "X", "quantity": 100, "unitPrice": 100000}],
    }
    assert post(api_client, "/api/invoices", payload).json()["irpfAmount"] == 7000
    payload["applyIrpf"] = False
    assert post(api_client, "/api/invoices", payload).json()["irpfAmount"] == 0


def test_an_igic_line_is_created_and_read_back_with_its_type(api_client, series, acme):
    response = seed_invoice(
        api_client,
        series,
        acme,
        irpfRate=0,
        applyIrpf=False,
        lines=[
            {
                "description": "Tenerife",
                "quantity": 100,
                "unitPrice": 100000,
                "ivaType": "igic_general",
            }
        ],
    )
    assert response.status_code == 201, response.content
    assert (response.json()["ivaAmount"], response.json()["total"]) == (7000, 107000)
    detail = api_client.get(f"/api/invoices/{response.json()['id']}").json()
    assert detail["lines"][0]["ivaType"] == "igic_general"
