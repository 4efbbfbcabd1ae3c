from __future__ import annotations

from decimal import Decimal, InvalidOperation

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

MAX_AMOUNT = 999_999_999_999.99  # |amount| < 10**12 with two decimals


@extend_schema_field(
    {
        "type": "number",
        "multipleOf": 0.01,
        "minimum": -MAX_AMOUNT,
        "maximum": MAX_AMOUNT,
        "description": "Euros: a JSON number with at most two decimals (825.00).",
    }
)
class AmountField(serializers.Field):
    """An amount: a JSON number or a numeric string, at most two decimals, to ``Decimal``.

    Floats are refused outright: the JSON parser of this API never makes them, so a float
    here means a caller bypassed it.
    """

    default_error_messages = {
        "invalid": "Must be a number with at most two decimals, like 825.00.",
        "decimals": "At most two decimals.",
        "digits": "At most 12 integer digits.",
        "negative": "Must not be negative.",
    }

    def __init__(self, *, allow_negative: bool = True, **kwargs):
        self.allow_negative = allow_negative
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> Decimal:
        if isinstance(data, (bool, float)):
            self.fail("invalid")
        if isinstance(data, int):
            data = Decimal(data)
        elif isinstance(data, str):
            try:
                data = Decimal(data.strip())
            except InvalidOperation:
                self.fail("invalid")
        if not isinstance(data, Decimal) or not data.is_finite():
            self.fail("invalid")
        if data.as_tuple().exponent < -2:
            self.fail("decimals")
        if abs(data) >= Decimal("1000000000000"):
            self.fail("digits")
        if not self.allow_negative and data < 0:
            self.fail("negative")
        return data

    def to_representation(self, value) -> Decimal:
        return Decimal(value)


@extend_schema_field(
    {
        "type": "number",
        "multipleOf": 0.01,
        "minimum": 0,
        "maximum": 100,
        "description": "Percent: a JSON number with at most two decimals (21.00).",
    }
)
class RateField(AmountField):
    """A tax rate in percent (21.00), 0 to 100."""

    def to_internal_value(self, data) -> Decimal:
        value = super().to_internal_value(data)
        if not 0 <= value <= 100:
            raise serializers.ValidationError("A rate is a percentage from 0 to 100.")
        return value
