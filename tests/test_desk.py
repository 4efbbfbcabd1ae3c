"""The accountant's desk ("Mesa AEAT"): per-taxpayer summary, the inbox, and the fixes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from desk import services, worklist
from factu.models import Taxpayer
from tests.conftest import make_facts
from verifactu.errors import AEAT_ERRORS, describe
from verifactu.models import BillingRecord, FiscalInvoice, RecordStatus
from verifactu.records import register_invoice

SECOND_NIF = "B12345674"
EMPTY = "Todo en orden: no hay registros que requieran acción"


def set_status(fiscal_invoice, status, code="", description=""):
    """Only status columns are updated: everything hashed stays as chained."""
    latest = fiscal_invoice.records.order_by("-position").first()
    BillingRecord.objects.filter(pk=latest.pk).update(
        status=status, aeat_error_code=code, aeat_error_description=description
    )
    return latest


@pytest.fixture
def second_taxpayer(account):
    return Taxpayer.objects.create(account=account, nif=SECOND_NIF, name="Bar Pepe SL")


@pytest.fixture
def register_for(account, computer_system):
    """Register an invoice of any taxpayer of ``account`` (its NIF as the issuer's)."""

    def _register(taxpayer, number, **overrides):
        facts = make_facts(
            issuer_nif=taxpayer.nif, issuer_name=taxpayer.name, invoice_number=number, **overrides
        )
        return register_invoice(
            account=account,
            taxpayer=taxpayer,
            system=computer_system,
            facts=facts,
            source="api_v1",
        ).invoice

    return _register


def desk_url(account, **query):
    url = reverse("desk", args=[account.slug])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def fix_url(account, action, fiscal_invoice):
    return reverse(f"desk_{action}", args=[account.slug, fiscal_invoice.pk])


# ---------------------------------------------------------------------------------------
# The plain-Spanish errors
# ---------------------------------------------------------------------------------------


def test_known_codes_are_explained_in_plain_spanish_with_the_fix():
    assert describe("1124", "TipoImpositivo no permitido") == (
        "El tipo de IVA no es válido para esa fecha. Corrija el tipo y subsane."
    )
    for code in ("2000", "3000", "1123", "1189", "1142", "2005", "2006", "4102", "20009"):
        assert code in AEAT_ERRORS
    assert "reintent" in describe("20009").lower()


def test_unknown_codes_fall_back_to_aeat_description():
    assert describe("9999", "Algo raro según la AEAT") == "Algo raro según la AEAT"
    assert describe("9999") == "La AEAT devolvió el código 9999."
    assert describe("", "") == ""


# ---------------------------------------------------------------------------------------
# The summary
# ---------------------------------------------------------------------------------------


def test_summary_counts_the_latest_status_of_each_invoice_per_taxpayer(
    account, taxpayer, second_taxpayer, register_for
):
    statuses = [
        RecordStatus.ACCEPTED,
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
        RecordStatus.ERROR,
        RecordStatus.ACCEPTED_WITH_ERRORS,
        RecordStatus.SENDING,
        RecordStatus.QUEUED,
    ]
    for n, status in enumerate(statuses):
        set_status(register_for(taxpayer, f"A-{n}"), status)
    # A rejected record already fixed: its latest record (the subsanación) is what counts.
    fixed = register_for(taxpayer, "A-fixed")
    set_status(fixed, RecordStatus.REJECTED, "1124")
    services.subsanar(fixed)
    set_status(register_for(second_taxpayer, "B-1"), RecordStatus.ACCEPTED)
    register_for(second_taxpayer, "B-2")

    summary = {s.taxpayer.nif: s for s in worklist.desk_summary(account)}

    first = summary[taxpayer.nif]
    assert (first.queued, first.sending, first.accepted) == (2, 1, 2)
    assert (first.accepted_with_errors, first.rejected, first.error) == (1, 1, 1)
    assert first.total == 8 and first.needs_action == 3
    second = summary[SECOND_NIF]
    assert (second.accepted, second.queued, second.needs_action, second.total) == (1, 1, 0, 2)
    assert [s.taxpayer.name for s in worklist.desk_summary(account)] == [
        "Bar Pepe SL",
        "Estudio Sol SL",
    ]


def test_summary_lists_taxpayers_without_invoices(account, taxpayer, second_taxpayer):
    summary = worklist.desk_summary(account)
    assert [s.total for s in summary] == [0, 0]
    assert all(s.oldest_unsent_at is None for s in summary)


def test_summary_finds_the_oldest_unsent_record(account, taxpayer, register_for, monkeypatch):
    start = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    created = []
    for hours in (0, 2, 5):
        monkeypatch.setattr(timezone, "now", lambda h=hours: start + timedelta(hours=h))
        created.append(register_for(taxpayer, f"T-{hours}"))
    monkeypatch.undo()
    set_status(created[0], RecordStatus.ACCEPTED)  # sent: no longer pending
    set_status(created[1], RecordStatus.SENDING)  # on its way: still unsent

    (summary,) = worklist.desk_summary(account)
    assert summary.oldest_unsent_at == start + timedelta(hours=2)
    later = start + timedelta(hours=5)
    assert summary.oldest_unsent_age(now=later) == timedelta(hours=3)


def test_summary_adds_up_a_taxpayers_chains_of_several_installations(
    account, taxpayer, register_for, computer_system, monkeypatch
):
    start = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=3))
    set_status(register_for(taxpayer, "A-1"), RecordStatus.REJECTED)
    register_for(taxpayer, "A-2")
    computer_system.pk, computer_system.installation_number = None, "TEST-2"
    computer_system.label = "test-2"
    computer_system.save()  # a second installation: the taxpayer's second chain
    monkeypatch.setattr(timezone, "now", lambda: start)
    second = register_invoice(
        account=account,
        taxpayer=taxpayer,
        system=computer_system,
        facts=make_facts(issuer_nif=taxpayer.nif, invoice_number="B-1"),
        source="api_v1",
    ).invoice
    set_status(register_for(taxpayer, "A-3"), RecordStatus.REJECTED)
    monkeypatch.undo()
    assert (
        second.records.get().chain_id
        != FiscalInvoice.objects.get(invoice_number="A-1").records.get().chain_id
    )

    (summary,) = worklist.desk_summary(account)
    assert (summary.rejected, summary.queued, summary.total) == (2, 2, 4)
    assert summary.oldest_unsent_at == start  # the other chain's older record


def test_a_taxpayer_whose_nif_was_corrected_after_issuing_keeps_its_records_counted(
    account, taxpayer, register_for, monkeypatch
):
    """Its first records sit in the chain of the NIF it had (no taxpayer holds it now)."""
    start = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(timezone, "now", lambda: start)
    set_status(register_for(taxpayer, "A-1"), RecordStatus.REJECTED)
    register_for(taxpayer, "A-2")
    Taxpayer.objects.filter(pk=taxpayer.pk).update(nif=SECOND_NIF)
    taxpayer.refresh_from_db()
    monkeypatch.setattr(timezone, "now", lambda: start + timedelta(hours=1))
    register_for(taxpayer, "A-3")
    set_status(register_for(taxpayer, "A-4"), RecordStatus.ERROR)
    monkeypatch.undo()

    (summary,) = worklist.desk_summary(account)
    assert (summary.rejected, summary.error, summary.queued, summary.total) == (1, 1, 2, 4)
    assert summary.oldest_unsent_at == start


def test_summary_is_scoped_to_the_account(account, taxpayer, register_for, other_account):
    register_for(taxpayer, "A-1")
    summary = worklist.desk_summary(other_account)
    assert [s.total for s in summary] == [0]


def test_desk_page_shows_counts_and_the_oldest_unsent_age(
    login, owner, account, taxpayer, second_taxpayer, register_for, monkeypatch
):
    monkeypatch.setattr(timezone, "now", lambda: datetime(2026, 3, 14, 9, 0, tzinfo=UTC))
    register_for(taxpayer, "A-1")
    monkeypatch.undo()
    set_status(register_for(taxpayer, "A-2"), RecordStatus.REJECTED, "1124")
    set_status(register_for(second_taxpayer, "B-1"), RecordStatus.ACCEPTED)

    page = login(owner).get(desk_url(account)).content.decode()
    assert "Mesa AEAT" in page
    assert "Rechazado: 1" in page and "En cola: 1" in page and "Aceptado: 1" in page
    assert "data-oldest-unsent" in page and "hace " in page
    assert "Nada pendiente" in page  # the second taxpayer has nothing unsent


# ---------------------------------------------------------------------------------------
# The inbox
# ---------------------------------------------------------------------------------------


def test_inbox_lists_what_needs_action_newest_first_with_the_explanation(
    account, taxpayer, second_taxpayer, register_for
):
    set_status(register_for(taxpayer, "A-ok"), RecordStatus.ACCEPTED)
    register_for(taxpayer, "A-queued")
    rejected = register_for(taxpayer, "A-rej")
    set_status(rejected, RecordStatus.REJECTED, "1124", "TipoImpositivo no permitido")
    failed = register_for(taxpayer, "A-err")
    set_status(failed, RecordStatus.ERROR)
    warned = register_for(second_taxpayer, "B-warn")
    set_status(warned, RecordStatus.ACCEPTED_WITH_ERRORS, "2000", "Huella incorrecta")

    items = worklist.inbox(account)

    assert [i.fiscal_invoice.invoice_number for i in items] == ["B-warn", "A-err", "A-rej"]
    by_number = {i.fiscal_invoice.invoice_number: i for i in items}
    rej = by_number["A-rej"]
    assert (rej.code, rej.aeat_description) == ("1124", "TipoImpositivo no permitido")
    assert rej.explanation == AEAT_ERRORS["1124"]
    assert rej.actions == ("subsanar", "corregir", "anular")
    assert by_number["A-err"].actions == ("reintentar",)
    assert "reintente" in by_number["A-err"].explanation
    assert by_number["B-warn"].actions == ("subsanar", "corregir", "anular")
    assert by_number["B-warn"].explanation == AEAT_ERRORS["2000"]
    only_second = worklist.inbox(account, taxpayer=second_taxpayer)
    assert [i.fiscal_invoice.invoice_number for i in only_second] == ["B-warn"]


def test_desk_page_shows_the_inbox_and_filters_it_by_taxpayer(
    login, owner, account, taxpayer, second_taxpayer, register_for
):
    set_status(register_for(taxpayer, "A-rej"), RecordStatus.REJECTED, "1124", "Tipo no válido")
    set_status(register_for(second_taxpayer, "B-err"), RecordStatus.ERROR)
    client = login(owner)

    page = client.get(desk_url(account)).content.decode()
    assert "A-rej" in page and "B-err" in page
    assert "Tipo no válido" in page and AEAT_ERRORS["1124"] in page
    assert ">Subsanar<" in page and ">Reintentar<" in page and ">Anular<" in page
    assert EMPTY not in page

    filtered = client.get(desk_url(account, contribuyente=second_taxpayer.pk)).content.decode()
    assert "B-err" in filtered and "A-rej" not in filtered


def test_desk_empty_state(login, owner, account, taxpayer, register_for):
    set_status(register_for(taxpayer, "A-ok"), RecordStatus.ACCEPTED)
    page = login(owner).get(desk_url(account)).content.decode()
    assert EMPTY in page


def test_desk_filter_by_another_accounts_taxpayer_is_404(login, owner, account, other_account):
    foreign = other_account.taxpayers.get()
    assert login(owner).get(desk_url(account, contribuyente=foreign.pk)).status_code == 404


# ---------------------------------------------------------------------------------------
# The fixes
# ---------------------------------------------------------------------------------------


def test_subsanar_a_rejected_record_chains_a_correction_with_rechazo_previo(
    login, owner, account, taxpayer, register_for
):
    invoice = register_for(taxpayer, "A-rej")
    rejected = set_status(invoice, RecordStatus.REJECTED, "1124")
    client = login(owner)

    response = client.post(fix_url(account, "subsanar", invoice), {"next": desk_url(account)})

    assert response.status_code == 302 and response.url == desk_url(account)
    new = invoice.records.order_by("-position").first()
    assert new.pk != rejected.pk and new.previous_id == rejected.pk
    assert new.position == rejected.position + 1
    assert new.record_type == BillingRecord.RecordType.CORRECTION
    assert (new.subsanacion, new.rechazo_previo) == ("S", "X")
    assert new.status == RecordStatus.QUEUED
    page = client.get(response.url).content.decode()
    assert "subsanación encadenada" in page and EMPTY in page


def test_subsanar_a_record_accepted_with_errors_chains_a_plain_correction(
    login, owner, account, taxpayer, register_for
):
    invoice = register_for(taxpayer, "A-warn")
    warned = set_status(invoice, RecordStatus.ACCEPTED_WITH_ERRORS, "2005")

    login(owner).post(fix_url(account, "subsanar", invoice))

    new = invoice.records.order_by("-position").first()
    assert new.previous_id == warned.pk
    assert new.record_type == BillingRecord.RecordType.CORRECTION
    assert (new.subsanacion, new.rechazo_previo) == ("S", "N")


def test_reintentar_puts_the_same_record_back_in_the_queue(
    login, owner, account, taxpayer, register_for
):
    invoice = register_for(taxpayer, "A-err")
    failed = set_status(invoice, RecordStatus.ERROR)
    client = login(owner)

    response = client.post(fix_url(account, "reintentar", invoice), follow=True)

    assert invoice.records.count() == 1
    failed.refresh_from_db()
    assert failed.status == RecordStatus.QUEUED
    assert "vuelve a la cola" in response.content.decode()


def test_anular_asks_for_confirmation_then_chains_an_anulacion(
    login, owner, account, taxpayer, register_for
):
    invoice = register_for(taxpayer, "A-rej")
    rejected = set_status(invoice, RecordStatus.REJECTED, "1189")
    client = login(owner)

    confirm = client.get(fix_url(account, "anular", invoice))
    assert confirm.status_code == 200
    assert "¿Anular la factura A-rej?" in confirm.content.decode()
    assert invoice.records.count() == 1

    response = client.post(fix_url(account, "anular", invoice), follow=True)

    new = invoice.records.order_by("-position").first()
    assert new.kind == BillingRecord.Kind.ANULACION and new.previous_id == rejected.pk
    # AEAT never held the rejected registration: SinRegistroPrevio=S.
    assert new.sin_registro_previo == "S"
    assert "registro de anulación encadenado" in response.content.decode()


def test_anular_of_an_invoice_issued_in_factu_cancels_the_invoice_too(
    login, owner, account, taxpayer
):
    from clients.services import create_client
    from invoicing.models import InvoiceStatus, Series
    from invoicing.services import Actor, DraftLine, create_draft, issue_invoice

    series = Series.objects.create(account=account, taxpayer=taxpayer, code="A")
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})
    draft = create_draft(
        taxpayer,
        series=series,
        client=acme,
        issue_date=date(2026, 3, 13),
        lines=[DraftLine("Consultoría", quantity=100, unit_price=100000)],
        actor=Actor(user=owner),
    )
    invoice = issue_invoice(draft, actor=Actor(user=owner))
    set_status(invoice.fiscal_invoice, RecordStatus.ACCEPTED_WITH_ERRORS, "2001")
    client = login(owner)

    page = client.get(desk_url(account)).content.decode()
    detail = reverse(
        "invoice_detail", kwargs={"account_slug": account.slug, "invoice_id": invoice.pk}
    )
    assert f'href="{detail}"' in page

    client.post(fix_url(account, "anular", invoice.fiscal_invoice), {"reason": "Duplicada"})

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED
    latest = invoice.fiscal_invoice.records.order_by("-position").first()
    assert latest.kind == BillingRecord.Kind.ANULACION
    assert latest.sin_registro_previo == ""  # AEAT holds the registration (with errors)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (RecordStatus.REJECTED, "reintentar"),  # a rejection is fixed, not resent
        (RecordStatus.ACCEPTED, "subsanar"),
        (RecordStatus.QUEUED, "reintentar"),
    ],
)
def test_a_fix_that_does_not_apply_is_refused_with_the_reason(
    login, owner, account, taxpayer, register_for, status, action
):
    invoice = register_for(taxpayer, "A-1")
    record = set_status(invoice, status)

    response = login(owner).post(fix_url(account, action, invoice), follow=True)

    assert invoice.records.count() == 1
    record.refresh_from_db()
    assert record.status == status
    page = response.content.decode()
    assert "no se ha hecho" in page and f"«{record.get_status_display().lower()}»" in page


def test_cancelling_twice_is_refused(login, owner, account, taxpayer, register_for):
    invoice = register_for(taxpayer, "A-1")
    set_status(invoice, RecordStatus.ACCEPTED)
    client = login(owner)
    client.post(fix_url(account, "anular", invoice))

    response = client.post(fix_url(account, "anular", invoice), follow=True)

    assert invoice.records.count() == 2
    assert "ya está anulada" in response.content.decode()


def test_record_refused_reason_is_shown_in_spanish(account, taxpayer, register_for):
    from verifactu.records import RecordRefused
    from verifactu.rules import Problem

    invoice = register_for(taxpayer, "A-1")
    exc = RecordRefused([Problem("xml", "Missing NIF", "4102")])
    reason = services.refusal_reason(exc, invoice)
    assert AEAT_ERRORS["4102"] in reason and "AEAT 4102" in reason


# ---------------------------------------------------------------------------------------
# Who may see and do what
# ---------------------------------------------------------------------------------------


def test_viewer_sees_the_desk_without_buttons_and_may_not_fix(
    login, viewer, account, taxpayer, register_for
):
    rejected = register_for(taxpayer, "A-rej")
    set_status(rejected, RecordStatus.REJECTED, "1124")
    failed = register_for(taxpayer, "A-err")
    set_status(failed, RecordStatus.ERROR)
    client = login(viewer)

    page = client.get(desk_url(account)).content.decode()
    assert "A-rej" in page and AEAT_ERRORS["1124"] in page
    assert "/subsanar/" not in page and "/reintentar/" not in page and "/anular/" not in page
    assert ">Subsanar<" not in page

    assert client.post(fix_url(account, "subsanar", rejected)).status_code == 403
    assert client.post(fix_url(account, "reintentar", failed)).status_code == 403
    assert client.get(fix_url(account, "anular", rejected)).status_code == 403
    assert client.post(fix_url(account, "anular", rejected)).status_code == 403
    assert rejected.records.count() == 1 and failed.records.get().status == RecordStatus.ERROR


def test_outsider_gets_404(login, outsider, account, taxpayer, register_for):
    invoice = register_for(taxpayer, "A-rej")
    set_status(invoice, RecordStatus.REJECTED)
    client = login(outsider)
    assert client.get(desk_url(account)).status_code == 404
    assert client.post(fix_url(account, "subsanar", invoice)).status_code == 404


def test_another_accounts_fiscal_invoice_is_404(
    login, accountant_elsewhere, other_account, account, taxpayer, register_for
):
    invoice = register_for(taxpayer, "A-rej")
    set_status(invoice, RecordStatus.REJECTED)
    client = login(accountant_elsewhere)
    for action in ("subsanar", "reintentar", "anular"):
        assert client.post(fix_url(other_account, action, invoice)).status_code == 404
    assert client.get(fix_url(other_account, "anular", invoice)).status_code == 404
    assert FiscalInvoice.objects.get(pk=invoice.pk).records.count() == 1


def test_the_fix_endpoints_only_take_post(login, owner, account, taxpayer, register_for):
    invoice = register_for(taxpayer, "A-rej")
    client = login(owner)
    assert client.get(fix_url(account, "subsanar", invoice)).status_code == 405
    assert client.get(fix_url(account, "reintentar", invoice)).status_code == 405


def test_next_must_stay_on_this_site(login, owner, account, taxpayer, register_for):
    invoice = register_for(taxpayer, "A-err")
    set_status(invoice, RecordStatus.ERROR)
    response = login(owner).post(
        fix_url(account, "reintentar", invoice), {"next": "https://evil.example/"}
    )
    assert response.url == desk_url(account)


# ---------------------------------------------------------------------------------------
# The desk does not slow down with the number of invoices
# ---------------------------------------------------------------------------------------


def _desk_queries(client, account) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(desk_url(account)).status_code == 200
    return len(ctx.captured_queries)


def test_desk_query_count_is_constant_as_invoices_grow(
    login, owner, account, taxpayer, second_taxpayer, register_for
):
    cycle = [
        RecordStatus.REJECTED,
        RecordStatus.ERROR,
        RecordStatus.ACCEPTED_WITH_ERRORS,
        RecordStatus.ACCEPTED,
        RecordStatus.QUEUED,
    ]

    def add(start, count):
        for n in range(start, start + count):
            who = taxpayer if n % 2 else second_taxpayer
            set_status(register_for(who, f"N-{n}"), cycle[n % len(cycle)], "1124")

    client = login(owner)
    client.get(desk_url(account))  # warm up: session, last_used_at
    add(0, 5)
    few = _desk_queries(client, account)
    add(5, 45)
    many = _desk_queries(client, account)
    assert many == few, (few, many)
    assert many <= 13  # 12, and one for the received e-invoices still to answer


# ---------------------------------------------------------------------------------------
# The taxpayer overview ("Resumen"): figures, the SVG chart, the page and the dashboard
# ---------------------------------------------------------------------------------------


def _months_ago(today: date, n: int) -> date:
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return date(y, m + 1, 1)


@pytest.fixture
def overview_data(account, taxpayer, owner):
    """Invoices issued 11, 2 and 0 months ago (one overdue, one paid, one cancelled, one
    draft), one 13 months ago (outside the window) and expenses in three months."""
    from clients.services import create_client
    from expenses.models import Expense
    from invoicing.models import Series
    from invoicing.services import (
        Actor,
        DraftLine,
        cancel_invoice,
        create_draft,
        issue_invoice,
        mark_paid,
    )

    today = timezone.localdate()
    actor = Actor(user=owner)
    series = Series.objects.create(account=account, taxpayer=taxpayer, code="O")
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})

    def issue(day, euros, due=None):
        line = DraftLine("Servicio", quantity=100, unit_price=euros * 100, iva_type="general")
        invoice = create_draft(
            taxpayer,
            series=series,
            client=acme,
            issue_date=day,
            lines=[line],
            actor=actor,
            due_date=due,
        )
        return issue_invoice(invoice, actor=actor)

    old = issue(_months_ago(today, 13), 5000)  # outside the 12 months, paid
    mark_paid(old, paid_at=timezone.now(), actor=actor)
    overdue_1 = issue(_months_ago(today, 11), 1000, due=_months_ago(today, 10))
    overdue_2 = issue(_months_ago(today, 2), 200, due=_months_ago(today, 1))
    paid = issue(_months_ago(today, 2), 300)
    mark_paid(paid, paid_at=timezone.now(), actor=actor)
    cancelled = issue(today, 700)
    cancel_invoice(cancelled, actor=actor)
    current = issue(today, 400, due=today + timedelta(days=30))
    create_draft(  # a draft counts nowhere
        taxpayer,
        series=series,
        client=acme,
        issue_date=today,
        actor=actor,
        lines=[DraftLine("Borrador", quantity=100, unit_price=999900, iva_type="general")],
    )
    for day, base, iva in ((_months_ago(today, 2), 10000, 2100), (today, 5000, 1050)):
        Expense.objects.create(
            account=account,
            taxpayer=taxpayer,
            date=day,
            description="Gasto",
            amount_cents=base + iva,
            base_cents=base,
            iva_rate_bp=2100,
            iva_cents=iva,
        )
    Expense.objects.create(  # no base given: total less IVA
        account=account,
        taxpayer=taxpayer,
        date=_months_ago(today, 5),
        description="Sin base",
        amount_cents=12100,
        iva_cents=2100,
        iva_rate_bp=2100,
    )
    return {
        "today": today,
        "old": old,
        "overdue": [overdue_1, overdue_2],
        "paid": paid,
        "current": current,
    }


def test_overview_figures(overview_data, taxpayer):
    from desk import overview
    from expenses.summaries import modelo_303, quarter_of

    today = overview_data["today"]
    figures = overview.build(taxpayer, today)
    months = {m.key: m for m in figures.months}
    assert len(figures.months) == 12
    assert figures.months[-1].key == f"{today.year}-{today.month:02d}"
    assert _months_ago(today, 11).strftime("%Y-%m") == figures.months[0].key
    assert _months_ago(today, 13).strftime("%Y-%m") not in months

    def at(n):
        return months[_months_ago(today, n).strftime("%Y-%m")]

    assert at(11).invoiced == 100000
    assert at(2).invoiced == 20000 + 30000  # overdue + paid; bases, without IVA
    assert at(0).invoiced == 40000  # the cancelled invoice and the draft count nowhere
    assert at(2).expenses == 10000 and at(0).expenses == 5000 and at(5).expenses == 10000
    assert figures.invoiced_12m == 190000 and figures.expenses_12m == 25000

    # Pending collection: sent + overdue, by total with IVA.
    assert figures.pending_count == 3
    assert figures.pending_cents == 121000 + 24200 + 48400
    # Overdue: past their due date, whether or not the periodic task marked them yet.
    assert figures.overdue_count == 2 and figures.overdue_cents == 121000 + 24200
    assert [i.pk for i in figures.oldest_overdue] == [i.pk for i in overview_data["overdue"]]

    m303 = modelo_303(taxpayer, today.year, quarter_of(today))
    assert figures.iva_result == m303.result == figures.iva_devengado - figures.iva_soportado
    assert figures.iva_devengado >= 8400 and figures.iva_soportado >= 1050


def test_overview_counts_the_task_marked_overdue_and_lists_only_five(overview_data, taxpayer):
    from desk import overview
    from invoicing.services import mark_overdue

    assert mark_overdue() == 2
    figures = overview.build(taxpayer, overview_data["today"])
    assert figures.overdue_count == 2 and figures.pending_count == 3
    assert len(figures.oldest_overdue) <= overview.OLDEST_OVERDUE


def test_overview_svg_is_well_formed_with_twelve_bars_per_series(overview_data, taxpayer):
    from lxml import etree

    from desk import overview

    svg = str(overview.build(taxpayer, overview_data["today"]).chart())
    root = etree.fromstring(svg.encode())  # well-formed XML, or it raises
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    bars = [r for r in root.iter(f"{ns}rect") if "bar" in r.get("class", "").split()]
    for series in ("invoiced", "expenses"):
        mine = [b for b in bars if b.get("data-series") == series]
        assert len(mine) == 12, series
        assert all(float(b.get("height")) >= 0 for b in mine)
    tallest = max(bars, key=lambda b: float(b.get("height")))
    assert tallest.get("data-series") == "invoiced" and tallest.get("data-cents") == "100000"
    assert "1.000,00 €" in tallest.find(f"{ns}title").text


def test_overview_svg_escapes_and_handles_empty_and_negative_months():
    from lxml import etree

    from desk.overview import Month, bar_chart_svg

    months = [Month(2026, m, 0, 0) for m in range(1, 13)]
    months[3] = Month(2026, 4, -5000, 0)
    root = etree.fromstring(str(bar_chart_svg(months)).encode())
    heights = [
        float(r.get("height"))
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.get("data-series")
    ]
    assert len(heights) == 24 and set(heights) == {0.0}


def test_overview_page_and_dashboard_fragment(login, owner, account, overview_data):
    client = login(owner)
    url = reverse("taxpayer_overview", args=[account.slug])
    page = client.get(url).content.decode()
    assert "Pendiente de cobro" in page and "1.936,00 €" in page  # 1210 + 242 + 484
    assert f"T {timezone.localdate().year}<" in page
    assert "<svg" in page and "<script" not in page.split('id="overview"')[1]
    for invoice in overview_data["overdue"]:
        detail = reverse("invoice_detail", args=[account.slug, invoice.pk])
        assert f'href="{detail}"' in page
    fragment = client.get(url + "?fragment=1").content.decode()
    assert "<html" not in fragment and "data-overview" in fragment
    dashboard = client.get(reverse("dashboard", args=[account.slug])).content.decode()
    assert f'href="{url}"' in dashboard and f'hx-get="{url}?fragment=1"' in dashboard


def test_overview_is_scoped_to_the_account(login, outsider, viewer, account, overview_data):
    url = reverse("taxpayer_overview", args=[account.slug])
    assert login(outsider).get(url).status_code == 404
    assert login(viewer).get(url).status_code == 200


def test_desk_rows_escape_what_taxpayers_and_the_aeat_wrote(
    login, owner, account, second_taxpayer, register_for
):
    """The rows are built in Python (desk.rows): names and AEAT texts are escaped as the
    template would."""
    fiscal_invoice = register_for(second_taxpayer, "B-1")
    set_status(fiscal_invoice, RecordStatus.REJECTED, "1124", "<script>alert(1)</script>")
    second_taxpayer.name = '<b>Bar "Pepe" & Hijos</b>'
    second_taxpayer.save(update_fields=["name"])
    page = login(owner).get(desk_url(account)).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>Bar" not in page and "&lt;b&gt;Bar &quot;Pepe&quot; &amp; Hijos&lt;/b&gt;" in page
    assert 'aria-label="Seleccionar B-1 (&lt;b&gt;Bar &quot;Pepe&quot;' in page
