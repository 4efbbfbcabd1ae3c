"""The catalogue item's form: euros and percentages typed as people write them."""

from __future__ import annotations

from django import forms

from factu.text import NoControlCharactersForm
from invoicing import taxes
from invoicing.forms import IRPF_PRESETS_BP, TAX_CHOICES, ScaledDecimalField


class ItemForm(NoControlCharactersForm, forms.Form):
    name = forms.CharField(label="Nombre", max_length=120)
    description = forms.CharField(
        label="Concepto en la factura",
        max_length=500,
        required=False,
        help_text="El texto que lleva la línea de la factura. Vacío: el nombre.",
        widget=forms.TextInput(attrs={"size": 50}),
    )
    unit_price_cents = ScaledDecimalField(
        label="Precio unitario por defecto (€)",
        minimum=0,
        help_text="Sin impuestos, con hasta dos decimales: 120 · 1.234,56.",
    )
    iva_type = forms.ChoiceField(label="Impuesto", choices=TAX_CHOICES, initial=taxes.GENERAL)
    irpf_bp = ScaledDecimalField(
        label="Retención IRPF (%)",
        required=False,
        minimum=0,
        maximum=taxes.BP_DENOMINATOR,
        help_text="Al elegirlo en una factura, pone esta retención. Vacío: la deja como esté.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6, "list": "irpf-presets"}),
    )

    def __init__(self, *args, read_only: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    @property
    def irpf_presets(self) -> list[tuple[str, str]]:
        return [
            (ScaledDecimalField().prepare_value(bp), taxes.format_percent(bp))
            for bp in IRPF_PRESETS_BP
        ]

    @property
    def data_for_service(self) -> dict:
        return dict(self.cleaned_data)

    @classmethod
    def initial_of(cls, item) -> dict:
        return {
            "name": item.name,
            "description": item.description,
            "unit_price_cents": item.unit_price_cents,
            "iva_type": item.iva_type,
            "irpf_bp": item.irpf_bp,
        }
