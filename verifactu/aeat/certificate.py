"""The mutual-TLS identity used to call the AEAT (:class:`ClientCertificate`), whose
decrypted key stays in memory, and the start-up sweep of key files older versions left."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from urllib3.util.ssl_ import create_urllib3_context

from .outcomes import AeatError

_PEM_KEY = re.compile(
    rb"-----BEGIN ((?:ENCRYPTED |RSA |EC )?PRIVATE KEY)-----.+?-----END \1-----", re.S
)


def _pem_certs(data: bytes) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(data) if b"-----BEGIN CERTIFICATE" in data else []


def _same_key(cert: x509.Certificate, key: Any) -> bool:
    fmt = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return cert.public_key().public_bytes(der, fmt) == key.public_key().public_bytes(der, fmt)


KEY_DIR_PREFIX = "factu-aeat-cert-"  # where older versions wrote key.pem files


class ClientCertificate:
    """The mutual-TLS identity (qualified certificate or seal) used to call the AEAT.

    The decrypted private key lives only in this object's memory and in the
    :class:`ssl.SSLContext` built by :meth:`ssl_context`: OpenSSL (and so ``ssl``) loads a
    client key only from a path, so it is handed over through an anonymous in-memory file
    (``os.memfd_create``, never on a filesystem) that is closed as soon as
    ``load_cert_chain`` returns, before any connection is made. Even that memfd holds the key
    encrypted under a one-time random password that never leaves this process's memory.
    :meth:`close` drops the key; a closed certificate refuses to serve a new connection.
    """

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: Any,
        chain: list[x509.Certificate] | tuple[x509.Certificate, ...] = (),
    ) -> None:
        if not _same_key(certificate, private_key):
            raise ValueError("the private key does not belong to the certificate")
        self.certificate = certificate
        self.chain = list(chain)
        self.not_valid_after: datetime = certificate.not_valid_after_utc
        self.subject: str = certificate.subject.rfc4514_string()
        self._key: Any = private_key

    # -- constructors
    @classmethod
    def from_pem(
        cls, cert_pem: bytes, key_pem: bytes, key_password: bytes | None = None
    ) -> ClientCertificate:
        """``cert_pem`` may hold the chain too; the leaf is the one matching the key."""
        certs = _pem_certs(cert_pem)
        if not certs:
            raise ValueError("no PEM certificate found")
        key = serialization.load_pem_private_key(key_pem, password=key_password)
        leaf = next((c for c in certs if _same_key(c, key)), None)
        if leaf is None:
            raise ValueError("none of the certificates matches the private key")
        return cls(leaf, key, [c for c in certs if c is not leaf])

    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None) -> ClientCertificate:
        """A .p12/.pfx bundle (as issued by FNMT), chain certificates included."""
        key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        if key is None or cert is None:
            raise ValueError("the PKCS#12 bundle lacks a certificate or a private key")
        return cls(cert, key, extra)

    @classmethod
    def from_file(
        cls, path: str | os.PathLike[str], password: str | None = None
    ) -> ClientCertificate:
        """A .p12/.pfx file, or one PEM file holding the certificate(s) and the key."""
        try:
            return cls.from_bytes(Path(path).read_bytes(), password)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def from_bytes(cls, data: bytes, password: str | None = None) -> ClientCertificate:
        """PKCS#12 bytes, or PEM bytes holding the certificate(s) and the key."""
        secret = password.encode() if password else None
        if b"-----BEGIN" not in data:
            return cls.from_pkcs12(data, secret)
        key = _PEM_KEY.search(data)
        if key is None:
            raise ValueError("no private key in the PEM data")
        return cls.from_pem(data, key.group(0), secret)

    # -- use
    @property
    def closed(self) -> bool:
        return self._key is None

    @property
    def private_key(self) -> Any:
        """The private key object (in memory only); :class:`AeatError` once closed."""
        if self._key is None:
            raise AeatError("the client certificate was closed")
        return self._key

    def ssl_context(self, verify: bool | str = True) -> ssl.SSLContext:
        """A client TLS context presenting this certificate, trusting ``verify``'s CAs.

        ``verify``: True for the system CAs, a CA file or directory path, or False (no
        server verification, tests only). Only these CAs are trusted, never the system's
        on top of a given file.
        """
        key = self.private_key
        context = create_urllib3_context()
        if verify is False:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        elif isinstance(verify, str):
            if os.path.isdir(verify):
                context.load_verify_locations(capath=verify)
            else:
                context.load_verify_locations(cafile=verify)
        else:
            context.load_default_certs()
        one_time = secrets.token_urlsafe(24)
        pem = serialization.Encoding.PEM
        key_pem = key.private_bytes(
            pem,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(one_time.encode()),
        )
        cert_pem = b"".join(c.public_bytes(pem) for c in [self.certificate, *self.chain])
        with _memory_file(cert_pem + key_pem) as path:
            context.load_cert_chain(path, password=one_time)
        return context

    def close(self) -> None:
        """Forget the private key (idempotent)."""
        self._key = None

    def __enter__(self) -> ClientCertificate:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<ClientCertificate {self.subject} until {self.not_valid_after:%Y-%m-%d}>"


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A path to ``data`` held in an anonymous memory file, closed when the block ends.

    ``/proc/self/fd/N`` of a ``memfd_create`` file: RAM only, never linked in a filesystem,
    readable by OpenSSL in this process alone, gone with its last descriptor. Linux only,
    like the deployment; elsewhere it refuses rather than write a key to disk.
    """
    if not hasattr(os, "memfd_create"):
        raise AeatError("os.memfd_create is needed to hand a client key to OpenSSL")
    fd = os.memfd_create("factu-aeat-cert", os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


def sweep_stale_key_files(directory: str | None = None) -> int:
    """Remove the private ``factu-aeat-cert-*`` directories (cert.pem + an unencrypted
    key.pem) that versions before the in-memory key left under the temp dir, e.g. after a
    crash. Run at start-up (:class:`verifactu.apps.VerifactuConfig`); only this user's."""
    base = Path(directory or tempfile.gettempdir())
    removed = 0
    try:
        candidates = list(base.glob(KEY_DIR_PREFIX + "*"))
    except OSError:
        return 0
    for path in candidates:
        try:
            if not path.is_dir() or path.is_symlink() or path.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed
