"""``/api/received-invoices``: upload as a raw XML or ZIP body or as multipart files, per-file
results, the paginated list and the detail, within the token's account only."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from einvoice.models import ReceivedInvoice
from einvoice.received import import_upload
from tests.test_einvoice_inbound import FACTURAE, changed
from tests.test_einvoice_received import zipped

URL = "/api/received-invoices"

pytestmark = pytest.mark.django_db


def numbered(number: str) -> bytes:
    return changed(FACTURAE, (b"<InvoiceNumber>0001<", f"<InvoiceNumber>{number}<".encode()))


def test_a_raw_xml_body_creates_the_invoice_and_answers_it(api_client, taxpayer):
    response = api_client.post(URL, FACTURAE, content_type="application/xml")

    assert response.status_code == 200, response.content
    (result,) = response.json()["results"]
    assert result["result"] == "created"
    assert result["errors"] == []
    invoice = result["invoice"]
    assert (invoice["number"], invoice["supplierNif"], invoice["total"]) == (
        "20260001",
        "B12345674",
        12100,
    )
    assert invoice["taxes"] == [
        {"category": "S", "rate": 2100, "base": 10000, "tax": 2100, "exemptionReasonCode": None}
    ]
    assert invoice["status"] == "received"
    assert invoice["signature"] == {"present": False, "valid": None, "signer": ""}


def test_a_zip_body_answers_per_file_and_reports_a_duplicate_with_when(api_client, taxpayer):
    first = api_client.post(URL, FACTURAE, content_type="application/xml").json()
    body = zipped(**{"a.xml": FACTURAE, "b.xml": numbered("0002"), "c.xml": b"<x/>"})

    response = api_client.post(URL, body, content_type="application/zip")

    assert response.status_code == 200
    results = {r["file"]: r for r in response.json()["results"]}
    assert results["a.xml"]["result"] == "duplicate"
    assert results["a.xml"]["receivedAt"] is not None
    assert results["a.xml"]["invoice"]["id"] == first["results"][0]["invoice"]["id"]
    assert results["b.xml"]["result"] == "created"
    assert results["c.xml"]["result"] == "invalid"
    assert results["c.xml"]["errors"][0]["rule"] == "INBOUND-FORMAT"
    assert ReceivedInvoice.objects.count() == 2


def test_multipart_takes_several_files(api_client, taxpayer):
    files = [
        SimpleUploadedFile("uno.xml", numbered("0011"), content_type="application/xml"),
        SimpleUploadedFile("dos.zip", zipped(**{"d.xml": numbered("0012")}), "application/zip"),
    ]

    response = api_client.post(URL, {"files": files})

    assert response.status_code == 200
    assert [(r["file"], r["result"]) for r in response.json()["results"]] == [
        ("uno.xml", "created"),
        ("d.xml", "created"),
    ]


def test_multipart_without_files_is_a_field_error(api_client, taxpayer):
    response = api_client.post(URL, {"other": "x"})

    assert response.status_code == 400
    assert "files" in response.json()["error"]["fields"]


def test_an_empty_raw_body_is_a_clear_400(api_client, taxpayer):
    response = api_client.post(URL, b"", content_type="application/xml")

    assert response.status_code == 400
    assert "body" in response.json()["error"]["fields"]


def test_json_is_an_unsupported_media_type(api_client, taxpayer):
    response = api_client.post(URL, {"a": 1}, content_type="application/json")

    assert response.status_code == 415


def test_the_list_pages_like_the_other_lists_and_the_detail_has_lines(api_client, taxpayer):
    import_upload(taxpayer.account, FACTURAE, "application/xml", "f.xml")

    listing = api_client.get(URL).json()

    assert (listing["total"], listing["page"], listing["limit"]) == (1, 1, 50)
    (item,) = listing["items"]
    assert item["answerBy"] and "lines" not in item
    detail = api_client.get(f"{URL}/{item['id']}").json()
    assert detail["lines"][0]["net"] == 10000
    assert detail["fileName"] == "f.xml"
    assert detail["events"] == []


def test_another_accounts_received_invoice_is_a_404(api_client, taxpayer, other_account):
    other = other_account.taxpayers.get()
    theirs = FACTURAE.replace(b"B87654323", other.nif.encode())
    (outcome,) = import_upload(other_account, theirs, "application/xml")
    assert outcome.invoice is not None, outcome.problems

    assert api_client.get(f"{URL}/{outcome.invoice.pk}").status_code == 404
    assert api_client.get(URL).json()["total"] == 0


def test_answers_are_recorded_and_a_rejection_needs_a_reason(api_client, taxpayer):
    (outcome,) = import_upload(taxpayer.account, FACTURAE, "application/xml")
    url = f"{URL}/{outcome.invoice.pk}/answers"

    refused = api_client.post(url, {"status": "rejected"}, content_type="application/json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["reason"] == ["Indique el motivo del rechazo."]

    accepted = api_client.post(url, {"status": "accepted"}, content_type="application/json")
    paid = api_client.post(
        url,
        {"status": "paid", "paidOn": "2026-01-20", "paidAmount": 12100},
        content_type="application/json",
    )
    assert (accepted.status_code, paid.status_code) == (201, 201)
    assert paid.json()["status"] == "paid"
    assert [(e["status"], e["paidAmount"]) for e in paid.json()["events"]] == [
        ("accepted", None),
        ("paid", 12100),
    ]


def test_booking_as_an_expense_once_then_a_409(api_client, taxpayer):
    (outcome,) = import_upload(taxpayer.account, FACTURAE, "application/xml")
    url = f"{URL}/{outcome.invoice.pk}/expense"

    first = api_client.post(url, {}, content_type="application/json")
    again = api_client.post(url, {}, content_type="application/json")

    assert first.status_code == 201 and first.json()["amount"] == 12100
    assert again.status_code == 409


def test_another_accounts_invoice_cannot_be_answered(api_client, taxpayer, other_account):
    other = other_account.taxpayers.get()
    theirs = FACTURAE.replace(b"B87654323", other.nif.encode())
    (outcome,) = import_upload(other_account, theirs, "application/xml")

    response = api_client.post(
        f"{URL}/{outcome.invoice.pk}/answers", {"status": "accepted"}, "application/json"
    )

    assert response.status_code == 404
