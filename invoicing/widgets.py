"""The invoice form's client field: a type-ahead over the taxpayer's clients, not a select.

:class:`ClientSearchInput` renders the chosen client's id in a hidden input (what the form
and the live totals read) and a text box labelled "Cliente" showing its name. With JavaScript
(``static/js/invoice-form.js``) the box becomes an ARIA combobox that asks
``clients:client_search`` as one types; without it, the text typed is posted as
``client_search`` and :func:`resolve_typed_client` picks the one client it names.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.utils.html import format_html

from clients.models import Client
from clients.services import matching


class ClientSearchInput(forms.Widget):
    SEARCH_SUFFIX = "_search"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.queryset: QuerySet[Client] = Client.objects.none()
        self.typed = ""
        self.search_posted = False

    def value_from_datadict(self, data, files, name):
        self.search_posted = name + self.SEARCH_SUFFIX in data
        self.typed = (data.get(name + self.SEARCH_SUFFIX) or "").strip()
        return data.get(name)

    def value_omitted_from_data(self, data, files, name) -> bool:
        return name not in data and name + self.SEARCH_SUFFIX not in data

    def label_of(self, value) -> str:
        if not value:
            return ""
        if isinstance(value, Client):
            return str(value)
        try:
            client = self.queryset.filter(pk=value).first()
        except (ValueError, ValidationError):
            return ""
        return str(client) if client else ""

    def render(self, name, value, attrs=None, renderer=None):
        attrs = {**self.attrs, **(attrs or {})}
        field_id = attrs.pop("id", f"id_{name}")
        shown = self.typed or self.label_of(value)
        chosen = str(value.pk) if isinstance(value, Client) else (value or "")
        return format_html(
            '<input type="hidden" name="{}" value="{}" id="{}_value" data-client-value>'
            '<input type="text" name="{}" value="{}" id="{}" autocomplete="off" '
            'spellcheck="false" placeholder="Nombre o NIF del cliente" data-client-search{}>',
            name,
            chosen,
            field_id,
            name + self.SEARCH_SUFFIX,
            shown,
            field_id,
            flatatt(attrs),
        )


def resolve_typed_client(clients: QuerySet[Client], typed: str) -> Client:
    """The one client of ``clients`` that ``typed`` (a name, part of it, or a NIF) names;
    ``ValidationError`` in Spanish when none or several do."""
    found = list(matching(clients, typed).order_by("name", "id")[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise ValidationError(
            f"Ningún cliente coincide con «{typed}». Escriba otra parte del nombre o el NIF, o "
            "cree el cliente.",
            code="no_match",
        )
    raise ValidationError(
        f"Varios clientes coinciden con «{typed}»: escriba más del nombre o el NIF.",
        code="ambiguous",
    )
