"""Forms of the received-invoice pages: the upload, the answers, the expense and the rules."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from expenses.forms import EurosField
from expenses.services import categories_for
from factu.models import Account
from invoicing.forms import DATE_FORMATS, DateInput


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Fichero XML o ZIP",
        help_text="Una factura en UBL, CII o Facturae, o un ZIP con varias.",
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xml,.zip,application/xml,text/xml,application/zip"}
        ),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label="Motivo del rechazo",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Indique el motivo del rechazo."},
    )


class PaidForm(forms.Form):
    paid_on = forms.DateField(
        label="Fecha del pago", input_formats=DATE_FORMATS, widget=DateInput()
    )
    amount = EurosField(label="Importe pagado (€)", minimum=1)

    def __init__(self, *args, payable_cents: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()
        if payable_cents > 0:
            self.fields["amount"].initial = payable_cents


class CategoryChoice(forms.ModelChoiceField):
    def __init__(self, account: Account, **kwargs):
        super().__init__(queryset=categories_for(account), **kwargs)


class ConvertForm(forms.Form):
    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = CategoryChoice(
            account, label="Categoría", required=False, empty_label="Sin categoría"
        )


class RuleForm(forms.Form):
    supplier_nif = forms.CharField(label="NIF del proveedor", max_length=40)

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"] = CategoryChoice(account, label="Categoría del gasto")
