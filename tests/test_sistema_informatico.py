"""A truthful SistemaInformatico: IndicadorMultiplesOT follows the installation's chains,
TipoUsoPosibleSoloVerifactu is N on every record, and the v1 API computes both."""

from __future__ import annotations

from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone

from factu.models import Taxpayer
from tests import conftest
from tests.payloads import acme_erp_system
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from verifactu import event_log, event_xml
from verifactu.models import BillingRecord, Chain, ComputerSystem

LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni(number: int) -> str:
    return f"{number:08d}{LETTERS[number % 23]}"


def flags(record) -> tuple[str, str]:
    """(TipoUsoPosibleSoloVerifactu, IndicadorMultiplesOT) as the record's XML says."""
    xml = record.xml

    def text(tag: str) -> str:
        return xml.split(f"<{tag}>", 1)[1].split("<", 1)[0]

    return text("TipoUsoPosibleSoloVerifactu"), text("IndicadorMultiplesOT")


def register_for(taxpayer, system, number: str, **facts) -> BillingRecord:
    return conftest.register_for(taxpayer, system, number, **facts).record


@pytest.fixture
def second_taxpayer(account) -> Taxpayer:
    return Taxpayer.objects.create(account=account, nif=dni(12345678), name="Segunda SL")


def test_a_lone_taxpayers_records_say_one_obligado_and_not_only_verifactu(register):
    first = register().record
    second = register(invoice_number="F-2026-043").record
    assert flags(first) == flags(second) == ("N", "N")
    assert Chain.objects.get().multiple_taxpayers is False


def test_an_installations_second_taxpayer_flips_the_indicator_for_both(
    register, second_taxpayer, computer_system
):
    before = register().record
    theirs = register_for(second_taxpayer, computer_system, "S-1")
    after = register(invoice_number="F-2026-043").record
    assert flags(before) == ("N", "N")  # true when it was built
    assert flags(theirs) == ("N", "S")
    assert flags(after) == ("N", "S")
    assert set(Chain.objects.values_list("multiple_taxpayers", flat=True)) == {True}


def test_another_installation_keeps_its_own_indicator(
    register, account, second_taxpayer, computer_system
):
    other = conftest.another_installation(computer_system, "TEST-2")
    register()
    elsewhere = register_for(second_taxpayer, other, "S-1")
    again = register(invoice_number="F-2026-043").record
    assert flags(elsewhere) == flags(again) == ("N", "N")
    assert set(Chain.objects.values_list("multiple_taxpayers", flat=True)) == {False}


def test_cancellations_corrections_and_events_tell_the_same_truth(
    register, second_taxpayer, computer_system, signing_certificate
):
    from verifactu import corrections

    register_for(second_taxpayer, computer_system, "S-1")
    registration = register()
    cancellation = corrections.cancel(registration.invoice)
    assert flags(cancellation) == ("N", "S")
    event = event_log.log_event(registration.record.chain, "01")
    assert "<TipoUsoPosibleSoloVerifactu>N<" in event.xml
    assert "<IndicadorMultiplesOT>S<" in event.xml
    assert event_xml.validate_evento(event.xml, signed=False) == []


def test_the_migration_backfills_every_chain_of_a_shared_installation(account):
    migration = import_module("verifactu.migrations.0014_truthful_sistema_informatico")
    installation = {"producer_nif": "B87654323", "system_id": "FA"}
    shared = [
        Chain.objects.create(
            account=account, issuer_nif=nif, installation_number="1", **installation
        )
        for nif in (dni(1), dni(2))
    ]
    alone = Chain.objects.create(
        account=account, issuer_nif=dni(1), installation_number="2", **installation
    )
    migration.backfill(apps, None)
    assert [c.multiple_taxpayers for c in Chain.objects.filter(pk__in=[c.pk for c in shared])] == [
        True,
        True,
    ]
    alone.refresh_from_db()
    assert alone.multiple_taxpayers is False


# --------------------------------------------------------------------------- the v1 API


def test_the_api_computes_both_flags_and_ignores_what_is_sent(
    api_client, account, taxpayer, second_taxpayer
):
    created = api_client.post(
        "/api/v1/computer-systems",
        data=acme_erp_system(only_verifactu=True, multiple_taxpayers=True),
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    data = created.json()["data"]
    assert (data["only_verifactu"], data["multiple_taxpayers"]) == (False, False)

    system = ComputerSystem.objects.get(pk=data["id"])
    register_for(taxpayer, system, "F-1")

    def listed() -> dict:
        (item,) = [
            s
            for s in api_client.get("/api/v1/computer-systems").json()["data"]
            if s["id"] == data["id"]
        ]
        return item

    assert listed()["multiple_taxpayers"] is False
    register_for(second_taxpayer, system, "S-1")
    assert (listed()["only_verifactu"], listed()["multiple_taxpayers"]) == (False, True)


def test_the_openapi_schema_marks_both_flags_read_only(client):
    response = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    schemas = response.json()["components"]["schemas"]
    for name in ("only_verifactu", "multiple_taxpayers"):
        field = schemas["V1ComputerSystem"]["properties"][name]
        assert (field["type"], field.get("readOnly")) == ("boolean", True), name
        assert name not in schemas["V1ComputerSystemRequest"]["properties"], name


# --------------------------------------------------------------------------- PostgreSQL

OPENER = (
    DJANGO_CHILD
    + """
import time
from django.db import connections, transaction
from django.utils import timezone
from factu.models import Taxpayer
from tests.conftest import make_facts
from verifactu.models import ComputerSystem
from verifactu.records import register_invoice

taxpayer = Taxpayer.objects.select_related("account").get(pk="{taxpayer}")
system = ComputerSystem.objects.get(pk="{system}")
"""
    + AT_THE_STARTING_LINE
    + """
with transaction.atomic():
    register_invoice(
        account=taxpayer.account, taxpayer=taxpayer, system=system, source="api_v1",
        facts=make_facts(issuer_nif=taxpayer.nif, issuer_name=taxpayer.name,
                         invoice_number="P-1", invoice_date=timezone.localdate()),
    )
    time.sleep(0.3)  # a slow commit: the other openers reach their chains meanwhile
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_first_chains_opened_at_once_on_one_installation_all_end_up_multiple(
    transactional_db, account, computer_system, tmp_path
):
    """Openers of one installation queue for its lock: the first record of the first chain
    says N (alone when built), every other first record and every chain says S."""
    taxpayers = [
        Taxpayer.objects.create(account=account, nif=dni(20000000 + n), name=f"T{n}")
        for n in range(6)
    ]
    go = tmp_path / "go"
    run_together(
        go,
        [OPENER.format(taxpayer=t.pk, system=computer_system.pk, go=go) for t in taxpayers],
        timeout=120,
    )

    assert list(Chain.objects.values_list("multiple_taxpayers", flat=True)) == [True] * 6
    firsts = sorted(flags(r)[1] for r in BillingRecord.objects.all())
    assert firsts == ["N"] + ["S"] * 5
    later = register_for(taxpayers[0], computer_system, "P-2", invoice_date=timezone.localdate())
    assert flags(later) == ("N", "S")
