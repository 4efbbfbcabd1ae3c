"""AEAT's business rules that can be checked before a record is chained (SPEC §3.1, §4).

:func:`check_invoice` returns every problem at once, each naming the field (in the v1 API's
terms: ``breakdown.0.tax_rate``) and the AEAT error code the record would have earned, so a
record that would be refused is never chained and the caller can fix everything in one go.

Each rule added for issue 15 carries a Spanish message and, in :attr:`Problem.source`, the
AEAT validation it comes from: the code's text in AEAT's ``errores.properties`` (the list of
*Validaciones y errores* v1.2.2), the XSD, or the SPEC.md section that records it:

==========================================  ======  ============================================
Rule                                        Code    Source
==========================================  ======  ============================================
regime 02 (export): exempt lines only       1286    errores.properties 1286; SPEC §4
regime 01 with E2/E3 (IVA, IGIC)            1199    errores.properties 1199
regime 03 (REBU): S1 only                   1200    errores.properties 1200
regime 04 (gold): S2 or exempt              1201    errores.properties 1201; SPEC §4
regime 06: BaseImponibleACoste, not F2/F3/R5 1202   errores.properties 1202; SPEC §4
BaseImponibleACoste only 06 / IPSI / 05     1257    errores.properties 1257; SPEC §4
regime 07: no S2/N1/N2, no E2–E5            1203    errores.properties 1203; SPEC §4
regime 08: N2                               1252    errores.properties 1252; SPEC §4
regime 10: N1, F1, recipient by NIF         1205    errores.properties 1205; SPEC §4
regime 11: 21 %                             1206    errores.properties 1206; SPEC §4
regime 14: FechaOperacion after issue date  1147    errores.properties 1147; SPEC §4
regime 14: F1 or R1–R4                      1148    errores.properties 1148; SPEC §4
regime 14: recipient NIF P/Q/S/V            1149    errores.properties 1149; SPEC §4
later operation date: 14/15 on IVA/IGIC     1146    errores.properties 1146/1173; SPEC §4
E5 (IVA): recipient by IDOtro only          1289    errores.properties 1289; SPEC §4
E7/E8 only on IGIC lines                    1182    SPEC §4 [peer]; errores.properties 1182
IPSI line without ClaveRegimen              2009    errores.properties 2009 (accepted with
                                                    errors: refused here before chaining)
F3 lists the simplified invoices replaced   1116    errores.properties 1116; FAQ ap. 27
recipient country in AEAT's list            1101    SuministroInformacion.xsd CountryType2
country required unless NIF-IVA (02)        1111    errores.properties 1111
ES only with IDType 03/07; 07 is ES         1126    errores.properties 1126
S2: rate and cuota 0 / not on F2, R5        1198/7  errores.properties 1198, 1197
recargo rate and amount together            1284    errores.properties 1284
names: recipient with NIF                   1283    errores.properties 1283
names: recipient by IDOtro, Tercero         4102    SuministroInformacion.xsd
                                                    PersonaFisicaJuridicaType/NombreRazon
S1 without rate/cuota                       1208/9  errores.properties 1208, 1209
cuota vs BaseImponibleACoste × rate (±10 €) 1144    errores.properties 1144; SPEC §4
sign of cuota vs base / base a coste        1143/0  errores.properties 1143, 1140
CuotaTotal exact (AEAT: ±10 €, 2006)        2006    SPEC §4; errores.properties 2006
ImporteTotal exact (AEAT: ±10 €, 2005)      2005    SPEC §4; errores.properties 2005
CuotaRecargoRectificado only in S           1119    errores.properties 1119
not_subject_amount is an N1/N2 line         —       SPEC §4 (BaseImponibleOimporteNoSujeto)
==========================================  ======  ============================================

Totals are checked to the cent (Factu never sends a total it knows AEAT would tolerate as
wrong: ImporteTotal is also the QR's amount), except under AEAT's own exemption for regimes 03,
05, 06, 08 and 09 (SPEC §4); a line's cuota keeps AEAT's ±10 € against base × rate (1142).
``total_amount`` is bases + cuotas + recargo: an IRPF withholding is never part of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

from factu.money import share_cents
from factu.nif import is_valid_nif
from verifactu.facts import BreakdownFacts, InvoiceFacts, from_cents, rate_to_bp, to_cents

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


SCHEMA = Path(__file__).resolve().parent / "schemas" / "SuministroInformacion.xsd"
ERRORES = "errores.properties"


@cache
def country_codes() -> frozenset[str]:
    """AEAT's ``CountryType2`` enumeration, read from the vendored XSD (the one source)."""
    text = SCHEMA.read_text(encoding="utf-8")
    block = text.split('<simpleType name="CountryType2">', 1)[1].split("</simpleType>", 1)[0]
    return frozenset(re.findall(r'value="([A-Z]{2})"', block))


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str
    source: str = ""

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
                Problem(
                    "recipient_name",
                    "El nombre o razón social del destinatario es obligatorio con un NIF.",
                    "1283",
                    f"{ERRORES} 1283",
                )
            )
    country = facts.recipient_country
    if country and country not in country_codes():
        problems.append(
            Problem(
                "recipient_country",
                f"{country} no está en la lista de países de la AEAT (ISO 3166-1 alfa-2; "
                "Grecia es GR, no EL).",
                "1101",
                "SuministroInformacion.xsd CountryType2; errores.properties 1101",
            )
        )
    if facts.recipient_id:
        if not facts.recipient_name.strip():
            problems.append(
                Problem(
                    "recipient_name",
                    "El nombre o razón social del destinatario es obligatorio; "
                    "no se sustituye por su identificador.",
                    "4102",
                    "SuministroInformacion.xsd PersonaFisicaJuridicaType/NombreRazon",
                )
            )
        if facts.recipient_nif:
            problems.append(
                Problem("recipient_id", "Give either a Spanish NIF or a foreign ID.", "1239")
            )
        if facts.recipient_id_type not in ID_TYPES:
            problems.append(Problem("recipient_id_type", "ID type must be 02 to 07.", "1239"))
        if facts.recipient_id_type != "02" and len(facts.recipient_country) != 2:
            problems.append(
                Problem(
                    "recipient_country",
                    "El país es obligatorio salvo con un NIF-IVA (tipo 02).",
                    "1111",
                    f"{ERRORES} 1111",
                )
            )
        spain = facts.recipient_country == "ES"
        if (spain and facts.recipient_id_type not in ("03", "07")) or (
            facts.recipient_id_type == "07" and facts.recipient_country not in ("", "ES")
        ):
            problems.append(
                Problem(
                    "recipient_country",
                    "ES solo vale con pasaporte (03) o no censado (07), y un no censado (07) "
                    "es de ES.",
                    "1126",
                    f"{ERRORES} 1126",
                )
            )
    if facts.issued_by == "third_party":
        if not facts.third_party_nif:
            problems.append(
                Problem(
                    "third_party_nif",
                    "Indique el NIF del tercero que expide la factura.",
                    "1100",
                    "SuministroInformacion.xsd Tercero (EmitidaPorTerceroODestinatario T)",
                )
            )
        elif not is_valid_nif(facts.third_party_nif):
            problems.append(
                Problem(
                    "third_party_nif", "El NIF del tercero no es un NIF español válido.", "1123"
                )
            )
        if not facts.third_party_name.strip():
            problems.append(
                Problem(
                    "third_party_name",
                    "El nombre o razón social del tercero que expide la factura es obligatorio.",
                    "4102",
                    "SuministroInformacion.xsd PersonaFisicaJuridicaType/NombreRazon (Tercero)",
                )
            )
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


def _regime_problems(i: int, line: BreakdownFacts, facts: InvoiceFacts) -> list[Problem]:
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


def _share(base: Decimal, rate: Decimal) -> Decimal:
    """base × rate %, rounded to the cent as Factu rounds every tax (``factu.money``)."""
    return from_cents(share_cents(to_cents(base), rate_to_bp(rate)))


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
    problems += _regime_problems(i, line, facts)
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


def _not_subject_problems(facts: InvoiceFacts) -> list[Problem]:
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
    for name in ("total_amount", "total_tax_amount", "rectification_surcharge"):
        value = getattr(facts, name)
        if value is None:
            continue
        if value.as_tuple().exponent < -2:
            problems.append(Problem(name, "At most two decimals.", "1100"))
        if abs(value) >= Decimal("1000000000000"):
            problems.append(Problem(name, "At most 12 integer digits.", "1100"))
    if facts.breakdown:
        problems += _total_problems(facts)
    problems += _not_subject_problems(facts)
    return problems
