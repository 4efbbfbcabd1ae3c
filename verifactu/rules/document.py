"""The invoice as a document: the characters and lengths of its texts (number, names,
description) and its dates (issue, operation)."""

from __future__ import annotations

from datetime import date

from verifactu.facts import InvoiceFacts

from .problem import ERRORES, Problem

EARLIEST_DATE = date(2024, 10, 28)
NAME_MAX = 120
FOREIGN_ID_MAX = 20
FORBIDDEN_CHARS = set("<>\"'=")


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def text_problems(facts: InvoiceFacts) -> list[Problem]:
    problems = []
    texts = {
        "invoice_number": facts.invoice_number,
        "description": facts.description,
        "recipient_name": facts.recipient_name,
        "third_party_name": facts.third_party_name,
        "issuer_name": facts.issuer_name,
        "recipient_id": facts.recipient_id,
    }
    for name, value in texts.items():
        if value and FORBIDDEN_CHARS & set(value):
            problems.append(Problem(name, "Must not contain < > \" ' or =.", "1287"))
    number = facts.invoice_number
    if not number.strip():
        problems.append(Problem("invoice_number", "The invoice number is required.", "1104"))
    else:
        if len(number) > 60:
            problems.append(Problem("invoice_number", "At most 60 characters.", "1104"))
        elif number != number.strip():
            problems.append(Problem("invoice_number", "No leading or trailing spaces.", "1104"))
        if any(not 32 <= ord(ch) <= 126 for ch in number):
            problems.append(
                Problem(
                    "invoice_number",
                    "Only printable ASCII characters (no accents, ñ or control characters).",
                    "1130",
                )
            )
    if not facts.issuer_name.strip():
        problems.append(Problem("issuer_name", "The issuer's name is required.", "4102"))
    for name in ("issuer_name", "recipient_name", "third_party_name"):
        if len(getattr(facts, name)) > NAME_MAX:
            problems.append(Problem(name, f"At most {NAME_MAX} characters.", "4102"))
    if len(facts.recipient_id) > FOREIGN_ID_MAX:
        problems.append(Problem("recipient_id", f"At most {FOREIGN_ID_MAX} characters.", "4102"))
    if not facts.description.strip():
        problems.append(
            Problem("description", "A description of the operation is required.", "4102")
        )
    elif len(facts.description) > 500:
        problems.append(Problem("description", "At most 500 characters.", "4102"))
    return problems


def date_problems(facts: InvoiceFacts, today: date) -> list[Problem]:
    problems = []
    if facts.invoice_date > today:
        problems.append(Problem("invoice_date", "The issue date cannot be in the future.", "1112"))
    if facts.invoice_date < _years_before(today, 20):
        problems.append(Problem("invoice_date", "The issue date is over 20 years old.", "1133"))
    elif facts.invoice_date < EARLIEST_DATE:
        problems.append(Problem("invoice_date", "VERI*FACTU records start on 28-10-2024.", "1152"))
    if facts.operation_date is not None:
        late_allowed = any(
            ln.regime_type in ("14", "15") and ln.tax_type in ("01", "03") for ln in facts.breakdown
        )
        if facts.operation_date > facts.invoice_date and not late_allowed:
            problems.append(
                Problem(
                    "operation_date",
                    "La fecha de operación solo puede ser posterior a la de expedición con los "
                    "regímenes 14 o 15 en líneas de IVA o IGIC.",
                    "1146",
                    f"{ERRORES} 1146; SPEC §4 Dates",
                )
            )
        if facts.operation_date > today and not late_allowed:
            problems.append(
                Problem("operation_date", "La fecha de operación no puede ser futura.", "1173")
            )
    return problems
