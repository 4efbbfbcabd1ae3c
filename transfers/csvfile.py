"""Reading the CSV files people bring from spreadsheets and other programs.

* Encoding: UTF-8 with or without a BOM; UTF-16 when it starts with its BOM (Excel's
  "Texto Unicode"); otherwise Windows-1252, which is what Spanish Excel saves as "CSV".
* Delimiter: ``;`` (Spanish Excel), ``,`` or tab, whichever the header line uses most
  (outside quotes).
* Headers: Spanish or English, any case, with or without accents, spaces or underscores
  (``Código postal``, ``codigo_postal``, ``CP``, ``postal_code``); each importer gives the
  aliases of its fields. Columns nobody knows are ignored and listed in the report.

Row numbers are those a spreadsheet shows: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from factu.text import CONTROL_CHARACTERS_MESSAGE_ES, count_of, has_control_characters

DELIMITERS = (";", ",", "\t")
MAX_ROWS = 100_000


class CsvError(Exception):
    """The file as a whole cannot be read (its encoding, header or size)."""


def decode(data: bytes) -> tuple[str, str]:
    """The text of ``data`` and the name of the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict"), "UTF-8 con BOM"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        raise CsvError(
            "No se reconoce la codificación del archivo: guárdelo como «CSV UTF-8»."
        ) from None


def _first_line(text: str) -> str:
    """The first line, not counting newlines inside quotes."""
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            return text[:i]
    return text


def detect_delimiter(text: str) -> str:
    line = _first_line(text)
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def normalize_header(name: str) -> str:
    """``"Código Postal*"`` → ``"codigo_postal"``."""
    name = unicodedata.normalize("NFKD", name or "")
    name = "".join(ch for ch in name if not unicodedata.combining(ch)).lower().strip()
    out = []
    for ch in name:
        if ch.isalnum():
            out.append(ch)
        elif out and out[-1] != "_":
            out.append("_")
    return "".join(out).strip("_")


@dataclass
class CsvTable:
    encoding: str
    delimiter: str
    columns: dict[str, str]  # field → the header as written in the file
    ignored: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (row, message)

    @property
    def delimiter_label(self) -> str:
        return {";": "punto y coma", ",": "coma", "\t": "tabulador"}[self.delimiter]

    def label(self, field_name: str, default: str) -> str:
        """How the report names a field: the column as the file wrote it, else ``default``."""
        return self.columns.get(field_name, default)


def read_table(
    data: bytes,
    aliases: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...] = (),
    max_rows: int = MAX_ROWS,
) -> CsvTable:
    """Read ``data`` into rows of ``{field: text}`` keyed by the fields of ``aliases``.

    ``aliases`` maps each field to the normalised headers that name it. Blank rows are
    skipped (their number is still counted). Raises :class:`CsvError` when the file has no
    header, lacks a ``required`` column or has more than ``max_rows`` rows.
    """
    text, encoding = decode(data)
    if not text.strip():
        raise CsvError("El archivo está vacío.")
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CsvError(f"No se puede leer la cabecera del archivo ({exc}).") from None
    lookup = {alias: name for name, names in aliases.items() for alias in names}
    positions: dict[int, str] = {}
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for index, raw in enumerate(header):
        name = lookup.get(normalize_header(raw))
        if name is None or name in columns:
            if raw.strip():
                ignored.append(raw.strip())
            continue
        positions[index] = name
        columns[name] = raw.strip()
    missing = [name for name in required if name not in columns]
    if missing:
        expected = ", ".join(aliases[name][0] for name in missing)
        raise CsvError(
            f"Faltan columnas obligatorias: {expected}. La cabecera leída es: "
            f"{' | '.join(h.strip() for h in header)} (separador «{delimiter}»)."
        )
    table = CsvTable(encoding, delimiter, columns, ignored)
    row_number = 1
    try:
        for cells in reader:
            row_number += 1
            if not any(c.strip() for c in cells):
                continue
            if len(table.rows) + len(table.problems) >= max_rows:
                too_many = count_of(max_rows, "fila", "filas")
                raise CsvError(f"El archivo tiene más de {too_many}: divídalo en partes.")
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
                table.problems.append(
                    (
                        row_number,
                        f"La fila tiene {len(cells)} columnas y la cabecera {len(header)}: "
                        f"¿hay un «{delimiter}» sin comillas dentro de un valor?",
                    )
                )
                continue
            values = {name: "" for name in columns}
            for index, name in positions.items():
                if index < len(cells):
                    values[name] = cells[index].strip()
            dirty = [columns[name] for name, text in values.items() if has_control_characters(text)]
            if dirty:
                table.problems.append(
                    (row_number, f"{', '.join(dirty)}: {CONTROL_CHARACTERS_MESSAGE_ES}")
                )
                continue
            table.rows.append((row_number, values))
    except csv.Error as exc:
        raise CsvError(f"Fila {row_number}: el archivo CSV está mal formado ({exc}).") from None
    return table


def iter_chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


TRUE_WORDS = {"si", "sí", "s", "yes", "y", "true", "verdadero", "1", "x"}
FALSE_WORDS = {"no", "n", "false", "falso", "0", ""}


def parse_bool(text: str) -> bool:
    value = (text or "").strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise ValueError("Escriba «sí» o «no».")
