"""Spanish tax identifiers (NIF: DNI, NIE, CIF and the K/L/M forms).

python-stdnum does the arithmetic; this module adds what the AEAT refuses besides (all-zero
numbers) and turns stdnum's exceptions into messages a user of the Spanish UI understands.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from stdnum.es import nif as stdnum_nif
from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidFormat, InvalidLength

MESSAGES = {
    "length": "El NIF debe tener 9 caracteres (por ejemplo 12345678Z o B12345674).",
    "format": "El NIF no tiene un formato válido: DNI (8 cifras y letra), NIE (X, Y o Z, "
    "7 cifras y letra) o NIF de entidad (letra, 7 cifras y control).",
    "checksum": "El carácter de control del NIF no es correcto: revise el número.",
    "zeros": "El NIF no puede estar formado solo por ceros.",
    "empty": "Indique un NIF.",
}


def normalize_nif(value: str) -> str:
    """Upper-case, without spaces, dashes, dots or the ``ES`` VAT prefix."""
    return stdnum_nif.compact((value or "").replace(".", ""))


def validate_nif(value: str) -> str:
    """Return the normalised NIF or raise a ``ValidationError`` with a Spanish message.

    The error's ``code`` (``length``, ``format``, ``checksum``, ``zeros``) lets the APIs map
    it to AEAT's codes without parsing the text.
    """
    number = normalize_nif(value)
    if not number:
        raise ValidationError(MESSAGES["empty"], code="empty")
    digits = [ch for ch in number if ch.isdigit()]
    if digits and set(digits) == {"0"}:
        raise ValidationError(MESSAGES["zeros"], code="zeros")
    try:
        return stdnum_nif.validate(number)
    except InvalidLength:
        raise ValidationError(MESSAGES["length"], code="length") from None
    except InvalidChecksum:
        raise ValidationError(MESSAGES["checksum"], code="checksum") from None
    except (InvalidFormat, InvalidComponent):
        raise ValidationError(MESSAGES["format"], code="format") from None


def is_valid_nif(value: str) -> bool:
    try:
        validate_nif(value)
    except ValidationError:
        return False
    return True


def is_natural_person_nif(value: str) -> bool:
    """Whether the NIF is a person's: a DNI (digits), a NIE (X, Y, Z) or a K, L or M NIF;
    an entity's NIF starts with any other letter."""
    number = normalize_nif(value)
    return bool(number) and (number[0].isdigit() or number[0] in "XYZKLM")
