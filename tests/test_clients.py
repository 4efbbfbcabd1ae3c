"""Clients: identity rules, uniqueness, search, archiving and the pages, with tenancy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from clients.countries import COUNTRY_CODES
from clients.forms import ClientForm
from clients.models import Client
from clients.services import (
    archive_client,
    create_client,
    restore_client,
    search_clients,
    update_client,
)
from factu.models import Membership, Role, Taxpayer
from factu.nif import MESSAGES as NIF_MESSAGES
from factu.text import normalize_search

pytestmark = pytest.mark.django_db


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


@pytest.fixture
def other_taxpayer(account) -> Taxpayer:
    return Taxpayer.objects.create(account=account, nif="12345678Z", name="Ana Ruiz")


@pytest.fixture
def jose(taxpayer) -> Client:
    return create_client(
        taxpayer,
        {"name": "José Núñez Pérez", "nif": "X1234567L", "email": "Jose@Example.com"},
    )


@pytest.fixture
def accountant_of_account(account, taxpayer):
    from tests.conftest import make_user

    user = make_user("accountant@example.com")
    Membership.objects.create(user=user, account=account, role=Role.ACCOUNTANT)
    return user


# -- factu.text ------------------------------------------------------------------------------


def test_normalize_search_folds_case_accents_and_spaces():
    assert normalize_search("  José\tMARÍA   Núñez ") == "jose maria nunez"
    assert normalize_search("Straße Ça") == "strasse ca"
    assert normalize_search("") == ""


# -- identity rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("12345678Z", "12345678Z"),  # DNI
        ("es 12345678-z", "12345678Z"),  # DNI with the VAT prefix, dash and lower case
        ("ES B-87654323", "B87654323"),  # CIF
        ("x1234567l", "X1234567L"),  # NIE
        ("ESX1234567L", "X1234567L"),
    ],
)
def test_spanish_nif_is_validated_and_normalised(taxpayer, typed, stored):
    client = create_client(taxpayer, {"name": "Cliente", "nif": typed})
    client.refresh_from_db()
    assert client.nif == stored
    assert (client.account_id, client.country, client.id_type) == (
        taxpayer.account_id,
        "ES",
        "",
    )


def test_all_zero_nif_is_refused(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Ceros", "nif": "00000000T"})
    assert errors_of(excinfo) == {"nif": [NIF_MESSAGES["zeros"]]}


def test_wrong_checksum_gets_the_spanish_message(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Mal", "nif": "12345678A"})
    assert errors_of(excinfo)["nif"] == [
        "El carácter de control del NIF no es correcto: revise el número."
    ]
    assert not Client.objects.exists()


def test_spanish_client_needs_a_nif(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Sin NIF"})
    assert "Indique el NIF" in errors_of(excinfo)["nif"][0]


def test_name_is_required(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "   ", "nif": "12345678Z"})
    assert list(errors_of(excinfo)) == ["name"]


def test_not_censused_spanish_client_uses_type_07_with_a_well_formed_nif(taxpayer):
    client = create_client(
        taxpayer, {"name": "Sin censar", "id_type": "07", "foreign_id": "es 12345678-z"}
    )
    assert (client.nif, client.country, client.foreign_id) == ("", "ES", "12345678Z")
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Mal", "id_type": "07", "foreign_id": "12345678A"})
    assert list(errors_of(excinfo)) == ["foreign_id"]


def test_spanish_client_cannot_use_a_foreign_document_type(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "X", "id_type": "03", "foreign_id": "AB123456"})
    assert list(errors_of(excinfo)) == ["id_type"]


def test_foreign_client_with_idotro(taxpayer):
    client = create_client(
        taxpayer,
        {
            "name": "Acme GmbH",
            "country": "de",
            "id_type": "02",
            "foreign_id": "DE 123456789",
            "postal_code": "10115",
        },
    )
    client.refresh_from_db()
    assert (client.country, client.id_type, client.foreign_id, client.nif) == (
        "DE",
        "02",
        "DE123456789",
        "",
    )
    assert client.get_id_type_display().startswith("02 · NIF-IVA")
    passport = create_client(
        taxpayer,
        {"name": "John Smith", "country": "GB", "id_type": "03", "foreign_id": "123456789"},
    )
    assert passport.identity == "GB 03 123456789"


def test_foreign_client_needs_type_and_number(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Acme SARL", "country": "FR"})
    assert set(errors_of(excinfo)) == {"id_type", "foreign_id"}
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Acme SARL", "country": "FR", "foreign_id": "X1"})
    assert list(errors_of(excinfo)) == ["id_type"]
    with pytest.raises(ValidationError) as excinfo:
        create_client(
            taxpayer, {"name": "Acme", "country": "FR", "id_type": "07", "foreign_id": "X1"}
        )
    assert "solo se usa para clientes de España" in errors_of(excinfo)["id_type"][0]


def test_foreign_client_cannot_carry_a_spanish_nif_nor_a_bad_country(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(
            taxpayer,
            {
                "name": "Acme",
                "country": "PT",
                "nif": "12345678Z",
                "id_type": "02",
                "foreign_id": "PT501964843",
            },
        )
    assert list(errors_of(excinfo)) == ["nif"]
    for country in ("XX", "E", "españa"):
        with pytest.raises(ValidationError) as excinfo:
            create_client(taxpayer, {"name": "Acme", "country": country, "nif": "12345678Z"})
        assert "country" in errors_of(excinfo), country


def test_foreign_id_is_at_most_20_characters(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(
            taxpayer, {"name": "Acme", "country": "US", "id_type": "06", "foreign_id": "1" * 21}
        )
    assert list(errors_of(excinfo)) == ["foreign_id"]


@pytest.mark.parametrize("code", ["28001", "01001", "52006", " 08 001 "])
def test_spanish_postal_codes_accepted(taxpayer, code):
    client = create_client(taxpayer, {"name": "C", "nif": "12345678Z", "postal_code": code})
    assert len(client.postal_code) == 5


@pytest.mark.parametrize("code", ["2800", "280011", "53001", "00100", "28A01"])
def test_spanish_postal_codes_refused(taxpayer, code):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "C", "nif": "12345678Z", "postal_code": code})
    assert errors_of(excinfo) == {
        "postal_code": ["El código postal español tiene 5 cifras (por ejemplo 28001)."]
    }


DIR3 = {
    "dir3_oficina_contable": " l0128 0796",
    "dir3_organo_gestor": "L01280796",
    "dir3_unidad_tramitadora": "LA0002345",
}


def test_a_public_administration_keeps_its_three_dir3_codes_normalised(taxpayer):
    client = create_client(taxpayer, {"name": "Ayuntamiento", "nif": "P2807900B", **DIR3})

    assert (
        client.dir3_oficina_contable,
        client.dir3_organo_gestor,
        client.dir3_unidad_tramitadora,
    ) == ("L01280796", "L01280796", "LA0002345")


@pytest.mark.parametrize("code", ["12345678", "L0128", "L01280", "LAB0002345", "L-0128079"])
def test_a_dir3_code_of_the_wrong_shape_is_refused_by_field(taxpayer, code):
    with pytest.raises(ValidationError) as excinfo:
        create_client(
            taxpayer,
            {"name": "Ayuntamiento", "nif": "P2807900B", **DIR3, "dir3_organo_gestor": code},
        )

    assert errors_of(excinfo) == {
        "dir3_organo_gestor": [
            "Un código DIR3 son una o dos letras seguidas de cifras, 9 o 10 caracteres en total "
            "(por ejemplo L01280796)."
        ]
    }


def test_dir3_codes_go_all_three_or_none(taxpayer):
    with pytest.raises(ValidationError) as excinfo:
        create_client(
            taxpayer,
            {"name": "Ayuntamiento", "nif": "P2807900B", "dir3_oficina_contable": "L01280796"},
        )

    missing = (
        "Indique también este código: FACe pide los tres (oficina contable, órgano gestor y "
        "unidad tramitadora) o ninguno."
    )
    assert errors_of(excinfo) == {
        "dir3_organo_gestor": [missing],
        "dir3_unidad_tramitadora": [missing],
    }


def test_the_einvoice_format_is_one_of_the_choices(taxpayer):
    client = create_client(taxpayer, {"name": "C", "nif": "12345678Z", "einvoice_format": "ubl"})
    assert client.einvoice_format == "ubl"
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "D", "nif": "A28045631", "einvoice_format": "pdf"})
    assert list(errors_of(excinfo)) == ["einvoice_format"]


def test_unknown_fields_are_a_programming_error(taxpayer):
    with pytest.raises(ValueError, match="archived_at"):
        create_client(taxpayer, {"name": "C", "nif": "12345678Z", "archived_at": None})


def test_country_codes_match_the_aeat_schema():
    xsd = Path(__file__).parent.parent / "verifactu/schemas/SuministroInformacion.xsd"
    text = xsd.read_text(encoding="utf-8")
    block = text.split('<simpleType name="CountryType2">', 1)[1].split("</simpleType>", 1)[0]
    assert set(re.findall(r'value="([A-Z]{2})"', block)) == COUNTRY_CODES


def test_the_form_runs_the_same_rules(taxpayer):
    form = ClientForm({"name": "Mal", "nif": "ES 12345678-A", "country": "ES"}, taxpayer=taxpayer)
    assert not form.is_valid()
    assert form.errors["nif"] == [NIF_MESSAGES["checksum"]]
    form = ClientForm({"name": "Bien", "nif": "ES 12345678-Z", "country": "es"}, taxpayer=taxpayer)
    assert form.is_valid(), form.errors
    assert form.data_for_service["nif"] == "12345678Z"


# -- uniqueness --------------------------------------------------------------------------------


def test_nif_is_unique_per_taxpayer_including_archived(taxpayer, other_taxpayer, jose):
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Otro José", "nif": "ES-X1234567L"})
    assert errors_of(excinfo)["nif"] == [
        "Ya hay un cliente de este contribuyente con este NIF: José Núñez Pérez."
    ]
    archive_client(jose)
    with pytest.raises(ValidationError) as excinfo:
        create_client(taxpayer, {"name": "Otro José", "nif": "X1234567L"})
    assert "archivado" in errors_of(excinfo)["nif"][0]
    # Another taxpayer (even of the same account) may have the same client.
    twin = create_client(other_taxpayer, {"name": "José Núñez", "nif": "X1234567L"})
    assert twin.nif == jose.nif


def test_update_keeps_its_own_nif_and_refuses_another(taxpayer, jose):
    update_client(jose, {"name": "José Núñez", "nif": "X1234567L", "city": "Ávila"})
    other = create_client(taxpayer, {"name": "Ana", "nif": "12345678Z"})
    with pytest.raises(ValidationError) as excinfo:
        update_client(other, {"nif": "X1234567L"})
    assert list(errors_of(excinfo)) == ["nif"]


def test_database_refuses_a_duplicate_nif_that_skips_validation(taxpayer, jose):
    with pytest.raises(IntegrityError), transaction.atomic():
        Client.objects.create(taxpayer=taxpayer, account=taxpayer.account, name="X", nif=jose.nif)
    # Clients without a NIF (foreign or not censused) never clash with each other.
    for name in ("A", "B"):
        create_client(
            taxpayer, {"name": name, "country": "FR", "id_type": "03", "foreign_id": "P1"}
        )


# -- search -------------------------------------------------------------------------------------


def test_search_ignores_accents_and_case(account, taxpayer, jose):
    create_client(taxpayer, {"name": "Ana Ruiz", "nif": "12345678Z", "email": "ana@ruiz.es"})
    for q in (
        "jose",
        "JOSÉ",
        "nuñez perez",
        "núñez josé",
        "x1234567",
        "es-x1234567-l",
        "jose@example",
        "@EXAMPLE.COM",
    ):
        assert list(search_clients(account, q, taxpayer)) == [jose], q
    assert list(search_clients(account, "ana", taxpayer))[0].name == "Ana Ruiz"
    assert not search_clients(account, "pedro", taxpayer).exists()
    assert search_clients(account, "", taxpayer).count() == 2


def test_search_is_scoped_to_account_and_taxpayer(
    account, taxpayer, other_taxpayer, other_account, jose
):
    create_client(other_taxpayer, {"name": "José Otro", "nif": "X1234567L"})
    foreign = other_account.taxpayers.get()
    create_client(foreign, {"name": "José Ajeno", "nif": "X1234567L"})
    assert [c.name for c in search_clients(account, "jose", taxpayer)] == ["José Núñez Pérez"]
    assert search_clients(account, "jose").count() == 2
    with pytest.raises(ValueError):
        search_clients(account, "jose", foreign)


def test_search_text_follows_edits(account, taxpayer, jose):
    update_client(jose, {"name": "Jesús Ángel"})
    assert list(search_clients(account, "angel", taxpayer)) == [jose]
    assert not search_clients(account, "nunez", taxpayer).exists()


# -- archive and delete ---------------------------------------------------------------------------


def test_archive_hides_and_restore_shows(account, taxpayer, jose):
    archive_client(jose)
    first = Client.objects.get(pk=jose.pk).archived_at
    assert first is not None
    archive_client(jose)  # idempotent: the first date stays
    assert Client.objects.get(pk=jose.pk).archived_at == first
    assert not search_clients(account, "", taxpayer).exists()
    assert list(search_clients(account, "jose", taxpayer, include_archived=True)) == [jose]
    restore_client(jose)
    assert Client.objects.get(pk=jose.pk).archived_at is None
    assert list(search_clients(account, "", taxpayer)) == [jose]


def test_delete_without_invoices_works(jose):
    assert jose.has_invoices() is False
    jose.delete()
    assert not Client.objects.exists()


def test_delete_refuses_when_invoices_exist(monkeypatch, jose):
    # No Invoice model yet: stand in for the reverse ``invoices`` relation the invoicing app
    # will declare, with any non-empty queryset that has the same API.
    monkeypatch.setattr(
        Client, "invoices", property(lambda self: Client.objects.filter(pk=self.pk)), raising=False
    )
    assert jose.has_invoices() is True
    with pytest.raises(ProtectedError, match="archívelo"):
        jose.delete()
    assert Client.objects.filter(pk=jose.pk).exists()
    archive_client(jose)
    assert Client.objects.get(pk=jose.pk).is_archived


# -- pages ----------------------------------------------------------------------------------------


def urls(account, client) -> dict[str, str]:
    slug = account.slug
    return {
        "list": reverse("client_list", args=[slug]),
        "create": reverse("client_create", args=[slug]),
        "edit": reverse("client_edit", args=[slug, client.id]),
        "archive": reverse("client_archive", args=[slug, client.id]),
        "restore": reverse("client_restore", args=[slug, client.id]),
    }


def form_data(**overrides) -> dict:
    data = {"name": "Nuevo Cliente SL", "nif": "A28045631", "country": "ES"}
    data.update(overrides)
    return data


def test_owner_lists_creates_edits_archives_and_restores(login, owner, account, taxpayer):
    web = login(owner)
    page = web.get(reverse("client_list", args=[account.slug])).content.decode()
    assert "aún no tiene clientes" in page and "Añada el primero" in page
    assert 'aria-current="page">Clientes</a>' in page

    response = web.post(
        reverse("client_create", args=[account.slug]), form_data(nif="es a-28045631")
    )
    assert response.status_code == 302
    client = Client.objects.get(taxpayer=taxpayer)
    assert client.nif == "A28045631"
    u = urls(account, client)
    page = web.get(u["list"]).content.decode()
    assert "Nuevo Cliente SL" in page and "Nuevo cliente</a>" in page and "Archivar" in page

    response = web.post(u["edit"], form_data(name="Cliente Renombrado SL", city="Cádiz"))
    assert response.status_code == 302
    client.refresh_from_db()
    assert (client.name, client.city) == ("Cliente Renombrado SL", "Cádiz")

    assert "¿Archivar Cliente Renombrado SL?" in web.get(u["archive"]).content.decode()
    assert web.post(u["archive"]).status_code == 302
    client.refresh_from_db()
    assert client.archived_at is not None
    page = web.get(u["list"]).content.decode()
    assert u["edit"] not in page and "están archivados" in page
    page = web.get(u["list"] + "?archivados=1").content.decode()
    assert "Cliente Renombrado SL" in page and "Restaurar" in page

    assert web.get(u["restore"]).status_code == 405
    assert web.post(u["restore"]).status_code == 302
    client.refresh_from_db()
    assert client.archived_at is None


def test_create_page_shows_field_errors(login, owner, account, taxpayer):
    web = login(owner)
    response = web.post(reverse("client_create", args=[account.slug]), form_data(nif="12345678A"))
    assert response.status_code == 200
    assert NIF_MESSAGES["checksum"] in response.content.decode()
    response = web.post(
        reverse("client_create", args=[account.slug]), form_data(nif="", country="FR")
    )
    page = response.content.decode()
    assert "Indique el tipo de documento del cliente extranjero." in page
    assert not Client.objects.exists()


def test_list_search_is_accent_insensitive(login, owner, account, taxpayer, jose):
    create_client(taxpayer, {"name": "Ana Ruiz", "nif": "12345678Z"})
    web = login(owner)
    page = web.get(reverse("client_list", args=[account.slug]), {"q": "jose"}).content.decode()
    assert "José Núñez Pérez" in page and "Ana Ruiz" not in page
    page = web.get(reverse("client_list", args=[account.slug]), {"q": "zzz"}).content.decode()
    assert "Ningún cliente coincide con «zzz»" in page
    archive_client(jose)
    page = web.get(reverse("client_list", args=[account.slug]), {"q": "jose"}).content.decode()
    assert "José Núñez Pérez" not in page and "mostrar archivados" in page


def test_list_shows_only_the_current_taxpayers_clients(
    login, owner, account, taxpayer, other_taxpayer, jose
):
    create_client(other_taxpayer, {"name": "Cliente de Ana", "nif": "12345678Z"})
    web = login(owner)
    switch = reverse("switch_taxpayer", args=[account.slug])
    list_url = reverse("client_list", args=[account.slug])
    web.post(switch, {"taxpayer": taxpayer.id})
    page = web.get(list_url).content.decode()
    assert "José Núñez Pérez" in page and "Cliente de Ana" not in page
    web.post(switch, {"taxpayer": other_taxpayer.id})
    page = web.get(list_url).content.decode()
    assert "José Núñez Pérez" not in page and "Cliente de Ana" in page
    # A client of another taxpayer of the same account is still reachable by its URL.
    assert web.get(reverse("client_edit", args=[account.slug, jose.id])).status_code == 200


def test_pagination_shows_page_two(login, owner, account, taxpayer):
    Client.objects.bulk_create(
        Client(
            taxpayer=taxpayer,
            account=account,
            name=f"Cliente {n:03d}",
            country="PT",
            id_type="03",
            foreign_id=f"P{n}",
            search_text=f"cliente {n:03d}",
        )
        for n in range(1, 56)
    )
    web = login(owner)
    url = reverse("client_list", args=[account.slug])
    first = web.get(url).content.decode()
    assert "Cliente 050" in first and "Cliente 051" not in first
    assert "Página 1 de 2" in first and "page=2" in first
    second = web.get(url, {"page": 2}).content.decode()
    assert "Cliente 051" in second and "Cliente 055" in second and "Cliente 050" not in second
    assert "Página 2 de 2" in second
    searched = web.get(url, {"q": "cliente", "page": 2}).content.decode()
    assert "Cliente 055" in searched and "q=cliente&amp;page=1" in searched


def test_viewer_sees_no_buttons_and_gets_403_on_writes(login, viewer, account, taxpayer, jose):
    web = login(viewer)
    u = urls(account, jose)
    page = web.get(u["list"]).content.decode()
    assert "José Núñez Pérez" in page
    for text in ("Nuevo cliente", "Archivar", "Editar", "Restaurar", "Añada el primero"):
        assert text not in page, text
    page = web.get(u["edit"]).content.decode()
    assert "José Núñez Pérez" in page and "Guardar" not in page and "Archivar" not in page
    assert "disabled" in page
    assert web.get(u["create"]).status_code == 403
    assert web.get(u["archive"]).status_code == 403
    assert web.post(u["create"], form_data()).status_code == 403
    assert web.post(u["edit"], form_data(name="Cambiado", nif="X1234567L")).status_code == 403
    assert web.post(u["archive"]).status_code == 403
    archive_client(jose)
    assert web.post(u["restore"]).status_code == 403
    jose.refresh_from_db()
    assert jose.name == "José Núñez Pérez" and jose.archived_at is not None
    assert Client.objects.count() == 1


def test_accountant_of_the_account_may_write(login, accountant_of_account, account, jose):
    web = login(accountant_of_account)
    assert web.post(urls(account, jose)["archive"]).status_code == 302


@pytest.mark.parametrize("persona", ["outsider", "accountant_elsewhere"])
def test_people_of_other_accounts_get_404_on_every_client_url(
    request, login, account, taxpayer, jose, persona
):
    web = login(request.getfixturevalue(persona))
    for name, url in urls(account, jose).items():
        assert web.get(url).status_code == 404, name
        assert web.post(url, form_data()).status_code == 404, name
    jose.refresh_from_db()
    assert jose.archived_at is None and Client.objects.count() == 1


def test_another_accounts_client_is_404_even_for_a_member(login, owner, account, other_account):
    foreign = create_client(other_account.taxpayers.get(), {"name": "Ajeno", "nif": "12345678Z"})
    web = login(owner)
    for name in ("client_edit", "client_archive", "client_restore"):
        url = reverse(name, args=[account.slug, foreign.id])
        expected_get = 405 if name == "client_restore" else 404  # restore is POST-only
        assert web.get(url).status_code == expected_get, name
        assert web.post(url, form_data()).status_code == 404, name
    foreign.refresh_from_db()
    assert foreign.archived_at is None and foreign.name == "Ajeno"


def test_account_without_taxpayer_is_told_to_create_one(login, db):
    from factu.models import Account
    from tests.conftest import make_user

    bare = Account.objects.create(name="Vacía", slug="vacia")
    user = make_user("solo@example.com")
    Membership.objects.create(user=user, account=bare, role=Role.OWNER)
    web = login(user)
    for name in ("client_list", "client_create"):
        page = web.get(reverse(name, args=[bare.slug])).content.decode()
        assert "aún no tiene ninguno" in page
        assert reverse("taxpayer_create", args=[bare.slug]) in page


def test_the_form_groups_the_dir3_codes_and_shows_their_errors(login, owner, account, taxpayer):
    web = login(owner)
    page = web.get(reverse("client_create", args=[account.slug])).content.decode()
    assert "<legend>Administración pública (FACe)</legend>" in page
    assert "Factura electrónica por correo" in page and "Ninguna (solo el PDF)" in page

    response = web.post(
        reverse("client_create", args=[account.slug]),
        form_data(dir3_oficina_contable="L01280796", einvoice_format="facturae"),
    )

    assert response.status_code == 200
    assert "FACe pide los tres" in response.content.decode()
    assert not Client.objects.exists()
    response = web.post(
        reverse("client_create", args=[account.slug]),
        form_data(
            einvoice_format="facturae",
            dir3_oficina_contable="L01280796",
            dir3_organo_gestor="L01280796",
            dir3_unidad_tramitadora="la0002345",
        ),
    )
    assert response.status_code == 302
    client = Client.objects.get()
    assert (client.einvoice_format, client.dir3_unidad_tramitadora) == ("facturae", "LA0002345")
