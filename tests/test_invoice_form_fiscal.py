"""What the draft form can say that the v1 API can: any IRPF rate, the tobacco recargo, the
operation date, issuance by a third party or the recipient, regime keys, IGIC and IPSI lines,
and an F3 replacing simplified invoices. Each reaches the billing record and is refused, with
a Spanish message next to its field, when AEAT would refuse it."""

from __future__ import annotations

from datetime import date

import pytest

from clients.services import create_client
from expenses.summaries import irpf_130, vat_303
from invoicing.documents import document_for
from invoicing.models import Invoice, Series
from invoicing.services import Actor, DraftLine, cancel_invoice, create_draft, issue_invoice
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.test_invoicing_views import form_data, new_invoice_of_consultancy, url

ISSUE = date(2026, 3, 13)


@pytest.fixture
def acme(taxpayer):
    return create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})


@pytest.fixture
def create(login, owner, account, series, acme):
    """Post the new-draft form as the owner (for Acme unless ``client`` says otherwise): the
    response and the latest draft (the new one, or None if refused)."""
    browser = login(owner)

    def _create(lines, **header):
        header.setdefault("client", str(acme.pk))
        data = form_data(lines, series=str(series.pk), **header)
        response = browser.post(url(account, "invoice_create"), data)
        return response, Invoice.objects.order_by("-created_at").first()

    return _create


LINE = {"description": "Consultoría", "quantity": "1", "unit_price": "1000"}


# ---------------------------------------------------------------------------------------
# 1. IRPF as any rate
# ---------------------------------------------------------------------------------------


def test_irpf_takes_any_rate_with_two_decimals_and_keeps_totals_pdf_api_and_130(
    create, login, owner, account, series, acme, api_client
):
    client = login(owner)
    response, invoice = create([LINE], irpf_rate="1,25")
    assert response.status_code == 302
    assert (invoice.irpf_bp, invoice.irpf_cents, invoice.total_cents) == (125, 1250, 119750)
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    assert issued.fiscal_invoice.total_amount_cents == 121000  # ImporteTotal: no IRPF
    doc = document_for(issued)
    assert (doc.irpf_rate_bp, doc.irpf_cents) == (125, 1250)
    api = api_client.get(f"/api/invoices/{issued.pk}").json()
    assert (api["invoice"]["irpfAmount"], api["invoice"]["total"]) == (1250, 119750)
    assert irpf_130([issued], [], 1)["retenciones"] == 1250
    detail = client.get(url(account, "invoice_detail", issued.pk)).content.decode()
    assert "1,25 %" in detail


def test_irpf_presets_are_offered_and_out_of_range_rates_are_refused_in_spanish(
    create, login, owner, account, series, acme
):
    client = login(owner)
    html = client.get(url(account, "invoice_create")).content.decode()
    assert 'list="irpf-presets"' in html
    for preset in ("1", "2", "7", "15", "19", "24", "35"):
        assert f'<option value="{preset}">' in html
    for typed, message in (("100,01", "No puede ser mayor que 100"), ("7,125", "2 decimales")):
        response, invoice = create([LINE], irpf_rate=typed)
        html = response.content.decode()
        assert response.status_code == 400 and invoice is None
        assert 'id="id_irpf_rate_error"' in html and message in html


# ---------------------------------------------------------------------------------------
# 2. The tobacco recargo
# ---------------------------------------------------------------------------------------


@pytest.fixture
def estanco(taxpayer):
    return create_client(
        taxpayer,
        {
            "name": "Estanco Sol SL",
            "nif": "B12345674",
            "country": "ES",
            "recargo_equivalencia": True,
        },
    )


def test_tobacco_lines_carry_the_1_75_recargo_in_their_own_breakdown_line(
    create, login, owner, account, series, estanco
):
    lines = [
        {"description": "Cigarrillos", "quantity": "1", "unit_price": "1000", "tobacco": "on"},
        {"description": "Mecheros", "quantity": "1", "unit_price": "100"},
    ]
    response, invoice = create(lines, client=str(estanco.pk))
    assert response.status_code == 302
    assert invoice.surcharge_cents == 1750 + 520
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    breakdown = issued.fiscal_invoice.breakdown
    assert [(b["rate_bp"], b["surcharge_rate_bp"], b["regime_type"]) for b in breakdown] == [
        (2100, 175, "18"),
        (2100, 520, "18"),
    ]
    xml = issued.fiscal_invoice.registration.xml
    assert "<TipoRecargoEquivalencia>1.75</TipoRecargoEquivalencia>" in xml


def test_tobacco_recargo_is_refused_without_recargo_de_equivalencia_or_with_reduced_iva(
    create, login, owner, account, series, acme, estanco
):
    tobacco = {**LINE, "tobacco": "on"}
    response, invoice = create([tobacco])
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert 'id="id_lines-0-tobacco_error"' in html and "recargo de equivalencia" in html
    reduced = {**tobacco, "iva_type": "reducido"}
    response, invoice = create([reduced], client=str(estanco.pk))
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert 'id="id_lines-0-tobacco_error"' in html and "IVA general (21 %)" in html


# ---------------------------------------------------------------------------------------
# 3. FechaOperacion
# ---------------------------------------------------------------------------------------


def test_an_earlier_operation_date_reaches_the_record_and_the_pdf(
    create, login, owner, account, series, acme
):
    browser = login(owner)
    response, invoice = create([LINE], operation_date="28/02/2026")
    assert response.status_code == 302 and invoice.operation_date == date(2026, 2, 28)
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    assert "<FechaOperacion>28-02-2026</FechaOperacion>" in issued.fiscal_invoice.registration.xml
    assert document_for(issued).operation_date == date(2026, 2, 28)
    detail = browser.get(url(account, "invoice_detail", issued.pk)).content.decode()
    assert "Fecha de operación" in detail and "28/02/2026" in detail


def test_the_issue_date_as_operation_date_is_not_declared(
    create, login, owner, account, series, acme
):
    _, invoice = create([LINE], operation_date="2026-03-13")
    assert invoice.operation_date is None


def test_a_later_operation_date_is_refused_next_to_its_field(
    create, login, owner, account, series, acme
):
    response, invoice = create([LINE], operation_date="2026-03-20")
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert 'id="id_operation_date_error"' in html and "regímenes 14 o 15" in html
    assert "AEAT 1146" in html


# ---------------------------------------------------------------------------------------
# 4. Issuance by a third party or by the recipient
# ---------------------------------------------------------------------------------------


def test_an_invoice_issued_by_a_third_party_names_it_in_the_record_and_the_pdf(
    create, login, owner, account, series, acme
):
    response, invoice = create(
        [LINE],
        issued_by="third_party",
        third_party_nif="b12345674",
        third_party_name="Gestoría Norte SL",
    )
    assert response.status_code == 302
    assert (invoice.issued_by, invoice.third_party_nif) == ("third_party", "B12345674")
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    xml = issued.fiscal_invoice.registration.xml
    assert "<EmitidaPorTerceroODestinatario>T</EmitidaPorTerceroODestinatario>" in xml
    assert "<Tercero><NombreRazon>Gestoría Norte SL</NombreRazon><NIF>B12345674</NIF>" in xml
    assert "Gestoría Norte SL (NIF B12345674)" in document_for(issued).issuance
    with pytest.raises(Exception, match="cannot be changed"):
        issued.third_party_name = "Otra SL"
        issued.save()


def test_an_invoice_issued_by_the_recipient_says_D_and_keeps_no_third_party(
    create, login, owner, account, series, acme
):
    response, invoice = create(
        [LINE],
        issued_by="recipient",
        third_party_nif="B12345674",
        third_party_name="Ignorado SL",
    )
    assert response.status_code == 302 and invoice.third_party_name == ""
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    xml = issued.fiscal_invoice.registration.xml
    assert "<EmitidaPorTerceroODestinatario>D</EmitidaPorTerceroODestinatario>" in xml
    assert "<Tercero>" not in xml
    assert document_for(issued).issuance == "Facturación por el destinatario"


def test_a_third_party_needs_a_valid_nif_and_a_name(create, login, owner, account, series, acme):
    response, invoice = create(
        [LINE],
        issued_by="third_party",
        third_party_nif="B12345670",
    )
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert 'id="id_third_party_nif_error"' in html and "no es un NIF español válido" in html
    assert 'id="id_third_party_name_error"' in html and "obligatorio" in html


# ---------------------------------------------------------------------------------------
# 6. Regime keys
# ---------------------------------------------------------------------------------------


@pytest.fixture
def ayuntamiento(taxpayer):
    return create_client(
        taxpayer, {"name": "Ayuntamiento de Madrid", "nif": "P2807900B", "country": "ES"}
    )


def test_a_line_under_criterio_de_caja_declares_regime_07(
    create, login, owner, account, series, acme
):
    lines = [{**LINE, "regime": "07"}, {**LINE, "description": "Otro"}]
    response, invoice = create(lines)
    assert response.status_code == 302
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    assert [b["regime_type"] for b in issued.fiscal_invoice.breakdown] == ["07", "01"]
    assert "<ClaveRegimen>07</ClaveRegimen>" in issued.fiscal_invoice.registration.xml


def test_regime_14_needs_a_later_operation_date_and_a_public_body(
    create, login, owner, account, series, acme, ayuntamiento
):
    line = {**LINE, "regime": "14"}
    response, invoice = create([line])
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert "AEAT 1147" in html and "AEAT 1149" in html and "ente público" in html
    response, invoice = create(
        [line],
        client=str(ayuntamiento.pk),
        operation_date="2026-06-30",
    )
    assert response.status_code == 302, response.content.decode()
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    xml = issued.fiscal_invoice.registration.xml
    assert "<ClaveRegimen>14</ClaveRegimen>" in xml
    assert "<FechaOperacion>30-06-2026</FechaOperacion>" in xml


@pytest.mark.parametrize(
    ("line", "field", "code"),
    [
        ({"regime": "02"}, "iva_type", "1286"),  # an export is exempt
        ({"regime": "03", "iva_type": "inversion_sujeto_pasivo"}, "iva_type", "1200"),
        ({"regime": "07", "iva_type": "no_sujeto", "cause": "N2"}, "iva_type", "1203"),
        ({"regime": "11", "iva_type": "reducido"}, "iva_type", "1206"),
    ],
)
def test_regime_problems_show_next_to_the_line(
    create, login, owner, account, series, acme, line, field, code
):
    response, invoice = create([{**LINE, **line}])
    html = response.content.decode()
    assert response.status_code == 400 and invoice is None
    assert f'id="id_lines-0-{field}_error"' in html and f"AEAT {code}" in html


def test_the_form_offers_the_regime_keys(login, owner, account, series):
    html = login(owner).get(url(account, "invoice_create")).content.decode()
    for key in ("02", "03", "05", "07", "11", "14", "15", "17", "19", "20"):
        assert f'<option value="{key}">{key} · ' in html


# ---------------------------------------------------------------------------------------
# 7. IGIC and IPSI lines
# ---------------------------------------------------------------------------------------


def test_igic_and_ipsi_lines_reach_the_record_and_pdf_and_stay_out_of_the_303(
    create, login, owner, account, series, acme
):
    lines = [
        {**LINE, "iva_type": "igic_general"},
        {**LINE, "description": "Envío", "unit_price": "100", "iva_type": "ipsi_4"},
        {**LINE, "description": "Curso", "iva_type": "igic_exento", "cause": "E1"},
        {**LINE, "description": "Península", "unit_price": "10"},
    ]
    response, invoice = create(lines)
    assert response.status_code == 302, response.content.decode()
    assert invoice.iva_cents == 7000 + 400 + 210
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    breakdown = issued.fiscal_invoice.breakdown
    assert [
        (b["tax_type"], b["regime_type"], b["operation_type"], b["rate_bp"]) for b in breakdown
    ] == [
        ("03", "01", "S1", 700),
        ("02", "01", "S1", 400),
        ("03", "01", "E1", None),
        ("01", "01", "S1", 2100),
    ]
    xml = issued.fiscal_invoice.registration.xml
    assert "<Impuesto>03</Impuesto><ClaveRegimen>01</ClaveRegimen>" in xml
    assert "<Impuesto>02</Impuesto><ClaveRegimen>01</ClaveRegimen>" in xml
    doc = document_for(issued)
    labels = [g.label for g in doc.tax_groups]
    assert labels == ["IGIC 7 %", "IPSI 4 %", "Exento de IGIC (E1)", "IVA 21 %"]
    assert doc.tax_total_label == "Total IVA + IGIC + IPSI"
    values = vat_303([issued], [])
    assert values["devengado_2100_base"] == 1000 and values["total_devengado"] == 210
    assert values["otras_bases"] == 0  # not even as IVA-exempt or not-subject bases


# ---------------------------------------------------------------------------------------
# 8. F3 replacing simplified invoices
# ---------------------------------------------------------------------------------------


@pytest.fixture
def tickets(taxpayer, owner):
    """Two issued simplified invoices (F2) and a cancelled one."""
    simplified = Series.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, code="T", kind=Series.Kind.SIMPLIFIED
    )
    made = []
    for day in (10, 11, 12):
        draft = create_draft(
            taxpayer,
            series=simplified,
            client=None,
            issue_date=date(2026, 3, day),
            lines=[DraftLine("Menú", quantity=100, unit_price=1000)],
            actor=Actor(user=owner),
        )
        made.append(issue_invoice(draft, actor=Actor(user=owner)))
    cancel_invoice(made[2], actor=Actor(user=owner))
    return made


def test_an_f3_lists_the_simplified_invoices_it_replaces(
    create, login, owner, account, series, acme, tickets
):
    browser = login(owner)
    html = browser.get(url(account, "invoice_create")).content.decode()
    assert tickets[0].number in html and tickets[1].number in html
    assert tickets[2].number not in html  # cancelled
    response, invoice = create(
        [{**LINE, "unit_price": "20"}],
        replaced_invoices=[str(tickets[1].pk), str(tickets[0].pk)],
    )
    assert response.status_code == 302, response.content.decode()
    assert invoice.invoice_type == "F3"
    issued = issue_invoice(invoice, actor=Actor(user=owner))
    assert issued.fiscal_invoice.replaced_invoices == [
        {"invoice_number": tickets[0].number, "invoice_date": "2026-03-10"},
        {"invoice_number": tickets[1].number, "invoice_date": "2026-03-11"},
    ]
    xml = issued.fiscal_invoice.registration.xml
    assert "<TipoFactura>F3</TipoFactura>" in xml and "<FacturasSustituidas>" in xml
    assert document_for(issued).replaces == (tickets[0].number, tickets[1].number)
    again = browser.get(url(account, "invoice_create")).content.decode()
    assert tickets[0].number not in again  # replaced already


def test_an_f3_cannot_replace_a_later_or_foreign_invoice(
    create, login, owner, account, series, acme, tickets, other_account
):
    response, invoice = create(
        [LINE],
        issue_date="2026-03-10",
        replaced_invoices=[str(tickets[1].pk)],
    )
    html = response.content.decode()
    assert response.status_code == 400 and invoice.invoice_type == "F2"  # the last ticket
    assert 'id="id_replaced_invoices_error"' in html and "es posterior" in html
    theirs = other_account.taxpayers.get()
    their_series = Series.objects.create(
        account=other_account, taxpayer=theirs, code="T", kind=Series.Kind.SIMPLIFIED
    )
    their_ticket = issue_invoice(
        create_draft(
            theirs,
            series=their_series,
            client=None,
            issue_date=date(2026, 3, 10),
            lines=[DraftLine("Menú", quantity=100, unit_price=1000)],
            actor=Actor(),
        ),
        actor=Actor(),
    )
    ours = Invoice.objects.filter(account=account).count()
    response, _ = create([LINE], replaced_invoices=[str(their_ticket.pk)])
    assert response.status_code == 400 and "id_replaced_invoices_error" in response.content.decode()
    assert Invoice.objects.filter(account=account).count() == ours  # nothing was saved


def test_editing_an_f3_draft_back_to_no_replacement_makes_it_f1(
    create, login, owner, account, series, acme, tickets
):
    browser = login(owner)
    _, invoice = create(
        [LINE],
        replaced_invoices=[str(tickets[0].pk)],
    )
    assert invoice.invoice_type == "F3"
    data = form_data([LINE])
    data["lines-INITIAL_FORMS"] = "0"
    response = browser.post(url(account, "invoice_edit", invoice.pk), data)
    assert response.status_code == 302
    invoice.refresh_from_db()
    assert invoice.invoice_type == "F1" and not invoice.replaced_invoices.exists()


# ---------------------------------------------------------------------------------------
# On a phone
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_fiscal_options_on_a_phone(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    series,
    acme,
    tickets,
):
    page.set_viewport_size({"width": 390, "height": 844})
    new_invoice_of_consultancy(page, live_server, account, acme)
    page.get_by_label("Fecha de operación").fill("2026-03-01")
    page.get_by_label("Retención IRPF (%)").fill("7")
    page.locator("#id_lines-0-iva_type").select_option("igic_general")
    page.locator("#id_lines-0-regime").select_option("07")
    page.locator('#totals [data-total="total"]').filter(has_text="1.000,00 €").wait_for()
    assert page.get_by_text("IGIC 7 %").first.is_visible()
    assert page.locator("#totals").get_by_text("Total IGIC").is_visible()

    page.get_by_text("Expedición por un tercero o por el destinatario").click()
    assert not page.get_by_label("NIF del tercero").is_visible()
    page.get_by_label("Expedida por").select_option("third_party")
    page.get_by_label("NIF del tercero").fill("B12345674")
    page.get_by_label("Nombre del tercero").fill("Gestoría Norte SL")
    page.get_by_text("Sustitución de facturas simplificadas (F3)").click()
    page.get_by_label(tickets[0].number, exact=False).check()

    screenshot(page, "invoice-form-fiscal-options-phone")
    # Nothing of the form is wider than the phone but the lines' table, which scrolls.
    wide = page.evaluate(
        """() => [...document.querySelectorAll('form.invoice-form *')].filter(
            (el) => el.getBoundingClientRect().right > window.innerWidth + 1
                && !el.closest('.table-scroll')
        ).map((el) => el.tagName + '#' + el.id)"""
    )
    assert wide == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page never pans
    scroller = page.locator(".table-scroll").first
    assert scroller.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_selector("text=guardado")
    invoice = Invoice.objects.get(invoice_type="F3")
    line = invoice.lines.get()
    assert (line.iva_type, line.regime, invoice.irpf_bp) == ("igic_general", "07", 700)
    assert (invoice.issued_by, invoice.operation_date) == ("third_party", date(2026, 3, 1))
    screenshot(page, "invoice-detail-fiscal-options-phone")
