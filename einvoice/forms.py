"""The forms of the invoice page's e-invoice status panel and of the statuses report."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from einvoice.status import B2BStatus
from factu.text import NoControlCharactersForm
from invoicing.forms import DATE_FORMATS, DateInput, ScaledDecimalField


class AnswerForm(NoControlCharactersForm, forms.Form):
    """The client's answer, as the user records it. ``SERVICE_FIELDS`` puts each error of
    :func:`einvoice.answers.record_client_answer` on its field."""

    SERVICE_FIELDS = {
        "status": "status",
        "reason": "reason",
        "paid_on": "paid_on",
        "paid_cents": "paid_amount",
        "at": "answered_on",
    }

    status = forms.ChoiceField(label="Respuesta del cliente", choices=B2BStatus.choices)
    answered_on = forms.DateField(
        label="Fecha de la respuesta", input_formats=DATE_FORMATS, widget=DateInput()
    )
    reason = forms.CharField(
        label="Motivo",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Obligatorio si la rechaza.",
    )
    paid_on = forms.DateField(
        label="Fecha de pago", required=False, input_formats=DATE_FORMATS, widget=DateInput()
    )
    paid_amount = ScaledDecimalField(label="Importe pagado (€)", required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"answered_on": timezone.localdate()})
        # The invoice page has other forms (its "Cobrada el" has a paid_on): own ids.
        kwargs.setdefault("auto_id", "b2b_%s")
        super().__init__(*args, **kwargs)
        self.fields["paid_amount"].widget.attrs.update(autocomplete="off")


class ResponseUploadForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "b2b_response_%s")
        super().__init__(*args, **kwargs)

    file = forms.FileField(
        label="Respuesta UBL del cliente (ApplicationResponse, XML)",
        error_messages={"required": "Elija el fichero XML de la respuesta."},
    )


class PeriodForm(forms.Form):
    start = forms.DateField(label="Desde", input_formats=DATE_FORMATS, widget=DateInput())
    end = forms.DateField(label="Hasta", input_formats=DATE_FORMATS, widget=DateInput())

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", "La fecha final no puede ser anterior a la inicial.")
        if start and end and (end - start).days > 366:
            self.add_error("end", "El periodo no puede pasar de un año.")
        return data
