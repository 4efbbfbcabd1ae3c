from __future__ import annotations

from django import forms

from api.services import NAME_MAX_LENGTH
from factu.text import NoControlCharactersForm


class ApiTokenForm(NoControlCharactersForm, forms.Form):
    name = forms.CharField(
        label="Nombre",
        max_length=NAME_MAX_LENGTH,
        help_text="Para reconocerlo después, p. ej. «ERP de la oficina» o «Zapier».",
    )
