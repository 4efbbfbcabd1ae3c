"""Client certificates for mutual TLS with the AEAT, kept encrypted at rest.

A taxpayer's own certificate is preferred; otherwise the account's representative
certificate (a gestoría acting as apoderado, named in the envelope's ``Representante``);
otherwise the deployment-wide ``AEAT_CERT_FILE``. The bytes and the password are encrypted
with a key derived from ``FACTU_ENCRYPTION_KEY`` and never shown again after upload.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from factu.models import Account, Taxpayer
from factu.nif import validate_nif
from verifactu.aeat import ClientCertificate
from verifactu.models import Certificate, Chain
from verifactu.xml import Obligado


def _fernet() -> Fernet:
    digest = hashlib.sha256(settings.FACTU_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(data: bytes) -> bytes:
    return _fernet().encrypt(data)


def decrypt(token: bytes) -> bytes:
    try:
        return _fernet().decrypt(bytes(token))
    except InvalidToken:
        raise ValueError(
            "The certificate cannot be decrypted: FACTU_ENCRYPTION_KEY changed since upload."
        ) from None


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
    """Check that the certificate opens with its password, then keep it encrypted."""
    if taxpayer is not None and taxpayer.account_id != account.pk:
        raise ValueError("That taxpayer belongs to another account.")
    try:
        opened = ClientCertificate.from_bytes(data, password or None)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            {"file": f"No se puede abrir el certificado con esa contraseña ({exc})."}
        ) from None
    try:
        if taxpayer is None:
            representative_nif = validate_nif(representative_nif)
            if not representative_name.strip():
                raise ValidationError(
                    {"representative_name": "Indique el nombre del representante."}
                )
        if opened.not_valid_after <= timezone.now():
            raise ValidationError({"file": "El certificado ha caducado."})
        return Certificate.objects.create(
            account=account,
            taxpayer=taxpayer,
            representative_nif=representative_nif if taxpayer is None else "",
            representative_name=representative_name.strip() if taxpayer is None else "",
            subject=opened.subject[:300],
            not_valid_after=opened.not_valid_after,
            encrypted_data=encrypt(data),
            encrypted_password=encrypt(password.encode()),
        )
    finally:
        opened.close()


@dataclass
class Credentials:
    certificate: ClientCertificate | None
    representante: Obligado | None = None

    def close(self) -> None:
        if self.certificate is not None:
            self.certificate.close()


@sensitive_variables()
def open_certificate(stored: Certificate) -> ClientCertificate:
    password = decrypt(stored.encrypted_password).decode() or None
    return ClientCertificate.from_bytes(decrypt(stored.encrypted_data), password)


def credentials_for(chain: Chain) -> Credentials:
    now = timezone.now()
    valid = Certificate.objects.filter(account_id=chain.account_id, not_valid_after__gt=now)
    own = valid.filter(taxpayer__nif=chain.issuer_nif).order_by("-uploaded_at").first()
    if own is not None:
        return Credentials(open_certificate(own))
    representative = valid.filter(taxpayer__isnull=True).order_by("-uploaded_at").first()
    if representative is not None:
        return Credentials(
            open_certificate(representative),
            Obligado(representative.representative_name, representative.representative_nif),
        )
    if settings.AEAT_CERT_FILE:
        return Credentials(
            ClientCertificate.from_file(
                settings.AEAT_CERT_FILE, settings.AEAT_CERT_PASSWORD or None
            )
        )
    return Credentials(None)
