"""Sending an invoice by email (issue 19, point 1): one email setting, a real SMTP conversation
on loopback with the PDF attached (its QR decodes), retries and visible failures, the hourly
limit, header injection refused, the account API's answers, the development outbox's tenancy,
and a person sending from the invoice page in chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse

from factu import env
from factu.branding import save_branding
from invoicing import sending
from invoicing.services import Actor, InvalidTransition
from mailing import texts
from mailing.models import EmailDelivery, EmailTemplate, Kind
from mailing.services import SendingLimitReached
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.mailing_helpers import pdf_attachment, qr_texts
from tests.smtp import body

SEND = "/api/invoices/{}/send"


def url(account, name, *args):
    return reverse(name, args=[account.slug, *args])


def lines(text: str) -> str:
    """A part's text with the line ends SMTP gave it (CRLF) as Python writes them."""
    return text.replace("\r\n", "\n")


def send(invoice, owner, **overrides):
    values = {
        "to": "billing@acme.es",
        "subject": f"Factura {invoice.number}",
        "message": "Adjunta la factura.",
        "actor": Actor(user=owner),
    }
    values.update(overrides)
    return sending.send_invoice(invoice, **values)


# ---------------------------------------------------------------------------------------
# EMAIL_URL, the one setting
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "smtp://user:p%40ss@mail.example.com:2525",
            {
                "EMAIL_HOST": "mail.example.com",
                "EMAIL_PORT": 2525,
                "EMAIL_HOST_USER": "user",
                "EMAIL_HOST_PASSWORD": "p@ss",
                "EMAIL_USE_TLS": False,
                "EMAIL_USE_SSL": False,
            },
        ),
        (
            "smtp+tls://user:pw@mail.example.com",
            {"EMAIL_PORT": 587, "EMAIL_USE_TLS": True, "EMAIL_USE_SSL": False},
        ),
        (
            "smtp+ssl://user:pw@mail.example.com",
            {"EMAIL_PORT": 465, "EMAIL_USE_TLS": False, "EMAIL_USE_SSL": True},
        ),
    ],
)
def test_email_url_configures_smtp_plain_tls_and_ssl(monkeypatch, tmp_path, raw, expected):
    monkeypatch.setenv("EMAIL_URL", raw)
    config = env.email_config("EMAIL_URL", tmp_path)
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert {key: config[key] for key in expected} == expected


def test_without_email_url_mail_is_written_to_files_under_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("EMAIL_URL", raising=False)
    config = env.email_config("EMAIL_URL", tmp_path / "mail")
    assert config["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert config["EMAIL_FILE_PATH"] == tmp_path / "mail" and (tmp_path / "mail").is_dir()


@pytest.mark.parametrize("raw", ["http://mail.example.com", "smtp+tls://"])
def test_a_bad_email_url_stops_the_start_naming_the_variable(monkeypatch, tmp_path, raw):
    monkeypatch.setenv("EMAIL_URL", raw)
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL"):
        env.email_config("EMAIL_URL", tmp_path)


# ---------------------------------------------------------------------------------------
# Over real SMTP
# ---------------------------------------------------------------------------------------


def test_an_emailed_invoice_arrives_over_smtp_with_its_pdf_whose_qr_decodes(
    issued, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        delivery = send(issued, owner, cc=["socio@acme.es"])
    [message] = smtp_outbox.wait_for("billing@acme.es")
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert message["Reply-To"] == owner.email
    assert message["Cc"] == "socio@acme.es"
    assert message["Subject"] == f"Factura {issued.number}"
    assert lines(body(message)).startswith("Adjunta la factura.\n\n-- \nEstudio Sol SL")
    filename, pdf = pdf_attachment(message)
    assert issued.number in filename and pdf.startswith(b"%PDF")
    issued.refresh_from_db()
    assert qr_texts(pdf) == [issued.fiscal_invoice.qr_url]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 1, "")
    assert issued.status == "sent"  # history, not a status


def test_the_email_carries_the_taxpayers_brand_in_its_text_and_an_escaped_html_part(
    issued, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    save_branding(
        issued.taxpayer,
        contact_email="facturas@estudiosol.es",
        contact_phone="+34 600 000 000",
        footer_text="Inscrita en el RM <b>Madrid</b> & cía",
        accent_color="#1a5fb4",
    )
    with django_capture_on_commit_callbacks(execute=True):
        send(issued, owner, message="Hola <script>x</script>:\n\nAdjunta la factura.")
    [message] = smtp_outbox.wait_for("billing@acme.es")
    assert message["Reply-To"] == "facturas@estudiosol.es"
    assert message.get_content_type() == "multipart/mixed"
    text = lines(body(message))
    assert text.startswith("Hola <script>x</script>:\n\nAdjunta la factura.\n\n-- \n")
    assert text.endswith(
        "Estudio Sol SL\nfacturas@estudiosol.es · +34 600 000 000\n"
        "Inscrita en el RM <b>Madrid</b> & cía\n"
    )
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "Inscrita en el RM &lt;b&gt;Madrid&lt;/b&gt; &amp; cía" in html
    assert "<strong>Estudio Sol SL</strong>" in html and "#1A5FB4" in html.upper()
    assert 'href="mailto:facturas@estudiosol.es"' in html and "+34 600 000 000" in html
    filename, _pdf = pdf_attachment(message)
    assert issued.number in filename


def test_the_invoice_template_is_the_accounts_with_placeholders_filled(issued, account):
    defaults = sending.email_defaults(issued)
    assert defaults["to"] == "billing@acme.es"
    assert defaults["subject"] == f"Factura {issued.number} de Estudio Sol SL"
    assert "1.060,00 €" in defaults["message"] and "13/03/2026" in defaults["message"]
    EmailTemplate.objects.create(
        account=account,
        kind=Kind.INVOICE,
        subject="{numero} {0} {numero.__class__} {desconocido}",
        body="Para {cliente}: {importe}",
    )
    defaults = sending.email_defaults(issued)
    assert defaults["subject"] == f"{issued.number} {{0}} {{numero.__class__}} {{desconocido}}"
    assert defaults["message"] == "Para Acme SL: 1.060,00 €"


def test_a_value_with_a_line_break_never_breaks_the_subject(account):
    EmailTemplate.objects.create(account=account, kind=Kind.QUOTE, subject="{cliente}", body="")
    subject, _ = texts.render(account, Kind.QUOTE, {"cliente": "Acme\r\nBcc: x@evil.test"})
    assert subject == "Acme Bcc: x@evil.test"


def test_a_transient_refusal_is_retried_and_then_delivered(
    issued, owner, refusing_smtp, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.MAILING_RETRY_SECONDS = 0
    server = refusing_smtp("451 4.3.0 Inténtelo más tarde", times=1)
    with django_capture_on_commit_callbacks(execute=True):
        delivery = send(issued, owner)
    server.wait_for("billing@acme.es")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")


def test_a_server_that_keeps_refusing_leaves_a_failed_delivery_shown_on_the_invoice(
    issued, owner, login, refusing_smtp, eager_celery, django_capture_on_commit_callbacks, settings
):
    settings.MAILING_RETRY_SECONDS = 0
    settings.MAILING_MAX_ATTEMPTS = 3
    server = refusing_smtp("451 4.7.1 Greylisted")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = send(issued, owner)
    delivery.refresh_from_db()
    assert server.refused == 3 and server.messages == []
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert "451" in delivery.error and "Greylisted" in delivery.error
    html = login(owner).get(url(issued.account, "invoice_detail", issued.pk)).content.decode()
    assert 'data-delivery="failed"' in html and "No enviado" in html
    assert "Greylisted" in html and "billing@acme.es" in html


def test_a_permanent_refusal_fails_at_once_without_retrying(
    issued, owner, refusing_smtp, eager_celery, django_capture_on_commit_callbacks
):
    server = refusing_smtp("550 5.1.1 No existe ese buzón")
    with django_capture_on_commit_callbacks(execute=True):
        delivery = send(issued, owner)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, server.refused) == ("failed", 1, 1)
    assert "550" in delivery.error


def test_a_delivery_already_sent_is_not_sent_again_by_a_second_message(
    issued, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    from mailing.tasks import send_delivery

    with django_capture_on_commit_callbacks(execute=True):
        delivery = send(issued, owner)
    smtp_outbox.wait_for("billing@acme.es")
    assert send_delivery.apply(args=[str(delivery.pk)]).get() == "skipped"
    assert len(smtp_outbox.messages) == 1


# ---------------------------------------------------------------------------------------
# Refusals: drafts, the limit, header injection
# ---------------------------------------------------------------------------------------


def test_a_draft_is_never_sent(draft, owner):
    with pytest.raises(InvalidTransition):
        send(draft(), owner)
    assert not EmailDelivery.objects.exists()


def test_the_hourly_limit_refuses_more_emails_of_that_account_only(
    issued, owner, settings, other_account
):
    settings.MAILING_HOURLY_LIMIT = 2
    send(issued, owner)
    send(issued, owner)
    with pytest.raises(SendingLimitReached) as refused:
        send(issued, owner)
    assert 1 <= refused.value.retry_after <= 3601
    assert EmailDelivery.objects.count() == 2
    from mailing.services import check_limit

    check_limit(other_account)  # another account's allowance is its own


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "Factura\r\nBcc: victim@example.com"}, "subject"),
        ({"subject": "Factura\nX-Injected: 1"}, "subject"),
        ({"to": "billing@acme.es\r\nBcc: victim@example.com"}, "to"),
        ({"to": "Acme <billing@acme.es>"}, "to"),
        ({"to": "billing@acme.es, victim@example.com"}, "to"),
        ({"cc": ["socio@acme.es\nBcc: victim@example.com"]}, "cc"),
        ({"cc": "no-es-un-correo"}, "cc"),
    ],
)
def test_header_injection_is_a_field_error_and_nothing_is_queued(issued, owner, overrides, field):
    with pytest.raises(ValidationError) as refused:
        send(issued, owner, **overrides)
    assert field in refused.value.message_dict
    assert not EmailDelivery.objects.exists()


# ---------------------------------------------------------------------------------------
# The account API
# ---------------------------------------------------------------------------------------


def post_send(api_client, invoice_id, payload):
    return api_client.post(SEND.format(invoice_id), payload, content_type="application/json")


def test_api_send_answers_202_with_the_queued_delivery(
    api_client, issued, django_capture_on_commit_callbacks
):
    payload = {
        "to": "billing@acme.es",
        "cc": ["socio@acme.es"],
        "subject": "Factura",
        "message": "Hola",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_send(api_client, issued.pk, payload)
    assert response.status_code == 202, response.content
    data = response.json()
    assert data["to"] == "billing@acme.es" and data["cc"] == ["socio@acme.es"]
    assert data["status"] == "queued" and data["attempts"] == 0 and data["sentAt"] is None
    delivery = EmailDelivery.objects.get(pk=data["id"])
    assert delivery.token_label.startswith("tests") and len(callbacks) == 1
    assert issued.events.filter(action="emailed").exists()


def test_api_send_of_a_draft_is_a_409(api_client, draft):
    response = post_send(api_client, draft().pk, {"to": "a@b.es", "subject": "x", "message": "y"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_api_send_of_another_accounts_invoice_is_a_404(
    client, issued, other_account, accountant_elsewhere
):
    from api.services import create_token

    _, raw = create_token(other_account, accountant_elsewhere, "elsewhere")
    response = client.post(
        SEND.format(issued.pk),
        {"to": "a@b.es", "subject": "x", "message": "y"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 404
    assert post_send_count() == 0


def post_send_count() -> int:
    return EmailDelivery.objects.count()


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"to": "x@y.es", "subject": "Línea\r\nBcc: v@e.es", "message": "m"}, {"subject"}),
        ({"to": "no-es-correo", "cc": ["tampoco"], "subject": "s", "message": "m"}, {"to", "cc"}),
        ({"subject": "s"}, {"to", "message"}),
    ],
)
def test_api_send_with_bad_fields_is_a_400_naming_them(api_client, issued, payload, fields):
    response = post_send(api_client, issued.pk, payload)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error" and set(error["fields"]) == fields


def test_api_send_over_the_hourly_limit_is_a_429_with_retry_after(api_client, issued, settings):
    settings.MAILING_HOURLY_LIMIT = 1
    payload = {"to": "billing@acme.es", "subject": "Factura", "message": "Hola"}
    assert post_send(api_client, issued.pk, payload).status_code == 202
    refused = post_send(api_client, issued.pk, payload)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "email_limit_reached"
    assert 1 <= int(refused["Retry-After"]) <= 3601


def test_the_schema_documents_the_send_operation():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/invoices/{invoice_id}/send"]["post"]
    assert {"202", "400", "404", "409", "429"} <= set(operation["responses"])
    assert operation["operationId"] == "account_invoice_send"


# ---------------------------------------------------------------------------------------
# The pages: the form, the list's bulk sending, the development outbox
# ---------------------------------------------------------------------------------------


def test_the_send_form_starts_with_the_clients_email_and_the_template(issued, owner, login):
    response = login(owner).get(url(issued.account, "invoice_send", issued.pk))
    html = response.content.decode()
    assert 'value="billing@acme.es"' in html
    assert f"Factura {issued.number} de Estudio Sol SL" in html


def test_a_subject_on_two_lines_is_shown_as_a_field_error_on_the_page(issued, owner, login):
    response = login(owner).post(
        url(issued.account, "invoice_send", issued.pk),
        {"to": "billing@acme.es", "subject": "Hola\r\nBcc: v@e.es", "message": "m"},
    )
    assert response.status_code == 200
    assert "una sola línea" in response.content.decode()
    assert not EmailDelivery.objects.exists()


def test_a_viewer_cannot_send(issued, viewer, login):
    assert login(viewer).get(url(issued.account, "invoice_send", issued.pk)).status_code == 403
    response = login(viewer).post(
        url(issued.account, "invoice_send", issued.pk),
        {"to": "billing@acme.es", "subject": "s", "message": "m"},
    )
    assert response.status_code == 403 and not EmailDelivery.objects.exists()


def test_bulk_sending_emails_each_issued_invoice_to_its_own_client(
    issued,
    draft,
    actor,
    owner,
    login,
    taxpayer,
    smtp_outbox,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    from clients.services import create_client
    from invoicing.services import issue_invoice

    other = create_client(
        taxpayer, {"name": "Beta SL", "nif": "B12345674", "country": "ES", "email": "pagos@beta.es"}
    )
    second = issue_invoice(draft(client=other), actor=actor)
    not_issued = draft()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(owner).post(
            url(issued.account, "invoice_send_bulk"),
            {"invoice": [str(issued.pk), str(second.pk), str(not_issued.pk), str(uuid.uuid4())]},
            follow=True,
        )
    html = response.content.decode()
    assert "Se están enviando 2 facturas" in html and "no está emitida" in html
    [to_acme] = smtp_outbox.wait_for("billing@acme.es")
    [to_beta] = smtp_outbox.wait_for("pagos@beta.es")
    assert issued.number in to_acme["Subject"] and second.number in to_beta["Subject"]
    assert pdf_attachment(to_beta)[0].endswith(".pdf")


def test_bulk_sending_signs_each_email_with_its_own_taxpayers_brand(
    issued, account, actor, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    from clients.services import create_client
    from factu.models import Taxpayer
    from invoicing.models import Series
    from invoicing.services import create_draft, issue_invoice
    from tests.invoices import CONSULTING, ISSUE

    norte = Taxpayer.objects.create(account=account, nif="A28045631", name="Norte SA")
    save_branding(norte, contact_email="hola@norte.es", footer_text="Norte, desde 1990")
    save_branding(issued.taxpayer, contact_email="facturas@estudiosol.es")
    client = create_client(
        norte, {"name": "Beta SL", "nif": "B12345674", "country": "ES", "email": "pagos@beta.es"}
    )
    series = Series.objects.create(account=account, taxpayer=norte, code="N")
    second = issue_invoice(
        create_draft(
            norte, series=series, client=client, issue_date=ISSUE, lines=[CONSULTING], actor=actor
        ),
        actor=actor,
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = sending.send_invoices([issued, second], actor=Actor(user=owner))
    assert result.sent == [issued, second]
    [to_acme] = smtp_outbox.wait_for("billing@acme.es")
    [to_beta] = smtp_outbox.wait_for("pagos@beta.es")
    assert to_acme["Reply-To"] == "facturas@estudiosol.es"
    assert to_beta["Reply-To"] == "hola@norte.es"
    assert lines(body(to_beta)).endswith("Norte SA\nhola@norte.es\nNorte, desde 1990\n")
    assert "Estudio Sol SL" in lines(body(to_acme)) and "Norte" not in body(to_acme)


@pytest.fixture
def file_mail(settings, tmp_path) -> Path:
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    return tmp_path / "mail"


def test_the_outbox_shows_each_account_only_its_own_messages(
    issued,
    owner,
    login,
    file_mail,
    eager_celery,
    django_capture_on_commit_callbacks,
    other_account,
    accountant_elsewhere,
):
    from django.core.mail import send_mail

    with django_capture_on_commit_callbacks(execute=True):
        send(issued, owner, subject="Para Acme, de Estudio Sol")
    send_mail("Confirme su registro", "enlace", None, ["someone@example.com"])
    mine = login(owner).get(url(issued.account, "mail_outbox")).content.decode()
    assert "Para Acme, de Estudio Sol" in mine and "billing@acme.es" in mine
    assert "Confirme su registro" not in mine
    theirs = login(accountant_elsewhere).get(url(other_account, "mail_outbox")).content.decode()
    assert "Para Acme" not in theirs and "Aún no hay correos" in theirs


def test_the_outbox_does_not_exist_with_a_real_mail_server_or_in_production(
    issued, owner, login, settings, file_mail
):
    client = login(owner)
    assert client.get(url(issued.account, "mail_outbox")).status_code == 200
    settings.PRODUCTION = True
    assert client.get(url(issued.account, "mail_outbox")).status_code == 404
    settings.PRODUCTION = False
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    assert client.get(url(issued.account, "mail_outbox")).status_code == 404


# ---------------------------------------------------------------------------------------
# In chromium
# ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_browser_sending_an_invoice_from_its_page(
    live_server,
    page,  # noqa: F811 - the fixture
    owner,
    issued,
    smtp_outbox,
    eager_celery,
):
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}{url(issued.account, 'invoice_detail', issued.pk)}")
    page.get_by_role("link", name="Enviar por correo").click()
    assert page.get_by_label("Para").input_value() == "billing@acme.es"
    page.get_by_label("Copia (CC)").fill("socio@acme.es")
    page.get_by_label("Mensaje").fill("Hola, adjunto la factura de marzo.")
    screenshot(page, "invoice-send-form")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_text("se está enviando a billing@acme.es").wait_for()
    [message] = smtp_outbox.wait_for("billing@acme.es", timeout=15)
    assert "factura de marzo" in body(message)
    page.reload()
    page.locator('[data-delivery="sent"]').wait_for()
    screenshot(page, "invoice-sent-history")
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}{url(issued.account, 'invoice_send', issued.pk)}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "invoice-send-form-390")


# ---------------------------------------------------------------------------------------
# A real worker process
# ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_refused_email_after_its_delay_and_delivers_it(
    issued, owner, refusing_smtp, tmp_path
):
    from tests.processes import start_worker, stop, wait_until

    server = refusing_smtp("451 4.3.0 Inténtelo más tarde", times=1)
    from django.conf import settings as live

    worker = start_worker(
        tmp_path / "worker.log",
        EMAIL_URL=f"smtp://127.0.0.1:{live.EMAIL_PORT}",
        MAILING_RETRY_SECONDS="1",
    )
    try:
        delivery = send(issued, owner)
        wait_until(
            lambda: EmailDelivery.objects.filter(pk=delivery.pk, status="sent").exists(),
            timeout=90,
            what="the delivery sent by the worker",
        )
    finally:
        stop(worker)
        print((tmp_path / "worker.log").read_text(errors="replace")[-3000:])
    delivery.refresh_from_db()
    assert (server.refused, delivery.attempts, delivery.error) == (1, 2, "")
    [message] = server.wait_for("billing@acme.es")
    assert pdf_attachment(message)[1].startswith(b"%PDF")
