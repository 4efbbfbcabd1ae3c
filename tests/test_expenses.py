"""Expense pages: the form (euros → cents), receipts (bytes decide), tenancy, filters, CSV."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from expenses.exports import BOM, csv_amount
from expenses.models import Expense, ExpenseCategory
from expenses.receipts import attach_receipt, sniff
from expenses.services import create_expense, update_expense
from factu.models import Membership, Role
from tests.conftest import make_user

LIST = "/c/estudio-sol/gastos/"
NEW = "/c/estudio-sol/gastos/nuevo/"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def form_data(**overrides):
    data = {
        "date": "2026-02-03",
        "description": "Licencia anual",
        "supplier_name": "Programas SL",
        "supplier_nif": "B10000008",
        "amount": "121,00",
        "base": "100,00",
        "iva_rate": "2100",
        "iva_amount": "",
        "is_deductible": "on",
        "deductible_percent": "100",
        "category": "",
        "paid": "on",
    }
    data.update(overrides)
    return data


def make(taxpayer, when=date(2026, 2, 3), amount=12100, **extra):
    return create_expense(
        taxpayer,
        {"date": when, "description": extra.pop("description", "Gasto"), "amount_cents": amount}
        | extra,
    )


# --- the form --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "cents"), [("49,99", 4999), ("49.99", 4999), ("1.234,56", 123456), ("7", 700)]
)
def test_amounts_typed_in_euros_become_cents(login, owner, taxpayer, typed, cents):
    response = login(owner).post(NEW, form_data(amount=typed, base="", iva_rate=""))
    assert response.status_code == 302, response.content.decode()[:2000]
    expense = Expense.objects.get()
    assert expense.amount_cents == cents and isinstance(expense.amount_cents, int)
    assert expense.base_cents is None and expense.iva_cents is None


def test_create_with_iva_computes_the_cuota(login, owner, taxpayer):
    category = ExpenseCategory.objects.get(name="Software y tecnología")
    response = login(owner).post(
        NEW, form_data(category=str(category.pk), deductible_percent="50,5")
    )
    assert response.status_code == 302
    expense = Expense.objects.get()
    assert (expense.amount_cents, expense.base_cents, expense.iva_rate_bp) == (12100, 10000, 2100)
    assert expense.iva_cents == 2100
    assert expense.deductible_bp == 5050
    assert expense.category == category and expense.taxpayer == taxpayer
    assert expense.supplier_nif == "B10000008"


def test_cuota_without_base_gives_the_base(login, owner, taxpayer):
    login(owner).post(NEW, form_data(base="", iva_amount="21"))
    expense = Expense.objects.get()
    assert (expense.base_cents, expense.iva_cents) == (10000, 2100)


def test_a_bad_spanish_nif_is_refused_next_to_its_field(login, owner, taxpayer):
    response = login(owner).post(NEW, form_data(supplier_nif="B10000009"))
    assert response.status_code == 200
    assert response.context["form"].errors["supplier_nif"]
    assert not Expense.objects.exists()
    # A foreign one is kept as given.
    login(owner).post(NEW, form_data(supplier_nif="FR12345678901"))
    assert Expense.objects.get().supplier_nif == "FR12345678901"


@pytest.mark.parametrize("typed", ["12,345", "doce", ""])
def test_bad_amounts_are_refused(login, owner, taxpayer, typed):
    response = login(owner).post(NEW, form_data(amount=typed))
    assert response.status_code == 200
    assert response.context["form"].errors["amount"]
    assert not Expense.objects.exists()


def test_edit_changes_the_expense(login, owner, taxpayer):
    expense = make(taxpayer)
    url = f"{LIST}{expense.pk}/"
    page = login(owner).get(url)
    assert page.status_code == 200 and "121,00" in page.content.decode()
    response = login(owner).post(url, form_data(amount="60,50", base="50", is_deductible=""))
    assert response.status_code == 302
    expense.refresh_from_db()
    assert (expense.amount_cents, expense.base_cents, expense.is_deductible) == (6050, 5000, False)
    assert "licencia" in expense.search_text


def test_delete_removes_the_expense_and_its_receipt(
    login, owner, taxpayer, media, django_capture_on_commit_callbacks
):
    login(owner).post(NEW, form_data(receipt=SimpleUploadedFile("t.png", PNG)))
    expense = Expense.objects.get()
    path = Path(expense.receipt.path)
    assert path.exists()
    confirm = login(owner).get(f"{LIST}{expense.pk}/eliminar/")
    assert confirm.status_code == 200 and "¿Eliminar este gasto?" in confirm.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(owner).post(f"{LIST}{expense.pk}/eliminar/")
    assert response.status_code == 302
    assert not Expense.objects.exists()
    assert not path.exists()


# --- categories ------------------------------------------------------------------------------


def test_the_account_adds_its_own_categories(login, owner, taxpayer, other_account):
    client = login(owner)
    response = client.post(f"{LIST}categorias/", {"name": "  Coworking  "})
    assert response.status_code == 302
    own = ExpenseCategory.objects.get(name="Coworking")
    assert own.account == taxpayer.account
    # The same name again, or a seeded one, is refused.
    again = client.post(f"{LIST}categorias/", {"name": "coworking"})
    assert again.status_code == 200 and "Ya existe" in again.content.decode()
    assert client.post(f"{LIST}categorias/", {"name": "Suministros"}).status_code == 200
    # It is offered in the form; another account's category is not.
    ExpenseCategory.objects.create(account=other_account, name="Ajena")
    html = client.get(NEW).content.decode()
    assert "Coworking" in html and "Ajena" not in html
    ajena = ExpenseCategory.objects.get(name="Ajena")
    response = client.post(NEW, form_data(category=str(ajena.pk)))
    assert response.status_code == 200 and not Expense.objects.exists()
    # Own categories can be deleted; Factu's and other accounts' cannot (404).
    seeded = ExpenseCategory.objects.get(name="Suministros")
    for other in (seeded, ajena):
        assert client.post(f"{LIST}categorias/{other.pk}/borrar/").status_code == 404
    assert client.post(f"{LIST}categorias/{own.pk}/borrar/").status_code == 302
    assert not ExpenseCategory.objects.filter(pk=own.pk).exists()


# --- receipts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "content_type"),
    [(PDF, "application/pdf"), (JPEG, "image/jpeg"), (PNG, "image/png"), (b"hola", None)],
)
def test_sniff_by_magic_numbers(head, content_type):
    kind = sniff(head)
    assert (kind.content_type if kind else None) == content_type


def test_receipt_is_stored_privately_and_served_to_members(login, owner, viewer, taxpayer, media):
    upload = SimpleUploadedFile("ticket.pdf", PDF, content_type="application/pdf")
    assert login(owner).post(NEW, form_data(receipt=upload)).status_code == 302
    expense = Expense.objects.get()
    stored = Path(expense.receipt.path)
    assert stored.is_relative_to(media) and stored.read_bytes() == PDF
    assert "ticket" not in stored.name  # a random name, not the person's
    assert expense.receipt_name == "ticket.pdf"

    response = login(viewer).get(f"{LIST}{expense.pk}/justificante/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline")
    assert 'filename="ticket.pdf"' in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == PDF
    download = login(viewer).get(f"{LIST}{expense.pk}/justificante/?descargar=1")
    assert download["Content-Disposition"].startswith("attachment")
    # No public URL reaches the file.
    relative = expense.receipt.name
    assert login(viewer).get(f"/media/{relative}").status_code == 404
    assert login(viewer).get(f"/{relative}").status_code == 404


def test_the_bytes_decide_the_type_not_the_name(login, owner, taxpayer):
    """A ``.pdf`` holding PNG bytes is a PNG; the browser's content type is ignored."""
    upload = SimpleUploadedFile("factura.pdf", PNG, content_type="application/pdf")
    assert login(owner).post(NEW, form_data(receipt=upload)).status_code == 302
    expense = Expense.objects.get()
    assert expense.receipt_content_type == "image/png"
    assert expense.receipt.name.endswith(".png") and expense.receipt_name == "factura.png"
    response = login(owner).get(f"{LIST}{expense.pk}/justificante/")
    assert response["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("factura.pdf", b"esto es texto, no un PDF", "application/pdf"),
        ("foto.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/png"),
        ("script.jpg", b"<html><script>alert(1)</script>", "image/jpeg"),
        ("vacio.pdf", b"", "application/pdf"),
    ],
)
def test_a_receipt_that_lies_about_its_type_is_refused(
    login, owner, taxpayer, media, name, content, content_type
):
    upload = SimpleUploadedFile(name, content, content_type=content_type)
    response = login(owner).post(NEW, form_data(receipt=upload))
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors["receipt"])
    assert "PDF, un JPEG o un PNG" in errors if content else errors  # empty: Django's message
    assert not Expense.objects.exists()
    assert not Path(media).exists() or not list(Path(media).rglob("*.*"))


def test_a_receipt_over_the_limit_is_refused(login, owner, taxpayer, settings):
    settings.FACTU_RECEIPT_MAX_BYTES = 1024
    upload = SimpleUploadedFile("big.pdf", PDF + b"0" * 2048)
    response = login(owner).post(NEW, form_data(receipt=upload))
    assert response.status_code == 200 and response.context["form"].errors["receipt"]
    assert not Expense.objects.exists()


def test_replacing_and_removing_a_receipt(login, owner, taxpayer):
    client = login(owner)
    client.post(NEW, form_data(receipt=SimpleUploadedFile("a.png", PNG)))
    expense = Expense.objects.get()
    url = f"{LIST}{expense.pk}/"
    client.post(url, form_data(receipt=SimpleUploadedFile("b.jpg", JPEG)))
    expense.refresh_from_db()
    assert (expense.receipt_content_type, expense.receipt_name) == ("image/jpeg", "b.jpg")
    client.post(url, form_data(remove_receipt="on"))
    expense.refresh_from_db()
    assert not expense.receipt and expense.receipt_content_type == ""
    assert client.get(f"{url}justificante/").status_code == 404


# --- tenancy and roles -----------------------------------------------------------------------


def test_another_accounts_receipt_is_a_404(login, owner, taxpayer, other_account, client):
    other_taxpayer = other_account.taxpayers.get()
    theirs = make(other_taxpayer, description="Suyo")
    attach_receipt(theirs, SimpleUploadedFile("x.pdf", PDF))
    # Our owner, through our account or theirs: not found.
    assert login(owner).get(f"{LIST}{theirs.pk}/justificante/").status_code == 404
    assert login(owner).get(f"{LIST}{theirs.pk}/").status_code == 404
    assert login(owner).get(f"/c/gestoria-ajena/gastos/{theirs.pk}/justificante/").status_code == (
        404
    )
    # Their own member gets it.
    stranger = make_user("them@ajena.example")
    Membership.objects.create(user=stranger, account=other_account, role=Role.OWNER)
    client.logout()
    url = f"/c/gestoria-ajena/gastos/{theirs.pk}/justificante/"
    assert login(stranger).get(url).status_code == 200


def test_outsiders_get_404_everywhere(login, outsider, taxpayer):
    expense = make(taxpayer)
    client = login(outsider)
    for url in (
        LIST,
        NEW,
        f"{LIST}{expense.pk}/",
        f"{LIST}{expense.pk}/justificante/",
        f"{LIST}categorias/",
        f"{LIST}exportar.csv",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(NEW, form_data()).status_code == 404


def test_viewers_read_but_cannot_write(login, viewer, taxpayer):
    expense = make(taxpayer)
    client = login(viewer)
    listing = client.get(LIST)
    assert listing.status_code == 200 and "Nuevo gasto" not in listing.content.decode()
    assert client.get(f"{LIST}{expense.pk}/").status_code == 200
    assert client.post(NEW, form_data()).status_code == 403
    assert client.post(f"{LIST}{expense.pk}/", form_data(amount="1")).status_code == 403
    assert client.post(f"{LIST}{expense.pk}/eliminar/").status_code == 403
    assert client.post(f"{LIST}categorias/", {"name": "Nueva"}).status_code == 403
    categories = client.get(f"{LIST}categorias/")
    assert categories.status_code == 200 and "Suministros" in categories.content.decode()
    assert "Añadir categoría" not in categories.content.decode()
    expense.refresh_from_db()
    assert expense.amount_cents == 12100 and Expense.objects.count() == 1


# --- list, filters, totals, export -----------------------------------------------------------


@pytest.fixture
def several(taxpayer):
    fuel = ExpenseCategory.objects.get(name="Vehículo")
    make(
        taxpayer,
        date(2026, 1, 10),
        12100,
        base_cents=10000,
        iva_rate_bp=2100,
        description="Licencia Programa",
        supplier_name="Programas SL",
    )
    make(
        taxpayer,
        date(2026, 2, 1),
        6050,
        base_cents=5000,
        iva_rate_bp=2100,
        deductible_bp=5000,
        category=fuel,
        description="Gasóleo",
    )
    make(
        taxpayer,
        date(2026, 2, 20),
        3300,
        base_cents=3000,
        iva_rate_bp=1000,
        is_deductible=False,
        description="Comida con cliente",
    )
    make(taxpayer, date(2026, 4, 2), 20000, description="=SUM(A1) seguro")
    return fuel


def test_list_filters_and_totals(login, owner, several):
    client = login(owner)
    everything = client.get(LIST)
    assert everything.context["sums_count"] == 4
    assert everything.context["sums"]["amount"] == "414,50 €"
    # 100 + 50 % of 50 + 200 (no base): the lunch is not deductible.
    assert everything.context["sums"]["deductible"] == "325,00 €"

    q1 = client.get(LIST, {"desde": "2026-01-01", "hasta": "2026-03-31"})
    assert q1.context["sums_count"] == 3
    assert (q1.context["sums"]["amount"], q1.context["sums"]["iva"]) == ("214,50 €", "34,50 €")

    deductible = client.get(LIST, {"deducible": "no"})
    assert [r["expense"].description for r in deductible.context["rows"]] == ["Comida con cliente"]
    by_category = client.get(LIST, {"categoria": str(several.pk)})
    assert [r["expense"].description for r in by_category.context["rows"]] == ["Gasóleo"]
    uncategorised = client.get(LIST, {"categoria": "ninguna"})
    assert uncategorised.context["sums_count"] == 3
    # Free text: accents and case do not matter, and the supplier counts.
    assert client.get(LIST, {"q": "GASOLEO"}).context["sums_count"] == 1
    assert client.get(LIST, {"q": "programas"}).context["sums_count"] == 1
    none = client.get(LIST, {"q": "nada de esto"})
    assert none.context["sums_count"] == 0 and "Ningún gasto coincide" in none.content.decode()


def test_list_pages_by_50(login, owner, taxpayer):
    for day in range(1, 29):
        make(taxpayer, date(2026, 2, day))
        make(taxpayer, date(2026, 3, day))
    first = login(owner).get(LIST)
    assert len(first.context["rows"]) == 50 and first.context["sums_count"] == 56
    second = login(owner).get(LIST, {"page": 2})
    assert len(second.context["rows"]) == 6


def test_empty_list_invites_to_add(login, owner, taxpayer):
    html = login(owner).get(LIST).content.decode()
    assert "aún no tiene gastos" in html and "Anotar el primer gasto" in html


def test_csv_export_of_the_filtered_expenses(login, owner, several):
    response = login(owner).get(f"{LIST}exportar.csv", {"hasta": "2026-12-31", "q": "a"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    raw = response.content
    assert raw.startswith(BOM.encode("utf-8"))
    lines = raw.decode("utf-8")[1:].split("\r\n")
    assert lines[0].split(";")[:3] == ["Fecha", "Descripción", "Proveedor"]
    assert (
        "10/01/2026;Licencia Programa;Programas SL;;;100,00;21 %;21,00;121,00;Sí;100 %;Sí;No"
        in lines
    )
    assert "01/02/2026;Gasóleo;;;Vehículo;50,00;21 %;10,50;60,50;Sí;50 %;Sí;No" in lines
    # A text that Excel would run as a formula is neutralised.
    assert any(line.startswith("02/04/2026;'=SUM(A1) seguro;") for line in lines)
    filtered = login(owner).get(f"{LIST}exportar.csv", {"deducible": "no"})
    rows = filtered.content.decode("utf-8")[1:].strip().split("\r\n")
    assert len(rows) == 2 and "Comida con cliente" in rows[1]


def test_csv_amounts():
    assert [csv_amount(c) for c in (121000, -500, 7, 0, None)] == [
        "1210,00",
        "-5,00",
        "0,07",
        "0,00",
        "",
    ]


def test_update_keeps_the_api_signature(taxpayer):
    expense = make(taxpayer)
    update_expense(
        expense,
        {"date": date(2026, 3, 1), "description": "Otra", "amount_cents": 500, "base_cents": 400},
    )
    expense.refresh_from_db()
    assert (expense.amount_cents, expense.base_cents, expense.iva_cents) == (500, 400, 100)
