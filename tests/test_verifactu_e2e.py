"""End to end: a real Celery worker process submits records over HTTPS with a client
certificate (zeep) to the AEAT simulator, and every fault ends with each record accounted
for at the simulator exactly once.

The worker shares the test database (committed data: ``transactional_db``) and the broker
of the run (Redis in CI, the embedded filesystem broker otherwise). Nothing runs eagerly.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.core.cache import cache

from tests.processes import start_beat, start_worker, stop, wait_until
from verifactu import corrections
from verifactu.models import BillingRecord, RecordStatus, Submission
from verifactu.simulator.server import start_simulator
from verifactu.simulator.testcerts import generate_test_certs

pytestmark = pytest.mark.slow

SETTLED = (  # the statuses a record ends in once the AEAT has answered or sending failed
    RecordStatus.ACCEPTED,
    RecordStatus.ACCEPTED_WITH_ERRORS,
    RecordStatus.REJECTED,
    RecordStatus.ERROR,
)


@pytest.fixture
def certs(tmp_path_factory):
    return generate_test_certs(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def simulator(certs):
    sim = start_simulator(
        wait_seconds=0,
        tls_cert=str(certs.server_cert),
        tls_key=str(certs.server_key),
        client_ca=str(certs.ca_cert),
    )
    yield sim
    sim.stop()


@pytest.fixture
def aeat_env(simulator, certs) -> dict[str, str]:
    return {
        "AEAT_ENDPOINT": simulator.url,
        "AEAT_CERT_FILE": str(certs.client_p12),
        "AEAT_CERT_PASSWORD": certs.client_p12_password,
        "AEAT_CA_FILE": str(certs.ca_cert),
        "AEAT_TIMEOUT": "3",
        "VERIFACTU_MAX_BACKOFF": "1",
        "VERIFACTU_SENDING_LEASE": "5",
        "VERIFACTU_DEFAULT_WAIT": "0",
        "VERIFACTU_RECLAIM_INTERVAL": "2",
    }


@pytest.fixture
def run_worker(transactional_db, tmp_path, aeat_env):
    cache.clear()
    procs = []

    def _start(name: str = "worker", **extra: str):
        proc = start_worker(tmp_path / f"{name}.log", **{**aeat_env, **extra})
        procs.append(proc)
        return proc

    yield _start
    for proc in procs:
        stop(proc, cold=True)
    for log in tmp_path.glob("*.log"):
        print(f"== {log.name}\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture
def run_beat(tmp_path, aeat_env):
    procs = []

    def _start():
        procs.append(start_beat(tmp_path / "beat.log", **aeat_env))
        return procs[-1]

    yield _start
    for proc in procs:
        stop(proc)


def settled(records, timeout: float = 90) -> list[BillingRecord]:
    ids = [r.pk for r in records]

    def done():
        rows = list(BillingRecord.objects.filter(pk__in=ids).order_by("position"))
        return rows if all(r.status in SETTLED for r in rows) else None

    return wait_until(done, timeout=timeout, interval=0.3, what="records settled")


def register_many(register, n: int, prefix: str = "E2E") -> list[BillingRecord]:
    return [register(invoice_number=f"{prefix}-{i:03d}").record for i in range(1, n + 1)]


def stored_once(simulator, records) -> None:
    """Every record is held by the simulator exactly once, none is missing or extra."""
    snapshot = simulator.snapshot()
    held = [r["num_serie"] for r in snapshot["records"]]
    ours = [r.invoice_number for r in records]
    assert sorted(held) == sorted(ours), (held, ours)


def test_a_queued_record_is_accepted_with_a_csv_over_mutual_tls(run_worker, register, simulator):
    run_worker()
    record = register().record
    assert record.status == RecordStatus.QUEUED
    [done] = settled([record])
    assert done.status == RecordStatus.ACCEPTED
    assert done.csv
    submission = done.submission
    assert submission.estado_envio == "Correcto"
    assert "RegFactuSistemaFacturacion" in submission.request_xml
    # The stored fragment is what went on the wire (its namespace declaration aside).
    assert record.xml.split(">", 1)[1] in submission.request_xml
    stored_once(simulator, [record])


def test_simulator_answering_500_then_recovering(run_worker, register, simulator):
    simulator.set_mode("http500", times=1)
    records = register_many(register, 3)
    run_worker()
    rows = settled(records)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    assert all(r.attempts == 2 and r.incidencia for r in rows)
    assert Submission.objects.exclude(transport_error="").count() == 1
    stored_once(simulator, records)


def test_simulator_timing_out_then_recovering(run_worker, register, simulator):
    simulator.set_mode("timeout", times=1, timeout_seconds=5)
    records = register_many(register, 3)
    run_worker()
    rows = settled(records)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    stored_once(simulator, records)


def test_a_permanent_soap_fault_marks_the_batch_error_and_retry_resends_it(
    run_worker, register, simulator
):
    simulator.set_mode("fault4102", times=1)
    records = register_many(register, 3)
    run_worker()
    rows = settled(records)
    assert {(r.status, r.aeat_error_code) for r in rows} == {(RecordStatus.ERROR, "4102")}
    assert simulator.snapshot()["records"] == []
    for row in rows:
        corrections.retry(row.fiscal_invoice)
    rows = settled(records)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    assert [r.huella for r in rows] == [r.huella for r in records]  # resent, not regenerated
    stored_once(simulator, records)


def test_one_rejected_record_in_a_batch_of_50(run_worker, register, simulator):
    simulator.reject("E2E-025", 1100)
    records = register_many(register, 50)
    run_worker()
    rows = settled(records)
    rejected = [r for r in rows if r.status == RecordStatus.REJECTED]
    assert [(r.invoice_number, r.aeat_error_code) for r in rejected] == [("E2E-025", "1100")]
    assert sum(r.status == RecordStatus.ACCEPTED for r in rows) == 49
    assert Submission.objects.count() == 1
    stored_once(simulator, [r for r in records if r.invoice_number != "E2E-025"])


def test_lost_response_is_recovered_from_the_3000_duplicate(run_worker, register, simulator):
    simulator.set_mode("drop_response", times=1)
    records = register_many(register, 3)
    run_worker()
    rows = settled(records)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    assert all(r.attempts == 2 for r in rows)
    stored_once(simulator, records)


def test_worker_killed_mid_flush_is_recovered_by_another(run_worker, run_beat, register, simulator):
    simulator.set_mode("timeout", times=1, timeout_seconds=8)
    records = register_many(register, 5)
    victim = run_worker("victim", AEAT_TIMEOUT="30")
    wait_until(
        lambda: BillingRecord.objects.filter(status=RecordStatus.SENDING).count() == 5,
        timeout=60,
        what="flush in progress",
    )
    os.kill(victim.pid, signal.SIGKILL)
    for child in _children(victim.pid):
        os.kill(child, signal.SIGKILL)
    victim.wait()
    time.sleep(0.5)
    assert BillingRecord.objects.filter(status=RecordStatus.SENDING).count() == 5
    run_worker("rescuer")
    run_beat()
    rows = settled(records, timeout=120)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    stored_once(simulator, records)


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids


def test_rejected_record_is_corrected_by_a_new_chained_record(run_worker, register, simulator):
    simulator.reject("E2E-001", 1100)
    [record] = register_many(register, 1)
    run_worker()
    [row] = settled([record])
    assert row.status == RecordStatus.REJECTED
    simulator.configure(reject={})
    fix = corrections.retry(row.fiscal_invoice)
    assert (fix.subsanacion, fix.rechazo_previo, fix.position) == ("S", "X", 2)
    [fixed] = settled([fix])
    assert fixed.status == RecordStatus.ACCEPTED


def test_cancellation_is_a_chained_anulacion(run_worker, register, simulator):
    run_worker()
    [record] = register_many(register, 1)
    settled([record])
    cancellation = corrections.cancel(record.fiscal_invoice)
    assert cancellation.kind == BillingRecord.Kind.ANULACION
    assert cancellation.sin_registro_previo == ""
    [done] = settled([cancellation])
    assert done.status == RecordStatus.ACCEPTED


def test_reconcile_reports_what_the_aeat_does_not_hold(
    run_worker, register, simulator, aeat_env, settings
):
    from django.core.management import CommandError, call_command

    for name in ("AEAT_ENDPOINT", "AEAT_CERT_FILE", "AEAT_CERT_PASSWORD", "AEAT_CA_FILE"):
        setattr(settings, name, aeat_env[name])
    run_worker()
    records = register_many(register, 2)
    settled(records)
    call_command("verifactu_reconcile")  # no differences: returns normally

    simulator.reset()  # the AEAT lost everything
    with pytest.raises(CommandError, match="2 difference"):
        call_command("verifactu_reconcile", "--taxpayer", "B87654323")


def test_two_workers_share_the_work_without_sending_a_record_twice(run_worker, register, simulator):
    run_worker("first")
    run_worker("second")
    records = []
    for burst in range(3):
        records += register_many(register, 10, prefix=f"B{burst}")
        time.sleep(0.5)
    rows = settled(records)
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    received = simulator.snapshot()["received"]
    assert all(count == 1 for count in received.values()), received
    stored_once(simulator, records)
