"""The signing fixtures every NO VERI*FACTU test shares (imported by ``tests/conftest.py``).

``pki`` is the throw-away RSA PKI of :mod:`tests.test_signing` (root → intermediate → the
taxpayer's certificate); ``signing_ca`` points ``VERIFACTU_SIGNATURE_CA_FILE`` at a file
holding its root; ``signing_certificate`` stores its certificate as the taxpayer's own, the
one that signs NO VERI*FACTU records and events at birth (and that a switch to NO VERI*FACTU
requires).
"""

from __future__ import annotations

import pytest

from tests.test_signing import Pki


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki()


@pytest.fixture
def signing_ca(settings, tmp_path, pki):
    """The CA bundle the operator trusts: the test PKI's root only."""
    path = tmp_path / "signature-ca.pem"
    path.write_bytes(pki.ca_pem)
    settings.VERIFACTU_SIGNATURE_CA_FILE = str(path)
    return path


@pytest.fixture
def signing_certificate(signing_ca, account, taxpayer, pki):
    """The taxpayer's own certificate, stored: it may sign for the taxpayer's chains."""
    from verifactu.certificates import store_certificate

    return store_certificate(account, pki.p12("clave"), "clave", taxpayer=taxpayer)


def drop_signature(item) -> None:
    """Delete the signature of a billing record or event behind the models' back, as someone
    with access to the database would (every guard lifted for the transaction)."""
    from tests.tampering import Tamper, lift_guards
    from verifactu.models import RecordSignature

    lift_guards()
    kind = "record" if hasattr(item, "invoice_number") else "event"
    Tamper().delete(RecordSignature.objects.get(**{kind: item}))
