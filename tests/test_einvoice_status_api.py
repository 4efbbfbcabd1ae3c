"""``/api/invoices/{id}/b2b-status``: the client's answers about an issued B2B invoice,
recorded and read through the account API (integer cents, camelCase, Spanish field errors)."""

from __future__ import annotations

import datetime as dt

import pytest

from clients.services import create_client
from einvoice.models import IssuedStatusEvent
from invoicing.models import Payment, Series
from invoicing.services import Actor, create_draft, issue_invoice
from tests.invoices import CONSULTING


def url(invoice) -> str:
    return f"/api/invoices/{invoice.pk}/b2b-status"


def post(api_client, invoice, body):
    return api_client.post(url(invoice), body, content_type="application/json")


def test_an_invoice_without_answers_has_no_status_and_no_clock(api_client, issued):
    body = api_client.get(url(issued)).json()

    assert body["invoiceId"] == str(issued.pk)
    assert body["status"] is None
    assert body["history"] == []
    assert body["paidAmount"] == 0
    assert body["deadline"]["startsOn"] is None
    assert body["deadline"]["label"].startswith("El plazo de cuatro días empieza")


def test_recording_answers_returns_the_status_history_and_deadline(api_client, issued):
    received = post(api_client, issued, {"status": "received", "answeredOn": "2026-03-16"})
    assert received.status_code == 201, received.json()
    assert received.json()["deadline"]["startsOn"] == "2026-03-16"
    assert received.json()["deadline"]["lastDay"] == "2026-03-20"
    assert received.json()["deadline"]["basis"] == "received"

    post(api_client, issued, {"status": "accepted", "answeredOn": "2026-03-17"})
    paid = post(
        api_client,
        issued,
        {"status": "paid", "paidOn": "2026-04-02", "paidAmount": 50000},
    )
    body = paid.json()

    assert paid.status_code == 201
    assert body["status"] == "paid"
    assert body["paidAmount"] == 50000
    assert body["deadline"]["answered"] is True and body["deadline"]["answeredInTime"] is True
    assert [e["status"] for e in body["history"]] == ["received", "accepted", "paid"]
    assert body["history"][-1]["paidAmount"] == 50000
    assert body["history"][-1]["paidOn"] == "2026-04-02"
    assert body["history"][-1]["source"] == "api"
    assert body["history"][-1]["recordedBy"].startswith("API: tests")
    assert api_client.get(url(issued)).json() == body
    assert not Payment.objects.exists()


def test_a_rejection_without_reason_is_a_400_on_the_reason(api_client, issued):
    response = post(api_client, issued, {"status": "rejected"})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reason": ["Indique el motivo del rechazo."]}


def test_an_answer_out_of_sequence_is_a_400_on_the_status(api_client, issued):
    post(api_client, issued, {"status": "rejected", "reason": "No es nuestra"})

    response = post(api_client, issued, {"status": "accepted"})

    assert response.status_code == 400
    assert (
        "solo puede constar de nuevo como recibida"
        in (response.json()["error"]["fields"]["status"][0])
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "paid", "paidOn": "2026-04-02", "paidAmount": 10.5}, "paidAmount"),
        ({"status": "paid", "paidOn": "2026-04-02", "paidAmount": "1000"}, "paidAmount"),
        ({"status": "paid", "paidOn": "2026-04-02", "paidAmount": 0}, "paidAmount"),
        ({"status": "paid", "paidOn": "2026-04-02", "paidAmount": 106001}, "paidAmount"),
        ({"status": "paid", "paidAmount": 1000}, "paidOn"),
        ({"status": "paid", "paidOn": "2026-02-30", "paidAmount": 1000}, "paidOn"),
        ({"status": "received", "paidAmount": 1000}, "paidAmount"),
        ({"status": "received", "answeredOn": "2099-01-01"}, "answeredOn"),
        ({"status": "lost"}, "status"),
    ],
)
def test_bad_fields_are_400s_on_their_field(api_client, issued, body, field):
    post(api_client, issued, {"status": "received", "answeredOn": "2026-03-16"})

    response = post(api_client, issued, body)

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert IssuedStatusEvent.objects.count() == 1


def test_another_accounts_invoice_is_a_404(api_client, other_account, issued):
    taxpayer = other_account.taxpayers.get()
    series = Series.objects.create(account=other_account, taxpayer=taxpayer, code="X")
    client = create_client(taxpayer, {"name": "Beta SL", "nif": "B12345674", "country": "ES"})
    theirs = issue_invoice(
        create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=dt.date(2026, 3, 13),
            lines=[CONSULTING],
            actor=Actor(),
        ),
        actor=Actor(),
    )

    assert api_client.get(url(theirs)).status_code == 404
    assert post(api_client, theirs, {"status": "received"}).status_code == 404
    assert not IssuedStatusEvent.objects.exists()


def test_a_draft_takes_no_answer_409(api_client, draft):
    response = post(api_client, draft(), {"status": "received"})

    assert response.status_code == 409
    assert "emitidas" in response.json()["error"]["message"]


def test_both_operations_are_in_the_openapi_schema(client):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    schema = response.json()
    operations = schema["paths"]["/api/invoices/{invoice_id}/b2b-status"]

    assert operations["get"]["operationId"] == "account_invoice_b2b_status_retrieve"
    assert operations["post"]["operationId"] == "account_invoice_b2b_status_create"
    assert {"201", "400", "404", "409"} <= set(operations["post"]["responses"])
