"""A small, self-contained Spanish NIF check (DNI, NIE, K/L/M and CIF).

Written for the simulator on purpose instead of importing the project's validator.
"""

from __future__ import annotations

import re

DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
CIF_LETTERS = "JABCDEFGHI"
_CIF_ENTITY = "ABCDEFGHJNPQRSUVW"
_CIF_LETTER_ONLY = "NPQRSW"
_CIF_DIGIT_ONLY = "ABEH"


def is_valid_nif(nif: str) -> bool:
    """True for a well-formed NIF whose control character matches; all-zero NIFs fail."""
    nif = (nif or "").strip().upper()
    if len(nif) != 9 or not nif.isalnum():
        return False
    if set(re.sub(r"[^0-9]", "", nif)) <= {"0"}:
        return False
    if re.fullmatch(r"\d{8}[A-Z]", nif):
        return DNI_LETTERS[int(nif[:8]) % 23] == nif[8]
    if re.fullmatch(r"[XYZ]\d{7}[A-Z]", nif):
        number = int("XYZ".index(nif[0]).__str__() + nif[1:8])
        return DNI_LETTERS[number % 23] == nif[8]
    if re.fullmatch(r"[KLM]\d{7}[A-Z]", nif):
        return DNI_LETTERS[int(nif[1:8]) % 23] == nif[8]
    if re.fullmatch(rf"[{_CIF_ENTITY}]\d{{7}}[0-9A-J]", nif):
        digits = nif[1:8]
        total = sum(int(d) for d in digits[1::2])
        for d in digits[0::2]:
            doubled = int(d) * 2
            total += doubled // 10 + doubled % 10
        control = (10 - total % 10) % 10
        if nif[0] in _CIF_LETTER_ONLY:
            return nif[8] == CIF_LETTERS[control]
        if nif[0] in _CIF_DIGIT_ONLY:
            return nif[8] == str(control)
        return nif[8] in (str(control), CIF_LETTERS[control])
    return False
