"""Encryption at rest of uploaded secrets (certificates, their passwords, representation
documents), with a key derived from ``FACTU_ENCRYPTION_KEY``."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


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
            "The data cannot be decrypted: FACTU_ENCRYPTION_KEY changed since upload."
        ) from None
