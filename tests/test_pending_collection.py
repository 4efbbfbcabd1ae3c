"""An invoice's totals and its pending collection have one definition (invoicing.totals):
the invoice list's footer, the overview (page and dashboard fragment), the 303 and the 130
agree on an account with drafts, paid invoices rectified by differences and by
substitution, an unpaid invoice substituted, and a cancellation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from clients.services import create_client
from desk import overview
from expenses import summaries
from invoicing import totals
from invoicing.models import Invoice
from invoicing.services import (
    Actor,
    DraftLine,
    cancel_invoice,
    create_draft,
    issue_invoice,
    mark_paid,
    rectify_invoice,
)
from invoicing.taxes import format_euros

DECLARED_BASE = 100000 + 50000 + 30000 - 10000 + 15000 + 35000
DECLARED_IVA = DECLARED_BASE * 21 // 100
PENDING = 121000 + 42350  # the unpaid invoice, and the substitute of the unpaid one


@pytest.fixture
def seeded(taxpayer, owner, series, rect_series):
    """All dated today, at 21 %: one invoice of each kind the figures must treat apart."""
    actor = Actor(user=owner)
    today = timezone.localdate()
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})

    def line(euros):
        return [DraftLine("Servicio", quantity=100, unit_price=euros * 100, iva_type="general")]

    def draft(euros):
        return create_draft(
            taxpayer, series=series, client=acme, issue_date=today, lines=line(euros), actor=actor
        )

    def issue(euros, paid=False):
        invoice = issue_invoice(draft(euros), actor=actor)
        if paid:
            invoice = mark_paid(invoice, paid_at=timezone.now(), actor=actor)
        return invoice

    def rectify(original, kind, euros):
        rect = rectify_invoice(
            original,
            series=rect_series,
            rectification_type=kind,
            lines=line(euros),
            issue_date=today,
            actor=actor,
        )
        return issue_invoice(rect, actor=actor)

    issue(1000)  # unpaid: to collect
    issue(500, paid=True)
    rectify(issue(300, paid=True), "I", -100)  # a paid invoice's refund: not to collect
    rectify(issue(200, paid=True), "S", 150)  # a paid invoice replaced: not to collect
    rectify(issue(400), "S", 350)  # unpaid, replaced: its substitute is what is owed
    cancel_invoice(issue(700), actor=actor, reason="Emitida por error")
    draft(9999)  # a draft counts nowhere
    return today


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("\xa0", " ")


def _figure(html: str, name: str) -> str:
    card = re.search(rf'data-figure="{name}">(.*?)</li>', html, re.S).group(1)
    return _text(re.search(r'class="figure[^"]*">(.*?)</p>', card, re.S).group(1)).strip()


def _euros(cents: int) -> str:
    return format_euros(cents).replace("\xa0", " ")


def test_the_functions_agree_on_what_the_invoices_add_up_to_and_what_is_pending(taxpayer, seeded):
    today = seeded
    invoices = Invoice.objects.filter(account=taxpayer.account, taxpayer=taxpayer)
    sums = totals.declared_sums(invoices)
    assert (sums.count, sums.base, sums.iva) == (8, DECLARED_BASE, DECLARED_IVA)
    assert sums.total == DECLARED_BASE + DECLARED_IVA

    quarter = summaries.quarter_of(today)
    m303 = summaries.modelo_303(taxpayer, today.year, quarter)
    m130 = summaries.modelo_130(taxpayer, today.year, quarter)
    assert m303.values["devengado_2100_base"] == sums.base
    assert m303.values["devengado_2100_cuota"] == m303.values["total_devengado"] == sums.iva
    assert m130.values["ingresos"] == sums.base

    figures = overview.build(taxpayer, today)
    assert figures.invoiced_12m == sums.base
    assert figures.iva_devengado == sums.iva
    pending = totals.pending_collection(invoices)
    assert (pending.count, pending.cents) == (2, PENDING)
    assert (figures.pending_count, figures.pending_cents) == (2, PENDING)


def test_the_pages_show_the_same_figures(client, login, owner, account, taxpayer, seeded):
    today = seeded
    taxpayer.irpf_regime = taxpayer.IrpfRegime.DIRECT_SIMPLIFIED  # so the 130 shows its income
    taxpayer.save(update_fields=["irpf_regime"])
    login(owner)
    shown_pending = _euros(PENDING)
    page = client.get(reverse("taxpayer_overview", args=[account.slug])).content.decode()
    assert _figure(page, "pending") == shown_pending
    fragment = client.get(
        reverse("taxpayer_overview", args=[account.slug]) + "?fragment=1"
    ).content.decode()
    assert _figure(fragment, "pending") == shown_pending
    assert f"Facturado {_euros(DECLARED_BASE)}" in _text(page)

    listing = client.get(reverse("invoice_list", args=[account.slug])).content.decode()
    footer = _text(re.search(r'<tr class="sums">(.*?)</tr>', listing, re.S).group(1))
    assert footer.strip().startswith("8 facturas")
    assert f"Base imponible {_euros(DECLARED_BASE)} · IVA {_euros(DECLARED_IVA)}" in footer
    assert footer.rstrip().endswith(_euros(DECLARED_BASE + DECLARED_IVA))

    quarter = summaries.quarter_of(today)
    taxes_page = _text(
        client.get(
            reverse("tax_summary", args=[account.slug]),
            {"year": today.year, "quarter": quarter},
        ).content.decode()
    )
    assert taxes_page.count(_euros(DECLARED_BASE)) >= 2  # 303 base at 21 %, 130 income
    assert _euros(DECLARED_IVA) in taxes_page


@pytest.fixture
def issue_on(taxpayer, owner, series, rect_series):
    """Issue an invoice of ``euros`` at 21 %, dated ``days_ago`` and due ``due_in`` days
    from today; ``substitute=`` a rectificativa by substitution of that original."""
    actor = Actor(user=owner)
    today = timezone.localdate()
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})

    def issue(euros, *, days_ago=0, due_in=30, substitute=None):
        lines = [DraftLine("Servicio", quantity=100, unit_price=euros * 100, iva_type="general")]
        issue_date = today - timedelta(days=days_ago)
        due = issue_date + timedelta(days=due_in)
        if substitute is None:
            invoice = create_draft(
                taxpayer,
                series=series,
                client=acme,
                issue_date=issue_date,
                due_date=due,
                lines=lines,
                actor=actor,
            )
        else:
            invoice = rectify_invoice(
                substitute,
                series=rect_series,
                rectification_type="S",
                lines=lines,
                issue_date=issue_date,
                actor=actor,
            )
            invoice.due_date = due
            invoice.save(update_fields=["due_date"])
        return issue_invoice(invoice, actor=actor)

    return issue


def test_an_overdue_invoice_replaced_by_its_substitute_is_no_longer_overdue(taxpayer, issue_on):
    """The substitute (due later) is what the client owes: "Vencidas" never counts more than
    "Pendiente de cobro" does."""
    today = timezone.localdate()
    late = issue_on(400, days_ago=60, due_in=30)
    issue_on(100, days_ago=45, due_in=15)  # overdue, nothing replaces it
    issue_on(350, substitute=late)
    figures = overview.build(taxpayer, today)
    assert (figures.pending_count, figures.pending_cents) == (2, 42350 + 12100)
    assert (figures.overdue_count, figures.overdue_cents) == (1, 12100)
    assert [i.total_cents for i in figures.oldest_overdue] == [12100]


def test_a_substitute_of_a_cancelled_original_counts_in_full(taxpayer, owner, issue_on):
    original = issue_on(400)
    substitute = issue_on(350, substitute=original)
    cancel_invoice(original, actor=Actor(user=owner), reason="Emitida por error")
    invoices = Invoice.objects.filter(account=taxpayer.account, taxpayer=taxpayer)
    sums = totals.declared_sums(invoices)
    assert (sums.count, sums.base, sums.total) == (1, 35000, substitute.total_cents)
