"""Signing at birth: every event, and every billing record of a NO VERI*FACTU chain, is
XAdES-signed in the transaction that chains it, under the chain's lock, right after it.

The identity is the one that may speak for the chain's obligado
(:func:`verifactu.certificates.signing_credentials_for`, the rule that decides sending); the
certificate that signs is kept, the first time it signs for the chain's (account, NIF), as a
:class:`~verifactu.models.SignerCertificate` the signature points to. Without an identity
nothing is stored: :class:`SigningUnavailable` is raised before the item is created, and the
caller refuses the action (a registration as a
:class:`~verifactu.records.SigningRefused`). Nothing here ever signs an item that already
exists: an unsigned item found later is an anomaly (:mod:`verifactu.signers`).

The decrypted key lives only as long as one item's signing: it is opened from the stored
(encrypted) certificate for each item and closed after. VERI*FACTU chains never come here.
The XAdES itself is :mod:`verifactu.signing`'s.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from django.utils import timezone

from verifactu.certificates import signing_credentials_for
from verifactu.models import BillingRecord, Chain, EventRecord, RecordSignature, SignerCertificate
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


def open_identity(chain: Chain) -> SigningIdentity:
    """The identity that may sign for ``chain``, opened; :class:`SigningUnavailable` if none."""
    credentials = signing_credentials_for(chain)
    try:
        if credentials.certificate is None:
            raise SigningUnavailable(NO_SIGNER.format(nif=chain.issuer_nif))
        return SigningIdentity.from_client_certificate(credentials.certificate)
    except SignatureProblem as exc:
        raise SigningUnavailable(UNUSABLE.format(nif=chain.issuer_nif, problem=exc)) from None
    finally:
        credentials.close()


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
