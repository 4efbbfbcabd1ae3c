"""The plan form: what people type, parsed into the plan's fields. The rules (which client,
series and calendar a plan may have) stay in :mod:`recurring.services`, whose errors the
form shows next to the fields they name."""

from __future__ import annotations

from django import forms

from clients.models import Client
from factu.text import NoControlCharactersForm
from invoicing import taxes
from invoicing.forms import DATE_FORMATS, DateInput, ScaledDecimalField
from invoicing.models import Series
from recurring.models import Frequency
from recurring.services import MAX_PAYMENT_DAYS


class PlanForm(NoControlCharactersForm, forms.Form):
    name = forms.CharField(
        label="Nombre del plan",
        max_length=120,
        help_text="Para reconocerlo en la lista: «Mantenimiento web de Acme».",
    )
    client = forms.ModelChoiceField(label="Cliente", queryset=Client.objects.none())
    series = forms.ModelChoiceField(label="Serie", queryset=Series.objects.none(), empty_label=None)
    frequency = forms.ChoiceField(label="Periodicidad", choices=Frequency.choices)
    day_of_month = forms.IntegerField(
        label="Día del mes",
        min_value=1,
        max_value=31,
        initial=1,
        help_text="Si un mes no tiene ese día, el último del mes.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    start_date = forms.DateField(
        label="Desde",
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text="La primera factura, el primer día del plan a partir de esta fecha y de hoy: "
        "nunca se facturan periodos cuyo día ya ha pasado al crear el plan.",
    )
    end_date = forms.DateField(
        label="Hasta (opcional)",
        required=False,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text="Ninguna factura de un periodo posterior.",
    )
    max_invoices = forms.IntegerField(
        label="Número de facturas (opcional)",
        required=False,
        min_value=1,
        help_text="Vacío: sin límite.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 6}),
    )
    auto_issue = forms.TypedChoiceField(
        label="Al generarse, la factura",
        choices=[("1", "se emite automáticamente"), ("0", "queda como borrador para revisarla")],
        coerce=lambda value: value == "1",
        initial="1",
        widget=forms.RadioSelect,
    )
    auto_send = forms.BooleanField(
        label="Enviarla por correo al cliente al emitirla",
        required=False,
    )
    description = forms.CharField(
        label="Descripción de la factura",
        max_length=500,
        required=False,
        help_text="{periodo}, aquí o en un concepto, se cambia por los meses facturados: "
        "«Hosting de {periodo}» → «Hosting de marzo de 2026».",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    irpf_rate = ScaledDecimalField(
        label="Retención IRPF (%)",
        required=False,
        minimum=0,
        maximum=taxes.BP_DENOMINATOR,
        help_text="15 · 7 · 1,5. Vacío: sin retención.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6}),
    )
    payment_days = forms.IntegerField(
        label="Vencimiento (días)",
        required=False,
        min_value=0,
        max_value=MAX_PAYMENT_DAYS,
        help_text="Días desde la fecha de la factura. Vacío: sin vencimiento.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "size": 4}),
    )
    payment_details = forms.CharField(label="Forma de pago", max_length=200, required=False)
    notes = forms.CharField(label="Notas", required=False, widget=forms.Textarea(attrs={"rows": 3}))

    # The service's error keys and the fields they belong to.
    SERVICE_FIELDS = {
        "name": "name",
        "clientId": "client",
        "seriesId": "series",
        "frequency": "frequency",
        "dayOfMonth": "day_of_month",
        "startDate": "start_date",
        "endDate": "end_date",
        "count": "max_invoices",
        "paymentDays": "payment_days",
        "irpfRate": "irpf_rate",
        "description": "description",
    }

    def __init__(self, *args, taxpayer, plan=None, **kwargs):
        super().__init__(*args, **kwargs)
        clients = Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True)
        series = taxpayer.series.filter(archived=False).exclude(kind=Series.Kind.RECTIFYING)
        if plan is not None:  # an archived client or series stays selectable on its plan
            clients = clients | Client.objects.filter(pk=plan.client_id)
            series = series | Series.objects.filter(pk=plan.series_id)
        self.fields["client"].queryset = clients.order_by("name")
        self.fields["series"].queryset = series.order_by("code")

    def clean_irpf_rate(self) -> int:
        return self.cleaned_data.get("irpf_rate") or 0

    def plan_fields(self) -> dict:
        """The plan's fields, as :func:`recurring.services.create_plan` takes them."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "client": data["client"],
            "series": data["series"],
            "frequency": data["frequency"],
            "day_of_month": data["day_of_month"],
            "start_date": data["start_date"],
            "end_date": data["end_date"],
            "max_invoices": data["max_invoices"],
            "auto_issue": data["auto_issue"],
            "auto_send": data["auto_send"],
            "description": data["description"],
            "irpf_bp": data["irpf_rate"],
            "payment_days": data["payment_days"],
            "payment_details": data["payment_details"],
            "notes": data["notes"],
        }


def plan_initial(plan) -> dict:
    return {
        "name": plan.name,
        "client": plan.client_id,
        "series": plan.series_id,
        "frequency": plan.frequency,
        "day_of_month": plan.day_of_month,
        "start_date": plan.start_date,
        "end_date": plan.end_date,
        "max_invoices": plan.max_invoices,
        "auto_issue": "1" if plan.auto_issue else "0",
        "auto_send": plan.auto_send,
        "description": plan.description,
        "irpf_rate": plan.irpf_bp,
        "payment_days": plan.payment_days,
        "payment_details": plan.payment_details,
        "notes": plan.notes,
    }
