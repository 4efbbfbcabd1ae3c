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
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.utils import timezone

from verifactu.certificates import open_credentials
from verifactu.models import (
    BillingRecord,
    Certificate,
    Chain,
    EventRecord,
    RecordSignature,
    SignerCertificate,
)
from verifactu.representation import SendingRight, sending_right_for_chain
from verifactu.signing import (
    SignatureProblem,
    SigningIdentity,
    sign_record_xml,
    verify_record_signature,
)

NO_SIGNER = (
    "No hay ningún certificado que pueda firmar por {nif}: en NO VERI*FACTU cada registro y "
    "cada evento se firma al generarse. Suba el certificado del contribuyente (o registre la "
    "representación)."
)
UNUSABLE = "El certificado que firma por {nif} no sirve para firmar ({problem})."
NOT_RSA = (
    "El certificado de {nif} no tiene clave RSA: la firma de los registros NO VERI*FACTU es "
    "RSA-SHA256. Suba un certificado con clave RSA."
)
EXPIRED = "El certificado de {nif} caducó el {when:%d/%m/%Y}: suba uno vigente."
NOT_YET_VALID = "El certificado de {nif} no es válido hasta el {when:%d/%m/%Y}."
UNTRUSTED = (
    "El certificado de {nif} no procede de una autoridad de certificación de confianza (la "
    "lista de VERIFACTU_SIGNATURE_CA_FILE): {problem}"
)
NO_BUNDLE = "No se puede leer la lista de autoridades de certificación de confianza ({path})."

# What the trust check signs: the smallest document verify_record_signature takes.
_PROBE = (
    '<RegistroEvento xmlns="urn:factu:probe"><Evento><Prueba>firma</Prueba></Evento>'
    "</RegistroEvento>"
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
_opened: dict[tuple, tuple[float, SigningIdentity, str | None]] = {}
_opened_lock = threading.Lock()


def ca_bundle() -> bytes | None:
    """The operator's CA certificates (PEM, ``VERIFACTU_SIGNATURE_CA_FILE``), or None when
    the file cannot be read."""
    path = settings.VERIFACTU_SIGNATURE_CA_FILE
    try:
        return Path(path).read_bytes() if path else None
    except OSError:
        return None


def _bundle_version() -> tuple:
    path = settings.VERIFACTU_SIGNATURE_CA_FILE
    try:
        return (path, os.stat(path).st_mtime_ns)
    except (OSError, TypeError, ValueError):
        return (path, None)


def _cache_key(right: SendingRight) -> tuple | None:
    """What identifies the bytes the right would open (the stored row as uploaded: a new
    upload is a new row; or the deployment's file as it is now) and the bundle they are
    checked against."""
    if right.certificate is not None:
        opened = ("stored", right.certificate.pk, right.certificate.uploaded_at)
    elif right.deployment and settings.AEAT_CERT_FILE:
        try:
            mtime = os.stat(settings.AEAT_CERT_FILE).st_mtime_ns
        except OSError:
            return None
        opened = ("file", settings.AEAT_CERT_FILE, mtime)
    else:
        return None
    return (*opened, *_bundle_version())


def usability_problem(identity: SigningIdentity, nif: str) -> str | None:
    """Why ``identity`` may not sign for ``nif`` (Spanish), or None: expired, not valid yet,
    or its signature does not verify against the CA bundle exactly as every stored signature
    will be verified (:func:`verifactu.signers.signature_problem`). The one check of a
    signing certificate: the switch to NO VERI*FACTU and every signing ask it."""
    cert, now = identity.certificate, timezone.now()
    if cert.not_valid_after_utc <= now:
        return EXPIRED.format(nif=nif, when=timezone.localtime(cert.not_valid_after_utc))
    if cert.not_valid_before_utc > now:
        return NOT_YET_VALID.format(nif=nif, when=timezone.localtime(cert.not_valid_before_utc))
    bundle = ca_bundle()
    if not bundle:
        return NO_BUNDLE.format(path=settings.VERIFACTU_SIGNATURE_CA_FILE)
    try:
        verify_record_signature(sign_record_xml(_PROBE, identity), bundle, at=now)
    except SignatureProblem as exc:
        return UNTRUSTED.format(nif=nif, problem=exc)
    return None


def _without_signer(account_id, nif: str) -> str:
    """Why nothing may sign for ``nif``: its own latest certificate expired, or none."""
    own = (
        Certificate.objects.filter(
            account_id=account_id, taxpayer__nif=nif, not_valid_after__lte=timezone.now()
        )
        .order_by("-uploaded_at")
        .first()
    )
    if own is not None:
        return EXPIRED.format(nif=nif, when=timezone.localtime(own.not_valid_after))
    return NO_SIGNER.format(nif=nif)


def open_checked(right: SendingRight, account_id, nif: str) -> SigningIdentity:
    """The identity ``right`` names, opened and checked (:func:`usability_problem`);
    :class:`SigningUnavailable` with the Spanish reason when there is none or it may not sign.

    The opened identity, decrypted key included, and its check are kept in this process for
    :data:`OPENED_FOR` seconds, keyed by the stored certificate as uploaded and the bundle's
    version. The reason: opening a PKCS#12 derives its key from the password (PBKDF2, ~35 ms
    with the test files, more with some issuers' settings) and the check signs and verifies
    a probe; both happen under the chain's lock, once per NO VERI*FACTU record, so every
    other writer of the chain would wait for them; the password sits in the same vault as
    the file, so the derivation protects nothing here that the vault does not.
    """
    if not right.allowed:
        raise SigningUnavailable(_without_signer(account_id, nif))
    key = _cache_key(right)
    now = time.monotonic()
    with _opened_lock:
        for stale in [k for k, (at, *_) in _opened.items() if now - at > OPENED_FOR]:
            del _opened[stale]
        cached = _opened.get(key) if key is not None else None
    if cached is None:
        credentials = open_credentials(right)
        try:
            if credentials.certificate is None:
                raise SigningUnavailable(_without_signer(account_id, nif))
            if not isinstance(credentials.certificate.private_key, rsa.RSAPrivateKey):
                raise SigningUnavailable(NOT_RSA.format(nif=nif))
            identity = SigningIdentity.from_client_certificate(credentials.certificate)
        except SignatureProblem as exc:
            raise SigningUnavailable(UNUSABLE.format(nif=nif, problem=exc)) from None
        finally:
            credentials.close()
        cached = (now, identity, usability_problem(identity, nif))
        if key is not None:
            with _opened_lock:
                _opened[key] = cached
    _, identity, problem = cached
    if problem:
        raise SigningUnavailable(problem)
    return identity


def open_identity(chain: Chain) -> SigningIdentity:
    """The identity that may sign for ``chain``, opened and checked; who may sign is asked
    every time (:func:`verifactu.representation.sending_right_for_chain`: a deleted
    certificate or a withdrawn representation stops signing at once)."""
    return open_checked(sending_right_for_chain(chain), chain.account_id, chain.issuer_nif)


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
