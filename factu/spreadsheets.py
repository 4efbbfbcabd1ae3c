"""CSV that Spanish Excel opens as it is: ``;``-separated, UTF-8 with a BOM, dates
``dd/mm/aaaa`` and amounts with a decimal comma and no thousands mark (``1210,00``).

Text cells that a spreadsheet would take for a formula (``=``, ``+``, ``-``, ``@``, tab, CR)
are prefixed with an apostrophe; amounts are written by :func:`csv_amount`, never escaped.
Every export of the product (invoices, expenses, summaries) goes through these helpers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

from factu.downloads import file_response

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_amount(cents: int | None) -> str:
    """Cents as Excel-in-Spanish reads them: 121000 → ``1210,00``; None → empty."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    euros, rest = divmod(abs(cents), 100)
    return f"{sign}{euros},{rest:02d}"


def csv_text(value: str) -> str:
    value = value or ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + buffer.getvalue()).encode("utf-8")


def csv_response(content: bytes, filename: str) -> HttpResponse:
    return file_response(content, "text/csv; charset=utf-8", filename)
