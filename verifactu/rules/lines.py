"""One breakdown line: its tax, regime and operation keys, the IVA rate and recargo allowed
on the operation's day, and the cuota and recargo against base × rate (±10 €, AEAT 1142)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from factu.money import share_cents
from verifactu.facts import BreakdownFacts, InvoiceFacts, from_cents, rate_to_bp, to_cents

from .problem import ERRORES, TOLERANCE, Problem
from .regimes import regime_problems

TAX_TYPES = {"01", "02", "03", "05"}
REGIMES = {f"{n:02d}" for n in range(1, 21)} - {"12", "13", "16"} | {"21"}
OPERATION_TYPES = {"S1", "S2", "N1", "N2", "E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"}
IVA_RATES = {Decimal("0"), Decimal("4"), Decimal("10"), Decimal("21")}
SURCHARGE_FOR_RATE = {
    Decimal("21"): {Decimal("5.2"), Decimal("1.75")},
    Decimal("10"): {Decimal("1.4")},
    Decimal("4"): {Decimal("0.5")},
}
# Recargo pairs of the temporary IVA rates (SPEC §4), each with the period it applied in.
PERIOD_SURCHARGES = (
    (Decimal("5"), Decimal("0.5"), date(2022, 7, 1), date(2022, 12, 31)),
    (Decimal("5"), Decimal("0.62"), date(2023, 1, 1), date(2024, 9, 30)),
    (Decimal("0"), Decimal("0"), date(2023, 1, 1), date(2024, 9, 30)),
    (Decimal("2"), Decimal("0.26"), date(2024, 10, 1), date(2024, 12, 31)),
    (Decimal("7.5"), Decimal("1"), date(2024, 10, 1), date(2024, 12, 31)),
)


def _iva_rate_allowed(rate: Decimal, on: date) -> bool:
    if rate in IVA_RATES:
        return True
    if rate == Decimal("5") and date(2022, 7, 1) <= on <= date(2024, 9, 30):
        return True
    return rate in (Decimal("2"), Decimal("7.5")) and date(2024, 10, 1) <= on <= date(2024, 12, 31)


def _surcharge_allowed(rate: Decimal, surcharge: Decimal, on: date) -> bool:
    if surcharge in SURCHARGE_FOR_RATE.get(rate, set()):
        return True
    return any(
        rate == r and surcharge == s and start <= on <= end
        for r, s, start, end in PERIOD_SURCHARGES
    )


def _operation_day(facts: InvoiceFacts) -> date:
    """The day whose rates apply: the operation's when given, else the issue date."""
    return facts.operation_date or facts.invoice_date


def _share(base: Decimal, rate: Decimal) -> Decimal:
    """base × rate %, rounded to the cent as Factu rounds every tax (``factu.money``)."""
    return from_cents(share_cents(to_cents(base), rate_to_bp(rate)))


def line_problems(i: int, line: BreakdownFacts, facts: InvoiceFacts) -> list[Problem]:
    at = f"breakdown.{i}."
    problems = []
    if line.tax_type not in TAX_TYPES:
        problems.append(Problem(at + "tax_type", "Must be 01, 02, 03 or 05.", "1100"))
    needs_regime = line.tax_type in ("01", "03")
    if needs_regime and not line.regime_type:
        problems.append(Problem(at + "regime_type", "A regime key is required.", "1245"))
    elif line.regime_type and line.regime_type not in REGIMES:
        problems.append(Problem(at + "regime_type", "Unknown regime key.", "1246"))
    if line.operation_type not in OPERATION_TYPES:
        problems.append(Problem(at + "operation_type", "Must be S1, S2, N1, N2 or E1–E6.", "1100"))
        return problems
    problems += regime_problems(i, line, facts)
    iva = line.tax_type == "01"
    subject = line.operation_type in ("S1", "S2")
    amounts = ("base_amount", "tax_rate", "tax_amount", "surcharge_rate", "surcharge_amount")
    for name in (*amounts, "base_cost_amount"):
        value = getattr(line, name)
        if value is not None and value.as_tuple().exponent < -2:
            problems.append(Problem(at + name, "At most two decimals.", "1100"))
    for name in ("base_amount", "base_cost_amount"):
        value = getattr(line, name)
        if value is not None and abs(value) >= Decimal("1000000000000"):
            problems.append(Problem(at + name, "At most 12 integer digits.", "1100"))
    if not subject:
        if iva:
            for name in amounts[1:]:
                if getattr(line, name) not in (None, Decimal(0)):
                    problems.append(
                        Problem(
                            at + name,
                            f"{line.operation_type} lines carry no rate, tax or surcharge.",
                            "1238" if line.is_exempt else "1237",
                        )
                    )
        return problems
    if line.operation_type == "S2":
        if line.tax_rate not in (None, Decimal(0)) or line.tax_amount not in (None, Decimal(0)):
            problems.append(
                Problem(at + "tax_rate", "Reverse charge (S2) lines have rate and tax 0.", "1198")
            )
        if facts.invoice_type in ("F2", "R5"):
            problems.append(
                Problem(at + "operation_type", "S2 is not allowed on F2 or R5.", "1197")
            )
        return problems
    # S1
    at_cost = line.base_cost_amount is not None
    if line.tax_rate is None or line.tax_amount is None:
        code = "1209" if line.regime_type == "06" else "1208"
        problems.append(
            Problem(
                at + "tax_rate",
                "Las líneas S1 necesitan tax_rate y tax_amount.",
                code,
                f"{ERRORES} {code}",
            )
        )
        return problems
    if iva and not _iva_rate_allowed(line.tax_rate, _operation_day(facts)):
        problems.append(
            Problem(at + "tax_rate", f"{line.tax_rate} % is not an IVA rate on that date.", "1124")
        )
    base = line.base_cost_amount if at_cost else line.base_amount
    expected = _share(base, line.tax_rate)
    exempt_from_check = facts.rectification_type == "I" or facts.invoice_type in ("R2", "R3")
    if not exempt_from_check and abs(expected - line.tax_amount) > TOLERANCE:
        if at_cost:
            problems.append(
                Problem(
                    at + "tax_amount",
                    f"Debe ser base a coste × tipo = {expected} (±10 €).",
                    "1144",
                    f"{ERRORES} 1144; SPEC §4",
                )
            )
        else:
            problems.append(
                Problem(at + "tax_amount", f"Should be base × rate = {expected}.", "1142")
            )
    if base and line.tax_amount and (base > 0) != (line.tax_amount > 0):
        problems.append(
            Problem(
                at + "tax_amount",
                "La base" + (" a coste" if at_cost else "") + " y la cuota deben tener el "
                "mismo signo.",
                "1140" if at_cost else "1143",
                f"{ERRORES} " + ("1140" if at_cost else "1143"),
            )
        )
    has_sr, has_sa = line.surcharge_rate is not None, line.surcharge_amount is not None
    if has_sr != has_sa:
        problems.append(
            Problem(
                at + "surcharge_rate", "Give surcharge_rate and surcharge_amount together.", "1284"
            )
        )
    if has_sr and line.surcharge_rate:
        if iva and line.regime_type != "18":
            problems.append(
                Problem(at + "regime_type", "Recargo de equivalencia needs regime 18.", "1279")
            )
        if iva and not _surcharge_allowed(
            line.tax_rate, line.surcharge_rate, _operation_day(facts)
        ):
            problems.append(
                Problem(
                    at + "surcharge_rate",
                    f"{line.surcharge_rate} % is not the recargo for IVA {line.tax_rate} %.",
                    "1127",
                )
            )
        if has_sa:
            expected_sr = _share(line.base_amount, line.surcharge_rate)
            if not exempt_from_check and abs(expected_sr - line.surcharge_amount) > TOLERANCE:
                problems.append(
                    Problem(at + "surcharge_amount", f"Should be {expected_sr}.", "1142")
                )
    elif iva and line.regime_type == "18" and not has_sr:
        problems.append(
            Problem(at + "surcharge_rate", "Regime 18 lines carry the recargo.", "1280")
        )
    return problems
