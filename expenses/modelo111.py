"""Modelo 111: the IRPF the taxpayer withheld from its suppliers in a quarter.

A professional's invoice to a business carries IRPF withholding (Ley 35/2006, art. 101): the
buyer pays the supplier the total less the withholding and pays the withholding to AEAT each
quarter in the 111, boxes 07-09 (rendimientos de actividades económicas, dinerarios). The
figures come from the expenses dated in the quarter that record an amount withheld
(``Expense.irpf_withheld_cents``), whether or not the expense is deductible: the obligation
to pay what was withheld does not depend on deducting the cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Sum
from django.db.models.functions import Coalesce

from expenses.summaries import QuarterlyModelo, boxes_for, quarter_range, taxpayer_expenses
from factu.models import Taxpayer


@dataclass(frozen=True)
class Modelo111(QuarterlyModelo):
    code = "111"
    perceptores: int = 0

    @property
    def perceptores_box(self) -> str:
        return boxes_for(self.year).get(self.code, {}).get("perceptores", {}).get("box", "")

    @property
    def empty(self) -> bool:
        return not self.perceptores and not self.result


def modelo_111(taxpayer: Taxpayer, year: int, quarter: int) -> Modelo111:
    """The quarter's 111 from the expenses with IRPF withheld. ``perceptores`` counts the
    distinct suppliers (by NIF, or by name when the expense has none)."""
    start, end = quarter_range(year, quarter)
    withheld = taxpayer_expenses(taxpayer, start, end).exclude(irpf_withheld_cents=0)
    sums = withheld.aggregate(
        base=Coalesce(Sum("irpf_base_cents"), 0),
        retenciones=Coalesce(Sum("irpf_withheld_cents"), 0),
    )
    suppliers = {nif or name for nif, name in withheld.values_list("supplier_nif", "supplier_name")}
    values = {
        "base": sums["base"],
        "retenciones": sums["retenciones"],
        "resultado": sums["retenciones"],
    }
    return Modelo111(year, quarter, values, perceptores=len(suppliers))
