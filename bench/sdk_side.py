"""verifactu-sdk 0.1.0 beside our record pipeline: its own venv, and its runner as a process.

The sdk is never installed in the project's venv nor in its requirements: the bench builds a
venv of its own under ``BENCH_DATA_DIR`` (``sdk-venv``) once, with ``python -m venv`` and
``pip install verifactu-sdk==0.1.0`` (the sdk and its declared dependencies, with lxml pinned
to the project's version so both sides validate with the same libxml2), and reuses it while
its marker matches. ``bench/sdk_pipeline.py`` then runs in that venv as a long-lived process,
one timed run per request, so its runs alternate with ours.

Anything that stops the sdk side (no network, pip failing, the runner dying, or
``BENCH_SKIP_SDK`` set) raises :class:`Unavailable` with the reason: the bench reports the
sdk's rows as not measured, and still reports its own.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import common

SDK = "verifactu-sdk==0.1.0"
SKIP_ENV = "BENCH_SKIP_SDK"
RUNNER = common.HERE / "sdk_pipeline.py"


class Unavailable(Exception):
    """The sdk side cannot be measured; ``str(exc)`` says why."""


def venv_dir() -> Path:
    return common.DATA_DIR / "sdk-venv"


def _step(cmd: list[str], what: str, timeout: float) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("ERROR")]
        last = (errors or lines or [f"exit status {done.returncode}"])[-1].strip()
        raise Unavailable(f"{what} failed: {last}")


def ensure_venv(venv: Path | None = None) -> Path:
    """The sdk venv's interpreter: built on first use, reused while its marker matches."""
    venv = venv or venv_dir()
    python = venv / "bin" / "python"
    lxml_pin = f"lxml=={importlib.metadata.version('lxml')}"
    wanted = f"{SDK} {lxml_pin}\n"
    marker = venv / "factu-bench-ready"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"building the verifactu-sdk venv in {venv} (once)", flush=True)
    _step([sys.executable, "-m", "venv", str(venv)], "python -m venv", 300)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    pip += ["--quiet", "--retries", "1", "--timeout", "20", SDK, lxml_pin]
    _step(pip, f"pip install {SDK}", 600)
    marker.write_text(wanted)
    return python


def prepare(skip: bool) -> Path:
    """The sdk venv's interpreter, or :class:`Unavailable` when skipped or not buildable."""
    if skip:
        raise Unavailable("skipped (--skip-sdk)")
    if os.environ.get(SKIP_ENV):
        raise Unavailable(f"skipped ({SKIP_ENV} is set)")
    try:
        return ensure_venv()
    except OSError as exc:
        raise Unavailable(f"the sdk venv could not be written: {exc}") from None


class Runner:
    """``sdk_pipeline.py --serve`` in the sdk venv: one timed run per :meth:`run`."""

    def __init__(self, python: Path, records: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        self.log = common.DATA_DIR / "sdk-runner.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._err = open(self.log, "w")  # noqa: SIM115 - lives as long as the process
        try:
            self.proc = subprocess.Popen(
                [str(python), str(RUNNER), "--records", str(records), "--serve"],
                cwd=common.ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._err,
                text=True,
            )
        except OSError as exc:
            self._err.close()
            raise Unavailable(f"the sdk runner did not start: {exc}") from None
        self.info = self._read()

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            tail = [ln for ln in self.log.read_text().splitlines() if ln.strip()][-1:]
            raise Unavailable(f"the sdk runner stopped: {' '.join(tail) or 'no output'}")
        try:
            return json.loads(line)
        except ValueError:
            self.close()
            raise Unavailable(f"the sdk runner answered {line[:200]!r}") from None

    def run(self) -> dict:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write("run\n")
            self.proc.stdin.flush()
        except OSError:
            pass  # it died: _read says why
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            common.stop(self.proc)
        self._err.close()
