"""A private PostgreSQL cluster and a private Redis for fault tests.

The fault tests stop and restart their database and broker; doing that to the machine's own
services would break every other test run on the machine. So each run makes its own: a
cluster created with ``initdb`` in a temporary folder and a ``redis-server`` without
persistence, each on a free port, each stopped and started again on demand with the same
data folder and port.

As root, PostgreSQL runs as the ``postgres`` OS user (``initdb`` refuses root), through
``runuser``; otherwise as the current user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.processes import free_port, wait_until

POSTGRES_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin")
POSTGRES_BIN_DIRS += ("/usr/lib/postgresql/15/bin",)


def postgres_binary(name: str) -> str | None:
    """The PostgreSQL server program ``name`` (initdb, pg_ctl), on PATH or in Debian's dir."""
    found = shutil.which(name)
    if found:
        return found
    for folder in POSTGRES_BIN_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


def missing_binaries() -> str | None:
    """Why a private PostgreSQL or Redis cannot be started here, or None when they can."""
    for name in ("initdb", "pg_ctl"):
        if postgres_binary(name) is None:
            return f"needs PostgreSQL's {name}: apt-get install postgresql"
    if shutil.which("redis-server") is None:
        return "needs redis-server: apt-get install redis-server"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a 'postgres' OS user for initdb (it refuses root)"
    return None


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.5):
            return True
    except OSError:
        return False


class PrivatePostgres:
    """A throwaway cluster: ``start()``, ``stop()``, ``restart(outage)``, ``cleanup()``."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="factu-pg-"))
        self.data_dir = self.root / "data"
        self.log_file = self.root / "postgres.log"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._init()

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(argv)
        if self._user:
            command = ["runuser", "-u", self._user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def _init(self) -> None:
        self._run(
            postgres_binary("initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C",
        )
        settings = {
            "port": str(self.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "60",
            "shared_buffers": "32MB",
        }
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def running(self) -> bool:
        return _port_open(self.port)

    def start(self) -> None:
        self._run(
            postgres_binary("pg_ctl"),
            "start",
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_file),
            "-w",
            "-t",
            "60",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` rolls back open transactions and drops every client."""
        self._run(postgres_binary("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", mode, "-w")

    def restart(self, outage: float, mode: str = "fast") -> None:
        """Stop, stay down ``outage`` seconds, start again on the same port and data."""
        self.stop(mode)
        time.sleep(outage)
        self.start()

    def create_database(self, name: str, template: str | None = None) -> None:
        """Create ``name``, empty or as a copy of ``template`` (which nobody may be using)."""
        import psycopg

        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def cleanup(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                postgres_binary("pg_ctl"),
                "stop",
                "-D",
                str(self.data_dir),
                "-m",
                "immediate",
                "-w",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A ``redis-server`` without persistence: a restart comes back empty, as after a crash."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="factu-redis-"))
        self.log_file = self.root / "redis.log"
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.root),
                "--logfile",
                str(self.log_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_until(self._answers, timeout=20, what=f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        wait_until(lambda: not _port_open(self.port), timeout=10, what="redis-server stopped")

    def restart(self, outage: float) -> None:
        self.stop()
        time.sleep(outage)
        self.start()

    def cleanup(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)
