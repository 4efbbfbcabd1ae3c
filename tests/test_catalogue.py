"""The catalogue of products and services, and the invoice form's searches (issue 19, point 6).

Items belong to an account: another account's item is a 404 and never a search result. The
invoice form's line concept searches the catalogue and fills the line; its client box is a
type-ahead, and "Nuevo cliente" creates a client in a dialog through the clients app's form.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from playwright.sync_api import expect

from catalogue.models import Item
from catalogue.services import archive_item, create_item, search_items, update_item
from clients.models import Client
from clients.services import create_client
from factu.models import Taxpayer
from invoicing.forms import InvoiceForm
from invoicing.models import Invoice
from tests.browser import choose_client, page, screenshot, sign_in  # noqa: F401 - the fixture


def url(account, name: str, *args) -> str:
    return reverse(name, args=[account.slug, *args])


def item_form(**overrides) -> dict:
    data = {
        "name": "Diseño de logotipo",
        "description": "Diseño de logotipo (tres propuestas)",
        "unit_price_cents": "450,00",
        "iva_type": "general",
        "irpf_bp": "15",
    }
    data.update(overrides)
    return data


@pytest.fixture
def logo_design(account) -> Item:
    return create_item(
        account,
        {
            "name": "Diseño de logotipo",
            "description": "Diseño de logotipo (tres propuestas)",
            "unit_price_cents": 45000,
            "iva_type": "general",
            "irpf_bp": 1500,
        },
    )


@pytest.fixture
def foreign_item(other_account) -> Item:
    return create_item(
        other_account,
        {"name": "Diseño ajeno", "unit_price_cents": 100, "iva_type": "general"},
    )


# -- rules ------------------------------------------------------------------------------


def test_an_item_keeps_integer_cents_and_basis_points(logo_design):
    logo_design.refresh_from_db()
    assert logo_design.unit_price_cents == 45000 and logo_design.irpf_bp == 1500
    assert logo_design.line_description == "Diseño de logotipo (tres propuestas)"


def test_an_item_refuses_an_unknown_tax_a_negative_price_and_an_irpf_over_100(account):
    with pytest.raises(ValidationError) as excinfo:
        create_item(
            account,
            {"name": "X", "unit_price_cents": -1, "iva_type": "vat20", "irpf_bp": 10001},
        )
    assert set(excinfo.value.message_dict) == {"unit_price_cents", "iva_type", "irpf_bp"}
    assert not Item.objects.exists()


def test_search_ignores_accents_and_case_and_hides_archived_items(account, logo_design):
    create_item(account, {"name": "Hora de consultoría", "unit_price_cents": 6000})
    assert [i.name for i in search_items(account, "DISENO logo")] == ["Diseño de logotipo"]
    assert [i.name for i in search_items(account, "propuestas")] == ["Diseño de logotipo"]
    archive_item(logo_design)
    assert list(search_items(account, "diseño")) == []
    assert list(search_items(account, "diseño", include_archived=True)) == [logo_design]


def test_search_never_returns_another_accounts_items(account, logo_design, foreign_item):
    assert list(search_items(account, "diseño")) == [logo_design]


# -- pages ------------------------------------------------------------------------------


def test_the_catalogue_page_has_an_empty_state_that_offers_the_first_item(client, owner, account):
    client.force_login(owner)
    page_ = client.get(url(account, "catalogue_list")).content.decode()
    assert "El catálogo está vacío." in page_ and "Añada el primer producto o servicio" in page_


def test_create_edit_archive_and_restore_through_the_pages(client, owner, account):
    client.force_login(owner)
    response = client.post(url(account, "catalogue_create"), item_form())
    assert response.status_code == 302
    item = Item.objects.get()
    assert (item.account, item.unit_price_cents, item.irpf_bp) == (account, 45000, 1500)
    listing = client.get(url(account, "catalogue_list")).content.decode()
    assert "Diseño de logotipo" in listing and "450,00 €" in listing and "15 %" in listing

    response = client.post(
        url(account, "catalogue_edit", item.pk),
        item_form(unit_price_cents="1.234,56", iva_type="reducido", irpf_bp=""),
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.unit_price_cents, item.iva_type, item.irpf_bp) == (123456, "reducido", None)

    confirm = client.get(url(account, "catalogue_archive", item.pk)).content.decode()
    assert "¿Archivar «Diseño de logotipo»?" in confirm
    client.post(url(account, "catalogue_archive", item.pk))
    item.refresh_from_db()
    assert item.archived_at is not None
    assert (
        "Todo el catálogo está archivado"
        in client.get(url(account, "catalogue_list")).content.decode()
    )
    client.post(url(account, "catalogue_restore", item.pk))
    item.refresh_from_db()
    assert item.archived_at is None


def test_bad_input_is_a_400_with_spanish_messages_by_field(client, owner, account):
    client.force_login(owner)
    response = client.post(
        url(account, "catalogue_create"),
        item_form(name="", unit_price_cents="12,345", irpf_bp="101"),
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors["name"] == ["Este campo es requerido."]
    assert form.errors["unit_price_cents"] == ["Como mucho 2 decimales."]
    assert form.errors["irpf_bp"] == ["No puede ser mayor que 100."]
    assert not Item.objects.exists()


def test_the_list_searches_and_paginates(client, owner, account):
    for n in range(55):
        create_item(account, {"name": f"Servicio {n:02d}", "unit_price_cents": 100 * n})
    client.force_login(owner)
    first = client.get(url(account, "catalogue_list")).content.decode()
    assert "Servicio 49" in first and "Servicio 50" not in first
    assert "Página 1 de 2 · 55 productos y servicios" in first
    second = client.get(url(account, "catalogue_list") + "?page=2").content.decode()
    assert "Servicio 54" in second
    found = client.get(url(account, "catalogue_list") + "?q=servicio+07").content.decode()
    assert "Servicio 07" in found and "Servicio 08" not in found
    none = client.get(url(account, "catalogue_list") + "?q=zzz").content.decode()
    assert "Nada del catálogo coincide con «zzz»" in none


def test_another_accounts_item_does_not_exist(client, owner, account, foreign_item):
    client.force_login(owner)
    for name in ("catalogue_edit", "catalogue_archive"):
        assert client.get(url(account, name, foreign_item.pk)).status_code == 404
    assert client.post(url(account, "catalogue_restore", foreign_item.pk)).status_code == 404
    assert (
        client.post(url(account, "catalogue_edit", foreign_item.pk), item_form()).status_code == 404
    )
    foreign_item.refresh_from_db()
    assert foreign_item.name == "Diseño ajeno"


def test_a_viewer_reads_the_catalogue_but_cannot_change_it(client, viewer, account, logo_design):
    client.force_login(viewer)
    assert client.get(url(account, "catalogue_list")).status_code == 200
    assert client.post(url(account, "catalogue_create"), item_form()).status_code == 403
    assert client.post(url(account, "catalogue_archive", logo_design.pk)).status_code == 403
    response = client.post(url(account, "catalogue_edit", logo_design.pk), item_form(name="Otro"))
    assert response.status_code == 403
    logo_design.refresh_from_db()
    assert logo_design.name == "Diseño de logotipo" and logo_design.archived_at is None


def test_the_json_search_is_scoped_to_the_account_and_gives_the_line_values(
    client, owner, account, logo_design, foreign_item
):
    client.force_login(owner)
    answer = client.get(url(account, "catalogue_search"), {"q": "diseño"}).json()
    assert answer == {
        "results": [
            {
                "id": str(logo_design.pk),
                "name": "Diseño de logotipo",
                "description": "Diseño de logotipo (tres propuestas)",
                "unitPriceCents": 45000,
                "unitPrice": "450",
                "ivaType": "general",
                "ivaLabel": "General (21 %)",
                "irpfBp": 1500,
                "irpf": "15",
            }
        ]
    }
    assert client.get(url(account, "catalogue_search")).json() == {"results": []}
    client.logout()
    assert client.get(url(account, "catalogue_search"), {"q": "diseño"}).status_code == 302


def test_an_outsider_cannot_search_the_catalogue(
    client, accountant_elsewhere, account, logo_design
):
    client.force_login(accountant_elsewhere)
    assert client.get(url(account, "catalogue_search"), {"q": "diseño"}).status_code == 404


def test_update_item_validates_like_create(logo_design):
    with pytest.raises(ValidationError):
        update_item(logo_design, {"iva_type": "nope"})


# -- the invoice form's client --------------------------------------------------------


@pytest.fixture
def clients_of_two_taxpayers(account, taxpayer):
    other = Taxpayer.objects.create(account=account, nif="A58818501", name="Otra SL")
    create_client(taxpayer, {"name": "Talleres Navarro SL", "nif": "B12345674"})
    create_client(taxpayer, {"name": "Talleres Norte SA", "nif": "A28045631"})
    create_client(other, {"name": "Talleres de Otra SL", "nif": "B12345674"})
    return other


def test_the_client_search_is_the_taxpayers_and_never_another_accounts(
    client, owner, account, taxpayer, clients_of_two_taxpayers, other_account
):
    create_client(other_account.taxpayers.get(), {"name": "Talleres Ajenos SL", "nif": "B12345674"})
    client.force_login(owner)
    names = [
        r["name"]
        for r in client.get(url(account, "client_search"), {"q": "talleres"}).json()["results"]
    ]
    assert names == ["Talleres Navarro SL", "Talleres Norte SA"]
    other = clients_of_two_taxpayers
    answer = client.get(url(account, "client_search"), {"q": "talleres", "taxpayer": other.pk})
    assert [r["label"] for r in answer.json()["results"]] == ["Talleres de Otra SL (B12345674)"]
    foreign = other_account.taxpayers.get()
    assert (
        client.get(url(account, "client_search"), {"q": "x", "taxpayer": foreign.pk}).status_code
        == 404
    )


def test_without_javascript_the_typed_client_is_resolved_or_refused(
    taxpayer, clients_of_two_taxpayers
):
    def form(typed: str) -> InvoiceForm:
        data = {"client": "", "client_search": typed, "issue_date": "2026-03-13"}
        return InvoiceForm(data, taxpayer=taxpayer, with_series=False)

    one = form("navarro")
    assert one.is_valid(), one.errors
    assert one.cleaned_data["client"].name == "Talleres Navarro SL"
    assert form("A28045631").is_valid()
    several = form("talleres")
    assert not several.is_valid()
    assert several.errors["client"] == [
        "Varios clientes coinciden con «talleres»: escriba más del nombre o el NIF."
    ]
    none = form("otra")  # the other taxpayer's client is no match here
    assert not none.is_valid() and "Ningún cliente coincide con «otra»" in none.errors["client"][0]
    empty = form("")
    assert empty.is_valid() and empty.cleaned_data["client"] is None


def test_the_quick_client_endpoint_creates_and_returns_the_client_to_select(
    client, owner, account, taxpayer
):
    client.force_login(owner)
    response = client.post(
        url(account, "client_quick_create"),
        {
            "taxpayer": taxpayer.pk,
            "new_client-name": "Nuevo Cliente SL",
            "new_client-nif": "b-12345674",
            "new_client-country": "ES",
        },
    )
    assert response.status_code == 201
    created = Client.objects.get(name="Nuevo Cliente SL")
    assert created.nif == "B12345674" and created.taxpayer == taxpayer
    assert response.json() == {
        "id": str(created.pk),
        "name": "Nuevo Cliente SL",
        "label": "Nuevo Cliente SL (B12345674)",
    }


def test_the_quick_client_endpoint_gives_the_client_forms_errors_by_field(
    client, owner, viewer, account, taxpayer, other_account
):
    client.force_login(owner)
    response = client.post(
        url(account, "client_quick_create"),
        {"new_client-name": "", "new_client-nif": "12345678A", "new_client-country": "ES"},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["new_client-name"] == ["Este campo es requerido."]
    assert "new_client-nif" in errors and errors["new_client-nif"][0]
    assert not Client.objects.exists()
    foreign = other_account.taxpayers.get()
    response = client.post(
        url(account, "client_quick_create"),
        {"taxpayer": foreign.pk, "new_client-name": "X SL", "new_client-nif": "B12345674"},
    )
    assert response.status_code == 404
    client.force_login(viewer)
    response = client.post(
        url(account, "client_quick_create"),
        {"new_client-name": "X SL", "new_client-nif": "B12345674", "new_client-country": "ES"},
    )
    assert response.status_code == 403 and not Client.objects.exists()


# -- in chromium ------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_a_line_filled_from_the_catalogue_and_a_client_created_in_the_dialog(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
    series,
    logo_design,  # noqa: F811
):
    create_client(taxpayer, {"name": "Talleres Navarro SL", "nif": "B12345674"})
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{url(account, 'invoice_create')}")

    # The line's concept: type, arrow down, Enter — description, price, tax and IRPF filled.
    concept = page.locator("#id_lines-0-description")
    assert concept.get_attribute("role") == "combobox"
    concept.fill("logo")
    page.get_by_role("option", name="Diseño de logotipo").wait_for()
    assert concept.get_attribute("aria-expanded") == "true"
    screenshot(page, "catalogue-typeahead")
    concept.press("ArrowDown")
    assert concept.get_attribute("aria-activedescendant") == "id_lines-0-description-listbox-0"
    concept.press("Enter")
    assert concept.input_value() == "Diseño de logotipo (tres propuestas)"
    assert page.locator("#id_lines-0-unit_price").input_value() == "450"
    assert page.locator("#id_lines-0-iva_type").input_value() == "general"
    assert page.get_by_label("Retención IRPF (%)").input_value() == "15"
    page.locator("[data-combo-status]").filter(
        has_text="Línea rellenada con Diseño de logotipo"
    ).wait_for()
    page.locator('#totals [data-total="total"]').filter(has_text="477,00 €").wait_for()

    # The client: nothing matches, so "Nuevo cliente" opens the dialog with the name typed.
    box = page.get_by_role("combobox", name="Cliente", exact=True)
    box.fill("Ferretería Sur")
    page.locator("[data-combo-status]").filter(has_text="Ningún cliente coincide").wait_for()
    page.get_by_role("button", name="Nuevo cliente").click()
    dialog = page.get_by_role("dialog", name="Nuevo cliente")
    assert dialog.get_by_label("Nombre o razón social").input_value() == "Ferretería Sur"
    dialog.get_by_label("NIF").fill("12345678A")  # a wrong check letter
    dialog.get_by_role("button", name="Crear y elegir").click()
    nif = dialog.get_by_label("NIF")
    expect(nif).to_be_focused()
    assert nif.get_attribute("aria-invalid") == "true"
    error_id = nif.get_attribute("aria-describedby").split()[-1]
    assert page.locator(f"#{error_id}").inner_text()
    screenshot(page, "catalogue-new-client-dialog-error")
    nif.fill("B87654323")
    dialog.get_by_role("button", name="Crear y elegir").click()
    dialog.wait_for(state="hidden")
    created = Client.objects.get(name="Ferretería Sur")
    assert box.input_value() == "Ferretería Sur (B87654323)"
    assert page.locator("[data-client-value]").input_value() == str(created.pk)
    assert page.evaluate("document.activeElement.id") == "id_client"

    # The existing client by keyboard replaces it.
    box.fill("navarro")
    page.get_by_role("option", name="Talleres Navarro SL").wait_for()
    box.press("ArrowDown")
    box.press("Enter")
    assert box.input_value() == "Talleres Navarro SL (B12345674)"

    page.get_by_role("button", name="Guardar borrador").click()
    page.wait_for_selector("text=guardado")
    invoice = Invoice.objects.get()
    line = invoice.lines.get()
    assert invoice.client.name == "Talleres Navarro SL" and invoice.irpf_bp == 1500
    assert (line.description, line.unit_price_cents, line.iva_type) == (
        "Diseño de logotipo (tres propuestas)",
        45000,
        "general",
    )


@pytest.mark.browser
@pytest.mark.slow
def test_browser_the_catalogue_and_the_invoice_form_fit_a_phone(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    taxpayer,
    series,
    logo_design,  # noqa: F811
):
    sign_in(page, live_server.url)
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}{url(account, 'catalogue_list')}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"catalogue-list-{width}")
        page.goto(f"{live_server.url}{url(account, 'catalogue_edit', logo_design.pk)}")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"catalogue-form-{width}")
        page.goto(f"{live_server.url}{url(account, 'invoice_create')}")
        page.get_by_role("button", name="Nuevo cliente").click()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"catalogue-invoice-dialog-{width}")
        page.keyboard.press("Escape")
        page.get_by_role("dialog").wait_for(state="hidden")
        assert page.evaluate("document.activeElement.textContent") == "Nuevo cliente"
