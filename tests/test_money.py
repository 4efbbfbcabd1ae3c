"""One rounding rule for money (factu.money), and every path that derives an amount obeys it:
an invoice's cuotas, an expense's cuota, the cuota AEAT's rules expect."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expenses.services import create_expense
from factu.money import BP_DENOMINATOR, round_half_up, share_cents
from invoicing.taxes import LineInput, compute_totals
from tests.conftest import make_facts
from verifactu.facts import BreakdownFacts
from verifactu.rules import check_invoice


def oracle(numerator: int, denominator: int) -> int:
    """An independent oracle: Decimal's ROUND_HALF_UP is half away from zero."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(0, ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("cents", "rate_bp", "expected"),
    [
        (0, 2100, 0),
        (10000, 2100, 2100),
        (-10000, 2100, -2100),
        (100000, 1500, 15000),  # IRPF 15 % of 1.000 €
        (10000, 520, 520),
        (12345, 0, 0),
        (12345, BP_DENOMINATOR, 12345),
        # exact halves, both signs: away from zero, never to even, never towards −∞
        (50, 2100, 11),  # 10.5
        (-50, 2100, -11),
        (150, 2100, 32),  # 31.5
        (-150, 2100, -32),
        (5, 1000, 1),  # 0.5
        (-5, 1000, -1),
        (25, 1000, 3),  # 2.5: banker's rounding would give 2
        (-25, 1000, -3),
        (-5, 5000, -3),  # 2.5, as when half of an expense is deductible
        # just off the half
        (49, 1000, 5),  # 4.9
        (-49, 1000, -5),
        (-4, 1000, 0),  # 0.4
        (-6, 1000, -1),  # 0.6
        # large: beyond float precision, exact in integers
        (99_999_999_999_999, 2100, 21_000_000_000_000),  # 20.999.999.999.999,79
        (-99_999_999_999_999, 2100, -21_000_000_000_000),
        (10**15 + 50, 2100, 210_000_000_000_011),  # …010,5
        (-(10**15 + 50), 2100, -210_000_000_000_011),
    ],
)
def test_share_cents_rounds_halves_away_from_zero(cents, rate_bp, expected):
    assert share_cents(cents, rate_bp) == expected


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [(1, 2, 1), (-1, 2, -1), (3, 2, 2), (-3, 2, -2), (1, 3, 0), (-2, 3, -1), (0, 7, 0)],
)
def test_round_half_up_table(numerator, denominator, expected):
    assert round_half_up(numerator, denominator) == expected


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_round_half_up_matches_decimal_half_away_from_zero(numerator, denominator):
    assert round_half_up(numerator, denominator) == oracle(numerator, denominator)


@given(st.integers(-(10**14), 10**14), st.integers(0, BP_DENOMINATOR))
def test_share_cents_is_symmetric_and_matches_decimal(cents, rate_bp):
    assert share_cents(cents, rate_bp) == oracle(cents * rate_bp, BP_DENOMINATOR)
    assert share_cents(-cents, rate_bp) == -share_cents(cents, rate_bp)


def test_round_half_up_refuses_a_non_positive_denominator():
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(1, 0)
    with pytest.raises(ValueError, match="denominator"):
        round_half_up(1, -2)


@pytest.mark.parametrize("bad", [0.5, Decimal("1"), True, "1"])
def test_money_is_never_a_float_or_a_bool(bad):
    with pytest.raises(TypeError):
        share_cents(bad, 2100)
    with pytest.raises(TypeError):
        share_cents(100, bad)


# --- every path agrees -----------------------------------------------------------------------

IVA_TYPE = {2100: "general", 1000: "reducido"}
# Bases whose cuota is an exact half cent, and a few that are not.
HALVES = [(-50, 2100), (-150, 2100), (-5, 1000), (-1235, 1000), (50, 2100), (5, 1000)]
OTHERS = [(-49, 2100), (-51, 2100), (-4, 1000), (-6, 1000), (12345, 2100)]


def invoice_cuota(base: int, rate_bp: int) -> int:
    """The cuota an invoice (or, for a negative base, a rectificativa) of one line declares."""
    line = LineInput(quantity=100, unit_price=base, iva_type=IVA_TYPE[rate_bp])
    return compute_totals([line], rectificativa=base < 0).iva_cents


@pytest.mark.parametrize(("base", "rate_bp"), HALVES + OTHERS)
def test_an_expense_rounds_its_cuota_as_an_invoice_does(taxpayer, base, rate_bp):
    cuota = invoice_cuota(base, rate_bp)
    assert cuota == share_cents(base, rate_bp)
    expense = create_expense(
        taxpayer,
        {
            "date": date(2026, 2, 3),
            "description": "Abono del proveedor" if base < 0 else "Compra",
            "amount_cents": base + cuota,
            "base_cents": base,
            "iva_rate_bp": rate_bp,
        },
    )
    expense.refresh_from_db()
    assert expense.iva_cents == cuota


def test_a_negative_half_cent_of_an_expense_is_minus_one_cent(taxpayer):
    """The bug of issue 17: −0,50 € at 21 % is −0,105 €, which the expense made −0,10 €."""
    expense = create_expense(
        taxpayer,
        {
            "date": date(2026, 2, 3),
            "description": "Abono",
            "amount_cents": -61,
            "base_cents": -50,
            "iva_rate_bp": 2100,
        },
    )
    assert expense.iva_cents == -11 == invoice_cuota(-50, 2100)


@pytest.mark.parametrize(("base", "rate_bp"), [(50, 2100), (150, 2100), (5, 1000), (1235, 1000)])
def test_aeat_rules_expect_the_cuota_an_invoice_declares(base, rate_bp):
    """Rule 1142 tolerates 10 € around base × rate: around the invoice's own cuota, so a cuota
    exactly 10 € off it passes and one 10,01 € off is refused, halves included."""
    cuota = invoice_cuota(base, rate_bp)
    amount, rate = Decimal(base).scaleb(-2), Decimal(rate_bp).scaleb(-2)

    def problems(tax_cents: int) -> list[tuple[str, str]]:
        tax = Decimal(tax_cents).scaleb(-2)
        ln = BreakdownFacts(base_amount=amount, tax_rate=rate, tax_amount=tax)
        facts = make_facts(breakdown=(ln,), total_tax_amount=tax, total_amount=amount + tax)
        return [(p.field, p.code) for p in check_invoice(facts, date(2026, 6, 1))]

    assert problems(cuota + 1000) == []
    assert problems(cuota + 1001) == [("breakdown.0.tax_amount", "1142")]
