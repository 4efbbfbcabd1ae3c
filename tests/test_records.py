"""Registering records: validated, chained and stored immutably in the request."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from lxml import etree

from factu.models import Taxpayer
from tests.conftest import make_facts
from verifactu import envelopes
from verifactu import xml as vxml
from verifactu.models import BillingRecord, FiscalInvoice, ImmutableRecordError, RecordStatus
from verifactu.records import DuplicateInvoice, RecordRefused, register_invoice


def test_first_record_starts_the_chain(register):
    reg = register()
    record = reg.record
    assert (record.position, record.previous, record.previous_huella) == (1, None, "")
    assert record.status == RecordStatus.QUEUED
    assert "<PrimerRegistro>S</PrimerRegistro>" in record.xml
    assert record.importe_total_text == "825.00" and record.cuota_total_text == "125.00"
    assert record.invoice_date_text == "13-03-2026"
    assert reg.invoice.total_amount_cents == 82500


def test_second_record_links_to_the_first(register):
    first = register().record
    second = register(invoice_number="F-2026-043").record
    assert second.position == 2
    assert second.previous_id == first.pk
    assert second.previous_huella == first.huella
    assert f"<Huella>{first.huella}</Huella>" in second.xml


def test_appending_quotes_the_head_from_the_locked_chain_row_without_reading_records(register):
    first = register().record
    with CaptureQueriesContext(connection) as queries:
        second = register(invoice_number="F-2026-043").record
    reads = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert reads and not [sql for sql in reads if 'FROM "verifactu_billingrecord"' in sql]
    # the insert moves the chain row (the trigger of migration 0008), not a statement of ours
    assert not [q["sql"] for q in queries if q["sql"].startswith('UPDATE "verifactu_chain"')]
    anterior = etree.fromstring(second.xml.encode()).find(
        "sf:Encadenamiento/sf:RegistroAnterior", {"sf": vxml.NS_SF}
    )
    assert [child.text for child in anterior] == [
        first.issuer_nif,
        first.invoice_number,
        first.invoice_date_text,
        first.huella,
    ]
    chain = second.chain
    chain.refresh_from_db()
    assert (chain.head_invoice_number, chain.head_invoice_date_text, chain.last_huella) == (
        "F-2026-043",
        second.invoice_date_text,
        second.huella,
    )


def test_the_chain_is_locked_in_one_query_that_builds_it_as_the_orm_does(
    register, account, taxpayer, computer_system
):
    from verifactu.chains import lock_chain
    from verifactu.models import Chain

    register()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        chain = lock_chain(account, taxpayer.nif, taxpayer.name, computer_system)
    assert len(queries) == 1
    assert ("FOR UPDATE" in queries[0]["sql"]) is connection.features.has_select_for_update
    orm = Chain.objects.get(pk=chain.pk)
    fields = Chain._meta.concrete_fields
    assert {f.attname: getattr(chain, f.attname) for f in fields} == {
        f.attname: getattr(orm, f.attname) for f in fields
    }
    assert {f.attname: type(getattr(chain, f.attname)) for f in fields} == {
        f.attname: type(getattr(orm, f.attname)) for f in fields
    }
    assert chain._state.adding is False and chain.head_id is not None


@pytest.mark.django_db(transaction=True)
def test_the_chain_is_never_locked_outside_a_transaction(
    register, account, taxpayer, computer_system
):
    from verifactu.chains import lock_chain

    register()
    with pytest.raises(transaction.TransactionManagementError):
        lock_chain(account, taxpayer.nif, taxpayer.name, computer_system)


def test_stored_xml_validates_and_its_huella_recomputes_from_the_text(register):
    register()
    record = register(invoice_number="F-2026-043").record
    assert envelopes.validate_record(record.xml) == []
    parsed = vxml.parse_record(record.xml)
    assert parsed["huella"] == record.huella
    assert vxml.recompute_huella(parsed) == record.huella
    assert parsed["fields"]["FechaHoraHusoGenRegistro"] == record.generated_at_text


def test_a_record_breaking_aeat_rules_is_never_chained(register):
    bad_line = (
        make_facts()
        .breakdown[0]
        .__class__(
            base_amount=Decimal("100.00"), tax_rate=Decimal("17.00"), tax_amount=Decimal("17.00")
        )
    )
    with pytest.raises(RecordRefused) as exc:
        register(
            breakdown=(bad_line,),
            total_amount=Decimal("117.00"),
            total_tax_amount=Decimal("17.00"),
            invoice_date=date(2099, 1, 1),
        )
    fields = {(p.field, p.code) for p in exc.value.problems}
    assert ("breakdown.0.tax_rate", "1124") in fields
    assert ("invoice_date", "1112") in fields
    assert not BillingRecord.objects.exists()


def test_a_number_is_registered_once_per_taxpayer(register):
    register()
    with pytest.raises(DuplicateInvoice):
        register()
    assert BillingRecord.objects.count() == 1


def test_dates_must_not_go_back_before_the_last_registered_invoice(register):
    register()
    with pytest.raises(RecordRefused) as exc:
        register(invoice_number="F-2026-001", invoice_date=date(2026, 3, 1))
    assert [(p.field, p.code, p.message) for p in exc.value.problems] == [
        (
            "invoice_date",
            "chronology",
            "Must not be earlier than the last registered invoice, F-2026-042 of 2026-03-13.",
        )
    ]
    # the invoice row inserted before the chain lock went with the refused transaction
    assert list(FiscalInvoice.objects.values_list("invoice_number", flat=True)) == ["F-2026-042"]


def test_an_invoice_of_the_same_day_as_the_last_is_registered(register):
    register()
    assert register(invoice_number="F-2026-043").record.position == 2


def test_a_refused_duplicate_leaves_the_first_invoice_and_the_chain_as_they_were(register):
    first = register()
    with pytest.raises(DuplicateInvoice) as exc:
        register(invoice_date=date(2026, 3, 20))
    assert [(p.field, p.code) for p in exc.value.problems] == [("invoice_number", "3000")]
    assert list(FiscalInvoice.objects.values_list("pk", flat=True)) == [first.invoice.pk]
    chain = first.record.chain
    chain.refresh_from_db()
    assert (chain.length, chain.head_id) == (1, first.record.pk)


def test_a_mode_switch_committed_after_the_taxpayer_was_read_applies_to_the_record(
    register, taxpayer, signing_certificate
):
    """The request's taxpayer object is stale once a switch commits; the mode is read again
    under the chain lock, where a switch cannot be half-way."""
    Taxpayer.objects.filter(pk=taxpayer.pk).update(
        verifactu_mode=Taxpayer.VerifactuMode.NO_VERIFACTU
    )
    assert taxpayer.verifactu_mode == Taxpayer.VerifactuMode.VERIFACTU
    record = register().record
    assert record.no_verifactu is True
    assert taxpayer.verifactu_mode == Taxpayer.VerifactuMode.NO_VERIFACTU


def test_hashed_fields_cannot_be_changed_through_the_model(register):
    record = register().record
    record.huella = "0" * 64
    with pytest.raises(ImmutableRecordError):
        record.save(update_fields=["huella"])
    with pytest.raises(ImmutableRecordError):
        record.save()
    with pytest.raises(ImmutableRecordError):
        record.delete()


def test_the_database_refuses_to_change_hashed_fields(register):
    record = register().record
    with pytest.raises(DatabaseError), transaction.atomic():
        BillingRecord.objects.filter(pk=record.pk).update(importe_total_text="1.00")
    BillingRecord.objects.filter(pk=record.pk).update(status=RecordStatus.ACCEPTED)
    record.refresh_from_db()
    assert (record.status, record.importe_total_text) == (RecordStatus.ACCEPTED, "825.00")


def test_a_nif_in_two_accounts_has_a_chain_on_each_accounts_own_installation(
    register, account, other_account
):
    """No fork and no refusal: each account's installation number is its own, so the two
    chains of the NIF are two chains at the AEAT too (tests/test_installations.py drives the
    squatting attack this replaced through HTTP)."""
    from verifactu.installations import create_installation

    mine = register().record
    same_nif = Taxpayer.objects.create(account=other_account, nif="B87654323", name="Copia")
    theirs = register_invoice(
        account=other_account,
        taxpayer=same_nif,
        system=create_installation(other_account),
        facts=make_facts(invoice_number="X-1"),
        source="api_v1",
    ).record
    assert mine.chain_id != theirs.chain_id
    assert theirs.position == 1 and theirs.previous_id is None
    assert mine.chain.installation_number != theirs.chain.installation_number
    assert (mine.chain.account_id, theirs.chain.account_id) == (account.pk, other_account.pk)


def test_qr_url_comes_from_the_registered_record(register, settings):
    settings.AEAT_QR_PRODUCTION = False
    invoice = register(invoice_number="F 2026&1").invoice
    assert invoice.qr_url == (
        "https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQR"
        "?nif=B87654323&numserie=F+2026%261&fecha=13-03-2026&importe=825.00"
    )
    settings.AEAT_QR_PRODUCTION = True
    assert invoice.qr_url.startswith(
        "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR?"
    )


def test_the_migration_fills_the_head_quote_of_existing_chains_from_their_head(register, tamper):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("verifactu.migrations.0007_chain_head_quoted_fields")
    register()
    head = register(invoice_number="F-2026-043").record
    Chain = apps.get_model("verifactu", "Chain")
    Chain.objects.update(head_invoice_number="", head_invoice_date_text="")  # as before 0007
    migration.fill_from_head(apps, None)
    chain = Chain.objects.get()
    assert (chain.head_invoice_number, chain.head_invoice_date_text) == (
        "F-2026-043",
        head.invoice_date_text,
    )


def _indexes(table: str) -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, table)
    return {name: info for name, info in found.items() if info["index"]}


@pytest.mark.django_db
def test_a_registration_writes_only_the_indexes_that_queries_use():
    plain = {
        table: sorted(
            tuple(info["columns"])
            for info in _indexes(table).values()
            if not info["unique"] and not info["primary_key"]
        )
        for table in ("verifactu_billingrecord", "verifactu_fiscalinvoice")
    }
    assert plain == {
        "verifactu_billingrecord": [
            ("chain_id", "status", "position"),
            ("created_at", "position"),  # record_needs_action, partial (below)
            ("fiscal_invoice_id", "position"),
            ("status", "chain_id"),
            ("submission_id",),
        ],
        "verifactu_fiscalinvoice": [
            ("account_id",),
            ("computer_system_id",),
            ("taxpayer_id", "invoice_date", "id"),
        ],
    }
    if connection.vendor == "postgresql":
        sql = "SELECT indexdef FROM pg_indexes WHERE indexname = %s"
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s"
    with connection.cursor() as cursor:
        for partial in ("record_submission", "record_needs_action"):
            cursor.execute(sql, [partial])
            assert "WHERE" in cursor.fetchone()[0]  # partial: a new record adds no entry


def test_any_inserted_record_moves_its_chain_row_in_the_database(register):
    """Even one stored without the engine (as the benchmarks' bulk seeding does)."""
    first = register().record
    values = {
        f.attname: getattr(first, f.attname)
        for f in BillingRecord._meta.concrete_fields
        if f.attname not in ("id", "position", "previous_id", "huella", "invoice_number")
    }
    second = BillingRecord.objects.create(
        **values, position=2, previous_id=first.pk, huella="A" * 64, invoice_number="X-2"
    )
    chain = first.chain
    chain.refresh_from_db()
    assert (chain.length, chain.head_id, chain.last_huella, chain.head_invoice_number) == (
        2,
        second.pk,
        "A" * 64,
        "X-2",
    )
