"""Client certificates for mutual TLS with the AEAT, kept encrypted at rest.

Which certificate presents a chain's records, and whether any may, is decided by
:func:`verifactu.representation.sending_right` (the taxpayer's own; a representative's
with a recorded representation, named in the envelope's ``Representante``; the
deployment-wide ``AEAT_CERT_FILE`` for the NIFs the operator allows; or the sandbox). The
bytes and the password are encrypted with a key derived from ``FACTU_ENCRYPTION_KEY`` and
never shown again after upload.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from factu.models import Account, Taxpayer
from factu.nif import validate_nif
from verifactu.aeat import ClientCertificate
from verifactu.models import Certificate, Chain
from verifactu.representation import (
    SendingRight,
    certificate_identity,
    proof_changed,
    sending_right_for_chain,
)
from verifactu.vault import decrypt, encrypt
from verifactu.xml import Obligado


@sensitive_variables()  # the password and the private key, in every frame below
def store_certificate(
    account: Account,
    data: bytes,
    password: str = "",
    *,
    taxpayer: Taxpayer | None = None,
    representative_nif: str = "",
    representative_name: str = "",
) -> Certificate:
    """Check that the certificate opens with its password, then keep it encrypted.

    Whom it names (:func:`verifactu.representation.certificate_identity`) is kept beside it:
    a taxpayer's certificate proves the right to send only if it names that taxpayer's NIF,
    and a representative's NIF, if given, must be the one the certificate names (the
    envelope's Representante is the holder of the certificate actually used).
    """
    if taxpayer is not None and taxpayer.account_id != account.pk:
        raise ValueError("That taxpayer belongs to another account.")
    try:
        opened = ClientCertificate.from_bytes(data, password or None)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            {"file": f"No se puede abrir el certificado con esa contraseña ({exc})."}
        ) from None
    try:
        identity = certificate_identity(opened.certificate)
        if taxpayer is None:
            representative_nif = (
                validate_nif(representative_nif) if representative_nif.strip() else identity.nif
            )
            if not representative_nif:
                raise ValidationError({"representative_nif": "Indique el NIF del representante."})
            if identity.nif and representative_nif != identity.nif:
                raise ValidationError(
                    {
                        "representative_nif": f"El certificado es de {identity.nif}: el "
                        "representante que presenta es el titular del certificado."
                    }
                )
            representative_name = representative_name.strip() or identity.name
            if not representative_name:
                raise ValidationError(
                    {"representative_name": "Indique el nombre del representante."}
                )
        if opened.not_valid_after <= timezone.now():
            raise ValidationError({"file": "El certificado ha caducado."})
        stored = Certificate.objects.create(
            account=account,
            taxpayer=taxpayer,
            representative_nif=representative_nif if taxpayer is None else "",
            representative_name=representative_name[:120] if taxpayer is None else "",
            subject=opened.subject[:300],
            holder_nif=identity.nif,
            holder_name=identity.name,
            seal=identity.seal,
            not_valid_after=opened.not_valid_after,
            encrypted_data=encrypt(data),
            encrypted_password=encrypt(password.encode()),
        )
    finally:
        opened.close()
    proof_changed(account.pk, taxpayer)
    return stored


class NotAuthorised(Exception):
    """Nothing may be sent for this obligado: no proof of the right to speak for its NIF."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Credentials:
    certificate: ClientCertificate | None
    representante: Obligado | None = None
    seal: bool = False

    def close(self) -> None:
        if self.certificate is not None:
            self.certificate.close()


@sensitive_variables()
def open_certificate(stored: Certificate) -> ClientCertificate:
    password = decrypt(stored.encrypted_password).decode() or None
    return ClientCertificate.from_bytes(decrypt(stored.encrypted_data), password)


def open_credentials(right: SendingRight) -> Credentials:
    """The certificate a :class:`SendingRight` names, opened, with its Representante."""
    if right.certificate is not None:
        certificate = open_certificate(right.certificate)
    elif right.deployment:
        certificate = ClientCertificate.from_file(
            settings.AEAT_CERT_FILE, settings.AEAT_CERT_PASSWORD or None
        )
    else:
        certificate = None
    return Credentials(certificate, right.representante, right.seal)


def credentials_for(chain: Chain) -> Credentials:
    """The credentials to send the chain's records with; :class:`NotAuthorised` if none may
    be sent (:func:`verifactu.representation.sending_right`)."""
    right = sending_right_for_chain(chain)
    if not right.allowed:
        raise NotAuthorised(right.reason)
    return open_credentials(right)
