"""The one rounding rule for money: integer cents, halves away from zero.

Every amount Factu derives from another by a rate (IVA, recargo, IRPF, a line's discount, the
deductible part of an expense, the cuota ``verifactu.rules`` expects) goes through
:func:`share_cents`, and every other division of money through :func:`round_half_up`. They
live in ``factu`` because it is the lowest layer: ``verifactu`` may import only ``factu``,
and ``invoicing``, ``expenses``, ``transfers`` and ``api`` all may.

Hand-written rather than ``Decimal.quantize(..., ROUND_HALF_UP)``: the operands are integers,
exact integer arithmetic needs no context, and the result is the same (the tests compare it
with Decimal's for every sign and size).
"""

from __future__ import annotations

BP_DENOMINATOR = 10_000
"""Basis points in 100 %: rates and percentages are stored as basis points (2100 = 21 %)."""


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to an integer, halves away from zero.

    Symmetric on purpose: ``round_half_up(-n, d) == -round_half_up(n, d)``, so the amounts of a
    rectificativa mirror the invoice it corrects. (Python's ``round`` rounds halves to even,
    and floor division rounds negatives down; neither is what an invoice needs.)
    """
    _require_ints(numerator=numerator, denominator=denominator)
    if denominator <= 0:
        raise ValueError(f"denominator must be positive, got {denominator}")
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return quotient if numerator >= 0 else -quotient


def share_cents(cents: int, rate_bp: int) -> int:
    """``cents`` × ``rate_bp`` / 10 000, in whole cents, halves away from zero.

    The tax of a base at a rate (IVA, IGIC, IPSI, recargo, IRPF), a discount on an amount, the
    deductible part of an expense: 21 % of 0,50 € is 0,11 €, of −0,50 € is −0,11 €.
    """
    _require_ints(cents=cents, rate_bp=rate_bp)
    return round_half_up(cents * rate_bp, BP_DENOMINATOR)


def _require_ints(**values: object) -> None:
    for field, value in values.items():
        # bool is an int subclass: True would silently count as 1; a float or a Decimal
        # here means an amount that is not whole cents.
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{field} must be an int, got {type(value).__name__} {value!r}")
