"""The everyday journey of issue 19 in chromium: a quote emailed and converted into an
invoice, the invoice issued and emailed, a payment reminder, a partial payment, then paid.

Mail crosses a real SMTP conversation on loopback (tests/smtp.py), its task run by Celery
in-process as the mailing tests run it; the reminder is the beat's function with an injected
day. Each step leaves a screenshot under test-output/.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from celery import current_app
from django.urls import reverse
from django.utils import timezone

from invoicing.models import Invoice, InvoiceStatus
from invoicing.reminders import send_reminders
from mailing.models import EmailDelivery, MailSettings
from quotes.models import Quote, QuoteStatus
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.mailing_helpers import pdf_attachment
from tests.smtp import body

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def queued_not_run():
    """Issuing registers the invoice with the AEAT: that task is queued, not run here."""
    current_app.conf.task_always_eager = False
    try:
        yield
    finally:
        current_app.conf.task_always_eager = True


def test_journey_quote_invoice_send_reminder_partial_payment_paid(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    series,
    make_quote,
    smtp_outbox,
    eager_celery,
):
    base = live_server.url
    today = timezone.localdate()
    due = today + timedelta(days=30)
    quote = make_quote(issue_date=today, irpf_bp=0)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, base)

    # The quote, emailed to the client with its PDF.
    page.goto(f"{base}{reverse('quote_detail', args=[account.slug, quote.pk])}")
    page.get_by_role("link", name="Enviar por correo").click()
    assert page.get_by_label("Para").input_value() == "billing@acme.es"
    screenshot(page, "everyday-1-quote-send-form")
    page.get_by_role("button", name="Enviar", exact=True).click()
    page.get_by_text("se está enviando a billing@acme.es").wait_for()
    [quote_mail] = smtp_outbox.wait_for("billing@acme.es", timeout=15)
    assert quote_mail["Subject"] == f"Presupuesto {quote.number} de Estudio Sol SL"
    assert pdf_attachment(quote_mail)[0] == f"presupuesto-{quote.number}.pdf"
    page.reload()
    page.locator('h1 [data-status="sent"]').wait_for()
    page.locator('[data-delivery="sent"]').wait_for()
    screenshot(page, "everyday-2-quote-sent")

    # Converted into an invoice draft, given a due date, issued.
    page.get_by_role("button", name="Convertir en factura").click()
    page.get_by_text("convertido en el borrador de factura").wait_for()
    invoice = Invoice.objects.get()
    page.get_by_role("link", name="Editar", exact=True).click()
    page.get_by_label("Vencimiento").fill(due.isoformat())
    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_url(lambda u: u.rstrip("/").endswith(str(invoice.pk)))
    with queued_not_run():
        page.get_by_role("button", name="Emitir", exact=True).click()
        page.locator('h1 [data-status="sent"]').wait_for()
    invoice.refresh_from_db()
    assert invoice.is_issued and invoice.due_date == due
    assert invoice.total_cents == quote.total_cents
    screenshot(page, "everyday-3-invoice-issued")

    # The invoice, emailed.
    page.get_by_role("link", name="Enviar por correo").click()
    page.get_by_role("button", name="Enviar", exact=True).click()
    page.get_by_text(f"La factura {invoice.number} se está enviando").wait_for()
    invoice_mail = smtp_outbox.wait_for("billing@acme.es", count=2, timeout=15)[1]
    assert invoice_mail["Subject"] == f"Factura {invoice.number} de Estudio Sol SL"
    assert invoice.number in pdf_attachment(invoice_mail)[0]
    page.reload()
    page.locator('[data-delivery="sent"]').wait_for()
    screenshot(page, "everyday-4-invoice-sent")

    # A day past its due date, the reminder.
    MailSettings.objects.create(account=account, reminder_days_after=[1])
    assert send_reminders(due + timedelta(days=1)) == 1
    reminder = smtp_outbox.wait_for("billing@acme.es", count=3, timeout=15)[2]
    assert reminder["Subject"] == f"Factura {invoice.number} pendiente de pago"
    total = page.locator('[data-total="total"]').first.inner_text()
    assert total in body(reminder)
    page.reload()
    page.get_by_text("Recordatorio").first.wait_for()
    assert page.locator('[data-delivery="sent"]').count() == 2
    screenshot(page, "everyday-5-reminded")

    # Paid in two parts.
    section = page.locator("#cobros")
    page.get_by_label("Importe (€)").fill("500,00")
    section.get_by_role("button", name="Registrar").click()
    page.get_by_text("Cobro de 500,00 € registrado").wait_for()
    assert page.locator("h1 [data-partly-paid]").inner_text() == "Cobro parcial"
    screenshot(page, "everyday-6-partly-paid")
    section.get_by_role("button", name="Registrar").click()
    page.get_by_text(f"la factura {invoice.number} está cobrada").wait_for()
    assert page.locator("h1 [data-status]").inner_text() == "Cobrada"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.outstanding_cents == 0
    screenshot(page, "everyday-7-paid")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "everyday-7-paid-390")

    assert Quote.objects.get().status == QuoteStatus.ACCEPTED
    assert EmailDelivery.objects.filter(status="sent").count() == 3
