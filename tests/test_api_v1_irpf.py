"""The v1 API's optional IRPF withholding: stored on the fiscal invoice, printed on its PDF
(retención and the amount to pay), never part of the billing record."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

from pypdf import PdfReader

from tests.test_api_v1 import loads, register, v1  # noqa: F401 - the fixture
from verifactu.models import FiscalInvoice

D = Decimal


def test_irpf_is_stored_and_printed_but_never_in_the_record(v1):  # noqa: F811
    response = register(v1, irpf_rate=D("15.00"), irpf_amount=D("105.00"))
    assert response.status_code == 201, response.content
    invoice_id = response.json()["data"]["id"]
    assert response.json()["data"]["qr_url"].endswith("&importe=825.00")
    invoice = FiscalInvoice.objects.get(pk=invoice_id)
    assert (invoice.irpf_rate_bp, invoice.irpf_amount_cents) == (1500, 10500)
    xml = invoice.registration.xml
    assert "<ImporteTotal>825.00</ImporteTotal>" in xml and "105.00" in xml  # a cuota, not IRPF
    assert "IRPF" not in xml and "Retencion" not in xml
    detail = loads(v1.get(f"/api/v1/invoices/{invoice_id}").content)["data"]
    assert (detail["irpf_rate"], detail["irpf_amount"], detail["total_amount"]) == (
        D("15.00"),
        D("105.00"),
        D("825.00"),
    )
    pdf = v1.get(f"/api/v1/invoices/{invoice_id}/pdf")
    text = PdfReader(BytesIO(pdf.content)).pages[0].extract_text()
    assert "Retención IRPF 15 %" in text and "-105,00 €" in text and "720,00 €" in text


def test_without_irpf_the_answer_says_null(v1):  # noqa: F811
    invoice_id = register(v1).json()["data"]["id"]
    detail = loads(v1.get(f"/api/v1/invoices/{invoice_id}").content)["data"]
    assert (detail["irpf_rate"], detail["irpf_amount"]) == (None, None)


def test_irpf_refusals_name_the_field(v1):  # noqa: F811
    cases = [
        ({"irpf_rate": D("15.00")}, "irpf_amount"),
        ({"irpf_amount": D("-1.00")}, "irpf_amount"),
        ({"irpf_amount": D("900.00")}, "irpf_amount"),
        ({"irpf_amount": "1.005"}, "irpf_amount"),
        ({"irpf_rate": D("101"), "irpf_amount": D("1.00")}, "irpf_rate"),
    ]
    for i, (fields, field) in enumerate(cases):
        response = register(v1, invoice_number=f"I-{i}", **fields)
        assert response.status_code == 400, (fields, response.content)
        assert field in response.json()["errors"], (fields, response.json())
    assert not FiscalInvoice.objects.exists()


def test_a_subsanacion_refuses_irpf_which_is_not_in_the_record(v1):  # noqa: F811
    invoice_id = register(v1, irpf_amount=D("105.00")).json()["data"]["id"]
    response = v1.post_json(
        f"invoices/{invoice_id}/subsanacion", {"reason": "x", "irpf_amount": D("1.00")}
    )
    assert response.status_code == 400, response.content
    assert "keeps it as registered" in response.json()["errors"]["irpf_amount"][0]
    assert FiscalInvoice.objects.get(pk=invoice_id).irpf_amount_cents == 10500
