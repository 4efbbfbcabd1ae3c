"""Text helpers shared by every app.

Search in Factu is accent- and case-insensitive and works the same on SQLite and PostgreSQL:
each searchable model keeps a ``search_text`` column, filled on save with
:func:`normalize_search` of its searchable fields, and lists filter with
``search_text__contains=normalize_search(q)`` (one ``__contains`` per word of the query).
"""

from __future__ import annotations

import unicodedata

from django import forms
from django.core.exceptions import ValidationError
from django.utils.deconstruct import deconstructible
from django.utils.translation import ngettext


def normalize_search(text: str) -> str:
    """Casefolded, without accents, with runs of whitespace collapsed to one space.

    ``normalize_search("  José  MARÍA Núñez ")`` is ``"jose maria nunez"``.
    """
    decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.split())


def refreshing_search_text(kwargs: dict) -> dict:
    """A model's ``save()`` kwargs, so that a save limited by ``update_fields`` still writes
    the ``search_text`` (and ``updated_at``) it recomputes."""
    update_fields = kwargs.get("update_fields")
    if update_fields is not None:
        kwargs["update_fields"] = {*update_fields, "search_text", "updated_at"}
    return kwargs


def search_terms(query: str) -> list[str]:
    """The normalised words of a search box, each to be matched with ``__contains``."""
    return normalize_search(query).split()


# Tab and line breaks (LF, or CR LF as a textarea posts them) lay text out; any other control
# character (Unicode category Cc: C0, a lone CR, DEL, C1) is no text, and PostgreSQL
# refuses NUL.
LAYOUT_CHARACTERS = "\t\n"
CONTROL_CHARACTERS_MESSAGE = "Control characters are not allowed."
CONTROL_CHARACTERS_MESSAGE_ES = "El texto lleva caracteres de control: quítelos y vuelva a probar."


def has_control_characters(value: str) -> bool:
    """Whether ``value`` holds a control character other than a tab or a line break."""
    return any(
        unicodedata.category(ch) == "Cc" and ch not in LAYOUT_CHARACTERS
        for ch in value.replace("\r\n", "\n")
    )


@deconstructible
class ControlCharactersValidator:
    """Refuses text with control characters (:func:`has_control_characters`); values that
    are not text pass (a field may have parsed them already)."""

    def __init__(self, message: str = CONTROL_CHARACTERS_MESSAGE) -> None:
        self.message = message

    def __call__(self, value: object) -> None:
        if isinstance(value, str) and has_control_characters(value):
            raise ValidationError(self.message, code="invalid")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ControlCharactersValidator) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)


no_control_characters = ControlCharactersValidator()
"""The validator of the APIs (their English message)."""


class NoControlCharactersForm:
    """A form mixin: every text field refuses control characters, in Spanish (the pages').
    Password fields are left alone: a password is compared, never shown or stored as text."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        validator = ControlCharactersValidator(CONTROL_CHARACTERS_MESSAGE_ES)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and not isinstance(
                field.widget, forms.PasswordInput
            ):
                field.validators.append(validator)


def count_of(count: int, singular: str, plural: str) -> str:
    """``count`` and the noun that agrees with it: ``count_of(5, "factura", "facturas")`` is
    ``"5 facturas"``, ``count_of(1, ...)`` is ``"1 factura"`` (Django's ``ngettext``, so a
    catalogue may translate it)."""
    return f"{count} {ngettext(singular, plural, count)}"
