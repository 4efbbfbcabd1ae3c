"""The fiscal facts of an invoice, as the engine receives them.

Both doors into the engine produce these: an invoice issued in Factu (``invoicing``) and a
payload posted to ``/api/v1/invoices``. Amounts are ``Decimal`` with two places and rates
``Decimal`` percentages; the database keeps integer cents and basis points
(:func:`to_cents`, :func:`from_cents`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(amount: Decimal) -> int:
    if not isinstance(amount, Decimal):
        raise TypeError(f"amounts are Decimal, never {type(amount).__name__}")
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)


def rate_to_bp(rate: Decimal | None) -> int | None:
    return None if rate is None else to_cents(rate)


def rate_from_bp(bp: int | None) -> Decimal | None:
    return None if bp is None else from_cents(bp)


@dataclass(frozen=True, kw_only=True)
class BreakdownFacts:
    """One DetalleDesglose: one tax rate group."""

    tax_type: str = "01"
    regime_type: str | None = "01"
    operation_type: str = "S1"
    base_amount: Decimal
    tax_rate: Decimal | None = None
    tax_amount: Decimal | None = None
    surcharge_rate: Decimal | None = None
    surcharge_amount: Decimal | None = None
    base_cost_amount: Decimal | None = None  # BaseImponibleACoste (regime 06, IPSI, 05)

    @property
    def is_exempt(self) -> bool:
        return self.operation_type.startswith("E")

    def to_json(self) -> dict:
        data = {
            "tax_type": self.tax_type,
            "regime_type": self.regime_type,
            "operation_type": self.operation_type,
            "base_cents": to_cents(self.base_amount),
            "rate_bp": rate_to_bp(self.tax_rate),
            "tax_cents": None if self.tax_amount is None else to_cents(self.tax_amount),
            "surcharge_rate_bp": rate_to_bp(self.surcharge_rate),
            "surcharge_cents": (
                None if self.surcharge_amount is None else to_cents(self.surcharge_amount)
            ),
        }
        if self.base_cost_amount is not None:  # absent, not null: older rows stay as they are
            data["base_cost_cents"] = to_cents(self.base_cost_amount)
        return data

    @classmethod
    def from_json(cls, data: dict) -> BreakdownFacts:
        return cls(
            tax_type=data["tax_type"],
            regime_type=data.get("regime_type"),
            operation_type=data["operation_type"],
            base_amount=from_cents(data["base_cents"]),
            tax_rate=rate_from_bp(data.get("rate_bp")),
            tax_amount=None if data.get("tax_cents") is None else from_cents(data["tax_cents"]),
            surcharge_rate=rate_from_bp(data.get("surcharge_rate_bp")),
            surcharge_amount=(
                None if data.get("surcharge_cents") is None else from_cents(data["surcharge_cents"])
            ),
            base_cost_amount=(
                None if data.get("base_cost_cents") is None else from_cents(data["base_cost_cents"])
            ),
        )


@dataclass(frozen=True)
class InvoiceRef:
    """An invoice referred to by a rectificativa (rectified) or an F3 (replaced)."""

    invoice_number: str
    invoice_date: date


@dataclass(frozen=True, kw_only=True)
class InvoiceFacts:
    issuer_nif: str
    issuer_name: str
    invoice_number: str
    invoice_date: date
    invoice_type: str
    description: str
    breakdown: tuple[BreakdownFacts, ...]
    total_amount: Decimal
    total_tax_amount: Decimal
    operation_date: date | None = None
    issued_by: str = ""
    third_party_nif: str = ""
    third_party_name: str = ""
    regime_types: tuple[str, ...] = ()
    reverse_charge: bool = False
    recipient_nif: str = ""
    recipient_name: str = ""
    recipient_country: str = ""
    recipient_id_type: str = ""
    recipient_id: str = ""
    not_subject_amount: Decimal | None = None
    not_subject_cause: str = ""
    rectification_type: str = ""
    rectified_invoices: tuple[InvoiceRef, ...] = field(default_factory=tuple)
    replaced_invoices: tuple[InvoiceRef, ...] = field(default_factory=tuple)
    rectification_base: Decimal | None = None
    rectification_tax: Decimal | None = None
    rectification_surcharge: Decimal | None = None  # CuotaRecargoRectificado

    @property
    def has_recipient(self) -> bool:
        return bool(self.recipient_nif or self.recipient_id)
