"""The regime keys (ClaveRegimen) against the operation, the tax, the invoice type and the
recipient of a breakdown line (SPEC §4 DetalleDesglose; errores.properties 1199–1293)."""

from __future__ import annotations

from decimal import Decimal

from verifactu.facts import BreakdownFacts, InvoiceFacts

from .problem import ERRORES, Problem


def regime_problems(i: int, line: BreakdownFacts, facts: InvoiceFacts) -> list[Problem]:
    """Regime key / operation pairs (SPEC §4 DetalleDesglose; errores.properties 1199–1293)."""
    at = f"breakdown.{i}."
    regime, op, kind = line.regime_type, line.operation_type, facts.invoice_type
    iva_or_igic = line.tax_type in ("01", "03")
    problems = []

    def add(name: str, message: str, code: str, spec: bool = True) -> None:
        source = f"{ERRORES} {code}" + ("; SPEC §4 DetalleDesglose" if spec else "")
        problems.append(Problem(at + name, message, code, source))

    if line.tax_type == "02" and not regime:
        add(
            "regime_type",
            "Las líneas de IPSI necesitan ClaveRegimen (la AEAT las acepta con error 2009).",
            "2009",
            spec=False,
        )
    if op in ("E7", "E8") and line.tax_type != "03":
        problems.append(
            Problem(
                at + "operation_type",
                f"{op} es una exención propia del IGIC: no vale en líneas de otro impuesto.",
                "1182",
                "SPEC §4 DetalleDesglose [peer]; errores.properties 1182",
            )
        )
    if op == "E5" and line.tax_type == "01" and facts.recipient_nif:
        add(
            "operation_type",
            "Una entrega intracomunitaria exenta (E5) identifica al destinatario con IDOtro "
            "(NIF-IVA de otro Estado), no con un NIF español.",
            "1289",
        )
    if line.base_cost_amount is not None and regime != "06" and line.tax_type not in ("02", "05"):
        add(
            "base_cost_amount",
            "BaseImponibleACoste solo se informa con el régimen 06 o en líneas de IPSI u Otros.",
            "1257",
        )
    if not iva_or_igic:
        return problems
    if regime == "01" and op in ("E2", "E3"):
        add(
            "regime_type",
            f"Una exportación exenta ({op}) se declara con el régimen 02, no con el 01.",
            "1199",
            spec=False,
        )
    elif regime == "02" and not line.is_exempt:
        add("operation_type", "El régimen 02 (exportación) solo admite líneas exentas.", "1286")
    elif regime == "03" and op != "S1":
        add("operation_type", "El régimen 03 (REBU) solo admite S1.", "1200", spec=False)
    elif regime == "04" and not (op == "S2" or line.is_exempt):
        add("operation_type", "El régimen 04 (oro de inversión) solo admite S2 o exentas.", "1201")
    elif regime == "06":
        if kind in ("F2", "F3", "R5"):
            add("regime_type", f"El régimen 06 no vale en facturas {kind}.", "1202")
        if line.base_cost_amount is None:
            add(
                "base_cost_amount",
                "El régimen 06 (grupo de entidades) necesita BaseImponibleACoste.",
                "1202",
            )
    elif regime == "07" and op in ("S2", "N1", "N2", "E2", "E3", "E4", "E5"):
        add(
            "operation_type",
            f"El régimen 07 (criterio de caja) no admite {op} (ni S2, N1, N2 ni E2–E5).",
            "1203",
        )
    elif regime == "08" and op != "N2":
        add("operation_type", "El régimen 08 (IPSI/IGIC) exige N2.", "1252")
    elif regime == "10":
        if op != "N1":
            add("operation_type", "El régimen 10 (cobros por cuenta de terceros) exige N1.", "1205")
        if kind != "F1":
            add("regime_type", "El régimen 10 solo vale en facturas F1.", "1205")
        if not facts.recipient_nif:
            add("regime_type", "El régimen 10 exige un destinatario identificado con NIF.", "1205")
    elif regime == "11" and line.tax_rate is not None and line.tax_rate != Decimal(21):
        add("tax_rate", "El régimen 11 (arrendamiento de local) exige el 21 %.", "1206")
    elif regime == "14":
        if facts.operation_date is None or facts.operation_date <= facts.invoice_date:
            add(
                "regime_type",
                "Con el régimen 14 la fecha de operación es obligatoria y posterior a la de "
                "expedición.",
                "1147",
            )
        if kind not in ("F1", "R1", "R2", "R3", "R4"):
            add("regime_type", "El régimen 14 solo vale en facturas F1 o R1–R4.", "1148")
        if not facts.recipient_nif or facts.recipient_nif[0] not in "PQSV":
            add(
                "regime_type",
                "El régimen 14 exige un destinatario con NIF de un ente público (P, Q, S o V).",
                "1149",
            )
    return problems
