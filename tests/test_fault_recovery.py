"""AEAT faults heal themselves, and only those that can (issue 15, point 2).

Transient faults (20009, 3500, 3501, 4134, HTTP errors, timeouts) leave the records queued
and the chain retried by itself with capped exponential back-off and jitter, never sooner
than the AEAT's wait, hourly once flagged for a person after a day; records generated during
the outage go out with Incidencia=S. Permanent faults (4102, 4112, 4141 …) put the records in
``error`` and nothing resends them. The desk and the invoice page say the chain is blocked,
and "Intentar ahora" flushes it at once.

The policy is pinned with an injected clock and a seeded random generator; flushes run
in-process against the real simulator over HTTP; the last tests run a real Celery worker.
"""

from __future__ import annotations

import logging
import os
import random
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from tests.processes import ROOT, start_beat, start_worker, stop, wait_until
from verifactu import aeat, faults, pacing, submission, tasks
from verifactu.errors import AEAT_ERRORS
from verifactu.models import BillingRecord, Chain, RecordStatus, Submission
from verifactu.simulator.server import start_simulator

INCIDENCIA_S = "<Incidencia>S</Incidencia>"


@pytest.fixture
def pace(settings):
    """Back-off at test pace: 10 s doubling up to 100 s, flagged after 1,000 s; no AEAT wait."""
    settings.VERIFACTU_DEFAULT_WAIT = 0
    settings.VERIFACTU_BACKOFF_BASE = 10
    settings.VERIFACTU_MAX_BACKOFF = 100
    settings.VERIFACTU_FAULT_FLAG_AFTER = 1000
    return settings


def chain_of(record) -> Chain:
    return Chain.objects.get(pk=record.chain_id)


def statuses(records) -> list[str]:
    return [BillingRecord.objects.get(pk=r.pk).status for r in records]


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------


def test_every_envelope_code_the_desk_explains_is_classified():
    envelope = {c for c in AEAT_ERRORS if c.startswith(("41", "35")) or c == "20009"}
    assert envelope <= set(faults.FAULT_KINDS)
    transient = {c for c, kind in faults.FAULT_KINDS.items() if kind == faults.TRANSIENT}
    assert transient == {"20009", "3500", "3501", "4134"}


@pytest.mark.parametrize("code", ["20009", "3500", "3501", "4134"])
def test_service_outage_faults_are_transient(code):
    assert faults.is_transient(aeat.AeatFault("caído", code=code))


@pytest.mark.parametrize("code", ["4102", "4112", "4141", "4103", "4139", "", "9999"])
def test_envelope_and_presenter_faults_and_unknown_codes_are_permanent(code):
    assert not faults.is_transient(aeat.AeatFault("no", code=code))


def test_http_errors_and_timeouts_are_transient():
    assert faults.is_transient(aeat.AeatTransportError("HTTP 500 without a SOAP fault"))
    assert faults.is_transient(aeat.AeatTransportError("ReadTimeout: timed out"))


# ---------------------------------------------------------------------------------------
# The back-off policy (no sleeping: an injected clock and a seeded generator)
# ---------------------------------------------------------------------------------------


def test_backoff_doubles_from_the_base_up_to_the_cap_with_jitter_in_the_upper_half(pace):
    rng = random.Random(15)
    for failures, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (30, 100)]:
        draws = [faults.retry_delay(failures, timedelta(0), 0, rng=rng) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in draws), (failures, draws)
        assert min(draws) < 0.55 * ceiling and max(draws) > 0.95 * ceiling  # it does jitter
        assert len(set(draws)) == len(draws)


def test_backoff_is_never_below_the_aeat_wait(pace):
    rng = random.Random(1)
    assert faults.retry_delay(1, timedelta(0), 60, rng=rng) == 60
    assert faults.retry_delay(9, timedelta(0), 300, rng=rng) == 300  # above the cap too
    assert faults.retry_delay(9, timedelta(seconds=5000), 7200, rng=rng) == 7200


def test_after_the_flag_duration_retries_are_hourly(pace):
    rng = random.Random(2)
    assert faults.retry_delay(3, timedelta(seconds=999), 0, rng=rng) <= 40
    assert faults.retry_delay(3, timedelta(seconds=1000), 0, rng=rng) == 3600
    assert faults.retry_delay(50, timedelta(days=3), 0, rng=rng) == 3600


def test_the_cap_cannot_exceed_an_hour():
    """Art. 16.4: after an incident, retry at least hourly; a longer cap stops start-up."""
    env = {**os.environ, "VERIFACTU_MAX_BACKOFF": "3601"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    started = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert started.returncode != 0
    assert "VERIFACTU_MAX_BACKOFF='3601' must be at most 3600" in started.stderr


def test_a_run_of_faults_backs_off_then_is_flagged_and_retried_hourly(register, pace, caplog):
    record = register().record
    chain = chain_of(record)
    t0 = timezone.now()
    at, gaps = t0, []
    caplog.set_level(logging.ERROR, logger="verifactu.faults")
    for _ in range(40):
        sent = Submission.objects.create(chain=chain, started_at=at, endpoint="x", request_xml="")
        next_at = faults.note_fault(chain_of(record), sent, at, rng=random.Random(3))
        gaps.append((at - t0, (next_at - at).total_seconds()))
        at = next_at
    chain = chain_of(record)
    assert chain.faulting_since == t0 and chain.last_fault_at == at - timedelta(seconds=3600)
    before = [gap for elapsed, gap in gaps if elapsed < timedelta(seconds=1000)]
    after = [gap for elapsed, gap in gaps if elapsed >= timedelta(seconds=1000)]
    assert before[:4] == sorted(before[:4]) and before[0] <= 10 and max(before) <= 100
    assert after and set(after) == {3600.0}
    assert faults.is_flagged(chain.faulting_since, at)
    flagged = [r for r in caplog.records if "flagged for a person" in r.getMessage()]
    assert len(flagged) == 1


# ---------------------------------------------------------------------------------------
# A flush against the simulator
# ---------------------------------------------------------------------------------------


def test_a_20009_requeues_the_batch_and_backs_off_without_a_click(register, simulator, pace):
    simulator.set_mode("fault20009", times=1)
    records = [register(invoice_number=f"A-{i}").record for i in (1, 2)]
    before = timezone.now()
    outcome = submission.flush(records[0].chain_id)
    assert outcome.state == "retry"
    assert (
        before + timedelta(seconds=5) <= outcome.next_at <= timezone.now() + timedelta(seconds=10)
    )
    assert statuses(records) == [RecordStatus.QUEUED] * 2
    assert not BillingRecord.objects.exclude(aeat_error_code="").exists()
    chain = chain_of(records[0])
    assert chain.faulting_since is not None and chain.next_flush_at == outcome.next_at
    assert Submission.objects.get().fault_code == "20009"

    assert submission.flush(chain.pk).state == "wait"  # not before the back-off
    assert submission.chains_due() == []
    assert submission.chains_due(outcome.next_at) == [chain.pk]
    assert submission.flush(chain.pk, now=outcome.next_at).state == "sent"
    assert statuses(records) == [RecordStatus.ACCEPTED] * 2
    chain = chain_of(records[0])
    assert (chain.faulting_since, chain.last_fault_at) == (None, None)


def test_a_full_batch_waits_for_the_back_off_too(register, simulator, pace):
    pace.VERIFACTU_BATCH_SIZE = 1
    simulator.set_mode("fault3500", times=1)
    records = [register(invoice_number=f"A-{i}").record for i in (1, 2)]
    assert submission.flush(records[0].chain_id).state == "retry"
    assert submission.flush(records[0].chain_id).state == "wait"
    assert Submission.objects.count() == 1


def test_the_back_off_respects_the_aeat_wait_it_last_gave(register, simulator, pace):
    simulator.configure(wait_seconds=600)
    first = register(invoice_number="A-1").record
    assert submission.flush(first.chain_id).state == "sent"
    register(invoice_number="A-2")
    simulator.set_mode("http500", times=1)
    later = timezone.now() + timedelta(seconds=601)
    before = timezone.now()
    outcome = submission.flush(first.chain_id, now=later)
    assert outcome.state == "retry"
    assert outcome.next_at >= before + timedelta(seconds=600)


def test_records_generated_during_the_outage_are_sent_with_incidencia(register, simulator, pace):
    pace.VERIFACTU_BATCH_SIZE = 1
    early = register(invoice_number="A-1").record
    simulator.set_mode("fault20009", times=1)
    assert submission.flush(early.chain_id).state == "retry"
    during = register(invoice_number="A-2").record
    chain = chain_of(early)
    assert during.created_at >= chain.faulting_since

    first = submission.flush(chain.pk, now=chain.next_flush_at)
    assert first.state == "sent" and statuses([early, during])[0] == RecordStatus.ACCEPTED
    assert chain_of(early).faulting_since is None  # the outage is over
    assert submission.flush(chain.pk).state == "sent"
    row = BillingRecord.objects.get(pk=during.pk)
    assert (row.status, row.attempts, row.incidencia) == (RecordStatus.ACCEPTED, 1, True)
    assert INCIDENCIA_S in row.submission.request_xml  # its first and only send

    after = register(invoice_number="A-3").record
    assert submission.flush(chain.pk).state == "sent"
    assert INCIDENCIA_S not in BillingRecord.objects.get(pk=after.pk).submission.request_xml


@pytest.mark.parametrize("mode,code", [("fault4102", "4102"), ("fault4112", "4112")])
def test_a_permanent_fault_puts_the_batch_in_error_and_nothing_resends_it(
    register, simulator, pace, mode, code
):
    simulator.set_mode(mode, times=1)  # a resend would be accepted
    records = [register(invoice_number=f"A-{i}").record for i in (1, 2)]
    assert submission.flush(records[0].chain_id).state == "fault"
    rows = BillingRecord.objects.filter(pk__in=[r.pk for r in records])
    assert {(r.status, r.aeat_error_code) for r in rows} == {(RecordStatus.ERROR, code)}
    assert chain_of(records[0]).faulting_since is None
    much_later = timezone.now() + timedelta(days=2)
    assert submission.chains_due(much_later) == []
    assert submission.flush(records[0].chain_id, now=much_later).state == "idle"
    assert Submission.objects.count() == 1 and simulator.snapshot()["records"] == []


def test_a_permanent_fault_during_an_outage_ends_the_automatic_retries(register, simulator, pace):
    record = register().record
    simulator.set_mode("fault20009", times=1)
    assert submission.flush(record.chain_id).state == "retry"
    simulator.set_mode("fault4141", times=1)
    assert submission.flush(record.chain_id, now=chain_of(record).next_flush_at).state == "fault"
    assert chain_of(record).faulting_since is None
    assert statuses([record]) == [RecordStatus.ERROR]


def test_a_scheduled_flush_honours_the_back_off(register, pace, no_broker):
    record = register().record
    later = timezone.now() + timedelta(seconds=500)
    Chain.objects.filter(pk=record.chain_id).update(
        faulting_since=timezone.now(), next_flush_at=later
    )
    pace.VERIFACTU_BATCH_SIZE = 1  # a full batch: only the AEAT's wait would let it go early
    assert pacing.schedule_flush(record.chain_id) is True
    assert pacing.schedule_flush(record.chain_id) is False  # once
    assert pacing.retry_now(chain_of(record)) is True  # a person: now, whatever is scheduled
    [(_, countdown), (_, now)] = no_broker
    assert 490 < countdown <= 500 and now == 0
    assert chain_of(record).next_flush_at <= timezone.now()


# ---------------------------------------------------------------------------------------
# The desk and the invoice page
# ---------------------------------------------------------------------------------------


def block(chain_id, since, next_at, code="20009"):
    """Put a chain in fault state as a failed submission would (status columns only)."""
    Chain.objects.filter(pk=chain_id).update(
        faulting_since=since, last_fault_at=since, next_flush_at=next_at
    )
    Submission.objects.create(
        chain_id=chain_id,
        started_at=since,
        endpoint="x",
        request_xml="",
        fault_code=code,
        fault_string="Error interno en el servidor",
    )


@pytest.fixture
def no_broker(monkeypatch):
    """The desk's button enqueues a flush; here it is only recorded."""
    sent = []
    monkeypatch.setattr(
        tasks.flush_chain, "apply_async", lambda args, countdown: sent.append((args, countdown))
    )
    cache.clear()
    return sent


def desk_page(client, account) -> str:
    return client.get(reverse("desk", args=[account.slug])).content.decode()


def test_the_desk_says_since_when_a_chain_is_blocked_and_when_it_tries_next(
    login, owner, account, register, settings
):
    record = register().record
    since = timezone.localtime().replace(second=0, microsecond=0) - timedelta(hours=2)
    retry = since + timedelta(minutes=16)
    block(record.chain_id, since, retry)
    page = desk_page(login(owner), account)
    shown = f"{since:%d/%m/%Y %H:%M} — próximo intento {retry:%d/%m/%Y %H:%M}"
    assert f"Envío bloqueado desde {shown}" in page
    assert "Intentar ahora" in page and "Todo en orden" not in page
    assert "reintenta el envío por sí solo" in page
    assert "más de un día" not in page

    settings.VERIFACTU_FAULT_FLAG_AFTER = 60
    assert "Lleva más de un día sin poder enviarse" in desk_page(login(owner), account)


def test_a_viewer_sees_the_blockage_without_the_button(login, viewer, account, register):
    record = register().record
    block(record.chain_id, timezone.now(), timezone.now() + timedelta(minutes=1))
    page = desk_page(login(viewer), account)
    assert "Envío bloqueado desde" in page and "Intentar ahora" not in page


def test_a_healthy_chain_is_not_called_blocked(login, owner, account, register):
    register()
    page = desk_page(login(owner), account)
    assert "bloqueado" not in page and "Todo en orden" in page


def test_intentar_ahora_flushes_the_chain_at_once(login, owner, account, register, no_broker):
    record = register().record
    block(record.chain_id, timezone.now(), timezone.now() + timedelta(hours=1))
    url = reverse("desk_retry_chain", args=[account.slug, record.chain_id])
    response = login(owner).post(url, {"next": reverse("desk", args=[account.slug])})
    assert response.status_code == 302 and response.url == reverse("desk", args=[account.slug])
    assert no_broker == [([record.chain_id], 0)]
    assert chain_of(record).next_flush_at <= timezone.now()


def test_intentar_ahora_is_a_post_by_a_writer_of_the_chains_account(
    client, login, owner, viewer, account, register, no_broker, accountant_elsewhere
):
    record = register().record
    block(record.chain_id, timezone.now(), timezone.now() + timedelta(hours=1))
    url = reverse("desk_retry_chain", args=[account.slug, record.chain_id])
    assert login(owner).get(url).status_code == 405
    assert login(viewer).post(url).status_code == 403
    other = login(accountant_elsewhere)
    assert other.post(url).status_code == 404
    elsewhere = reverse("desk_retry_chain", args=["gestoria-ajena", record.chain_id])
    assert other.post(elsewhere).status_code == 404  # their account, not their chain
    client.logout()
    assert client.post(url).status_code == 302  # to the login page
    assert no_broker == []
    csrf = type(client)(enforce_csrf_checks=True)
    csrf.force_login(owner)
    assert csrf.post(url).status_code == 403


def test_the_invoice_page_of_a_blocked_chain_does_not_claim_to_be_sending(
    login,
    owner,
    account,
    issued,
):
    client = login(owner)
    status_url = reverse("invoice_status", args=[account.slug, issued.pk])
    assert "se actualiza sola" in client.get(status_url).content.decode()

    record = issued.fiscal_invoice.records.get()
    madrid = timezone.get_default_timezone()
    since = timezone.datetime(2026, 12, 5, 1, 2, tzinfo=madrid)
    block(record.chain_id, since, since + timedelta(hours=1, minutes=3))
    for url in (status_url, reverse("invoice_detail", args=[account.slug, issued.pk])):
        page = client.get(url).content.decode()
        assert "Envío bloqueado desde 05/12/2026 01:02 — próximo intento 05/12/2026 02:05" in page
        assert "se actualiza sola" not in page and "Intentar ahora" in page
        assert reverse("desk_retry_chain", args=[account.slug, record.chain_id]) in page
        detail = reverse("invoice_detail", args=[account.slug, issued.pk])
        assert f'name="next" value="{detail}"' in page  # back to the page, not the fragment


def test_a_record_waiting_behind_a_failed_one_says_a_person_is_needed(
    login, owner, account, register
):
    first = register(invoice_number="A-1").record
    BillingRecord.objects.filter(pk=first.pk).update(
        status=RecordStatus.ERROR, aeat_error_code="4102"
    )
    second = register(invoice_number="A-2").record
    blockage = faults.blockage_of(second)
    assert (blockage.stuck_position, blockage.next_attempt, blockage.waiting) == (1, None, 1)
    assert blockage.reason.startswith("El registro n.º 1 (A-1) falló al enviarse")
    assert faults.blockage_of(BillingRecord.objects.get(pk=first.pk)) is None
    page = desk_page(login(owner), account)
    assert "Envío detenido desde" in page and "A-1" in page


# ---------------------------------------------------------------------------------------
# A real worker
# ---------------------------------------------------------------------------------------


@pytest.fixture
def http_simulator():
    sim = start_simulator(wait_seconds=0)
    yield sim
    sim.stop()


@pytest.fixture
def worker(transactional_db, tmp_path, http_simulator):
    """A Celery worker (and optionally its beat) at test pace against the simulator."""
    cache.clear()
    env = {
        "AEAT_ENDPOINT": http_simulator.url,
        "AEAT_CERT_FILE": "",
        "AEAT_TIMEOUT": "3",
        "VERIFACTU_BACKOFF_BASE": "1",
        "VERIFACTU_MAX_BACKOFF": "2",
        "VERIFACTU_SENDING_LEASE": "5",
        "VERIFACTU_DEFAULT_WAIT": "0",
        "VERIFACTU_RECLAIM_INTERVAL": "1",
    }
    procs = []

    def _start(*, beat: bool = False):
        procs.append(start_worker(tmp_path / "worker.log", **env))
        if beat:
            procs.append(start_beat(tmp_path / "beat.log", **env))
        return tmp_path / "worker.log"

    yield _start
    for proc in procs:
        stop(proc, cold=True)
    for log in tmp_path.glob("*.log"):
        print(f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}")


def settled(records, timeout: float = 90) -> list[BillingRecord]:
    ids = [r.pk for r in records]
    done = (RecordStatus.ACCEPTED, RecordStatus.ERROR, RecordStatus.REJECTED)

    def check():
        rows = list(BillingRecord.objects.filter(pk__in=ids).order_by("position"))
        return rows if all(r.status in done for r in rows) else None

    return wait_until(check, timeout=timeout, interval=0.3, what="records settled")


@pytest.mark.slow
def test_a_20009_outage_ends_with_every_record_accepted_and_no_click(
    worker, register, http_simulator
):
    worker()
    [warm] = settled([register(invoice_number="W-1").record])
    http_simulator.set_mode("fault20009")  # until it is back
    before = [register(invoice_number=f"B-{i}").record for i in (1, 2)]
    wait_until(
        lambda: Submission.objects.filter(fault_code="20009").count() >= 2,
        timeout=60,
        what="the worker retrying by itself",
    )
    chain = chain_of(warm)
    assert chain.faulting_since is not None
    assert RecordStatus.ERROR not in statuses(before)
    during = [register(invoice_number=f"D-{i}").record for i in (1, 2)]
    assert all(r.created_at >= chain.faulting_since for r in during)
    wait_until(
        lambda: Submission.objects.filter(fault_code="20009").count() >= 3,
        timeout=60,
        what="another retry during the outage",
    )
    http_simulator.set_mode("normal")

    rows = settled([*before, *during])
    assert {r.status for r in rows} == {RecordStatus.ACCEPTED}
    assert chain_of(warm).faulting_since is None
    for row in rows:
        assert INCIDENCIA_S in row.submission.request_xml, row.invoice_number
    assert INCIDENCIA_S not in BillingRecord.objects.get(pk=warm.pk).submission.request_xml
    held = sorted(r["num_serie"] for r in http_simulator.snapshot()["records"])
    assert held == ["B-1", "B-2", "D-1", "D-2", "W-1"]


@pytest.mark.slow
@pytest.mark.parametrize("mode,code", [("fault4102", "4102"), ("fault4112", "4112")])
def test_a_permanent_fault_is_never_retried_by_the_worker(
    worker, register, http_simulator, mode, code
):
    http_simulator.set_mode(mode, times=1)  # any resend would be accepted
    log = worker(beat=True)
    records = [register(invoice_number=f"P-{i}").record for i in (1, 2, 3)]
    rows = settled(records)
    assert {(r.status, r.aeat_error_code) for r in rows} == {(RecordStatus.ERROR, code)}
    kicks = log.read_text(errors="replace").count("verifactu.reclaim_and_kick")
    wait_until(
        lambda: log.read_text(errors="replace").count("verifactu.reclaim_and_kick") >= kicks + 6,
        timeout=60,
        what="the beat's safety net running three more times",
    )
    assert statuses(records) == [RecordStatus.ERROR] * 3
    assert Submission.objects.count() == 1
    assert http_simulator.snapshot()["records"] == []
