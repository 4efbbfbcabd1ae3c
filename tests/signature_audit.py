"""A pytest plugin: every signature the test session produces is verified by xmlsec1 at its end.

:func:`verifactu.signing.sign_record_xml` is the one function that produces signatures. At the
start of the session it is wrapped, here and wherever a module already imported it by name,
so that each signed document it returns is also written to a session directory (named after
the test that made it). At the end xmlsec1 verifies them all cryptographically (digests and
signature value with the certificate of ``KeyInfo``, :data:`tests.xmlsec.CRYPTOGRAPHIC_ONLY`):
some tests sign with keys no CA vouches for, on purpose, and who signed is checked by
tests/test_independent_verification.py. A signature that does not verify fails the run; its
file is kept and named in the summary. Documents edited after signing never pass through
``sign_record_xml``, so deliberate forgeries are not recorded.

Signatures made in other processes (the end-to-end tests' workers) are not seen here.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests import xmlsec
from verifactu import signing


class SignatureAudit:
    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="factu-signatures-"))
        self.paths: list[Path] = []
        self.failures: list[xmlsec.Failure] = []
        self.missing_binary = False
        self.seconds = 0.0
        self.original = signing.sign_record_xml
        self._lock = threading.Lock()  # some tests sign from several threads

    def record(self, signed_xml: str) -> None:
        test = os.environ.get("PYTEST_CURRENT_TEST", "outside-a-test").rsplit(" ", 1)[0]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test.split("::", 1)[-1])[:120]
        with self._lock:
            path = self.directory / f"{len(self.paths) + 1:05d}-{name}.xml"
            self.paths.append(path)
        path.write_text(signed_xml, encoding="utf-8")

    def install(self) -> None:
        original = self.original

        @functools.wraps(original)
        def recorded(*args, **kwargs):
            signed = original(*args, **kwargs)
            self.record(signed)
            return signed

        for module in list(sys.modules.values()):
            if getattr(module, "sign_record_xml", None) is original:
                module.sign_record_xml = recorded

    def uninstall(self) -> None:
        for module in list(sys.modules.values()):
            current = getattr(module, "sign_record_xml", None)
            if getattr(current, "__wrapped__", None) is self.original:
                module.sign_record_xml = self.original

    def verify(self) -> None:
        if not self.paths:
            shutil.rmtree(self.directory, ignore_errors=True)
            return
        binary = shutil.which("xmlsec1")
        if binary is None:
            self.missing_binary = True
            return
        started = time.perf_counter()
        self.failures = xmlsec.verify_files(self.paths, binary=binary)
        self.seconds = time.perf_counter() - started
        kept = {failure.path for failure in self.failures}
        for path in self.paths:
            if path not in kept:
                path.unlink(missing_ok=True)
        if not kept:
            shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def failed(self) -> bool:
        return self.missing_binary or bool(self.failures)

    def summary(self) -> list[str]:
        if self.missing_binary:
            return [
                f"{len(self.paths)} signatures made, none verified: {xmlsec.INSTALL}",
                f"they are kept in {self.directory}",
            ]
        lines = [
            f"xmlsec1 verified {len(self.paths) - len(self.failures)} of {len(self.paths)} "
            f"signatures made by this session in {self.seconds:.2f} s"
        ]
        for failure in self.failures:
            lines.append(f"NOT VERIFIED: {failure.path}")
            lines += [f"    {line}" for line in failure.output.strip().splitlines()[-6:]]
        return lines


_AUDIT = pytest.StashKey[SignatureAudit]()


def pytest_configure(config: pytest.Config) -> None:
    audit = SignatureAudit()
    audit.install()
    config.stash[_AUDIT] = audit


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    audit = session.config.stash.get(_AUDIT, None)
    if audit is None:
        return
    audit.uninstall()
    audit.verify()
    if audit.failed and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    audit = config.stash.get(_AUDIT, None)
    if audit is None or (not audit.paths and not audit.failed):
        return
    terminalreporter.section("signatures (xmlsec1)", red=audit.failed, green=not audit.failed)
    for line in audit.summary():
        terminalreporter.line(line)
