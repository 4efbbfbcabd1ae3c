"""Quotes (presupuestos): numbering per taxpayer, statuses and expiry, "convertir en factura",
the PDF without QR or VERI*FACTU legend, the pages, tenancy, and a chromium journey."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pypdfium2
import pytest
import zxingcpp
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from clients.services import create_client
from factu.celery import app as celery_app
from factu.models import Taxpayer
from invoicing import taxes
from invoicing.models import Invoice, InvoiceStatus, Series
from invoicing.services import Actor, DraftLine, InvalidTransition, cancel_invoice
from mailing.models import EmailDelivery
from quotes import sending, services
from quotes.documents import render_pdf
from quotes.models import Quote, QuoteStatus
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.mailing_helpers import pdf_attachment
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from tests.quotes import DAY, LINES
from tests.smtp import body


def url(account, name, *args):
    return reverse(name, args=[account.slug, *args])


# ---------------------------------------------------------------------------------------
# Numbering
# ---------------------------------------------------------------------------------------


def test_quote_numbers_are_consecutive_per_taxpayer_and_year(make_quote, account, actor):
    assert [make_quote().number for _ in range(3)] == ["P-2026-001", "P-2026-002", "P-2026-003"]
    assert make_quote(issue_date=date(2027, 1, 4)).number == "P-2027-001"
    other = Taxpayer.objects.create(account=account, nif="12345678Z", name="Ana Pérez")
    client = create_client(other, {"name": "Beta SL", "nif": "A28045631", "country": "ES"})
    first = services.create_quote(
        other, client=client, issue_date=DAY, valid_until=DAY, lines=LINES[:1], actor=actor
    )
    assert first.number == "P-2026-001"


def test_editing_a_quote_keeps_its_number_and_refuses_another_year(make_quote, actor, acme):
    quote = make_quote()
    services.update_quote(
        quote,
        client=acme,
        issue_date=DAY + timedelta(days=1),
        valid_until=DAY + timedelta(days=10),
        lines=LINES[:1],
        actor=actor,
    )
    quote.refresh_from_db()
    assert quote.number == "P-2026-001" and quote.lines.count() == 1
    with pytest.raises(ValidationError) as refused:
        services.update_quote(
            quote,
            client=acme,
            issue_date=date(2027, 1, 1),
            valid_until=date(2027, 2, 1),
            lines=LINES,
            actor=actor,
        )
    assert "issueDate" in refused.value.message_dict


QUOTER = (
    DJANGO_CHILD
    + """
from django.db import connections
from clients.models import Client
from invoicing.services import Actor, DraftLine
from quotes.services import create_quote

client = Client.objects.select_related("taxpayer").get(pk="{client}")
"""
    + AT_THE_STARTING_LINE
    + """
import datetime
for _ in range({n}):
    create_quote(client.taxpayer, client=client, issue_date=datetime.date(2026, 3, 13),
                 valid_until=datetime.date(2026, 4, 13), actor=Actor(),
                 lines=[DraftLine("Servicio", 100, 10000, "general")])
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_quotes_never_share_a_number(transactional_db, taxpayer, tmp_path):
    client = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    go = tmp_path / "go"
    writers, each = 6, 3
    run_together(go, [QUOTER.format(client=client.pk, go=go, n=each)] * writers)
    numbers = sorted(Quote.objects.values_list("number", flat=True))
    assert numbers == [f"P-2026-{n:03d}" for n in range(1, writers * each + 1)]


CONVERTER = (
    DJANGO_CHILD
    + """
from django.db import connections
from invoicing.models import Series
from invoicing.services import Actor, InvalidTransition
from quotes.models import Quote
from quotes.services import convert_to_invoice

quote = Quote.objects.get(pk="{quote}")
series = Series.objects.get(pk="{series}")
"""
    + AT_THE_STARTING_LINE
    + """
try:
    convert_to_invoice(quote, series=series, actor=Actor())
except InvalidTransition:
    pass
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_concurrent_conversions_of_one_quote_make_one_invoice(
    transactional_db, make_quote, series, tmp_path
):
    quote = make_quote(issue_date=timezone.localdate())
    go = tmp_path / "go"
    run_together(go, [CONVERTER.format(quote=quote.pk, series=series.pk, go=go)] * 4)
    invoice = Invoice.objects.get()
    quote.refresh_from_db()
    assert quote.invoice == invoice and quote.status == QuoteStatus.ACCEPTED
    assert quote.events.filter(action="converted").count() == 1


# ---------------------------------------------------------------------------------------
# Amounts: the invoice's arithmetic
# ---------------------------------------------------------------------------------------


def test_quote_totals_are_the_invoice_arithmetic_of_its_lines(make_quote):
    quote = make_quote()
    expected = taxes.compute_totals(
        [
            taxes.LineInput(
                quantity=line.quantity,
                unit_price=line.unit_price,
                iva_type=line.iva_type,
                cause=line.cause,
            )
            for line in LINES
        ],
        irpf_bp=1500,
    )
    assert quote.subtotal_cents == expected.subtotal_cents == 162475
    assert (quote.iva_cents, quote.irpf_cents) == (expected.iva_cents, expected.irpf_cents)
    assert quote.total_cents == expected.total_cents
    assert [line.amount_cents for line in quote.lines.all()] == list(expected.lines)
    assert quote.recomputed().groups == expected.groups


def test_a_quote_needs_a_client_of_its_taxpayer_lines_and_a_validity_after_its_date(
    taxpayer, actor, other_account, acme
):
    foreign = create_client(
        other_account.taxpayers.get(), {"name": "Ajeno SL", "nif": "B12345674", "country": "ES"}
    )
    cases = [
        ({"client": None}, "client"),
        ({"client": foreign}, "client"),
        ({"valid_until": DAY - timedelta(days=1)}, "validUntil"),
        ({"lines": []}, "lines"),
        ({"lines": [DraftLine("", 100, 100)]}, "lines.0.description"),
    ]
    for change, key in cases:
        fields = {"client": acme, "issue_date": DAY, "valid_until": DAY, "lines": LINES}
        with pytest.raises(ValidationError) as refused:
            services.create_quote(taxpayer, actor=actor, **{**fields, **change})
        assert key in refused.value.message_dict, change
    assert not Quote.objects.exists()


# ---------------------------------------------------------------------------------------
# Statuses
# ---------------------------------------------------------------------------------------


def test_a_quote_goes_from_draft_to_sent_to_accepted_or_rejected(make_quote, actor):
    today = DAY
    accepted = services.mark_sent(make_quote(), actor=actor, today=today)
    assert accepted.status == QuoteStatus.SENT and accepted.sent_at is not None
    accepted = services.accept_quote(accepted, actor=actor, today=today)
    assert accepted.status == QuoteStatus.ACCEPTED and accepted.answered_at is not None
    rejected = services.reject_quote(
        services.mark_sent(make_quote(), actor=actor, today=today), actor=actor, today=today
    )
    assert rejected.status == QuoteStatus.REJECTED
    assert [e.action for e in rejected.events.all()] == ["created", "sent", "rejected"]

    for done in (accepted, rejected):
        for action in (services.mark_sent, services.accept_quote, services.reject_quote):
            with pytest.raises(InvalidTransition):
                action(done, actor=actor, today=today)
    with pytest.raises(InvalidTransition):
        services.update_quote(
            accepted,
            client=accepted.client,
            issue_date=DAY,
            valid_until=DAY,
            lines=LINES,
            actor=actor,
        )


def test_a_quote_past_its_validity_cannot_be_marked_sent(make_quote, actor):
    quote = make_quote(valid_until=DAY)
    with pytest.raises(ValidationError) as refused:
        services.mark_sent(quote, actor=actor, today=DAY + timedelta(days=1))
    assert "validUntil" in refused.value.message_dict
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT


def test_a_sent_quote_past_its_validity_is_expired_before_and_after_the_task(
    make_quote, actor, series
):
    quote = services.mark_sent(make_quote(valid_until=DAY), actor=actor, today=DAY)
    later = make_quote(valid_until=DAY + timedelta(days=5))
    services.mark_sent(later, actor=actor, today=DAY)
    next_day = DAY + timedelta(days=1)

    # Before the task has run: shown, filtered and refused as expired.
    assert quote.status_on(DAY) == QuoteStatus.SENT
    assert quote.status_on(next_day) == QuoteStatus.EXPIRED
    everything = Quote.objects.all()
    assert list(services.with_status(everything, QuoteStatus.EXPIRED, next_day)) == [quote]
    assert list(services.with_status(everything, QuoteStatus.SENT, next_day)) == [later]
    with pytest.raises(InvalidTransition):
        services.accept_quote(quote, actor=actor, today=next_day)
    with pytest.raises(InvalidTransition):
        services.convert_to_invoice(quote, series=series, actor=actor, issue_date=next_day)

    # The task stores it, once, with its history row.
    assert services.expire_quotes(next_day) == 1
    assert services.expire_quotes(next_day) == 0
    quote.refresh_from_db()
    later.refresh_from_db()
    assert (quote.status, later.status) == (QuoteStatus.EXPIRED, QuoteStatus.SENT)
    assert [e.action for e in quote.events.all()] == ["created", "sent", "expired"]
    assert quote.events.last().actor == "Sistema"


def test_beat_runs_the_registered_expiry_task():
    schedule = settings.CELERY_BEAT_SCHEDULE["quotes-expire"]
    assert schedule["task"] == "quotes.expire"
    celery_app.loader.import_default_modules()
    assert "quotes.expire" in celery_app.tasks


# ---------------------------------------------------------------------------------------
# Convertir en factura
# ---------------------------------------------------------------------------------------


def test_conversion_keeps_client_lines_and_totals_and_accepts_the_quote(
    make_quote, series, actor, acme
):
    quote = services.mark_sent(make_quote(), actor=actor, today=DAY)
    invoice = services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)

    assert invoice.status == InvoiceStatus.DRAFT and invoice.series == series
    assert invoice.client == acme and invoice.irpf_bp == quote.irpf_bp
    fields = ("description", "quantity", "unit_price_cents", "iva_type", "cause", "amount_cents")
    assert [tuple(getattr(line, f) for f in fields) for line in invoice.lines.all()] == [
        tuple(getattr(line, f) for f in fields) for line in quote.lines.all()
    ]
    amounts = ("subtotal_cents", "iva_cents", "surcharge_cents", "irpf_cents", "total_cents")
    assert [getattr(invoice, a) for a in amounts] == [getattr(quote, a) for a in amounts]

    quote.refresh_from_db()
    assert quote.invoice == invoice and quote.status == QuoteStatus.ACCEPTED
    assert quote.events.last().action == "converted"
    assert invoice.events.get().action == "created"


def test_a_quote_is_converted_once(make_quote, series, actor):
    quote = make_quote()
    services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)
    with pytest.raises(InvalidTransition):
        services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)
    assert Invoice.objects.count() == 1


def test_a_quote_whose_invoice_draft_was_discarded_converts_again(make_quote, series, actor):
    quote = make_quote()
    discarded = services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)
    cancel_invoice(discarded, actor=actor)
    quote.refresh_from_db()
    assert not quote.is_invoiced

    again = services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)

    quote.refresh_from_db()
    assert quote.invoice == again and again.is_draft and quote.is_invoiced
    discarded.refresh_from_db()
    assert discarded.is_discarded_draft and not hasattr(discarded, "quote")
    with pytest.raises(InvalidTransition):
        services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)


def test_conversion_refuses_a_rectifying_or_foreign_series(
    make_quote, actor, rect_series, other_account
):
    quote = make_quote()
    foreign = Series.objects.create(
        account=other_account, taxpayer=other_account.taxpayers.get(), code="X"
    )
    for series in (rect_series, foreign):
        with pytest.raises(ValidationError):
            services.convert_to_invoice(quote, series=series, actor=actor, issue_date=DAY)
    assert not Invoice.objects.exists()


# ---------------------------------------------------------------------------------------
# The PDF
# ---------------------------------------------------------------------------------------


def test_the_quote_pdf_has_no_qr_and_no_verifactu_legend(make_quote, taxpayer):
    assert taxpayer.verifactu_mode == Taxpayer.VerifactuMode.VERIFACTU
    quote = make_quote(notes="Precios válidos 30 días.")
    filename, mimetype, data = render_pdf(quote)
    assert (filename, mimetype) == ("presupuesto-P-2026-001.pdf", "application/pdf")
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    for shown in ("Presupuesto", "P-2026-001", "Válido hasta: 12/04/2026", "Acme SL"):
        assert shown in text, shown
    assert taxes.format_euros(quote.total_cents) in text
    for absent in ("QR tributario", "VERI*FACTU", "AEAT", "Factura"):
        assert absent not in text, absent
    document = pypdfium2.PdfDocument(data)
    try:
        image = document[0].render(scale=200 / 72).to_pil().convert("L")
    finally:
        document.close()
    assert zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode) == []


# ---------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------


def quote_form(client_pk, lines, **header):
    data = {
        "client": str(client_pk),
        "issue_date": DAY.isoformat(),
        "valid_until": (DAY + timedelta(days=30)).isoformat(),
        "irpf_rate": "15",
        "notes": "",
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
    }
    for i, line in enumerate(lines):
        row = {"quantity": "1", "discount": "", "iva_type": "general", "cause": "", **line}
        for key, value in row.items():
            data[f"lines-{i}-{key}"] = value
    data.update(header)
    return data


def test_the_list_shows_an_empty_state_then_quotes_filtered_by_status(
    login, owner, account, make_quote, actor
):
    client = login(owner)
    empty = client.get(url(account, "quote_list")).content.decode()
    assert "aún no tiene presupuestos" in empty and "Nuevo presupuesto" in empty
    sent = services.mark_sent(make_quote(), actor=actor, today=DAY)
    make_quote()
    page_all = client.get(url(account, "quote_list")).content.decode()
    assert "P-2026-001" in page_all and "P-2026-002" in page_all
    only_drafts = client.get(url(account, "quote_list") + "?estado=draft").content.decode()
    assert "P-2026-002" in only_drafts and sent.number not in only_drafts
    none = client.get(url(account, "quote_list") + "?estado=rejected").content.decode()
    assert "Ningún presupuesto en este estado" in none


def test_a_quote_is_created_and_edited_through_its_form(login, owner, account, acme):
    client = login(owner)
    assert client.get(url(account, "quote_create")).status_code == 200
    bad = client.post(
        url(account, "quote_create"),
        quote_form(
            acme.pk, [{"description": "Web", "unit_price": "1.200,00"}], valid_until="2026-03-01"
        ),
    )
    assert bad.status_code == 400
    assert "La validez no puede acabar antes" in bad.content.decode()
    response = client.post(
        url(account, "quote_create"),
        quote_form(acme.pk, [{"description": "Web", "unit_price": "1.200,00"}]),
    )
    quote = Quote.objects.get()
    assert response["Location"] == url(account, "quote_detail", quote.pk)
    assert (quote.number, quote.total_cents) == ("P-2026-001", 127200)

    edit = client.post(
        url(account, "quote_edit", quote.pk),
        quote_form(acme.pk, [{"description": "Web", "unit_price": "1000"}], irpf_rate=""),
    )
    assert edit.status_code == 302
    quote.refresh_from_db()
    assert (quote.irpf_bp, quote.total_cents) == (0, 121000)
    detail = client.get(url(account, "quote_detail", quote.pk)).content.decode()
    assert "1.210,00 €" in detail and "Marcar como enviado" in detail


def test_the_status_actions_and_conversion_through_the_pages(
    login, owner, account, make_quote, series
):
    client = login(owner)
    quote = make_quote(issue_date=timezone.localdate())
    client.post(url(account, "quote_send", quote.pk))
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    converted = client.post(url(account, "quote_convert", quote.pk), {"series": series.pk})
    invoice = Invoice.objects.get()
    assert converted["Location"] == url(account, "invoice_detail", invoice.pk)
    again = client.post(url(account, "quote_convert", quote.pk), {"series": series.pk}, follow=True)
    assert "ya es una factura" in again.content.decode()
    assert Invoice.objects.count() == 1
    refused = client.post(url(account, "quote_reject", quote.pk), follow=True)
    assert "no puede pasar a rechazado" in refused.content.decode()
    pdf = client.get(url(account, "quote_pdf", quote.pk))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def _quote_urls(account, quote):
    return [url(account, name, quote.pk) for name in ("quote_detail", "quote_edit", "quote_pdf")]


def _post_urls(account, quote):
    names = (
        "quote_send",
        "quote_email",
        "quote_accept",
        "quote_reject",
        "quote_convert",
        "quote_edit",
    )
    return [url(account, name, quote.pk) for name in names]


def test_another_accounts_quote_is_404(
    login, accountant_elsewhere, outsider, other_account, account, make_quote, series
):
    quote = make_quote()
    client = login(accountant_elsewhere)
    for target in _quote_urls(other_account, quote) + _post_urls(other_account, quote):
        method = client.post if target in _post_urls(other_account, quote) else client.get
        assert method(target).status_code == 404, target
    for target in _quote_urls(account, quote):
        assert client.get(target).status_code == 404, target
    assert login(outsider).get(url(account, "quote_list")).status_code == 404
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT and not Invoice.objects.exists()


def test_a_viewer_sees_the_quote_but_cannot_act_on_it(login, viewer, account, make_quote):
    quote = make_quote()
    client = login(viewer)
    page_text = client.get(url(account, "quote_detail", quote.pk)).content.decode()
    assert "Convertir en factura" not in page_text and "Marcar como enviado" not in page_text
    assert "Enviar por correo" not in page_text
    for target in _post_urls(account, quote):
        assert client.post(target).status_code == 403, target
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT


# ---------------------------------------------------------------------------------------
# Sending by email: the page, the service over real SMTP, the API
# ---------------------------------------------------------------------------------------


def _valid_quote(make_quote):
    return make_quote(issue_date=timezone.localdate(), lines=LINES[:1], irpf_bp=0)


def test_the_email_form_starts_with_the_clients_email_and_the_quote_template(
    login, owner, account, make_quote
):
    quote = _valid_quote(make_quote)
    client = login(owner)
    detail = client.get(url(account, "quote_detail", quote.pk)).content.decode()
    assert url(account, "quote_email", quote.pk) in detail and "Enviar por correo" in detail
    html = client.get(url(account, "quote_email", quote.pk)).content.decode()
    assert 'value="billing@acme.es"' in html
    assert f"Presupuesto {quote.number} de Estudio Sol SL" in html
    assert "Le enviamos el presupuesto" in html and "1.452,00 €" in html


def test_an_emailed_quote_arrives_over_smtp_with_its_pdf_and_is_marked_sent(
    login,
    owner,
    account,
    make_quote,
    smtp_outbox,
    eager_celery,
    django_capture_on_commit_callbacks,
    settings,
):
    quote = _valid_quote(make_quote)
    client = login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(account, "quote_email", quote.pk),
            {
                "to": "billing@acme.es",
                "cc": "socio@acme.es",
                "subject": f"Presupuesto {quote.number}",
                "message": "Le adjunto el presupuesto.",
            },
        )
    assert response["Location"] == url(account, "quote_detail", quote.pk)
    [message] = smtp_outbox.wait_for("billing@acme.es")
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert (message["Reply-To"], message["Cc"]) == (owner.email, "socio@acme.es")
    assert message["Subject"] == f"Presupuesto {quote.number}"
    assert body(message).startswith("Le adjunto el presupuesto.")
    filename, data = pdf_attachment(message)
    assert filename == f"presupuesto-{quote.number}.pdf"
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Presupuesto" in text and quote.number in text and "QR tributario" not in text
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT and quote.sent_at is not None
    event = quote.events.get(action=QuoteStatus.SENT)
    assert event.detail["to"] == "billing@acme.es"
    history = client.get(url(account, "quote_detail", quote.pk)).content.decode()
    assert "Enviado por correo a billing@acme.es, socio@acme.es" in history
    assert 'data-delivery="sent"' in history and "Entregado el" in history


def test_a_refused_quote_email_shows_failed_with_its_error_on_the_quote(
    login,
    owner,
    account,
    make_quote,
    refusing_smtp,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    refusing_smtp("550 5.1.1 Mailbox unavailable")
    quote = _valid_quote(make_quote)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = sending.send_quote(
            quote, to="nadie@acme.es", subject="Presupuesto", message="Hola", actor=Actor(owner)
        )
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    history = login(owner).get(url(account, "quote_detail", quote.pk)).content.decode()
    assert 'data-delivery="failed"' in history and "Mailbox unavailable" in history


def test_only_a_draft_or_sent_quote_still_valid_is_emailed(make_quote, owner, actor):
    expired = make_quote()  # valid until 12/04/2026, long past
    with pytest.raises(InvalidTransition, match="validez ya ha pasado"):
        sending.send_quote(expired, to="a@b.es", subject="s", message="m", actor=actor)
    rejected = services.reject_quote(_valid_quote(make_quote), actor=actor)
    with pytest.raises(InvalidTransition, match="rechazado no se envía"):
        sending.send_quote(rejected, to="a@b.es", subject="s", message="m", actor=actor)
    assert not EmailDelivery.objects.exists()


def test_emailing_a_sent_quote_again_is_history_not_a_status(make_quote, actor):
    quote = services.mark_sent(_valid_quote(make_quote), actor=actor)
    sending.send_quote(quote, to="a@b.es", subject="s", message="m", actor=actor)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    actions = sorted(quote.events.values_list("action", flat=True))
    assert actions == ["created", "emailed", "sent"]
    assert quote.events.get(action="emailed").detail["to"] == "a@b.es"


QUOTE_SEND = "/api/quotes/{}/send"
EMAIL = {"to": "billing@acme.es", "subject": "Presupuesto", "message": "Hola"}


def test_api_quote_send_is_202_then_409_once_the_quote_is_answered(api_client, make_quote, actor):
    quote = _valid_quote(make_quote)
    response = api_client.post(QUOTE_SEND.format(quote.pk), EMAIL, content_type="application/json")
    assert response.status_code == 202, response.content
    data = response.json()
    assert (data["to"], data["status"]) == ("billing@acme.es", "queued")
    assert EmailDelivery.objects.get(pk=data["id"]).kind == "quote"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.SENT
    services.accept_quote(quote, actor=actor)
    refused = api_client.post(QUOTE_SEND.format(quote.pk), EMAIL, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


def test_api_quote_send_fields_tenancy_and_hourly_limit(
    api_client, client, make_quote, other_account, accountant_elsewhere, settings
):
    from api.services import create_token

    quote = _valid_quote(make_quote)
    bad = api_client.post(
        QUOTE_SEND.format(quote.pk),
        {"to": "billing@acme.es", "subject": "a\r\nBcc: x@y.es", "message": "m"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["error"]["fields"]) == {"subject"}
    missing = api_client.post(QUOTE_SEND.format(quote.pk), {}, content_type="application/json")
    assert set(missing.json()["error"]["fields"]) == {"to", "subject", "message"}
    _, raw = create_token(other_account, accountant_elsewhere, "elsewhere")
    foreign = client.post(
        QUOTE_SEND.format(quote.pk),
        EMAIL,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert foreign.status_code == 404
    settings.MAILING_HOURLY_LIMIT = 1
    assert (
        api_client.post(QUOTE_SEND.format(quote.pk), EMAIL, content_type="application/json")
    ).status_code == 202
    limited = api_client.post(QUOTE_SEND.format(quote.pk), EMAIL, content_type="application/json")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1


def test_the_schema_documents_the_quote_send_operation():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/quotes/{quote_id}/send"]["post"]
    assert {"202", "400", "404", "409", "429"} <= set(operation["responses"])
    assert operation["operationId"] == "account_quote_send"


# ---------------------------------------------------------------------------------------
# In chromium: quote → invoice
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_journey_from_a_quote_to_an_invoice(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    account,
    series,
    acme,
):
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}{url(account, 'quote_list')}")
    page.get_by_text("aún no tiene presupuestos").wait_for()
    page.get_by_role("navigation", name="Navegación principal").get_by_role(
        "link", name="Presupuestos"
    ).wait_for()
    page.get_by_role("link", name="Nuevo presupuesto").first.click()
    page.get_by_label("Cliente").select_option(str(acme.pk))
    page.locator("#id_lines-0-description").fill("Diseño de la web")
    page.locator("#id_lines-0-unit_price").fill("1.200,00")
    page.get_by_label("Retención IRPF (%)").fill("15")
    page.locator('#totals [data-total="total"]').filter(has_text="1.272,00 €").wait_for()
    screenshot(page, "quote-form")
    page.get_by_role("button", name="Guardar presupuesto").click()
    page.get_by_text("Presupuesto P-").first.wait_for()
    quote = Quote.objects.get()

    page.get_by_role("button", name="Marcar como enviado").click()
    page.locator('[data-status="sent"]').first.wait_for()
    screenshot(page, "quote-detail-sent")
    page.get_by_role("button", name="Convertir en factura").click()
    page.wait_for_url(lambda u: "/facturas/" in u)
    page.get_by_text("convertido en el borrador de factura").wait_for()
    invoice = Invoice.objects.get()
    assert page.locator('[data-total="total"]').inner_text() == "1.272,00 €"
    assert invoice.client == acme and invoice.total_cents == quote.total_cents == 127200
    page.get_by_text("Diseño de la web").first.wait_for()
    screenshot(page, "quote-converted-invoice")

    page.goto(f"{base}{url(account, 'quote_detail', quote.pk)}")
    page.locator('[data-status="accepted"]').first.wait_for()
    page.get_by_role("link", name=invoice.number).wait_for()
    assert page.get_by_role("button", name="Convertir en factura").count() == 0
    page.goto(f"{base}{url(account, 'quote_list')}?estado=accepted")
    page.locator('[data-status="accepted"]').first.wait_for()
    screenshot(page, "quote-list")
    page.set_viewport_size({"width": 390, "height": 844})
    for name in ("quote_list", "quote_create"):
        page.goto(f"{base}{url(account, name)}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        screenshot(page, f"{name.replace('_', '-')}-390")
    page.goto(f"{base}{url(account, 'quote_detail', quote.pk)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "quote-detail-390")


def test_the_demo_has_a_quote_in_each_status_once(db):
    from django.core.management import call_command

    call_command("seed_demo", stdout=io.StringIO())
    call_command("seed_demo", stdout=io.StringIO())
    taxpayer = Taxpayer.objects.get(account__slug="demo-autonomo")
    quotes = Quote.objects.filter(taxpayer=taxpayer)
    today = timezone.localdate()
    assert sorted(q.status_on(today) for q in quotes) == sorted(QuoteStatus.values)
