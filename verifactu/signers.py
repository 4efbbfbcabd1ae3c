"""Which signature is trusted, and which certificate may sign: the one home of both rules.

:func:`signature_problem` says why a stored signature is not a valid signature of its item by
the taxpayer's signer: signxml's full XAdES verification against the operator's CA bundle
(``VERIFACTU_SIGNATURE_CA_FILE``) at the signing time, the independent digest check, the
signed content equal to the stored XML, and the certificate in ``KeyInfo`` equal to the
:class:`~verifactu.models.SignerCertificate` the signature points to, kept for the chain's
(account, NIF), with the signing time inside its validity period. Any other key — a self-made
one, another certificate of a trusted CA — is an anomaly. The anomaly check and the verifier
ask it for every item that must be signed (every event; every NO VERI*FACTU record).

:func:`signing_problem_for` says, in Spanish, why a taxpayer cannot run NO VERI*FACTU: no
certificate may sign for it, the key is not RSA, the certificate is expired or not yet valid,
or it does not chain to the CA bundle. A switch to NO VERI*FACTU is refused while it answers.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from lxml import etree

from factu.models import Taxpayer
from verifactu.certificates import open_credentials
from verifactu.models import BillingRecord, Certificate, EventRecord
from verifactu.representation import sending_right
from verifactu.signing import (
    NS_DS,
    SignatureProblem,
    SigningIdentity,
    sign_record_xml,
    signed_content,
    verify_record_signature,
)
from verifactu.xmlkit import instance_parser

NEW_TAXPAYER = (
    "Un contribuyente nuevo empieza en VERI*FACTU: guárdelo, suba su certificado de firma y "
    "cambie después a NO VERI*FACTU."
)
NO_CERTIFICATE = (
    "NO VERI*FACTU exige firmar cada registro y cada evento con un certificado del "
    "contribuyente, y no hay ninguno que pueda firmar por {nif}. Suba el certificado del "
    "contribuyente (o el de su representante con la representación registrada)."
)
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

# What the chain check signs: the smallest document verify_record_signature takes.
_PROBE = (
    '<RegistroEvento xmlns="urn:factu:probe"><Evento><Prueba>firma</Prueba></Evento>'
    "</RegistroEvento>"
)


def ca_bundle() -> bytes | None:
    """The operator's CA certificates (PEM), or None when the file cannot be read."""
    path = settings.VERIFACTU_SIGNATURE_CA_FILE
    try:
        return Path(path).read_bytes() if path else None
    except OSError:
        return None


def _keyinfo_der(signed_xml: str) -> bytes | None:
    root = etree.fromstring(signed_xml.encode("utf-8"), instance_parser())
    text = root.findtext(
        ".//ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces={"ds": NS_DS}
    )
    return base64.b64decode(text) if text else None


def _c14n(xml: str) -> bytes:
    return etree.tostring(etree.fromstring(xml.encode("utf-8"), instance_parser()), method="c14n")


def signature_problem(item: BillingRecord | EventRecord) -> str | None:
    """Why ``item``'s stored signature is not a valid signature of it by the taxpayer's
    signer, or None. ``item`` must be signed (RecordSignature as ``item.signature``) or the
    answer names the missing signature ("not signed")."""
    try:
        signature = item.signature
    except ObjectDoesNotExist:
        return "not signed"
    signer = signature.signer
    chain = item.chain
    if signer is None:
        return "signature: no signer certificate kept for it"
    if (signer.account_id, signer.obligado_nif) != (chain.account_id, chain.issuer_nif):
        return f"signature: its signer certificate is kept for {signer.obligado_nif}, not here"
    when = signature.signed_at.replace(microsecond=0)  # SigningTime is to the second
    if not signer.not_valid_before <= when <= signer.not_valid_after:
        return (
            f"signature: signed at {when.isoformat()}, outside the validity of its certificate "
            f"({signer.not_valid_before.isoformat()} to {signer.not_valid_after.isoformat()})"
        )
    bundle = ca_bundle()
    if not bundle:
        return f"signature: the CA bundle {settings.VERIFACTU_SIGNATURE_CA_FILE} cannot be read"
    try:
        verified = verify_record_signature(signature.signed_xml, bundle, at=when)
        if datetime.fromisoformat(verified.signing_time) != when:
            return f"signature: SigningTime {verified.signing_time} is not its signing time"
        if signed_content(signature.signed_xml) != _c14n(item.xml):
            return "the signed copy differs from the stored record"
        der = _keyinfo_der(signature.signed_xml)
    except (SignatureProblem, etree.XMLSyntaxError, ValueError) as exc:
        return f"signature: {exc}"
    if der is None or hashlib.sha256(der).hexdigest() != signer.fingerprint:
        return (
            f"signature: signed by {verified.subject} (serial {verified.serial_number}), not "
            f"by the kept signer certificate {signer.subject} (serial {signer.serial})"
        )
    return None


def _open_signing_identity(taxpayer: Taxpayer) -> tuple[SigningIdentity | None, str | None]:
    """The identity that would sign for ``taxpayer`` (the rule that decides sending), or why
    none: ``(identity, None)`` or ``(None, problem)``."""
    nif = taxpayer.nif
    right = sending_right(taxpayer)
    credentials = open_credentials(right) if right.allowed else None
    try:
        if credentials is None or credentials.certificate is None:
            own = Certificate.objects.filter(taxpayer=taxpayer).order_by("-uploaded_at").first()
            if own is not None and own.not_valid_after <= timezone.now():
                when = timezone.localtime(own.not_valid_after)
                return None, EXPIRED.format(nif=nif, when=when)
            return None, NO_CERTIFICATE.format(nif=nif)
        opened = credentials.certificate
        if not isinstance(opened.private_key, rsa.RSAPrivateKey):
            return None, NOT_RSA.format(nif=nif)
        return SigningIdentity.from_client_certificate(opened), None
    except SignatureProblem as exc:
        return None, UNTRUSTED.format(nif=nif, problem=exc)
    finally:
        if credentials is not None:
            credentials.close()


def signing_problem_for(taxpayer: Taxpayer, *, now: datetime | None = None) -> str | None:
    """Why ``taxpayer`` cannot run NO VERI*FACTU (Spanish, for the form), or None.

    Opens the certificate that may sign for it and checks it: RSA, valid now, and a probe
    signed with it verifies against the CA bundle exactly as every stored signature will.
    """
    if taxpayer._state.adding:
        return NEW_TAXPAYER
    identity, problem = _open_signing_identity(taxpayer)
    if identity is None:
        return problem
    now = now or timezone.now()
    cert, nif = identity.certificate, taxpayer.nif
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
