"""Enveloped XAdES-EPES signatures of NO VERI*FACTU records (SPEC §5).

Profile (AEAT's *Especificaciones técnicas para la generación de la firma electrónica de los
registros de facturación y de evento*, as reported in SPEC §5): an enveloped ``ds:Signature``
as the last child of ``RegistroAlta`` / ``RegistroAnulacion`` (of ``Evento`` inside a
``RegistroEvento``, where EventosSIF.xsd puts it), XAdES-EPES with the AGE signature policy,
RSA-SHA256, SHA-256 digests, C14N 1.0 inclusive, one data reference ``URI=""`` whose only
transform is the enveloped-signature one, ``SigningTime``, ``SigningCertificate`` and the
certificate chain in ``KeyInfo``.

The signature is made with signxml's :class:`~signxml.xades.XAdESSigner` and checked two ways:
with signxml's :class:`~signxml.xades.XAdESVerifier` (chain up to a given CA, policy, signed
properties) and by :func:`independent_digest_check`, which recomputes every reference digest
and the RSA signature value with lxml, hashlib and ``cryptography`` only.

Pure Python: no Django. The stored record XML is never changed; the signed copy is kept apart.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, SignXMLException
from signxml.util import X509CertChainVerifier
from signxml.xades import (
    XAdESDataObjectFormat,
    XAdESSignatureConfiguration,
    XAdESSignaturePolicy,
    XAdESSigner,
    XAdESVerifier,
)

from verifactu.aeat import ClientCertificate

__all__ = [
    "AGE_POLICY",
    "SignatureProblem",
    "SigningIdentity",
    "VerifiedSignature",
    "Xades132Signer",
    "independent_digest_check",
    "sign_enveloped",
    "sign_record_xml",
    "signed_content",
    "trusted_certificates",
    "verify_record_signature",
]

NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
C14N_10 = CanonicalizationMethod.CANONICAL_XML_1_0
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SIGNED_PROPERTIES_TYPE = "http://uri.etsi.org/01903#SignedProperties"
SIGNABLE = frozenset({"RegistroAlta", "RegistroAnulacion", "RegistroEvento"})
# The XAdESDataObjectFormat's Description: what is signed, in which mode (only NO VERI*FACTU
# records and events are signed).
DESCRIPTIONS = {
    "RegistroAlta": "Registro de facturación NO VERI*FACTU",
    "RegistroAnulacion": "Registro de facturación NO VERI*FACTU",
    "RegistroEvento": "Registro de evento NO VERI*FACTU",
}

AGE_POLICY = XAdESSignaturePolicy(
    Identifier="urn:oid:2.16.724.1.3.1.1.2.1.9",
    Description="Política de Firma Electrónica y de certificados de la Administración "
    "General del Estado",
    DigestMethod=DigestAlgorithm.SHA1,
    DigestValue="G7roucf600+f03r/o0bAOQ6WAs0=",
)

_PARSER = etree.XMLParser(
    no_network=True, resolve_entities=False, load_dtd=False, remove_blank_text=False
)
_NS = {"ds": NS_DS, "xades": NS_XADES}


class SignatureProblem(Exception):
    """A signature that does not verify, or an input that cannot be signed."""


@dataclass(frozen=True)
class SigningIdentity:
    """An RSA private key, its certificate and the chain up to (not necessarily incl.) the CA."""

    key: rsa.RSAPrivateKey
    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, rsa.RSAPrivateKey):
            raise SignatureProblem("XAdES signatures of AEAT records need an RSA key (RSA-SHA256)")
        der, spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        if self.key.public_key().public_bytes(
            der, spki
        ) != self.certificate.public_key().public_bytes(der, spki):
            raise SignatureProblem("the private key does not belong to the certificate")

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @classmethod
    def from_bytes(cls, data: bytes, password: str | None = None) -> SigningIdentity:
        """PKCS#12 bytes, or PEM bytes holding the certificate(s) and the key."""
        with ClientCertificate.from_bytes(data, password) as opened:
            return cls.from_client_certificate(opened)

    @classmethod
    def from_client_certificate(cls, opened: Any) -> SigningIdentity:
        """From a :class:`verifactu.aeat.ClientCertificate` (the taxpayer's stored one)."""
        return cls(opened.private_key, opened.certificate, tuple(opened.chain))  # type: ignore[arg-type]


class Xades132Signer(XAdESSigner):
    """signxml's XAdES signer with the signed properties of the XAdES 1.3.2 profiles Spanish
    administrations publish (the AEAT's for records; Facturae's, used by ``einvoice``).

    ``SigningCertificate`` (XAdES 1.3.2: CertDigest with SHA-256 + IssuerSerial of the
    signing certificate) instead of signxml's default ``SigningCertificateV2``, and a
    ``SigningTime`` that can be fixed by the caller.
    """

    signing_time: datetime | None = None

    def add_signing_time(self, signed_signature_properties, sig_root, signing_settings):
        element = etree.SubElement(
            signed_signature_properties, f"{{{NS_XADES}}}SigningTime", nsmap=self.namespaces
        )
        when = self.signing_time or datetime.now(UTC)
        element.text = when.replace(microsecond=0).isoformat()

    def add_signing_certificate(self, signed_signature_properties, sig_root, signing_settings):
        cert = signing_settings.cert_chain[0]
        if not isinstance(cert, x509.Certificate):  # pragma: no cover - we always pass objects
            raise InvalidInput("expected x509.Certificate objects")
        ns = self.namespaces
        signing_cert = etree.SubElement(
            signed_signature_properties, f"{{{NS_XADES}}}SigningCertificate", nsmap=ns
        )
        cert_node = etree.SubElement(signing_cert, f"{{{NS_XADES}}}Cert", nsmap=ns)
        digest = etree.SubElement(cert_node, f"{{{NS_XADES}}}CertDigest", nsmap=ns)
        etree.SubElement(
            digest, f"{{{NS_DS}}}DigestMethod", nsmap=ns, Algorithm=DigestAlgorithm.SHA256.value
        )
        value = etree.SubElement(digest, f"{{{NS_DS}}}DigestValue", nsmap=ns)
        value.text = base64.b64encode(cert.fingerprint(hashes.SHA256())).decode()
        serial = etree.SubElement(cert_node, f"{{{NS_XADES}}}IssuerSerial", nsmap=ns)
        etree.SubElement(
            serial, f"{{{NS_DS}}}X509IssuerName", nsmap=ns
        ).text = cert.issuer.rfc4514_string()
        etree.SubElement(serial, f"{{{NS_DS}}}X509SerialNumber", nsmap=ns).text = str(
            cert.serial_number
        )


def _parse(xml: str | bytes) -> etree._Element:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SignatureProblem(f"XML not well-formed: {exc}") from None


def _signature_parent(root: etree._Element) -> etree._Element:
    """Where the ds:Signature goes: the record itself, or ``Evento`` of a RegistroEvento."""
    kind = etree.QName(root).localname
    if kind not in SIGNABLE:
        raise SignatureProblem(f"only {sorted(SIGNABLE)} are signed, not {kind}")
    if kind == "RegistroEvento":
        evento = root.find(f"{{{etree.QName(root).namespace}}}Evento")
        if evento is None:
            raise SignatureProblem("RegistroEvento without Evento")
        return evento
    return root


def sign_record_xml(
    xml: str | bytes, certificate: SigningIdentity, *, signing_time: datetime | None = None
) -> str:
    """Return ``xml`` with an enveloped XAdES-EPES signature as the record's last child.

    ``xml`` is a standalone record (RegistroAlta / RegistroAnulacion / RegistroEvento) without
    a signature; the content is not otherwise changed.
    """
    root = _parse(xml)
    parent = _signature_parent(root)
    if root.find(".//ds:Signature", _NS) is not None:
        raise SignatureProblem("the record is already signed")
    signed = sign_enveloped(
        root,
        parent,
        certificate,
        policy=AGE_POLICY,
        data_object_format=XAdESDataObjectFormat(
            Description=DESCRIPTIONS[etree.QName(root).localname], MimeType="text/xml"
        ),
        signing_time=signing_time,
    )
    return etree.tostring(signed, encoding="unicode")


def sign_enveloped(
    root: etree._Element,
    parent: etree._Element,
    certificate: SigningIdentity,
    *,
    policy: XAdESSignaturePolicy | None,
    data_object_format: XAdESDataObjectFormat,
    claimed_roles: list[str] | None = None,
    signing_time: datetime | None = None,
) -> etree._Element:
    """``root`` signed in place: an enveloped XAdES-EPES ``ds:Signature`` (RSA-SHA256, SHA-256
    digests, C14N 1.0, the data reference ``URI=""``) as ``parent``'s last child, under
    ``policy``, with :class:`Xades132Signer`'s signed properties. The profile of the AEAT's
    records and of Facturae (``einvoice.signing``)."""
    # The placeholder puts the signature where the XSD expects it (last child of ``parent``).
    etree.SubElement(parent, f"{{{NS_DS}}}Signature", nsmap={"ds": NS_DS}, Id="placeholder")
    signer = Xades132Signer(
        signature_policy=policy,
        claimed_roles=claimed_roles,
        data_object_format=data_object_format,
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=C14N_10,
    )
    signer.signing_time = signing_time
    return signer.sign(
        root,
        key=certificate.key,
        cert=[certificate.certificate, *certificate.chain],
        exclude_c14n_transform_element=True,
    )


def signed_content(signed_xml: str | bytes) -> bytes:
    """C14N 1.0 of the record without its signature: what the data reference covers."""
    root = _parse(signed_xml)
    for signature in root.findall(".//ds:Signature", _NS):
        _remove_keeping_tail(signature)
    return etree.tostring(root, method="c14n")


def _remove_keeping_tail(element: etree._Element) -> None:
    parent = element.getparent()
    if element.tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class VerifiedSignature:
    subject: str
    serial_number: int
    signing_time: str
    policy: str
    signed_xml: etree._Element  # what the data reference covers (the record, unsigned)


class _PemChainVerifier(X509CertChainVerifier):
    """signxml's chain verifier with the trusted CAs given as PEM bytes, not a file path."""

    def __init__(self, ca_pem: bytes, **kwargs: Any) -> None:
        self._ca_pem = ca_pem
        super().__init__(ca_pem_file="<memory>", **kwargs)

    @property
    def store(self):
        return x509.verification.Store(list(trusted_certificates(self._ca_pem)))


_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


@functools.lru_cache(maxsize=8)
def trusted_certificates(ca_pem: bytes) -> tuple[x509.Certificate, ...]:
    """Each certificate of a PEM bundle that can be read. One that cannot (Debian's bundle has
    a certificate with a non-positive serial, which ``cryptography`` announces it will refuse)
    is left out, instead of making every verification against the bundle fail. Parsed once
    per bundle (Debian's has ~150 certificates; a check verifies every signature of a chain)."""
    found = []
    for block in _PEM_CERTIFICATE.findall(ca_pem):
        try:
            found.append(x509.load_pem_x509_certificate(block))
        except ValueError:
            continue
    return tuple(found)


class _RecordVerifier(XAdESVerifier):
    ca_pem: bytes = b""

    def get_cert_chain_verifier(self, ca_pem_file, ee_policy, ca_policy):
        return _PemChainVerifier(
            self.ca_pem,
            verification_time=self._get_cert_verification_time(),
            ee_policy=ee_policy,
            ca_policy=ca_policy,
        )


def _profile_config(verification_time: datetime | None) -> XAdESSignatureConfiguration:
    return XAdESSignatureConfiguration(
        location=".//",
        expect_references=3,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        default_reference_c14n_method=C14N_10,
        verification_time=verification_time,
    )


def verify_record_signature(
    signed_xml: str | bytes, ca_pem: bytes | str, *, at: datetime | None = None
) -> VerifiedSignature:
    """Verify with signxml's XAdES verifier, then independently; raise :class:`SignatureProblem`.

    ``ca_pem``: the trusted CA certificate(s), PEM. ``at``: the time the certificate chain
    must be valid (default: now; pass the signing time to check an old record).
    """
    if isinstance(ca_pem, str):
        ca_pem = ca_pem.encode()
    root = _parse(signed_xml)
    parent = _signature_parent(root)
    signatures = root.findall(".//ds:Signature", _NS)
    if len(signatures) != 1:
        raise SignatureProblem(f"expected one ds:Signature, found {len(signatures)}")
    signature = signatures[0]
    if signature.getparent() is not parent or parent[-1] is not signature:
        raise SignatureProblem("the ds:Signature is not the last child of the signed record")
    verifier = _RecordVerifier()
    verifier.ca_pem = ca_pem
    try:
        results = verifier.verify(
            etree.tostring(root),
            expect_signature_policy=AGE_POLICY,
            expect_config=_profile_config(at),
        )
    except (SignXMLException, x509.verification.VerificationError, ValueError) as exc:
        raise SignatureProblem(f"XAdES verification failed: {exc}") from None
    data_results = [r for r in results if r.signed_xml is not None and r.signed_xml.tag == root.tag]
    if len(data_results) != 1:
        raise SignatureProblem('the signature does not cover the whole record (URI="")')
    independent_digest_check(root)
    cert = _signing_certificate(signature)
    props = signature.find(".//xades:SignedSignatureProperties", _NS)
    return VerifiedSignature(
        subject=cert.subject.rfc4514_string(),
        serial_number=cert.serial_number,
        signing_time=props.findtext("xades:SigningTime", default="", namespaces=_NS),
        policy=props.findtext(
            "xades:SignaturePolicyIdentifier/xades:SignaturePolicyId/xades:SigPolicyId/"
            "xades:Identifier",
            default="",
            namespaces=_NS,
        ),
        signed_xml=data_results[0].signed_xml,
    )


def _signing_certificate(signature: etree._Element) -> x509.Certificate:
    first = signature.findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=_NS)
    if not first:
        raise SignatureProblem("no X509Certificate in KeyInfo")
    return x509.load_der_x509_certificate(base64.b64decode(first))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def independent_digest_check(signed: str | bytes | etree._Element) -> None:
    """Recompute every Reference digest and the SignatureValue without signxml.

    The data reference (``URI=""``): the whole document minus the ``ds:Signature`` (the
    enveloped-signature transform), C14N 1.0 inclusive, SHA-256. ``#id`` references: the
    element with that ``Id``, C14N 1.0. Then RSA-SHA256 over C14N(SignedInfo) with the key of
    the first certificate of KeyInfo. Raises :class:`SignatureProblem` on any difference.
    """
    root = signed if isinstance(signed, etree._Element) else _parse(signed)
    root = _parse(etree.tostring(root))  # work on a copy
    signature = root.find(".//ds:Signature", _NS)
    if signature is None:
        raise SignatureProblem("no ds:Signature")
    signed_info = signature.find("ds:SignedInfo", _NS)
    method = signed_info.find("ds:CanonicalizationMethod", _NS).get("Algorithm")
    if method != C14N_10.value:
        raise SignatureProblem(f"SignedInfo canonicalisation is {method}, expected C14N 1.0")
    by_id = {el.get("Id"): el for el in root.iter() if el.get("Id")}
    data_refs = 0
    for reference in signed_info.findall("ds:Reference", _NS):
        uri = reference.get("URI")
        algorithm = reference.find("ds:DigestMethod", _NS).get("Algorithm")
        if algorithm != DigestAlgorithm.SHA256.value:
            raise SignatureProblem(f"reference {uri!r} digest is {algorithm}, expected SHA-256")
        transforms = [
            t.get("Algorithm") for t in reference.findall("ds:Transforms/ds:Transform", _NS)
        ]
        if uri == "":
            data_refs += 1
            if transforms != [ENVELOPED]:
                raise SignatureProblem(f"data reference transforms are {transforms}")
            content = signed_content(etree.tostring(root))
        elif uri and uri.startswith("#") and uri[1:] in by_id:
            if transforms not in ([], [C14N_10.value]):
                raise SignatureProblem(f"reference {uri} has unexpected transforms {transforms}")
            content = etree.tostring(by_id[uri[1:]], method="c14n")
        else:
            raise SignatureProblem(f"reference {uri!r} cannot be resolved")
        expected = reference.findtext("ds:DigestValue", default="", namespaces=_NS).strip()
        actual = _b64(hashlib.sha256(content).digest())
        if actual != expected:
            raise SignatureProblem(
                f"digest of reference {uri!r} is {actual}, the signature says {expected}"
            )
    if data_refs != 1:
        raise SignatureProblem(f'expected one URI="" reference, found {data_refs}')
    cert = _signing_certificate(signature)
    value = base64.b64decode(signature.findtext("ds:SignatureValue", namespaces=_NS) or "")
    try:
        cert.public_key().verify(  # type: ignore[union-attr, call-arg]
            value,
            etree.tostring(signed_info, method="c14n"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (CryptoInvalidSignature, TypeError, AttributeError) as exc:
        raise SignatureProblem(f"SignatureValue does not verify: {exc!r}") from None
