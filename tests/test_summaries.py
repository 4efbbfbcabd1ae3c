"""Quarterly tax summaries (303, 130, 347), checked against figures computed by hand."""

from __future__ import annotations

from datetime import date

import pytest

from clients.services import create_client
from expenses import summaries
from expenses.exports import BOM
from expenses.services import create_expense
from factu.models import Taxpayer
from invoicing.services import (
    DraftLine,
    cancel_invoice,
    create_draft,
    issue_invoice,
    rectify_invoice,
)


@pytest.fixture
def acme(taxpayer):
    return create_client(taxpayer, {"name": "Acme SL", "nif": "A28045631", "country": "ES"})


@pytest.fixture
def shop(taxpayer):
    """A retailer under recargo de equivalencia."""
    return create_client(
        taxpayer,
        {"name": "Tienda Pepa", "nif": "B65410011", "country": "ES", "recargo_equivalencia": True},
    )


@pytest.fixture
def issue(taxpayer, series, actor):
    def _issue(client, when, lines, irpf_bp=0):
        draft = create_draft(
            taxpayer,
            series=series,
            client=client,
            issue_date=when,
            lines=[DraftLine(d, quantity=100, unit_price=p, iva_type=t) for d, p, t in lines],
            irpf_bp=irpf_bp,
            actor=actor,
        )
        return issue_invoice(draft, actor=actor)

    return _issue


def expense(taxpayer, when, amount, base=None, rate=None, **extra):
    return create_expense(
        taxpayer,
        {
            "date": when,
            "description": extra.pop("description", "Gasto"),
            "amount_cents": amount,
            "base_cents": base,
            "iva_rate_bp": rate,
            **extra,
        },
    )


@pytest.fixture
def first_quarter(taxpayer, issue, acme, shop, actor, rect_series, series):
    """The quarter computed by hand in the test below (Q1 2026)."""
    # 1. 1.000,00 at 21 % with IRPF 15 %.
    first = issue(acme, date(2026, 1, 10), [("Consultoría", 100000, "general")], irpf_bp=1500)
    # 2. 500,00 at 10 % and 200,00 at 4 %.
    issue(
        acme, date(2026, 1, 20), [("Obra", 50000, "reducido"), ("Libros", 20000, "superreducido")]
    )
    # 3. Recargo de equivalencia: 300,00 at 21 % (+5,2 %) and 100,00 at 10 % (+1,4 %).
    issue(shop, date(2026, 2, 5), [("Género", 30000, "general"), ("Comida", 10000, "reducido")])
    # 4. Issued, then cancelled (annulled): counts nowhere.
    cancelled = issue(acme, date(2026, 2, 10), [("Error", 40000, "general")], irpf_bp=1500)
    cancel_invoice(cancelled, actor=actor, reason="Emitida por error")
    # 5. A draft never issued: counts nowhere.
    create_draft(
        taxpayer,
        series=series,
        client=acme,
        issue_date=date(2026, 3, 20),
        lines=[DraftLine("Borrador", quantity=100, unit_price=99999)],
        actor=actor,
    )
    # 6. A rectificativa of #1 by differences: -100,00 at 21 % (IRPF 15 % too).
    rect = rectify_invoice(
        first,
        series=rect_series,
        rectification_type="I",
        lines=[DraftLine("Descuento", quantity=100, unit_price=-10000, iva_type="general")],
        issue_date=date(2026, 3, 1),
        actor=actor,
    )
    issue_invoice(rect, actor=actor)
    # Expenses.
    expense(taxpayer, date(2026, 1, 15), 12100, 10000, 2100, description="Software")
    expense(taxpayer, date(2026, 2, 1), 6050, 5000, 2100, deductible_bp=5000, description="Gasoil")
    expense(
        taxpayer, date(2026, 2, 20), 3300, 3000, 1000, is_deductible=False, description="Comida"
    )
    expense(taxpayer, date(2026, 3, 5), 20000, description="Seguro (exento)")
    # IVA computed by the service: 1001 × 21 % = 210,21 → 210; 50 % deductible.
    expense(taxpayer, date(2026, 3, 10), 1211, 1001, 2100, deductible_bp=5000)
    # Next quarter: not in Q1.
    expense(taxpayer, date(2026, 4, 2), 1210, 1000, 2100)


def test_303_of_a_quarter_computed_by_hand(taxpayer, first_quarter):
    m303 = summaries.modelo_303(taxpayer, 2026, 1)
    v = m303.values
    # Devengado: 21 % = 1000 + 300 - 100 bases; 210 + 63 - 21 cuotas.
    assert (v["devengado_2100_base"], v["devengado_2100_cuota"]) == (120000, 25200)
    assert (v["devengado_1000_base"], v["devengado_1000_cuota"]) == (60000, 6000)
    assert (v["devengado_400_base"], v["devengado_400_cuota"]) == (20000, 800)
    # Recargo: 300 × 5,2 % = 15,60; 100 × 1,4 % = 1,40.
    assert (v["recargo_520_base"], v["recargo_520_cuota"]) == (30000, 1560)
    assert (v["recargo_140_base"], v["recargo_140_cuota"]) == (10000, 140)
    assert (v["recargo_50_base"], v["recargo_50_cuota"]) == (0, 0)
    assert v["total_devengado"] == 25200 + 6000 + 800 + 1560 + 140 == 33700
    # Soportado: 100 + 50 % of 50 + 50 % of 10,01 (5,005 → 5,01); cuotas 21 + 5,25 + 1,05.
    assert (v["soportado_base"], v["soportado_cuota"]) == (13001, 2730)
    assert v["total_deducir"] == 2730
    assert v["resultado"] == m303.result == 33700 - 2730 == 30970


def test_303_rows_take_box_numbers_from_the_year_data(taxpayer, first_quarter):
    rows = {row.key: row for row in summaries.modelo_303(taxpayer, 2026, 1).rows()}
    assert (rows["devengado_2100_base"].box, rows["devengado_2100_cuota"].box) == ("07", "09")
    assert rows["devengado_2100_cuota"].display == "252,00 €"
    assert rows["resultado"].box == "46" and rows["resultado"].display == "309,70 €"
    # A year without its own file uses the latest earlier one.
    assert summaries.boxes_for(2031)["year"] == 2026
    assert summaries.boxes_for(2031)["303"]["total_devengado"]["box"] == "27"


def test_130_of_a_quarter_computed_by_hand(taxpayer, first_quarter):
    v = summaries.modelo_130(taxpayer, 2026, 1).values
    assert v["ingresos"] == 100000 + 70000 + 40000 - 10000 == 200000
    # 100 + 50 % of 50 + 200 (no base: the total) + 50 % of 10,01; the lunch is not deductible.
    assert v["gastos"] == 10000 + 2500 + 20000 + 501 == 33001
    assert v["rendimiento"] == 166999
    assert v["veinte_por_ciento"] == 33400  # 333,998 rounded
    assert v["retenciones"] == 15000 - 1500 == 13500
    assert v["pagos_anteriores"] == 0
    assert v["resultado"] == 33400 - 13500 == 19900


def test_130_deducts_earlier_quarters_and_never_goes_negative(taxpayer, first_quarter, issue, acme):
    issue(acme, date(2026, 4, 15), [("Proyecto", 200000, "general")])
    expense(taxpayer, date(2026, 4, 20), 60500, 50000, 2100)
    second = summaries.modelo_130(taxpayer, 2026, 2).values
    # Income 4000; expenses 330,01 + 10 (2 April) + 500; 20 % of 3159,99 = 632,00.
    assert second["ingresos"] == 400000
    assert second["gastos"] == 33001 + 1000 + 50000 == 84001
    assert second["veinte_por_ciento"] == 63200
    assert second["pagos_anteriores"] == 19900
    assert second["resultado"] == 63200 - 19900 - 13500 == 29800
    # A big Q3 expense: the net falls, the payment is 0, not negative.
    expense(taxpayer, date(2026, 7, 1), 300000)
    third = summaries.modelo_130(taxpayer, 2026, 3).values
    assert third["pagos_anteriores"] == 19900 + 29800
    assert third["resultado"] == 0
    # 303 of Q2: only Q2's rows.
    q2 = summaries.modelo_303(taxpayer, 2026, 2).values
    assert (q2["devengado_2100_base"], q2["devengado_2100_cuota"]) == (200000, 42000)
    assert (q2["soportado_base"], q2["soportado_cuota"]) == (51000, 10710)


def substitute(original, rect_series, actor, concept: str, unit_price: int, day: date):
    """Issue a rectificativa by substitution of ``original``: one line of ``unit_price``."""
    rect = rectify_invoice(
        original,
        series=rect_series,
        rectification_type="S",
        lines=[DraftLine(concept, quantity=100, unit_price=unit_price)],
        issue_date=day,
        actor=actor,
    )
    return issue_invoice(rect, actor=actor)


def test_rectificativa_by_substitution_counts_the_difference(
    taxpayer, issue, acme, actor, rect_series
):
    original = issue(acme, date(2026, 1, 10), [("Consultoría", 100000, "general")])
    substitute(original, rect_series, actor, "Consultoría", 80000, date(2026, 5, 4))
    q2 = summaries.modelo_303(taxpayer, 2026, 2).values
    assert (q2["devengado_2100_base"], q2["devengado_2100_cuota"]) == (-20000, -4200)
    assert summaries.modelo_130(taxpayer, 2026, 2).values["ingresos"] == 80000


def test_347_threshold_is_exclusive(taxpayer, issue, acme, shop):
    # 2.483,52 + 21 % (521,54) = 3.005,06: exactly the threshold, not declared.
    issue(acme, date(2026, 2, 1), [("Servicio", 248352, "general")])
    # Twice 1.200,00 + 21 % + recargo 5,2 % = 3.028,80 over two quarters: declared.
    issue(shop, date(2026, 3, 1), [("Género", 120000, "general")])
    issue(shop, date(2026, 5, 1), [("Género", 120000, "general")])
    # Suppliers: 3.005,06 in two expenses (not declared), 3.005,07 (declared).
    expense(taxpayer, date(2026, 1, 5), 200000, supplier_nif="B10000008", supplier_name="Uno")
    expense(taxpayer, date(2026, 6, 5), 100506, supplier_nif="B10000008", supplier_name="Uno")
    expense(taxpayer, date(2026, 1, 5), 300507, supplier_nif="B20000006", supplier_name="Dos")
    # Foreign suppliers and invoices with IRPF withheld are not in the 347.
    expense(taxpayer, date(2026, 1, 6), 900000, supplier_nif="FR12345678901")
    issue(acme, date(2026, 6, 1), [("Honorarios", 900000, "general")], irpf_bp=1500)

    parties = summaries.modelo_347(taxpayer, 2026)
    assert [(p.key, p.nif, p.total_cents) for p in parties] == [
        ("B", "B65410011", 2 * (120000 + 25200 + 6240)),
        ("A", "B20000006", 300507),
    ]
    assert parties[0].quarters == (151440, 151440, 0, 0)
    assert parties[0].name == "Tienda Pepa"

    # One more cent to Acme and it is declared.
    issue(acme, date(2026, 7, 1), [("Ajuste", 1, "cero")])
    assert ("B", "A28045631", 300507) in [
        (p.key, p.nif, p.total_cents) for p in summaries.modelo_347(taxpayer, 2026)
    ]


def test_summaries_are_per_taxpayer(taxpayer, other_account):
    other = other_account.taxpayers.get()
    expense(other, date(2026, 1, 5), 12100, 10000, 2100)
    assert summaries.modelo_303(taxpayer, 2026, 1).values["soportado_cuota"] == 0
    assert summaries.modelo_303(other, 2026, 1).values["soportado_cuota"] == 2100


def test_quarter_ranges():
    assert summaries.quarter_range(2026, 1) == (date(2026, 1, 1), date(2026, 3, 31))
    assert summaries.quarter_range(2028, 1)[1] == date(2028, 3, 31)
    assert summaries.quarter_range(2026, 4) == (date(2026, 10, 1), date(2026, 12, 31))
    with pytest.raises(ValueError):
        summaries.quarter_range(2026, 5)


# --- the page and its export ------------------------------------------------------------------


@pytest.fixture
def files_130(taxpayer):
    """The figures of the first quarter are an autónomo's: in estimación directa."""
    taxpayer.irpf_regime = Taxpayer.IrpfRegime.DIRECT_SIMPLIFIED
    taxpayer.save(update_fields=["irpf_regime"])


def test_summary_page_shows_boxes_in_spanish_format(login, owner, first_quarter, files_130):
    response = login(owner).get("/c/estudio-sol/gastos/impuestos/?year=2026&quarter=1")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Casilla 07" in html and "1.200,00 €" in html
    assert "Casilla 09" in html and "252,00 €" in html
    assert "309,70 €" in html  # 303 result
    assert "199,00 €" in html  # 130 result
    assert "Modelo 347" in html


def test_summary_csv(login, owner, first_quarter, files_130):
    response = login(owner).get("/c/estudio-sol/gastos/impuestos/exportar.csv?year=2026&quarter=1")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    lines = text[1:].splitlines()
    assert lines[0] == "Modelo;Periodo;Casilla;Concepto;NIF;Nombre;Importe"
    assert "303;1T 2026;07;Régimen general 21 %: base imponible;;;1200,00" in lines
    assert "303;1T 2026;46;Resultado régimen general;;;309,70" in lines
    assert "130;1T 2026;07;Pago fraccionado previo del trimestre;;;199,00" in lines


def test_summary_page_access(login, viewer, outsider, first_quarter, client):
    assert login(viewer).get("/c/estudio-sol/gastos/impuestos/").status_code == 200
    client.logout()
    assert login(outsider).get("/c/estudio-sol/gastos/impuestos/").status_code == 404


def test_the_summaries_read_the_same_from_columns_as_from_invoices(
    taxpayer, first_quarter, issue, acme, shop, actor, rect_series
):
    """The page reads the invoices' columns and lines' inputs (expenses.declared), not
    model instances: every figure is the same as from the instances, a substitution too."""
    original = issue(shop, date(2026, 3, 2), [("Género", 90000, "general")])
    substitute(original, rect_series, actor, "Género", 70000, date(2026, 3, 25))
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    instances = list(summaries.declared_invoices(taxpayer, start, end))
    rows = summaries.declared_rows(taxpayer, start, end)
    assert [r.id for r in rows] == [i.id for i in instances]
    assert sum(r.rectified_invoice is not None for r in rows) == 1
    expenses = list(summaries.taxpayer_expenses(taxpayer, start, end))
    assert summaries.vat_303(rows, expenses) == summaries.vat_303(instances, expenses)
    assert summaries.irpf_130(rows, expenses, 1) == summaries.irpf_130(instances, expenses, 1)
    assert summaries.third_parties_347(rows, expenses, 0) == summaries.third_parties_347(
        instances, expenses, 0
    )
    assert summaries.vat_303(rows, [])["devengado_2100_base"] != 0
