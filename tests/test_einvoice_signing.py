"""The Facturae signature (issue 21): XAdES-EPES under the Facturae policy v3.1 with the
taxpayer's own certificate, checked by our verifier and by xmlsec1 against the test CA; an
unsigned file, with the reason, when there is no usable certificate."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from django.utils import timezone
from lxml import etree

from einvoice.facturae import unsigned_tree
from einvoice.inbound import read_received
from einvoice.signing import (
    DATA_OBJECT,
    FACTURAE_POLICY,
    UNSIGNED_NO_CERTIFICATE,
    signed_facturae,
    verify_signature,
)
from einvoice.validation import validate_facturae
from invoicing.services import issue_invoice
from tests import xmlsec
from tests.certs import self_signed_p12
from tests.test_einvoice_facturae import addresses  # noqa: F401 - the parties' addresses
from tests.test_signing import Pki
from verifactu.certificates import store_certificate
from verifactu.signing import sign_enveloped

DS = "http://www.w3.org/2000/09/xmldsig#"
XADES = "http://uri.etsi.org/01903/v1.3.2#"
NS = {"ds": DS, "xades": XADES}
PASSWORD = "firma-pruebas"


@pytest.fixture(scope="module")
def pki() -> Pki:
    """Root CA -> intermediate -> the certificate of Estudio Sol SL (B87654323)."""
    return Pki("ESTUDIO SOL SL - B87654323", nif="B87654323")


@pytest.fixture
def certificate(account, taxpayer, pki):
    return store_certificate(account, pki.p12(PASSWORD), PASSWORD, taxpayer=taxpayer)


@pytest.fixture
def invoice(draft, actor):
    return issue_invoice(draft(irpf_bp=1500), actor=actor)


@pytest.fixture
def signed_at():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def signed(invoice, certificate, signed_at):
    facturae = signed_facturae(invoice, now=signed_at)
    assert facturae.signed, facturae.reason
    return facturae.content


def test_a_taxpayer_with_a_certificate_gets_a_signed_facturae_valid_against_the_xsd(signed):
    report = validate_facturae(signed)

    assert report.valid, [(f.rule, f.message) for f in report.errors]
    root = etree.fromstring(signed)
    assert [etree.QName(child).localname for child in root] == [
        "FileHeader",
        "Parties",
        "Invoices",
        "Signature",
    ]


def test_xmlsec1_verifies_the_signature_up_to_the_test_ca(signed, pki, tmp_path):
    complaint = xmlsec.verify_xml(signed.decode(), tmp_path, trusted=[pki.ca_pem])

    assert complaint is None, complaint


def test_xmlsec1_refuses_the_signature_without_the_ca_that_issued_it(signed, tmp_path):
    stranger = Pki("OTRA SL - B12345674", nif="B12345674")

    complaint = xmlsec.verify_xml(signed.decode(), tmp_path, trusted=[stranger.ca_pem])

    assert complaint is not None


def test_the_signature_is_xades_epes_under_the_facturae_policy(signed, pki, signed_at):
    signature = etree.fromstring(signed).find("ds:Signature", NS)
    properties = signature.find(".//xades:SignedProperties", NS)
    references = signature.findall("ds:SignedInfo/ds:Reference", NS)

    by_uri = {reference.get("URI"): reference for reference in references}
    assert by_uri[""].find("ds:Transforms/ds:Transform", NS).get("Algorithm") == (
        DS + "enveloped-signature"
    )
    assert by_uri[f"#{properties.get('Id')}"].get("Type") == (
        "http://uri.etsi.org/01903#SignedProperties"
    )
    assert signature.find("ds:SignedInfo/ds:SignatureMethod", NS).get("Algorithm") == (
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    )
    signed_props = properties.find("xades:SignedSignatureProperties", NS)
    digest = signed_props.findtext(
        "xades:SigningCertificate/xades:Cert/xades:CertDigest/ds:DigestValue", namespaces=NS
    )
    certificate_der = pki.cert.public_bytes(serialization.Encoding.DER)
    assert base64.b64decode(digest) == hashlib.sha256(certificate_der).digest()
    policy = signed_props.find("xades:SignaturePolicyIdentifier/xades:SignaturePolicyId", NS)
    assert policy.findtext("xades:SigPolicyId/xades:Identifier", namespaces=NS) == (
        "http://www.facturae.es/politica_de_firma_formato_facturae/"
        "politica_de_firma_formato_facturae_v3_1.pdf"
    )
    assert policy.find("xades:SigPolicyHash/ds:DigestMethod", NS).get("Algorithm") == (DS + "sha1")
    assert policy.findtext("xades:SigPolicyHash/ds:DigestValue", namespaces=NS) == (
        "Ohixl6upD6av8N7pEvDABhEL6hM="
    )
    assert signed_props.findtext("xades:SigningTime", namespaces=NS) == signed_at.isoformat()
    assert (
        signed_props.findtext(
            "xades:SignerRole/xades:ClaimedRoles/xades:ClaimedRole", namespaces=NS
        )
        == "emisor"
    )


def test_the_inbound_reader_reads_the_signed_file_as_signed(signed, invoice):
    (document,) = read_received(signed).documents

    assert (document.number, document.signed) == (invoice.number, True)


def test_our_verifier_names_the_signer_and_the_signing_time(signed, signed_at):
    check = verify_signature(signed)

    assert (check.present, check.valid, check.problem) == (True, True, "")
    assert check.signer_nif == "B87654323"
    assert check.signer_name == "ESTUDIO SOL SL - B87654323"
    assert check.signing_time == signed_at


def test_a_tampered_amount_fails_both_verifiers(signed, invoice, tmp_path, pki):
    total = (
        f"<InvoiceTotal>{invoice.total_cents // 100}.{invoice.total_cents % 100:02d}</InvoiceTotal>"
    )
    assert total.encode() in signed
    tampered = signed.replace(total.encode(), b"<InvoiceTotal>1.00</InvoiceTotal>")

    check = verify_signature(tampered)

    assert (check.present, check.valid) == (True, False)
    assert "modificado" in check.problem
    assert xmlsec.verify_xml(tampered.decode(), tmp_path, trusted=[pki.ca_pem]) is not None


def test_a_signature_under_another_policy_is_not_valid(invoice, certificate, monkeypatch):
    from einvoice import signing
    from verifactu.signing import AGE_POLICY

    monkeypatch.setattr(signing, "FACTURAE_POLICY", AGE_POLICY)
    other = signing.signed_facturae(invoice)
    monkeypatch.undo()

    assert FACTURAE_POLICY.Identifier not in other.content.decode()
    assert "política de firma de Facturae" in verify_signature(other.content).problem


def test_a_signature_without_a_policy_is_not_valid(invoice, pki):
    root = unsigned_tree(invoice)
    signed = sign_enveloped(root, root, pki.identity, policy=None, data_object_format=DATA_OBJECT)

    check = verify_signature(etree.tostring(signed))

    assert (check.present, check.valid) == (True, False)
    assert check.problem == "La firma no sigue la política de firma de Facturae 3.1."


def test_without_a_certificate_the_file_is_unsigned_and_says_so(invoice):
    facturae = signed_facturae(invoice)

    assert (facturae.signed, facturae.reason) == (False, UNSIGNED_NO_CERTIFICATE)
    assert validate_facturae(facturae.content).valid
    check = verify_signature(facturae.content)
    assert (check.present, check.valid) == (False, False)


def test_an_expired_certificate_does_not_sign(invoice, certificate):
    certificate.not_valid_after = timezone.now() - dt.timedelta(days=1)
    certificate.save(update_fields=["not_valid_after"])

    facturae = signed_facturae(invoice)

    assert not facturae.signed
    assert facturae.reason.startswith("sin firmar: el certificado del contribuyente caducó el ")
    assert b"Signature" not in facturae.content


def test_a_stored_certificate_that_no_longer_opens_leaves_the_file_unsigned(invoice, certificate):
    type(certificate).objects.filter(pk=certificate.pk).update(encrypted_data=b"not a token")

    facturae = signed_facturae(invoice)

    assert (facturae.signed, facturae.reason) == (
        False,
        "sin firmar: el certificado guardado del contribuyente no se abre",
    )


def test_a_certificate_of_another_nif_does_not_sign(account, taxpayer, invoice):
    other = Pki("OTRA SL - B12345674", nif="B12345674")
    store_certificate(account, other.p12(PASSWORD), PASSWORD, taxpayer=taxpayer)

    facturae = signed_facturae(invoice)

    assert not facturae.signed
    assert facturae.reason == (
        "sin firmar: el certificado del contribuyente es de B12345674, no de B87654323"
    )


def test_an_ec_certificate_does_not_sign_since_the_policy_asks_for_rsa(account, taxpayer, invoice):
    subject = [
        x509.NameAttribute(NameOID.COMMON_NAME, "ESTUDIO SOL SL"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, "IDCES-B87654323"),
    ]
    store_certificate(account, self_signed_p12(subject, PASSWORD, 30), PASSWORD, taxpayer=taxpayer)

    facturae = signed_facturae(invoice)

    assert not facturae.signed
    assert "RSA" in facturae.reason


def test_another_account_s_certificate_of_the_same_nif_is_not_used(other_account, invoice, pki):
    stranger = other_account.taxpayers.get()
    stranger.nif = "B87654323"
    stranger.save(update_fields=["nif"])
    store_certificate(other_account, pki.p12(PASSWORD), PASSWORD, taxpayer=stranger)

    assert signed_facturae(invoice).reason == UNSIGNED_NO_CERTIFICATE


def test_a_file_that_is_not_xml_has_no_signature_and_says_why():
    check = verify_signature(b"<Facturae")

    assert (check.present, check.valid) == (False, False)
    assert check.problem


def test_a_certificate_whose_identity_does_not_parse_is_an_invalid_signature_not_an_error(
    signed, monkeypatch
):
    from einvoice import signing

    def unreadable(certificate):
        raise ValueError("duplicate extension")

    monkeypatch.setattr(signing, "certificate_identity", unreadable)

    check = verify_signature(signed)

    assert check.present and not check.valid
    assert "no se lee" in check.problem
