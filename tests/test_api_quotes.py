"""Quotes in the account API (/api/quotes): camelCase and cents as seed 000, field errors,
status changes and conversion (409 when refused), the PDF, and tenancy (404)."""

from __future__ import annotations

from django.utils import timezone

from clients.services import create_client
from invoicing.models import Invoice
from quotes import services
from quotes.models import Quote, QuoteStatus
from tests.quotes import DAY, LINES


def test_the_api_creates_lists_and_shows_a_quote_in_camel_case_cents(api_client, acme, taxpayer):
    body = {
        "clientId": str(acme.pk),
        "issueDate": "2026-03-13",
        "validUntil": "2099-04-12",
        "irpfRate": 1500,
        "lines": [{"description": "Consultoría", "quantity": 100, "unitPrice": 100000}],
    }
    created = api_client.post("/api/quotes", body, content_type="application/json")
    assert created.status_code == 201, created.content
    item = created.json()
    assert item["quoteNumber"] == "P-2026-001" and item["status"] == "draft"
    assert (item["subtotal"], item["ivaAmount"], item["irpfAmount"], item["total"]) == (
        100000,
        21000,
        15000,
        106000,
    )
    assert item["clientName"] == "Acme SL" and item["invoiceId"] is None
    listed = api_client.get("/api/quotes?status=draft").json()
    assert [q["id"] for q in listed["items"]] == [item["id"]] and listed["total"] == 1
    assert api_client.get("/api/quotes?status=sent").json()["items"] == []
    assert api_client.get("/api/quotes?status=nope").status_code == 400
    detail = api_client.get(f"/api/quotes/{item['id']}").json()
    assert detail["quote"] == item
    assert detail["lines"][0] | {"amount": 100000} == {
        "description": "Consultoría",
        "quantity": 100,
        "unitPrice": 100000,
        "amount": 100000,
        "ivaType": "general",
        "discount": 0,
    }


def test_the_api_refuses_a_bad_quote_field_by_field(api_client, acme):
    body = {
        "clientId": str(acme.pk),
        "issueDate": "2026-03-13",
        "validUntil": "2026-03-01",
        "lines": [{"description": "", "quantity": 100, "unitPrice": 1.5}],
    }
    refused = api_client.post("/api/quotes", body, content_type="application/json")
    assert refused.status_code == 400
    assert "lines.0.unitPrice" in refused.json()["error"]["fields"]
    body["lines"][0] = {"description": "Web", "quantity": -100, "unitPrice": 100}
    refused = api_client.post("/api/quotes", body, content_type="application/json")
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"validUntil", "lines.0.quantity"}
    assert not Quote.objects.exists()


def test_the_api_moves_converts_once_and_serves_the_pdf(api_client, make_quote, series):
    quote = make_quote(issue_date=timezone.localdate())
    base = f"/api/quotes/{quote.pk}"
    sent = api_client.patch(f"{base}/status", {"status": "sent"}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    again = api_client.patch(f"{base}/status", {"status": "sent"}, content_type="application/json")
    assert again.status_code == 409
    body = {"seriesId": str(series.pk)}
    converted = api_client.post(f"{base}/invoice", body, content_type="application/json")
    assert converted.status_code == 201, converted.content
    invoice = Invoice.objects.get()
    assert converted.json()["id"] == str(invoice.pk)
    assert converted.json()["total"] == quote.total_cents
    twice = api_client.post(f"{base}/invoice", body, content_type="application/json")
    assert twice.status_code == 409 and Invoice.objects.count() == 1
    assert api_client.get(base).json()["quote"]["invoiceId"] == str(invoice.pk)
    pdf = api_client.get(f"{base}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_the_api_gives_404_for_another_accounts_quote(api_client, other_account, actor):
    foreign_taxpayer = other_account.taxpayers.get()
    client = create_client(
        foreign_taxpayer, {"name": "Ajeno SL", "nif": "B12345674", "country": "ES"}
    )
    quote = services.create_quote(
        foreign_taxpayer, client=client, issue_date=DAY, valid_until=DAY, lines=LINES, actor=actor
    )
    base = f"/api/quotes/{quote.pk}"
    assert api_client.get(base).status_code == 404
    assert api_client.get(f"{base}/pdf").status_code == 404
    patch = api_client.patch(f"{base}/status", {"status": "sent"}, content_type="application/json")
    assert patch.status_code == 404
    assert api_client.get("/api/quotes").json()["items"] == []
    created = api_client.post(
        "/api/quotes",
        {
            "clientId": str(client.pk),
            "issueDate": "2026-03-13",
            "validUntil": "2026-04-01",
            "lines": [{"description": "X", "quantity": 100, "unitPrice": 100}],
        },
        content_type="application/json",
    )
    assert created.status_code == 404
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT
