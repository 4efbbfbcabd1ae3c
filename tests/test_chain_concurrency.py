"""Many processes registering invoices of one taxpayer at once still make one unbroken chain,
and the database itself refuses a fork (two records at one position or after one record);
a mode switch falling due among them deadlocks nothing (the lock order of verifactu.modes)."""

from __future__ import annotations

import subprocess

import pytest
from django.db import IntegrityError, transaction

from tests.processes import (
    AT_THE_STARTING_LINE,
    DJANGO_CHILD,
    release_when_ready,
    run_together,
    start_scripts,
)
from verifactu.integrity import verify_all
from verifactu.models import BillingRecord, Chain

pytestmark = pytest.mark.postgres

WRITERS = 16
PER_WRITER = 5

# A child process on the test database: the objects of the test, then the starting line.
CHILD = (
    DJANGO_CHILD
    + """
import time
from django.db import connections
from django.utils import timezone
from factu.models import Account, Taxpayer
from tests.conftest import make_facts
from verifactu.models import ComputerSystem
from verifactu.records import DuplicateInvoice, register_invoice

account = Account.objects.get(pk="{account}")
taxpayer = Taxpayer.objects.get(pk="{taxpayer}")
system = ComputerSystem.objects.get(pk="{system}")
"""
    + AT_THE_STARTING_LINE
)

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
    ids = {"account": account.pk, "taxpayer": taxpayer.pk, "system": computer_system.pk}
    run_together(go, [WRITER.format(**ids, go=go, n=PER_WRITER, worker=w) for w in range(WRITERS)])

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
    twins = start_scripts([script] * 6, stdout=subprocess.PIPE)
    release_when_ready(go, twins)
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


LOADED_WRITER = (
    CHILD
    + """
i = 0
while not os.path.exists("{stop}") and i < 300:
    register_invoice(
        account=account, taxpayer=taxpayer, system=system, source="api_v1",
        facts=make_facts(invoice_number="L{worker:02d}-%03d" % i,
                         invoice_date=timezone.localdate()),
    )
    i += 1
connections.close_all()
"""
)

DAILY_TASK = (
    CHILD
    + """
from verifactu import modes
while not os.path.exists("{stop}"):
    modes.apply_due_changes()
    modes.change_mode(taxpayer, "no_verifactu")  # and someone asking for it in Settings
    time.sleep(0.01)
connections.close_all()
"""
)


@pytest.mark.slow
def test_a_switch_falling_due_under_load_deadlocks_nothing_and_records_get_the_new_mode(
    transactional_db, account, taxpayer, computer_system, tmp_path, signing_certificate, monkeypatch
):
    """Writers keep both chains of a taxpayer busy, the daily task polls and a user keeps
    asking for NO VERI*FACTU, when the
    taxpayer's scheduled switch to NO VERI*FACTU falls due (1 January, before the task).

    Registrations lock their chain only and derive the mode from the switch date; a switch
    locks the taxpayer and then its chains in primary-key order, so nothing waits in a cycle.
    Each chain turns NO VERI*FACTU once, with one event 01, and never back."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from factu.models import Taxpayer
    from tests.conftest import another_installation, register_for
    from tests.processes import wait_until
    from verifactu.models import EventRecord

    # The children sign with the taxpayer's certificate and trust the test CA, as we do.
    monkeypatch.setenv("VERIFACTU_SIGNATURE_CA_FILE", str(settings.VERIFACTU_SIGNATURE_CA_FILE))
    second = another_installation(computer_system, "TEST-2")
    for system in (computer_system, second):  # VERI*FACTU was used this year on both
        register_for(taxpayer, system, f"VF-{system.installation_number}")
    Taxpayer.objects.filter(pk=taxpayer.pk).update(
        verifactu_until=timezone.localdate() + timedelta(days=1)  # scheduled, not due yet
    )
    go, stop = tmp_path / "go", tmp_path / "stop"
    ids = {"account": account.pk, "taxpayer": taxpayer.pk, "go": go, "stop": stop}
    scripts = [
        LOADED_WRITER.format(**ids, system=system.pk, worker=worker)
        for worker, system in enumerate([computer_system, second] * 3)
    ] + [DAILY_TASK.format(**ids, system=computer_system.pk)]
    children = start_scripts(scripts)
    try:
        release_when_ready(go, children)
        wait_until(
            lambda: Chain.objects.filter(length__gte=10).count() == 2, timeout=120, what="load"
        )
        Taxpayer.objects.filter(pk=taxpayer.pk).update(
            verifactu_until=timezone.localdate() - timedelta(days=1)  # the switch falls due
        )
        wait_until(
            lambda: (
                BillingRecord.objects.filter(no_verifactu=True).count() >= 30
                or any(child.poll() for child in children)
            ),
            timeout=120,
            what="records in the new mode",
        )
    finally:
        stop.touch()
    errors = [child.communicate(timeout=240)[1] for child in children]
    assert [child.returncode for child in children] == [0] * len(children), "\n".join(errors)

    for chain in Chain.objects.all():
        modes = list(
            BillingRecord.objects.filter(chain=chain)
            .order_by("position")
            .values_list("no_verifactu", flat=True)
        )
        switched_at = modes.index(True)
        assert switched_at > 0 and all(modes[switched_at:]), modes
        tipos = EventRecord.objects.filter(chain=chain).values_list("tipo_evento", flat=True)
        assert list(tipos) == ["01"]
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == ("no_verifactu", None)
    assert all(report.ok for report in verify_all())
