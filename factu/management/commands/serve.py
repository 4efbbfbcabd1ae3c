"""``make run``: the web server, the Celery worker, beat and the AEAT simulator as one
foreground command. Ctrl-C or SIGTERM stops every process; if one of them dies
the others are stopped too, so a half-running product never goes unnoticed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def process_specs(host: str, port: int) -> dict[str, list[str]]:
    py = sys.executable
    return {
        "web": [
            py,
            "-m",
            "gunicorn",
            "factu.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "5",
        ],
        "worker": [
            py,
            "-m",
            "celery",
            "-A",
            "factu",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--hostname",
            f"worker-{port}@%h",
        ],
        "simulator": [
            py,
            "-m",
            "verifactu.simulator",
            "--host",
            "127.0.0.1",
            "--port",
            str(settings.SIMULATOR_PORT),
            "--wait-seconds",
            str(settings.SIMULATOR_WAIT_SECONDS),
            "--state-file",
            str(settings.DATA_DIR / "simulator.sqlite3"),
        ],
        "beat": [
            py,
            "-m",
            "celery",
            "-A",
            "factu",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            settings.CELERY_BEAT_SCHEDULE_FILENAME,
        ],
    }


class Command(BaseCommand):
    help = "Serve Factu with its background workers until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum=None, frame=None) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        for name, argv in process_specs(host, port).items():
            children[name] = subprocess.Popen(argv, start_new_session=True)
        self.stdout.write(f"Factu on http://{host}:{port}/ — Ctrl-C stops everything.")
        self.stdout.flush()

        failed = None
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    failed = name
                    stopping = True
                    break
            time.sleep(0.3)

        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if failed:
            self.stderr.write(
                f"The {failed} process exited with code {children[failed].returncode}; "
                "stopped the others."
            )
            sys.exit(1)
        self.stdout.write("Stopped.")
