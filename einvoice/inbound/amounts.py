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
    scaled = decimal(text, where) * 100
    if scaled != scaled.to_integral_value():
        raise Unreadable(
            AMOUNT,
            f"El importe «{text}» tiene más de dos decimales: no es una cantidad de céntimos.",
            where,
        )
    return int(scaled)


def basis_points(text: str | None, where: str) -> int:
    """A percentage (``21``, ``21.00``, ``5.2``) in basis points (2100, 520)."""
    scaled = decimal(text, where) * 100
    if scaled != scaled.to_integral_value():
        raise Unreadable(AMOUNT, f"El porcentaje «{text}» tiene más de dos decimales.", where)
    return int(scaled)
