"""The invoice's totals: the F2 limit, CuotaTotal and ImporteTotal to the cent (except the
regimes AEAT does not check), and the not-subject amount against its lines."""

from __future__ import annotations

from decimal import Decimal

from verifactu.facts import InvoiceFacts

from .problem import ERRORES, TOLERANCE, Problem

F2_LIMIT = Decimal("3000.00")
UNCHECKED_TOTAL_REGIMES = {"03", "05", "06", "08", "09"}


def total_problems(facts: InvoiceFacts) -> list[Problem]:
    problems = []
    if facts.invoice_type == "F2" and facts.total_amount > F2_LIMIT + TOLERANCE:
        problems.append(
            Problem("total_amount", "Simplified invoices (F2) are limited to 3,000 €.", "1150")
        )
    regimes = {line.regime_type for line in facts.breakdown}
    if regimes & UNCHECKED_TOTAL_REGIMES:
        return problems
    tax = sum(
        ((ln.tax_amount or 0) + (ln.surcharge_amount or 0) for ln in facts.breakdown), Decimal(0)
    )
    total = sum((ln.base_amount for ln in facts.breakdown), Decimal(0)) + tax
    if tax != facts.total_tax_amount:
        problems.append(
            Problem(
                "total_tax_amount",
                f"Debe ser la suma exacta de cuotas y recargos del desglose: {tax}.",
                "2006",
                f"SPEC §4; {ERRORES} 2006",
            )
        )
    if total != facts.total_amount:
        problems.append(
            Problem(
                "total_amount",
                f"Debe ser la suma exacta de bases, cuotas y recargos del desglose: {total} "
                "(sin retención de IRPF).",
                "2005",
                f"SPEC §4; {ERRORES} 2005",
            )
        )
    return problems


def not_subject_problems(facts: InvoiceFacts) -> list[Problem]:
    """``not_subject_amount`` is the BaseImponibleOimporteNoSujeto of the N1 (cause OT) or N2
    (cause RL) lines: AEAT's record has no other place for it, so it must be what they add up
    to, never a figure silently left out of the record (SPEC §4)."""
    if facts.not_subject_amount is None:
        return []
    operation = "N2" if facts.not_subject_cause == "RL" else "N1"
    lines = [ln.base_amount for ln in facts.breakdown if ln.operation_type == operation]
    declared = sum(lines, Decimal(0))
    if lines and declared == facts.not_subject_amount:
        return []
    return [
        Problem(
            "not_subject_amount",
            f"El importe no sujeto es la base de las líneas {operation} del desglose "
            f"({declared}): indíquelo en esas líneas o haga que coincidan.",
            "not_subject",
            "SPEC §4 DetalleDesglose (BaseImponibleOimporteNoSujeto)",
        )
    ]
