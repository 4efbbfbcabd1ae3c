"""The 303 of a taxpayer in the criterio de caja (RECC, key 07): output IVA counts on the
payment dates, in proportion to what was paid, and what is still unpaid on 31 December of
the year after the operation counts then (art. 163 terdecies LIVA). Figures by hand."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.urls import reverse

from clients.services import create_client
from expenses import summaries
from invoicing import payments
from invoicing.services import DraftLine, create_draft, issue_invoice, rectify_invoice

GENERAL = "general"


@pytest.fixture
def in_the_regime(taxpayer):
    """The taxpayer opted into the criterio de caja before issuing anything."""
    taxpayer.cash_criterion = True
    taxpayer.save()
    return taxpayer


@pytest.fixture
def books(taxpayer, series, rect_series, actor):
    """B (2025, unpaid), A (2026-01, paid 1/3 in Q1 and the rest in Q2), C (2026-02, with an
    exempt line, unpaid), and R (a refund of A, paid back in Q1)."""
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})

    def issue(when, lines):
        draft = create_draft(
            taxpayer, series=series, client=acme, issue_date=when, lines=lines, actor=actor
        )
        return issue_invoice(draft, actor=actor)

    def pay(invoice, when, cents):
        payments.add_payment(invoice, day=when, amount_cents=cents, actor=actor, today=when)

    issue(date(2025, 11, 10), [DraftLine("Diseño", 100, 50000, GENERAL)])  # B: 605,00
    a = issue(date(2026, 1, 15), [DraftLine("Consultoría", 100, 100000, GENERAL)])  # 1.210,00
    issue(
        date(2026, 2, 1),
        [
            DraftLine("Soporte", 100, 20000, GENERAL),
            DraftLine("Formación", 100, 10000, "exento", cause="E1"),
        ],
    )
    refund = rectify_invoice(
        a,
        series=rect_series,
        rectification_type="I",
        lines=[DraftLine("Descuento", quantity=-100, unit_price=10000, iva_type=GENERAL)],
        issue_date=date(2026, 3, 1),
        actor=actor,
    )
    refund = issue_invoice(refund, actor=actor)
    pay(a, date(2026, 2, 10), 40333)  # a third
    pay(refund, date(2026, 3, 5), 12100)  # the whole refund
    pay(a, date(2026, 5, 10), 121000 - 40333)
    return taxpayer


def boxes(taxpayer, year, quarter):
    values = summaries.modelo_303(taxpayer, year, quarter).values
    return (
        values["devengado_2100_base"],
        values["devengado_2100_cuota"],
        values["otras_bases"],
    )


def test_cash_criterion_counts_iva_as_it_is_collected_and_on_the_second_31_december(
    in_the_regime, books
):
    # Q4 2025: B is issued but unpaid: nothing yet.
    assert boxes(books, 2025, 4) == (0, 0, 0)
    # Q1 2026: a third of A (100.000 × 40.333 / 121.000 = 33.333,06; 21.000 × … = 6.999,94),
    # the refund paid back, C's exempt base on issue, C's IVA not collected.
    assert boxes(books, 2026, 1) == (33333 - 10000, 7000 - 2100, 10000)
    # Q2: the rest of A, so that A's quarters add up to exactly its IVA.
    assert boxes(books, 2026, 2) == (100000 - 33333, 21000 - 7000, 0)
    assert boxes(books, 2026, 3) == (0, 0, 0)
    # Q4 2026: B still unpaid on 31 December of the year after its operation.
    assert boxes(books, 2026, 4) == (50000, 10500, 0)
    # C (operation in 2026) waits for 31 December 2027.
    assert boxes(books, 2027, 4) == (20000, 4200, 0)


def test_without_cash_criterion_iva_counts_on_issue(books):
    assert boxes(books, 2025, 4) == (50000, 10500, 0)
    assert boxes(books, 2026, 1) == (100000 + 20000 - 10000, 21000 + 4200 - 2100, 10000)
    assert boxes(books, 2026, 2) == (0, 0, 0)
    assert boxes(books, 2026, 4) == (0, 0, 0)


def test_the_tax_page_says_the_303_follows_the_criterio_de_caja(
    in_the_regime, books, login, owner, account
):
    client = login(owner)
    url = reverse("tax_summary", args=[account.slug])
    html = client.get(url, {"year": 2026, "quarter": 1}).content.decode().replace("\xa0", " ")
    assert "Criterio de caja: el IVA repercutido cuenta cuando se cobra" in html
    assert "49,00 €" in html and "233,33 €" in html  # a third of A, less the refund


def test_opting_in_later_never_rewrites_what_was_issued_before(books, taxpayer):
    """Issued on accrual, the IVA was declared on issue: opting in afterwards neither empties
    that quarter nor counts the same IVA again when it is collected."""
    before = [boxes(books, 2026, quarter) for quarter in (1, 2, 3, 4)]
    taxpayer.cash_criterion = True
    taxpayer.save()
    assert [boxes(books, 2026, quarter) for quarter in (1, 2, 3, 4)] == before


def test_opting_out_keeps_the_invoices_issued_in_the_regime_on_collection(
    in_the_regime, books, taxpayer
):
    before = [boxes(books, year, quarter) for year in (2026, 2027) for quarter in (1, 2, 3, 4)]
    taxpayer.cash_criterion = False
    taxpayer.save()
    after = [boxes(books, year, quarter) for year in (2026, 2027) for quarter in (1, 2, 3, 4)]
    assert after == before


def test_an_invoice_issued_in_the_regime_declares_key_07_for_its_taxed_iva(
    in_the_regime, series, actor
):
    acme = create_client(in_the_regime, {"name": "Acme SL", "nif": "A28045631"})
    draft = create_draft(
        in_the_regime,
        series=series,
        client=acme,
        issue_date=date(2026, 1, 15),
        lines=[
            DraftLine("Consultoría", 100, 100000, GENERAL),
            DraftLine("Formación", 100, 10000, "exento", cause="E1"),
        ],
        actor=actor,
    )
    invoice = issue_invoice(draft, actor=actor)
    assert invoice.cash_criterion
    xml = invoice.fiscal_invoice.records.get().xml
    regimes = re.findall(r"<(?:\w+:)?ClaveRegimen>(\d\d)<", xml)
    assert sorted(regimes) == ["01", "07"]  # the exempt base stays in the general key


def test_an_invoice_issued_outside_the_regime_declares_key_01(taxpayer, series, actor):
    acme = create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631"})
    draft = create_draft(
        taxpayer,
        series=series,
        client=acme,
        issue_date=date(2026, 1, 15),
        lines=[DraftLine("Consultoría", 100, 100000, GENERAL)],
        actor=actor,
    )
    invoice = issue_invoice(draft, actor=actor)
    assert not invoice.cash_criterion
    xml = invoice.fiscal_invoice.records.get().xml
    assert re.findall(r"<(?:\w+:)?ClaveRegimen>(\d\d)<", xml) == ["01"]
