"""Certificates for the tests: self-signed PKCS#12 files to upload or use, and the builder the
test PKI of test_signing issues its chain with."""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ObjectIdentifier

QUALIFIED_SEAL_POLICY = ObjectIdentifier("0.4.0.194112.1.3")  # ETSI QCP-l-qscd


def certificate_builder(
    subject: x509.Name, issuer: x509.Name, public_key, days: float
) -> x509.CertificateBuilder:
    """A certificate of ``public_key``, a random serial, valid from 5 minutes ago for ``days``."""
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
    )


def self_signed_p12(
    subject: list[x509.NameAttribute], password: str, days: float, seal: bool = False
) -> bytes:
    """A PKCS#12 (friendly name "test") of a fresh EC key and a certificate valid ``days`` more.

    ``seal`` adds the policy of a qualified certificate for a legal person's seal.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(subject)
    builder = certificate_builder(name, name, key.public_key(), days)
    if seal:
        builder = builder.add_extension(
            x509.CertificatePolicies([x509.PolicyInformation(QUALIFIED_SEAL_POLICY, None)]),
            critical=False,
        )
    cert = builder.sign(key, hashes.SHA256())
    return pkcs12.serialize_key_and_certificates(
        b"test", key, cert, None, serialization.BestAvailableEncryption(password.encode())
    )
