"""Exact conversions of the numbers a received file writes: cents, basis points, quantities.

Never through ``float``: the text becomes a ``Decimal``, and a value that is not a whole
number of cents (or of basis points) is refused rather than rounded, since rounding would
book an amount the supplier never invoiced. Trailing zeros are fine (Facturae writes
``100.00000000``); a significant third decimal is not.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from einvoice.findings import FATAL, Finding

AMOUNT = "INBOUND-AMOUNT"
MISSING = "INBOUND-MISSING"

_HUNDREDTH = Decimal("0.01")
# Ten trillion units: above any invoice, and its cents still fit a BigIntegerField
# with room to add; it also keeps every conversion below within Decimal's 28 digits.
MAX_UNITS = Decimal(10) ** 13


class Unreadable(Exception):
    """The file passed validation but a value in it cannot be taken as it is."""

    def __init__(self, rule: str, message: str, location: str = "") -> None:
        super().__init__(message)
        self.finding = Finding(
            rule=rule, flag=FATAL, message=message, location=location, source="inbound"
        )


def decimal(text: str | None, where: str) -> Decimal:
    """The number in ``text``, exactly."""
    try:
        value = Decimal((text or "").strip())
    except InvalidOperation:
        raise Unreadable(AMOUNT, f"«{text}» no es un número.", where) from None
    if not value.is_finite():
        raise Unreadable(AMOUNT, f"«{text}» no es un número.", where)
    return value


def cents(text: str | None, where: str) -> int:
    """``text`` (an amount in units) in cents; more than two significant decimals refused."""
    return _hundredths(text, where, "El importe")


def basis_points(text: str | None, where: str) -> int:
    """A percentage (``21``, ``21.00``, ``5.2``) in basis points (2100, 520)."""
    return _hundredths(text, where, "El porcentaje")


def signed(value: Decimal, sign: int) -> Decimal:
    """``value`` negated when ``sign`` is negative, exactly (``-value`` would round to the
    context's 28 digits)."""
    return value.copy_negate() if sign < 0 else value


def _hundredths(text: str | None, where: str, what: str) -> int:
    """The value in hundredths, exactly: ``quantize`` to two places, then compared with the
    value itself (never rounded to the context's precision, as ``value * 100`` would be)."""
    value = decimal(text, where)
    if abs(value) >= MAX_UNITS:
        raise Unreadable(AMOUNT, f"{what} «{text}» es demasiado grande.", where)
    hundredths = value.quantize(_HUNDREDTH)
    if hundredths != value:
        raise Unreadable(
            AMOUNT,
            f"{what} «{text}» tiene más de dos decimales: no se redondea.",
            where,
        )
    return int(hundredths.scaleb(2))
