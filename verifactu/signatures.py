"""Signing at birth: every event, and every billing record of a NO VERI*FACTU chain, is
XAdES-signed in the transaction that chains it, under the chain's lock, right after it.

The identity is the one that may speak for the chain's obligado (the rule that decides
sending, :func:`verifactu.representation.sending_right_for_chain`); the
certificate that signs is kept, the first time it signs for the chain's (account, NIF), as a
:class:`~verifactu.models.SignerCertificate` the signature points to. Without an identity
nothing is stored: :class:`SigningUnavailable` is raised before the item is created, and the
caller refuses the action (a registration as a
:class:`~verifactu.records.SigningRefused`). Nothing here ever signs an item that already
exists: an unsigned item found later is an anomaly (:mod:`verifactu.signers`).

Which certificate signs is decided afresh for every item (the rule of sending); only its
opening is cached, briefly (:data:`OPENED_FOR`, see :func:`open_identity` for why).
VERI*FACTU chains never come here. The XAdES itself is :mod:`verifactu.signing`'s.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from django.utils import timezone

from verifactu.certificates import open_credentials
from verifactu.models import BillingRecord, Chain, EventRecord, RecordSignature, SignerCertificate
from verifactu.representation import SendingRight, sending_right_for_chain
from verifactu.signing import SignatureProblem, SigningIdentity, sign_record_xml

NO_SIGNER = (
    "No hay ningún certificado que pueda firmar por {nif}: en NO VERI*FACTU cada registro y "
    "cada evento se firma al generarse. Suba el certificado del contribuyente (o registre la "
    "representación) o vuelva a VERI*FACTU."
)
UNUSABLE = (
    "El certificado que firma por {nif} no sirve para firmar ({problem}). Suba un certificado "
    "válido con clave RSA o vuelva a VERI*FACTU."
)


class SigningUnavailable(Exception):
    """No identity may sign for the chain: the item was not created. ``message`` is Spanish."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Signer:
    """An opened signing identity and the :class:`SignerCertificate` kept for it."""

    identity: SigningIdentity
    certificate: SignerCertificate


# How long an opened identity is kept after it was opened, in this process only.
OPENED_FOR = 60.0
_opened: dict[tuple, tuple[float, SigningIdentity]] = {}
_opened_lock = threading.Lock()


def _cache_key(right: SendingRight) -> tuple | None:
    """What identifies the bytes the right would open: the stored row as uploaded (a new
    upload is a new row), or the deployment's file as it is now."""
    if right.certificate is not None:
        return ("stored", right.certificate.pk, right.certificate.uploaded_at)
    if right.deployment and settings.AEAT_CERT_FILE:
        try:
            return ("file", settings.AEAT_CERT_FILE, os.stat(settings.AEAT_CERT_FILE).st_mtime)
        except OSError:
            return None
    return None


def open_identity(chain: Chain) -> SigningIdentity:
    """The identity that may sign for ``chain``, opened; :class:`SigningUnavailable` if none.

    Who may sign is asked every time (:func:`verifactu.representation.sending_right_for_chain`:
    a deleted certificate or a withdrawn representation stops signing at once). The opened
    identity, decrypted key included, is kept in this process for :data:`OPENED_FOR` seconds
    after it was opened, keyed by the stored certificate as uploaded. The reason: opening a
    PKCS#12 derives its key from the password (PBKDF2, ~35 ms with the test files, more with
    some issuers' settings) and it happens under the chain's lock, once per NO VERI*FACTU
    record, so every other writer of the chain would wait for it; the password sits in the
    same vault as the file, so the derivation protects nothing here that the vault does not.
    """
    right = sending_right_for_chain(chain)
    if not right.allowed:
        raise SigningUnavailable(NO_SIGNER.format(nif=chain.issuer_nif))
    key = _cache_key(right)
    now = time.monotonic()
    with _opened_lock:
        for stale in [k for k, (at, _) in _opened.items() if now - at > OPENED_FOR]:
            del _opened[stale]
        cached = _opened.get(key) if key is not None else None
    if cached is not None:
        return cached[1]
    credentials = open_credentials(right)
    try:
        if credentials.certificate is None:
            raise SigningUnavailable(NO_SIGNER.format(nif=chain.issuer_nif))
        identity = SigningIdentity.from_client_certificate(credentials.certificate)
    except SignatureProblem as exc:
        raise SigningUnavailable(UNUSABLE.format(nif=chain.issuer_nif, problem=exc)) from None
    finally:
        credentials.close()
    if key is not None:
        with _opened_lock:
            _opened[key] = (now, identity)
    return identity


def kept_certificate(chain: Chain, identity: SigningIdentity) -> SignerCertificate:
    """The :class:`SignerCertificate` of ``identity`` for the chain's (account, NIF), created
    the first time it signs there (a concurrent twin waits on the unique index, then reads)."""
    cert = identity.certificate
    der = cert.public_bytes(serialization.Encoding.DER)
    signer, _ = SignerCertificate.objects.get_or_create(
        account_id=chain.account_id,
        obligado_nif=chain.issuer_nif,
        fingerprint=hashlib.sha256(der).hexdigest(),
        defaults={
            "der": der,
            "subject": identity.subject[:300],
            "serial": str(cert.serial_number)[:64],
            "not_valid_before": cert.not_valid_before_utc,
            "not_valid_after": cert.not_valid_after_utc,
        },
    )
    return signer


def signer_for(chain: Chain) -> Signer:
    """Open the chain's signing identity and keep its certificate; call under the chain's lock
    before creating the item, so that nothing is stored when it raises
    :class:`SigningUnavailable`."""
    identity = open_identity(chain)
    return Signer(identity, kept_certificate(chain, identity))


def sign_new(item: BillingRecord | EventRecord, signer: Signer) -> RecordSignature:
    """Sign ``item``, just created in this transaction, and store its signed copy."""
    when = timezone.now().replace(microsecond=0)
    identity = signer.identity
    kind = "record" if isinstance(item, BillingRecord) else "event"
    return RecordSignature.objects.create(
        **{kind: item},
        signed_xml=sign_record_xml(item.xml, identity, signing_time=when),
        signed_at=when,
        certificate_subject=identity.subject[:300],
        certificate_serial=str(identity.certificate.serial_number)[:64],
        signer=signer.certificate,
    )
