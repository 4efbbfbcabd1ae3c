"""XAdES-EPES signatures of records (SPEC §5), with a throw-away RSA PKI made here."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from lxml import etree

from tests.certs import certificate_builder
from verifactu import envelopes, signing
from verifactu import xml as vxml
from verifactu.signing import SignatureProblem, SigningIdentity

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES, "sf": vxml.NS_SF}


# --------------------------------------------------------------------------- test PKI


def _name(cn: str, nif: str = "") -> x509.Name:
    """A subject; with ``nif``, naming that person's NIF as FNMT does (``IDCES-<NIF>``)."""
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "ES"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Factu Tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if nif:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, f"IDCES-{nif}"))
    return x509.Name(attributes)


def issue(subject, key, issuer, issuer_key, *, ca: bool, days: int = 30) -> x509.Certificate:
    return (
        certificate_builder(subject, issuer, key.public_key(), days)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=not ca,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


class Pki:
    """Root CA -> intermediate CA -> the taxpayer's RSA signing certificate."""

    def __init__(self, cn: str = "ESTUDIO SOL SL - B87654323", nif: str = "") -> None:
        self.root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.root = issue(
            _name("Test Root CA"), self.root_key, _name("Test Root CA"), self.root_key, ca=True
        )
        self.inter_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.inter = issue(
            _name("Test Sub CA"), self.inter_key, self.root.subject, self.root_key, ca=True
        )
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.cert = issue(_name(cn, nif), self.key, self.inter.subject, self.inter_key, ca=False)

    @property
    def ca_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)

    @property
    def identity(self) -> SigningIdentity:
        return SigningIdentity(self.key, self.cert, (self.inter,))

    def p12(self, password: str) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"firma",
            self.key,
            self.cert,
            [self.inter],
            serialization.BestAvailableEncryption(password.encode()),
        )

    def pem_bundle(self) -> bytes:
        pem = serialization.Encoding.PEM
        return (
            self.key.private_bytes(
                pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            + self.cert.public_bytes(pem)
            + self.inter.public_bytes(pem)
        )


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


# --------------------------------------------------------------------------- records

SISTEMA = vxml.SistemaInformatico(
    nombre_razon="Factu Software SL",
    nif="B87654323",
    nombre_sistema="Factu",
    id_sistema="FA",
    version="1.0",
    numero_instalacion="TEST-1",
)


def alta(numserie: str = "F-2026-042", previous=None) -> vxml.BuiltRecord:
    return vxml.build_alta(
        vxml.AltaData(
            nif="B87654323",
            numserie=numserie,
            fecha_expedicion="13-03-2026",
            nombre_razon_emisor="Estudio Sol SL",
            tipo_factura="F1",
            descripcion="Mantenimiento & soporte <mensual>",
            recipients=[vxml.Recipient("Cliente SA", nif="A28045631")],
            lines=[
                vxml.BreakdownLine(
                    base="500.00",
                    impuesto="01",
                    clave_regimen="01",
                    calificacion="S1",
                    tipo_impositivo="21.00",
                    cuota="105.00",
                )
            ],
            cuota_total="105.00",
            importe_total="605.00",
            sistema=SISTEMA,
            fecha_hora_huso="2026-03-13T10:00:00+01:00",
            previous=previous,
        )
    )


def anulacion(previous) -> vxml.BuiltRecord:
    return vxml.build_anulacion(
        vxml.AnulacionData(
            nif="B87654323",
            numserie="F-2026-042",
            fecha_expedicion="13-03-2026",
            sistema=SISTEMA,
            fecha_hora_huso="2026-03-13T10:05:00+01:00",
            previous=previous,
        )
    )


@pytest.fixture(scope="module")
def signed_alta(pki):
    built = alta()
    return built, signing.sign_record_xml(built.xml, pki.identity)


# --------------------------------------------------------------------------- profile


def test_signature_is_the_last_child_with_the_aeat_profile(signed_alta):
    _, signed = signed_alta
    root = etree.fromstring(signed.encode())
    signature = root[-1]
    assert signature.tag == f"{{{DS}}}Signature"
    assert len(root.findall(".//ds:Signature", NS)) == 1
    si = signature.find("ds:SignedInfo", NS)
    assert si.find("ds:CanonicalizationMethod", NS).get("Algorithm") == (
        "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
    )
    assert si.find("ds:SignatureMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    refs = si.findall("ds:Reference", NS)
    assert len(refs) == 3
    data = [r for r in refs if r.get("URI") == ""]
    assert len(data) == 1
    assert [t.get("Algorithm") for t in data[0].findall("ds:Transforms/ds:Transform", NS)] == [
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
    ]
    assert {r.find("ds:DigestMethod", NS).get("Algorithm") for r in refs} == {
        "http://www.w3.org/2001/04/xmlenc#sha256"
    }
    assert any(r.get("Type") == "http://uri.etsi.org/01903#SignedProperties" for r in refs)
    ssp = signature.find(".//xades:SignedSignatureProperties", NS)
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", ssp.findtext("xades:SigningTime", namespaces=NS)
    )
    assert ssp.find("xades:SigningCertificate/xades:Cert/xades:CertDigest", NS) is not None
    policy = ssp.find("xades:SignaturePolicyIdentifier/xades:SignaturePolicyId", NS)
    assert policy.findtext("xades:SigPolicyId/xades:Identifier", namespaces=NS) == (
        "urn:oid:2.16.724.1.3.1.1.2.1.9"
    )
    assert policy.findtext("xades:SigPolicyHash/ds:DigestValue", namespaces=NS) == (
        "G7roucf600+f03r/o0bAOQ6WAs0="
    )
    certs = signature.findall("ds:KeyInfo/ds:X509Data/ds:X509Certificate", NS)
    assert len(certs) == 2  # the signing certificate, then the intermediate CA


def test_signed_record_validates_and_keeps_its_huella(signed_alta):
    built, signed = signed_alta
    assert envelopes.validate_record(signed) == []
    parsed = vxml.parse_record(signed)
    assert parsed["huella"] == built.huella == vxml.recompute_huella(parsed)
    # The content is untouched: removing the signature gives back the record, canonically.
    assert signing.signed_content(signed) == etree.tostring(
        etree.fromstring(built.xml.encode()), method="c14n"
    )


def test_anulacion_chained_after_alta_is_signed_and_valid(pki):
    first = alta()
    prev = vxml.PreviousRecord("B87654323", "F-2026-042", "13-03-2026", first.huella)
    built = anulacion(prev)
    signed = signing.sign_record_xml(built.xml, pki.identity)
    assert envelopes.validate_record(signed) == []
    assert vxml.parse_record(signed)["huella"] == built.huella
    result = signing.verify_record_signature(signed, pki.ca_pem)
    assert etree.QName(result.signed_xml).localname == "RegistroAnulacion"


def test_signxml_xades_verifier_accepts_it(signed_alta, pki):
    _, signed = signed_alta
    result = signing.verify_record_signature(signed, pki.ca_pem)
    assert "ESTUDIO SOL SL" in result.subject
    assert result.serial_number == pki.cert.serial_number
    assert result.policy == "urn:oid:2.16.724.1.3.1.1.2.1.9"


def test_plain_signxml_xades_verifier_on_the_document(signed_alta, pki, tmp_path):
    """signxml's own verifier, called directly with a CA file, as any third party would."""
    from signxml import DigestAlgorithm
    from signxml.xades import XAdESSignatureConfiguration, XAdESVerifier

    _, signed = signed_alta
    ca_file = tmp_path / "ca.pem"
    ca_file.write_bytes(pki.ca_pem)
    results = XAdESVerifier().verify(
        signed.encode(),
        ca_pem_file=str(ca_file),
        expect_signature_policy=signing.AGE_POLICY,
        expect_config=XAdESSignatureConfiguration(
            default_reference_c14n_method=signing.C14N_10,
            digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        ),
    )
    assert len(results) == 3


def test_independent_digest_check_by_hand(signed_alta):
    """Recompute the data reference digest with nothing but lxml and hashlib."""
    built, signed = signed_alta
    root = etree.fromstring(signed.encode())
    signature = root.find("ds:Signature", NS)
    ref = next(
        r for r in signature.iterfind("ds:SignedInfo/ds:Reference", NS) if r.get("URI") == ""
    )
    root.remove(signature)  # the enveloped-signature transform
    digest = base64.b64encode(hashlib.sha256(etree.tostring(root, method="c14n")).digest())
    assert digest.decode() == ref.findtext("ds:DigestValue", namespaces=NS)
    # ... which is also the digest of the unsigned record as stored.
    unsigned = etree.tostring(etree.fromstring(built.xml.encode()), method="c14n")
    assert base64.b64encode(hashlib.sha256(unsigned).digest()) == digest
    signing.independent_digest_check(signed)


@pytest.mark.parametrize(
    "old,new",
    [
        ("<ImporteTotal>605.00</ImporteTotal>", "<ImporteTotal>605.01</ImporteTotal>"),
        ("Mantenimiento &amp; soporte", "Mantenimiento &amp; soportE"),
        ("<NumSerieFactura>F-2026-042<", "<NumSerieFactura>F-2026-043<"),
    ],
)
def test_one_changed_character_is_detected_both_ways(signed_alta, pki, old, new):
    _, signed = signed_alta
    assert signed.count(old) == 1
    tampered = signed.replace(old, new)
    with pytest.raises(SignatureProblem, match="digest|Digest"):
        signing.verify_record_signature(tampered, pki.ca_pem)
    with pytest.raises(SignatureProblem, match="digest of reference ''"):
        signing.independent_digest_check(tampered)


def test_tampered_signed_properties_and_signature_value_are_detected(signed_alta, pki):
    _, signed = signed_alta
    tampered = signed.replace("urn:oid:2.16.724.1.3.1.1.2.1.9", "urn:oid:2.16.724.1.3.1.1.2.1.8")
    with pytest.raises(SignatureProblem):
        signing.verify_record_signature(tampered, pki.ca_pem)
    with pytest.raises(SignatureProblem, match="SignedProperties|digest of reference '#"):
        signing.independent_digest_check(tampered)
    value = re.search(r"<ds:SignatureValue>([^<]+)<", signed).group(1)
    flipped = ("A" if value[5] != "A" else "B").join((value[:5], value[6:]))
    with pytest.raises(SignatureProblem, match="SignatureValue"):
        signing.independent_digest_check(signed.replace(value, flipped))


def test_untrusted_ca_is_refused(signed_alta):
    _, signed = signed_alta
    with pytest.raises(SignatureProblem, match="XAdES verification failed"):
        signing.verify_record_signature(signed, Pki().ca_pem)


def test_identity_from_pkcs12_and_pem(pki):
    for identity in (
        SigningIdentity.from_bytes(pki.p12("secreto"), "secreto"),
        SigningIdentity.from_bytes(pki.pem_bundle()),
    ):
        assert identity.certificate == pki.cert
        assert identity.chain == (pki.inter,)
        signed = signing.sign_record_xml(alta().xml, identity)
        signing.verify_record_signature(signed, pki.ca_pem)


def test_ec_keys_and_mismatched_keys_are_refused(pki):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_cert = issue(_name("EC"), ec_key, pki.inter.subject, pki.inter_key, ca=False)
    with pytest.raises(SignatureProblem, match="RSA"):
        SigningIdentity(ec_key, ec_cert)
    with pytest.raises(SignatureProblem, match="does not belong"):
        SigningIdentity(pki.key, pki.inter)


def test_refuses_other_documents_and_double_signing(pki, signed_alta):
    _, signed = signed_alta
    with pytest.raises(SignatureProblem, match="already signed"):
        signing.sign_record_xml(signed, pki.identity)
    envelope = envelopes.build_envelope(vxml.Obligado("Estudio Sol SL", "B87654323"), [alta()])
    with pytest.raises(SignatureProblem, match="only"):
        signing.sign_record_xml(envelope, pki.identity)


def test_signature_moved_elsewhere_is_refused(signed_alta, pki):
    _, signed = signed_alta
    root = etree.fromstring(signed.encode())
    signature = root[-1]
    root.remove(signature)
    root.insert(1, signature)
    with pytest.raises(SignatureProblem, match="last child"):
        signing.verify_record_signature(etree.tostring(root), pki.ca_pem)


def test_old_signature_verifies_at_its_signing_time():
    short = Pki()
    short.cert = issue(
        _name("Caduca"), short.key, short.inter.subject, short.inter_key, ca=False, days=1
    )
    signed = signing.sign_record_xml(alta().xml, short.identity)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    with pytest.raises(SignatureProblem):
        signing.verify_record_signature(signed, short.ca_pem, at=later)
    signing.verify_record_signature(signed, short.ca_pem, at=dt.datetime.now(dt.UTC))


def test_a_certificate_the_bundle_cannot_read_is_left_out(signed_alta, pki):
    broken = b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    bundle = broken + pki.ca_pem
    assert [c.subject for c in signing.trusted_certificates(bundle)] == [pki.root.subject]
    signing.verify_record_signature(signed_alta[1], bundle)
