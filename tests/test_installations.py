"""One software, namespaced installations: no account can squat another's chain.

Issue 16's squatting attack, driven through HTTP with two accounts and their own tokens: the
attacker registers the victim's NIF and a computer system that copies the victim's old
installation (``factu-<slug>``) and issues; the victim then signs up and issues in the browser
and through ``/api/v1`` as if nothing had happened; every answer the attacker gets is the same
whether the victim exists or not; and at the AEAT's level (the records' ``SistemaInformatico``
and the ``Chain`` rows) the two installations differ.
"""

from __future__ import annotations

import json
import re
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from api.services import create_token
from clients.services import create_client
from factu import env
from factu.models import Account, Role, Taxpayer, User
from invoicing.models import Invoice, Series
from tests.conftest import make_user, register_for, sign_up_through_the_link
from tests.payloads import SEED_003_INVOICE, acme_erp_system
from tests.test_api_v1 import body
from verifactu import installations
from verifactu.models import Chain, ComputerSystem, FiscalInvoice
from verifactu.xml import NS_SF

SF = f"{{{NS_SF}}}"
VICTIM_NIF = "12345678Z"
VICTIM_ACCOUNT_NAME = "Panadería Víctima"
VICTIM_SLUG = "panaderia-victima"  # what sign-up makes of the name: predictable, as the issue says


def sistema(xml: str) -> dict[str, str]:
    """The record's SistemaInformatico, tag by tag (what the AEAT is told)."""
    root = etree.fromstring(xml.encode())
    block = root.find(f".//{SF}SistemaInformatico")
    assert block is not None, xml[:300]
    return {
        etree.QName(child).localname: (child.text or "")
        for child in block.iter()
        if len(child) == 0
    }


def bearer(raw: str) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def new_tenant(email: str, slug: str) -> tuple[Account, Client]:
    """A free account with its owner's token: all an attacker needs."""
    user = make_user(email)
    account = Account.objects.create(name=slug, slug=slug)
    account.memberships.create(user=user, role=Role.OWNER)
    _, raw = create_token(account, user, "mine")
    return account, bearer(raw)


def post(client: Client, path: str, data: dict):
    return client.post(
        path,
        data=body(data) if "breakdown" in data else json.dumps(data),
        content_type="application/json",
    )


UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
NOISE = [
    (UUID_RE, "<uuid>"),
    (re.compile(r"sif-[0-9a-f]{8}"), "sif-<hex>"),
    (re.compile(r"[0-9a-f]{20,}"), "<hex>"),  # RefExterna: the fiscal invoice's id
    (re.compile(r"\b[0-9A-F]{64}\b"), "<hash>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?"), "<time>"),
]


def normalised(response) -> tuple[int, str]:
    """What an answer tells beyond its own ids, hashes and times."""
    text = response.content.decode()
    for pattern, placeholder in NOISE:
        text = pattern.sub(placeholder, text)
    return response.status_code, text


def attack(api: Client, number: str) -> list[tuple[int, str]]:
    """The squatting attack of issue 16, as a stranger with a free account runs it."""
    answers = []
    created = post(api, "/api/v1/taxpayers", {"nif": VICTIM_NIF, "name": "Panadería (copia)"})
    answers.append(normalised(created))
    system = post(
        api,
        "/api/v1/computer-systems",
        {
            "producer_name": "Factu Software SL",
            "producer_nif": "B87654323",
            "name": "Factu",
            "system_id": "FA",
            "version": "1.0",
            "installation_number": f"factu-{VICTIM_SLUG}",
        },
    )
    answers.append(normalised(system))
    invoice = post(
        api,
        "/api/v1/invoices",
        {
            **SEED_003_INVOICE,
            "taxpayer_id": created.json()["data"]["id"],
            "computer_system_id": system.json()["data"]["id"],
            "invoice_number": number,
            "invoice_date": timezone.localdate().isoformat(),
        },
    )
    answers.append(normalised(invoice))
    assert invoice.status_code == 201, invoice.content
    invoice_id = invoice.json()["data"]["id"]
    for path in (
        "/api/v1/taxpayers",
        "/api/v1/computer-systems",
        f"/api/v1/invoices/{invoice_id}/status",
        f"/api/v1/invoices/{invoice_id}/xml",
        f"/api/v1/taxpayers/{VICTIM_NIF}/invoices",
    ):
        answers.append(normalised(api.get(path)))
    return answers


def victim_signs_up(client: Client) -> tuple[User, Account]:
    """The victim signs up in the browser (the email, its link, then the form)."""
    response = sign_up_through_the_link(
        client,
        {
            "full_name": "Pilar Horno",
            "email": "pilar@panaderia.example",
            "password": "una clave bastante larga",
            "account_kind": "autonomo",
            "account_name": VICTIM_ACCOUNT_NAME,
            "taxpayer_nif": VICTIM_NIF,
            "taxpayer_name": "Pilar Horno",
        },
    )
    assert response.status_code == 302, response.content.decode()[:500]
    user = User.objects.get(email="pilar@panaderia.example")
    return user, Account.objects.get(memberships__user=user)


def victim_issues_in_the_browser(client: Client, account: Account) -> Invoice:
    taxpayer = account.taxpayers.get()
    series = Series.objects.get(taxpayer=taxpayer)
    buyer = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    form = {
        "series": str(series.pk),
        "client": str(buyer.pk),
        "issue_date": timezone.localdate().isoformat(),
        "due_date": "",
        "description": "Pan",
        "irpf_rate": "0",
        "notes": "",
        "payment_details": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-description": "Pan de centeno",
        "lines-0-quantity": "10",
        "lines-0-unit_price": "2,50",
        "lines-0-discount": "",
        "lines-0-iva_type": "general",
        "lines-0-cause": "",
    }
    created = client.post(reverse("invoice_create", args=[account.slug]), form)
    assert created.status_code == 302, created.content.decode()[:800]
    invoice = Invoice.objects.get(taxpayer=taxpayer)
    issued = client.post(reverse("invoice_issue", args=[account.slug, invoice.pk]))
    assert issued.status_code == 302
    invoice.refresh_from_db()
    assert invoice.issued_at is not None, "the victim's invoice was not issued"
    return invoice


def test_the_squatting_attack_through_http_fails_and_tells_the_attacker_nothing(db, settings):
    # Before the victim exists: the first attacker runs the attack.
    early, early_api = new_tenant("early@attacker.example", "atacante-1")
    before = attack(early_api, "ATK-1")

    # The victim signs up and issues normally, in the browser and through /api/v1.
    browser = Client()
    owner, victim = victim_signs_up(browser)
    web_invoice = victim_issues_in_the_browser(browser, victim)
    _, raw = create_token(victim, owner, "erp")
    victim_api = bearer(raw)
    erp = post(victim_api, "/api/v1/computer-systems", {"label": "erp"})
    assert erp.status_code == 201, erp.content
    taxpayer_id = victim_api.get("/api/v1/taxpayers").json()["data"][0]["id"]
    v1_invoice = post(
        victim_api,
        "/api/v1/invoices",
        {
            **SEED_003_INVOICE,
            "taxpayer_id": taxpayer_id,
            "computer_system_id": erp.json()["data"]["id"],
            "invoice_number": "V1-1",
            "invoice_date": timezone.localdate().isoformat(),
        },
    )
    assert v1_invoice.status_code == 201, v1_invoice.content

    # After: a second attacker runs the same attack, the first one goes on issuing.
    late, late_api = new_tenant("late@attacker.example", "atacante-2")
    after = attack(late_api, "ATK-1")
    assert after == before  # no answer differs by whether the victim exists
    assert normalised(early_api.get("/api/v1/computer-systems")) == before[4]
    again = post(
        early_api,
        "/api/v1/invoices",
        {
            **SEED_003_INVOICE,
            "invoice_number": "ATK-2",
            "invoice_date": timezone.localdate().isoformat(),
        },
    )
    assert again.status_code == 201, again.content
    for answer in [*before, *after]:
        text = answer[1].lower()
        assert "another account" not in text and VICTIM_SLUG not in text

    # At the AEAT's level: each account states the same software on its own installation.
    victim_web = sistema(web_invoice.fiscal_invoice.registration.xml)
    victim_v1 = sistema(
        FiscalInvoice.objects.get(pk=v1_invoice.json()["data"]["id"]).registration.xml
    )
    attackers = [
        sistema(FiscalInvoice.objects.get(account=a, invoice_number="ATK-1").registration.xml)
        for a in (early, late)
    ]
    software = {
        "NombreRazon": settings.FACTU_SIF_PRODUCER_NAME,
        "NIF": settings.FACTU_SIF_PRODUCER_NIF,
        "NombreSistemaInformatico": settings.FACTU_SIF_NAME,
        "IdSistemaInformatico": settings.FACTU_SIF_ID,
        "Version": settings.FACTU_SIF_VERSION,
    }
    for stated in (victim_web, victim_v1, *attackers):
        assert {k: stated[k] for k in software} == software
    assert victim_web["NumeroInstalacion"] == f"{victim.pk}-factu"
    assert victim_v1["NumeroInstalacion"] == f"{victim.pk}-erp"
    for account, stated in zip((early, late), attackers, strict=True):
        assert stated["NumeroInstalacion"].startswith(f"{account.pk}-sif-")
    numbers = [s["NumeroInstalacion"] for s in (victim_web, victim_v1, *attackers)]
    assert len(set(numbers)) == 4 and f"factu-{VICTIM_SLUG}" not in numbers
    assert victim_web["IndicadorMultiplesOT"] == "N"  # the attackers' chains are not counted

    chains = Chain.objects.filter(issuer_nif=VICTIM_NIF)
    assert sorted((c.account_id == victim.pk, c.installation_number) for c in chains) == sorted(
        [(True, n) for n in numbers[:2]] + [(False, n) for n in numbers[2:]]
    )
    assert all(c.length >= 1 for c in chains)
    assert chains.get(installation_number=numbers[0]).records.get().fiscal_invoice.account == victim


def test_the_victims_real_installation_number_is_ignored_too(api_client, account, other_account):
    """Even knowing the victim's number, another account's computer system never gets it."""
    victim_system = installations.default_installation(other_account.pk)
    response = post(
        api_client,
        "/api/v1/computer-systems",
        {"installation_number": victim_system.installation_number, "label": "copia"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["data"]["installation_number"] == f"{account.pk}-copia"


def test_a_nif_another_account_registered_is_registered_in_this_one_too(api_client, other_account):
    foreign = other_account.taxpayers.get()
    response = post(api_client, "/api/v1/taxpayers", {"nif": foreign.nif, "name": "Otra"})
    assert response.status_code == 201, response.content
    assert Taxpayer.objects.filter(nif=foreign.nif).count() == 2


# -- the software every record states ------------------------------------------------------


@override_settings(
    FACTU_SIF_PRODUCER_NAME="Operadora Real SA",
    FACTU_SIF_PRODUCER_NIF="A28045631",
    FACTU_SIF_NAME="Factu Pro",
    FACTU_SIF_ID="FP",
    FACTU_SIF_VERSION="7.3",
)
def test_records_state_the_deployments_software_whatever_a_system_declared(register):
    """The ``computer_system`` fixture declares "Factu Software SL"/B87654323/FA/1.0, like a
    row of before the namespacing: the record states the settings."""
    stated = sistema(register().record.xml)
    assert stated["NombreRazon"] == "Operadora Real SA"
    assert stated["NIF"] == "A28045631"
    assert stated["NombreSistemaInformatico"] == "Factu Pro"
    assert stated["IdSistemaInformatico"] == "FP"
    assert stated["Version"] == "7.3"
    assert stated["NumeroInstalacion"] == "TEST-1"
    chain = Chain.objects.get()
    assert (chain.producer_nif, chain.system_id) == ("A28045631", "FP")


def test_fixed_v1_fields_are_accepted_and_ignored(api_client, account, taxpayer, settings):
    response = post(
        api_client,
        "/api/v1/computer-systems",
        acme_erp_system(label="almacen"),
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["label"] == "almacen"
    assert data["installation_number"] == f"{account.pk}-almacen"
    assert (
        data["producer_name"],
        data["producer_nif"],
        data["name"],
        data["system_id"],
        data["version"],
    ) == (
        settings.FACTU_SIF_PRODUCER_NAME,
        settings.FACTU_SIF_PRODUCER_NIF,
        settings.FACTU_SIF_NAME,
        settings.FACTU_SIF_ID,
        settings.FACTU_SIF_VERSION,
    )
    registered = post(
        api_client,
        "/api/v1/invoices",
        {**SEED_003_INVOICE, "taxpayer_id": str(taxpayer.pk), "computer_system_id": data["id"]},
    )
    assert registered.status_code == 201, registered.content
    xml = api_client.get(f"/api/v1/invoices/{registered.json()['data']['id']}/xml").content
    stated = sistema(xml.decode())
    assert stated["NIF"] == settings.FACTU_SIF_PRODUCER_NIF and "Acme" not in xml.decode()
    assert stated["NumeroInstalacion"] == f"{account.pk}-almacen"


def test_a_label_is_unique_in_the_account_only(api_client, account, other_account):
    installations.create_installation(other_account, "tienda")
    assert post(api_client, "/api/v1/computer-systems", {"label": "tienda"}).status_code == 201
    again = post(api_client, "/api/v1/computer-systems", {"label": "tienda"})
    assert again.status_code == 400 and list(again.json()["errors"]) == ["label"]
    for bad in ("factu", "con espacio", "-guion", "x" * 41, "<b>"):
        refused = post(api_client, "/api/v1/computer-systems", {"label": bad})
        assert refused.status_code == 400 and "label" in refused.json()["errors"], bad


def test_without_a_label_each_system_gets_its_own_installation(api_client, account):
    numbers = {
        post(api_client, "/api/v1/computer-systems", {}).json()["data"]["installation_number"]
        for _ in range(3)
    }
    assert len(numbers) == 3
    assert all(re.fullmatch(rf"{account.pk}-sif-[0-9a-f]{{8}}", n) for n in numbers)


def test_the_openapi_schema_marks_the_fixed_fields_read_only(client):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    schemas = response.json()["components"]["schemas"]
    fixed = ["producer_name", "producer_nif", "name", "system_id", "version"]
    for name in [*fixed, "installation_number"]:
        field = schemas["V1ComputerSystem"]["properties"][name]
        assert field.get("readOnly") is True, name
        assert "ignored" in field["description"], name
        assert name not in schemas["V1ComputerSystemRequest"]["properties"], name
    assert "label" in schemas["V1ComputerSystemRequest"]["properties"]
    paths = response.json()["paths"]
    assert (
        "accepted on create and ignored" in paths["/api/v1/computer-systems"]["post"]["description"]
    )


def test_seed_003_computer_system_id_still_names_the_installation(api_client, taxpayer):
    system = post(api_client, "/api/v1/computer-systems", {}).json()["data"]
    registered = post(
        api_client,
        "/api/v1/invoices",
        {**SEED_003_INVOICE, "taxpayer_id": str(taxpayer.pk), "computer_system_id": system["id"]},
    )
    assert registered.status_code == 201, registered.content
    invoice = FiscalInvoice.objects.get(pk=registered.json()["data"]["id"])
    assert str(invoice.computer_system_id) == system["id"]


def test_factus_own_issuance_and_the_desk_page_use_one_rule(account, taxpayer):
    from desk.settings_views import installations as desk_installations
    from invoicing.services import factu_computer_system

    expected = installations.default_installation_number(account)
    assert expected == installations.installation_number(account.pk, installations.DEFAULT_LABEL)
    system = factu_computer_system(taxpayer)
    assert system.installation_number == expected == f"{account.pk}-factu"
    assert factu_computer_system(taxpayer) == system  # created once
    assert desk_installations is installations


# -- settings are checked at start-up --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FACTU_SIF_PRODUCER_NIF", "B12345678"),
        ("FACTU_SIF_ID", "FAC"),
        ("FACTU_SIF_ID", "F"),
        ("FACTU_SIF_ID", "F<"),
        ("FACTU_SIF_NAME", "x" * 31),
        ("FACTU_SIF_VERSION", ""),
        ("FACTU_SIF_PRODUCER_NAME", "Acme <SL>"),
    ],
)
def test_bad_software_settings_stop_start_up_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        env.sistema_informatico()


def test_software_settings_have_development_defaults(monkeypatch):
    for suffix in ("PRODUCER_NAME", "PRODUCER_NIF", "NAME", "ID", "VERSION"):
        monkeypatch.delenv(f"FACTU_SIF_{suffix}", raising=False)
    assert env.sistema_informatico() == {
        "producer_name": "Factu Software SL",
        "producer_nif": "B87654323",
        "name": "Factu",
        "system_id": "FA",
        "version": "1.0",
    }
    monkeypatch.setenv("FACTU_SIF_PRODUCER_NIF", "a28045631")
    assert env.sistema_informatico()["producer_nif"] == "A28045631"


@pytest.mark.parametrize("old", sorted(env.RENAMED_SIF_SETTINGS))
def test_a_setting_of_the_old_name_stops_start_up_naming_the_new_one(monkeypatch, old):
    """Ignored, it would let the defaults change the producer NIF and id that key every chain."""
    monkeypatch.setenv(old, "B87654323")
    with pytest.raises(ImproperlyConfigured, match=env.RENAMED_SIF_SETTINGS[old]):
        env.sistema_informatico()


def test_production_requires_the_producer(monkeypatch):
    for suffix in ("PRODUCER_NAME", "PRODUCER_NIF"):
        monkeypatch.delenv(f"FACTU_SIF_{suffix}", raising=False)
    with pytest.raises(ImproperlyConfigured, match="FACTU_SIF_PRODUCER_NAME is required"):
        env.sistema_informatico(production=True)
    monkeypatch.setenv("FACTU_SIF_PRODUCER_NAME", "Operadora SL")
    monkeypatch.setenv("FACTU_SIF_PRODUCER_NIF", "A28045631")
    assert env.sistema_informatico(production=True)["producer_nif"] == "A28045631"


# -- the migration -------------------------------------------------------------------------

namespace = import_module("verifactu.migrations.0017_namespaced_installations").namespace


def legacy_system(account: Account, number: str, placeholder: str) -> ComputerSystem:
    """A row as it was before 0017: numbered by whoever created it (the label is 0017's)."""
    return ComputerSystem.objects.create(
        account=account,
        label=placeholder,
        producer_name="Factu Software SL",
        producer_nif="B87654323",
        name="Factu",
        system_id="FA",
        version="1.0",
        installation_number=number,
    )


def test_the_migration_keeps_existing_installation_numbers_and_their_chains(account, taxpayer):
    own = legacy_system(account, "factu-estudio-sol", "a")
    api = legacy_system(account, "INST-9", "b")
    first = register_for(taxpayer, own, "F-1").record
    namespace(apps, None)
    own.refresh_from_db()
    api.refresh_from_db()
    assert (own.label, own.installation_number) == ("factu", "factu-estudio-sol")
    assert api.installation_number == "INST-9"
    assert re.fullmatch(r"legacy-[0-9a-f]{12}", api.label)
    # Factu's issuance goes on on the same installation, in the same chain.
    system = installations.default_installation(account.pk)
    assert system == own
    second = register_for(taxpayer, system, "F-2", invoice_date=first.fiscal_invoice.invoice_date)
    assert (second.record.chain_id, second.record.previous_id) == (first.chain_id, first.pk)


def test_the_migration_moves_squatters_off_the_victims_installation(account, taxpayer):
    """The attack of issue 16 as it could be done before the fix, before the victim issued:
    the squatter's chain stays (it is what the AEAT accepted), closed; nobody is left sharing
    an installation number, and the victim issues under its own NIF again."""
    attacker = Account.objects.create(name="Atacante", slug="atacante")
    late_victim = Account.objects.create(name="Recién llegada", slug="recien-llegada")
    stolen = Taxpayer.objects.create(account=attacker, nif=taxpayer.nif, name="Copia")
    stolen_late = Taxpayer.objects.create(account=attacker, nif=VICTIM_NIF, name="Copia 2")
    second = Taxpayer.objects.create(account=account, nif=VICTIM_NIF, name="Segunda")
    # the attacker chained the victim's NIF on a copy of the victim's installation; the
    # victim, refused for that NIF, went on with another taxpayer there
    copy = legacy_system(attacker, "factu-estudio-sol", "a")
    squatted = register_for(stolen, copy, "S-1").record.chain
    victims = legacy_system(account, "factu-estudio-sol", "a")
    register_for(second, victims, "F-1")
    # and squatted a newcomer's installation before it had issued anything
    before = legacy_system(attacker, "factu-recien-llegada", "b")
    register_for(stolen_late, before, "S-2")
    namespace(apps, None)

    for system in (victims, copy, before):
        system.refresh_from_db()
    assert (victims.label, victims.installation_number) == ("factu", f"{account.pk}-factu")
    assert copy.installation_number == f"{attacker.pk}-{copy.label}"
    assert before.installation_number == f"{attacker.pk}-{before.label}"
    owners: dict[str, set] = {}
    for account_id, number in ComputerSystem.objects.values_list(
        "account_id", "installation_number"
    ):
        owners.setdefault(number, set()).add(account_id)
    assert all(len(accounts) == 1 for accounts in owners.values())
    squatted.refresh_from_db()
    assert (squatted.account, squatted.installation_number) == (attacker, "factu-estudio-sol")
    # The victim now issues under its own NIF, on its own installation.
    mine = register_for(taxpayer, installations.default_installation(account.pk), "F-2").record
    assert mine.chain.installation_number == f"{account.pk}-factu" and mine.position == 1
    assert installations.default_installation(late_victim.pk).installation_number == (
        f"{late_victim.pk}-factu"
    )


def test_the_migration_renumbers_a_number_that_names_another_account(account, other_account):
    forged = legacy_system(other_account, f"{account.pk}-factu", "a")
    fair = legacy_system(account, "INST-1", "a")
    namespace(apps, None)
    forged.refresh_from_db()
    fair.refresh_from_db()
    assert forged.installation_number == f"{other_account.pk}-{forged.label}"
    assert fair.installation_number == "INST-1"


def test_a_chain_left_on_an_accounts_number_is_never_reached_by_that_account(
    account, other_account, taxpayer
):
    """A tenant that, before the namespacing, declared this account's future number and
    opened a chain on it keeps that (closed) chain; the account's own installation takes
    another number, and its invoices chain apart."""
    sif = installations.software()
    squatted = Chain.objects.create(
        account=other_account,
        issuer_nif=taxpayer.nif,
        producer_nif=sif.producer_nif,
        system_id=sif.system_id,
        installation_number=installations.installation_number(account.pk, "factu"),
    )
    own = installations.default_installation(account.pk)
    assert own.installation_number.startswith(f"{account.pk}-factu-")
    record = register_for(taxpayer, own, "F-1").record
    assert record.chain.account_id == account.pk and record.chain_id != squatted.pk
    assert record.position == 1


def test_a_system_declared_with_another_producer_keeps_its_number_on_a_new_chain(account, taxpayer):
    """Its old chain was keyed by the producer it declared; its records now state the
    deployment's software, another installation at the AEAT, so they start a chain of their
    own (PrimerRegistro) and the old one stays as it was."""
    declared = legacy_system(account, "INST-9", "a")
    old = Chain.objects.create(
        account=account,
        issuer_nif=taxpayer.nif,
        producer_nif="B12345674",
        system_id="AE",
        installation_number="INST-9",
    )
    namespace(apps, None)
    declared.refresh_from_db()
    record = register_for(taxpayer, declared, "F-1").record
    assert record.chain_id != old.pk and record.position == 1
    assert "<PrimerRegistro>S</PrimerRegistro>" in record.xml
    assert sistema(record.xml)["NumeroInstalacion"] == "INST-9"
