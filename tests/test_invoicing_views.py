"""The invoice pages: list, draft form with live totals, detail and its actions, PDF/XML,
the AEAT status fragment, series; tenancy (404) and read-only roles (403)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clients.services import create_client
from invoicing.forms import parse_decimal
from invoicing.models import Invoice, InvoiceStatus, Series
from invoicing.services import (
    cancel_invoice,
    issue_invoice,
)
from invoicing.taxes import format_euros
from tests.browser import choose_client, page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.invoices import ISSUE
from verifactu.models import BillingRecord, RecordStatus
from verifactu.records import RecordRefused
from verifactu.rules import Problem


@pytest.fixture
def munoz(taxpayer):
    return create_client(
        taxpayer, {"name": "Construcciones Muñoz Álvarez SL", "nif": "B12345674", "country": "ES"}
    )


def url(account, name, *args):
    return reverse(name, args=[account.slug, *args])


def form_data(lines, **header):
    data = {
        "client": "",
        "issue_date": ISSUE.isoformat(),
        "due_date": "",
        "description": "",
        "irpf_rate": "0",
        "notes": "",
        "payment_details": "",
        "lines-TOTAL_FORMS": str(len(lines) + 1),  # and the blank extra row, untouched
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    data.update(header)
    blank = {
        "description": "",
        "quantity": "1",
        "unit_price": "",
        "discount": "",
        "iva_type": "general",
        "cause": "",
    }
    for i, line in enumerate([*lines, {}]):
        for key, value in {**blank, **line}.items():
            data[f"lines-{i}-{key}"] = value
    return data


# ---------------------------------------------------------------------------------------
# Parsing what people type
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("1234.56", 123456),
        ("1.234,56", 123456),
        ("1234,56", 123456),
        ("1,234.56", 123456),
        ("1.234", 123400),
        ("12.345.678,9", 1234567890),
        ("1,5", 150),
        ("2", 200),
        ("0,05", 5),
        ("-3,50", -350),
        (" 1.000,00 € ", 100000),
    ],
)
def test_parse_decimal_accepts_spanish_and_plain_formats(text, cents):
    assert parse_decimal(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "1,234", "1.2345", "1,2,3", "12.34.5", "1e3", "--1"])
def test_parse_decimal_refuses_the_ambiguous_and_the_malformed(text):
    with pytest.raises(ValidationError):
        parse_decimal(text)


# ---------------------------------------------------------------------------------------
# List
# ---------------------------------------------------------------------------------------


def test_list_filters_by_status_dates_and_accent_insensitive_text(
    login, owner, account, draft, munoz, actor
):
    april = draft(issue_date=date(2026, 4, 20), client=munoz, description="Reforma cocina")
    march = issue_invoice(draft(), actor=actor)
    client = login(owner)
    base = url(account, "invoice_list")

    html = client.get(base).content.decode()
    assert march.number in html and april.number in html

    html = client.get(base, {"estado": "sent"}).content.decode()
    assert march.number in html and april.number not in html

    html = client.get(base, {"desde": "2026-04-01"}).content.decode()
    assert april.number in html and march.number not in html
    html = client.get(base, {"hasta": "2026-03-31"}).content.decode()
    assert march.number in html and april.number not in html

    for q in ("munoz alvarez", "MUÑOZ", "cocína"):
        html = client.get(base, {"q": q}).content.decode()
        assert april.number in html and march.number not in html, q

    html = client.get(base, {"q": "nadie"}).content.decode()
    assert "Ninguna factura coincide" in html


def test_list_rows_show_status_aeat_badge_and_spanish_amounts(
    login, owner, account, issued, draft, actor
):
    cancelled = issue_invoice(draft(), actor=actor)
    cancel_invoice(cancelled, actor=actor)
    html = login(owner).get(url(account, "invoice_list")).content.decode()
    assert "1.060,00 €" in html
    assert "En cola" in html  # the issued invoice's queued record
    assert "Anulada" in html
    BillingRecord.objects.filter(fiscal_invoice=issued.fiscal_invoice).update(
        status=RecordStatus.ACCEPTED_WITH_ERRORS
    )
    html = login(owner).get(url(account, "invoice_list")).content.decode()
    assert "Aceptada con errores" in html


def test_list_pages_by_50_in_stable_order_with_totals_of_the_filtered_set(
    login, owner, account, draft, actor
):
    invoices = [draft(issue_date=ISSUE + timedelta(days=i % 5)) for i in range(51)]
    issued = [issue_invoice(i, actor=actor) for i in invoices[:5]]  # dates in number order
    cancel_invoice(issued[0], actor=actor)
    client = login(owner)
    first = client.get(url(account, "invoice_list"))
    second = client.get(url(account, "invoice_list"), {"page": 2})
    rows = first.context["rows"] + second.context["rows"]
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 1
    keys = [(r["invoice"].issue_date, r["invoice"].id) for r in rows]
    assert keys == sorted(keys, reverse=True)
    # 4 issued invoices of 1,000.00 + 21 % IVA; the cancelled one and the drafts do not count.
    assert first.context["sums"] == {
        "base": "4.000,00 €",
        "iva": "840,00 €",
        "total": "4.840,00 €",
    }
    assert first.context["sums_count"] == 4
    assert "Página 1 de 2" in first.content.decode()
    filtered = client.get(url(account, "invoice_list"), {"desde": (ISSUE + timedelta(4))})
    count = sum(1 for i in issued[1:] if i.issue_date == ISSUE + timedelta(4))
    assert filtered.context["sums"]["total"] == format_euros(count * 121000)
    assert filtered.context["sums_count"] == count == 1
    assert 'class="sums"' in filtered.content.decode()
    drafts = client.get(url(account, "invoice_list"), {"estado": "draft"})
    assert drafts.context["sums_count"] == 0 and len(drafts.context["rows"]) == 46
    assert 'class="sums"' not in drafts.content.decode()  # nothing listed counts: no footer


def test_empty_list_offers_a_new_invoice(login, owner, viewer, account, taxpayer):
    html = login(owner).get(url(account, "invoice_list")).content.decode()
    assert "aún no tiene facturas" in html
    assert url(account, "invoice_create") in html
    html = login(viewer).get(url(account, "invoice_list")).content.decode()
    assert url(account, "invoice_create") not in html


# ---------------------------------------------------------------------------------------
# Draft form and live totals
# ---------------------------------------------------------------------------------------


def test_new_invoice_without_series_offers_to_create_one(login, owner, account, taxpayer):
    client = login(owner)
    html = client.get(url(account, "invoice_create")).content.decode()
    assert url(account, "series_create") in html
    response = client.post(
        url(account, "series_create"),
        {
            "code": "b",
            "kind": "F1",
            "number_format": "{year}-{code}-{number}",
            "padding": "4",
            "next": url(account, "invoice_create"),
        },
    )
    assert response.status_code == 302 and response["Location"] == url(account, "invoice_create")
    series = taxpayer.series.get()
    assert (series.code, series.padding) == ("B", 4)
    assert "B (Ordinaria (F1))" in client.get(url(account, "invoice_create")).content.decode()
    assert (
        f"{timezone.localdate().year}-B-0001"
        in client.get(url(account, "series_list")).content.decode()
    )
    again = client.post(
        url(account, "series_create"),
        {"code": "B", "kind": "F1", "number_format": "{number}{oops}", "padding": "3"},
    )
    assert again.status_code == 400 and Series.objects.count() == 1


def test_create_a_draft_with_three_lines_through_the_form(
    login, owner, account, taxpayer, series, acme
):
    client = login(owner)
    html = client.get(url(account, "invoice_create")).content.decode()
    assert "htmx.min.js" in html and "Añadir línea" in html
    data = form_data(
        [
            {"description": "Diseño", "quantity": "1,5", "unit_price": "1.234,56"},
            {"description": "Desarrollo", "quantity": "2", "unit_price": "1234.56"},
            {
                "description": "Formación",
                "quantity": "3",
                "unit_price": "1234,56",
                "discount": "10",
                "iva_type": "exento",
                "cause": "E1",
            },
        ],
        series=str(series.pk),
        client=str(acme.pk),
        irpf_rate="15",
        due_date="2026-04-12",
        payment_details="Transferencia",
    )
    response = client.post(url(account, "invoice_create"), data)
    invoice = Invoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url(account, "invoice_detail", invoice.pk)
    lines = list(invoice.lines.values_list("quantity", "unit_price_cents", "discount_bp", "cause"))
    assert lines == [(150, 123456, 0, ""), (200, 123456, 0, ""), (300, 123456, 1000, "E1")]
    assert (invoice.client, invoice.irpf_bp, invoice.status) == (acme, 1500, "draft")
    assert invoice.due_date == date(2026, 4, 12) and invoice.payment_details == "Transferencia"
    detail = client.get(response["Location"]).content.decode()
    assert "Exento (E1)" in detail and "1.234,56 €" in detail and "1,5" in detail


def test_validation_errors_are_shown_next_to_fields_and_nothing_is_saved(
    login, owner, account, series, acme
):
    client = login(owner)
    data = form_data(
        [
            {"description": "", "quantity": "1", "unit_price": "10"},
            {"description": "Caro", "quantity": "1", "unit_price": "12,345"},
            {"description": "Exento", "quantity": "1", "unit_price": "5", "iva_type": "exento"},
        ],
        series=str(series.pk),
        client=str(acme.pk),
        issue_date="",
    )
    response = client.post(url(account, "invoice_create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_issue_date_error"' in html
    assert 'id="id_lines-0-description_error"' in html
    assert 'id="id_lines-1-unit_price_error"' in html and "Como mucho 2 decimales" in html
    assert 'id="id_lines-2-cause_error"' in html
    assert Invoice.objects.count() == 0


def test_service_errors_land_next_to_their_fields(login, owner, account, series, acme):
    client = login(owner)
    data = form_data(
        [{"description": "Algo", "quantity": "-1", "unit_price": "10"}],
        series=str(series.pk),
        client=str(acme.pk),
        due_date="2026-03-01",  # before the issue date: the service refuses it
    )
    html = client.post(url(account, "invoice_create"), data).content.decode()
    assert 'id="id_due_date_error"' in html and "vencimiento no puede ser anterior" in html
    assert Invoice.objects.count() == 0
    data["due_date"] = ""
    html = client.post(url(account, "invoice_create"), data).content.decode()
    assert 'id="id_lines-0-quantity_error"' in html and "rectificativa" in html
    data = form_data([], series=str(series.pk), client=str(acme.pk))
    html = client.post(url(account, "invoice_create"), data).content.decode()
    assert "Añada al menos una línea" in html
    assert Invoice.objects.count() == 0


def test_the_totals_endpoint_returns_the_servers_figures(login, owner, account, series, acme):
    data = form_data(
        [{"description": "Consultoría", "quantity": "1", "unit_price": "1000,00"}],
        series=str(series.pk),
        client=str(acme.pk),
        irpf_rate="15",
    )
    response = login(owner).post(url(account, "invoice_totals"), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<td class="num" data-total="subtotal">1.000,00 €</td>' in html
    assert '<td class="num" data-total="iva">210,00 €</td>' in html
    assert '<td class="num" data-total="irpf">-150,00 €</td>' in html
    assert '<td class="num" data-total="total">1.060,00 €</td>' in html
    assert 'id="lines-0-amount" hx-swap-oob="true">1.000,00 €' in html
    assert Invoice.objects.count() == 0


def test_totals_skip_removed_and_unreadable_lines_and_per_rate_groups(
    login, owner, account, series
):
    data = form_data(
        [
            {"description": "A", "quantity": "2", "unit_price": "100"},
            {"description": "B", "quantity": "1", "unit_price": "50", "iva_type": "reducido"},
            {"description": "C", "quantity": "1", "unit_price": "999", "DELETE": "on"},
            {"description": "D", "quantity": "1", "unit_price": "1,234"},
        ],
        series=str(series.pk),
    )
    html = login(owner).post(url(account, "invoice_totals"), data).content.decode()
    assert "IVA 21 %" in html and "IVA 10 %" in html
    assert 'data-total="subtotal">250,00 €' in html
    assert 'data-total="total">297,00 €' in html  # 200 + 42 + 50 + 5
    assert "1 línea sin cantidad o precio válido" in html


def test_edit_a_draft(login, owner, account, draft):
    invoice = draft()
    client = login(owner)
    html = client.get(url(account, "invoice_edit", invoice.pk)).content.decode()
    assert "Consultoría" in html and "1.000" in html
    data = form_data(
        [
            {"description": "Consultoría", "quantity": "1", "unit_price": "1.000"},
            {"description": "Extra", "quantity": "1", "unit_price": "100"},
        ],
        client=str(invoice.client_id),
        irpf_rate="0",
    )
    data["lines-INITIAL_FORMS"] = "1"
    response = client.post(url(account, "invoice_edit", invoice.pk), data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.subtotal_cents == 110000 and invoice.lines.count() == 2


# ---------------------------------------------------------------------------------------
# Detail and actions
# ---------------------------------------------------------------------------------------


def test_issue_from_the_detail_page(login, owner, account, draft):
    invoice = draft(irpf_bp=1500)
    client = login(owner)
    html = client.get(url(account, "invoice_detail", invoice.pk)).content.decode()
    assert "Emitir" in html and "Borrador" in html
    response = client.post(url(account, "invoice_issue", invoice.pk))
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.SENT
    record = invoice.fiscal_invoice.records.get()
    assert record.status == RecordStatus.QUEUED
    html = client.get(url(account, "invoice_detail", invoice.pk)).content.decode()
    assert "Emitida" in html and "QR tributario" in html and "<svg" in html
    assert "VERI*FACTU" in html and "En cola" in html
    assert record.huella[:8] in html and "1.060,00 €" in html
    assert "Historial" in html and "owner@example.com" in html
    assert 'hx-trigger="every 3s"' in html  # the AEAT fragment polls while queued


def test_issue_refusals_are_listed_and_nothing_changes(login, owner, account, draft, monkeypatch):
    future = draft(issue_date=timezone.localdate() + timedelta(days=2))
    client = login(owner)
    response = client.post(url(account, "invoice_issue", future.pk))
    html = response.content.decode()
    assert response.status_code == 400
    assert "No se ha emitido la factura" in html and "no puede ser futura" in html
    future.refresh_from_db()
    assert future.status == InvoiceStatus.DRAFT and future.fiscal_invoice is None

    def refuse(**kwargs):
        raise RecordRefused([Problem("DescripcionOperacion", "Falta la descripción.", "1100")])

    monkeypatch.setattr("invoicing.services.register_invoice", refuse)
    other = draft()
    html = client.post(url(account, "invoice_issue", other.pk)).content.decode()
    assert "Falta la descripción. (AEAT 1100)" in html
    other.refresh_from_db()
    assert other.status == InvoiceStatus.DRAFT and BillingRecord.objects.count() == 0


def test_the_aeat_status_fragment_polls_until_settled(login, owner, account, issued):
    client = login(owner)
    fragment = client.get(url(account, "invoice_status", issued.pk)).content.decode()
    assert 'hx-trigger="every 3s"' in fragment and "En cola" in fragment
    assert "<html" not in fragment
    BillingRecord.objects.filter(fiscal_invoice=issued.fiscal_invoice).update(
        status=RecordStatus.SENDING
    )
    assert "Enviando" in client.get(url(account, "invoice_status", issued.pk)).content.decode()
    BillingRecord.objects.filter(fiscal_invoice=issued.fiscal_invoice).update(
        status=RecordStatus.ACCEPTED, csv="A-CSV-123"
    )
    fragment = client.get(url(account, "invoice_status", issued.pk)).content.decode()
    assert "Aceptada" in fragment and "A-CSV-123" in fragment
    assert "hx-trigger" not in fragment and "hx-get" not in fragment
    BillingRecord.objects.filter(fiscal_invoice=issued.fiscal_invoice).update(
        status=RecordStatus.REJECTED,
        aeat_error_code="1100",
        aeat_error_description="Valor no válido",
    )
    fragment = client.get(url(account, "invoice_status", issued.pk)).content.decode()
    assert "Rechazada" in fragment and "1100" in fragment and "Valor no válido" in fragment


def test_mark_paid(login, owner, account, issued):
    client = login(owner)
    assert (
        "Marcar como cobrada"
        in client.get(url(account, "invoice_detail", issued.pk)).content.decode()
    )
    response = client.post(url(account, "invoice_pay", issued.pk), {"paid_on": "2026-04-02"})
    assert response.status_code == 302
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.PAID
    assert timezone.localtime(issued.paid_at).date() == date(2026, 4, 2)
    future = (timezone.localdate() + timedelta(days=3)).isoformat()
    response = client.post(url(account, "invoice_pay", issued.pk), {"paid_on": future})
    assert response.status_code == 400


def test_cancel_an_issued_invoice_with_confirmation(login, owner, account, issued):
    client = login(owner)
    html = client.get(url(account, "invoice_cancel", issued.pk)).content.decode()
    assert "registro de anulación" in html
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.SENT  # GET only asks
    response = client.post(url(account, "invoice_cancel", issued.pk), {"reason": "Duplicada"})
    assert response.status_code == 302
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.CANCELLED
    kinds = list(issued.fiscal_invoice.records.order_by("position").values_list("kind", flat=True))
    assert kinds == [BillingRecord.Kind.ALTA, BillingRecord.Kind.ANULACION]
    html = client.get(url(account, "invoice_detail", issued.pk)).content.decode()
    assert "Anulada" in html and "Duplicada" in html and "Anulación" in html


def test_deleting_a_draft_hides_it_from_the_list_and_leaves_no_gap(
    login, owner, account, draft, actor
):
    invoice = draft(description="Borrador que sobra")
    client = login(owner)
    html = client.get(url(account, "invoice_cancel", invoice.pk)).content.decode()
    assert "¿Eliminar el borrador?" in html and "no deja ningún hueco" in html
    response = client.post(url(account, "invoice_cancel", invoice.pk))
    assert response.status_code == 302 and response.url == url(account, "invoice_list")
    html = client.get(url(account, "invoice_detail", invoice.pk)).content.decode()
    assert "Borrador eliminado" in html and "Anulada antes de emitir" not in html
    assert invoice.number not in client.get(url(account, "invoice_list")).content.decode()
    listed = client.get(url(account, "invoice_list"), {"estado": "cancelled"}).content.decode()
    assert invoice.number in listed and "Borrador eliminado" in listed
    assert issue_invoice(draft(), actor=actor).number == "2026-A-001"


def test_rectify_by_substitution_and_by_differences(login, owner, account, issued, rect_series):
    client = login(owner)
    html = client.get(url(account, "invoice_rectify", issued.pk)).content.decode()
    assert 'value="Consultoría"' in html  # S: the original's lines, to correct
    html = client.get(url(account, "invoice_rectify", issued.pk), {"tipo": "I"}).content.decode()
    assert 'value="Consultoría"' not in html
    data = form_data(
        [{"description": "Descuento pactado", "quantity": "1", "unit_price": "-100"}],
        series=str(rect_series.pk),
        invoice_type="R1",
        rectification_type="I",
        issue_date=timezone.localdate().isoformat(),
        description="Descuento",
    )
    response = client.post(url(account, "invoice_rectify", issued.pk), data)
    assert response.status_code == 302
    rect = Invoice.objects.get(rectified_invoice=issued)
    assert (rect.rectification_type, rect.invoice_type, rect.status) == ("I", "R1", "draft")
    assert rect.subtotal_cents == -10000
    assert response["Location"] == url(account, "invoice_detail", rect.pk)
    html = client.get(response["Location"]).content.decode()
    assert "Borrador de factura rectificativa" in html and issued.number in html

    data = form_data(
        [{"description": "Consultoría corregida", "quantity": "1", "unit_price": "900"}],
        series=str(rect_series.pk),
        invoice_type="R1",
        rectification_type="S",
        issue_date=timezone.localdate().isoformat(),
    )
    assert client.post(url(account, "invoice_rectify", issued.pk), data).status_code == 302
    assert Invoice.objects.filter(rectified_invoice=issued, rectification_type="S").exists()


def test_rectify_needs_a_rectifying_series(login, owner, account, issued):
    html = login(owner).get(url(account, "invoice_rectify", issued.pk)).content.decode()
    assert "no tiene ninguna serie rectificativa" in html
    assert url(account, "series_create") + "?tipo=R" in html


def test_pdf_download(login, owner, account, issued, draft):
    client = login(owner)
    response = client.get(url(account, "invoice_pdf", issued.pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment;")
    assert issued.number in response["Content-Disposition"]
    drafted = client.get(url(account, "invoice_pdf", draft().pk))
    assert drafted.content.startswith(b"%PDF")


def test_document_for_maps_the_frozen_invoice(issued):
    from invoicing.documents import document_for

    doc = document_for(issued)
    assert doc.number == issued.number and doc.total_cents == 106000
    assert doc.client.name == "Acme SL" and doc.issuer.tax_id == "B87654323"
    assert doc.qr_url == issued.fiscal_invoice.qr_url and doc.verifactu
    assert doc.irpf_rate_bp == 1500 and doc.irpf_cents == 15000
    assert [(g.label, g.base_cents, g.cuota_cents) for g in doc.tax_groups] == [
        ("IVA 21 %", 100000, 21000)
    ]


def test_xml_download(login, owner, account, issued, draft):
    client = login(owner)
    response = client.get(url(account, "invoice_xml", issued.pk))
    record = issued.fiscal_invoice.records.get()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response.content.decode() == record.xml
    assert client.get(url(account, "invoice_xml", draft().pk)).status_code == 404


# ---------------------------------------------------------------------------------------
# Roles and tenancy
# ---------------------------------------------------------------------------------------


def _post_urls(account, invoice):
    return [
        url(account, "invoice_create"),
        url(account, "invoice_totals"),
        url(account, "series_create"),
        url(account, "invoice_edit", invoice.pk),
        url(account, "invoice_totals_for", invoice.pk),
        url(account, "invoice_issue", invoice.pk),
        url(account, "invoice_pay", invoice.pk),
        url(account, "invoice_cancel", invoice.pk),
        url(account, "invoice_rectify", invoice.pk),
    ]


def _invoice_urls(account, invoice):
    names = [
        "invoice_detail",
        "invoice_edit",
        "invoice_status",
        "invoice_cancel",
        "invoice_rectify",
        "invoice_pdf",
        "invoice_xml",
    ]
    return [url(account, name, invoice.pk) for name in names]


def test_viewers_see_no_actions_and_every_post_is_403(login, viewer, account, issued, draft):
    client = login(viewer)
    for invoice in (issued, draft()):
        html = client.get(url(account, "invoice_detail", invoice.pk)).content.decode()
        for action in ("Emitir", "Marcar como cobrada", "Anular", "Rectificar", "Editar"):
            assert action not in html, action
        assert "Descargar PDF" in html
        for target in _post_urls(account, invoice):
            assert client.post(target, {}).status_code == 403, target
    issued.refresh_from_db()
    assert issued.status == InvoiceStatus.SENT
    assert client.get(url(account, "invoice_list")).status_code == 200


def test_other_accounts_invoices_are_404(
    login, outsider, accountant_elsewhere, other_account, account, issued
):
    for user, slug_account in ((outsider, account), (accountant_elsewhere, account)):
        client = login(user)
        for target in _invoice_urls(slug_account, issued):
            assert client.get(target).status_code == 404, target
        assert client.get(url(slug_account, "invoice_list")).status_code == 404
    client = login(accountant_elsewhere)
    for target in _invoice_urls(other_account, issued):
        assert client.get(target).status_code == 404, target
    for target in _post_urls(other_account, issued)[3:]:
        assert client.post(target, {}).status_code == 404, target


# ---------------------------------------------------------------------------------------
# In a real browser: htmx live totals, "Añadir línea"/"Quitar", AEAT status polling
# ---------------------------------------------------------------------------------------


def new_invoice_of_consultancy(page, live_server, account, client) -> None:  # noqa: F811
    """Sign in and fill the new-invoice form: ``client``, one line of Consultoría at 1.000 €."""
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{url(account, 'invoice_create')}")
    choose_client(page, client.name)
    page.locator("#id_lines-0-description").fill("Consultoría")
    page.locator("#id_lines-0-unit_price").fill("1000,00")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_live_totals_and_status_polling(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    series,
    acme,
    monkeypatch,
):
    monkeypatch.setattr("verifactu.pacing.schedule_flush", lambda chain_id, **kwargs: None)
    page.on("dialog", lambda dialog: dialog.accept())
    new_invoice_of_consultancy(page, live_server, account, acme)
    page.get_by_label("Retención IRPF (%)").fill("15")
    total = page.locator('#totals [data-total="total"]')
    total.filter(has_text="1.060,00 €").wait_for()

    page.get_by_role("button", name="Añadir línea").click()
    page.locator("#id_lines-1-description").fill("Extra")
    page.locator("#id_lines-1-unit_price").fill("100")
    total.filter(has_text="1.166,00 €").wait_for()
    page.locator("#lines-1-amount").filter(has_text="100,00 €").wait_for()
    page.locator("#id_lines-1-DELETE").check()
    total.filter(has_text="1.060,00 €").wait_for()
    screenshot(page, "invoice-form-live-totals")

    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_selector("text=guardado")
    invoice = Invoice.objects.get()
    assert invoice.lines.count() == 1 and invoice.total_cents == 106000

    page.get_by_role("button", name="Emitir").click()
    page.wait_for_selector("#aeat-status[data-polling]")
    page.locator("#aeat-status").get_by_text("En cola").first.wait_for()
    invoice.refresh_from_db()
    BillingRecord.objects.filter(fiscal_invoice=invoice.fiscal_invoice).update(
        status=RecordStatus.ACCEPTED, csv="CSV-XYZ"
    )
    page.locator("#aeat-status").get_by_text("CSV-XYZ").wait_for(timeout=10000)
    assert page.locator("#aeat-status[data-polling]").count() == 0
    screenshot(page, "invoice-detail-accepted")


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_rectify_forms_live_total_counts_irpf_as_the_saved_draft_does(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    issued,
    rect_series,
):
    assert issued.irpf_bp == 1500
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{url(account, 'invoice_rectify', issued.pk)}")
    total = page.locator('#totals [data-total="total"]')
    # By substitution the original's lines come copied: 1.000 € + 21 % IVA - 15 % IRPF.
    total.filter(has_text="1.060,00 €").wait_for()
    page.locator("#id_lines-0-unit_price").fill("900,00")
    total.filter(has_text="954,00 €").wait_for()
    assert page.locator('#totals [data-total="irpf"]').inner_text() == "-135,00 €"
    shown = total.inner_text()
    page.get_by_role("button", name="Crear borrador de rectificativa").click()
    page.wait_for_url(lambda u: "/rectificar/" not in u)
    draft = Invoice.objects.get(rectified_invoice=issued)
    assert (draft.irpf_bp, draft.irpf_cents) == (1500, 13500)
    assert format_euros(draft.total_cents) == shown
    page.locator("text=" + shown).first.wait_for()


def test_service_error_keys_map_onto_form_fields_and_lines(taxpayer, series):
    from invoicing.forms import InvoiceForm, LineFormSet
    from invoicing.views import apply_service_errors

    data = form_data(
        [
            {"description": "Uno", "quantity": "1", "unit_price": "10"},
            {"description": "Quitada", "quantity": "1", "unit_price": "10", "DELETE": "on"},
            {"description": "Dos", "quantity": "1", "unit_price": "10"},
        ],
        series=str(series.pk),
    )
    form = InvoiceForm(data, taxpayer=taxpayer)
    formset = LineFormSet(data, prefix="lines")
    assert form.is_valid() and formset.is_valid()
    apply_service_errors(
        ValidationError(
            {
                "lines.1.description": ["Indique el concepto."],  # the 2nd line *saved*
                "issueDate": ["Fecha imposible."],
                "clientId": ["Una factura completa necesita un cliente."],
                "lines": ["Añada al menos una línea."],
            }
        ),
        form,
        formset,
    )
    assert formset.forms[2].errors["description"] == ["Indique el concepto."]
    assert not formset.forms[1].errors
    assert form.errors["issue_date"] == ["Fecha imposible."]
    assert form.errors["client"] == ["Una factura completa necesita un cliente."]
    assert list(formset.non_form_errors()) == ["Añada al menos una línea."]


def test_csv_export_follows_the_filters_and_opens_in_spanish_excel(login, owner, account, draft):
    from invoicing.models import InvoiceStatus

    draft()
    other = draft()
    other.status = InvoiceStatus.CANCELLED
    other.save()
    response = login(owner).get(url(account, "invoice_export"), {"estado": "draft"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeffNúmero;Fecha;")
    lines = text.strip().splitlines()
    assert len(lines) == 2
    assert ";Borrador;1000,00;210,00;" in lines[1] and lines[1].endswith(";1210,00")
