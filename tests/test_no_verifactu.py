"""NO VERI*FACTU mode: switching rules, kept (never flushed) records, QR/PDF, requerimientos."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from lxml import etree

from factu.models import Taxpayer
from tests.signers import drop_signature
from tests.test_pdf import decode, rasterise
from tests.test_signing import Pki
from verifactu import (
    aeat,
    envelopes,
    event_log,
    event_xml,
    modes,
    pacing,
    requerimiento,
    signing,
    submission,
    tasks,
)
from verifactu import xml as vxml
from verifactu.models import BillingRecord, Chain, EventRecord, RecordSignature, Submission
from verifactu.simulator.server import start_simulator

NO = Taxpayer.VerifactuMode.NO_VERIFACTU
VF = Taxpayer.VerifactuMode.VERIFACTU


@pytest.fixture(autouse=True)
def _signer(signing_certificate):
    """The taxpayer has a certificate that signs: NO VERI*FACTU requires one
    (tests/test_signing_at_birth.py covers the refusals without it)."""


def tipos(chain) -> list[str]:
    return list(
        EventRecord.objects.filter(chain=chain)
        .order_by("position")
        .values_list("tipo_evento", flat=True)
    )


def go_no_verifactu(taxpayer) -> None:
    result = modes.change_mode(taxpayer, NO)
    assert (result.mode, result.changed, result.scheduled) == (NO, True, False)


# --------------------------------------------------------------------------- switching rules


def test_without_verifactu_records_this_year_the_switch_is_immediate(taxpayer, register):
    go_no_verifactu(taxpayer)
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_mode == NO and taxpayer.verifactu_until is None
    record = register().record
    assert record.no_verifactu
    # The chain's event log opens with 01 (start of NO VERI*FACTU) with the first record.
    assert tipos(record.chain) == ["01"]
    assert event_log.no_verifactu_active(record.chain)


def test_verifactu_used_this_year_means_waiting_until_1_january(taxpayer, register):
    today = timezone.localdate()
    first = register().record  # a VERI*FACTU record generated this year
    assert not first.no_verifactu
    result = modes.change_mode(taxpayer, NO, today)
    assert (result.mode, result.scheduled) == (VF, True)
    assert result.effective_from == date(today.year + 1, 1, 1)
    assert "1/01" in result.message or "01/01" in result.message
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == (VF, date(today.year, 12, 31))
    # Until then records are still VERI*FACTU, and no event is logged.
    second = register(invoice_number="F-2026-043").record
    assert not second.no_verifactu and tipos(first.chain) == []
    assert not modes.apply_due_change(taxpayer, date(today.year, 12, 31))
    # On 1 January the switch happens and event 01 is logged on the taxpayer's chain.
    assert modes.apply_due_change(taxpayer, date(today.year + 1, 1, 1))
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == (NO, None)
    assert tipos(first.chain) == ["01"]


def test_asking_for_verifactu_again_cancels_the_scheduled_switch(taxpayer, register):
    register()
    modes.change_mode(taxpayer, NO)
    result = modes.change_mode(taxpayer, VF)
    assert (result.mode, result.changed, result.scheduled) == (VF, True, False)
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_until is None
    assert modes.apply_due_changes(timezone.localdate() + timedelta(days=400)) == 0


def test_verifactu_used_only_last_year_does_not_block(taxpayer, register):
    record = register().record
    last_year = timezone.now().replace(year=timezone.now().year - 1)
    BillingRecord.objects.filter(pk=record.pk).update(created_at=last_year)
    go_no_verifactu(taxpayer)
    assert tipos(record.chain) == ["01"]


def test_back_to_verifactu_at_any_time_logs_02(taxpayer, register):
    go_no_verifactu(taxpayer)
    kept = register().record
    result = modes.change_mode(taxpayer, VF, date(2026, 6, 15))
    assert (result.mode, result.effective_from) == (VF, date(2026, 6, 15))
    assert tipos(kept.chain) == ["01", "02"]
    assert not event_log.no_verifactu_active(kept.chain)
    sent = register(invoice_number="F-2026-043").record
    assert not sent.no_verifactu
    # Only the VERI*FACTU record is sendable: the kept one is never flushed, even now.
    assert list(pacing.sendable(sent.chain)) == [sent]
    # And NO VERI*FACTU again at once is refused this year: VERI*FACTU was used.
    assert modes.change_mode(taxpayer, NO).scheduled


def test_the_daily_task_applies_due_switches(taxpayer, register):
    register()
    modes.change_mode(taxpayer, NO)
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_until=date(2020, 12, 31))
    assert tasks.apply_mode_changes() == 1
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_mode == NO


def test_a_record_made_on_1_january_before_the_daily_task_is_already_no_verifactu(
    taxpayer, register, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    first = register(invoice_date=today).record
    assert modes.change_mode(taxpayer, NO, today).scheduled
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_until=today - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        record = register(invoice_number="F-2026-043", invoice_date=today).record
    assert record.no_verifactu and not first.no_verifactu
    assert tipos(record.chain) == ["01"]
    # After the commit, the taxpayer's row catches up, outside the chain's lock, once.
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == (NO, None)
    assert tipos(record.chain) == ["01"]


def test_a_registration_never_locks_the_taxpayer(taxpayer, register):
    """The lock order: a registration holds its chain and waits for nothing after it (the
    mode is derived from the switch date), even when a switch is due."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    register(invoice_date=today)
    Taxpayer.objects.filter(pk=taxpayer.pk).update(verifactu_until=today - timedelta(days=1))
    with CaptureQueriesContext(connection) as queries:
        assert register(invoice_number="F-2026-043", invoice_date=today).record.no_verifactu
    touching_taxpayer = [
        q["sql"]
        for q in queries
        if "factu_taxpayer" in q["sql"] and ("UPDATE" in q["sql"] or "FOR " in q["sql"])
    ]
    assert touching_taxpayer == []


def test_fecha_fin_verifactu_goes_in_the_envelopes_of_a_leaving_taxpayer(
    taxpayer, register, simulator
):
    record = register().record
    modes.change_mode(taxpayer, NO)
    assert submission.flush(record.chain_id).state == "sent"
    year = timezone.localdate().year
    request = Submission.objects.get().request_xml
    assert f"<FechaFinVeriFactu>31-12-{year}</FechaFinVeriFactu>" in request


# --------------------------------------------------------------------------- kept, signed


def test_no_verifactu_records_are_signed_and_never_flushed(taxpayer, register, simulator, pki):
    go_no_verifactu(taxpayer)
    records = [register(invoice_number=f"N-{i}").record for i in (1, 2)]
    chain = records[0].chain
    assert list(pacing.sendable(chain)) == []
    assert chain.pk not in submission.chains_due()
    assert pacing.schedule_flush(chain.pk) is False
    assert submission.flush(chain.pk).state == "idle"
    assert simulator.snapshot()["records"] == [] and not Submission.objects.exists()
    # Signed at birth (and the 01 event).
    assert RecordSignature.objects.count() == 3
    for record in records:
        signing.verify_record_signature(
            RecordSignature.objects.get(record=record).signed_xml, pki.ca_pem
        )


def test_a_verifactu_chain_is_still_due(register):
    record = register().record
    assert record.chain_id in submission.chains_due()


def test_factu_declares_it_is_not_only_verifactu(taxpayer):
    from invoicing.services import factu_computer_system
    from verifactu.sistema import sistema_informatico

    system = factu_computer_system(taxpayer)
    assert system.only_verifactu is False
    xml = sistema_informatico(system, multiple_taxpayers=False).to_xml()
    assert "<TipoUsoPosibleSoloVerifactu>N<" in xml


# --------------------------------------------------------------------------- QR and PDF


@pytest.fixture
def issued(taxpayer, owner):
    from clients.services import create_client
    from invoicing.models import Series
    from invoicing.services import Actor, DraftLine, create_draft, issue_invoice

    actor = Actor(user=owner)
    series = Series.objects.create(account=taxpayer.account, taxpayer=taxpayer, code="A")
    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})

    def _issue():
        draft = create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=date(2026, 3, 13),
            lines=[DraftLine("Consultoría", quantity=100, unit_price=100000, iva_type="general")],
            actor=actor,
        )
        return issue_invoice(draft, actor=actor)

    return _issue


def pdf_text_and_qr(invoice) -> tuple[str, list[str]]:
    from invoicing.documents import render_pdf

    _name, _mime, data = render_pdf(invoice)
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)
    image, _height = rasterise(data)
    return text, [code.text for code in decode(image)]


def test_no_verifactu_invoice_prints_the_no_verifactu_qr_without_the_legend(taxpayer, issued):
    go_no_verifactu(taxpayer)
    invoice = issued()
    url = invoice.fiscal_invoice.qr_url
    assert url.startswith("https://prewww2.aeat.es/wlpl/TIKE-CONT/ValidarQRNoVerifactu?nif=")
    assert "numserie=2026-A-001&fecha=13-03-2026&importe=1210.00" in url
    text, codes = pdf_text_and_qr(invoice)
    assert "QR tributario:" in text
    assert "VERI*FACTU" not in text and "Factura verificable" not in text
    assert codes == [url]
    # The QR follows the record's mode: switching back later does not change this invoice.
    modes.change_mode(taxpayer, VF)
    invoice.refresh_from_db()
    assert invoice.fiscal_invoice.qr_url == url
    assert "VERI*FACTU" not in pdf_text_and_qr(invoice)[0]


def test_verifactu_invoice_keeps_validar_qr_and_the_legend(taxpayer, issued):
    invoice = issued()
    text, codes = pdf_text_and_qr(invoice)
    assert codes == [invoice.fiscal_invoice.qr_url]
    assert "/ValidarQR?" in codes[0]
    assert "VERI*FACTU" in text


# --------------------------------------------------------------------------- requerimiento


@pytest.fixture
def kept(taxpayer, register):
    """Three NO VERI*FACTU records (March x2, April), signed at birth."""
    go_no_verifactu(taxpayer)
    records = [
        register(invoice_number="N-1", invoice_date=date(2026, 3, 2)).record,
        register(invoice_number="N-2", invoice_date=date(2026, 3, 20)).record,
        register(invoice_number="N-3", invoice_date=date(2026, 4, 5)).record,
    ]
    return records


def test_a_requerimiento_sends_exactly_the_requested_signed_records(taxpayer, kept, simulator, pki):
    result = requerimiento.send_requested(
        taxpayer, "REQ-2026-000001", date_from=date(2026, 3, 1), date_to=date(2026, 3, 31)
    )
    assert (result.sent, result.accepted, len(result.envelopes)) == (2, 2, 1)
    state = simulator.snapshot()
    received = state["requerimientos"]["REQ-2026-000001"]
    assert [r["num_serie"] for r in received] == ["N-1", "N-2"]
    # The simulator verified each XAdES signature before accepting the record.
    assert all(r["signed"] and r["estado"] == "Correcto" for r in received)
    assert [r["signature_error"] for r in received] == ["", ""]
    assert received[-1]["fin_requerimiento"] == "S"
    # Not registrations: the AEAT's VERI*FACTU holdings and chains are untouched.
    assert state["records"] == [] and state["chains"] == {}
    # The record as the AEAT reads it out of the envelope still verifies (URI="").
    for got, record in zip(received, kept, strict=False):
        verified = signing.verify_record_signature(got["raw_xml"], pki.ca_pem)
        assert etree.QName(verified.signed_xml).localname == "RegistroAlta"
        assert signing.signed_content(got["raw_xml"]) == etree.tostring(
            etree.fromstring(record.xml.encode()), method="c14n"
        )
    envelope = Submission.objects.get()
    assert envelope.endpoint.endswith("/RequerimientoSOAP")
    assert "<RefRequerimiento>REQ-2026-000001</RefRequerimiento>" in envelope.request_xml
    assert envelope.estado_envio == "Correcto" and envelope.csv
    # The records' own status is not touched, and nothing went to the normal endpoint.
    assert {r.status for r in BillingRecord.objects.all()} == {"queued"}


def test_requerimiento_by_invoice_numbers(taxpayer, kept, simulator):
    result = requerimiento.send_requested(taxpayer, "R-2", ["N-3"])
    assert result.invoice_numbers == ["N-3"]
    assert [r["num_serie"] for r in simulator.snapshot()["requerimientos"]["R-2"]] == ["N-3"]


def test_a_record_without_its_signature_is_refused_and_never_signed(
    taxpayer, kept, register, simulator
):
    victim = register(invoice_number="N-4", invoice_date=date(2026, 4, 6)).record
    drop_signature(victim)
    with pytest.raises(requerimiento.RequerimientoRefused) as refused:
        requerimiento.send_requested(taxpayer, "R-3", date_from=date(2026, 4, 1))
    assert [r.invoice_number for r in refused.value.records] == ["N-4"]
    assert "R-3" not in simulator.snapshot()["requerimientos"]
    assert not RecordSignature.objects.filter(record=victim).exists()


def test_a_record_whose_signed_copy_was_changed_is_refused_and_nothing_is_sent(
    taxpayer, kept, simulator
):
    """What goes to the AEAT is what the anomaly check would pass: a signed copy edited in
    the database (its signature no longer verifies) stops the whole answer."""
    from tests.tampering import Tamper, lift_guards

    victim = kept[1]
    lift_guards()
    Tamper().update(
        victim.signature,
        signed_xml=victim.signature.signed_xml.replace("<ImporteTotal>", "<ImporteTotal>1", 1),
    )
    with pytest.raises(requerimiento.RequerimientoRefused, match="does not verify") as refused:
        requerimiento.send_requested(taxpayer, "R-4", date_from=date(2026, 3, 1))
    assert [r.invoice_number for r in refused.value.records] == ["N-2"]
    assert "R-4" not in simulator.snapshot()["requerimientos"]


def test_requerimiento_refusals(taxpayer, kept, simulator):
    with pytest.raises(requerimiento.RequerimientoRefused):
        requerimiento.send_requested(taxpayer, "X" * 19)
    with pytest.raises(requerimiento.RequerimientoRefused):
        requerimiento.send_requested(taxpayer, "R", date_from=date(2027, 1, 1))


def test_records_batches_and_fin_requerimiento(taxpayer, kept, simulator, settings):
    settings.VERIFACTU_BATCH_SIZE = 2
    result = requerimiento.send_requested(taxpayer, "R-4")
    assert (result.sent, len(result.envelopes)) == (3, 2)
    fins = [r["fin_requerimiento"] for r in simulator.snapshot()["requerimientos"]["R-4"]]
    assert fins == ["N", "N", "S"]


def test_the_prefixed_envelope_would_break_the_signature(kept, pki):
    """Why the requerimiento envelope has no prefixes: inclusive C14N inherits xmlns:sfLR."""
    signed = kept[0].signature.signed_xml
    prefixed = envelopes.build_envelope(
        vxml.Obligado("Estudio Sol SL", "B87654323"), [signed], ref_requerimiento="R"
    )
    alta = etree.fromstring(prefixed).find(f".//{{{vxml.NS_SF}}}RegistroAlta")
    with pytest.raises(signing.SignatureProblem):
        signing.verify_record_signature(etree.tostring(alta), pki.ca_pem)
    plain = aeat.plain_soap_envelope(
        envelopes.build_requerimiento_envelope(
            vxml.Obligado("Estudio Sol SL", "B87654323"), [signed], ref_requerimiento="R"
        )
    )
    alta = etree.fromstring(plain).find(f".//{{{vxml.NS_SF}}}RegistroAlta")
    signing.verify_record_signature(etree.tostring(alta), pki.ca_pem)
    signing.independent_digest_check(alta)


def test_the_simulator_keeps_the_two_endpoints_apart(kept, simulator):
    signed = kept[0].signature.signed_xml
    obligado = vxml.Obligado("Estudio Sol SL", "B87654323")
    body = envelopes.build_requerimiento_envelope(obligado, [signed], ref_requerimiento="R")
    with aeat.AeatClient(simulator.url) as client, pytest.raises(aeat.AeatFault) as fault:
        client.send_requerimiento(body)
    assert fault.value.code == "4102"
    normal = envelopes.build_envelope(obligado, [kept[0].xml])
    with (
        aeat.AeatClient(simulator.requerimiento_url) as client,
        pytest.raises(aeat.AeatFault) as fault,
    ):
        client.send(normal)
    assert "RemisionRequerimiento" in fault.value.message
    assert simulator.snapshot()["records"] == []


def send_to(url: str, records: list[str], ref: str):
    body = envelopes.build_requerimiento_envelope(
        vxml.Obligado("Estudio Sol SL", "B87654323"), records, ref_requerimiento=ref
    )
    with aeat.AeatClient(url) as client:
        return client.send_requerimiento(body)


def test_the_simulator_rejects_a_record_tampered_after_signing(kept, simulator):
    good, victim = kept[0].signature.signed_xml, kept[1].signature.signed_xml
    tampered = victim.replace(
        "<DescripcionOperacion>Mantenimiento mensual<", "<DescripcionOperacion>Mantenimiento anual<"
    )
    assert tampered != victim
    # DescripcionOperacion is not hashed: the huella still matches, only the signature can tell.
    assert vxml.recompute_huella(vxml.parse_record(tampered)) == kept[1].huella
    answer = send_to(simulator.requerimiento_url, [good, tampered, kept[2].xml], "R-TAMPER")
    assert answer.estado_envio == "ParcialmenteCorrecto"
    assert [(line.numserie, line.estado, line.code) for line in answer.lines] == [
        ("N-1", "Correcto", ""),
        ("N-2", "Incorrecto", "1100"),
        ("N-3", "Incorrecto", "1100"),  # unsigned
    ]
    assert "ds:Signature: la firma no es válida" in answer.lines[1].description
    assert "no está firmado" in answer.lines[2].description
    received = simulator.snapshot()["requerimientos"]["R-TAMPER"]
    assert [r["estado"] for r in received] == ["Correcto", "Incorrecto", "Incorrecto"]
    assert received[0]["signature_error"] == "" and received[1]["signature_error"]


def test_a_simulator_given_a_ca_accepts_only_signatures_that_chain_to_it(kept, pki, tmp_path):
    records = [kept[0].signature.signed_xml]
    for name, ca_pem, estado in (
        ("ours", pki.ca_pem, "Correcto"),
        ("theirs", Pki().ca_pem, "Incorrecto"),
    ):
        ca_file = tmp_path / f"{name}.pem"
        ca_file.write_bytes(ca_pem)
        sim = start_simulator(wait_seconds=0, signature_ca=ca_file)
        try:
            answer = send_to(sim.requerimiento_url, records, f"R-{name}")
        finally:
            sim.stop()
        assert [line.estado for line in answer.lines] == [estado], answer.lines


def test_exports_and_xml_downloads_log_08(
    taxpayer, account, owner, issued, login, api_client, settings, tmp_path
):
    from transfers import services as transfer_services
    from transfers import tasks as transfer_tasks

    settings.MEDIA_ROOT = tmp_path
    go_no_verifactu(taxpayer)
    invoice = issued()
    record = invoice.fiscal_invoice.latest_record
    chain = record.chain
    assert tipos(chain) == ["01"]
    web = reverse("invoice_xml", args=[account.slug, invoice.pk])
    page = login(owner).get(web)  # a GET exports nothing: it offers the export button
    assert page.status_code == 200 and "Exportar y descargar" in page.content.decode()
    assert tipos(chain) == ["01"]
    response = login(owner).post(web)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    assert tipos(chain) == ["01", "08"]
    api = f"/api/v1/invoices/{invoice.fiscal_invoice_id}/xml"
    refused = api_client.get(api)
    assert refused.status_code == 405 and f"POST {api}" in refused.json()["message"]
    assert tipos(chain) == ["01", "08"]
    response = api_client.post(api)
    assert response.status_code == 200
    assert tipos(chain) == ["01", "08", "08"]
    job = transfer_services.start_export(account, taxpayer, owner, 2026, 1)
    transfer_tasks.export_zip(str(job.pk))
    job.refresh_from_db()
    assert job.status == job.Status.DONE, job.report
    assert tipos(chain) == ["01", "08", "08", "08"]
    zipped = EventRecord.objects.filter(chain=chain).order_by("position").last()
    assert "<FechaHoraHusoInicioPeriodoExport>2026-01-01T00:00:00+01:00<" in zipped.xml
    assert "<FechaHoraHusoFinPeriodoExport>2026-03-31T23:59:59+02:00<" in zipped.xml
    assert f"<Huella>{record.huella}</Huella>" in zipped.xml
    assert "<NumeroDeRegistrosFacturacionAltaExportados>1<" in zipped.xml
    assert event_xml.validate_evento(zipped.xml) == []
    # A quarter without invoices exports no record: nothing to log.
    job = transfer_services.start_export(account, taxpayer, owner, 2026, 2)
    transfer_tasks.export_zip(str(job.pk))
    assert tipos(chain) == ["01", "08", "08", "08"]


def test_xml_downloads_serve_the_signed_copy(
    taxpayer, account, owner, issued, login, api_client, pki
):
    go_no_verifactu(taxpayer)
    invoice = issued()
    record = BillingRecord.objects.get(pk=invoice.fiscal_invoice.latest_record.pk)
    web = reverse("invoice_xml", args=[account.slug, invoice.pk])
    api = f"/api/v1/invoices/{invoice.fiscal_invoice_id}/xml"
    for body in (login(owner).post(web).content, api_client.post(api).content):
        text = body.decode()
        assert "<ds:Signature" in text
        assert text.endswith(record.signature.signed_xml)
        signing.verify_record_signature(text.split("?>", 1)[-1].strip(), pki.ca_pem)


def test_the_settings_page_links_the_signed_event_log(
    login, owner, account, taxpayer, kept, pki, other_account
):
    client = login(owner)
    page = client.get(reverse("computer_systems", args=[account.slug])).content.decode()
    url = reverse("event_log_download", args=[account.slug, taxpayer.pk])
    assert f'action="{url}"' in page  # a form: the export is a POST
    chain = kept[0].chain
    offered = client.get(url)  # a GET exports nothing: it offers the button
    assert offered.status_code == 200 and "Exportar y descargar" in offered.content.decode()
    assert tipos(chain) == ["01"]
    response = client.post(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="eventos-B87654323.xml"'
    root = etree.fromstring(response.content)
    assert root.get("Exportados") == "1"
    signing.verify_record_signature(etree.tostring(root[0], with_tail=False), pki.ca_pem)
    assert tipos(chain) == ["01", "09"]  # the download is an export of the log
    theirs = other_account.taxpayers.get()
    assert client.post(url.replace(str(taxpayer.pk), str(theirs.pk))).status_code == 404


def test_management_command(taxpayer, kept, simulator):
    out = io.StringIO()
    call_command(
        "verifactu_requerimiento",
        "--taxpayer",
        taxpayer.nif,
        "--ref",
        "R-CMD",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        stdout=out,
    )
    assert "2 records sent" in out.getvalue()
    assert len(simulator.snapshot()["requerimientos"]["R-CMD"]) == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--taxpayer", "A28045631"], "No taxpayer with NIF"),
        (["--from", "2026-03-31", "--to", "2026-03-01"], "--from is after --to"),
        (["--from", "31/03/2026"], "Not a date"),
    ],
)
def test_management_command_refuses_what_it_cannot_answer(taxpayer, kept, arguments, message):
    base = {"--taxpayer": taxpayer.nif, "--ref": "R-BAD"}
    base.update(dict(zip(arguments[::2], arguments[1::2], strict=True)))
    with pytest.raises(CommandError, match=message):
        call_command("verifactu_requerimiento", *[x for pair in base.items() for x in pair])


def test_api_endpoint(taxpayer, kept, simulator, api_client):
    url = f"/api/v1/taxpayers/{taxpayer.nif}/requerimiento"
    response = api_client.post(
        url,
        {"ref": "R-API", "date_from": "2026-03-01", "date_to": "2026-03-31"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["data"]["sent"] == 2
    assert [r["num_serie"] for r in simulator.snapshot()["requerimientos"]["R-API"]] == [
        "N-1",
        "N-2",
    ]
    bad = api_client.post(url, {"ref": "X" * 19}, content_type="application/json")
    assert bad.status_code == 400
    none = api_client.post(
        url, {"ref": "R", "date_from": "2030-01-01"}, content_type="application/json"
    )
    assert none.status_code == 409
    assert (
        api_client.post(
            "/api/v1/taxpayers/A28045631/requerimiento",
            {"ref": "R"},
            content_type="application/json",
        ).status_code
        == 404
    )


# --------------------------------------------------------------------------- the form


def test_the_form_explains_the_rule_and_schedules_the_switch(
    login, owner, account, taxpayer, register
):
    register()
    client = login(owner)
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.id])
    page = client.get(url).content.decode()
    assert 'value="no_verifactu"' in page and "1 de enero" in page
    data = {"nif": taxpayer.nif, "name": taxpayer.name, "country": "ES", "default_irpf_bp": "0"}
    response = client.post(url, {**data, "verifactu_mode": "no_verifactu"})
    assert response.status_code == 302
    taxpayer.refresh_from_db()
    year = timezone.localdate().year
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == (VF, date(year, 12, 31))
    page = client.get(url).content.decode()
    assert f"31/12/{year}" in page
    # Saving other fields unchanged keeps the scheduled switch; choosing VERI*FACTU cancels it.
    client.post(url, {**data, "name": "Estudio Sol SLU", "verifactu_mode": "no_verifactu"})
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_until == date(year, 12, 31) and taxpayer.name == "Estudio Sol SLU"
    client.post(url, {**data, "verifactu_mode": "verifactu"})
    taxpayer.refresh_from_db()
    assert (taxpayer.verifactu_mode, taxpayer.verifactu_until) == (VF, None)


def test_the_form_switches_at_once_and_logs_the_events(login, owner, account, taxpayer, register):
    client = login(owner)
    url = reverse("taxpayer_edit", args=[account.slug, taxpayer.id])
    data = {"nif": taxpayer.nif, "name": taxpayer.name, "country": "ES", "default_irpf_bp": "0"}
    client.post(url, {**data, "verifactu_mode": "no_verifactu"})
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_mode == NO
    chain = register().record.chain
    client.post(url, {**data, "verifactu_mode": "verifactu"})
    taxpayer.refresh_from_db()
    assert taxpayer.verifactu_mode == VF
    assert tipos(Chain.objects.get(pk=chain.pk)) == ["01", "02"]


def test_the_database_guards_the_mode_of_a_record(register):
    from django.db import DatabaseError, transaction

    record = register().record
    with pytest.raises(DatabaseError), transaction.atomic():
        BillingRecord.objects.filter(pk=record.pk).update(no_verifactu=True)
