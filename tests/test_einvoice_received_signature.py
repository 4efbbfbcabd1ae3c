"""A received Facturae's signature is verified at import and shown (issue 21, inbound).

``taxpayer`` (B87654323) signs with its test certificate and issues to Acme (A28045631), the
taxpayer of ``other_account``, which imports the file.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from einvoice.facturae import build_facturae
from einvoice.received import CREATED, import_upload
from einvoice.signing import signed_facturae
from factu.models import Membership, Role
from tests.conftest import make_user
from tests.test_einvoice_facturae import addresses  # noqa: F401 - the parties' addresses
from tests.test_signing import Pki
from verifactu.certificates import store_certificate

XML = "application/xml"


@pytest.fixture
def signed(account, taxpayer, draft, actor) -> bytes:
    from invoicing.services import issue_invoice

    pki = Pki("ESTUDIO SOL SL - B87654323", nif="B87654323")
    store_certificate(account, pki.p12("clave"), "clave", taxpayer=taxpayer)
    made = signed_facturae(issue_invoice(draft(), actor=actor))
    assert made.signed, made.reason
    return made.content


def received(account, data: bytes):
    (outcome,) = import_upload(account, data, XML, "factura.xml")
    assert outcome.status == CREATED, outcome.problems
    return outcome.invoice


def test_a_signed_facturae_is_imported_with_its_signature_verified_and_its_signer(
    signed, other_account
):
    invoice = received(other_account, signed)

    assert invoice.signature_present and invoice.signature_valid is True
    assert invoice.signature_signer.endswith("(B87654323)")
    assert invoice.signature_checked_at is not None and invoice.signature_detail == ""


def test_a_signed_facturae_altered_after_signing_is_imported_with_the_signature_invalid(
    signed, other_account, login
):
    # The seller's name is not checked by the official rules, so the file still imports.
    altered = signed.replace(b"Estudio Sol SL", b"Estudio Sal SL", 1)
    assert altered != signed

    invoice = received(other_account, altered)

    assert invoice.signature_present and invoice.signature_valid is False
    assert invoice.signature_detail
    member = make_user("compras@acme.es")
    Membership.objects.create(user=member, account=other_account, role=Role.OWNER)
    page = login(member).get(reverse("received_detail", args=[other_account.slug, invoice.pk]))
    assert "Firma no válida" in page.content.decode()


def test_an_unsigned_facturae_is_imported_as_unsigned(issued_plain, other_account):
    invoice = received(other_account, issued_plain)

    assert not invoice.signature_present and invoice.signature_valid is None


@pytest.fixture
def issued_plain(draft, actor) -> bytes:
    from invoicing.services import issue_invoice

    return build_facturae(issue_invoice(draft(), actor=actor))
