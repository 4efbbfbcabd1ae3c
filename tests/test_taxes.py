"""The tax arithmetic of an invoice (invoicing.taxes): integer cents, half away from zero.

The rounding rule itself is pinned in tests/test_money.py.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from invoicing.taxes import (
    InvoiceTotals,
    LineInput,
    compute_totals,
    format_euros,
    format_percent,
    percent,
)


def one(quantity: int = 100, unit_price: int = 10000, iva_type: str = "general", **kw):
    return LineInput(quantity=quantity, unit_price=unit_price, iva_type=iva_type, **kw)


def expected_round(numerator: int, denominator: int) -> int:
    """An independent oracle: Decimal's ROUND_HALF_UP is half away from zero."""
    return int((Decimal(numerator) / Decimal(denominator)).quantize(0, ROUND_HALF_UP))


# ---- the account API's seed example


def test_seed_example_general_iva_with_irpf():
    totals = compute_totals([one(100, 100000, "general")], irpf_bp=1500)
    assert totals.lines == (100000,)
    assert totals.subtotal_cents == 100000
    assert totals.iva_cents == 21000
    assert totals.irpf_cents == 15000
    assert totals.total_cents == 106000
    assert totals.fiscal_total_cents == 121000
    assert totals.tax_total_cents == 21000


def test_seed_list_example_without_irpf_totals_121000():
    totals = compute_totals([one(100, 100000, "general")])
    assert (totals.subtotal_cents, totals.iva_cents, totals.irpf_cents) == (100000, 21000, 0)
    assert totals.total_cents == totals.fiscal_total_cents == 121000


# ---- each IVA type and its VERI*FACTU mapping


@pytest.mark.parametrize(
    ("iva_type", "cause", "rate_bp", "iva", "operation_type", "reports_rate"),
    [
        ("general", "", 2100, 2100, "S1", True),
        ("reducido", "", 1000, 1000, "S1", True),
        ("superreducido", "", 400, 400, "S1", True),
        ("cero", "", 0, 0, "S1", True),
        ("exento", "E1", 0, 0, "E1", False),
        ("exento", "E6", 0, 0, "E6", False),
        ("no_sujeto", "N1", 0, 0, "N1", False),
        ("no_sujeto", "N2", 0, 0, "N2", False),
        ("inversion_sujeto_pasivo", "", 0, 0, "S2", True),
    ],
)
def test_each_iva_type_has_its_rate_and_operation_type(
    iva_type, cause, rate_bp, iva, operation_type, reports_rate
):
    totals = compute_totals([one(100, 10000, iva_type, cause=cause)])
    (group,) = totals.groups
    assert (group.iva_type, group.cause) == (iva_type, cause)
    assert group.base_cents == 10000
    assert group.rate_bp == rate_bp
    assert group.iva_cents == iva == totals.iva_cents
    assert group.operation_type == operation_type
    assert group.regime_type == "01"
    assert group.reports_rate is reports_rate
    assert group.is_exempt is (iva_type == "exento")
    assert totals.fiscal_total_cents == 10000 + iva


# ---- recargo de equivalencia


@pytest.mark.parametrize(
    ("iva_type", "rate_bp", "iva", "surcharge_cents"),
    [
        ("general", 520, 21000, 5200),
        ("reducido", 140, 10000, 1400),
        ("superreducido", 50, 4000, 500),
    ],
)
def test_recargo_follows_the_iva_rate_and_sets_regime_18(iva_type, rate_bp, iva, surcharge_cents):
    totals = compute_totals([one(100, 100000, iva_type)], surcharge=True)
    (group,) = totals.groups
    assert group.surcharge_rate_bp == rate_bp
    assert group.surcharge_cents == surcharge_cents == totals.surcharge_cents
    assert group.regime_type == "18"
    assert group.has_surcharge
    assert totals.tax_total_cents == iva + surcharge_cents
    assert totals.fiscal_total_cents == totals.total_cents == 100000 + iva + surcharge_cents


@pytest.mark.parametrize(
    ("iva_type", "cause"),
    [
        ("cero", ""),
        ("exento", "E1"),
        ("no_sujeto", "N1"),
        ("inversion_sujeto_pasivo", ""),
    ],
)
def test_no_recargo_without_a_paired_rate_even_when_the_client_has_it(iva_type, cause):
    totals = compute_totals([one(100, 100000, iva_type, cause=cause)], surcharge=True)
    (group,) = totals.groups
    assert (group.surcharge_rate_bp, group.surcharge_cents) == (0, 0)
    assert group.regime_type == "01"
    assert not group.has_surcharge
    assert totals.surcharge_cents == 0


def test_no_recargo_when_the_client_does_not_have_it():
    (group,) = compute_totals([one(100, 100000, "general")]).groups
    assert (group.surcharge_rate_bp, group.surcharge_cents, group.regime_type) == (0, 0, "01")


def test_recargo_rounds_half_up_on_the_group_base():
    # base 10.10 €: IVA 2.121 → 2.12, recargo 0.5252 → 0.53
    (group,) = compute_totals([one(100, 1010, "general")], surcharge=True).groups
    assert (group.iva_cents, group.surcharge_cents) == (212, 53)
    # base 0.50 €: recargo 0.5 % = 0.25 cents → 0; base 1.00 €: 0.5 cents → 1
    (small,) = compute_totals([one(100, 50, "superreducido")], surcharge=True).groups
    (half,) = compute_totals([one(100, 100, "superreducido")], surcharge=True).groups
    assert (small.surcharge_cents, half.surcharge_cents) == (0, 1)


# ---- IRPF


def test_irpf_applies_to_an_exempt_subtotal():
    totals = compute_totals([one(100, 100000, "exento", cause="E1")], irpf_bp=1500)
    assert totals.iva_cents == 0
    assert totals.irpf_cents == 15000
    assert totals.total_cents == 85000
    assert totals.fiscal_total_cents == 100000


def test_irpf_applies_to_the_sum_of_every_base_whatever_its_iva():
    lines = [
        one(100, 100000, "general"),
        one(100, 50000, "exento", cause="E1"),
        one(100, 20000, "no_sujeto", cause="N2"),
    ]
    totals = compute_totals(lines, irpf_bp=700)
    assert totals.subtotal_cents == 170000
    assert totals.irpf_cents == 11900
    assert totals.irpf_bp == 700
    assert totals.total_cents == 170000 + 21000 - 11900
    assert totals.fiscal_total_cents == 191000


def test_irpf_rounds_half_up():
    # 1.01 € × 15 % = 15.15 cents → 15; 1.10 € × 15 % = 16.5 → 17
    assert compute_totals([one(100, 101)], irpf_bp=1500).irpf_cents == 15
    assert compute_totals([one(100, 110)], irpf_bp=1500).irpf_cents == 17


# ---- line amounts: quantity, discount, rounding


def test_fractional_quantity_multiplies_the_unit_price():
    assert compute_totals([one(150, 2000)]).lines == (3000,)
    assert compute_totals([one(25, 1000)]).lines == (250,)


def test_discount_is_taken_off_the_line_amount():
    totals = compute_totals([one(200, 5000, discount_bp=1000)])
    assert totals.lines == (9000,)
    assert totals.subtotal_cents == 9000
    assert totals.iva_cents == 1890


def test_full_discount_leaves_nothing():
    assert compute_totals([one(100, 12345, discount_bp=10000)]).lines == (0,)


@pytest.mark.parametrize(
    ("quantity", "unit_price", "discount_bp", "amount"),
    [
        (150, 3, 0, 5),  # 4.5 cents → 5
        (50, 1, 0, 1),  # 0.5 cents → 1
        (149, 3, 0, 4),  # 4.47 cents → 4
        (33, 1, 0, 0),  # 0.33 cents → 0
        (100, 1005, 1000, 904),  # discount 100.5 cents → 101
        (100, 1004, 1000, 904),  # discount 100.4 cents → 100
    ],
)
def test_line_amount_rounds_half_up(quantity, unit_price, discount_bp, amount):
    totals = compute_totals([one(quantity, unit_price, discount_bp=discount_bp)])
    assert totals.lines == (amount,)


# ---- grouping


def test_lines_of_two_rates_make_two_groups_in_order_of_first_appearance():
    lines = [
        one(100, 10000, "reducido"),
        one(200, 5000, "general"),
        one(100, 3000, "reducido"),
    ]
    totals = compute_totals(lines)
    assert totals.lines == (10000, 10000, 3000)
    assert [g.iva_type for g in totals.groups] == ["reducido", "general"]
    reducido, general = totals.groups
    assert (reducido.base_cents, reducido.iva_cents) == (13000, 1300)
    assert (general.base_cents, general.iva_cents) == (10000, 2100)
    assert totals.iva_cents == 3400


def test_exempt_lines_with_different_causes_are_different_groups():
    lines = [
        one(100, 100, "exento", cause="E1"),
        one(100, 200, "exento", cause="E2"),
        one(100, 300, "exento", cause="E1"),
    ]
    groups = compute_totals(lines).groups
    assert [(g.cause, g.base_cents) for g in groups] == [("E1", 400), ("E2", 200)]


def test_iva_is_rounded_once_per_group_not_per_line():
    # Each 0.50 € line alone: 10.5 cents of IVA → 11; two together: 1.00 € → 21, not 22.
    totals = compute_totals([one(100, 50), one(100, 50)])
    assert totals.iva_cents == 21
    # Three 0.05 € lines at 10 %: 0.5 → 1 each would give 3; the group's 0.15 € gives 2.
    totals = compute_totals([one(100, 5, "reducido")] * 3)
    assert totals.iva_cents == 2


# ---- rectificativas


def test_rectificativa_accepts_negative_quantities_and_prices():
    totals = compute_totals(
        [one(-100, 100000), one(100, -5000, "reducido")], irpf_bp=1500, rectificativa=True
    )
    assert totals.lines == (-100000, -5000)
    assert totals.subtotal_cents == -105000
    assert totals.iva_cents == -21000 - 500
    assert totals.irpf_cents == -15750
    assert totals.total_cents == -105000 - 21500 + 15750


@pytest.mark.parametrize(
    ("quantity", "unit_price", "discount_bp", "amount"),
    [
        (-150, 3, 0, -5),  # -4.5 cents → -5, away from zero
        (150, -3, 0, -5),
        (-50, 1, 0, -1),
        (-100, 1005, 1000, -904),  # discount -100.5 → -101
    ],
)
def test_negative_amounts_round_half_away_from_zero(quantity, unit_price, discount_bp, amount):
    totals = compute_totals(
        [one(quantity, unit_price, discount_bp=discount_bp)], rectificativa=True
    )
    assert totals.lines == (amount,)


def test_negative_group_iva_and_recargo_round_half_away_from_zero():
    # base -0.50 €: IVA -10.5 → -11; base -10.10 €: recargo -52.52 → -53, IVA -212.1 → -212
    assert compute_totals([one(-100, 50)], rectificativa=True).iva_cents == -11
    (group,) = compute_totals([one(-100, 1010)], surcharge=True, rectificativa=True).groups
    assert (group.iva_cents, group.surcharge_cents) == (-212, -53)


@pytest.mark.parametrize("field", ["quantity", "unit_price"])
def test_negative_amounts_outside_a_rectificativa_are_refused_naming_the_field(field):
    values = {"quantity": 100, "unit_price": 100, field: -1}
    line = LineInput(iva_type="general", **values)
    with pytest.raises(ValueError, match=rf"lines\[1\]\.{field} is negative"):
        compute_totals([one(), line])


# ---- input validation


@pytest.mark.parametrize("field", ["quantity", "unit_price", "discount_bp"])
@pytest.mark.parametrize("bad", [1.0, Decimal("1"), True, "1"])
def test_line_numbers_must_be_int(field, bad):
    values = {"quantity": 100, "unit_price": 100, "discount_bp": 0, field: bad}
    with pytest.raises(TypeError, match=field):
        LineInput(iva_type="general", **values)


@pytest.mark.parametrize("bad", [1500.0, Decimal("1500"), False])
def test_irpf_must_be_int(bad):
    with pytest.raises(TypeError, match="irpf_bp"):
        compute_totals([one()], irpf_bp=bad)


@pytest.mark.parametrize("flag", ["surcharge", "rectificativa"])
def test_flags_must_be_bool(flag):
    with pytest.raises(TypeError, match=flag):
        compute_totals([one()], **{flag: 1})


def test_lines_must_be_line_inputs():
    with pytest.raises(TypeError, match=r"lines\[0\]"):
        compute_totals([{"quantity": 100, "unit_price": 100, "iva_type": "general"}])


@pytest.mark.parametrize("bad", [-1, 10001])
def test_discount_outside_0_to_10000_is_refused(bad):
    with pytest.raises(ValueError, match="discount_bp"):
        one(discount_bp=bad)


@pytest.mark.parametrize("bad", [-1, 10001])
def test_irpf_outside_0_to_10000_is_refused(bad):
    with pytest.raises(ValueError, match="irpf_bp"):
        compute_totals([one()], irpf_bp=bad)


@pytest.mark.parametrize("bad", ["GENERAL", "iva21", "", "exenta"])
def test_unknown_iva_type_is_refused(bad):
    with pytest.raises(ValueError, match="iva_type"):
        one(iva_type=bad)


@pytest.mark.parametrize(
    ("iva_type", "cause"),
    [
        ("exento", ""),  # missing
        ("exento", "E7"),  # IGIC only
        ("exento", "N1"),
        ("exento", "e1"),
        ("no_sujeto", ""),
        ("no_sujeto", "E1"),
        ("general", "E1"),  # a subject line takes no cause
        ("cero", "N1"),
        ("inversion_sujeto_pasivo", "S2"),
    ],
)
def test_missing_or_wrong_cause_is_refused(iva_type, cause):
    with pytest.raises(ValueError, match="cause"):
        one(iva_type=iva_type, cause=cause)


def test_no_lines_give_zero_totals_and_no_groups():
    totals = compute_totals([], irpf_bp=1500, surcharge=True)
    assert totals.groups == ()
    assert totals.total_cents == totals.fiscal_total_cents == totals.irpf_cents == 0


# ---- formatting


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (121000, "1.210,00 €"),
        (-500, "-5,00 €"),
        (0, "0,00 €"),
        (5, "0,05 €"),
        (-5, "-0,05 €"),
        (99999, "999,99 €"),
        (100000, "1.000,00 €"),
        (123456789, "1.234.567,89 €"),
        (-100000000, "-1.000.000,00 €"),
    ],
)
def test_format_euros_uses_spanish_separators(cents, text):
    assert format_euros(cents) == text


@pytest.mark.parametrize("bad", [12.5, Decimal("12.50"), True])
def test_format_euros_refuses_non_int(bad):
    with pytest.raises(TypeError, match="cents"):
        format_euros(bad)


@pytest.mark.parametrize(
    ("bp", "as_decimal", "text"),
    [
        (2100, "21.00", "21 %"),
        (1000, "10.00", "10 %"),
        (520, "5.20", "5,2 %"),
        (140, "1.40", "1,4 %"),
        (50, "0.50", "0,5 %"),
        (0, "0.00", "0 %"),
        (1500, "15.00", "15 %"),
    ],
)
def test_rates_show_as_percentages(bp, as_decimal, text):
    assert str(percent(bp)) == as_decimal
    assert format_percent(bp) == text


# ---- properties

IVA_CHOICES = [
    ("general", ""),
    ("reducido", ""),
    ("superreducido", ""),
    ("cero", ""),
    ("inversion_sujeto_pasivo", ""),
    *[("exento", f"E{n}") for n in range(1, 7)],
    ("no_sujeto", "N1"),
    ("no_sujeto", "N2"),
]
RATES = {"general": 2100, "reducido": 1000, "superreducido": 400}
SURCHARGES = {"general": 520, "reducido": 140, "superreducido": 50}


@st.composite
def invoices(draw):
    rectificativa = draw(st.booleans())
    low = -(10**7) if rectificativa else 0
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        iva_type, cause = draw(st.sampled_from(IVA_CHOICES))
        lines.append(
            LineInput(
                quantity=draw(st.integers(low, 10**5)),
                unit_price=draw(st.integers(low, 10**7)),
                iva_type=iva_type,
                discount_bp=draw(st.integers(0, 10000)),
                cause=cause,
            )
        )
    return lines, rectificativa


def all_values(totals: InvoiceTotals):
    yield from totals.lines
    for name in (
        "subtotal_cents",
        "iva_cents",
        "surcharge_cents",
        "irpf_bp",
        "irpf_cents",
        "total_cents",
        "fiscal_total_cents",
        "tax_total_cents",
    ):
        yield getattr(totals, name)
    for g in totals.groups:
        yield from (
            g.base_cents,
            g.rate_bp,
            g.iva_cents,
            g.surcharge_rate_bp,
            g.surcharge_cents,
        )


@given(
    invoice=invoices(),
    irpf_bp=st.sampled_from([0, 700, 1500, 1900]) | st.integers(0, 10000),
    surcharge=st.booleans(),
)
def test_totals_are_consistent_integers(invoice, irpf_bp, surcharge):
    lines, rectificativa = invoice
    totals = compute_totals(
        lines, irpf_bp=irpf_bp, surcharge=surcharge, rectificativa=rectificativa
    )
    assert all(type(v) is int for v in all_values(totals))
    assert totals.total_cents == (
        totals.subtotal_cents + totals.iva_cents + totals.surcharge_cents - totals.irpf_cents
    )
    assert totals.fiscal_total_cents == totals.total_cents + totals.irpf_cents
    assert totals.tax_total_cents == totals.iva_cents + totals.surcharge_cents
    assert totals.subtotal_cents == sum(totals.lines) == sum(g.base_cents for g in totals.groups)
    assert totals.iva_cents == sum(g.iva_cents for g in totals.groups)
    assert totals.surcharge_cents == sum(g.surcharge_cents for g in totals.groups)
    assert totals.irpf_cents == expected_round(totals.subtotal_cents * irpf_bp, 10000)
    for line, amount in zip(lines, totals.lines, strict=True):
        gross = expected_round(line.quantity * line.unit_price, 100)
        assert amount == gross - expected_round(gross * line.discount_bp, 10000)
    keys = [(g.iva_type, g.cause) for g in totals.groups]
    assert keys == list(dict.fromkeys((ln.iva_type, ln.cause) for ln in lines))
    for g in totals.groups:
        assert g.rate_bp == RATES.get(g.iva_type, 0)
        assert g.iva_cents == expected_round(g.base_cents * g.rate_bp, 10000)
        assert g.surcharge_rate_bp == (SURCHARGES.get(g.iva_type, 0) if surcharge else 0)
        assert g.surcharge_cents == expected_round(g.base_cents * g.surcharge_rate_bp, 10000)
        # exports (E2, E3) under 02 (AEAT 1199), recargo under 18, the rest under 01
        export = g.cause in ("E2", "E3")
        assert g.regime_type == ("02" if export else "18" if g.surcharge_rate_bp else "01")


@given(invoice=invoices(), irpf_bp=st.integers(0, 10000), surcharge=st.booleans())
def test_negating_every_quantity_negates_every_amount(invoice, irpf_bp, surcharge):
    lines, _ = invoice
    negated = [
        LineInput(-ln.quantity, ln.unit_price, ln.iva_type, ln.discount_bp, ln.cause)
        for ln in lines
    ]
    kw = {"irpf_bp": irpf_bp, "surcharge": surcharge, "rectificativa": True}
    totals = compute_totals(lines, **kw)
    mirror = compute_totals(negated, **kw)
    assert mirror.lines == tuple(-a for a in totals.lines)
    assert [(g.base_cents, g.iva_cents, g.surcharge_cents) for g in mirror.groups] == [
        (-g.base_cents, -g.iva_cents, -g.surcharge_cents) for g in totals.groups
    ]
    assert (mirror.irpf_cents, mirror.total_cents) == (-totals.irpf_cents, -totals.total_cents)


def test_tobacco_lines_take_1_75_recargo_in_a_group_of_their_own():
    lines = [
        LineInput(quantity=100, unit_price=10000, iva_type="general", tobacco=True),
        LineInput(quantity=100, unit_price=10000, iva_type="general"),
    ]
    totals = compute_totals(lines, surcharge=True)
    assert [(g.surcharge_rate_bp, g.surcharge_cents) for g in totals.groups] == [
        (175, 175),
        (520, 520),
    ]
    assert compute_totals(lines).surcharge_cents == 0
    with pytest.raises(ValueError, match="general"):
        LineInput(quantity=100, unit_price=100, iva_type="reducido", tobacco=True)


def test_a_named_regime_splits_the_group_and_overrides_the_derived_one():
    lines = [
        LineInput(quantity=100, unit_price=10000, iva_type="general", regime="07"),
        LineInput(quantity=100, unit_price=10000, iva_type="general"),
        LineInput(quantity=100, unit_price=100, iva_type="general", regime="07"),
    ]
    totals = compute_totals(lines, surcharge=True)
    assert [(g.regime_type, g.base_cents) for g in totals.groups] == [("07", 10100), ("18", 10000)]
    assert totals.line_groups == (0, 1, 0)
    with pytest.raises(ValueError, match="regime"):
        LineInput(quantity=100, unit_price=100, iva_type="general", regime="99")
