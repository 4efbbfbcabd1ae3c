"""Outbound e-invoices (issue 21): made once at issue, validated, stored and offered from the
invoice's page, the account API, the email and the gestoría ZIP; never made again.

Issuing runs the issue hooks after the commit; the hook queues the task that stores the
files (Celery in-process here, ``eager_celery``). Invoices issued without that (these tests'
other fixtures, whose transaction never commits) get theirs on the first request.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from django.urls import reverse
from lxml import etree

from clients.services import create_client
from einvoice import outbound
from einvoice.models import ImmutableEInvoice, IssuedEInvoice
from einvoice.signing import UNSIGNED_NO_CERTIFICATE
from einvoice.validation import validate_facturae, validate_ubl
from invoicing import einvoices
from invoicing.models import Series
from invoicing.registration import record_facts
from invoicing.services import DraftLine, create_draft, issue_invoice
from tests import xmlsec
from tests.invoices import ISSUE, exempt_sale_abroad, issued_refund
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from tests.test_einvoice_facturae import addresses  # noqa: F401 - the parties' addresses
from tests.test_signing import Pki
from verifactu import corrections
from verifactu.certificates import store_certificate
from verifactu.models import BillingRecord, RecordStatus

API = "/api/invoices/{}/{}"


def rows_of(invoice) -> dict[str, IssuedEInvoice]:
    return {row.format: row for row in IssuedEInvoice.objects.filter(invoice=invoice)}


@pytest.fixture
def ticket(taxpayer, actor):
    """An issued simplified invoice (F2) without a client."""
    f2 = Series.objects.create(
        account=taxpayer.account, taxpayer=taxpayer, code="T", kind=Series.Kind.SIMPLIFIED
    )
    draft = create_draft(
        taxpayer,
        series=f2,
        client=None,
        issue_date=ISSUE,
        actor=actor,
        lines=[DraftLine("Café", 200, 150, "reducido")],
    )
    return issue_invoice(draft, actor=actor)


# ---------------------------------------------------------------------------------------
# Made once, at issue
# ---------------------------------------------------------------------------------------


def test_issuing_stores_a_valid_ubl_and_an_unsigned_facturae_once_it_commits(
    draft, actor, eager_celery, django_capture_on_commit_callbacks
):
    invoice = draft()
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(invoice, actor=actor)
        assert not IssuedEInvoice.objects.exists()  # nothing before the commit

    rows = rows_of(invoice)
    assert set(rows) == {"ubl", "facturae"}
    ubl, facturae = bytes(rows["ubl"].content), bytes(rows["facturae"].content)
    assert validate_ubl(ubl).valid and validate_facturae(facturae).valid
    assert all(row.offered for row in rows.values())
    assert rows["ubl"].reason == ""
    assert rows["ubl"].sha256 == hashlib.sha256(ubl).hexdigest()
    assert rows["facturae"].signed is False
    assert rows["facturae"].reason == UNSIGNED_NO_CERTIFICATE
    assert rows["ubl"].filename == f"{invoice.number}.ubl.xml"
    assert rows["ubl"].account_id == invoice.account_id
    assert etree.fromstring(ubl).findtext("{*}ID") == invoice.number


def test_a_taxpayer_with_a_certificate_gets_its_stored_facturae_signed_and_verified_by_xmlsec1(
    draft, actor, account, taxpayer, eager_celery, django_capture_on_commit_callbacks, tmp_path
):
    pki = Pki("ESTUDIO SOL SL - B87654323", nif="B87654323")
    store_certificate(account, pki.p12("clave"), "clave", taxpayer=taxpayer)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(draft(), actor=actor)

    stored = rows_of(invoice)["facturae"]
    assert stored.offered and stored.signed and stored.reason == ""
    content = bytes(stored.content)
    assert validate_facturae(content).valid
    complaint = xmlsec.verify_xml(content.decode(), tmp_path, trusted=[pki.ca_pem])
    assert complaint is None, complaint
    assert einvoices.stored_file(invoice, "facturae").signed is True


def test_a_failing_issue_hook_never_undoes_the_issue(
    draft, actor, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(invoice):
        raise RuntimeError("broker down")

    monkeypatch.setattr(einvoices, "_issue_hooks", [broken])
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issue_invoice(draft(), actor=actor)

    invoice.refresh_from_db()
    assert invoice.is_issued and invoice.fiscal_invoice_id


def test_an_invoice_issued_before_gets_its_files_on_first_request_and_the_same_bytes_after(
    issued,
):
    assert not IssuedEInvoice.objects.filter(invoice=issued).exists()

    first = einvoices.stored_file(issued, "ubl")
    second = einvoices.stored_file(issued, "ubl")

    assert first is not None and first.content == second.content
    assert first.mimetype == "application/xml" and first.signed is None
    assert einvoices.stored_file(issued, "facturae").signed is False
    assert IssuedEInvoice.objects.filter(invoice=issued).count() == 2


def test_a_request_racing_another_keeps_the_row_stored_first(issued):
    late = outbound._made(issued, "ubl")  # made by a request that loses the race
    stored = outbound.stored_einvoice(issued, "ubl")

    kept = outbound._store(late)

    assert kept.pk == stored.pk
    assert IssuedEInvoice.objects.filter(invoice=issued, format="ubl").count() == 1


def test_a_stored_e_invoice_is_never_updated(issued):
    row = outbound.stored_einvoice(issued, "ubl")

    row.content = b"<otra/>"
    with pytest.raises(ImmutableEInvoice):
        row.save()
    with pytest.raises(ImmutableEInvoice):
        IssuedEInvoice.objects.filter(pk=row.pk).update(content=b"<otra/>")
    row.refresh_from_db()
    assert bytes(row.content) != b"<otra/>"


def test_a_stored_e_invoice_is_never_deleted(issued):
    row = outbound.stored_einvoice(issued, "ubl")

    with pytest.raises(ImmutableEInvoice):
        row.delete()
    with pytest.raises(ImmutableEInvoice):
        IssuedEInvoice.objects.filter(pk=row.pk).delete()
    assert IssuedEInvoice.objects.filter(pk=row.pk).exists()


def test_a_subsanacion_of_the_billing_record_does_not_make_the_files_again(issued, owner):
    before = {f: bytes(row.content) for f, row in outbound.stored_einvoices(issued).items()}
    fiscal = issued.fiscal_invoice
    BillingRecord.objects.filter(fiscal_invoice=fiscal).update(
        status=RecordStatus.ACCEPTED_WITH_ERRORS, aeat_error_code="2001"
    )
    facts = record_facts(issued, list(issued.lines.all()))
    no_censado = dataclasses.replace(
        facts,
        recipient_nif="",
        recipient_id=facts.recipient_nif,
        recipient_id_type="07",
        recipient_country="ES",
    )
    corrections.subsanar(
        fiscal, no_censado, reason="No censado", actor=corrections.Actor(user=owner)
    )
    fiscal.refresh_from_db()
    assert fiscal.version == 2

    after = {f: bytes(row.content) for f, row in outbound.stored_einvoices(issued).items()}
    assert after == before
    assert IssuedEInvoice.objects.filter(invoice=issued).count() == 2


def test_a_rectificativa_has_its_own_files_and_the_original_keeps_its_own(draft, actor, series):
    rect_series = Series.objects.create(
        account=series.account, taxpayer=series.taxpayer, code="R", kind=Series.Kind.RECTIFYING
    )
    original, refund = issued_refund(draft, actor, rect_series)
    original_ubl = einvoices.stored_file(original, "ubl").content

    refund_ubl = einvoices.stored_file(refund, "ubl").content

    assert etree.QName(etree.fromstring(refund_ubl)).localname == "CreditNote"
    assert einvoices.stored_file(original, "ubl").content == original_ubl
    assert validate_facturae(einvoices.stored_file(refund, "facturae").content).valid


# ---------------------------------------------------------------------------------------
# Not offered, with the reason
# ---------------------------------------------------------------------------------------


def test_a_simplified_invoice_has_no_e_invoice_and_says_why(ticket):
    rows = outbound.stored_einvoices(ticket)

    assert {f: r.offered for f, r in rows.items()} == {"ubl": False, "facturae": False}
    assert all("simplificada" in row.reason for row in rows.values())
    assert all(bytes(row.content) == b"" for row in rows.values())
    assert einvoices.stored_file(ticket, "ubl") is None


def test_a_client_without_a_peppol_address_gets_a_facturae_but_no_ubl(taxpayer, draft, actor):
    invoice = exempt_sale_abroad(taxpayer, draft, actor, "US", "03", "987654", "E2")

    rows = outbound.stored_einvoices(invoice)

    assert not rows["ubl"].offered and "Peppol" in rows["ubl"].reason
    assert rows["facturae"].offered


def test_a_file_the_rules_refuse_is_stored_not_offered_with_the_rules_named(issued, monkeypatch):
    monkeypatch.setattr(outbound, "facturae_content", lambda invoice: (b"<Facturae/>", False, ""))

    row = outbound.stored_einvoice(issued, "facturae")

    assert not row.offered
    assert row.reason.startswith("No supera la validación de Facturae 3.2.2")
    assert row.findings and row.findings[0]["rule"]
    assert einvoices.stored_file(issued, "facturae") is None


# ---------------------------------------------------------------------------------------
# The invoice's page
# ---------------------------------------------------------------------------------------


def test_the_invoice_page_offers_both_downloads_and_says_the_facturae_is_unsigned(
    issued, owner, login, client
):
    login(owner)
    page = client.get(reverse("invoice_detail", args=[issued.account.slug, issued.pk]))
    html = page.content.decode()

    assert "Factura electrónica" in html and "sin firmar" in html
    assert "El contribuyente no tiene certificado." in html
    for format in ("ubl", "facturae"):
        url = reverse("invoice_einvoice", args=[issued.account.slug, issued.pk, format])
        assert url in html
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/xml"
        assert f'filename="{issued.number}.{format}.xml"' in response["Content-Disposition"]
        assert response.content == einvoices.stored_file(issued, format).content


def test_a_draft_s_page_has_no_e_invoice_panel(draft, owner, login, client):
    invoice = draft()
    login(owner)
    page = client.get(reverse("invoice_detail", args=[invoice.account.slug, invoice.pk]))
    assert "Factura electrónica" not in page.content.decode()
    url = reverse("invoice_einvoice", args=[invoice.account.slug, invoice.pk, "ubl"])
    assert client.get(url).status_code == 404


def test_the_page_shows_why_an_e_invoice_is_not_offered(ticket, owner, login, client):
    login(owner)
    page = client.get(reverse("invoice_detail", args=[ticket.account.slug, ticket.pk]))
    html = page.content.decode()
    assert "No se ofrece factura electrónica" in html and "simplificada" in html
    assert reverse("invoice_einvoice", args=[ticket.account.slug, ticket.pk, "ubl"]) not in html


def test_another_account_s_e_invoice_does_not_exist(
    issued, other_account, accountant_elsewhere, login, client
):
    login(accountant_elsewhere)
    url = reverse("invoice_einvoice", args=[other_account.slug, issued.pk, "ubl"])
    assert client.get(url).status_code == 404


# ---------------------------------------------------------------------------------------
# The account API
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["ubl", "facturae"])
def test_api_gives_the_stored_file_as_an_xml_attachment(api_client, issued, format):
    response = api_client.get(API.format(issued.pk, format))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{issued.number}.{format}.xml"'
    )
    assert response.content == einvoices.stored_file(issued, format).content


def test_api_e_invoice_of_another_account_s_invoice_is_a_404(
    client, issued, other_account, accountant_elsewhere
):
    from api.services import create_token

    _, raw = create_token(other_account, accountant_elsewhere, "elsewhere")
    response = client.get(API.format(issued.pk, "ubl"), HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 404


def test_api_e_invoice_of_a_draft_is_a_409(api_client, draft):
    response = api_client.get(API.format(draft().pk, "facturae"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert "borrador" in response.json()["error"]["message"]


def test_api_e_invoice_not_offered_is_a_409_saying_why(api_client, ticket):
    response = api_client.get(API.format(ticket.pk, "ubl"))
    assert response.status_code == 409
    assert "simplificada" in response.json()["error"]["message"]


def test_the_schema_documents_both_downloads_as_xml():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for format in ("ubl", "facturae"):
        responses = paths[f"/api/invoices/{{invoice_id}}/{format}"]["get"]["responses"]
        assert list(responses["200"]["content"]) == ["application/xml"]
        assert {"404", "409"} <= set(responses)


# ---------------------------------------------------------------------------------------
# Email
# ---------------------------------------------------------------------------------------


def _email(invoice, owner, smtp_outbox, capture):
    from invoicing import sending
    from invoicing.services import Actor

    with capture(execute=True):
        sending.send_invoice(
            invoice,
            to="billing@acme.es",
            subject=f"Factura {invoice.number}",
            message="Adjunta.",
            actor=Actor(user=owner),
        )
    [message] = smtp_outbox.wait_for("billing@acme.es")
    return {part.get_filename(): part for part in message.iter_attachments()}


def test_the_email_carries_the_e_invoice_its_client_asks_for_beside_the_pdf(
    issued, owner, acme, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    acme.einvoice_format = "facturae"
    acme.save()

    parts = _email(issued, owner, smtp_outbox, django_capture_on_commit_callbacks)

    name = f"{issued.number}.facturae.xml"
    assert len(parts) == 2 and name in parts
    assert parts[name].get_content_type() == "application/xml"
    assert parts[name].get_content() == einvoices.stored_file(issued, "facturae").content


def test_the_email_of_a_client_who_asks_for_none_carries_only_the_pdf(
    issued, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    parts = _email(issued, owner, smtp_outbox, django_capture_on_commit_callbacks)

    assert [part.get_content_type() for part in parts.values()] == ["application/pdf"]


def test_a_format_not_offered_is_left_out_of_the_email(
    taxpayer, draft, actor, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    client = create_client(
        taxpayer,
        {
            "name": "Acme Inc",
            "country": "US",
            "id_type": "03",
            "foreign_id": "987654",
            "email": "billing@acme.es",
        },
    )
    client.einvoice_format = "ubl"
    client.save()
    line = DraftLine("Maquinaria", 100, 300000, "exento", cause="E2")
    invoice = issue_invoice(draft([line], client=client), actor=actor)

    parts = _email(invoice, owner, smtp_outbox, django_capture_on_commit_callbacks)

    assert [part.get_content_type() for part in parts.values()] == ["application/pdf"]


# ---------------------------------------------------------------------------------------
# Two processes asking at once (PostgreSQL)
# ---------------------------------------------------------------------------------------

FIRST_REQUEST = (
    DJANGO_CHILD
    + """
from django.db import connections
from einvoice import outbound
from invoicing.models import Invoice

invoice = Invoice.objects.get(pk="{invoice}")
"""
    + AT_THE_STARTING_LINE
    + """
rows = outbound.stored_einvoices(invoice)
with open("{out}-%d" % _os.getpid(), "w") as out:
    out.write(" ".join(rows[f].sha256 for f in ("ubl", "facturae")))
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_processes_asking_at_once_for_an_old_invoice_s_files_all_get_the_one_stored_row(
    transactional_db, draft, actor, tmp_path, monkeypatch
):
    monkeypatch.setattr(einvoices, "_issue_hooks", [])  # as if issued before einvoice
    invoice = issue_invoice(draft(), actor=actor)
    assert not IssuedEInvoice.objects.filter(invoice=invoice).exists()
    go, out = tmp_path / "go", tmp_path / "out"
    run_together(go, [FIRST_REQUEST.format(invoice=invoice.pk, go=go, out=out)] * 3)

    rows = rows_of(invoice)
    assert set(rows) == {"ubl", "facturae"}
    answers = {path.read_text() for path in tmp_path.glob("out-*")}
    assert answers == {f"{rows['ubl'].sha256} {rows['facturae'].sha256}"}
