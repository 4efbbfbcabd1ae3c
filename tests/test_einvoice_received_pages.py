"""The "Facturas recibidas" pages under Gastos: upload with the per-file report, the list with
its clock, the detail with the answers and the expense, the supplier rules; tenancy and roles."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from einvoice.models import ReceivedInvoice, SupplierRule
from einvoice.received import import_upload
from expenses.models import Expense, ExpenseCategory
from tests.test_einvoice_inbound import FACTURAE, changed

BASE = "/c/estudio-sol/gastos/recibidas/"


def upload(client, content: bytes, name: str = "factura.xml", kind: str = "application/xml"):
    return client.post(BASE, {"file": SimpleUploadedFile(name, content, content_type=kind)})


@pytest.fixture
def received(taxpayer) -> ReceivedInvoice:
    (outcome,) = import_upload(taxpayer.account, FACTURAE, "application/xml", "f.xml")
    return outcome.invoice


def test_the_empty_list_explains_what_to_upload(login, owner):
    page = login(owner).get(BASE).content.decode()

    assert "aún no tiene facturas electrónicas recibidas" in page
    assert "Subir" in page


def test_uploading_shows_each_files_result_and_lists_the_invoice(login, owner):
    client = login(owner)
    response = upload(client, FACTURAE, "buena.xml")
    page = response.content.decode()

    assert response.status_code == 200
    assert 'data-result="created"' in page and "buena.xml" in page
    assert "20260001" in page and "4 días" in page

    again = upload(client, FACTURAE, "otra.xml").content.decode()
    assert 'data-result="duplicate"' in again and "Ya recibida" in again


def test_a_bad_file_is_reported_in_spanish_and_nothing_is_stored(login, owner):
    wrong = changed(FACTURAE, (b"<InvoiceTotal>121.00<", b"<InvoiceTotal>121.01<"))

    page = upload(login(owner), wrong, "mala.xml").content.decode()

    assert 'data-result="invalid"' in page and "No válida" in page
    assert not ReceivedInvoice.objects.exists()


def test_the_detail_shows_lines_taxes_and_the_clock(login, owner, received):
    page = login(owner).get(f"{BASE}{received.pk}/").content.decode()

    assert "121,00" in page and "21 %" in page
    assert "Responda al proveedor antes del" in page
    assert "Convertir en gasto" in page


def test_rejecting_without_a_reason_is_a_field_error(login, owner, received):
    response = login(owner).post(f"{BASE}{received.pk}/rechazar/", {"reason": ""})

    assert response.status_code == 400
    assert response.content.decode().count("Indique el motivo del rechazo.") == 1
    received.refresh_from_db()
    assert received.status == "received"


def test_paying_with_a_spanish_amount_records_it(login, owner, received):
    client = login(owner)
    response = client.post(
        f"{BASE}{received.pk}/pagada/", {"paid_on": "2026-01-20", "amount": "121,00"}
    )

    assert response.status_code == 302
    event = received.events.get()
    assert (event.status, event.paid_cents, event.by) == ("paid", 12100, owner.get_full_name())
    assert "121,00 € el 20/01/2026" in client.get(f"{BASE}{received.pk}/").content.decode()


def test_converting_makes_the_expense_with_the_category(login, owner, received):
    software = ExpenseCategory.objects.get(name="Software y tecnología")

    response = login(owner).post(f"{BASE}{received.pk}/gasto/", {"category": software.pk})

    assert response.status_code == 302
    expense = Expense.objects.get()
    assert (expense.category, expense.amount_cents, expense.iva_cents) == (software, 12100, 2100)


def test_a_rule_is_kept_and_shown(login, owner):
    software = ExpenseCategory.objects.get(name="Software y tecnología")
    client = login(owner)

    client.post(f"{BASE}reglas/", {"supplier_nif": "B12345674", "category": software.pk})

    assert SupplierRule.objects.get().category == software
    assert "B12345674 → Software y tecnología" in client.get(f"{BASE}reglas/").content.decode()


def test_another_accounts_invoice_is_a_404(login, accountant_elsewhere, received):
    client = login(accountant_elsewhere)

    assert client.get(f"/c/gestoria-ajena/gastos/recibidas/{received.pk}/").status_code == 404
    assert client.get(f"{BASE}{received.pk}/").status_code == 404


def test_a_viewer_sees_but_cannot_answer(login, viewer, received):
    client = login(viewer)

    assert "Aceptar" not in client.get(f"{BASE}{received.pk}/").content.decode()
    assert client.post(f"{BASE}{received.pk}/aceptar/").status_code == 403


def test_the_desk_reminds_of_the_invoices_still_to_answer(login, owner, received):
    client = login(owner)

    page = client.get("/c/estudio-sol/mesa/").content.decode()
    assert 'data-to-answer="1"' in page and "quedan 4 días" in page

    client.post(f"{BASE}{received.pk}/aceptar/")
    assert "data-to-answer" not in client.get("/c/estudio-sol/mesa/").content.decode()


def test_the_dashboards_overview_reminds_a_one_taxpayer_account_too(login, owner, received):
    client = login(owner)
    overview = reverse("taxpayer_overview", args=["estudio-sol"])

    fragment = client.get(overview, {"fragment": "1"}).content.decode()
    assert 'data-to-answer="1"' in fragment and "quedan 4 días" in fragment

    client.post(f"{BASE}{received.pk}/rechazar/", {"reason": "No es nuestro pedido"})
    assert "data-to-answer" not in client.get(overview, {"fragment": "1"}).content.decode()


def test_the_tax_summary_shows_the_111_when_irpf_was_withheld(login, owner, taxpayer):
    Expense.objects.create(
        account=taxpayer.account,
        taxpayer=taxpayer,
        date=dt.date(2026, 2, 1),
        description="Asesoría",
        supplier_nif="B12345674",
        amount_cents=121000,
        base_cents=100000,
        iva_cents=21000,
        irpf_base_cents=100000,
        irpf_withheld_cents=15000,
    )
    url = "/c/estudio-sol/gastos/impuestos/?year=2026&quarter=1"

    page = login(owner).get(url).content.decode()

    assert "Modelo 111" in page and "150,00 €" in page and "Casilla 09" in page


def test_the_tax_summary_has_no_111_without_withholdings(login, owner, taxpayer):
    page = login(owner).get("/c/estudio-sol/gastos/impuestos/?year=2026&quarter=1")

    assert "Modelo 111" not in page.content.decode()


def test_a_quantity_with_more_digits_than_a_decimal_holds_is_shown_as_written():
    from einvoice.received_views import decimal_es

    huge = "1" * 40 + ".5"

    assert decimal_es(huge, 2) == huge
    assert decimal_es("1234.5", 2) == "1.234,50"
