"""xmlsec1 (Debian's ``xmlsec1``, libxmlsec1 with OpenSSL) as an independent verifier of the
XAdES-EPES signatures of :mod:`verifactu.signing`.

The command line, and why each option is there:

- ``--id-attr:Id <xades ns>:SignedProperties`` and ``--id-attr:Id <ds ns>:KeyInfo``: the
  ``#...`` references of SignedInfo point to these elements by their ``Id`` attribute, which no
  DTD declares as an ID.
- ``--enabled-reference-uris empty,same-doc``: only ``URI=""`` and ``#id`` references resolve;
  nothing is fetched.
- ``--enabled-key-data x509``: the key is taken from the certificate in ``KeyInfo/X509Data``.
  ``KeyInfo`` also carries a ``KeyValue`` (before ``X509Data``); without this option xmlsec1
  (1.2.37) takes that bare key and never looks at a certificate, so ``--trusted-pem`` alone
  accepts a signature by any key.
- ``--trusted-pem <root>`` checks the chain (the intermediates travel in ``X509Data``) up to the
  given root; ``--insecure`` instead checks the digests and the signature value with the
  certificate's key and nothing about who it belongs to.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
PROFILE = (
    f"--id-attr:Id {NS_XADES}:SignedProperties",
    f"--id-attr:Id {NS_DS}:KeyInfo",
    "--enabled-reference-uris empty,same-doc",
    "--enabled-key-data x509",
)
CRYPTOGRAPHIC_ONLY = ("--insecure",)
# One process checks many files; a long command line is split into runs of this many.
BATCH = 200
INSTALL = "xmlsec1 is not installed: apt-get install xmlsec1 (.ci/run installs it)"


def xmlsec1() -> str:
    """The xmlsec1 binary; its absence fails the calling test (never a skip): CI installs it."""
    path = shutil.which("xmlsec1")
    if path is None:
        pytest.fail(INSTALL, pytrace=False)
    return path


def options(*, trusted: Sequence[Path] = (), untrusted: Sequence[Path] = ()) -> list[str]:
    """The options after ``--verify``: with ``trusted`` roots, a full check including the
    certificate chain; without, the cryptographic check alone (digests, value, KeyInfo's key)."""
    args = [part for option in PROFILE for part in option.split(" ")]
    if not trusted:
        return [*args, *CRYPTOGRAPHIC_ONLY]
    for root in trusted:
        args += ["--trusted-pem", str(root)]
    for intermediate in untrusted:
        args += ["--untrusted-pem", str(intermediate)]
    return args


@dataclass(frozen=True)
class Failure:
    path: Path
    output: str


def verify_files(
    paths: Sequence[Path], *, binary: str, trusted: Sequence[Path] = ()
) -> list[Failure]:
    """Verify every file, in as few xmlsec1 runs as possible; the files that do not verify.

    xmlsec1 stops at the first file that fails (naming it); the run then resumes after it.
    """
    failures: list[Failure] = []
    remaining = list(paths)
    while remaining:
        batch = remaining[:BATCH]
        run = subprocess.run(
            [binary, "--verify", *options(trusted=trusted), *map(str, batch)],
            capture_output=True,
            text=True,
            check=False,
        )
        output = run.stdout + run.stderr
        if run.returncode == 0:
            remaining = remaining[len(batch) :]
            continue
        named = re.search(r'failed to verify file "(.*?)"', output)
        index = batch.index(Path(named.group(1))) if named else _verified_before(output)
        failures.append(Failure(batch[index], output))
        remaining = remaining[index + 1 :]
    return failures


def _verified_before(output: str) -> int:
    """How many files verified before the failing one (each prints a line ``OK``)."""
    return sum(1 for line in output.splitlines() if line.strip() == "OK")


def verify_xml(signed_xml: str, tmp_path: Path, *, trusted: Sequence[bytes] = ()) -> str | None:
    """xmlsec1's complaint about one signed document, or None when it verifies.

    ``trusted``: PEM root certificates; without, only the cryptography is checked.
    """
    binary = xmlsec1()
    document = tmp_path / f"signed-{len(list(tmp_path.iterdir()))}.xml"
    document.write_text(signed_xml, encoding="utf-8")
    roots = []
    for n, pem in enumerate(trusted):
        root = tmp_path / f"root-{n}.pem"
        root.write_bytes(pem)
        roots.append(root)
    failures = verify_files([document], binary=binary, trusted=roots)
    return failures[0].output if failures else None
