"""Invoice forms: they parse what people type (Spanish or plain decimals) into integers.

Money goes in as euros with up to two decimals and comes out as integer cents; quantities
as units with up to two decimals and come out as hundredths; percentages as basis points.
Parsing uses ``Decimal``, never ``float``. The business rules (what may be issued, which
lines are valid together) stay in :mod:`invoicing.services`: the forms only read input and
show the service's errors next to the fields they concern.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.forms import formset_factory
from django.utils import timezone

from clients.models import Client
from factu.text import NoControlCharactersForm
from invoicing import numbering, taxes
from invoicing.models import Invoice, InvoiceStatus, IssuedBy, Series
from invoicing.services import DraftLine, replaceable_invoices
from invoicing.widgets import ClientSearchInput, resolve_typed_client

IVA_LABELS = {
    taxes.GENERAL: "General (21 %)",
    taxes.REDUCIDO: "Reducido (10 %)",
    taxes.SUPERREDUCIDO: "Superreducido (4 %)",
    taxes.CERO: "Tipo cero (0 %)",
    taxes.EXENTO: "Exento",
    taxes.NO_SUJETO: "No sujeto",
    taxes.INVERSION_SUJETO_PASIVO: "Inversión del sujeto pasivo",
}
IGIC_LABELS = {
    "igic_general": "IGIC general (7 %)",
    "igic_reducido": "IGIC reducido (3 %)",
    "igic_5": "IGIC 5 %",
    "igic_cero": "IGIC tipo cero (0 %)",
    "igic_incrementado": "IGIC incrementado (9,5 %)",
    "igic_especial": "IGIC especial incrementado (15 %)",
    "igic_20": "IGIC 20 %",
    taxes.IGIC_EXENTO: "Exento de IGIC",
}
IPSI_LABELS = {
    key: (
        "Exento de IPSI"
        if key == taxes.IPSI_EXENTO
        else f"IPSI {taxes.format_percent(taxes.IPSI_RATES_BP[key])}"
    )
    for key in taxes.IPSI_RATES_BP
}
TAX_CHOICES = [
    ("IVA", list(IVA_LABELS.items())),
    ("IGIC (Canarias)", list(IGIC_LABELS.items())),
    ("IPSI (Ceuta y Melilla)", list(IPSI_LABELS.items())),
]
CAUSE_LABELS = {
    "E1": "E1 · Exenta por el art. 20 LIVA",
    "E2": "E2 · Exenta por el art. 21 LIVA (exportación)",
    "E3": "E3 · Exenta por el art. 22 LIVA",
    "E4": "E4 · Exenta por los arts. 23 y 24 LIVA",
    "E5": "E5 · Exenta por el art. 25 LIVA (entrega intracomunitaria)",
    "E6": "E6 · Exenta por otros motivos",
    "N1": "N1 · No sujeta por los arts. 7 y 14 LIVA y otros",
    "N2": "N2 · No sujeta por reglas de localización",
}
# The usual IRPF withholdings, offered as presets; any rate from 0 to 100 % may be typed.
IRPF_PRESETS_BP = (100, 200, 700, 1500, 1900, 2400, 3500)
RECTIFICATION_INVOICE_TYPES = [
    ("R1", "R1 · Error fundado en derecho y art. 80.1, 80.2 y 80.6 LIVA"),
    ("R2", "R2 · Art. 80.3 LIVA (concurso)"),
    ("R3", "R3 · Art. 80.4 LIVA (créditos incobrables)"),
    ("R4", "R4 · Resto de causas"),
]
R5 = ("R5", "R5 · Rectificativa de factura simplificada")

_THOUSANDS_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_THOUSANDS_DOT_DECIMAL_COMMA = re.compile(r"^\d{1,3}(\.\d{3})*(,\d+)?$")
_THOUSANDS_COMMA_DECIMAL_DOT = re.compile(r"^\d{1,3}(,\d{3})*(\.\d+)?$")
_PLAIN = re.compile(r"^\d+([.,]\d+)?$")


def parse_decimal(text: str, places: int = 2) -> int:
    """A number as people type it, scaled to an integer of ``places`` decimals.

    Accepted: ``1234.56``, ``1234,56``, ``1.234,56``, ``1,234.56``, ``1.234`` (thousands),
    ``1,5``, ``-3``, with spaces and a trailing ``€`` or ``%`` ignored. With both separators
    the last one is the decimal mark; a lone dot followed by exactly three digits in groups
    (``1.234``, ``12.345.678``) groups thousands, since no amount here has three decimals.
    ``parse_decimal("1.234,56") == 123456``; more than ``places`` decimals is an error.
    """
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "").rstrip("€%").strip()
    if not raw:
        raise ValidationError("Indique un número.", code="required")
    sign = ""
    if raw[0] in "+-":
        sign, raw = ("-" if raw[0] == "-" else ""), raw[1:]
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            ok = _THOUSANDS_DOT_DECIMAL_COMMA.match(raw)
            normal = raw.replace(".", "").replace(",", ".")
        else:
            ok = _THOUSANDS_COMMA_DECIMAL_DOT.match(raw)
            normal = raw.replace(",", "")
    elif _THOUSANDS_DOT.match(raw):
        ok, normal = True, raw.replace(".", "")
    else:
        ok = _PLAIN.match(raw)
        normal = raw.replace(",", ".")
    if not ok:
        raise ValidationError("Escriba un número, como 1.234,56 o 1234.56.", code="invalid")
    try:
        value = Decimal(sign + normal)
    except InvalidOperation:
        raise ValidationError("Escriba un número, como 1.234,56.", code="invalid") from None
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValidationError(f"Como mucho {places} decimales.", code="places")
    return int(scaled)


def format_decimal(value: int, places: int = 2, group: bool = True) -> str:
    """The inverse of :func:`parse_decimal`, in Spanish: 123456 → ``1.234,56``, 150 → ``1,5``."""
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**places)
    text = f"{whole:,}".replace(",", ".") if group else str(whole)
    if frac:
        text += "," + f"{frac:0{places}d}".rstrip("0")
    return sign + text


class ScaledDecimalField(forms.CharField):
    """A decimal typed by a person, cleaned to an integer (cents, hundredths, basis points)."""

    def __init__(self, *, places: int = 2, minimum: int | None = None, maximum=None, **kwargs):
        self.places = places
        self.minimum = minimum
        self.maximum = maximum
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "size": 8}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            return format_decimal(value, self.places)
        return value

    def to_python(self, value):
        if isinstance(value, int) and not isinstance(value, bool):
            number = value  # already scaled: the initial value of a disabled field
        else:
            text = super().to_python(value)
            if text in self.empty_values:
                return None
            number = parse_decimal(text, self.places)
        if self.minimum is not None and number < self.minimum:
            raise ValidationError(
                f"No puede ser menor que {format_decimal(self.minimum, self.places)}."
            )
        if self.maximum is not None and number > self.maximum:
            raise ValidationError(
                f"No puede ser mayor que {format_decimal(self.maximum, self.places)}."
            )
        return number

    def has_changed(self, initial, data) -> bool:
        return (self.prepare_value(initial) or "") != (data or "")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"]


class LineForm(NoControlCharactersForm, forms.Form):
    """One line of a draft. Quantity and price may be negative only in a rectificativa
    (the service says so); a cause is kept only for the types that take one."""

    description = forms.CharField(
        label="Concepto", max_length=500, widget=forms.TextInput(attrs={"size": 40})
    )
    quantity = ScaledDecimalField(label="Cantidad", initial=100)
    unit_price = ScaledDecimalField(label="Precio unitario (€)")
    discount = ScaledDecimalField(
        label="Dto. %", required=False, minimum=0, maximum=taxes.BP_DENOMINATOR, initial=None
    )
    iva_type = forms.ChoiceField(label="Impuesto", choices=TAX_CHOICES, initial=taxes.GENERAL)
    cause = forms.ChoiceField(
        label="Causa",
        required=False,
        choices=[("", "—")] + list(CAUSE_LABELS.items()),
        help_text="Solo para exento (E1–E6) o no sujeto (N1, N2).",
    )
    regime = forms.ChoiceField(
        label="Régimen",
        required=False,
        choices=[("", "Automático (01, 02 o 18)")] + list(taxes.REGIMES.items()),
        help_text="Clave de régimen para la AEAT; automático según el tipo de IVA y el cliente.",
    )
    tobacco = forms.BooleanField(
        label="Tabaco (recargo 1,75 %)",
        required=False,
        help_text="Labores del tabaco a un cliente en recargo de equivalencia.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", field.label)
        self.fields["description"].widget.attrs["size"] = 36
        self.fields["discount"].widget.attrs["size"] = 4
        self.fields["quantity"].widget.attrs["size"] = 6

    def clean(self):
        data = super().clean()
        iva_type = data.get("iva_type")
        allowed = taxes.CAUSES.get(iva_type)
        if allowed is None:
            data["cause"] = ""  # a stale choice left over after changing the type
        elif data.get("cause") not in allowed:
            self.add_error(
                "cause",
                "Indique la causa: N1 o N2 para una operación no sujeta."
                if iva_type == taxes.NO_SUJETO
                else "Indique la causa: E1–E6 para una operación exenta.",
            )
        if data.get("tobacco") and iva_type != taxes.GENERAL:
            self.add_error(
                "tobacco", "El recargo del tabaco (1,75 %) va con el IVA general (21 %)."
            )
        return data

    def draft_line(self) -> DraftLine:
        data = self.cleaned_data
        return DraftLine(
            description=data["description"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            iva_type=data["iva_type"],
            discount_bp=data.get("discount") or 0,
            cause=data.get("cause") or "",
            tobacco=bool(data.get("tobacco")),
            regime=data.get("regime") or "",
        )


class BaseLineFormSet(forms.BaseFormSet):
    def live_forms(self) -> list[LineForm]:
        """The lines to save: filled in and not removed, in order."""
        initial = self.initial_form_count()
        return [
            form
            for i, form in enumerate(self.forms)
            if (i < initial or form.has_changed()) and not self._should_delete_form(form)
        ]

    def draft_lines(self) -> list[DraftLine]:
        return [form.draft_line() for form in self.live_forms()]


LineFormSet = formset_factory(LineForm, formset=BaseLineFormSet, extra=1, can_delete=True)


def line_initial(invoice_lines) -> list[dict]:
    return [
        {
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price_cents,
            "discount": line.discount_bp or None,
            "iva_type": line.iva_type,
            "cause": line.cause,
            "tobacco": line.tobacco,
            "regime": line.regime,
        }
        for line in invoice_lines
    ]


class InvoiceForm(NoControlCharactersForm, forms.Form):
    """The header of a draft. ``series`` only when creating (a draft stays in its series)."""

    series = forms.ModelChoiceField(label="Serie", queryset=Series.objects.none(), empty_label=None)
    client = forms.ModelChoiceField(
        label="Cliente",
        queryset=Client.objects.none(),
        required=False,
        widget=ClientSearchInput,
        help_text="Escriba parte del nombre o el NIF y elíjalo. Vacío: sin cliente (solo "
        "facturas simplificadas).",
    )
    issue_date = forms.DateField(
        label="Fecha de expedición", input_formats=DATE_FORMATS, widget=DateInput()
    )
    due_date = forms.DateField(
        label="Vencimiento", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    operation_date = forms.DateField(
        label="Fecha de operación",
        required=False,
        input_formats=DATE_FORMATS,
        widget=DateInput(),
        help_text="Solo si la entrega o el servicio es de otra fecha que la de expedición.",
    )
    description = forms.CharField(
        label="Descripción",
        max_length=500,
        required=False,
        help_text="Si la deja vacía, la AEAT recibe los conceptos de las líneas.",
        widget=forms.TextInput(attrs={"size": 60}),
    )
    issued_by = forms.ChoiceField(
        label="Expedida por",
        choices=IssuedBy.choices,
        required=False,
        help_text="Un tercero o el destinatario pueden expedir la factura en nombre del emisor.",
    )
    third_party_nif = forms.CharField(
        label="NIF del tercero",
        max_length=9,
        required=False,
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 10}),
    )
    third_party_name = forms.CharField(label="Nombre del tercero", max_length=120, required=False)
    replaced_invoices = forms.ModelMultipleChoiceField(
        label="Facturas simplificadas que sustituye",
        queryset=Invoice.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Marque las simplificadas (F2) que esta factura completa sustituye: se "
        "expide como F3.",
    )
    irpf_rate = ScaledDecimalField(
        label="Retención IRPF (%)",
        required=False,
        minimum=0,
        maximum=taxes.BP_DENOMINATOR,
        help_text="Cualquier tipo con dos decimales: 15 · 7 · 1,5. Vacío: sin retención.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 6, "list": "irpf-presets"}),
    )
    notes = forms.CharField(label="Notas", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    payment_details = forms.CharField(
        label="Forma de pago",
        max_length=200,
        required=False,
        help_text="Por ejemplo: transferencia a ES12 3456 7890 1234 5678 9012.",
    )

    # The service's error keys and the fields they belong to.
    SERVICE_FIELDS = {
        "series": "series",
        "client": "client",
        "clientId": "client",
        "issueDate": "issue_date",
        "dueDate": "due_date",
        "operationDate": "operation_date",
        "issuedBy": "issued_by",
        "thirdPartyNif": "third_party_nif",
        "thirdPartyName": "third_party_name",
        "replacedInvoices": "replaced_invoices",
        "irpfRate": "irpf_rate",
        "description": "description",
    }

    def __init__(
        self, *args, taxpayer, with_series: bool = True, client=None, draft=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        replaced = self.fields["replaced_invoices"]
        replaced.queryset = replaceable_invoices(taxpayer, draft)
        replaced.label_from_instance = lambda i: (
            f"{i.number} · {i.issue_date:%d/%m/%Y} · {taxes.format_euros(i.total_cents)}"
        )
        if with_series:
            self.fields["series"].queryset = taxpayer.series.filter(archived=False).exclude(
                kind=Series.Kind.RECTIFYING
            )
        else:
            del self.fields["series"]
        clients = Client.objects.filter(taxpayer=taxpayer, archived_at__isnull=True)
        if client is not None:  # an archived client stays selectable on its own draft
            clients = clients | Client.objects.filter(pk=client.pk)
        self.fields["client"].queryset = clients.order_by("name")
        self.fields["client"].widget.queryset = self.fields["client"].queryset

    @property
    def irpf_presets(self) -> list[tuple[str, str]]:
        """The presets as the IRPF field's datalist offers them: value typed, label shown."""
        return [(format_decimal(bp), taxes.format_percent(bp)) for bp in IRPF_PRESETS_BP]

    def clean_irpf_rate(self) -> int:
        return self.cleaned_data.get("irpf_rate") or 0

    def clean_client(self) -> Client | None:
        """The client picked; the one the text typed names when it is not that client's (no
        JavaScript, or a name typed over it); none when the box was emptied."""
        client = self.cleaned_data.get("client")
        field = self.fields["client"]
        widget = field.widget
        if not widget.search_posted:
            return client  # an id alone (the API-like posts of tests and tools)
        if not widget.typed:
            return None
        if client is None or widget.typed != str(client):
            return resolve_typed_client(field.queryset, widget.typed)
        return client


class RectifyForm(NoControlCharactersForm, forms.Form):
    series = forms.ModelChoiceField(
        label="Serie rectificativa", queryset=Series.objects.none(), empty_label=None
    )
    invoice_type = forms.ChoiceField(label="Tipo de rectificativa")
    rectification_type = forms.ChoiceField(
        label="Modalidad",
        choices=[("S", "Por sustitución (S)"), ("I", "Por diferencias (I)")],
        widget=forms.HiddenInput,
    )
    issue_date = forms.DateField(
        label="Fecha de expedición", input_formats=DATE_FORMATS, widget=DateInput()
    )
    description = forms.CharField(
        label="Motivo o descripción",
        max_length=500,
        required=False,
        widget=forms.TextInput(attrs={"size": 60}),
    )

    SERVICE_FIELDS = {
        "series": "series",
        "invoiceType": "invoice_type",
        "rectificationType": "rectification_type",
        "issueDate": "issue_date",
    }

    def __init__(self, *args, original, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["series"].queryset = original.taxpayer.series.filter(
            archived=False, kind=Series.Kind.RECTIFYING
        )
        simplified = original.invoice_type == "F2"
        self.fields["invoice_type"].choices = [R5] if simplified else RECTIFICATION_INVOICE_TYPES


class PaidForm(NoControlCharactersForm, forms.Form):
    paid_on = forms.DateField(
        label="Fecha de cobro", input_formats=DATE_FORMATS, widget=DateInput()
    )

    def clean_paid_on(self):
        value = self.cleaned_data["paid_on"]
        if value > timezone.localdate():
            raise ValidationError("La fecha de cobro no puede ser futura.")
        return value


class CancelForm(NoControlCharactersForm, forms.Form):
    reason = forms.CharField(
        label="Motivo (queda en el historial)",
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class InvoiceFilterForm(NoControlCharactersForm, forms.Form):
    estado = forms.ChoiceField(
        label="Estado", required=False, choices=[("", "Todos")] + list(InvoiceStatus.choices)
    )
    desde = forms.DateField(
        label="Desde", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    hasta = forms.DateField(
        label="Hasta", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    q = forms.CharField(label="Buscar", required=False, max_length=200)


class SeriesForm(NoControlCharactersForm, forms.ModelForm):
    class Meta:
        model = Series
        fields = ["code", "kind", "number_format", "padding"]

    def __init__(self, *args, taxpayer, **kwargs):
        super().__init__(*args, **kwargs)
        self.taxpayer = taxpayer
        self.fields["code"].help_text = "Letras, cifras o guiones: A, R, 2026-WEB."
        self.fields["padding"].help_text = "Cifras del número, con ceros a la izquierda: 3 → 001."

    def clean_code(self):
        code = self.cleaned_data["code"].strip().upper()
        if not re.fullmatch(r"[A-Z0-9][A-Z0-9-]*", code):
            raise ValidationError("Use solo letras sin acentos, cifras y guiones.")
        if self.taxpayer.series.filter(code=code).exists():
            raise ValidationError(f"{self.taxpayer.name} ya tiene una serie {code}.")
        return code

    def clean_padding(self):
        padding = self.cleaned_data["padding"]
        if not 1 <= padding <= 10:
            raise ValidationError("Entre 1 y 10 cifras.")
        return padding

    def clean(self):
        data = super().clean()
        fmt = data.get("number_format")
        if fmt:
            try:
                numbering.check(fmt, code=data.get("code") or "A")
            except numbering.FormatError as error:
                self.add_error("number_format", str(error))
        return data
