"""The parties: whether the invoice type needs a recipient, the recipient's NIF or foreign
identity and country (AEAT's country list, read from the vendored XSD), and the third party
that issues it."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from factu.nif import is_valid_nif
from verifactu.facts import InvoiceFacts

from .problem import ERRORES, Problem

NEED_RECIPIENT = {"F1", "F3", "R1", "R2", "R3", "R4"}
NO_RECIPIENT = {"F2", "R5"}
ID_TYPES = {"02", "03", "04", "05", "06", "07"}
SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "SuministroInformacion.xsd"


@cache
def country_codes() -> frozenset[str]:
    """AEAT's ``CountryType2`` enumeration, read from the vendored XSD (the one source)."""
    text = SCHEMA.read_text(encoding="utf-8")
    block = text.split('<simpleType name="CountryType2">', 1)[1].split("</simpleType>", 1)[0]
    return frozenset(re.findall(r'value="([A-Z]{2})"', block))


def party_problems(facts: InvoiceFacts) -> list[Problem]:
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
