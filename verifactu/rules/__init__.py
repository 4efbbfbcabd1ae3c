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

from datetime import date
from decimal import Decimal

from factu.nif import is_valid_nif
from verifactu.facts import InvoiceFacts

from .document import date_problems, text_problems
from .lines import line_problems
from .parties import country_codes, party_problems
from .problem import Problem
from .rectification import rectification_problems
from .totals import not_subject_problems, total_problems

__all__ = ["Problem", "check_invoice", "country_codes"]

INVOICE_TYPES = {"F1", "F2", "F3", "R1", "R2", "R3", "R4", "R5"}


def check_invoice(facts: InvoiceFacts, today: date) -> list[Problem]:
    """Every problem AEAT would find in a RegistroAlta of these facts that we can see here."""
    problems: list[Problem] = []
    if facts.invoice_type not in INVOICE_TYPES:
        problems.append(Problem("invoice_type", "Must be F1, F2, F3 or R1–R5.", "1100"))
    if not is_valid_nif(facts.issuer_nif):
        problems.append(Problem("issuer_nif", "Not a valid Spanish NIF.", "4116"))
    problems += text_problems(facts)
    problems += date_problems(facts, today)
    problems += party_problems(facts)
    problems += rectification_problems(facts)
    if not 1 <= len(facts.breakdown) <= 12:
        problems.append(Problem("breakdown", "Between 1 and 12 breakdown lines.", "4102"))
    for i, line in enumerate(facts.breakdown):
        problems += line_problems(i, line, facts)
    for name in ("total_amount", "total_tax_amount", "rectification_surcharge"):
        value = getattr(facts, name)
        if value is None:
            continue
        if value.as_tuple().exponent < -2:
            problems.append(Problem(name, "At most two decimals.", "1100"))
        if abs(value) >= Decimal("1000000000000"):
            problems.append(Problem(name, "At most 12 integer digits.", "1100"))
    if facts.breakdown:
        problems += total_problems(facts)
    problems += not_subject_problems(facts)
    return problems
