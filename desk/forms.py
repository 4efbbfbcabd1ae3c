"""The desk's correction form: the record data a subsanación may send corrected.

Amounts are typed as a person writes them (``1.234,56``) and cleaned to cents, rates to basis
points; :func:`desk.services.corrected_facts` turns the cleaned form into the engine's facts.
The number and the date are not fields: a subsanación never changes them.
"""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from expenses.forms import EurosField
from factu.text import NoControlCharactersForm
from invoicing.forms import ScaledDecimalField

TAX_TYPES = [("01", "IVA"), ("03", "IGIC"), ("02", "IPSI"), ("05", "Otros")]
OPERATIONS = [
    ("S1", "S1 · sujeta y no exenta"),
    ("S2", "S2 · inversión del sujeto pasivo"),
    ("N1", "N1 · no sujeta"),
    ("N2", "N2 · no sujeta por localización"),
    *[(f"E{n}", f"E{n} · exenta") for n in range(1, 9)],
]
ID_TYPES = [
    ("", "—"),
    ("02", "02 · NIF-IVA"),
    ("03", "03 · pasaporte"),
    ("04", "04 · documento oficial del país"),
    ("05", "05 · certificado de residencia"),
    ("06", "06 · otro documento"),
    ("07", "07 · no censado"),
]


def _rate(label: str) -> ScaledDecimalField:
    return ScaledDecimalField(label=label, required=False, minimum=0, maximum=10000)


class BreakdownLineForm(NoControlCharactersForm, forms.Form):
    """One DetalleDesglose."""

    tax_type = forms.ChoiceField(label="Impuesto", choices=TAX_TYPES, initial="01")
    regime_type = forms.RegexField(
        label="Régimen",
        regex=r"^\d{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": "Dos cifras, como 01."},
        widget=forms.TextInput(attrs={"size": 3}),
    )
    operation_type = forms.ChoiceField(label="Operación", choices=OPERATIONS, initial="S1")
    base = EurosField(label="Base (€)")
    rate = _rate("Tipo %")
    tax = EurosField(label="Cuota (€)", required=False)
    surcharge_rate = _rate("Recargo %")
    surcharge = EurosField(label="Cuota recargo (€)", required=False)
    base_cost = EurosField(
        label="Base a coste (€)", required=False, help_text="Solo régimen 06, IPSI u otros."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)


BreakdownFormSet = formset_factory(
    BreakdownLineForm,
    extra=0,
    min_num=1,
    max_num=12,
    validate_min=True,
    validate_max=True,
    can_delete=True,
)


class CorrectionForm(NoControlCharactersForm, forms.Form):
    """What a person may correct in a registered invoice's record, and why."""

    description = forms.CharField(
        label="Descripción de la operación", max_length=500, widget=forms.Textarea({"rows": 2})
    )
    recipient_name = forms.CharField(label="Nombre del cliente", max_length=120, required=False)
    recipient_nif = forms.CharField(label="NIF del cliente", max_length=20, required=False)
    recipient_id_type = forms.ChoiceField(
        label="Otro documento: tipo", choices=ID_TYPES, required=False
    )
    recipient_id = forms.CharField(label="Otro documento: número", max_length=20, required=False)
    recipient_country = forms.RegexField(
        label="País (código de dos letras)",
        regex=r"^[A-Za-z]{2}$",
        required=False,
        max_length=2,
        error_messages={"invalid": "Dos letras, como FR."},
    )
    no_censado = forms.BooleanField(
        label="Enviar al cliente como «no censado» (IDOtro tipo 07, con el mismo NIF)",
        required=False,
        help_text="Para un NIF correcto que la AEAT no tiene en su censo (errores 1121, 2001).",
    )
    total_amount = EurosField(label="Importe total (€)")
    total_tax_amount = EurosField(label="Cuota total (€)")
    reason = forms.CharField(
        label="Motivo de la corrección",
        max_length=500,
        widget=forms.Textarea({"rows": 2}),
        help_text="Queda en el historial de la factura.",
    )
    matches_delivered_invoice = forms.BooleanField(
        label="La factura entregada al cliente ya llevaba estos datos",
        required=False,
        help_text="Necesario para cambiar importes o la identidad del cliente. Si la factura "
        "entregada era la errónea, no se subsana: se emite una factura rectificativa.",
    )


def field_label(path: str) -> str:
    """The form's words for an engine field path (``breakdown.0.tax_rate`` → «Línea 1 · Tipo
    %»), to name a broken rule where the person can find it."""
    parts = path.split(".")
    if parts[0] == "breakdown" and len(parts) == 3 and parts[1].isdigit():
        line = BreakdownLineForm.base_fields.get(LINE_FIELDS.get(parts[2], parts[2]))
        return f"Línea {int(parts[1]) + 1} · {line.label if line else parts[2]}"
    field = CorrectionForm.base_fields.get(path)
    return field.label if field else path


LINE_FIELDS = {
    "base_amount": "base",
    "tax_rate": "rate",
    "tax_amount": "tax",
    "surcharge_amount": "surcharge",
    "base_cost_amount": "base_cost",
}
