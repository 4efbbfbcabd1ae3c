"""The faults of issue 8 ("Hardening"), each ending with every record at the AEAT simulator
exactly once and the chain verifying.

Everything is real and runs as its own process: the API served by gunicorn, a Celery worker
and beat, and the AEAT simulator, all pointed at a PRIVATE PostgreSQL cluster and a PRIVATE
``redis-server`` (:mod:`tests.private_services`), so that stopping them never touches the
machine's services. Outages last a few seconds, set here.

The test process reads the private database with plain SQL (psycopg): its own Django
connection belongs to the suite's test database, not to the stack under test.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import requests

from tests.payloads import one_line_invoice
from tests.private_services import PrivatePostgres, PrivateRedis, missing_binaries
from tests.processes import (
    ROOT,
    free_port,
    start_beat,
    start_worker,
    stop,
    wait_for_http,
    wait_until,
)
from verifactu.simulator.server import SOAP_PATH

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

OUTAGE_SECONDS = 3
SETTLED = ("accepted", "accepted_with_errors", "rejected", "error")
IN_FLIGHT = ("queued", "sending")
# Seconds, not minutes: retries, leases and the beat's safety net at test pace.
FAST_PACE = {
    "AEAT_TIMEOUT": "3",
    "VERIFACTU_MAX_BACKOFF": "1",
    "VERIFACTU_SENDING_LEASE": "5",
    "VERIFACTU_DEFAULT_WAIT": "0",
    "VERIFACTU_RECLAIM_INTERVAL": "2",
    "API_RATE_LIMIT": "100000",
}
TODAY = datetime.now(UTC).date().isoformat()

SETUP_ACCOUNT = """
import json, secrets
from api.services import create_token
from factu.models import Account, Membership, Role, Taxpayer, User
from verifactu.models import ComputerSystem
slug = "faults"
account = Account.objects.create(name=slug, slug=slug, kind=Account.Kind.COMPANY)
Taxpayer.objects.create(account=account, nif="B87654323", name="Estudio Sol SL")
ComputerSystem.objects.create(
    account=account, producer_name="Factu Software SL", producer_nif="B87654323",
    name="Factu", system_id="FA", version="1.0", installation_number=slug,
)
user = User.objects.create_user(f"{slug}@example.com", secrets.token_urlsafe(), full_name=slug)
Membership.objects.create(user=user, account=account, role=Role.OWNER)
print(json.dumps({"token": create_token(account, user, "faults")[1]}))
"""


# -- The stack --------------------------------------------------------------------------------

TEMPLATE_DATABASE = "factu_template"


@dataclass
class Services:
    """The private PostgreSQL and Redis (one pair per module) and the migrated template."""

    pg: PrivatePostgres
    redis: PrivateRedis
    data_dir: Path
    indexes: Iterator[int] = field(default_factory=lambda: itertools.count(1))


def stack_env(services: Services, database: str, index: int) -> dict[str, str]:
    """The environment of every process of one test: its own database and Redis numbers."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "REDIS_URL")
    }
    env.update(
        DATABASE_URL=services.pg.url(database),
        CELERY_BROKER_URL=services.redis.url(2 * index),
        CACHE_URL=services.redis.url(2 * index + 1),
        FACTU_DATA_DIR=str(services.data_dir),
        PYTHONUNBUFFERED="1",
        **FAST_PACE,
    )
    return env


def manage(env: dict[str, str], *args: str, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Iterator[Services]:
    reason = missing_binaries()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and a required binary is missing: {reason}", pytrace=False)
        pytest.skip(reason)
    pg, redis = PrivatePostgres(), PrivateRedis()
    try:
        pg.start()
        redis.start()
        pg.create_database(TEMPLATE_DATABASE)
        services = Services(pg, redis, tmp_path_factory.mktemp("faults-data"))
        migrated = manage(stack_env(services, TEMPLATE_DATABASE, 0), "migrate", "--noinput")
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        yield services
    finally:
        print(f"== postgres.log\n{pg.log_tail()}")
        pg.cleanup()
        redis.cleanup()


class Rig:
    """One test's stack on the private services: its own database (a copy of the migrated
    template) and Redis database numbers, an account with an API token, the API served by
    gunicorn, and on demand the AEAT simulator, Celery workers and beat."""

    def __init__(self, services: Services, tmp_path: Path) -> None:
        self.services = services
        self.pg, self.redis = services.pg, services.redis
        self.tmp = tmp_path
        index = next(services.indexes)
        assert 2 * index + 1 < 16, "redis-server has 16 databases"
        self.database = f"faults_{index}"
        self.pg.create_database(self.database, template=TEMPLATE_DATABASE)
        self.simulator_port = free_port()
        self.simulator_proc: subprocess.Popen | None = None
        self.procs: list[subprocess.Popen] = []
        self.env = {
            **stack_env(services, self.database, index),
            "AEAT_ENDPOINT": f"http://127.0.0.1:{self.simulator_port}{SOAP_PATH}",
        }
        created = manage(self.env, "shell", "-c", SETUP_ACCOUNT)
        assert created.returncode == 0, created.stderr[-3000:]
        token = json.loads(created.stdout.strip().splitlines()[-1])["token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.base_url = self.start_web()

    # -- processes
    def start_web(self) -> str:
        port = free_port()
        self._spawn(
            "gunicorn",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "factu.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--threads",
                "4",
                "--graceful-timeout",
                "2",
            ],
        )
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base_url}/entrar/", timeout=60)
        return base_url

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        return proc

    def start_simulator(self) -> None:
        """Start (or start again) the simulator on the same port and state file."""
        self.simulator_proc = self._spawn(
            "simulator",
            [
                sys.executable,
                "-m",
                "verifactu.simulator",
                "--port",
                str(self.simulator_port),
                "--wait-seconds",
                "0",
                "--state-file",
                str(self.tmp / "simulator.sqlite3"),
            ],
        )
        wait_for_http(self.control_url + "/state", timeout=30)

    def stop_simulator(self) -> None:
        assert self.simulator_proc is not None
        stop(self.simulator_proc)

    def start_worker(self, name: str = "worker", **extra: str) -> subprocess.Popen:
        proc = start_worker(self.tmp / f"{name}.log", **{**self.env, **extra})
        self.procs.append(proc)
        return proc

    def start_beat(self) -> subprocess.Popen:
        proc = start_beat(self.tmp / "beat.log", **self.env)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            stop(proc, cold=True)
        for log in sorted(self.tmp.glob("*.log")):
            print(f"== {log.name}\n{log.read_text(errors='replace')[-3000:]}")

    # -- the simulator's inspection endpoint
    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}/_control"

    def simulator_state(self) -> dict:
        return requests.get(self.control_url + "/state", timeout=5).json()

    def set_simulator(self, **control) -> None:
        requests.post(self.control_url, json=control, timeout=5).raise_for_status()

    # -- the API
    def post_invoice(self, number: str, key: str | None = None) -> requests.Response:
        # A connection per request: a kept-alive one may be closed by gunicorn just as the
        # next request goes out, a client-side race that is not what these tests look for.
        headers = {**self.auth, "Connection": "close"}
        if key:
            headers["Idempotency-Key"] = key
        return requests.post(
            f"{self.base_url}/api/v1/invoices",
            json=one_line_invoice(number, TODAY),
            headers=headers,
            timeout=30,
        )

    def register(self, numbers: list[str]) -> None:
        for number in numbers:
            response = self.post_invoice(number)
            assert response.status_code == 201, (number, response.status_code, response.text)

    # -- the test's database, read with SQL
    def sql(self, query: str, *params) -> list[tuple]:
        url = self.env["DATABASE_URL"]
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            return conn.execute(query, params).fetchall()

    def records(self) -> list[tuple[str, str, int]]:
        """(invoice number, status, position) of every billing record, in chain order."""
        return self.sql(
            "SELECT invoice_number, status, position FROM verifactu_billingrecord ORDER BY position"
        )

    def invoices(self) -> list[str]:
        rows = self.sql("SELECT invoice_number FROM verifactu_fiscalinvoice")
        return sorted(number for (number,) in rows)

    def statuses(self) -> dict[str, str]:
        return {number: status for number, status, _ in self.records()}

    def failed_sends(self) -> int:
        """Submissions that never got an answer from the AEAT (down, 500, timeout)."""
        [(count,)] = self.sql(
            "SELECT count(*) FROM verifactu_submission WHERE transport_error <> ''"
        )
        return count

    def settled(self, numbers: list[str], timeout: float = 90) -> dict[str, str]:
        def done():
            now = self.statuses()
            if set(now) >= set(numbers) and all(now[n] in SETTLED for n in numbers):
                return now
            return None

        return wait_until(done, timeout=timeout, interval=0.3, what="records settled")

    # -- the final check of every scenario
    def assert_each_record_exactly_once(self, numbers: list[str], *, resent_ok=False) -> None:
        """Every invoice has one record, accepted and held once by the simulator, in one
        chain without gap or fork that verifies. Unless ``resent_ok``, each record also
        reached the simulator just once (a resend is legitimate only after a lost answer,
        which the database going away mid-flush can cause: AEAT then answers 3000)."""
        assert self.invoices() == sorted(numbers)
        rows = self.records()
        assert [position for _, _, position in rows] == list(range(1, len(numbers) + 1))
        assert sorted(number for number, _, _ in rows) == sorted(numbers)  # one record each
        assert {status for _, status, _ in rows} == {"accepted"}, rows
        state = self.simulator_state()
        held = [r["num_serie"] for r in state["records"]]
        assert sorted(held) == sorted(numbers), held
        if not resent_ok:
            assert sorted(state["received"].values()) == [1] * len(numbers), state["received"]
        verified = manage(self.env, "verifactu_verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "1 chains verified, 0 broken." in verified.stdout, verified.stdout


@pytest.fixture
def rig(services, tmp_path) -> Iterator[Rig]:
    rig = Rig(services, tmp_path)
    try:
        yield rig
    finally:
        rig.close()
        if not services.pg.running:
            services.pg.start()
        if not services.redis.running:
            services.redis.start()


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its children (a Celery worker and its pool), no warm shutdown."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == pid:
                children.append(int(entry))
    for target in [pid, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(target, signal.SIGKILL)


def numbered(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(1, n + 1)]


def assert_clear_503(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:500])
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    assert set(body) == {"message", "errors"} and body["message"], body


# -- a. the worker killed mid-flush ----------------------------------------------------------


def test_worker_killed_with_sigkill_mid_flush_and_restarted_sends_each_record_once(rig):
    rig.start_simulator()
    rig.set_simulator(mode="timeout", times=1, timeout_seconds=8)
    numbers = numbered("A", 5)
    rig.register(numbers)
    victim = rig.start_worker("victim", AEAT_TIMEOUT="30")
    rig.start_beat()
    wait_until(
        lambda: sorted(rig.statuses().values()) == ["sending"] * 5,
        timeout=60,
        what="a flush in progress",
    )
    kill_tree(victim.pid)
    victim.wait()
    time.sleep(1)
    assert sorted(rig.statuses().values()) == ["sending"] * 5  # nobody else is sending them
    assert rig.simulator_state()["records"] == []

    rig.start_worker("restarted")
    rig.settled(numbers)
    rig.assert_each_record_exactly_once(numbers)


# -- b. PostgreSQL restarted during a burst of POSTs -----------------------------------------


@dataclass
class Attempt:
    number: str
    key: str | None
    status: int | None = None
    response: requests.Response | None = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)


def test_postgres_restart_during_a_burst_gives_retryable_503s_and_writes_nothing_half(rig):
    """Four clients POST invoices while PostgreSQL stops for a few seconds and starts again.

    Two send an ``Idempotency-Key`` and two do not. Every failure is a JSON 503 with
    ``Retry-After`` (never a 500, never a dropped connection); every 201 has its invoice and
    record, every failure has neither (but for a COMMIT cut by the shutdown, which a retry
    resolves); retrying the failures registers each invoice once.
    """
    rig.start_simulator()
    rig.start_worker()
    rig.start_beat()
    attempts: list[Attempt] = []
    lock = threading.Lock()
    finish = threading.Event()

    def client(lane: int) -> None:
        for i in range(1, 400):
            if finish.is_set():
                return
            number = f"B{lane}-{i:03d}"
            attempt = Attempt(number, str(uuid.uuid4()) if lane % 2 else None)
            try:
                response = rig.post_invoice(number, attempt.key)
                attempt.status, attempt.response = response.status_code, response
            except requests.RequestException as exc:
                attempt.error = repr(exc)
            with lock:
                attempts.append(attempt)
            if attempt.status != 201:
                time.sleep(0.2)

    def created_since(moment: float) -> int:
        with lock:
            return sum(a.status == 201 and a.at > moment for a in attempts)

    lanes = [threading.Thread(target=client, args=(lane,), daemon=True) for lane in range(4)]
    for lane in lanes:
        lane.start()
    try:
        wait_until(lambda: created_since(0) >= 8, timeout=60, what="the burst under way")
        rig.pg.restart(OUTAGE_SECONDS)
        back = time.monotonic()
        wait_until(lambda: created_since(back) >= 8, timeout=60, what="201s after the restart")
    finally:
        finish.set()
        for lane in lanes:
            lane.join(40)

    assert [a for a in attempts if a.error] == []  # the API kept answering
    failed = [a for a in attempts if a.status != 201]
    assert failed, "the restart never reached a request: the test proved nothing"
    for attempt in failed:
        assert_clear_503(attempt.response)
    stored = set(rig.invoices())
    assert {a.number for a in attempts if a.status == 201} <= stored  # every 201 stands
    records = rig.records()
    assert sorted(number for number, _, _ in records) == sorted(stored)  # one record each
    assert [position for _, _, position in records] == list(range(1, len(records) + 1))
    # A failure left nothing, unless the shutdown cut the very COMMIT: then the outcome is
    # unknown to the server too (at most one such request per client), and the retry tells.
    in_doubt = [a for a in failed if a.number in stored]
    print(f"{len(attempts)} POSTs, {len(failed)} answered 503, {len(in_doubt)} of them in doubt")
    assert len(in_doubt) <= len(lanes), in_doubt

    for attempt in failed:  # what a client does with a 503: retry (with the same key)
        response = retry_after_503(rig, attempt)
        if attempt not in in_doubt:
            assert response.status_code == 201, response.text
            assert "Idempotent-Replayed" not in response.headers  # the first try left nothing
        elif attempt.key:
            assert response.status_code == 201, response.text
            assert response.headers["Idempotent-Replayed"] == "true"
        else:
            assert response.status_code == 409, response.text  # already registered
    numbers = sorted(a.number for a in attempts)
    rig.settled(numbers, timeout=120)
    rig.assert_each_record_exactly_once(numbers, resent_ok=True)


def retry_after_503(rig: Rig, attempt: Attempt) -> requests.Response:
    for _ in range(20):
        response = rig.post_invoice(attempt.number, attempt.key)
        if response.status_code != 503:
            return response
        time.sleep(min(1, int(response.headers["Retry-After"])))
    return response


# -- c. Redis unavailable --------------------------------------------------------------------


def test_a_worker_holding_a_countdown_task_survives_redis_going_away(services, tmp_path):
    """Stock kombu 5.7 stops such a worker for good ("Unrecoverable error: AttributeError");
    :mod:`factu.broker` makes it reconnect. Every scheduled flush is such a task."""
    from celery import Celery

    index = next(services.indexes)
    services.pg.create_database(f"faults_{index}", template=TEMPLATE_DATABASE)
    env = stack_env(services, f"faults_{index}", index)
    worker = start_worker(tmp_path / "worker.log", **env)
    producer = Celery("faults")
    try:
        wait_until(
            lambda: b" ready." in (tmp_path / "worker.log").read_bytes(),
            timeout=60,
            what="worker ready",
        )
        # An explicit connection: Celery prefers $CELERY_BROKER_URL (the suite's) to its config.
        with producer.connection_for_write(env["CELERY_BROKER_URL"]) as connection:
            sent = producer.send_task("factu.tasks.heartbeat", countdown=600, connection=connection)
        held = sent.id.encode()
        wait_until(
            lambda: held + b"] received" in (tmp_path / "worker.log").read_bytes(),
            timeout=30,
            what="the countdown task held by the worker",
        )
        services.redis.stop()
        time.sleep(OUTAGE_SECONDS)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text(errors="replace")
        services.redis.start()
        wait_until(
            lambda: (tmp_path / "worker.log").read_bytes().count(b"Connected to") >= 2,
            timeout=30,
            what="the worker reconnected",
        )
        assert worker.poll() is None
    finally:
        producer.close()
        stop(worker, cold=True)
        if not services.redis.running:
            services.redis.start()


def test_redis_outage_is_a_clear_503_and_queued_work_resumes_when_it_is_back(rig):
    rig.start_simulator()
    rig.set_simulator(mode="http500")  # the AEAT fails: records wait in the queue, retrying
    worker = rig.start_worker()
    rig.start_beat()
    numbers = numbered("C", 5)
    rig.register(numbers)
    wait_until(
        lambda: rig.failed_sends() >= 2,
        timeout=60,
        what="the worker retrying against the failing AEAT",
    )

    rig.redis.stop()
    rig.set_simulator(mode="normal")
    assert set(rig.statuses().values()) <= set(IN_FLIGHT)
    down = time.monotonic()
    answers = []
    while time.monotonic() - down < OUTAGE_SECONDS:
        answers.append(rig.post_invoice("C-during-outage"))
        listing = requests.get(f"{rig.base_url}/api/v1/invoices", headers=rig.auth, timeout=30)
        answers.append(listing)
        time.sleep(0.3)
    for response in answers:
        assert_clear_503(response)
    rig.redis.start()
    assert worker.poll() is None, "the worker died with the broker instead of reconnecting"

    rig.settled(numbers, timeout=120)
    rig.assert_each_record_exactly_once(numbers)
    after = rig.post_invoice("C-after")
    assert after.status_code == 201, after.text
    rig.settled([*numbers, "C-after"])
    rig.assert_each_record_exactly_once([*numbers, "C-after"])


# -- d. the AEAT simulator down, then back ---------------------------------------------------


def test_aeat_down_then_back_records_wait_then_all_arrive_exactly_once(rig):
    rig.start_simulator()
    rig.start_worker()
    rig.start_beat()
    warm = numbered("D0", 2)
    rig.register(warm)
    rig.settled(warm)

    rig.stop_simulator()
    down = time.monotonic()
    numbers = numbered("D1", 5)
    rig.register(numbers)
    wait_until(
        lambda: rig.failed_sends() >= 2,
        timeout=60,
        what="failed sends while the AEAT is down",
    )
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - down)))
    statuses = rig.statuses()
    assert all(statuses[n] in IN_FLIGHT for n in numbers), statuses  # waiting, not lost

    rig.start_simulator()
    rig.settled(numbers)
    rig.assert_each_record_exactly_once([*warm, *numbers])
