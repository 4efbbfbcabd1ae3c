from __future__ import annotations

from django import forms

from clients.models import DIR3_FIELDS, Client
from clients.services import EDITABLE_FIELDS
from factu.models import Taxpayer
from factu.text import NoControlCharactersForm


class ClientForm(NoControlCharactersForm, forms.ModelForm):
    """The client's fields; the rules are :meth:`Client.clean`'s, run by ``is_valid()``.

    Saving goes through ``clients.services`` (see the views), not ``form.save()``.
    """

    class Meta:
        model = Client
        fields = list(EDITABLE_FIELDS)

    def __init__(self, *args, taxpayer: Taxpayer, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:
            self.instance.taxpayer = taxpayer
            self.instance.account_id = taxpayer.account_id
        # Lengths are checked after normalising ("ES 12345678-Z" is a 9-character NIF).
        for name in ("nif", "foreign_id", "postal_code", "country", *DIR3_FIELDS):
            self.fields[name].validators = []
            self.fields[name].max_length = None
            self.fields[name].widget.attrs.pop("maxlength", None)
            self.fields[name].widget.attrs.update(autocapitalize="characters", spellcheck="false")
        self.fields["country"].widget.attrs.update(size=3)
        self.fields["id_type"].choices = [("", "— (tiene NIF español)")] + list(
            self.fields["id_type"].choices
        )[1:]
        einvoice = self.fields["einvoice_format"]
        einvoice.label = "Factura electrónica por correo"
        einvoice.choices = [("", "Ninguna (solo el PDF)"), *list(einvoice.choices)[1:]]
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def main_fields(self) -> list:
        """The fields shown first; the DIR3 codes go in their own group."""
        return [self[name] for name in self.fields if name not in DIR3_FIELDS]

    def dir3_fields(self) -> list:
        return [self[name] for name in self.fields if name in DIR3_FIELDS]

    @property
    def data_for_service(self) -> dict:
        """The validated values, as the model normalised them, for ``clients.services``."""
        return {name: getattr(self.instance, name) for name in self._meta.fields}


# What the invoice form's "Nuevo cliente" dialog asks; the other fields keep their defaults.
QUICK_FIELDS = ("name", "nif", "country", "id_type", "foreign_id", "email")


def quick_client_form(taxpayer: Taxpayer, data=None) -> ClientForm:
    """The client form of the invoice form's "Nuevo cliente" dialog: :class:`ClientForm`'s
    rules, with the few fields the dialog shows (prefixed, beside the invoice's own)."""
    form = ClientForm(data, taxpayer=taxpayer, prefix="new_client")
    for name in set(form.fields) - set(QUICK_FIELDS):
        del form.fields[name]
    return form
