"""Payment reminders (issue 19, point 5): the account's schedule before and after the due date,
sent daily by beat to the clients of unpaid issued invoices from the reminder templates, each
step at most once (also with two workers at once), and the settings page that sets them."""

from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.urls import reverse
from django.utils import timezone

from invoicing.models import InvoiceStatus
from invoicing.reminders import due_step, send_reminders
from invoicing.services import issue_invoice, mark_paid
from mailing.models import EmailDelivery, Kind, MailSettings
from tests.mailing_helpers import pdf_attachment, qr_texts
from tests.smtp import body

DUE = date(2026, 4, 12)


@pytest.fixture
def schedule(account):
    return MailSettings.objects.create(
        account=account, reminder_days_before=[3], reminder_days_after=[1, 7]
    )


@pytest.fixture
def unpaid(draft, actor):
    """An issued invoice of 1.060,00 € for Acme (billing@acme.es), due on DUE."""
    return issue_invoice(draft(irpf_bp=1500, due_date=DUE), actor=actor)


def steps_sent(invoice) -> list[str]:
    return sorted(EmailDelivery.objects.filter(object_id=invoice.pk).values_list("step", flat=True))


def test_each_step_of_the_schedule_is_sent_once_on_its_day(schedule, unpaid):
    assert send_reminders(DUE - timedelta(days=4)) == 0
    assert send_reminders(DUE - timedelta(days=3)) == 1
    assert send_reminders(DUE - timedelta(days=3)) == 0  # a second beat the same day
    assert send_reminders(DUE - timedelta(days=1)) == 0  # the step already went
    assert send_reminders(DUE) == 0
    assert send_reminders(DUE + timedelta(days=1)) == 1
    assert send_reminders(DUE + timedelta(days=8)) == 1
    assert send_reminders(DUE + timedelta(days=30)) == 0
    assert steps_sent(unpaid) == ["after-1", "after-7", "before-3"]
    kinds = set(EmailDelivery.objects.values_list("kind", flat=True))
    assert kinds == {Kind.REMINDER_BEFORE, Kind.REMINDER_AFTER}
    assert unpaid.events.filter(action="reminded").count() == 3


def test_a_missed_day_sends_the_latest_step_reached_not_every_one(unpaid):
    assert due_step(unpaid, [3], [1, 7], DUE + timedelta(days=9)) == (
        Kind.REMINDER_AFTER,
        "after-7",
        7,
    )
    assert due_step(unpaid, [7, 3], [], DUE - timedelta(days=2)) == (
        Kind.REMINDER_BEFORE,
        "before-3",
        3,
    )
    # Never a "before" step that fell before the invoice was issued.
    assert due_step(unpaid, [60], [], DUE - timedelta(days=2)) is None


def test_a_reminder_arrives_over_smtp_from_the_reminder_template_with_the_pdf(
    schedule, unpaid, owner, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert send_reminders(DUE + timedelta(days=1)) == 1
    [message] = smtp_outbox.wait_for("billing@acme.es")
    assert message["Subject"] == f"Factura {unpaid.number} pendiente de pago"
    assert "1.060,00 €" in body(message) and "12/04/2026" in body(message)
    assert message["Reply-To"] == owner.email
    unpaid.refresh_from_db()
    assert qr_texts(pdf_attachment(message)[1]) == [unpaid.fiscal_invoice.qr_url]
    assert EmailDelivery.objects.get().status == "sent"


def test_paid_and_draft_invoices_and_clients_without_email_get_no_reminder(
    schedule, unpaid, draft, actor, taxpayer
):
    from clients.services import create_client

    mark_paid(unpaid, paid_at=timezone.now(), actor=actor)
    draft(due_date=DUE)
    silent = create_client(taxpayer, {"name": "Sin Correo SL", "nif": "B12345674", "country": "ES"})
    issue_invoice(draft(client=silent, due_date=DUE), actor=actor)
    assert send_reminders(DUE + timedelta(days=1)) == 0
    assert not EmailDelivery.objects.exists()


def test_an_original_replaced_by_a_substitute_is_no_longer_chased_one_rectified_by_differences_is(
    schedule, unpaid, draft, actor, rect_series
):
    from invoicing.models import Invoice
    from invoicing.services import rectify_invoice
    from tests.invoices import CONSULTING, ISSUE

    differences = issue_invoice(draft(irpf_bp=1500, due_date=DUE), actor=actor)
    for original, kind in ((unpaid, "S"), (differences, "I")):
        rect = rectify_invoice(
            original,
            series=rect_series,
            rectification_type=kind,
            lines=[CONSULTING],
            issue_date=ISSUE,
            actor=actor,
        )
        issue_invoice(rect, actor=actor)

    replaced = Invoice.objects.get(pk=unpaid.pk)
    assert replaced.status == InvoiceStatus.SENT and replaced.is_substituted
    assert replaced.outstanding_cents == 0
    assert Invoice.objects.get(pk=differences.pk).outstanding_cents == 106000
    assert send_reminders(DUE + timedelta(days=1)) == 1
    assert steps_sent(unpaid) == [] and steps_sent(differences) == ["after-1"]


def test_an_account_without_a_schedule_sends_no_reminder(unpaid):
    assert send_reminders(DUE + timedelta(days=1)) == 0
    MailSettings.objects.create(account=unpaid.account)
    assert send_reminders(DUE + timedelta(days=1)) == 0


def test_the_database_refuses_a_second_delivery_for_one_step(unpaid, account):
    values = {
        "account": account,
        "kind": Kind.REMINDER_AFTER,
        "object_id": unpaid.pk,
        "step": "after-1",
        "to": "billing@acme.es",
        "subject": "s",
        "body": "b",
    }
    EmailDelivery.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        EmailDelivery.objects.create(**values)
    EmailDelivery.objects.create(**{**values, "step": ""})  # plain sendings repeat freely
    EmailDelivery.objects.create(**{**values, "step": ""})


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_one_reminder_per_step(schedule, unpaid):
    if connection.vendor == "sqlite":
        pytest.skip("the race is PostgreSQL's: SQLite serializes writers (BEGIN IMMEDIATE)")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(send_reminders(DUE + timedelta(days=1)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert steps_sent(unpaid) == ["after-1"]


def test_the_settings_page_sets_the_schedule_and_the_texts(owner, login, account):
    client = login(owner)
    page = reverse("mail_settings", args=[account.slug])
    data = {"days_before": "7, 3", "days_after": "1;15"}
    for kind in Kind.values:
        data[f"{kind}-subject"] = f"Asunto {kind} {{numero}}"
        data[f"{kind}-body"] = "Hola {cliente}"
    assert client.post(page, data)["Location"] == page
    saved = MailSettings.objects.get(account=account)
    assert (saved.reminder_days_before, saved.reminder_days_after) == ([3, 7], [1, 15])
    bad = {**data, "days_after": "uno", "invoice-body": "Hola {nombre}"}
    html = client.post(page, bad).content.decode()
    assert "«uno» no es un número de días" in html and "No se reconoce {nombre}" in html
    assert MailSettings.objects.get(account=account).reminder_days_after == [1, 15]


def test_a_viewer_sees_the_settings_but_cannot_change_them(viewer, login, account):
    client = login(viewer)
    page = reverse("mail_settings", args=[account.slug])
    assert client.get(page).status_code == 200
    assert client.post(page, {"days_before": "3"}).status_code == 403


def test_beat_sends_the_reminders_once_a_day(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["invoicing-reminders"]
    assert entry["task"] == "invoicing.send_reminders"
    assert entry["schedule"].hour == {9} and entry["schedule"].minute == {0}
    from celery import current_app

    assert "invoicing.send_reminders" in current_app.tasks


def test_an_unpaid_invoice_stays_in_its_status(schedule, unpaid):
    send_reminders(DUE + timedelta(days=1))
    unpaid.refresh_from_db()
    assert unpaid.status == InvoiceStatus.SENT
