"""AEAT's business rules that can be checked before a record is chained (SPEC §3.1, §4).

:func:`check_invoice` returns every problem at once, each naming the field (in the v1 API's
terms: ``breakdown.0.tax_rate``) and the AEAT error code the record would have earned, so a
record that would be refused is never chained and the caller can fix everything in one go.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from factu.nif import is_valid_nif
from verifactu.facts import BreakdownFacts, InvoiceFacts

TOLERANCE = Decimal("10.00")
F2_LIMIT = Decimal("3000.00")
EARLIEST_DATE = date(2024, 10, 28)
INVOICE_TYPES = {"F1", "F2", "F3", "R1", "R2", "R3", "R4", "R5"}
RECTIFICATIVAS = {"R1", "R2", "R3", "R4", "R5"}
NEED_RECIPIENT = {"F1", "F3", "R1", "R2", "R3", "R4"}
NO_RECIPIENT = {"F2", "R5"}
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
NAME_MAX = 120
FOREIGN_ID_MAX = 20
UNCHECKED_TOTAL_REGIMES = {"03", "05", "06", "08", "09"}
FORBIDDEN_CHARS = set("<>\"'=")
ID_TYPES = {"02", "03", "04", "05", "06", "07"}


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str

    def as_list(self) -> list[str]:
        return [self.message, f"AEAT {self.code}"]


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


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _text_problems(facts: InvoiceFacts) -> list[Problem]:
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


def _date_problems(facts: InvoiceFacts, today: date) -> list[Problem]:
    problems = []
    if facts.invoice_date > today:
        problems.append(Problem("invoice_date", "The issue date cannot be in the future.", "1112"))
    if facts.invoice_date < _years_before(today, 20):
        problems.append(Problem("invoice_date", "The issue date is over 20 years old.", "1133"))
    elif facts.invoice_date < EARLIEST_DATE:
        problems.append(Problem("invoice_date", "VERI*FACTU records start on 28-10-2024.", "1152"))
    if facts.operation_date is not None:
        late_allowed = {"14", "15"} & {ln.regime_type for ln in facts.breakdown}
        if facts.operation_date > facts.invoice_date and not late_allowed:
            problems.append(
                Problem(
                    "operation_date",
                    "The operation date cannot be after the issue date (only regimes 14 and 15).",
                    "1146",
                )
            )
        if facts.operation_date > today and not late_allowed:
            problems.append(
                Problem("operation_date", "The operation date cannot be in the future.", "1173")
            )
    return problems


def _party_problems(facts: InvoiceFacts) -> list[Problem]:
    problems = []
    kind = facts.invoice_type
    if kind in NEED_RECIPIENT and not facts.has_recipient:
        problems.append(Problem("recipient_nif", f"A recipient is required for {kind}.", "1189"))
    if kind in NO_RECIPIENT and facts.has_recipient:
        problems.append(Problem("recipient_nif", f"{kind} invoices carry no recipient.", "1190"))
    if facts.recipient_nif:
        if not is_valid_nif(facts.recipient_nif):
            problems.append(Problem("recipient_nif", "Not a valid Spanish NIF.", "1123"))
        if not facts.recipient_name.strip():
            problems.append(
                Problem("recipient_name", "The recipient's name is required with a NIF.", "1282")
            )
    if facts.recipient_id:
        if facts.recipient_nif:
            problems.append(
                Problem("recipient_id", "Give either a Spanish NIF or a foreign ID.", "1239")
            )
        if facts.recipient_id_type not in ID_TYPES:
            problems.append(Problem("recipient_id_type", "ID type must be 02 to 07.", "1239"))
        if facts.recipient_id_type != "02" and len(facts.recipient_country) != 2:
            problems.append(
                Problem("recipient_country", "A two-letter country code is required.", "1239")
            )
    if facts.issued_by == "third_party":
        if not facts.third_party_nif:
            problems.append(
                Problem("third_party_nif", "Required when issued_by is third_party.", "1100")
            )
        elif not is_valid_nif(facts.third_party_nif):
            problems.append(Problem("third_party_nif", "Not a valid Spanish NIF.", "1123"))
    if facts.issued_by not in ("", "issuer", "recipient", "third_party"):
        problems.append(Problem("issued_by", "Must be issuer, recipient or third_party.", "1100"))
    return problems


def _rectification_problems(facts: InvoiceFacts) -> list[Problem]:
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
    substitution = facts.rectification_type == "S"
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


def _line_problems(i: int, line: BreakdownFacts, facts: InvoiceFacts) -> list[Problem]:
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
    iva = line.tax_type == "01"
    subject = line.operation_type in ("S1", "S2")
    amounts = ("base_amount", "tax_rate", "tax_amount", "surcharge_rate", "surcharge_amount")
    for name in amounts:
        value = getattr(line, name)
        if value is not None and value.as_tuple().exponent < -2:
            problems.append(Problem(at + name, "At most two decimals.", "1100"))
    if abs(line.base_amount) >= Decimal("1000000000000"):
        problems.append(Problem(at + "base_amount", "At most 12 integer digits.", "1100"))
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
                Problem(at + "tax_rate", "Reverse charge (S2) lines have rate and tax 0.", "1197")
            )
        if facts.invoice_type in ("F2", "R5"):
            problems.append(
                Problem(at + "operation_type", "S2 is not allowed on F2 or R5.", "1198")
            )
        return problems
    # S1
    if line.tax_rate is None or line.tax_amount is None:
        problems.append(Problem(at + "tax_rate", "S1 lines need tax_rate and tax_amount.", "1100"))
        return problems
    if iva and not _iva_rate_allowed(line.tax_rate, _operation_day(facts)):
        problems.append(
            Problem(at + "tax_rate", f"{line.tax_rate} % is not an IVA rate on that date.", "1124")
        )
    expected = (line.base_amount * line.tax_rate / 100).quantize(Decimal("0.01"))
    exempt_from_check = facts.rectification_type == "I" or facts.invoice_type in ("R2", "R3")
    if not exempt_from_check and abs(expected - line.tax_amount) > TOLERANCE:
        problems.append(Problem(at + "tax_amount", f"Should be base × rate = {expected}.", "1142"))
    if line.base_amount and line.tax_amount and (line.base_amount > 0) != (line.tax_amount > 0):
        problems.append(Problem(at + "tax_amount", "Base and tax must have the same sign.", "1140"))
    has_sr, has_sa = line.surcharge_rate is not None, line.surcharge_amount is not None
    if has_sr != has_sa:
        problems.append(
            Problem(
                at + "surcharge_rate", "Give surcharge_rate and surcharge_amount together.", "1281"
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
            expected_sr = (line.base_amount * line.surcharge_rate / 100).quantize(Decimal("0.01"))
            if not exempt_from_check and abs(expected_sr - line.surcharge_amount) > TOLERANCE:
                problems.append(
                    Problem(at + "surcharge_amount", f"Should be {expected_sr}.", "1142")
                )
    elif iva and line.regime_type == "18" and not has_sr:
        problems.append(
            Problem(at + "surcharge_rate", "Regime 18 lines carry the recargo.", "1280")
        )
    return problems


def _total_problems(facts: InvoiceFacts) -> list[Problem]:
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
    if abs(tax - facts.total_tax_amount) > TOLERANCE:
        problems.append(
            Problem(
                "total_tax_amount", f"Should be the sum of the breakdown's taxes: {tax}.", "2006"
            )
        )
    if abs(total - facts.total_amount) > TOLERANCE:
        problems.append(
            Problem("total_amount", f"Should be the sum of bases and taxes: {total}.", "2005")
        )
    return problems


def check_invoice(facts: InvoiceFacts, today: date) -> list[Problem]:
    """Every problem AEAT would find in a RegistroAlta of these facts that we can see here."""
    problems: list[Problem] = []
    if facts.invoice_type not in INVOICE_TYPES:
        problems.append(Problem("invoice_type", "Must be F1, F2, F3 or R1–R5.", "1100"))
    if not is_valid_nif(facts.issuer_nif):
        problems.append(Problem("issuer_nif", "Not a valid Spanish NIF.", "4116"))
    problems += _text_problems(facts)
    problems += _date_problems(facts, today)
    problems += _party_problems(facts)
    problems += _rectification_problems(facts)
    if not 1 <= len(facts.breakdown) <= 12:
        problems.append(Problem("breakdown", "Between 1 and 12 breakdown lines.", "4102"))
    for i, line in enumerate(facts.breakdown):
        problems += _line_problems(i, line, facts)
    for name in ("total_amount", "total_tax_amount"):
        value = getattr(facts, name)
        if value.as_tuple().exponent < -2:
            problems.append(Problem(name, "At most two decimals.", "1100"))
        if abs(value) >= Decimal("1000000000000"):
            problems.append(Problem(name, "At most 12 integer digits.", "1100"))
    if facts.breakdown:
        problems += _total_problems(facts)
    return problems
