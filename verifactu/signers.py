"""Which signature is trusted: the one home of that rule, and the mode's question of who may sign.

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
or it does not chain to the CA bundle — the very check every signing makes
(:func:`verifactu.signatures.open_checked`). A switch to NO VERI*FACTU is refused while it
answers.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from lxml import etree

from factu.models import Taxpayer
from verifactu.models import BillingRecord, EventRecord
from verifactu.representation import sending_right
from verifactu.signatures import SigningUnavailable, ca_bundle, open_checked
from verifactu.signing import (
    NS_DS,
    SignatureProblem,
    signed_content,
    verify_record_signature,
)
from verifactu.xmlkit import instance_parser

NEW_TAXPAYER = (
    "Un contribuyente nuevo empieza en VERI*FACTU: guárdelo, suba su certificado de firma y "
    "cambie después a NO VERI*FACTU."
)


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


def signing_problem_for(taxpayer: Taxpayer) -> str | None:
    """Why ``taxpayer`` cannot run NO VERI*FACTU (Spanish, for the form), or None: the
    certificate that would sign for it, by the rule of sending, opened and checked exactly
    as every signing checks it (:func:`verifactu.signatures.open_checked`)."""
    if taxpayer._state.adding:
        return NEW_TAXPAYER
    try:
        open_checked(sending_right(taxpayer), taxpayer.account_id, taxpayer.nif)
    except SigningUnavailable as exc:
        return exc.message
    return None
