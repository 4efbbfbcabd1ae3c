"""Subsanación: correcting a record AEAT rejected or accepted with errors, lawfully.

The flags follow SPEC.md's table (Subsanación / rechazo) in every case, decided in one place
(:func:`verifactu.corrections.correction_for`); corrected data become a new immutable version
of the fiscal invoice; the number and the date never change; a change of the recipient's
identity or of amounts needs the statement that the delivered invoice carried them.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from desk import services as desk_services
from tests.browser import page  # noqa: F401 - the fixture
from tests.conftest import make_facts
from tests.test_verifactu_e2e import (  # noqa: F401 - fixtures of the real worker and simulator
    aeat_env,
    certs,
    run_worker,
    settled,
    simulator,
)
from verifactu import corrections
from verifactu.models import (
    BillingRecord,
    FiscalInvoice,
    FiscalInvoiceVersion,
    ImmutableRecordError,
    RecordStatus,
)


def answer(record: BillingRecord, status: str, code: str = "") -> None:
    """What the submission worker writes when AEAT answers ``record``."""
    BillingRecord.objects.filter(pk=record.pk).update(status=status, aeat_error_code=code)


def latest(invoice: FiscalInvoice) -> BillingRecord:
    return invoice.records.order_by("-position").first()


def post(api_client, invoice_id, body: dict):
    return api_client.post(
        f"/api/v1/invoices/{invoice_id}/subsanacion",
        json.dumps(body),
        content_type="application/json",
    )


# -- The one decision: which correction, with which flags ----------------------------------


def test_a_rejected_original_is_corrected_with_subsanacion_s_and_rechazo_previo_x(register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1100")
    fix = corrections.correction_for(registration.invoice)
    assert (fix.kind, fix.subsanacion, fix.rechazo_previo) == (corrections.SUBSANACION, "S", "X")


def test_an_original_accepted_with_errors_is_corrected_with_s_and_n(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2005")
    record = corrections.subsanar(registration.invoice)
    assert (record.subsanacion, record.rechazo_previo) == ("S", "N")
    assert "<RechazoPrevio>N</RechazoPrevio>" in record.xml


def test_a_rejected_subsanacion_of_an_original_aeat_holds_is_retried_with_s_and_s(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    first_fix = corrections.subsanar(registration.invoice)
    answer(first_fix, RecordStatus.REJECTED, "1100")
    again = corrections.retry(registration.invoice)
    assert (again.subsanacion, again.rechazo_previo) == ("S", "S")


def test_a_rejected_subsanacion_of_a_rejected_original_is_retried_with_s_and_x(register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1100")
    first_fix = corrections.retry(registration.invoice)
    answer(first_fix, RecordStatus.REJECTED, "1100")
    again = corrections.retry(registration.invoice)
    assert (again.subsanacion, again.rechazo_previo) == ("S", "X")


def test_a_failed_submission_is_resent_as_it_is(register):
    registration = register()
    answer(registration.record, RecordStatus.ERROR, "20009")
    fix = corrections.correction_for(registration.invoice)
    assert fix.kind == corrections.RESEND
    resent = corrections.retry(registration.invoice)
    assert resent.pk == registration.record.pk
    assert resent.status == RecordStatus.QUEUED


def test_a_rejected_anulacion_is_followed_by_a_new_one_with_rechazo_previo(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED)
    cancellation = corrections.cancel(registration.invoice)
    answer(cancellation, RecordStatus.REJECTED, "1100")
    fix = corrections.correction_for(registration.invoice)
    assert (fix.kind, fix.rechazo_previo, fix.sin_registro_previo) == (
        corrections.ANULACION,
        "S",
        "",
    )


@pytest.mark.parametrize("status", [RecordStatus.QUEUED, RecordStatus.ACCEPTED])
def test_nothing_corrects_a_record_on_its_way_or_accepted(register, status):
    registration = register()
    answer(registration.record, status)
    assert corrections.correction_for(registration.invoice) is None
    with pytest.raises(corrections.InvalidCorrection):
        corrections.subsanar(registration.invoice, make_facts(description="Otra"))


@pytest.mark.parametrize("code", ["1104", "1105", "1112", "1130", "1133", "1152"])
def test_a_rejected_number_or_date_is_never_subsanado(register, code):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, code)
    assert corrections.correction_for(registration.invoice).needs_new_invoice
    with pytest.raises(corrections.CorrectionRefused, match="cancel the invoice"):
        corrections.subsanar(registration.invoice)
    assert registration.invoice.records.count() == 1


# -- Versions ----------------------------------------------------------------------------


def test_corrected_data_become_a_new_version_linked_to_the_one_it_replaces(register, owner):
    registration = register()
    invoice = registration.invoice
    answer(registration.record, RecordStatus.REJECTED, "1239")
    record = corrections.subsanar(
        invoice,
        make_facts(recipient_name="Cliente Correcto SA"),
        reason="Nombre del cliente mal escrito",
        actor=corrections.Actor(user=owner),
    )
    invoice.refresh_from_db()
    assert invoice.version == 2
    assert invoice.recipient_name == "Cliente Correcto SA"
    first, second = corrections.versions(invoice)
    assert (first.number, first.record_id, first.facts["recipient_name"]) == (
        1,
        registration.record.pk,
        "Cliente SA",
    )
    assert (second.replaces_id, second.record_id, second.user, second.reason) == (
        first.pk,
        record.pk,
        owner,
        "Nombre del cliente mal escrito",
    )
    assert second.facts["recipient_name"] == "Cliente Correcto SA"
    assert "<NombreRazon>Cliente Correcto SA</NombreRazon>" in record.xml
    assert (record.subsanacion, record.rechazo_previo, record.record_type) == (
        "S",
        "X",
        BillingRecord.RecordType.CORRECTION,
    )


def test_a_version_is_never_changed_nor_deleted(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2000")
    corrections.subsanar(registration.invoice, make_facts(description="Otra"), reason="Texto")
    version = FiscalInvoiceVersion.objects.get(fiscal_invoice=registration.invoice, number=2)
    version.reason = "edited"
    with pytest.raises(ImmutableRecordError):
        version.save()
    with pytest.raises(ImmutableRecordError):
        version.delete()


def test_an_amount_change_needs_the_statement_that_the_delivered_invoice_carried_it(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2005")
    corrected = make_facts(
        breakdown=make_facts().breakdown[:1],
        total_amount=Decimal("605.00"),
        total_tax_amount=Decimal("105.00"),
    )
    with pytest.raises(corrections.CorrectionRefused, match="rectifying invoice"):
        corrections.subsanar(registration.invoice, corrected, reason="Total")
    assert registration.invoice.records.count() == 1
    assert not FiscalInvoiceVersion.objects.exists()
    record = corrections.subsanar(
        registration.invoice, corrected, reason="Total", matches_delivered_invoice=True
    )
    assert record.importe_total_text == "605.00"


def test_a_census_error_is_fixed_by_sending_the_same_nif_as_no_censado(register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    no_censado = make_facts(
        recipient_nif="", recipient_id="A28045631", recipient_id_type="07", recipient_country="ES"
    )
    record = corrections.subsanar(registration.invoice, no_censado, reason="No censado")
    assert "<IDType>07</IDType>" in record.xml


def test_a_correction_that_changes_nothing_is_refused(register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1100")
    with pytest.raises(corrections.CorrectionRefused, match="Nothing changes"):
        corrections.subsanar(registration.invoice, make_facts(), reason="Nada")


def test_corrected_data_that_break_aeat_rules_are_refused_before_chaining(register):
    from verifactu.records import RecordRefused

    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1100")
    with pytest.raises(RecordRefused):
        corrections.subsanar(
            registration.invoice, make_facts(recipient_nif="B00000000"), reason="NIF"
        )
    assert registration.invoice.records.count() == 1
    registration.invoice.refresh_from_db()
    assert registration.invoice.version == 1


# -- The v1 endpoint ---------------------------------------------------------------------


@pytest.fixture
def rejected(register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1239")
    return registration.invoice


def test_v1_subsanacion_chains_the_corrected_data_and_keeps_the_invoice_id(api_client, rejected):
    response = post(
        api_client,
        rejected.pk,
        {
            "reason": "NIF del cliente equivocado",
            "recipient_nif": "B87654323",
            "recipient_name": "Otro Cliente SL",
            "matches_delivered_invoice": True,
        },
    )
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["id"] == str(rejected.pk)
    assert (data["record_type"], data["aeat_status"]) == ("correction", "queued")
    record = latest(rejected)
    assert record.huella == data["hash"]
    assert (record.subsanacion, record.rechazo_previo) == ("S", "X")
    assert "<NIF>B87654323</NIF>" in record.xml

    detail = api_client.get(f"/api/v1/invoices/{rejected.pk}").json()["data"]
    assert (detail["recipient_nif"], detail["version"]) == ("B87654323", 2)
    assert [(v["version"], v["reason"], v["made_by"]) for v in detail["versions"]] == [
        (1, None, None),
        (2, "NIF del cliente equivocado", "Token de API «tests»"),
    ]
    listed = api_client.get("/api/v1/taxpayers/B87654323/invoices").json()["data"]
    assert [row["id"] for row in listed] == [str(rejected.pk)]


def test_v1_subsanacion_of_an_amount_without_the_statement_is_422(api_client, rejected):
    response = post(
        api_client,
        rejected.pk,
        {
            "reason": "Importe",
            "breakdown": [
                {"operation_type": "S1", "base_amount": 600, "tax_rate": 21, "tax_amount": 126}
            ],
            "total_amount": 726,
            "total_tax_amount": 126,
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert "rectifying invoice" in body["message"]
    assert "matches_delivered_invoice" in body["errors"]
    assert rejected.records.count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reason": "x", "invoice_number": "F-9"}, "invoice_number"),
        ({"reason": "x", "invoice_date": "2026-03-14"}, "invoice_date"),
        (
            {"reason": "x", "breakdown": [{"operation_type": "E1", "base_amount": 1}]},
            "total_amount",
        ),
        ({"description": "Sin motivo"}, "reason"),
        ({"reason": "x", "recipient_nif": "B00000001"}, "recipient_nif"),
    ],
)
def test_v1_subsanacion_bad_input_is_400_by_field(api_client, rejected, body, field):
    response = post(api_client, rejected.pk, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert rejected.records.count() == 1


def test_v1_subsanacion_that_changes_nothing_is_422(api_client, rejected):
    response = post(
        api_client, rejected.pk, {"reason": "Nada", "description": "Mantenimiento mensual"}
    )
    assert response.status_code == 422
    assert "Nothing changes" in response.json()["message"]


def test_v1_subsanacion_is_409_while_queued_accepted_or_cancelled(api_client, register):
    queued = register(invoice_number="Q-1").invoice
    accepted = register(invoice_number="Q-2")
    answer(accepted.record, RecordStatus.ACCEPTED)
    cancelled = register(invoice_number="Q-3")
    answer(cancelled.record, RecordStatus.ACCEPTED)
    corrections.cancel(cancelled.invoice)
    for invoice in (queued, accepted.invoice, cancelled.invoice):
        response = post(api_client, invoice.pk, {"reason": "x", "description": "Otra"})
        assert response.status_code == 409, invoice.invoice_number


def test_v1_subsanacion_of_another_accounts_invoice_is_404(api_client, other_account, db):
    from factu.models import Taxpayer
    from verifactu.models import ComputerSystem
    from verifactu.records import register_invoice

    theirs = register_invoice(
        account=other_account,
        taxpayer=Taxpayer.objects.get(account=other_account),
        system=ComputerSystem.objects.create(
            account=other_account,
            producer_name="P",
            producer_nif="B87654323",
            name="P",
            system_id="PP",
            version="1",
            installation_number="X-1",
        ),
        facts=make_facts(issuer_nif="A28045631", issuer_name="Cliente Ajeno SA"),
        source="api_v1",
    )
    answer(theirs.record, RecordStatus.REJECTED, "1100")
    response = post(api_client, theirs.invoice.pk, {"reason": "x", "description": "Otra"})
    assert response.status_code == 404
    assert theirs.invoice.records.count() == 1


def test_the_retry_endpoint_keeps_its_contract(api_client, rejected):
    response = api_client.post(f"/api/v1/invoices/{rejected.pk}/retry")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["aeat_status"], data["record_type"]) == ("queued", "correction")


# -- The PDF a client holds --------------------------------------------------------------


def test_the_pdf_keeps_the_issued_data_unless_the_client_already_had_the_corrected_ones(
    register,
):
    from invoicing.documents import document_for as document_for_fiscal_invoice

    registration = register()
    invoice = registration.invoice
    answer(registration.record, RecordStatus.REJECTED, "1239")
    first_fix = corrections.subsanar(
        invoice, make_facts(description="Mantenimiento de marzo"), reason="Descripción"
    )
    invoice.refresh_from_db()
    assert document_for_fiscal_invoice(invoice).lines[0].description == "Mantenimiento mensual"

    answer(first_fix, RecordStatus.REJECTED, "1239")
    corrections.subsanar(
        invoice,
        make_facts(description="Mantenimiento de marzo", recipient_name="Cliente Bien SA"),
        reason="Nombre",
        matches_delivered_invoice=True,
    )
    invoice.refresh_from_db()
    document = document_for_fiscal_invoice(invoice)
    assert document.client.name == "Cliente Bien SA"
    assert document.lines[0].description == "Mantenimiento de marzo"


# -- Against the AEAT simulator, with a real worker -----------------------------------------


@pytest.fixture
def e2e(run_worker, simulator):  # noqa: F811 - the imported fixtures
    run_worker()
    return simulator


@pytest.mark.slow
def test_a_data_rejection_is_corrected_through_the_api_and_accepted(e2e, register, api_client):
    e2e.reject("F-2026-042", 1239)
    registration = register()
    [rejected] = settled([registration.record])
    assert (rejected.status, rejected.aeat_error_code) == (RecordStatus.REJECTED, "1239")
    e2e.configure(reject={})
    response = post(
        api_client,
        registration.invoice.pk,
        {
            "reason": "El cliente era otra sociedad",
            "recipient_nif": "B87654323",
            "recipient_name": "Otro Cliente SL",
            "matches_delivered_invoice": True,
        },
    )
    assert response.status_code == 201, response.content
    fix = latest(registration.invoice)
    assert (fix.subsanacion, fix.rechazo_previo) == ("S", "X")
    [accepted] = settled([fix])
    assert accepted.status == RecordStatus.ACCEPTED
    assert "<NIF>B87654323</NIF>" in accepted.submission.request_xml


@pytest.mark.slow
def test_accepted_with_errors_2005_is_corrected_with_new_totals_and_accepted(
    e2e, register, api_client
):
    e2e.reject("F-2026-042", 2005)
    registration = register()
    [warned] = settled([registration.record])
    assert warned.status == RecordStatus.ACCEPTED_WITH_ERRORS
    e2e.configure(reject={})
    response = post(
        api_client,
        registration.invoice.pk,
        {
            "reason": "La segunda línea no existía",
            "breakdown": [
                {"operation_type": "S1", "base_amount": 500, "tax_rate": 21, "tax_amount": 105}
            ],
            "total_amount": 605,
            "total_tax_amount": 105,
            "matches_delivered_invoice": True,
        },
    )
    assert response.status_code == 201, response.content
    fix = latest(registration.invoice)
    assert (fix.subsanacion, fix.rechazo_previo, fix.importe_total_text) == ("S", "N", "605.00")
    [accepted] = settled([fix])
    assert accepted.status == RecordStatus.ACCEPTED
    held = [r for r in e2e.snapshot()["records"] if r["num_serie"] == "F-2026-042"]
    assert len(held) == 1


@pytest.mark.slow
def test_a_rejected_subsanacion_is_retried_with_the_flags_of_what_aeat_holds(e2e, register):
    e2e.reject("HELD-1", 2001)
    e2e.reject("GONE-1", 1100)
    held = register(invoice_number="HELD-1")
    gone = register(invoice_number="GONE-1")
    settled([held.record, gone.record])
    e2e.configure(reject={"HELD-1": 1100, "GONE-1": 1100})
    first = [corrections.subsanar(held.invoice), corrections.retry(gone.invoice)]
    assert {r.status for r in settled(first)} == {RecordStatus.REJECTED}
    e2e.configure(reject={})
    again = [corrections.retry(held.invoice), corrections.retry(gone.invoice)]
    assert [(r.subsanacion, r.rechazo_previo) for r in again] == [("S", "S"), ("S", "X")]
    assert {r.status for r in settled(again)} == {RecordStatus.ACCEPTED}


# -- The desk's correction page -----------------------------------------------------------


def correct_url(account, invoice) -> str:
    return f"/c/{account.slug}/mesa/{invoice.pk}/corregir/"


def form_data(invoice: FiscalInvoice, **changes) -> dict:
    """What the correction page posts when a person changes ``changes`` and nothing else."""
    initial, lines = desk_services.correction_initial(invoice)
    form = {**{k: "" if v is None else v for k, v in initial.items()}}
    form["total_amount"] = "825,00"
    form["total_tax_amount"] = "125,00"
    form.update({"linea-TOTAL_FORMS": len(lines), "linea-INITIAL_FORMS": len(lines)})
    form.update({"linea-MIN_NUM_FORMS": 1, "linea-MAX_NUM_FORMS": 12})
    shown = (
        {"base": "500,00", "rate": "21,00", "tax": "105,00"},
        {
            "base": "200,00",
            "rate": "10,00",
            "tax": "20,00",
        },
    )
    for i, (line, text) in enumerate(zip(lines, shown, strict=True)):
        for name in ("tax_type", "regime_type", "operation_type"):
            form[f"linea-{i}-{name}"] = line[name]
        for name, value in text.items():
            form[f"linea-{i}-{name}"] = value
    form.update(changes)
    return form


def test_the_desk_offers_to_correct_the_data_of_a_rejected_record(login, owner, account, rejected):
    desk = login(owner).get(f"/c/{account.slug}/mesa/").content.decode()
    assert correct_url(account, rejected) in desk
    form = login(owner).get(correct_url(account, rejected))
    assert form.status_code == 200
    text = form.content.decode()
    assert "RechazoPrevio=X" in text and 'value="Cliente SA"' in text


def test_the_desk_corrects_a_rejected_record_with_the_data_typed(login, owner, account, rejected):
    client = login(owner)
    response = client.post(
        correct_url(account, rejected),
        form_data(
            rejected,
            recipient_nif="B87654323",
            recipient_name="Otro Cliente SL",
            reason="El cliente era otra sociedad",
            matches_delivered_invoice="on",
        ),
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    record = latest(rejected)
    assert (record.subsanacion, record.rechazo_previo) == ("S", "X")
    assert "<NIF>B87654323</NIF>" in record.xml
    version = FiscalInvoiceVersion.objects.get(fiscal_invoice=rejected, number=2)
    assert (version.user, version.reason) == (owner, "El cliente era otra sociedad")
    shown = client.get(response.url).content.decode()
    assert "subsanación encadenada" in shown


def test_the_desk_refuses_an_amount_change_without_the_statement_in_spanish(
    login, owner, account, rejected
):
    response = login(owner).post(
        correct_url(account, rejected),
        form_data(
            rejected,
            **{"linea-0-base": "600,00", "linea-0-tax": "126,00"},
            total_amount="946,00",
            total_tax_amount="146,00",
            reason="Importe",
        ),
    )
    assert response.status_code == 400
    assert "emita una factura rectificativa" in response.content.decode()
    assert rejected.records.count() == 1


def test_the_desk_names_the_broken_rule_by_the_forms_words(login, owner, account, rejected):
    response = login(owner).post(
        correct_url(account, rejected),
        form_data(rejected, **{"linea-0-rate": "7,00"}, reason="Tipo"),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Línea 1 · Tipo %" in text and "AEAT 1124" in text
    assert rejected.records.count() == 1


def test_a_census_error_is_fixed_from_the_desk_as_no_censado(login, owner, account, register):
    registration = register()
    answer(registration.record, RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    invoice = registration.invoice
    response = login(owner).post(
        correct_url(account, invoice),
        form_data(invoice, no_censado="on", reason="NIF no censado"),
    )
    assert response.status_code == 302
    record = latest(invoice)
    assert "<IDType>07</IDType>" in record.xml and "<ID>A28045631</ID>" in record.xml
    assert (record.subsanacion, record.rechazo_previo) == ("S", "N")


def test_a_rejected_number_leads_the_desk_to_cancel_and_issue_anew(login, owner, account, register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1104")
    client = login(owner)
    desk = client.get(f"/c/{account.slug}/mesa/").content.decode()
    assert correct_url(account, registration.invoice) not in desk
    assert "emita una nueva" in desk
    shown = client.get(correct_url(account, registration.invoice)).content.decode()
    assert "no pueden cambiarse en una subsanación" in shown
    assert f"/mesa/{registration.invoice.pk}/anular/" in shown


def test_a_viewer_cannot_correct_and_another_account_gets_404(
    login, viewer, account, rejected, accountant_elsewhere, other_account
):
    assert login(viewer).get(correct_url(account, rejected)).status_code == 403
    elsewhere = login(accountant_elsewhere).get(
        f"/c/{other_account.slug}/mesa/{rejected.pk}/corregir/"
    )
    assert elsewhere.status_code == 404


@pytest.mark.slow
@pytest.mark.browser
def test_journey_an_accountant_corrects_the_data_of_a_rejected_record_in_the_browser(
    e2e,
    register,
    owner,
    account,
    live_server,
    page,  # noqa: F811 - the fixture
):
    from tests.browser import screenshot
    from tests.test_journeys import log_in

    e2e.reject("F-2026-042", 1239)
    registration = register()
    settled([registration.record])
    e2e.configure(reject={})

    log_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/c/{account.slug}/mesa/")
    row = page.locator("table.desk-inbox tr", has_text="F-2026-042")
    row.get_by_role("link", name="Corregir datos").click()
    page.get_by_label("NIF del cliente").fill("B87654323")
    page.get_by_label("Nombre del cliente").fill("Otro Cliente SL")
    page.get_by_label("Motivo de la corrección").fill("El cliente era otra sociedad")
    page.get_by_label("La factura entregada al cliente ya llevaba estos datos").check()
    screenshot(page, "subsanacion-desk-form")
    page.get_by_role("button", name="Subsanar con estos datos").click()
    page.get_by_text("F-2026-042: subsanación encadenada").wait_for()
    fix = latest(registration.invoice)
    [accepted] = settled([fix])
    assert (accepted.status, accepted.subsanacion, accepted.rechazo_previo) == (
        RecordStatus.ACCEPTED,
        "S",
        "X",
    )
    assert "<NIF>B87654323</NIF>" in accepted.xml
    page.reload()
    screenshot(page, "subsanacion-desk-after")


# -- An invoice issued in Factu ---------------------------------------------------------


@pytest.fixture
def factu_invoice(taxpayer, series, owner):
    from django.utils import timezone

    from clients.services import create_client
    from invoicing.services import Actor, DraftLine, create_draft, issue_invoice

    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    draft = create_draft(
        taxpayer,
        series=series,
        client=client,
        issue_date=timezone.localdate(),
        lines=[DraftLine("Consultoría", quantity=100, unit_price=50000)],
        actor=Actor(user=owner),
    )
    return issue_invoice(draft, actor=Actor(user=owner))


def test_the_invoice_page_offers_the_subsanacion_and_shows_the_versions(
    login, owner, account, factu_invoice
):
    fiscal = factu_invoice.fiscal_invoice
    answer(latest(fiscal), RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    client = login(owner)
    page_url = f"/c/{account.slug}/facturas/{factu_invoice.pk}/"
    assert correct_url(account, fiscal) in client.get(page_url).content.decode()

    _, lines = desk_services.correction_initial(fiscal)
    form = client.get(correct_url(account, fiscal)).content.decode()
    assert "se emitió en Factu" in form and 'name="total_amount"' in form and "disabled" in form
    data = {
        "linea-TOTAL_FORMS": len(lines),
        "linea-INITIAL_FORMS": len(lines),
        "no_censado": "on",
        "reason": "NIF no censado",
        "total_amount": "1,00",  # disabled: what is posted is ignored
    }
    response = client.post(correct_url(account, fiscal), data)
    assert response.status_code == 302, response.content.decode()[-2000:]
    record = latest(fiscal)
    assert "<IDType>07</IDType>" in record.xml
    assert record.importe_total_text == "605.00"
    shown = client.get(page_url).content.decode()
    assert "Versión 2" in shown and "«NIF no censado»" in shown
    factu_invoice.refresh_from_db()
    assert factu_invoice.total_cents == 60500


def test_the_bulk_resubmission_leaves_out_what_only_a_new_invoice_fixes(register):
    fixable = register(invoice_number="B-1")
    answer(fixable.record, RecordStatus.REJECTED, "1100")
    unfixable = register(invoice_number="B-2")
    answer(unfixable.record, RecordStatus.REJECTED, "1104")
    assert desk_services.resubmit_action(latest(fixable.invoice)) == desk_services.SUBSANAR
    assert desk_services.resubmit_action(latest(unfixable.invoice)) is None


def test_retry_refuses_a_rejection_of_the_number_naming_the_way_out(api_client, register):
    registration = register()
    answer(registration.record, RecordStatus.REJECTED, "1104")
    response = api_client.post(f"/api/v1/invoices/{registration.invoice.pk}/retry")
    assert response.status_code == 409
    assert "cancel the invoice and issue a new one" in response.json()["message"]
    assert registration.invoice.records.count() == 1


def test_a_subsanacion_keeps_what_the_body_leaves_out_down_to_the_cost_base(api_client, register):
    from verifactu.facts import BreakdownFacts

    registration = register(
        regime_types=("06",),
        breakdown=(
            BreakdownFacts(
                regime_type="06",
                base_amount=Decimal("100.00"),
                base_cost_amount=Decimal("80.00"),
                tax_rate=Decimal("21.00"),
                tax_amount=Decimal("16.80"),
            ),
        ),
        total_amount=Decimal("116.80"),
        total_tax_amount=Decimal("16.80"),
    )
    answer(registration.record, RecordStatus.REJECTED, "1239")
    response = post(
        api_client, registration.invoice.pk, {"reason": "Texto", "description": "Grupo IVA"}
    )
    assert response.status_code == 201, response.content
    record = latest(registration.invoice)
    assert "<BaseImponibleACoste>80.00</BaseImponibleACoste>" in record.xml
    assert "<DescripcionOperacion>Grupo IVA</DescripcionOperacion>" in record.xml


@pytest.mark.slow
@pytest.mark.browser
def test_the_correction_and_invoice_pages_fit_a_phone(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    rejected,
    factu_invoice,
):
    from tests.browser import screenshot
    from tests.test_journeys import log_in

    answer(latest(factu_invoice.fiscal_invoice), RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server.url, owner.email)
    page.goto(live_server.url + correct_url(account, rejected))
    page.get_by_label("NIF del cliente").fill("B00000001")
    page.get_by_label("Motivo de la corrección").fill("Prueba")
    page.get_by_role("button", name="Subsanar con estos datos").click()
    page.get_by_text("La AEAT rechazaría estos datos").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "subsanacion-desk-error-phone")
    page.goto(f"{live_server.url}/c/{account.slug}/facturas/{factu_invoice.pk}/")
    page.get_by_role("link", name="Subsanar el registro").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "subsanacion-invoice-phone")


def test_an_invoice_issued_in_factu_is_subsanado_only_in_what_it_does_not_say(
    api_client, factu_invoice
):
    fiscal = factu_invoice.fiscal_invoice
    answer(latest(fiscal), RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    refused = post(api_client, fiscal.pk, {"reason": "Texto", "description": "Otra cosa"})
    assert refused.status_code == 422
    assert "rectifying invoice" in refused.json()["message"]
    assert fiscal.records.count() == 1
    no_censado = {
        "reason": "NIF no censado",
        "recipient_nif": "",
        "recipient_id_type": "07",
        "recipient_id": fiscal.recipient_nif,
        "recipient_country": "ES",
    }
    assert post(api_client, fiscal.pk, no_censado).status_code == 201
    assert "<IDType>07</IDType>" in latest(fiscal).xml
