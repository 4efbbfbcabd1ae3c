"""Starting real processes (servers, Celery workers) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return requests.get(url, timeout=2)
        except requests.RequestException as exc:
            last = exc
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s: {last}")


def wait_until(predicate, timeout: float = 30.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached in {timeout}s")


# The start of a child script that runs Django on the test database (with :func:`child_env`).
DJANGO_CHILD = """
import os
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factu.settings")
django.setup()
"""

# A child's start barrier, to paste into its script where it is ready to start (``{go}``
# formatted as the path given to :func:`release_when_ready`): it reports at the starting line
# with a file of its own, then waits for the go.
AT_THE_STARTING_LINE = """
import os as _os, time as _time
open("{go}.ready-%d" % _os.getpid(), "x").close()
while not _os.path.exists("{go}"):
    _time.sleep(0.01)
"""


def release_when_ready(go: Path, children: list[subprocess.Popen], timeout: float = 120.0) -> None:
    """Release ``children`` together once every one of them has reported at the starting
    line (:data:`AT_THE_STARTING_LINE`): no guess of how long their start-up takes. A child
    that exits first, or a barrier not reached in ``timeout``, fails the test and stops them."""

    def all_ready() -> bool:
        for child in children:
            if child.poll() is not None:
                raise AssertionError(f"a child exited before the start: {child.args!r}")
        return len(list(go.parent.glob(f"{go.name}.ready-*"))) >= len(children)

    try:
        wait_until(all_ready, timeout=timeout, interval=0.02, what="every child at the start")
    except BaseException:
        for child in children:
            child.kill()
        raise
    go.touch()


def start_scripts(scripts: list[str], stdout: int | None = None) -> list[subprocess.Popen]:
    """One ``python -c <script>`` child a script, on the test database, its stderr piped."""
    return [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env=child_env(),
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
        for script in scripts
    ]


def run_together(go: Path, scripts: list[str], timeout: float = 240.0) -> None:
    """Run one child a script, released together at the starting line (``{go}``); each must
    exit 0, or the test fails with their stderr."""
    children = start_scripts(scripts)
    release_when_ready(go, children)
    errors = [child.communicate(timeout=timeout)[1] for child in children]
    assert [child.returncode for child in children] == [0] * len(children), "\n".join(errors)


def test_database_url() -> str:
    """The URL of the database the test process is using, for a child process to share."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{db['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        FACTU_DATA_DIR=str(settings.DATA_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_celery(log_path: Path, *args: str, **extra_env: str) -> subprocess.Popen:
    """``celery -A factu <args>`` on the test database, its output in ``log_path``."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed by the caller with the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "factu", *args, "--loglevel", "INFO"],
        cwd=ROOT,
        env=child_env(**extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_worker(log_path: Path, queues: str = "celery", **extra_env: str) -> subprocess.Popen:
    return start_celery(
        log_path,
        "worker",
        "--concurrency",
        "2",
        "--queues",
        queues,
        "--hostname",
        f"test-{os.getpid()}@%h",
        "--without-mingle",
        "--without-gossip",
        **extra_env,
    )


def start_beat(log_path: Path, **extra_env: str) -> subprocess.Popen:
    """Celery beat on the test database, its schedule file beside ``log_path``."""
    return start_celery(
        log_path, "beat", "--schedule", str(log_path.with_suffix(".schedule")), **extra_env
    )


def stop(proc: subprocess.Popen, timeout: float = 15.0, cold: bool = False) -> None:
    """Stop a child; ``cold`` skips a Celery worker's warm shutdown (tests need no grace)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGQUIT if cold else signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
