"""The XAdES check of signed records received on the Requerimiento endpoint.

NO VERI*FACTU records must carry an enveloped XAdES-EPES signature as the last child of the
record (SPEC §5). The simulator checks it as the AEAT would, with signxml and cryptography
directly (its own code, nothing of the application): the record is taken out of the envelope
as a document of its own (the signature's data reference is ``URI=""``), then

- exactly one ``ds:Signature``, the record's last child;
- every reference digest, the SignatureValue, the SigningCertificate digest and the AGE
  signature policy verify (signxml's :class:`~signxml.xades.XAdESVerifier`), RSA-SHA256 and
  SHA-256 only;
- one reference covers the whole record;
- the certificate chains up to ``trusted_ca`` when the simulator is given one (otherwise the
  signature is checked with the certificate it carries: integrity, not identity).

Any failure is reported as a plain reason (Spanish, for the AEAT-style answer).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from lxml import etree
from signxml import DigestAlgorithm, SignatureMethod
from signxml.exceptions import SignXMLException
from signxml.util import add_pem_header
from signxml.xades import XAdESSignatureConfiguration, XAdESSignaturePolicy, XAdESVerifier

NS_DS = "http://www.w3.org/2000/09/xmldsig#"
AGE_POLICY = XAdESSignaturePolicy(
    Identifier="urn:oid:2.16.724.1.3.1.1.2.1.9",
    Description="Política de Firma Electrónica y de certificados de la Administración "
    "General del Estado",
    DigestMethod=DigestAlgorithm.SHA1,
    DigestValue="G7roucf600+f03r/o0bAOQ6WAs0=",
)
_CONFIG = XAdESSignatureConfiguration(
    location="./",
    expect_references=True,
    signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
)
_NS = {"ds": NS_DS}


class BadSignature(Exception):
    """Why a record's signature is not acceptable."""


def check_record_signature(record: etree._Element, trusted_ca: str | Path | None = None) -> None:
    """Raise :class:`BadSignature` unless ``record`` carries a valid enveloped XAdES signature."""
    signatures = record.findall(f".//{{{NS_DS}}}Signature")
    if not signatures:
        raise BadSignature("el registro no está firmado (falta ds:Signature)")
    if len(signatures) > 1:
        raise BadSignature("el registro contiene más de una firma")
    if signatures[0].getparent() is not record or record[-1] is not signatures[0]:
        raise BadSignature("la firma no es el último elemento del registro")
    data = etree.tostring(record, with_tail=False)
    options: dict = {"ca_pem_file": str(trusted_ca)} if trusted_ca else {}
    if not trusted_ca:
        first = signatures[0].findtext("ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=_NS)
        if not first:
            raise BadSignature("la firma no incluye el certificado (KeyInfo/X509Certificate)")
        try:
            options["x509_cert"] = x509.load_pem_x509_certificate(add_pem_header(first.strip()))
        except ValueError as exc:
            raise BadSignature(f"certificado ilegible: {exc}") from None
    try:
        results = XAdESVerifier().verify(
            data, expect_signature_policy=AGE_POLICY, expect_config=_CONFIG, **options
        )
    except (SignXMLException, x509.verification.VerificationError, ValueError) as exc:
        raise BadSignature(f"la firma no es válida: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - untrusted input: whatever breaks, it is refused
        raise BadSignature(f"la firma no se puede verificar: {type(exc).__name__}") from None
    if not any(r.signed_xml is not None and r.signed_xml.tag == record.tag for r in results):
        raise BadSignature('la firma no cubre el registro completo (URI="")')
