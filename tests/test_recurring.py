"""Recurring plans (issue 19, point 3): a template repeated on a calendar through beat,
idempotently, with an injected clock (``generate_due(today)``)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from clients.services import archive_client, create_client
from factu.models import Taxpayer
from invoicing.models import Invoice, InvoiceStatus, Series
from invoicing.services import DraftLine, create_draft, issue_invoice
from mailing.models import EmailDelivery
from recurring import schedule
from recurring.models import GeneratedPeriod, Plan, PlanStatus
from recurring.services import (
    PlanStateError,
    create_plan,
    end_plan,
    generate_due,
    pause_plan,
    resume_plan,
    update_plan,
)
from recurring.tasks import generate_due as generate_due_task
from tests.browser import page, screenshot, sign_in  # noqa: F401 - the fixture
from tests.mailing_helpers import pdf_attachment
from tests.processes import AT_THE_STARTING_LINE, DJANGO_CHILD, run_together
from tests.smtp import body

HOSTING = DraftLine("Mantenimiento web", quantity=100, unit_price=50000, iva_type="general")
CREATED = date(2026, 1, 1)  # the day the plans are created, with the clock injected
# A moment before CREATED, for the pages (which create plans on the local date).
BEFORE_CREATED = "2025-12-20 10:00:00+01:00"


@pytest.fixture
def make_plan(taxpayer, series, acme, owner):
    def _make(**overrides):
        values = {
            "name": "Mantenimiento Acme",
            "client": acme,
            "series": series,
            "description": "Mantenimiento mensual de la web",
            "payment_days": 30,
            "irpf_bp": 1500,
            "frequency": "monthly",
            "day_of_month": 1,
            "start_date": date(2026, 1, 1),
            "lines": [HOSTING],
            "created_by": owner,
            "today": CREATED,
        }
        values.update(overrides)
        return create_plan(taxpayer, **values)

    return _make


def invoices_of(plan: Plan) -> list[Invoice]:
    return [p.invoice for p in GeneratedPeriod.objects.filter(plan=plan).order_by("period")]


# -- The calendar ------------------------------------------------------------------------------


def test_the_calendar_keeps_its_day_and_uses_a_short_months_last_day():
    periods = schedule.periods(date(2026, 1, 10), "monthly", 31)
    assert [next(periods) for _ in range(4)] == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]


def test_the_first_period_is_the_first_day_on_or_after_the_start():
    assert schedule.first_after(date(2026, 1, 2), "quarterly", 1, None) == date(2026, 2, 1)
    assert schedule.first_after(date(2026, 1, 2), "quarterly", 1, date(2026, 2, 1)) == date(
        2026, 5, 1
    )
    assert schedule.first_after(date(2026, 3, 1), "yearly", 1, date(2026, 3, 1)) == date(2027, 3, 1)


def test_a_period_is_named_by_the_months_it_covers():
    assert schedule.period_label(date(2026, 3, 1), "monthly") == "marzo de 2026"
    assert schedule.period_label(date(2026, 1, 15), "quarterly") == "enero a marzo de 2026"
    assert schedule.period_label(date(2026, 11, 1), "quarterly") == (
        "noviembre de 2026 a enero de 2027"
    )
    assert schedule.period_label(date(2026, 1, 1), "yearly") == "2026"


def test_the_period_placeholder_names_the_months_invoiced(make_plan):
    plan = make_plan(
        description="Mantenimiento de {periodo}",
        lines=[DraftLine("Hosting {periodo}", quantity=100, unit_price=1000)],
    )

    generate_due(date(2026, 2, 3))

    first, second = invoices_of(plan)
    assert first.description == "Mantenimiento de enero de 2026"
    assert second.description == "Mantenimiento de febrero de 2026"
    assert [line.description for line in second.lines.all()] == ["Hosting febrero de 2026"]
    assert plan.lines.get().description == "Hosting {periodo}"


# -- Generation ------------------------------------------------------------------------------


def test_a_monthly_plan_makes_three_months_of_issued_invoices_with_an_injected_clock(make_plan):
    plan = make_plan()

    for day in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        run = generate_due(day)
        assert len(run.invoices) == 1

    invoices = invoices_of(plan)
    assert [i.issue_date for i in invoices] == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert [i.due_date for i in invoices] == [
        date(2026, 1, 31),
        date(2026, 3, 3),
        date(2026, 3, 31),
    ]
    assert [i.number for i in invoices] == ["2026-A-001", "2026-A-002", "2026-A-003"]
    assert {i.status for i in invoices} == {InvoiceStatus.SENT}
    first = invoices[0]
    assert first.fiscal_invoice_id is not None
    assert first.description == "Mantenimiento mensual de la web"
    assert first.irpf_bp == 1500
    assert first.subtotal_cents == 50000 and first.total_cents == 50000 + 10500 - 7500
    assert [(line.description, line.unit_price_cents) for line in first.lines.all()] == [
        ("Mantenimiento web", 50000)
    ]
    plan.refresh_from_db()
    assert plan.generated_count == 3
    assert plan.next_date == date(2026, 4, 1)
    assert plan.problem == ""


def test_a_plan_left_as_draft_makes_drafts(make_plan):
    plan = make_plan(auto_issue=False)

    generate_due(date(2026, 1, 1))

    [invoice] = invoices_of(plan)
    assert invoice.status == InvoiceStatus.DRAFT and not invoice.is_issued


def test_running_twice_on_one_day_makes_one_invoice(make_plan):
    plan = make_plan()

    generate_due(date(2026, 1, 1))
    again = generate_due(date(2026, 1, 1))

    assert again.invoices == []
    assert Invoice.objects.count() == 1
    assert GeneratedPeriod.objects.filter(plan=plan).count() == 1


GENERATOR = (
    DJANGO_CHILD
    + """
from datetime import date
from django.db import connections
from recurring.services import generate_due
"""
    + AT_THE_STARTING_LINE
    + """
generate_due(date(2026, 3, 1))
connections.close_all()
"""
)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_workers_at_once_make_one_invoice_per_period(transactional_db, make_plan, tmp_path):
    plan = make_plan(start_date=date(2026, 1, 1))
    go = tmp_path / "go"

    run_together(go, [GENERATOR.format(go=go)] * 3)

    periods = GeneratedPeriod.objects.filter(plan=plan).order_by("period")
    assert [p.period for p in periods] == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    assert Invoice.objects.count() == 3
    assert sorted(Invoice.objects.values_list("sequence", flat=True)) == [1, 2, 3]
    plan.refresh_from_db()
    assert plan.generated_count == 3 and plan.next_date == date(2026, 4, 1)


def test_the_database_refuses_a_second_invoice_for_one_period(make_plan, draft):
    plan = make_plan()
    generate_due(date(2026, 1, 1))

    with pytest.raises(Exception, match="(?i)unique"):
        GeneratedPeriod.objects.create(
            plan=plan, period=date(2026, 1, 1), invoice=draft(), generated_at=plan.created_at
        )


def test_a_late_run_dates_the_invoice_the_day_it_runs_and_catches_up_in_order(make_plan):
    plan = make_plan()
    generate_due(date(2026, 1, 1))

    run = generate_due(date(2026, 4, 10))  # the beats of February, March and April missed

    assert len(run.invoices) == 3
    periods = GeneratedPeriod.objects.filter(plan=plan).order_by("period")
    assert [p.period for p in periods] == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
        date(2026, 4, 1),
    ]
    late = [p.invoice for p in periods][1:]
    assert [i.issue_date for i in late] == [date(2026, 4, 10)] * 3
    assert [i.sequence for i in late] == [2, 3, 4]
    assert {i.due_date for i in late} == {date(2026, 5, 10)}


def test_a_plan_started_in_the_past_never_invoices_the_periods_before_it_was_created(make_plan):
    plan = make_plan(start_date=date(2024, 1, 1))  # created on CREATED, 2026-01-01

    assert plan.next_date == CREATED
    run = generate_due(CREATED)

    assert [p.period for p in GeneratedPeriod.objects.filter(plan=plan)] == [CREATED]
    assert [i.issue_date for i in run.invoices] == [CREATED]
    plan.refresh_from_db()
    assert plan.next_date == date(2026, 2, 1)


def test_a_plan_created_after_this_periods_day_starts_next_period_and_missed_beats_catch_up(
    make_plan,
):
    passed = make_plan(today=date(2026, 1, 5))  # day 1: January's had passed
    coming = make_plan(name="Día 15", day_of_month=15, today=date(2026, 1, 5))
    assert (passed.next_date, coming.next_date) == (date(2026, 2, 1), date(2026, 1, 15))
    assert generate_due(date(2026, 1, 5)).invoices == []

    generate_due(date(2026, 1, 17))  # the beats of 15 and 16 January missed

    [late] = invoices_of(coming)
    assert late.issue_date == date(2026, 1, 17)
    assert invoices_of(passed) == []


def test_a_calendar_changed_later_starts_on_or_after_the_day_it_changed(make_plan):
    plan = make_plan()
    generate_due(CREATED)

    plan = update_plan(plan, day_of_month=15, today=date(2026, 5, 10))

    assert plan.next_date == date(2026, 5, 15)  # not February's 15, nor March's, nor April's
    generate_due(date(2026, 5, 15))
    assert [p.period for p in GeneratedPeriod.objects.filter(plan=plan).order_by("period")] == [
        CREATED,
        date(2026, 5, 15),
    ]


def test_the_plan_ends_after_its_count(make_plan):
    plan = make_plan(max_invoices=2)

    generate_due(date(2026, 1, 1))
    generate_due(date(2026, 2, 1))
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ENDED and plan.next_date is None

    assert generate_due(date(2026, 3, 1)).invoices == []
    assert len(invoices_of(plan)) == 2


def test_the_plan_ends_at_its_end_date(make_plan):
    plan = make_plan(frequency="quarterly", end_date=date(2026, 6, 30))

    generate_due(date(2026, 12, 31))

    assert [i.issue_date for i in invoices_of(plan)] == [date(2026, 12, 31)] * 2
    assert [p.period for p in GeneratedPeriod.objects.filter(plan=plan).order_by("period")] == [
        date(2026, 1, 1),
        date(2026, 4, 1),
    ]
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ENDED


def test_a_paused_plan_makes_nothing_and_resumes_from_its_next_period(make_plan):
    plan = make_plan()
    generate_due(date(2026, 1, 1))

    pause_plan(plan)
    assert generate_due(date(2026, 2, 1)).invoices == []
    with pytest.raises(PlanStateError):
        pause_plan(plan)

    plan = resume_plan(plan, today=date(2026, 2, 15))
    assert plan.status == PlanStatus.ACTIVE
    assert plan.next_date == date(2026, 3, 1)  # February's period, missed while paused, skipped
    generate_due(date(2026, 3, 1))
    assert [i.issue_date for i in invoices_of(plan)] == [date(2026, 1, 1), date(2026, 3, 1)]


def test_an_ended_plan_makes_nothing_and_cannot_change(make_plan):
    plan = make_plan()
    end_plan(plan)

    assert generate_due(date(2026, 1, 1)).invoices == []
    with pytest.raises(PlanStateError):
        resume_plan(plan)
    with pytest.raises(PlanStateError):
        update_plan(plan, name="Otro")


def test_an_invoice_a_rule_refuses_stays_a_draft_the_plan_says_why_and_others_go_on(
    make_plan, taxpayer, acme, actor
):
    other = Taxpayer.objects.create(account=taxpayer.account, nif="12345678Z", name="Ana Pérez")
    fine = create_plan(
        other,
        name="Otro contribuyente",
        client=create_client(other, {"name": "Beta SL", "nif": "B87654323", "country": "ES"}),
        series=Series.objects.create(account=other.account, taxpayer=other, code="A"),
        start_date=date(2026, 3, 1),
        lines=[HOSTING],
        today=CREATED,
    )
    refused = make_plan(start_date=date(2026, 3, 1))
    # An invoice of series A issued on 13 March: one of 1 March may not follow it.
    issue_invoice(
        create_draft(
            taxpayer,
            series=refused.series,
            client=acme,
            issue_date=date(2026, 3, 13),
            lines=[HOSTING],
            actor=actor,
        ),
        actor=actor,
    )

    generate_due(date(2026, 3, 1))

    [draft] = invoices_of(refused)
    assert draft.status == InvoiceStatus.DRAFT
    refused.refresh_from_db()
    assert refused.problem.startswith("Quedó en borrador:")
    assert "13/03/2026" in refused.problem
    assert refused.next_date == date(2026, 4, 1)
    period = GeneratedPeriod.objects.get(plan=refused)
    assert period.problem == refused.problem
    assert [i.status for i in invoices_of(fine)] == [InvoiceStatus.SENT]


def test_a_plan_whose_draft_cannot_be_made_waits_and_says_why(make_plan, acme):
    plan = make_plan()
    archive_client(acme)

    run = generate_due(date(2026, 1, 1))

    assert run.invoices == [] and run.blocked == [plan]
    plan.refresh_from_db()
    assert "archivado" in plan.problem
    assert plan.next_date == date(2026, 1, 1)


def test_a_plan_that_sends_emails_each_issued_invoice_to_its_client_over_smtp(
    make_plan, smtp_outbox, eager_celery, django_capture_on_commit_callbacks
):
    plan = make_plan(auto_send=True)
    quiet = make_plan(name="Sin envío")

    with django_capture_on_commit_callbacks(execute=True):
        generate_due(date(2026, 1, 1))

    sent = GeneratedPeriod.objects.get(plan=plan)
    assert (sent.send_requested, sent.send_problem) == (True, "")
    assert GeneratedPeriod.objects.get(plan=quiet).send_requested is False
    [message] = smtp_outbox.wait_for("billing@acme.es")
    invoice = sent.invoice
    assert message["Subject"] == f"Factura {invoice.number} de Estudio Sol SL"
    assert f"Le enviamos la factura {invoice.number}, del 01/01/2026" in body(message)
    filename, pdf = pdf_attachment(message)
    assert invoice.number in filename and pdf.startswith(b"%PDF")
    assert invoice.events.get(action="emailed").detail["to"] == "billing@acme.es"
    assert EmailDelivery.objects.get().status == "sent"


def test_a_plan_whose_client_has_no_email_issues_and_says_why_it_was_not_sent(
    make_plan, acme, login, owner, account, smtp_outbox, django_capture_on_commit_callbacks
):
    acme.email = ""
    acme.save(update_fields=["email"])
    plan = make_plan(auto_send=True)

    with django_capture_on_commit_callbacks(execute=True):
        run = generate_due(date(2026, 1, 1))

    [invoice] = run.invoices
    assert invoice.is_issued and run.left_as_draft == []
    period = GeneratedPeriod.objects.get(plan=plan)
    reason = "No se envió por correo: su cliente no tiene correo electrónico."
    assert (period.send_requested, period.send_problem) == (False, reason)
    plan.refresh_from_db()
    assert plan.problem == reason and plan.next_date == date(2026, 2, 1)
    assert not EmailDelivery.objects.exists() and smtp_outbox.messages == []
    listing = login(owner).get(f"/c/{account.slug}/facturas/recurrentes/").content.decode()
    assert reason in listing


def test_the_beat_runs_the_generation_daily(make_plan):
    entry = settings.CELERY_BEAT_SCHEDULE["recurring-generate"]
    assert entry["task"] == "recurring.generate_due"
    assert entry["schedule"].hour == {6} and entry["schedule"].minute == {0}
    today = timezone.localdate()
    plan = make_plan(start_date=today, day_of_month=today.day)

    assert generate_due_task.apply().get() == 1
    assert [i.issue_date for i in invoices_of(plan)] == [today]


# -- Plans ------------------------------------------------------------------------------------


def test_a_plan_refuses_bad_input_field_by_field(make_plan, taxpayer, other_account):
    foreign = create_client(
        other_account.taxpayers.get(), {"name": "Ajeno SA", "nif": "A28045631", "country": "ES"}
    )
    with pytest.raises(ValidationError) as caught:
        make_plan(
            name=" ",
            client=foreign,
            day_of_month=32,
            end_date=date(2025, 1, 1),
            payment_days=400,
            lines=[DraftLine("", quantity=100, unit_price=-5, iva_type="general")],
        )
    errors = caught.value.message_dict
    assert set(errors) >= {
        "name",
        "clientId",
        "dayOfMonth",
        "endDate",
        "paymentDays",
        "lines.0.description",
        "lines.0.unitPrice",
    }
    assert Plan.objects.count() == 0


def test_a_calendar_change_moves_the_next_period_after_the_last_invoiced(make_plan):
    plan = make_plan()
    generate_due(date(2026, 1, 1))

    plan = update_plan(plan, frequency="quarterly", day_of_month=15, today=date(2026, 1, 2))

    assert plan.next_date == date(2026, 4, 15)
    with pytest.raises(ValidationError) as caught:
        update_plan(plan, max_invoices=1)
    assert "count" in caught.value.message_dict


# -- The pages ----------------------------------------------------------------------------------


def plan_form(series, client, **overrides) -> dict:
    data = {
        "name": "Mantenimiento Acme",
        "client": str(client.pk),
        "series": str(series.pk),
        "frequency": "monthly",
        "day_of_month": "1",
        "start_date": "2026-01-01",
        "end_date": "",
        "max_invoices": "3",
        "auto_issue": "1",
        "description": "Mantenimiento mensual",
        "irpf_rate": "15",
        "payment_days": "30",
        "payment_details": "",
        "notes": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-0-description": "Mantenimiento web",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "500,00",
        "lines-0-iva_type": "general",
    }
    data.update(overrides)
    return data


def test_the_plan_form_creates_a_plan_and_puts_service_errors_on_their_fields(
    login, owner, account, series, acme
):
    client = login(owner)
    base = f"/c/{account.slug}/facturas/recurrentes/"

    with time_machine.travel(BEFORE_CREATED):
        refused = client.post(f"{base}nuevo/", plan_form(series, acme, end_date="2025-12-31"))
        assert refused.status_code == 400
        assert refused.context["form"].errors["end_date"] == [
            "La fecha final no puede ser anterior a la inicial."
        ]
        assert Plan.objects.count() == 0

        created = client.post(f"{base}nuevo/", plan_form(series, acme))
        assert created.status_code == 302 and created["Location"] == base
    plan = Plan.objects.get()
    assert (plan.irpf_bp, plan.max_invoices, plan.payment_days) == (1500, 3, 30)
    assert [(line.description, line.unit_price_cents) for line in plan.lines.all()] == [
        ("Mantenimiento web", 50000)
    ]
    generate_due(date(2026, 1, 1))

    listing = client.get(base).content.decode()
    assert "Mantenimiento Acme" in listing and "2026-A-001" in listing
    assert "1 factura generada" in listing and "Próxima factura: <strong>01/02/2026" in listing
    invoice = Invoice.objects.get()
    assert f"/c/{account.slug}/facturas/{invoice.pk}/" in listing


def test_the_list_pauses_resumes_and_ends_a_plan(login, owner, account, make_plan):
    plan = make_plan()
    client = login(owner)
    base = f"/c/{account.slug}/facturas/recurrentes/{plan.pk}"

    client.post(f"{base}/pausar/")
    assert Plan.objects.get().status == PlanStatus.PAUSED
    assert "En pausa" in client.get(f"/c/{account.slug}/facturas/recurrentes/").content.decode()
    client.post(f"{base}/reanudar/")
    assert Plan.objects.get().status == PlanStatus.ACTIVE
    client.post(f"{base}/terminar/")
    assert Plan.objects.get().status == PlanStatus.ENDED
    assert client.get(f"{base}/editar/").status_code == 302


def test_another_accounts_plan_is_404_and_a_viewer_may_not_change_one(
    login, viewer, account, make_plan, accountant_elsewhere
):
    plan = make_plan()
    base = f"/c/{account.slug}/facturas/recurrentes/{plan.pk}"
    stranger = login(accountant_elsewhere)
    assert stranger.get(f"{base}/editar/").status_code == 404
    other_slug = accountant_elsewhere.memberships.get().account.slug
    assert stranger.post(f"/c/{other_slug}/facturas/recurrentes/{plan.pk}/pausar/").status_code == (
        404
    )

    reader = login(viewer)
    assert reader.post(f"{base}/pausar/").status_code == 403
    listing = reader.get(f"/c/{account.slug}/facturas/recurrentes/").content.decode()
    assert "Mantenimiento Acme" in listing and "Pausar" not in listing
    assert Plan.objects.get().status == PlanStatus.ACTIVE


# -- In chromium ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.slow
def test_journey_a_plan_made_in_the_page_produces_three_months_of_invoices(
    live_server,
    page,  # noqa: F811
    owner,
    account,
    series,
    acme,
):
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/c/{account.slug}/facturas/")
    page.get_by_role("link", name="Recurrentes").click()
    page.get_by_role("link", name="Nuevo plan").first.click()
    page.get_by_label("Nombre del plan").fill("Mantenimiento Acme")
    page.locator("select[name=client]").select_option(label="Acme SL (A28045631)")
    page.get_by_label("Periodicidad").select_option(label="Mensual")
    page.get_by_label("Día del mes").fill("1")
    page.get_by_label("Desde").fill("2026-01-01")
    page.get_by_label("Número de facturas (opcional)").fill("3")
    page.get_by_label("Descripción de la factura").fill("Mantenimiento mensual de la web")
    page.get_by_label("Vencimiento (días)").fill("30")
    page.get_by_label("Concepto").first.fill("Mantenimiento web")
    page.get_by_label("Cantidad").first.fill("1")
    page.get_by_label("Precio unitario (€)").first.fill("500")
    screenshot(page, "recurring-form-1280")
    with time_machine.travel(BEFORE_CREATED):  # the live server's clock, when the plan is made
        page.get_by_role("button", name="Guardar plan").click()
        page.get_by_text("primera factura el 01/01/2026").wait_for()

    for day in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        generate_due(day)  # the beat of each month, with the clock injected

    page.reload()
    page.get_by_text("3 facturas generadas").wait_for()
    plan = page.locator("li.plan", has_text="Mantenimiento Acme")
    assert "Terminado" in plan.inner_text()
    for number in ("2026-A-001", "2026-A-002", "2026-A-003"):
        assert plan.get_by_role("link", name=number).count() == 1
    screenshot(page, "recurring-list-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # the page never pans
    screenshot(page, "recurring-list-390")
    page.get_by_role("link", name="Nuevo plan").first.click()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "recurring-form-390")
    page.go_back()
    page.get_by_role("link", name="2026-A-002").click()
    page.get_by_text("01/02/2026").first.wait_for()
    assert Invoice.objects.filter(status=InvoiceStatus.SENT).count() == 3
