"""The series number format: a small grammar of its own, never ``str.format``.

A format is literal text and the placeholders ``{year}``, ``{code}`` and ``{number}``
(``{year}`` is an integer; ``{code}`` and ``{number}`` are strings, ``{number}`` being the
counter already zero-padded to the series' ``padding``); ``{{`` and ``}}`` write a brace.
A placeholder may carry the format spec ``str.format`` accepted for its type, so every format
stored before keeps rendering the same text:

- ``{year}``: ``[[fill]align][sign][z][#][0][width][grouping][.precision][type]`` with align
  ``< > = ^`` and a type among ``b d o x X n e E f F g G %`` (``{year:04d}``, ``{year:_^8}``);
- ``{code}``, ``{number}``: ``[[fill]align][0][width][.precision][s]`` with align ``< > ^``
  (``{number:>6}``, ``{code:_^8}``, ``{code:.3}``).

Width and precision are at most :data:`MAX_WIDTH`; a fill is printable ASCII and not one of
``< > " ' =`` (AEAT rejects a NumSerieFactura with them: error 1287), and neither is literal
text. ``<``, ``>``, ``=`` and ``^`` as *align* are spec syntax and never reach the number.
No attribute or index access (``{year.__class__}``, ``{code[0]}``), no conversion
(``{number!r}``), no nested field (``{year:{code}}``), no ``c`` type (a non-ASCII character).

Hand-written because the format is user text: ``str.format`` would let it reach attributes
and build strings of any width (``{year:>100000000}``) before a length check could look. Here
the text is parsed first, against a whitelist. A spec reaches the built-in ``format(value,
spec)`` only once :data:`_INT_SPEC` / :data:`_STR_SPEC` matched it whole and its width and
precision are bounded; that call is what renders it exactly as ``str.format`` did, and the
one trial call in :func:`parse` turns the combinations Python itself refuses (``{year:,x}``)
into a :class:`FormatError`. ``str.format`` is never called on the user's text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

PLACEHOLDERS = ("year", "code", "number")
MAX_WIDTH = 20
MAX_NUMBER_LENGTH = 50  # what a rendered number may take (Invoice.number holds 60)
FORBIDDEN = "<>\"'="  # AEAT 1287
SAMPLE = {"year": 2026, "code": "A", "number": "001"}  # what the old form rendered to check

_INT_SPEC = re.compile(
    r"(?:(?P<fill>[^{}])?(?P<align>[<>=^]))?(?P<sign>[-+ ])?z?#?0?(?P<width>[0-9]+)?[,_]?"
    r"(?:\.(?P<precision>[0-9]+))?[bdoxXneEfFgG%]?",
    re.DOTALL,
)
_STR_SPEC = re.compile(
    r"(?:(?P<fill>[^{}])?(?P<align>[<>^]))?0?(?P<width>[0-9]+)?(?:\.(?P<precision>[0-9]+))?s?",
    re.DOTALL,
)

_FORBIDDEN_MESSAGE = (
    "No use los caracteres < > \" ' = en el número: la AEAT lo rechaza (error 1287)."
)
_ASCII_MESSAGE = "Use solo letras sin acentos, cifras y signos ASCII."


class FormatError(ValueError):
    """A format outside the grammar; the message is Spanish, for the form's field."""


@dataclass(frozen=True)
class Field:
    name: str
    spec: str  # "", or a spec validated by _field


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
            _check_char(char)
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return tuple(parts)


def _check_char(char: str) -> None:
    if char in FORBIDDEN:
        raise FormatError(_FORBIDDEN_MESSAGE)
    if not (char.isascii() and char.isprintable()):
        raise FormatError(_ASCII_MESSAGE)


def _field(inner: str) -> Field:
    name, colon, spec = inner.partition(":")
    if name not in PLACEHOLDERS:
        shown = "{" + inner[:20] + "}"
        raise FormatError(f"«{shown}» no vale: use solo {{year}}, {{code}} y {{number}}.")
    if not colon or not spec:
        return Field(name, "")
    match = (_INT_SPEC if name == "year" else _STR_SPEC).fullmatch(spec)
    if match is None:
        raise _bad_spec(name, spec)
    for group, what in (("width", "El ancho"), ("precision", "La precisión")):
        digits = match.group(group)
        if digits is not None:
            significant = digits.lstrip("0")
            if len(significant) > 2 or int(significant or "0") > MAX_WIDTH:
                raise FormatError(f"{what} de {{{name}}} no puede pasar de {MAX_WIDTH}.")
    if match.group("fill") is not None:
        _check_char(match.group("fill"))
    try:
        sample = format(SAMPLE[name], spec)
    except ValueError:
        raise _bad_spec(name, spec) from None
    for char in sample:
        _check_char(char)
    return Field(name, spec)


def _bad_spec(name: str, spec: str) -> FormatError:
    return FormatError(
        f"«{{{name}:{spec[:10]}}}» no vale: tras «:» solo un ancho, con relleno, alineación "
        f"y tipo si hace falta, p. ej. {{{name}:02}}."
    )


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


def check(text: str, *, code: str) -> str:
    """The sample number of a format a user gives, or :class:`FormatError`.

    The sample is what the series form always rendered to judge a format: year 2026, the
    series' ``code`` and the number ``"001"`` whatever the padding, at most
    :data:`MAX_NUMBER_LENGTH` characters, so a format accepted before is accepted now.
    """
    parts = parse(text)
    if not any(isinstance(p, Field) and p.name == "number" for p in parts):
        raise FormatError("El formato debe incluir {number}.")
    sample = render(text, year=SAMPLE["year"], code=code, number=SAMPLE["number"])
    if len(sample) > MAX_NUMBER_LENGTH:
        raise FormatError(f"El número resultante no puede pasar de {MAX_NUMBER_LENGTH} caracteres.")
    if any(char in FORBIDDEN for char in sample):
        raise FormatError(
            "El código de la serie no puede llevar < > \" ' = (error 1287 de la AEAT)."
        )
    return sample
