"""IBANs: checked with schwifty (country, length, structure, check digits and, where a
country has them, the national check digits of the account, like Spain's DC), stored
compact and upper-case (``ES9121000418450200051332``), shown in groups of four."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from schwifty import IBAN
from schwifty import exceptions as iban_errors

# schwifty's refusals, in the words a Spanish form uses; the most specific class first.
MESSAGES: tuple[tuple[type[Exception], str], ...] = (
    (iban_errors.InvalidCountryCode, "El IBAN debe empezar por el código de un país (ES…)."),
    (iban_errors.InvalidLength, "El IBAN no tiene la longitud de los de su país."),
    (iban_errors.InvalidChecksumDigits, "Los dígitos de control del IBAN no cuadran: revíselo."),
    (
        iban_errors.InvalidBBANChecksum,
        "Los dígitos de control de la cuenta no cuadran: revise el IBAN.",
    ),
)
GENERIC = "No es un IBAN válido: dos letras de país, dos dígitos de control y la cuenta."


def normalize_iban(value: str) -> str:
    """``value`` checked and compacted (spaces and dashes dropped, upper case); an empty
    value stays empty. Raises ``ValidationError`` in Spanish."""
    text = (value or "").strip()
    if not text:
        return ""
    try:
        return IBAN(text.replace("-", ""), validate_bban=True).compact
    except iban_errors.SchwiftyException as exc:
        for kind, message in MESSAGES:
            if isinstance(exc, kind):
                raise ValidationError(message, code="iban") from None
        raise ValidationError(GENERIC, code="iban") from None


def validate_iban(value: str) -> None:
    """A model field's validator: :func:`normalize_iban` must accept ``value``."""
    normalize_iban(value)


def grouped(iban: str) -> str:
    """A stored IBAN in groups of four (``ES91 2100 0418 …``), as it is printed."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
