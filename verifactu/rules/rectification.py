"""Rectifying and substituting invoices: the rectification type, the invoices they list
and the amounts of a rectification by substitution."""

from __future__ import annotations

from verifactu.facts import InvoiceFacts

from .problem import ERRORES, Problem

RECTIFICATIVAS = {"R1", "R2", "R3", "R4", "R5"}


def rectification_problems(facts: InvoiceFacts) -> list[Problem]:
    problems = []
    rectificativa = facts.invoice_type in RECTIFICATIVAS
    if rectificativa and facts.rectification_type not in ("S", "I"):
        problems.append(Problem("rectification_type", "Rectifying invoices need S or I.", "1114"))
    if not rectificativa and facts.rectification_type:
        problems.append(
            Problem("rectification_type", "Only rectifying invoices (R1–R5) have it.", "1115")
        )
    if facts.rectified_invoices and not rectificativa:
        problems.append(
            Problem("rectified_invoices", "Only rectifying invoices (R1–R5) list them.", "1117")
        )
    if facts.replaced_invoices and facts.invoice_type != "F3":
        problems.append(Problem("replaced_invoices", "Only F3 invoices list them.", "1116"))
    if facts.invoice_type == "F3" and not facts.replaced_invoices:
        problems.append(
            Problem(
                "replaced_invoices",
                "Una F3 debe identificar las facturas simplificadas a las que sustituye.",
                "1116",
                f"{ERRORES} 1116; FAQ desarrolladores AEAT ap. 27",
            )
        )
    substitution = facts.rectification_type == "S"
    if facts.rectification_surcharge is not None and not substitution:
        problems.append(
            Problem(
                "rectification_surcharge",
                "Solo una rectificativa por sustitución (S) lleva CuotaRecargoRectificado.",
                "1119",
                f"{ERRORES} 1119",
            )
        )
    has_amounts = facts.rectification_base is not None or facts.rectification_tax is not None
    if substitution and (facts.rectification_base is None or facts.rectification_tax is None):
        problems.append(
            Problem(
                "rectification_base",
                "Rectification by substitution needs rectification_base and rectification_tax.",
                "1118",
            )
        )
    if has_amounts and not substitution:
        problems.append(
            Problem("rectification_base", "Only rectification by substitution has it.", "1119")
        )
    return problems
