from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from factu.models import Account, Taxpayer
from factu.nif import validate_nif


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Correo electrónico",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": "El correo electrónico o la contraseña no son correctos.",
        "inactive": "Esta cuenta de usuario está desactivada.",
    }


class TaxpayerForm(forms.ModelForm):
    class Meta:
        model = Taxpayer
        fields = [
            "nif",
            "name",
            "address",
            "postal_code",
            "city",
            "province",
            "country",
            "default_irpf_bp",
        ]

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["nif"].validators = []
        self.fields["nif"].widget.attrs.update(autocapitalize="characters", spellcheck="false")
        self.fields["country"].widget.attrs.update(maxlength=2)
        self.fields["default_irpf_bp"].required = False

    def clean_default_irpf_bp(self) -> int:
        value = self.cleaned_data.get("default_irpf_bp") or 0
        if value > 10000:
            raise forms.ValidationError("Como mucho 10000 (100 %).")
        return value

    def clean_nif(self) -> str:
        nif = validate_nif(self.cleaned_data["nif"])
        clash = self.account.taxpayers.filter(nif=nif).exclude(pk=self.instance.pk)
        if clash.exists():
            raise forms.ValidationError("Ya hay un contribuyente con este NIF en la cuenta.")
        return nif

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError("Use el código de país de dos letras (ES, PT, FR…).")
        return country

    def save(self, commit: bool = True) -> Taxpayer:
        self.instance.account = self.account
        return super().save(commit)
