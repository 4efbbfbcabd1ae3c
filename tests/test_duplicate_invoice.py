"""Duplicar: a new draft from any invoice, dated today, with its client, lines and terms; from
the service, the invoice page (chromium) and the account API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from invoicing.draft_lines import line_fields
from invoicing.duplicates import duplicate_invoice
from invoicing.models import Invoice, InvoiceLine, InvoiceStatus, Series
from invoicing.services import DraftLine, cancel_invoice, issue_invoice, rectify_invoice
from quotes.models import QuoteLine
from recurring.models import PlanLine
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture

LINES = [
    DraftLine("Diseño de logotipo", 200, 45000, "general", discount_bp=1000),
    DraftLine("Libro impreso", 300, 1500, "superreducido"),
]


def _line_facts(invoice: Invoice) -> list[tuple]:
    return list(
        invoice.lines.values_list(
            "position", "description", "quantity", "unit_price_cents", "discount_bp", "iva_type"
        )
    )


def test_every_stored_line_gives_back_the_draft_line_it_was_stored_from():
    line = DraftLine(
        "Cigarros", 150, 1234, "general", discount_bp=500, cause="E1", tobacco=True, regime="07"
    )
    for model in (InvoiceLine, QuoteLine, PlanLine):
        assert model(**line_fields(line)).as_draft_line() == line, model


@pytest.fixture
def original(draft, actor):
    invoice = draft(
        lines=LINES,
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        irpf_bp=1500,
        description="Identidad corporativa",
        notes="Gracias por su confianza.",
        payment_details="Transferencia a ES91 2100 0418 4502 0005 1332",
    )
    return issue_invoice(invoice, actor=actor)


def test_a_duplicate_is_a_provisional_draft_of_today_with_the_client_lines_and_terms(
    original, actor
):
    today = date(2026, 12, 5)
    copy = duplicate_invoice(original, actor=actor, today=today)
    assert copy.pk != original.pk and copy.is_draft and copy.is_provisional
    assert copy.number.startswith("Borrador ")
    assert (copy.issue_date, copy.due_date) == (today, today + timedelta(days=30))
    assert copy.client_id == original.client_id and copy.series_id == original.series_id
    for field in ("description", "irpf_bp", "notes", "payment_details", "invoice_type"):
        assert getattr(copy, field) == getattr(original, field), field
    assert _line_facts(copy) == _line_facts(original)
    assert copy.total_cents == original.total_cents
    assert copy.issued_at is None and copy.client_name == "" and copy.fiscal_invoice is None
    assert [e.action for e in copy.events.all()] == ["created", "duplicated"]
    assert copy.events.last().detail["source"] == original.number
    original.refresh_from_db()
    assert original.status == InvoiceStatus.SENT and original.number == "2026-A-001"


def test_drafts_and_cancelled_invoices_may_be_duplicated_too(draft, actor):
    dropped = draft()
    cancel_invoice(dropped, actor=actor)
    assert duplicate_invoice(dropped, actor=actor).is_draft
    assert duplicate_invoice(draft(), actor=actor).lines.get().description == "Consultoría"


def test_a_duplicated_rectificativa_rectifies_the_same_invoice(issued, actor, rect_series):
    rect = rectify_invoice(
        issued,
        series=rect_series,
        rectification_type="I",
        lines=[DraftLine("Descuento", 100, -10000)],
        issue_date=timezone.localdate(),
        actor=actor,
    )
    copy = duplicate_invoice(rect, actor=actor)
    assert (copy.series, copy.rectified_invoice, copy.rectification_type) == (
        rect_series,
        issued,
        "I",
    )
    assert copy.invoice_type == "R1" and copy.subtotal_cents == -10000


def test_an_archived_series_gives_way_to_another_of_its_kind_or_a_field_error(
    original, actor, taxpayer
):
    Series.objects.filter(pk=original.series_id).update(archived=True)
    original.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        duplicate_invoice(original, actor=actor)
    assert "archivada" in exc.value.message_dict["series"][0]
    other = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="B")
    assert duplicate_invoice(original, actor=actor).series == other


# -- The account API ------------------------------------------------------------------------


def test_api_duplicate_answers_201_with_the_new_draft(api_client, original):
    response = api_client.post(f"/api/invoices/{original.pk}/duplicate")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["invoiceNumber"].startswith("Borrador ")
    assert body["total"] == original.total_cents
    copy = Invoice.objects.get(pk=body["id"])
    assert copy.issue_date == timezone.localdate() and copy.client_id == original.client_id
    detail = api_client.get(f"/api/invoices/{body['id']}").json()
    assert [line["description"] for line in detail["lines"]] == [
        "Diseño de logotipo",
        "Libro impreso",
    ]


def test_api_duplicate_of_another_accounts_invoice_is_a_404(
    api_client, other_account, original, draft
):
    Invoice.objects.filter(pk=original.pk).update(account=other_account)
    assert api_client.post(f"/api/invoices/{original.pk}/duplicate").status_code == 404
    assert Invoice.objects.filter(account=original.account).count() == 0


def test_a_viewer_cannot_duplicate(login, viewer, account, original):
    response = login(viewer).post(reverse("invoice_duplicate", args=[account.slug, original.pk]))
    assert response.status_code == 403
    assert Invoice.objects.count() == 1


# -- The invoice page in chromium -----------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_duplicar_opens_the_new_draft_and_eliminar_borrador_leaves_no_gap(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    original,
    actor,
    monkeypatch,
):
    monkeypatch.setattr("verifactu.pacing.schedule_flush", lambda chain_id, **kwargs: None)
    page.on("dialog", lambda dialog: dialog.accept())
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}{reverse('invoice_detail', args=[account.slug, original.pk])}")
    page.get_by_role("button", name="Duplicar").click()
    page.wait_for_url(lambda u: "/editar/" in u)
    page.get_by_text("Borrador creado a partir de 2026-A-001").wait_for()
    assert page.locator("#id_lines-0-description").input_value() == "Diseño de logotipo"
    assert page.locator("#id_lines-1-description").input_value() == "Libro impreso"
    assert page.get_by_label("Notas").input_value() == "Gracias por su confianza."
    screenshot(page, "duplicate-draft-form")
    copy = Invoice.objects.exclude(pk=original.pk).get()
    assert copy.issue_date == timezone.localdate()

    page.goto(f"{base}{reverse('invoice_detail', args=[account.slug, copy.pk])}")
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text().startswith("Borrador de factura")
    assert "2026-A-002" not in page.content()
    page.get_by_text("Se asigna al emitirla").wait_for()
    screenshot(page, "duplicate-draft-detail")
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "duplicate-draft-detail-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.get_by_role("link", name="Eliminar borrador").click()
    page.get_by_role("button", name="Eliminar el borrador").click()
    page.wait_for_url(lambda u: u.rstrip("/").endswith("/facturas"))
    page.get_by_text("Borrador eliminado").first.wait_for()
    assert copy.number not in page.content()
    copy.refresh_from_db()
    assert copy.is_discarded_draft

    again = duplicate_invoice(original, actor=actor)
    assert issue_invoice(again, actor=actor).number == "2026-A-002"


def test_an_archived_client_is_a_field_error(original, actor, acme):
    acme.archived_at = timezone.now()
    acme.save(update_fields=["archived_at"])
    original.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        duplicate_invoice(original, actor=actor)
    assert "archivado" in exc.value.message_dict["client"][0]
