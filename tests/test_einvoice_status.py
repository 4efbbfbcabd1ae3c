"""The B2B status lifecycle of issued invoices (issue 21, point 3): the client's answers
recorded through one service, the four-day clock, the invoice page's panel, the UBL
ApplicationResponse read and written, and the provisional report for the AEAT."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from einvoice import answers, reporting
from einvoice.answers import NotAnswerable, clock, plazo_label, record_client_answer
from einvoice.application_response import (
    STATUS_OF_CODE,
    ResponseParty,
    build_application_response,
    read_application_response,
    record_application_response,
)
from einvoice.models import AnswerSource, IssuedStatusEvent
from einvoice.status import B2BStatus
from einvoice.validation import validate_ubl
from invoicing.models import Payment
from invoicing.services import DraftLine, cancel_invoice, issue_invoice
from mailing.models import EmailDelivery, Kind

FIXTURES = Path(__file__).parent / "fixtures" / "einvoice"
UI = AnswerSource.UI


def noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


MARCH_16 = dt.date(2026, 3, 16)


def answer(invoice, actor, status, on=MARCH_16, **kwargs):
    return record_client_answer(
        invoice, status=status, actor=actor, source=UI, at=noon(on), **kwargs
    )


def field_errors(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


# -- The service: the sequence and its field errors -----------------------------------------


def test_received_accepted_and_paid_are_recorded_in_order(issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED)
    answer(issued, actor, B2BStatus.ACCEPTED, on=dt.date(2026, 3, 17))
    answer(
        issued,
        actor,
        B2BStatus.PAID,
        on=dt.date(2026, 4, 2),
        paid_on=dt.date(2026, 4, 2),
        paid_cents=issued.total_cents,
    )

    events = answers.history(issued)
    assert [e.status for e in events] == ["received", "accepted", "paid"]
    assert answers.current_status(events) == "paid"
    assert events[-1].paid_cents == 106000
    assert events[0].user == actor.user and events[0].source == "ui"


def test_a_rejection_needs_its_reason_in_spanish(issued, actor):
    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.REJECTED, reason="   ")

    assert field_errors(excinfo) == {"reason": ["Indique el motivo del rechazo."]}
    assert not IssuedStatusEvent.objects.exists()


def test_after_a_rejection_only_a_new_received_is_allowed(issued, actor):
    answer(issued, actor, B2BStatus.REJECTED, reason="Precio equivocado")

    for status in (B2BStatus.ACCEPTED, B2BStatus.REJECTED):
        with pytest.raises(ValidationError) as excinfo:
            answer(issued, actor, status, reason="otra vez")
        assert "solo puede constar de nuevo como recibida" in field_errors(excinfo)["status"][0]
    with pytest.raises(ValidationError):
        answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=100)

    answer(issued, actor, B2BStatus.RECEIVED, on=dt.date(2026, 3, 20))
    answer(issued, actor, B2BStatus.ACCEPTED, on=dt.date(2026, 3, 21))
    assert answers.current_status(answers.history(issued)) == "accepted"


def test_paid_needs_a_prior_received_or_accepted(issued, actor):
    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=1000)

    assert field_errors(excinfo)["status"] == [
        "Antes de pagada, la factura tiene que constar recibida o aceptada."
    ]


def test_an_accepted_invoice_is_not_rejected_afterwards(issued, actor):
    answer(issued, actor, B2BStatus.ACCEPTED)

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.REJECTED, reason="Me arrepiento")

    assert "emita una rectificativa" in field_errors(excinfo)["status"][0]


def test_paid_needs_date_and_a_positive_amount(issued, actor):
    answer(issued, actor, B2BStatus.ACCEPTED)

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.PAID)
    assert field_errors(excinfo) == {
        "paid_on": ["Indique la fecha de pago."],
        "paid_cents": ["Indique el importe pagado."],
    }
    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=0)
    assert field_errors(excinfo) == {"paid_cents": ["El importe pagado debe ser mayor que cero."]}


def test_paid_answers_never_add_up_to_more_than_the_total(issued, actor):
    answer(issued, actor, B2BStatus.ACCEPTED)
    answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=100000)

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=6001)
    assert field_errors(excinfo)["paid_cents"] == [
        "El importe pagado (60,01 €) supera lo que queda por pagar según el cliente "
        "(60,00 €; total de la factura 1.060,00 €)."
    ]

    answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=6000)
    assert answers.answered_paid_cents(answers.history(issued)) == issued.total_cents


def test_payment_fields_belong_to_paid_only(issued, actor):
    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.RECEIVED, paid_on=MARCH_16, paid_cents=5)

    assert set(field_errors(excinfo)) == {"paid_on", "paid_cents"}


def test_an_answer_dated_in_the_future_or_before_the_invoice_is_refused(issued, actor):
    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.RECEIVED, on=timezone.localdate() + dt.timedelta(1))
    assert field_errors(excinfo) == {"at": ["La fecha de la respuesta no puede ser futura."]}

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.RECEIVED, on=dt.date(2026, 3, 12))
    assert "anterior a la de la factura" in field_errors(excinfo)["at"][0]


def test_a_second_received_changes_nothing_and_is_refused(issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED)

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.RECEIVED)

    assert field_errors(excinfo) == {"status": ["La factura ya consta como recibida."]}


def test_drafts_cancelled_invoices_and_anonymous_buyers_take_no_answer(
    draft, issued, actor, taxpayer
):
    with pytest.raises(NotAnswerable, match="emitidas"):
        answer(draft(), actor, B2BStatus.RECEIVED)

    anonymous = issue_invoice(
        draft(client=None, invoice_type="F2", lines=[DraftLine("Café", 100, 150, "general")]),
        actor=actor,
    )
    with pytest.raises(NotAnswerable, match="destinatario identificado"):
        answer(anonymous, actor, B2BStatus.RECEIVED)

    cancel_invoice(issued, actor=actor, reason="Error")
    with pytest.raises(NotAnswerable, match="anulada"):
        answer(issued, actor, B2BStatus.RECEIVED)


def test_a_paid_answer_registers_no_payment(issued, actor):
    answer(issued, actor, B2BStatus.ACCEPTED)
    answer(issued, actor, B2BStatus.PAID, paid_on=MARCH_16, paid_cents=issued.total_cents)

    assert not Payment.objects.filter(invoice=issued).exists()
    issued.refresh_from_db()
    assert issued.status == "sent"


# -- The four-day clock ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "label"),
    [
        (4, "Quedan 4 días"),
        (2, "Quedan 2 días"),
        (1, "Queda 1 día"),
        (0, "Último día: hoy"),
        (-1, "Plazo vencido"),
    ],
)
def test_the_days_left_are_said_with_spanish_plurals(left, label):
    assert plazo_label(left) == label


def test_the_clock_runs_four_days_from_the_received_answer(issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED)
    events = answers.history(issued)

    on_day_two = clock(issued, events, dt.date(2026, 3, 18))
    assert (on_day_two.starts_on, on_day_two.deadline) == (MARCH_16, dt.date(2026, 3, 20))
    assert on_day_two.basis == "received"
    assert on_day_two.label == "Quedan 2 días"
    assert clock(issued, events, dt.date(2026, 3, 19)).label == "Queda 1 día"
    late = clock(issued, events, dt.date(2026, 3, 21))
    assert (late.label, late.tone) == ("Plazo vencido", "bad")


def test_the_clock_starts_at_the_email_before_the_client_confirms(issued, actor):
    assert clock(issued, [], dt.date(2026, 3, 14)).starts_on is None
    EmailDelivery.objects.create(
        account=issued.account,
        kind=Kind.INVOICE,
        object_id=issued.pk,
        to="billing@acme.es",
        subject="Factura",
        body="…",
        status=EmailDelivery.Status.SENT,
        sent_at=noon(dt.date(2026, 3, 14)),
    )

    started = clock(issued, [], dt.date(2026, 3, 15))
    assert (started.starts_on, started.basis, started.label) == (
        dt.date(2026, 3, 14),
        "sent",
        "Quedan 3 días",
    )


def test_an_answer_stops_the_clock_and_says_whether_it_came_in_time(issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED)
    answer(issued, actor, B2BStatus.REJECTED, on=dt.date(2026, 3, 21), reason="No es nuestra")

    stopped = clock(issued, answers.history(issued), dt.date(2026, 5, 1))
    assert stopped.label == "Rechazada el 21/03/2026, fuera de plazo."

    answer(issued, actor, B2BStatus.RECEIVED, on=dt.date(2026, 3, 25))
    again = clock(issued, answers.history(issued), dt.date(2026, 3, 26))
    assert (again.starts_on, again.label) == (dt.date(2026, 3, 25), "Quedan 3 días")


# -- UBL ApplicationResponse ----------------------------------------------------------------


def test_the_official_like_rejection_is_read_and_recorded_on_its_invoice(issued, actor):
    xml = (FIXTURES / "invoice-response-rejected.xml").read_bytes()

    event = record_application_response(issued.account_id, xml, actor=actor)

    assert event.invoice == issued
    assert (event.status, event.response_code, event.response_id) == (
        "rejected",
        "RE",
        "IR-ACME-2026-0042",
    )
    assert event.reason == "El precio no es el acordado en el pedido 4500012345."
    assert timezone.localdate(event.at) == MARCH_16
    assert event.source == "application_response"


def test_the_same_response_is_not_recorded_twice(issued, actor):
    xml = (FIXTURES / "invoice-response-rejected.xml").read_bytes()
    record_application_response(issued.account_id, xml, actor=actor)

    with pytest.raises(ValidationError, match="ya está registrada"):
        record_application_response(issued.account_id, xml, actor=actor)


def test_a_response_is_never_applied_to_another_accounts_invoice(issued, actor, other_account):
    xml = (FIXTURES / "invoice-response-rejected.xml").read_bytes()

    with pytest.raises(ValidationError) as excinfo:
        record_application_response(other_account.pk, xml, actor=actor)

    assert "no corresponde a esta cuenta" in excinfo.value.message_dict["file"][0]
    assert not IssuedStatusEvent.objects.exists()


def test_a_response_from_another_client_does_not_match(issued, actor):
    xml = (FIXTURES / "invoice-response-rejected.xml").read_bytes()
    forged = xml.replace(b"ESA28045631", b"ESB12345674")

    with pytest.raises(ValidationError, match="no corresponde a esta cuenta"):
        record_application_response(issued.account_id, forged, actor=actor)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda x: b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]>' + x[38:], "DTD"),
        (lambda x: x.replace(b"<cbc:ID>IR-ACME-2026-0042</cbc:ID>", b""), "esquema UBL 2.1"),
        (lambda x: x.replace(b">RE<", b">ZZ<"), "«ZZ» desconocido"),
        (lambda x: (FIXTURES / "peppol-base-example.xml").read_bytes(), "ApplicationResponse"),
        (lambda x: b"not xml", "XML bien formado"),
    ],
    ids=["dtd", "xsd", "code", "an-invoice", "not-xml"],
)
def test_a_bad_response_file_is_refused_with_a_spanish_reason(issued, actor, mutate, message):
    xml = mutate((FIXTURES / "invoice-response-rejected.xml").read_bytes())

    with pytest.raises(ValidationError) as excinfo:
        record_application_response(issued.account_id, xml, actor=actor)

    assert message in excinfo.value.message_dict["file"][0]


def response_for(invoice, status, response_id, **kwargs) -> bytes:
    return build_application_response(
        response_id=response_id,
        issued_on=dt.date(2026, 3, 16),
        sender=ResponseParty(invoice.client_nif, invoice.client_name),
        receiver=ResponseParty(invoice.issuer_nif, invoice.issuer_name),
        invoice_number=invoice.number,
        invoice_date=invoice.issue_date,
        status=status,
        **kwargs,
    )


def test_every_status_is_written_as_a_valid_response_and_read_back(issued, actor):
    for n, (status, extra) in enumerate(
        [
            (B2BStatus.RECEIVED, {}),
            (B2BStatus.ACCEPTED, {}),
            (B2BStatus.PAID, {"paid_on": dt.date(2026, 3, 16), "paid_cents": 106000}),
        ]
    ):
        xml = response_for(issued, status, f"R-{n}", **extra)
        assert validate_ubl(xml).valid
        assert read_application_response(xml).status == status
        record_application_response(issued.account_id, xml, actor=actor)

    events = answers.history(issued)
    assert [(e.status, e.response_code) for e in events] == [
        ("received", "AB"),
        ("accepted", "AP"),
        ("paid", "PD"),
    ]
    assert events[-1].paid_cents == issued.total_cents


def test_a_written_rejection_carries_its_reason_and_clarification_code(issued):
    xml = response_for(issued, B2BStatus.REJECTED, "R-9", reason="Pedido cancelado")

    read = read_application_response(xml)
    assert (read.code, read.reason_code, read.reason) == ("RE", "OTH", "Pedido cancelado")


def test_a_partial_payment_response_is_left_to_the_user(issued, actor):
    answer(issued, actor, B2BStatus.ACCEPTED)
    xml = response_for(
        issued, B2BStatus.PAID, "R-P", paid_on=MARCH_16, paid_cents=50000, partial=True
    )
    assert validate_ubl(xml).valid

    with pytest.raises(ValidationError, match="pago parcial"):
        record_application_response(issued.account_id, xml, actor=actor)


def test_the_response_codes_map_onto_the_four_statuses():
    assert STATUS_OF_CODE == {
        "AB": "received",
        "IP": "received",
        "UQ": "received",
        "CA": "accepted",
        "AP": "accepted",
        "RE": "rejected",
        "PD": "paid",
    }


# -- The provisional report -----------------------------------------------------------------


def test_the_provisional_export_is_labelled_and_holds_the_period(issued, actor, taxpayer):
    answer(issued, actor, B2BStatus.RECEIVED)
    answer(issued, actor, B2BStatus.REJECTED, on=dt.date(2026, 4, 2), reason="Precio")

    report = reporting.reporter().report(taxpayer, dt.date(2026, 3, 1), dt.date(2026, 3, 31))

    assert "PROVISIONAL-formato-no-oficial" in report.filename
    text = report.content.decode("utf-8-sig")
    lines = text.strip().split("\r\n")
    assert len(lines) == 2  # the header and March's answer only
    assert lines[1].startswith("PROVISIONAL, formato no oficial;B87654323;emitida;2026-A-001;")
    assert ";Recibida;16/03/2026 12:00;" in lines[1]


def test_a_second_source_adds_received_invoices_statuses(issued, actor, taxpayer):
    answer(issued, actor, B2BStatus.ACCEPTED)

    def received_side(tp, start, end):
        return [
            reporting.StatusRecord(
                direction=reporting.RECEIVED,
                invoice_number="F-77",
                invoice_date=dt.date(2026, 3, 1),
                counterpart_nif="B12345674",
                counterpart_name="Proveedor SL",
                status=B2BStatus.PAID,
                at=noon(dt.date(2026, 3, 2)),
                paid_on=dt.date(2026, 3, 2),
                paid_cents=12345,
            )
        ]

    reporting.register_source(received_side)
    try:
        records = reporting.status_records(taxpayer, dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    finally:
        reporting._sources.remove(received_side)

    assert [(r.direction, r.invoice_number) for r in records] == [
        ("recibida", "F-77"),
        ("emitida", "2026-A-001"),
    ]


# -- The invoice page -----------------------------------------------------------------------


def page(client, invoice):
    return client.get(reverse("invoice_detail", args=[invoice.account.slug, invoice.pk]))


def url_of(name, invoice, slug=None):
    return reverse(name, args=[slug or invoice.account.slug, invoice.pk])


def test_the_panel_shows_on_an_issued_b2b_invoice_and_not_on_a_draft(login, owner, issued, draft):
    client = login(owner)

    html = page(client, issued).content.decode()
    assert 'id="estado-electronica"' in html
    assert "El cliente aún no ha respondido" in html
    assert "data-b2b-answer-form" in html
    assert 'id="estado-electronica"' not in page(client, draft()).content.decode()


def test_the_panel_adds_no_id_the_invoice_page_already_has(login, owner, issued):
    html = page(login(owner), issued).content.decode()

    ids = re.findall(r'\sid="([^"]+)"', html)
    assert "b2b_paid_on" in ids
    assert sorted(i for i in set(ids) if ids.count(i) > 1) == []


def test_recording_an_answer_from_the_page(login, owner, issued):
    client = login(owner)
    url = url_of("einvoice_record_answer", issued)

    response = client.post(url, {"status": "received", "answered_on": "16/03/2026"})

    assert response.status_code == 302
    assert response["Location"].endswith(f"/facturas/{issued.pk}/#estado-electronica")
    html = page(client, issued).content.decode()
    assert "Recibida" in html and "Página de la factura" in html


def test_a_refused_answer_shows_the_page_again_with_the_error_on_its_field(login, owner, issued):
    client = login(owner)
    url = url_of("einvoice_record_answer", issued)

    response = client.post(url, {"status": "rejected", "answered_on": "16/03/2026"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="b2b_reason_error"' in html and "Indique el motivo del rechazo." in html
    assert not IssuedStatusEvent.objects.exists()


def upload(client, invoice, name: str):
    with (FIXTURES / name).open("rb") as file:
        return client.post(url_of("einvoice_upload_response", invoice), {"file": file})


def test_uploading_a_response_from_the_page(login, owner, issued):
    response = upload(login(owner), issued, "invoice-response-rejected.xml")

    assert response.status_code == 302
    assert IssuedStatusEvent.objects.get().status == "rejected"


def test_a_bad_upload_is_a_400_with_the_reason_on_the_file(login, owner, issued):
    response = upload(login(owner), issued, "peppol-base-example.xml")

    assert response.status_code == 400
    assert 'id="b2b_response_file_error"' in response.content.decode()


def test_another_accounts_invoice_is_a_404_and_a_viewer_cannot_answer(
    login, owner, viewer, issued, accountant_elsewhere
):
    url = url_of("einvoice_record_answer", issued)
    data = {"status": "received", "answered_on": "16/03/2026"}

    assert login(accountant_elsewhere).post(url, data).status_code == 404
    assert login(viewer).post(url, data).status_code == 403
    assert not IssuedStatusEvent.objects.exists()
    elsewhere = url_of("einvoice_record_answer", issued, slug="gestoria-ajena")
    assert login(accountant_elsewhere).post(elsewhere, data).status_code == 404


def test_the_report_page_lists_and_downloads_the_provisional_csv(login, owner, issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED)
    client = login(owner)
    url = reverse("einvoice_status_report", args=[issued.account.slug])

    listed = client.get(url, {"start": "2026-03-01", "end": "2026-03-31"})
    assert listed.status_code == 200
    assert "PROVISIONAL, formato no oficial" in listed.content.decode()
    assert "2026-A-001" in listed.content.decode()

    download = client.get(url, {"start": "2026-03-01", "end": "2026-03-31", "descargar": "1"})
    assert "PROVISIONAL-formato-no-oficial.csv" in download["Content-Disposition"]

    refused = client.get(url, {"start": "2026-03-31", "end": "2026-03-01"})
    assert refused.status_code == 400
    assert "no puede ser anterior a la inicial" in refused.content.decode()


def test_an_answer_dated_before_the_last_one_is_refused_so_the_order_holds(issued, actor):
    answer(issued, actor, B2BStatus.RECEIVED, on=dt.date(2026, 3, 17))

    with pytest.raises(ValidationError) as excinfo:
        answer(issued, actor, B2BStatus.ACCEPTED, on=MARCH_16)

    assert "17/03/2026" in excinfo.value.message_dict["at"][0]
    answer(issued, actor, B2BStatus.ACCEPTED, on=dt.date(2026, 3, 17))
    assert answers.current_status(answers.history(issued)) == B2BStatus.ACCEPTED


def test_an_answer_on_the_same_day_as_the_last_stays_after_it(issued, actor):
    record_client_answer(
        issued,
        status=B2BStatus.RECEIVED,
        actor=actor,
        source=UI,
        at=noon(MARCH_16) + dt.timedelta(hours=3),
    )
    answer(issued, actor, B2BStatus.ACCEPTED, on=MARCH_16)  # noon, before the 15:00 above

    assert answers.current_status(answers.history(issued)) == B2BStatus.ACCEPTED


def test_a_response_with_a_date_python_cannot_read_is_refused_not_a_500(issued, actor):
    xml = response_for(issued, B2BStatus.ACCEPTED, "R-YEAR")
    xml = xml.replace(
        b"<cbc:IssueDate>2026-03-16</cbc:IssueDate>",
        b"<cbc:IssueDate>12026-03-16</cbc:IssueDate>",
        1,
    )
    assert b"12026-03-16" in xml

    with pytest.raises(ValidationError) as excinfo:
        record_application_response(issued.account_id, xml, actor=actor)

    assert "fecha" in excinfo.value.message_dict["file"][0]
