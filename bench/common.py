"""What every ``bench_*.py`` shares: the result shape, the bench database, servers, fixtures.

Each benchmark reports rows ``{benchmark, metric, median, unit, runs, target, met}``: it
writes them to ``bench/results/<name>.json`` and prints them as the last line of its output,
``BENCH-JSON {...}``, which ``bench/run.py`` collects into one table.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# BENCH_RESULTS_DIR lets the smoke test keep its tiny figures out of bench/results/.
RESULTS = Path(os.environ.get("BENCH_RESULTS_DIR") or HERE / "results")
MARKER = "BENCH-JSON "
DEFAULT_BENCH_DB = "postgres://postgres@127.0.0.1:5432/factu_bench"
FORBIDDEN_DATABASES = {"test", "postgres", "template0", "template1"}
# Overridable so that several checkouts on one machine do not empty each other's Redis.
BROKER_URL = os.environ.get("BENCH_BROKER_URL") or "redis://127.0.0.1:6379/6"
CACHE_URL = os.environ.get("BENCH_CACHE_URL") or "redis://127.0.0.1:6379/7"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR") or "/tmp/factu-bench-data")

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cores() -> int:
    return os.cpu_count() or 1


# ---- results


def row(
    benchmark: str,
    metric: str,
    runs: list[float],
    unit: str,
    target: str | None = None,
    met: bool | None = None,
    **extra: object,
) -> dict:
    """One figure: the median of ``runs``, with its target and whether it was met."""
    median = statistics.median(runs) if runs else None
    return {
        "benchmark": benchmark,
        "metric": metric,
        "median": None if median is None else round(median, 3),
        "unit": unit,
        "runs": [round(r, 3) for r in runs],
        "target": target,
        "met": met,
        "cores": cores(),
        **extra,
    }


def at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def at_most(value: float | None, ceiling: float) -> bool | None:
    return None if value is None else value <= ceiling


def report(name: str, rows: list[dict], *, quick: bool = False, **context: object) -> dict:
    """Write ``bench/results/<name>.json`` and print the ``BENCH-JSON`` line; returns the doc."""
    doc = {
        "name": name,
        "cores": cores(),
        "quick": quick,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "rows": rows,
        **context,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(MARKER + json.dumps(doc), flush=True)
    return doc


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


# ---- the bench database


def bench_database_url() -> str:
    """``DATABASE_URL`` when it is PostgreSQL, else the dedicated ``factu_bench`` database."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = DEFAULT_BENCH_DB
    name = urlparse(url).path.lstrip("/")
    if name in FORBIDDEN_DATABASES or name.startswith("test_"):
        raise SystemExit(f"refusing to benchmark in database {name!r}: use a dedicated one")
    return url


def ensure_database(url: str) -> None:
    """Create the database of ``url`` if it does not exist (from the maintenance database)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    try:
        psycopg.connect(url, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def bench_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of the bench's own processes (driver, gunicorn, Celery)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=BROKER_URL,
        CACHE_URL=CACHE_URL,
        FACTU_DATA_DIR=str(DATA_DIR),
        DJANGO_SETTINGS_MODULE="factu.settings",
        LOG_LEVEL="WARNING",
        API_RATE_LIMIT="100000000",
        API_ACCOUNT_RATE_LIMIT="100000000",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def setup_django(database_url: str, *, migrate: bool = True, **extra: str) -> None:
    """Point this process at the bench database (created and migrated) and set Django up."""
    ensure_database(database_url)
    os.environ.update(bench_env(database_url, **extra))
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def flush_redis() -> None:
    """Empty the bench's own Redis databases (broker and cache): stale tasks, rate counters."""
    import redis

    for url in (BROKER_URL, CACHE_URL):
        redis.Redis.from_url(url).flushdb()


# ---- fixtures


@dataclass
class Tenant:
    account: object
    user: object
    taxpayer: object
    system: object
    token: str = ""
    extra: dict = field(default_factory=dict)


def nifs(count: int, first: int = 7_300_000) -> list[str]:
    """``count`` distinct valid entity NIFs (B + 7 digits + control) for bench tenants, from
    the body ``first`` on: a bench's tenants never share an issuer with another's (the
    AEAT simulator keeps each issuer's records for its whole run)."""
    from factu.nif import is_valid_nif

    found = []
    for n in range(count):
        body = f"B{first + n:07d}"
        found.append(next(body + c for c in "0123456789" if is_valid_nif(body + c)))
    return found


def make_tenant(label: str, nif: str = "B87654323") -> Tenant:
    """A fresh account with an owner, a taxpayer, a computer system and an API token."""
    from api.services import create_token
    from factu.models import Account, Membership, Role, Taxpayer, User
    from verifactu.installations import create_installation

    stamp = f"{label}-{time.time_ns()}"
    account = Account.objects.create(name=f"Bench {label}", slug=stamp[:50])
    user = User.objects.create_user(f"{stamp}@bench.example", "correct horse battery")
    Membership.objects.create(user=user, account=account, role=Role.OWNER)
    taxpayer = Taxpayer.objects.create(account=account, nif=nif, name=f"Bench {label} SL")
    system = create_installation(account, "bench")
    _, raw = create_token(account, user, "bench")
    return Tenant(account, user, taxpayer, system, raw)


# ---- processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError as exc:
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s: {last}")


def start_gunicorn(
    env: dict[str, str], workers: int, log: Path, threads: int = 1
) -> tuple[subprocess.Popen, str]:
    """gunicorn on a free loopback port: sync workers (as in the Dockerfile), or gthread
    workers with ``threads`` threads each (as ``make run`` serves)."""
    port = free_port()
    out = open(log, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "factu.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(base + "/api/schema")
    except TimeoutError:
        stop(proc)
        raise SystemExit(f"gunicorn did not start; see {log}") from None
    return proc, base


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_celery_worker(env: dict[str, str], concurrency: int, log_path: Path) -> subprocess.Popen:
    """A real Celery worker (prefork, ``concurrency`` processes) on the bench's broker; it
    returns once the worker says it is ready."""
    log = open(log_path, "wb")  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "factu",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
            "--hostname",
            f"bench-{time.time_ns()}@%h",
            "--without-mingle",
            "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while " ready." not in log_path.read_text(errors="replace"):
        if time.monotonic() > deadline or proc.poll() is not None:
            stop(proc)
            raise SystemExit(f"the Celery worker did not start; see {log_path}")
        time.sleep(0.2)
    return proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's and Celery's worker processes)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        return [int(p) for p in path.read_text().split()]
    except OSError:
        return []


def peak_rss_mib(pid: int) -> float | None:
    """``VmHWM`` of a process: its peak resident set size, in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def load(
    url: str,
    *,
    token: str,
    concurrency: int,
    requests: int,
    duration: float,
    method: str = "GET",
    body: str = "",
    warmup: int = 0,
    latencies: bool = False,
    clients: Path | None = None,
) -> dict:
    """Run ``bench/load.py`` (its own process) against ``url``; returns its JSON summary.
    ``clients``: a JSON file of ``[token, body]`` pairs, one per connection (see load.py)."""
    cmd = [
        sys.executable,
        str(HERE / "load.py"),
        url,
        "--concurrency",
        str(concurrency),
        "--requests",
        str(requests),
        "--duration",
        str(duration),
        "--method",
        method,
        "--warmup",
        str(warmup),
    ]
    if body:
        cmd += ["--body", body]
    if latencies:
        cmd.append("--latencies")
    if clients is not None:
        cmd += ["--clients", str(clients)]
    env = {**os.environ, "BENCH_TOKEN": token}
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"load client failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
