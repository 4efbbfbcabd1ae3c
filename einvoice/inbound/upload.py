"""An upload: one raw XML file, or a ZIP of them, each read on its own.

A ZIP is untrusted input that can claim anything: members that inflate to gigabytes (a zip
bomb), thousands of members, ZIPs inside, names that climb out of a folder. The limits below
are checked before anything is inflated (the declared sizes) and again while inflating (the
real bytes, read in chunks and stopped past the limit), since a declared size may lie. A bad
member gets its own error result; the others are still read, and no member is ever half-read.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath

from einvoice.findings import FATAL, Finding
from einvoice.inbound.document import ReadResult
from einvoice.inbound.reader import read_received

ZIP_LIMIT = "INBOUND-ZIP-LIMIT"
ZIP_MEMBER = "INBOUND-ZIP-MEMBER"
ZIP_BROKEN = "INBOUND-ZIP"
ZIP_EMPTY = "INBOUND-ZIP-EMPTY"
TOO_LARGE = "INBOUND-SIZE"
CONTENT_TYPE = "INBOUND-CONTENT-TYPE"

XML_TYPES = frozenset({"application/xml", "text/xml"})
ZIP_TYPES = frozenset({"application/zip", "application/x-zip-compressed"})
_ZIP_MAGIC = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """How much one upload may make us read.

    ``max_file_bytes``: one XML file, raw or inflated. Invoices are tens of kilobytes; a
    Facturae may embed its attachments (a PDF, base64), so room is left for a few megabytes.
    ``max_members``: a ZIP is a month's or a quarter's invoices from a gestoría, not an archive.
    ``max_total_bytes``: all members inflated together, so that many members just under the
    per-file limit cannot add up to a bomb either.
    """

    max_file_bytes: int = 10 * 1024 * 1024
    max_members: int = 200
    max_total_bytes: int = 100 * 1024 * 1024


DEFAULT_LIMITS = Limits()


def read_upload(
    data: bytes, content_type: str, limits: Limits = DEFAULT_LIMITS
) -> list[ReadResult]:
    """One result per file: one for a raw XML, one per member of a ZIP (or a single error
    when the ZIP itself is refused: not a ZIP, too many members)."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in ZIP_TYPES or (media_type not in XML_TYPES and data[:4] == _ZIP_MAGIC):
        return _read_zip(data, limits)
    if media_type not in XML_TYPES and data.lstrip().removeprefix(_BOM).lstrip()[:1] != b"<":
        return [
            _error(
                "",
                CONTENT_TYPE,
                "Envíe un fichero XML (UBL, CII o Facturae) o un ZIP con ficheros XML.",
            )
        ]
    if len(data) > limits.max_file_bytes:
        return [_too_large("", limits)]
    return [read_received(data)]


def _read_zip(data: bytes, limits: Limits) -> list[ReadResult]:
    if len(data) > limits.max_total_bytes:
        return [
            _error(
                "",
                ZIP_LIMIT,
                "El ZIP es demasiado grande: se admiten envíos de hasta "
                f"{limits.max_total_bytes // (1024 * 1024)} MB.",
            )
        ]
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError):
        return [_error("", ZIP_BROKEN, "El fichero no es un ZIP válido.")]
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir() and not info.filename.startswith("__MACOSX/")
        ]
        if not members:
            return [_error("", ZIP_EMPTY, "El ZIP no contiene ningún fichero.")]
        if len(members) > limits.max_members:
            return [
                _error(
                    "",
                    ZIP_LIMIT,
                    f"El ZIP tiene {len(members)} ficheros; se admiten como máximo "
                    f"{limits.max_members} por envío.",
                )
            ]
        results: list[ReadResult] = []
        budget = limits.max_total_bytes
        for info in members:
            content, problem = _inflate(archive, info, limits, budget)
            if problem is not None:
                results.append(problem)
                continue
            budget -= len(content)
            results.append(read_received(content, name=info.filename))
        return results


def _inflate(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits, budget: int
) -> tuple[bytes, ReadResult | None]:
    """The member's bytes, or the error result that refuses it."""
    name = info.filename
    if _unsafe_name(name):
        return b"", _error(name, ZIP_MEMBER, "El nombre del fichero dentro del ZIP no es válido.")
    if info.flag_bits & 0x1:
        return b"", _error(name, ZIP_MEMBER, "El fichero está cifrado con contraseña.")
    if name.lower().endswith(".zip"):
        return b"", _nested(name)
    cap = min(limits.max_file_bytes, budget)
    if info.file_size > cap:
        return b"", _over(name, limits, budget)
    chunks: list[bytes] = []
    read = 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(min(_CHUNK, cap + 1 - read)):
                chunks.append(chunk)
                read += len(chunk)
                if read > cap:
                    return b"", _over(name, limits, budget)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        return b"", _error(name, ZIP_MEMBER, "El fichero está dañado dentro del ZIP.")
    content = b"".join(chunks)
    if content[:4] == _ZIP_MAGIC:
        return b"", _nested(name)
    return content, None


def _unsafe_name(name: str) -> bool:
    """Absolute paths, ``..``, backslashes and drive letters: nothing is written to disk,
    but a name like that is a sign of a crafted archive, and it would be shown to the user."""
    if "\\" in name or "\x00" in name or (len(name) > 1 and name[1] == ":"):
        return True
    path = PurePosixPath(name)
    return path.is_absolute() or ".." in path.parts


def _over(name: str, limits: Limits, budget: int) -> ReadResult:
    if budget < limits.max_file_bytes:
        return _error(
            name,
            ZIP_LIMIT,
            "El ZIP supera el tamaño total descomprimido que se admite "
            f"({limits.max_total_bytes // (1024 * 1024)} MB): este fichero no se ha leído.",
        )
    return _too_large(name, limits)


def _too_large(name: str, limits: Limits) -> ReadResult:
    return _error(
        name,
        TOO_LARGE,
        "El fichero es demasiado grande: se admiten facturas de hasta "
        f"{limits.max_file_bytes // (1024 * 1024)} MB.",
    )


def _nested(name: str) -> ReadResult:
    return _error(name, ZIP_MEMBER, "No se admiten ZIP dentro de un ZIP.")


def _error(name: str, rule: str, message: str) -> ReadResult:
    return ReadResult(
        name=name,
        errors=(Finding(rule=rule, flag=FATAL, message=message, location=name, source="inbound"),),
    )
