"""The Facturae file of an issued invoice, signed with the taxpayer's certificate, and the
check of a Facturae signature (ours before it is offered, a received one when it is read).

**Signing** (:func:`signed_facturae`, the one entry point): XAdES-EPES enveloped, under the
Facturae signature policy v3.1 (:data:`FACTURAE_POLICY`: the policy's URL as its identifier and
the SHA-1 digest Facturae publishes for it), made by :func:`verifactu.signing.sign_enveloped`,
the profile of the AEAT's records: signxml's :class:`~signxml.xades.XAdESSigner` with the
signed properties of :class:`verifactu.signing.Xades132Signer` (``SigningTime``;
``SigningCertificate`` with the certificate's SHA-256 digest, issuer and serial, as XAdES
1.3.2 writes it), here with the claimed role "emisor". RSA-SHA256, SHA-256 digests, C14N 1.0,
one reference to the whole document (``URI=""``, enveloped-signature transform), one to the
``SignedProperties``, one to the ``KeyInfo`` with the certificate chain. The
``ds:Signature`` is the last child of the root, where the XSD puts it; nothing before it
changes. Nothing of XML-DSig is written by hand here.

The certificate is the taxpayer's own (:class:`verifactu.models.Certificate`, kept encrypted,
opened as verifactu opens it for mutual TLS and closed as soon as the file is signed): the
newest that names the taxpayer's NIF and has not expired. Without one, the file is offered
unsigned and :attr:`FacturaeFile.reason` says why, in Spanish. Facturae's policy asks for an
RSA key: an EC certificate also leaves the file unsigned, saying so.

**Checking** (:func:`verify_signature`): signxml's :class:`~signxml.xades.XAdESVerifier`
recomputes every digest and the signature value with the certificate the signature carries,
checks that ``SigningCertificate`` is that certificate, that the policy is Facturae's, that
the data reference covers the whole document, and that the signing time falls within the
certificate's validity. Who vouches for the certificate is not checked here: Factu keeps no
store of the Spanish qualified CAs; the signer's name and NIF are shown for a person to judge.
A received file may be signed with RSA-SHA1 (the policy v3.1 allows it and older software
uses it); ours never is.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from django.utils import timezone
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod
from signxml.exceptions import (
    InvalidCertificate,
    InvalidDigest,
    InvalidInput,
    InvalidSignature,
    SignXMLException,
)
from signxml.xades import (
    XAdESDataObjectFormat,
    XAdESSignatureConfiguration,
    XAdESSignaturePolicy,
    XAdESVerifier,
)

from einvoice.facturae import unsigned_tree
from einvoice.xmlsafe import Refused, parse_untrusted
from factu.models import Taxpayer
from invoicing.models import Invoice
from verifactu.certificates import open_certificate
from verifactu.models import Certificate
from verifactu.representation import certificate_identity
from verifactu.signing import SignatureProblem, SigningIdentity, sign_enveloped

logger = logging.getLogger(__name__)

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
_NS = {"ds": DS, "xades": XADES}

FACTURAE_POLICY = XAdESSignaturePolicy(
    Identifier="http://www.facturae.es/politica_de_firma_formato_facturae/"
    "politica_de_firma_formato_facturae_v3_1.pdf",
    Description="Política de Firma FacturaE v3.1",
    DigestMethod=DigestAlgorithm.SHA1,
    DigestValue="Ohixl6upD6av8N7pEvDABhEL6hM=",
)
SIGNER_ROLE = "emisor"
DATA_OBJECT = XAdESDataObjectFormat(Description="Factura electrónica Facturae 3.2.2")

UNSIGNED_NO_CERTIFICATE = "sin firmar: el contribuyente no tiene certificado"
POLICY_PROBLEM = "La firma no sigue la política de firma de Facturae 3.1."
_POLICY_PATH = (
    "xades:SignedSignatureProperties/xades:SignaturePolicyIdentifier/xades:SignaturePolicyId"
)
_RECEIVED_METHODS = frozenset({
    SignatureMethod.RSA_SHA1,
    SignatureMethod.RSA_SHA256,
    SignatureMethod.RSA_SHA384,
    SignatureMethod.RSA_SHA512,
})  # fmt: skip
_RECEIVED_DIGESTS = frozenset({
    DigestAlgorithm.SHA1,
    DigestAlgorithm.SHA256,
    DigestAlgorithm.SHA384,
    DigestAlgorithm.SHA512,
})  # fmt: skip


@dataclass(frozen=True)
class FacturaeFile:
    """A Facturae file as it is offered: signed (``reason`` names the signer), or unsigned
    with the reason in Spanish. Its XSD is checked by
    :func:`einvoice.validation.validate_facturae`, run by whoever stores it."""

    content: bytes
    signed: bool
    reason: str = ""


@dataclass(frozen=True)
class SignatureCheck:
    """What a Facturae file's signature says: whether there is one, whether it holds, who
    signed (from the certificate it carries) and when; ``problem`` in Spanish when it does
    not hold."""

    present: bool
    valid: bool
    signer_name: str = ""
    signer_nif: str = ""
    signing_time: datetime | None = None
    problem: str = ""


def signed_facturae(invoice: Invoice, *, now: datetime | None = None) -> FacturaeFile:
    """The issued invoice's Facturae 3.2.2, signed with its taxpayer's certificate when it
    has a usable one. Raises :class:`einvoice.facturae.NotRepresentable` as ``build_facturae``
    does. A signature that does not pass :func:`verify_signature` is never offered: the file
    goes unsigned, saying so, and the failure is logged."""
    now = now or timezone.now()
    root = unsigned_tree(invoice)
    unsigned = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    stored, reason = signing_certificate(invoice.taxpayer, now)
    if stored is None:
        return FacturaeFile(unsigned, False, reason)
    try:
        opened = open_certificate(stored)
    except (ValueError, TypeError):
        logger.exception("Facturae %s: the taxpayer's certificate does not open", invoice.pk)
        return FacturaeFile(
            unsigned, False, "sin firmar: el certificado guardado del contribuyente no se abre"
        )
    with opened:
        try:
            identity = SigningIdentity.from_client_certificate(opened)
        except SignatureProblem:
            return FacturaeFile(
                unsigned,
                False,
                "sin firmar: la política de firma de Facturae pide un certificado con clave "
                "RSA y el del contribuyente no la tiene",
            )
        content = sign_tree(root, identity, now)
    check = verify_signature(content)
    if not check.valid:
        logger.error("Facturae %s: our signature does not verify: %s", invoice.pk, check.problem)
        return FacturaeFile(
            unsigned, False, f"sin firmar: la firma no se pudo comprobar ({check.problem})"
        )
    return FacturaeFile(content, True, f"firmada por {check.signer_name or check.signer_nif}")


def signing_certificate(taxpayer: Taxpayer, now: datetime) -> tuple[Certificate | None, str]:
    """The taxpayer's newest certificate that names its NIF and has not expired, or None and
    the reason the file goes unsigned."""
    own = Certificate.objects.filter(taxpayer=taxpayer, account_id=taxpayer.account_id).order_by(
        "-uploaded_at"
    )
    usable = own.filter(holder_nif=taxpayer.nif, not_valid_after__gt=now).first()
    if usable is not None:
        return usable, ""
    newest = own.first()
    if newest is None:
        return None, UNSIGNED_NO_CERTIFICATE
    if newest.holder_nif != taxpayer.nif:
        holder = newest.holder_nif or "un titular sin NIF reconocible"
        return (
            None,
            f"sin firmar: el certificado del contribuyente es de {holder}, no de {taxpayer.nif}",
        )
    expired = timezone.localtime(newest.not_valid_after)
    return None, f"sin firmar: el certificado del contribuyente caducó el {expired:%d/%m/%Y}"


def sign_tree(root: etree._Element, identity: SigningIdentity, now: datetime) -> bytes:
    """``root`` (a ``fe:Facturae`` without signature) with its XAdES-EPES signature as the
    last child, UTF-8 with an XML declaration."""
    signed = sign_enveloped(
        root,
        root,
        identity,
        policy=FACTURAE_POLICY,
        data_object_format=DATA_OBJECT,
        claimed_roles=[SIGNER_ROLE],
        signing_time=now,
    )
    return etree.tostring(signed, xml_declaration=True, encoding="UTF-8")


def verify_signature(xml: bytes) -> SignatureCheck:
    """The signature of a Facturae file: never raises for a bad file."""
    try:
        root = parse_untrusted(xml)
    except Refused as refused:
        return SignatureCheck(False, False, problem=refused.finding.message)
    signatures = root.findall("ds:Signature", _NS)
    if not signatures:
        return SignatureCheck(False, False, problem="El archivo no está firmado.")
    if len(signatures) > 1 or root.findall(".//ds:Signature", _NS) != signatures:
        return SignatureCheck(True, False, problem="El archivo tiene más de una firma.")
    signature = signatures[0]
    try:
        certificate = _carried_certificate(signature)
    except ValueError as error:
        return SignatureCheck(True, False, problem=str(error))
    try:
        identity = certificate_identity(certificate)
    except ValueError as error:  # a certificate whose subject or extensions do not parse
        return SignatureCheck(True, False, problem=f"El certificado de la firma no se lee: {error}")
    signing_time = _signing_time(signature)
    found = {
        "present": True,
        "signer_name": identity.name,
        "signer_nif": identity.nif,
        "signing_time": signing_time,
    }
    problem = _problem(root, certificate, signing_time)
    return SignatureCheck(valid=not problem, problem=problem, **found)


def _problem(
    root: etree._Element, certificate: x509.Certificate, signed_at: datetime | None
) -> str:
    if signed_at is None:
        return "La firma no dice cuándo se hizo (falta SigningTime)."
    config = XAdESSignatureConfiguration(
        location="./",
        expect_references=True,
        signature_methods=_RECEIVED_METHODS,
        digest_algorithms=_RECEIVED_DIGESTS,
        # The certificate must have been valid when it signed (signxml checks it then).
        verification_time=signed_at,
    )
    try:
        results = XAdESVerifier().verify(
            etree.tostring(root),
            x509_cert=certificate,
            expect_signature_policy=FACTURAE_POLICY,
            expect_config=config,
        )
    except InvalidDigest:
        return "El contenido firmado se ha modificado después de firmarse: no coincide su resumen."
    except InvalidCertificate:
        return "El certificado del firmante no era válido cuando se firmó."
    except InvalidSignature:
        return "El valor de la firma no corresponde al certificado que lleva."
    except InvalidInput as error:
        if "signature policy" in str(error):
            return POLICY_PROBLEM
        if "SignedProperties" in str(error):
            return "La firma no es XAdES: le faltan las propiedades firmadas (SignedProperties)."
        return f"La firma no es válida: {error}"
    except (SignXMLException, ValueError) as error:
        return f"La firma no es válida: {error}"
    if not any(r.signed_xml is not None and r.signed_xml.tag == root.tag for r in results):
        return "La firma no cubre el documento entero."
    # signxml compares the policy only when the signature names one: Facturae's is required.
    if root.find(f"ds:Signature//{_POLICY_PATH}", _NS) is None:
        return POLICY_PROBLEM
    return ""


def _carried_certificate(signature: etree._Element) -> x509.Certificate:
    """The first certificate of ``KeyInfo``: the signer's, as XAdES writes it."""
    text = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=_NS)
    if not text:
        raise ValueError("La firma no lleva el certificado del firmante.")
    try:
        return x509.load_der_x509_certificate(base64.b64decode("".join(text.split())))
    except ValueError:
        raise ValueError("El certificado que lleva la firma no se puede leer.") from None


def _signing_time(signature: etree._Element) -> datetime | None:
    text = signature.findtext(
        ".//xades:SignedSignatureProperties/xades:SigningTime", namespaces=_NS
    )
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
