"""Each taxpayer's number of fiscal invoices, kept by database triggers on PostgreSQL
(verifactu migration 0020) so that the desk does not count 600,000 of them on every view."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from desk import worklist
from factu.models import Taxpayer
from tests.conftest import register_for
from verifactu.counts import fiscal_invoice_counts
from verifactu.models import FiscalInvoice

pytestmark = pytest.mark.postgres


@pytest.fixture
def second(account) -> Taxpayer:
    return Taxpayer.objects.create(account=account, nif="B12345674", name="Bar Pepe SL")


def counted(*taxpayers: Taxpayer) -> dict:
    return {t.pk: FiscalInvoice.objects.filter(taxpayer=t).count() for t in taxpayers}


def test_registrations_are_counted_per_taxpayer_in_their_transaction(
    taxpayer, second, computer_system
):
    assert fiscal_invoice_counts([taxpayer.pk, second.pk]) == {}
    for n in range(3):
        register_for(taxpayer, computer_system, f"A-{n}")
    register_for(second, computer_system, "B-1")
    with pytest.raises(RuntimeError), transaction.atomic():
        register_for(second, computer_system, "B-2")
        assert fiscal_invoice_counts([second.pk]) == {second.pk: 2}
        raise RuntimeError("roll back")
    assert fiscal_invoice_counts([taxpayer.pk, second.pk]) == counted(taxpayer, second)
    assert counted(taxpayer, second) == {taxpayer.pk: 3, second.pk: 1}


def test_an_invoice_moved_to_another_taxpayer_is_counted_there(taxpayer, second, computer_system):
    for n in range(3):
        register_for(taxpayer, computer_system, f"A-{n}")
    moved = FiscalInvoice.objects.filter(taxpayer=taxpayer).order_by("invoice_number")[0]
    with connection.cursor() as cursor:  # no path of the product does it; SQL may
        cursor.execute(
            "UPDATE verifactu_fiscalinvoice SET taxpayer_id = %s WHERE id = %s",
            [second.pk, moved.pk],
        )
    assert fiscal_invoice_counts([taxpayer.pk, second.pk]) == {taxpayer.pk: 2, second.pk: 1}
    assert fiscal_invoice_counts([taxpayer.pk, second.pk]) == counted(taxpayer, second)


def test_the_desk_reads_the_kept_counts(account, taxpayer, second, computer_system):
    for n in range(2):
        register_for(taxpayer, computer_system, f"A-{n}")
    with connection.cursor() as cursor:  # a count the triggers did not make shows through
        cursor.execute(
            "UPDATE verifactu_fiscalinvoicecount SET invoices = 5 WHERE taxpayer_id = %s",
            [taxpayer.pk],
        )
    summary = {s.taxpayer.pk: s for s in worklist.desk_summary(account)}
    assert summary[taxpayer.pk].total == 5 and summary[taxpayer.pk].queued == 2
    assert summary[second.pk].total == 0


@pytest.mark.django_db(transaction=True)
def test_a_fiscal_invoice_waiting_for_its_chain_holds_no_lock_on_the_taxpayers_count(
    account, taxpayer, computer_system
):
    """``register_invoice`` inserts the fiscal invoice before it takes the chain's lock. The
    count is written with the registration record, under that lock: were it written with the
    fiscal invoice, its row would be locked a statement earlier and held to the commit, and
    every registration of the taxpayer would queue on it instead of on the chain."""
    import psycopg

    from tests.conftest import make_facts
    from verifactu.records import _create_fiscal_invoice

    register_for(taxpayer, computer_system, "A-0")  # the taxpayer's count row exists
    params = connection.get_connection_params()
    dsn = psycopg.conninfo.make_conninfo(
        **{k: v for k, v in params.items() if k in ("dbname", "user", "host", "port", "password")}
    )
    facts = make_facts(issuer_nif=taxpayer.nif, issuer_name=taxpayer.name, invoice_number="A-1")
    with transaction.atomic():
        _create_fiscal_invoice(account, taxpayer, computer_system, facts, "api_v1")
        with psycopg.connect(dsn, autocommit=True) as other:
            other.execute("SET lock_timeout = '500ms'")
            row = other.execute(
                "SELECT invoices FROM verifactu_fiscalinvoicecount WHERE taxpayer_id = %s "
                "FOR UPDATE",
                [taxpayer.pk],
            ).fetchone()
    assert row == (1,)
