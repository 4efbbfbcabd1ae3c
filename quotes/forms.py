"""Quote forms: the header (:class:`QuoteForm`); the lines are the invoice form's
(:class:`invoicing.forms.LineFormSet`), so a quote's lines are typed and checked alike."""

from __future__ import annotations

from django import forms

from clients.models import Client
from factu.text import NoControlCharactersForm
from invoicing import taxes
from invoicing.forms import DATE_FORMATS, DateInput, InvoiceForm, ScaledDecimalField
from invoicing.models import Series
from quotes.models import QuoteStatus


class QuoteForm(NoControlCharactersForm, forms.Form):
    client = forms.ModelChoiceField(
        label="Cliente", queryset=Client.objects.none(), empty_label="— Elija un cliente"
    )
    issue_date = forms.DateField(label="Fecha", input_formats=DATE_FORMATS, widget=DateInput())
    valid_until = forms.DateField(
        label="Válido hasta",
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text="Pasada esta fecha sin respuesta, el presupuesto caduca.",
    )
    irpf_rate = ScaledDecimalField(
        label="Retención IRPF (%)",
        required=False,
        minimum=0,
        maximum=taxes.BP_DENOMINATOR,
        help_text="La que llevará la factura: 15 · 7 · 1,5. Vacío: sin retención.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6, "list": "irpf-presets"}),
    )
    notes = forms.CharField(label="Notas", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    # The service's error keys and the fields they belong to.
    SERVICE_FIELDS = {
        "client": "client",
        "issueDate": "issue_date",
        "validUntil": "valid_until",
        "irpfRate": "irpf_rate",
    }

    def __init__(self, *args, taxpayer, client=None, **kwargs):
        super().__init__(*args, **kwargs)
        clients = Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True)
        if client is not None:  # an archived client stays selectable on its own quote
            clients = clients | Client.objects.filter(pk=client.pk)
        self.fields["client"].queryset = clients.order_by("name")

    irpf_presets = InvoiceForm.irpf_presets
    clean_irpf_rate = InvoiceForm.clean_irpf_rate


class ConvertForm(NoControlCharactersForm, forms.Form):
    """The series of the invoice a quote becomes (offered only when there is a choice)."""

    series = forms.ModelChoiceField(
        label="Serie de la factura", queryset=Series.objects.none(), empty_label=None
    )

    def __init__(self, *args, series, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = series


class QuoteFilterForm(NoControlCharactersForm, forms.Form):
    estado = forms.ChoiceField(
        label="Estado", required=False, choices=[("", "Todos")] + list(QuoteStatus.choices)
    )
