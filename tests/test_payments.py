"""Getting paid (issue 19, point 5): partial payments and the balance, "Cobrada" when
nothing is outstanding and its undo, refusals, the account API's payments and
``paidAmount``, tenancy, the IBAN on the taxpayer (form, API, PDF), and the page in chromium.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pypdf
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from factu.forms import TaxpayerForm
from factu.models import Taxpayer
from invoicing import payments, totals
from invoicing.actions import InvalidTransition
from invoicing.documents import render_pdf
from invoicing.models import Invoice, InvoiceEvent, InvoiceStatus, Payment
from invoicing.services import (
    DraftLine,
    cancel_invoice,
    issue_invoice,
    mark_paid,
    rectify_invoice,
)
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.invoices import ISSUE

TOTAL = 106000  # the seed example: 1.000 € + 21 % IVA - 15 % IRPF
IBAN = "ES9121000418450200051332"


def pay(invoice, amount, day=ISSUE, actor=None, method="transfer", **kw):
    return payments.add_payment(
        invoice,
        day=day,
        amount_cents=amount,
        actor=actor,
        method=method,
        **kw,
    )


def fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


# -- the service ------------------------------------------------------------------------------


def test_a_partial_payment_leaves_the_invoice_sent_with_its_balance(issued, actor):
    pay(issued, 40000, actor=actor, note="Primer plazo")
    invoice = fresh(issued)
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.SENT, None)
    assert (invoice.paid_cents, invoice.outstanding_cents) == (40000, TOTAL - 40000)
    assert invoice.partly_paid
    assert totals.pending_collection(Invoice.objects.all()).cents == TOTAL - 40000
    assert InvoiceEvent.objects.filter(invoice=invoice, action="payment").count() == 1


def test_the_payment_that_settles_makes_it_paid_on_that_payments_date(issued, actor):
    pay(issued, 40000, day=date(2026, 3, 20), actor=actor)
    pay(issued, TOTAL - 40000, day=date(2026, 4, 2), actor=actor, method="bizum")
    invoice = fresh(issued)
    assert invoice.status == InvoiceStatus.PAID
    assert timezone.localdate(invoice.paid_at) == date(2026, 4, 2)
    assert (invoice.outstanding_cents, invoice.partly_paid) == (0, False)
    assert totals.pending_collection(Invoice.objects.all()).cents == 0


@pytest.mark.parametrize(
    "due, back_to",
    [(None, InvoiceStatus.SENT), (date(2026, 4, 1), InvoiceStatus.OVERDUE)],
    ids=["not-due", "past-due"],
)
def test_undo_brings_a_paid_invoice_back_to_sent_or_overdue_by_its_due_date(
    draft, actor, due, back_to
):
    invoice = issue_invoice(draft(due_date=due), actor=actor)
    first = pay(invoice, 21000, actor=actor)
    last = pay(invoice, 100000, day=date(2026, 4, 5), actor=actor)
    assert fresh(invoice).status == InvoiceStatus.PAID
    payments.remove_payment(last, actor=actor, today=date(2026, 4, 10))
    invoice = fresh(invoice)
    assert (invoice.status, invoice.paid_at, invoice.paid_cents) == (back_to, None, 21000)
    assert list(invoice.payments.all()) == [first]
    assert InvoiceEvent.objects.filter(invoice=invoice, action="payment_removed").exists()


def test_undoing_a_payment_another_undo_removed_first_changes_nothing(issued, actor):
    payment = pay(issued, 21000, actor=actor)
    seen_by_the_second = Payment.objects.get(pk=payment.pk)  # loaded before the first undo
    payments.remove_payment(payment, actor=actor)
    with pytest.raises(Payment.DoesNotExist):
        payments.remove_payment(seen_by_the_second, actor=actor)
    removed = InvoiceEvent.objects.filter(invoice=issued, action="payment_removed")
    assert removed.count() == 1


def test_api_undo_of_a_payment_already_removed_is_a_404(api_client, issued, actor):
    payment = pay(issued, 21000, actor=actor)
    url = f"/api/invoices/{issued.pk}/payments/{payment.pk}"
    assert api_client.delete(url).status_code == 200
    assert api_client.delete(url).status_code == 404


def test_overpaying_a_future_date_or_a_date_before_issue_are_field_errors(issued, actor):
    with pytest.raises(ValidationError) as exc:
        pay(issued, TOTAL + 1, actor=actor)
    assert exc.value.message_dict == {"amount": ["Supera lo pendiente de cobro: 1.060,00 €."]}
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as exc:
        pay(issued, 100, day=tomorrow, actor=actor)
    assert exc.value.message_dict == {"date": ["La fecha de cobro no puede ser futura."]}
    with pytest.raises(ValidationError) as exc:
        pay(issued, 0, day=ISSUE - timedelta(days=1), actor=actor, method="cheque")
    assert set(exc.value.message_dict) == {"date", "amount", "method"}
    assert "anterior a la de expedición (13/03/2026)" in exc.value.message_dict["date"][0]
    assert not Payment.objects.exists()


def test_no_payment_on_a_draft_a_cancelled_or_a_paid_invoice(draft, issued, actor):
    with pytest.raises(InvalidTransition, match="borrador"):
        pay(draft(), 100, actor=actor)
    pay(issued, TOTAL, actor=actor)
    with pytest.raises(InvalidTransition, match="ya está cobrada"):
        pay(issued, 100, actor=actor)
    other = issue_invoice(draft(), actor=actor)
    cancel_invoice(other, actor=actor)
    with pytest.raises(InvalidTransition, match="anulada"):
        pay(other, 100, actor=actor)


def test_mark_paid_records_a_payment_of_what_is_outstanding(issued, actor):
    pay(issued, 6000, actor=actor)
    paid_at = timezone.make_aware(timezone.datetime(2026, 5, 4, 12))
    invoice = mark_paid(issued, paid_at=paid_at, actor=actor)
    assert (invoice.status, invoice.paid_at) == (InvoiceStatus.PAID, paid_at)
    assert [p.amount_cents for p in invoice.payments.all()] == [6000, 100000]
    assert fresh(invoice).paid_cents == TOTAL


def test_a_rectificativa_with_a_negative_total_is_settled_by_refunds(issued, actor, rect_series):
    refund = rectify_invoice(
        issued,
        series=rect_series,
        rectification_type="I",
        lines=[DraftLine("Descuento", quantity=-100, unit_price=10000, iva_type="general")],
        issue_date=ISSUE,
        actor=actor,
    )
    refund = issue_invoice(refund, actor=actor)
    assert refund.total_cents == -10600  # -100 € - 21 € IVA + 15 € IRPF
    pay(refund, 5000, actor=actor)
    assert (fresh(refund).paid_cents, fresh(refund).outstanding_cents) == (-5000, -5600)
    with pytest.raises(ValidationError, match="pendiente de devolver: 56,00 €"):
        pay(refund, 5601, actor=actor)
    pay(refund, 5600, actor=actor)
    assert fresh(refund).status == InvoiceStatus.PAID


# -- the account API --------------------------------------------------------------------------


def post(api_client, path, body):
    return api_client.post(path, body, content_type="application/json")


def test_api_lists_adds_and_removes_payments(api_client, issued):
    url = f"/api/invoices/{issued.pk}/payments"
    response = post(api_client, url, {"date": "2026-03-20", "amount": 50000, "method": "card"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["method"], body["date"]) == (50000, "card", "2026-03-20")
    assert body["invoice"] == {
        "id": str(issued.pk),
        "invoiceNumber": issued.number,
        "status": "sent",
        "total": TOTAL,
        "paidAmount": 50000,
        "paidAt": None,
    }
    settle = post(api_client, url, {"date": "2026-03-21", "amount": TOTAL - 50000})
    assert settle.json()["invoice"]["status"] == "paid"
    assert settle.json()["invoice"]["paidAt"].startswith("2026-03-21")
    listed = api_client.get(url).json()
    assert [(p["amount"], p["method"]) for p in listed] == [(50000, "card"), (56000, "transfer")]
    undo = api_client.delete(f"{url}/{settle.json()['id']}")
    assert undo.status_code == 200
    assert (undo.json()["status"], undo.json()["paidAmount"]) == ("sent", 50000)


def test_api_invoices_show_their_paid_amount(api_client, issued, actor):
    pay(issued, 30000, actor=actor)
    item = api_client.get("/api/invoices").json()["items"][0]
    assert (item["status"], item["paidAmount"], item["total"]) == ("sent", 30000, TOTAL)
    header = api_client.get(f"/api/invoices/{issued.pk}").json()["invoice"]
    assert (header["status"], header["paidAmount"]) == ("sent", 30000)


def test_api_patch_paid_records_the_outstanding_balance(api_client, issued, actor):
    pay(issued, 30000, actor=actor)
    response = api_client.patch(
        f"/api/invoices/{issued.pk}/status",
        {"status": "paid", "paidAt": "2026-03-30"},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["paidAt"] == "2026-03-30T00:00:00.000Z"
    amounts = [p["amount"] for p in api_client.get(f"/api/invoices/{issued.pk}/payments").json()]
    assert amounts == [30000, TOTAL - 30000]
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    other = issued.__class__.objects.get(pk=issued.pk)
    payments.remove_payment(other.payments.last(), actor=actor)
    refused = api_client.patch(
        f"/api/invoices/{issued.pk}/status",
        {"status": "paid", "paidAt": future},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {
        "paidAt": ["La fecha de cobro no puede ser futura."]
    }


@pytest.mark.parametrize(
    "body, field",
    [
        ({"date": "2026-03-20", "amount": 10.5}, "amount"),
        ({"date": "2026-03-20", "amount": 0}, "amount"),
        ({"date": "2026-03-20", "amount": TOTAL + 1}, "amount"),
        ({"date": "2099-01-01", "amount": 100}, "date"),
        ({"date": "20/03/2026", "amount": 100}, "date"),
        ({"date": "2026-03-20", "amount": 100, "method": "cheque"}, "method"),
        ({"amount": 100}, "date"),
    ],
)
def test_api_bad_payments_are_field_level_400s(api_client, issued, body, field):
    response = post(api_client, f"/api/invoices/{issued.pk}/payments", body)
    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {field}
    assert not Payment.objects.exists()


def test_api_payment_on_a_draft_is_a_conflict(api_client, draft):
    response = post(
        api_client, f"/api/invoices/{draft().pk}/payments", {"date": "2026-03-20", "amount": 1}
    )
    assert response.status_code == 409
    assert "borrador" in response.json()["error"]["message"]


def test_api_payments_of_another_account_are_404(api_client, issued, actor, other_account):
    payment = pay(issued, 100, actor=actor)
    url = f"/api/invoices/{issued.pk}/payments"
    Invoice.objects.filter(pk=issued.pk).update(account=other_account)
    assert api_client.get(url).status_code == 404
    assert post(api_client, url, {"date": "2026-03-20", "amount": 1}).status_code == 404
    assert api_client.delete(f"{url}/{payment.pk}").status_code == 404
    Invoice.objects.filter(pk=issued.pk).update(account=issued.account)
    elsewhere = f"/api/invoices/{issued.pk}/payments/{issued.pk}"  # not a payment of it
    assert api_client.delete(elsewhere).status_code == 404
    assert Payment.objects.filter(pk=payment.pk).exists()


def test_the_schema_documents_the_payment_endpoints(client):
    schema = client.get("/api/schema", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/invoices/{invoice_id}/payments"])
    assert "delete" in paths["/api/invoices/{invoice_id}/payments/{payment_id}"]
    item = schema["components"]["schemas"]["AccountInvoiceItem"]["properties"]
    assert item["paidAmount"]["type"] == "integer"


# -- the pages --------------------------------------------------------------------------------


def _text(html: bytes) -> str:
    text = re.sub(r"<[^>]+>", " ", html.decode())
    return re.sub(r"\s+", " ", text).replace("\xa0", " ")


def test_the_invoice_page_records_a_payment_and_shows_the_balance(login, owner, account, issued):
    client = login(owner)
    url = reverse("invoice_payment_add", args=[account.slug, issued.pk])
    bad = client.post(url, {"date": "2026-03-20", "amount": "2.000,00", "method": "transfer"})
    assert bad.status_code == 400
    assert "Supera lo pendiente de cobro: 1.060,00 €." in _text(bad.content)
    ok = client.post(url, {"date": "2026-03-20", "amount": "400,50", "method": "cash"})
    assert ok.status_code == 302
    shown = _text(client.get(reverse("invoice_detail", args=[account.slug, issued.pk])).content)
    assert "Cobro parcial" in shown
    assert "Cobrado 400,50 €" in shown and "Pendiente 659,50 €" in shown
    assert "Cobro registrado de 400,50 €" in shown
    listing = _text(client.get(reverse("invoice_list", args=[account.slug])).content)
    assert "Cobro parcial" in listing and "pendiente 659,50 €" in listing


def test_a_viewer_cannot_record_or_undo_a_payment(login, viewer, account, issued, actor):
    payment = pay(issued, 100, actor=actor)
    client = login(viewer)
    add = reverse("invoice_payment_add", args=[account.slug, issued.pk])
    undo = reverse("invoice_payment_remove", args=[account.slug, issued.pk, payment.pk])
    assert (
        client.post(add, {"date": "2026-03-20", "amount": "1", "method": "cash"}).status_code == 403
    )
    assert client.post(undo).status_code == 403
    assert Payment.objects.count() == 1


# -- the IBAN ---------------------------------------------------------------------------------


def _taxpayer_data(taxpayer, **changes):
    data = {
        "nif": taxpayer.nif,
        "name": taxpayer.name,
        "country": "ES",
        "verifactu_mode": taxpayer.verifactu_mode,
        "default_irpf_bp": "0",
    }
    return {**data, **changes}


def test_the_taxpayer_form_stores_the_iban_compact_and_shows_it_grouped(taxpayer):
    form = TaxpayerForm(
        _taxpayer_data(taxpayer, iban="es91 2100-0418 4502 0005 1332"),
        instance=taxpayer,
        account=taxpayer.account,
    )
    assert form.is_valid(), form.errors
    form.save()
    taxpayer.refresh_from_db()
    assert taxpayer.iban == IBAN
    assert taxpayer.iban_display == "ES91 2100 0418 4502 0005 1332"
    shown = TaxpayerForm(instance=taxpayer, account=taxpayer.account)
    assert shown.initial["iban"] == "ES91 2100 0418 4502 0005 1332"


def test_an_accountant_cannot_change_where_clients_pay_nor_the_criterio_de_caja(
    login, accountant, owner, account, taxpayer
):
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.pk])
    data = _taxpayer_data(taxpayer, iban=IBAN, cash_criterion="on", name="Nombre Nuevo SL")
    assert login(accountant).post(url, data).status_code == 302
    taxpayer.refresh_from_db()
    assert (taxpayer.name, taxpayer.iban, taxpayer.cash_criterion) == ("Nombre Nuevo SL", "", False)
    assert login(owner).post(url, data).status_code == 302
    taxpayer.refresh_from_db()
    assert (taxpayer.iban, taxpayer.cash_criterion) == (IBAN, True)


def test_an_accountant_cannot_change_the_reply_to_contact(login, accountant, account, taxpayer):
    from factu.branding import branding_of, save_branding

    save_branding(taxpayer, contact_email="facturas@empresa.es")
    url = reverse("taxpayer_branding", args=[account.slug, taxpayer.pk])
    data = {"contact_email": "desvio@atacante.example", "footer_text": "Pie nuevo"}
    login(accountant).post(url, data)
    branding = branding_of(Taxpayer.objects.get(pk=taxpayer.pk))
    assert (branding.contact_email, branding.footer_text) == ("facturas@empresa.es", "Pie nuevo")


@pytest.mark.parametrize(
    "iban, message",
    [
        ("ES9121000418450200051333", "Los dígitos de control del IBAN no cuadran"),
        ("ES91210004184502000513", "longitud"),
        ("XX9121000418450200051332", "código de un país"),
        ("hola", "No es un IBAN válido"),
    ],
)
def test_the_taxpayer_form_refuses_a_bad_iban_in_spanish(taxpayer, iban, message):
    form = TaxpayerForm(
        _taxpayer_data(taxpayer, iban=iban), instance=taxpayer, account=taxpayer.account
    )
    assert not form.is_valid()
    assert message in form.errors["iban"][0]


def test_the_v1_api_validates_and_normalizes_a_taxpayers_iban(api_client):
    body = {"nif": "12345678Z", "name": "Ana Ruiz", "iban": "ES00 2100"}
    bad = post(api_client, "/api/v1/taxpayers", body)
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"iban"}
    good = post(api_client, "/api/v1/taxpayers", {**body, "iban": "ES91 2100 0418 4502 0005 1332"})
    assert good.status_code == 201, good.content
    assert good.json()["data"]["iban"] == IBAN


def _pdf_text(invoice) -> str:
    _, _, data = render_pdf(invoice)
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(p.extract_text().split()) for p in pages)


def test_the_iban_is_printed_in_the_payment_part_of_the_pdf(issued, taxpayer):
    assert "IBAN" not in _pdf_text(issued)
    taxpayer.iban = IBAN
    taxpayer.save()
    text = _pdf_text(fresh(issued))
    assert "Pago" in text
    assert "IBAN: ES91 2100 0418 4502 0005 1332" in text


# -- chromium ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_a_partial_payment_then_the_rest_settles_the_invoice(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    issued,
):
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, live_server.url)
    detail = f"{live_server.url}{reverse('invoice_detail', args=[account.slug, issued.pk])}"
    page.goto(detail)
    section = page.locator("#cobros")
    assert page.get_by_label("Importe (€)").input_value() == "1.060"
    page.get_by_label("Importe (€)").fill("400,00")
    page.get_by_label("Forma de pago").select_option(label="Efectivo")
    page.get_by_label("Nota").fill("Primer plazo")
    section.get_by_role("button", name="Registrar").click()
    page.get_by_text("Cobro de 400,00 € registrado: quedan 660,00 € pendientes.").wait_for()
    assert page.locator("h1 [data-partly-paid]").inner_text() == "Cobro parcial"
    assert section.locator("[data-outstanding]").inner_text() == "660,00 €"
    screenshot(page, "payments-partial-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "payments-partial-390")

    assert page.get_by_label("Importe (€)").input_value() == "660"
    section.get_by_role("button", name="Registrar").click()
    page.get_by_text("la factura 2026-A-001 está cobrada").wait_for()
    assert page.locator("h1 [data-status]").inner_text() == "Cobrada"
    assert fresh(issued).status == InvoiceStatus.PAID
    assert page.locator("h1 [data-partly-paid]").count() == 0
    screenshot(page, "payments-settled-390")

    today = timezone.localdate().strftime("%d/%m/%Y")
    page.get_by_role("button", name=f"Deshacer el cobro de 660,00 € del {today}").click()
    page.get_by_text("la factura queda emitida").wait_for()
    assert fresh(issued).status == InvoiceStatus.SENT
    page.goto(f"{live_server.url}{reverse('invoice_list', args=[account.slug])}")
    page.get_by_text("pendiente 660,00 €").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "payments-list-390")


def test_an_invoice_issued_in_the_criterio_de_caja_says_so_on_its_pdf(
    issued, draft, taxpayer, actor
):
    assert "criterio de caja" not in _pdf_text(issued)
    taxpayer.cash_criterion = True
    taxpayer.save()
    assert "criterio de caja" not in _pdf_text(fresh(issued))  # issued before opting in
    in_the_regime = issue_invoice(draft(), actor=actor)
    assert "Régimen especial del criterio de caja" in _pdf_text(in_the_regime)


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_taxpayer_page_checks_the_iban_and_shows_it_grouped(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
):
    sign_in(page, live_server.url)
    edit = f"{live_server.url}{reverse('taxpayer_edit', args=[account.slug, taxpayer.pk])}"
    page.goto(edit)
    page.get_by_label("IBAN").fill("ES91 2100 0418 4502 0005 1333")
    page.get_by_role("button", name="Guardar").click()
    page.locator("#id_iban_error").get_by_text(
        "Los dígitos de control del IBAN no cuadran"
    ).wait_for()
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "payments-taxpayer-iban-error-390")
    page.get_by_label("IBAN").fill("es91 2100 0418 4502 0005 1332")
    page.get_by_role("button", name="Guardar").click()
    page.wait_for_url(lambda u: "/contribuyentes/" in u and str(taxpayer.pk) not in u)
    taxpayer.refresh_from_db()
    assert taxpayer.iban == IBAN
    page.goto(edit)
    assert page.get_by_label("IBAN").input_value() == "ES91 2100 0418 4502 0005 1332"
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, "payments-taxpayer-iban-1280")
