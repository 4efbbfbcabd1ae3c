"""The series number format: a small grammar of its own, never ``str.format``.

A format is literal text and the placeholders ``{year}``, ``{code}`` and ``{number}``
(``{number}`` is the counter already zero-padded to the series' ``padding``). A placeholder
may carry the width spec formats could always carry, ``{year:02}`` or ``{code:6}`` (an
optional ``0`` and a width of at most :data:`MAX_WIDTH`), which renders as Python's
``format(value, spec)`` did; ``{{`` and ``}}`` write a brace.

Hand-written because the format is user text: ``str.format`` would let it reach attributes
(``{year.__class__}``) and build strings of any width (``{year:>100000000}``) before a length
check could look. Here the text is parsed first, against a whitelist, and rendering only
concatenates. Literal text is printable ASCII without ``< > " ' =`` (AEAT rejects a
NumSerieFactura with them: error 1287).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PLACEHOLDERS = ("year", "code", "number")
MAX_WIDTH = 20
MAX_NUMBER_LENGTH = 50  # what a rendered number may take (Invoice.number holds 60)
FORBIDDEN = "<>\"'="  # AEAT 1287
_SPEC = re.compile(r"(0?)([1-9][0-9]*)?")


class FormatError(ValueError):
    """A format outside the grammar; the message is Spanish, for the form's field."""


@dataclass(frozen=True)
class Field:
    name: str
    spec: str  # "", or a validated "[0]width"


@lru_cache(maxsize=256)
def parse(text: str) -> tuple[str | Field, ...]:
    """The parts of ``text``: literal strings and :class:`Field` s; :class:`FormatError`."""
    parts: list[str | Field] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif char == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif char == "{":
            end = text.find("}", i)
            if end < 0:
                raise FormatError("Falta cerrar una llave: use {year}, {code} y {number}.")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_field(text[i + 1 : end]))
            i = end + 1
        elif char == "}":
            raise FormatError("Hay una llave «}» sin abrir: use {year}, {code} y {number}.")
        else:
            if char in FORBIDDEN:
                raise FormatError(
                    "No use los caracteres < > \" ' = en el número: la AEAT lo rechaza "
                    "(error 1287)."
                )
            if not (char.isascii() and char.isprintable()):
                raise FormatError("Use solo letras sin acentos, cifras y signos ASCII.")
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _field(inner: str) -> Field:
    name, colon, spec = inner.partition(":")
    if name not in PLACEHOLDERS:
        shown = "{" + inner[:20] + "}"
        raise FormatError(f"«{shown}» no vale: use solo {{year}}, {{code}} y {{number}}.")
    if colon:
        match = _SPEC.fullmatch(spec)
        if not spec or match is None:
            raise FormatError(
                f"«{{{name}:{spec[:10]}}}» no vale: tras «:» solo un ancho, p. ej. {{{name}:02}}."
            )
        width = match.group(2)
        if width is not None and int(width) > MAX_WIDTH:
            raise FormatError(f"El ancho de {{{name}}} no puede pasar de {MAX_WIDTH}.")
    return Field(name, spec)


def render(text: str, *, year: int, code: str, number: str) -> str:
    """The number ``text`` gives; ``number`` is the counter, already padded."""
    values = {"year": year, "code": code, "number": number}
    out = []
    for part in parse(text):
        if isinstance(part, str):
            out.append(part)
        else:
            value = values[part.name]
            out.append(format(value, part.spec) if part.spec else str(value))
    return "".join(out)


def check(text: str, *, code: str, padding: int) -> str:
    """The sample number of a format a user gives (2026, ``code``, 1), or :class:`FormatError`."""
    parts = parse(text)
    if not any(isinstance(p, Field) and p.name == "number" for p in parts):
        raise FormatError("El formato debe incluir {number}.")
    sample = render(text, year=2026, code=code, number="1".zfill(padding))
    if len(sample) > MAX_NUMBER_LENGTH:
        raise FormatError(f"El número resultante no puede pasar de {MAX_NUMBER_LENGTH} caracteres.")
    if any(char in FORBIDDEN for char in sample):
        raise FormatError(
            "El código de la serie no puede llevar < > \" ' = (error 1287 de la AEAT)."
        )
    return sample
