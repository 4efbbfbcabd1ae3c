"""What a rule reports (:class:`Problem`: the field, the message and AEAT's code) and what
every family of rules cites: AEAT's list of errors and its ±10 € tolerance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

TOLERANCE = Decimal("10.00")
ERRORES = "errores.properties"


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str
    source: str = ""

    def as_list(self) -> list[str]:
        return [self.message, f"AEAT {self.code}"]
