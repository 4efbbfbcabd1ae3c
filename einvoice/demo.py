"""Demo data of e-invoices for ``seed_demo``: a test certificate for each demo taxpayer, so
that ``make run`` offers signed Facturae files.

The certificate is made here, at seed time, by the simulator's test PKI
(:func:`verifactu.simulator.testcerts.issue_certificate`): an RSA key (Facturae's signature
policy asks for RSA) and a certificate naming the taxpayer's NIF (``serialNumber``
``IDCES-<NIF>``, as FNMT writes it), issued by a throw-away "Factu Demo" CA that nobody
trusts. It is stored as the taxpayer's own certificate
(:func:`verifactu.certificates.store_certificate`, encrypted at rest), with a random password
never shown. Running ``seed_demo`` again changes nothing while it is usable.
"""

from __future__ import annotations

import secrets

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from django.utils import timezone

from einvoice.signing import signing_certificate
from factu.models import Taxpayer, User
from verifactu.certificates import store_certificate
from verifactu.simulator.testcerts import issue_certificate

DAYS = 365
CA_NAME = x509.Name([
    x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
    x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Factu Demo"),
    x509.NameAttribute(NameOID.COMMON_NAME, "Factu Demo CA (solo pruebas)"),
])  # fmt: skip


def seed(taxpayer: Taxpayer, user: User) -> None:
    """A demo certificate for ``taxpayer`` unless it has a usable one."""
    stored, _ = signing_certificate(taxpayer, timezone.now())
    if stored is not None:
        return
    password = secrets.token_urlsafe(16)
    store_certificate(
        taxpayer.account, demo_certificate(taxpayer.nif, taxpayer.name, password), password,
        taxpayer=taxpayer,
    )  # fmt: skip


def demo_certificate(nif: str, name: str, password: str) -> bytes:
    """A PKCS#12 of a fresh RSA key and a certificate for ``nif``, with its demo CA."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IDCES-{nif}"),
        x509.NameAttribute(NameOID.COMMON_NAME, f"{name[:40]} - {nif} (DEMO)"),
    ])  # fmt: skip
    ca = issue_certificate(CA_NAME, ca_key, CA_NAME, ca_key, ca=True, days=DAYS)
    leaf = issue_certificate(subject, key, CA_NAME, ca_key, days=DAYS)
    return pkcs12.serialize_key_and_certificates(
        b"factu-demo", key, leaf, [ca], serialization.BestAvailableEncryption(password.encode())
    )
