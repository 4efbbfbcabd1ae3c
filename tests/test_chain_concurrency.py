"""Many processes registering invoices of one taxpayer at once still make one unbroken chain,
and the database itself refuses a fork (two records at one position or after one record)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from django.db import IntegrityError, transaction

from tests.processes import ROOT, child_env
from verifactu.integrity import verify_all
from verifactu.models import BillingRecord, Chain

pytestmark = pytest.mark.postgres

WRITERS = 16
PER_WRITER = 5

# A child process on the test database: the objects of the test, then wait for {go}.
CHILD = """
import os, time
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")
django.setup()
from django.db import connections
from django.utils import timezone
from factu.models import Account, Taxpayer
from tests.conftest import make_facts
from verifactu.models import ComputerSystem
from verifactu.records import DuplicateInvoice, register_invoice

account = Account.objects.get(pk="{account}")
taxpayer = Taxpayer.objects.get(pk="{taxpayer}")
system = ComputerSystem.objects.get(pk="{system}")
while not os.path.exists("{go}"):
    time.sleep(0.01)
"""

WRITER = (
    CHILD
    + """
for i in range({n}):
    register_invoice(
        account=account, taxpayer=taxpayer, system=system, source="api_v1",
        facts=make_facts(invoice_number="W{worker:02d}-%03d" % i,
                         invoice_date=timezone.localdate()),
    )
connections.close_all()
"""
)


@pytest.mark.slow
def test_concurrent_writers_of_one_taxpayer_make_one_unbroken_chain(
    transactional_db, account, taxpayer, computer_system, tmp_path
):
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER.format(
                    account=account.pk,
                    taxpayer=taxpayer.pk,
                    system=computer_system.pk,
                    go=go,
                    n=PER_WRITER,
                    worker=worker,
                ),
            ],
            cwd=ROOT,
            env=child_env(),
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WRITERS)
    ]
    time.sleep(3)  # let every writer reach the starting line, then release them together
    go.touch()
    errors = [w.communicate(timeout=240)[1] for w in writers]
    assert [w.returncode for w in writers] == [0] * WRITERS, "\n".join(errors)

    total = WRITERS * PER_WRITER
    (chain,) = Chain.objects.all()
    records = list(BillingRecord.objects.filter(chain=chain).order_by("position"))
    assert [r.position for r in records] == list(range(1, total + 1))
    assert len({r.invoice_number for r in records}) == total
    assert records[0].previous_id is None and records[0].previous_huella == ""
    for before, after in zip(records, records[1:], strict=False):
        assert after.previous_id == before.pk
        assert after.previous_huella == before.huella
        assert f"<Huella>{before.huella}</Huella>" in after.xml
    assert (chain.length, chain.head_id, chain.last_huella) == (
        total,
        records[-1].pk,
        records[-1].huella,
    )
    (report,) = verify_all()
    assert report.ok and report.records == total, report.breaks


TWIN = (
    CHILD
    + """
try:
    register_invoice(
        account=account, taxpayer=taxpayer, system=system, source="api_v1",
        facts=make_facts(invoice_number="TWIN-1", invoice_date=timezone.localdate()),
    )
    print("stored")
except DuplicateInvoice:
    print("duplicate")
connections.close_all()
"""
)


@pytest.mark.slow
def test_concurrent_registrations_of_one_number_store_one_and_refuse_the_rest_as_duplicates(
    transactional_db, account, taxpayer, computer_system, tmp_path
):
    """The number is guarded by the unique index the invoice row is inserted into before
    the chain is locked: twins racing past every check still end as a clean refusal."""
    go = tmp_path / "go"
    script = TWIN.format(account=account.pk, taxpayer=taxpayer.pk, system=computer_system.pk, go=go)
    twins = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(3)
    go.touch()
    outcomes = [twin.communicate(timeout=120) for twin in twins]
    assert [twin.returncode for twin in twins] == [0] * 6, [err for _, err in outcomes]
    assert sorted(out.strip() for out, _ in outcomes) == ["duplicate"] * 5 + ["stored"]
    (record,) = BillingRecord.objects.all()
    assert (record.invoice_number, record.position) == ("TWIN-1", 1)


def _copy(record: BillingRecord, **changes) -> BillingRecord:
    values = {
        name: getattr(record, name)
        for name in BillingRecord.HASHED_FIELDS
        if name not in ("fiscal_invoice_id", "chain_id", "previous_id")
    }
    values.update(fiscal_invoice=record.fiscal_invoice, chain=record.chain)
    values.update(changes)
    return BillingRecord(**values)


def test_the_database_refuses_a_second_record_at_the_same_position(register):
    register()
    second = register(invoice_number="F-2026-043").record
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy(second, previous=second.previous, huella="F" * 64).save()


def test_the_database_refuses_a_second_record_after_the_same_previous(register):
    register()
    second = register(invoice_number="F-2026-043").record
    with pytest.raises(IntegrityError), transaction.atomic():
        _copy(second, previous=second.previous, position=3, huella="F" * 64).save()
    assert BillingRecord.objects.count() == 2
