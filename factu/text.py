"""Text helpers shared by every app.

Search in Factu is accent- and case-insensitive and works the same on SQLite and PostgreSQL:
each searchable model keeps a ``search_text`` column, filled on save with
:func:`normalize_search` of its searchable fields, and lists filter with
``search_text__contains=normalize_search(q)`` (one ``__contains`` per word of the query).
"""

from __future__ import annotations

import unicodedata

from django.core.exceptions import ValidationError


def normalize_search(text: str) -> str:
    """Casefolded, without accents, with runs of whitespace collapsed to one space.

    ``normalize_search("  José  MARÍA Núñez ")`` is ``"jose maria nunez"``.
    """
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def search_terms(query: str) -> list[str]:
    """The normalised words of a search box, each to be matched with ``__contains``."""
    return normalize_search(query).split()


def no_control_characters(value: str) -> None:
    """Refuse C0 control characters and DEL; a newline and a tab are text.

    The one rule for free text, in both APIs and the forms (a Django validator, so DRF
    fields run it too).
    """
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in value):
        raise ValidationError("Control characters are not allowed.", code="control_characters")
