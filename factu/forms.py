from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm, SetPasswordForm
from django.core.exceptions import ValidationError
from django.db import transaction

from factu import services
from factu.branding import check_logo, normalize_accent
from factu.iban import normalize_iban
from factu.models import Account, Role, Taxpayer, default_irpf_regime
from factu.nif import is_natural_person_nif, validate_nif
from factu.signals import verifactu_mode_checked, verifactu_mode_requested
from factu.text import NoControlCharactersForm

# The usual withholdings; kept apart from the invoicing app's list (factu imports no app).
IRPF_CHOICES = [
    (0, "Sin retención"),
    (700, "7 % (inicio de actividad)"),
    (1500, "15 % (profesionales)"),
    (1900, "19 %"),
]


class EmailLoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Correo electrónico",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )
    error_messages = {
        "invalid_login": "El correo electrónico o la contraseña no son correctos.",
        "inactive": "Esta cuenta de usuario está desactivada.",
    }


MODE_HELP = (
    "VERI*FACTU: cada registro de facturación se envía a la AEAT en el momento. "
    "NO VERI*FACTU: cada registro y cada evento se firma al generarse con el certificado del "
    "contribuyente, se guarda con un registro de eventos y solo se envía a la AEAT si ésta lo "
    "requiere; por eso, para pasar a NO VERI*FACTU hace falta haber subido antes un "
    "certificado vigente del contribuyente, con clave RSA y de una autoridad de certificación "
    "reconocida. "
    "Se puede pasar a VERI*FACTU en cualquier momento. Para volver a NO VERI*FACTU, si este "
    "año ya se han emitido registros en VERI*FACTU, hay que seguir en VERI*FACTU hasta el 31 de "
    "diciembre: el cambio se aplica el 1 de enero siguiente."
)


class AccountSettingsForm(forms.ModelForm):
    class Meta:
        model = Account
        fields = ["manages_several_taxpayers"]
        labels = {"manages_several_taxpayers": "Gestiono varios contribuyentes"}
        widgets = {
            "manages_several_taxpayers": forms.CheckboxInput(
                attrs={"aria-describedby": "id_manages_several_taxpayers-help"}
            )
        }


class TaxpayerForm(NoControlCharactersForm, forms.ModelForm):
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
            "verifactu_mode",
            "default_irpf_bp",
            "irpf_regime",
            "iban",
            "cash_criterion",
        ]

    # Where the clients pay and what the 303 counts: an owner's or an administrator's call
    # (Membership.can_manage), never an accountant's alone.
    MANAGED_FIELDS = ("iban", "cash_criterion")

    def __init__(self, *args, account: Account, may_manage: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        if not may_manage:
            for name in self.MANAGED_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text += " Solo el propietario o un administrador lo cambia."
        self.fields["nif"].validators = []
        self.fields["nif"].widget.attrs.update(autocapitalize="characters", spellcheck="false")
        self.fields["country"].widget.attrs.update(maxlength=2)
        iban = self.fields["iban"]
        iban.max_length, iban.validators = 50, []  # typed in groups; checked in clean_iban
        iban.widget.attrs.update(
            maxlength=50, autocapitalize="characters", spellcheck="false", autocomplete="off"
        )
        if self.instance.iban:
            self.initial["iban"] = self.instance.iban_display
        self._saved_mode = self.instance.verifactu_mode if self.instance.pk else None
        self.mode_change = None
        mode = self.fields["verifactu_mode"]
        mode.required = False  # absent: the taxpayer's current mode (VERI*FACTU when new)
        mode.help_text = MODE_HELP
        if self.instance.pk and self.instance.verifactu_until:
            # What was asked for is shown; saving the form unchanged keeps it scheduled.
            self.initial["verifactu_mode"] = Taxpayer.VerifactuMode.NO_VERIFACTU
            mode.help_text += (
                " Cambio pedido: sigue en VERI*FACTU hasta el "
                f"{self.instance.verifactu_until:%d/%m/%Y} y pasa a NO VERI*FACTU el 1 de enero."
            )
        regime = self.fields["irpf_regime"]
        regime.choices = [("", "Según el NIF"), *Taxpayer.IrpfRegime.choices]
        regime.help_text = (
            "Solo la estimación directa (normal o simplificada) presenta el modelo 130. "
            "«Según el NIF»: una persona, estimación directa simplificada; una entidad, no aplica."
        )
        irpf_choices = list(IRPF_CHOICES)
        current = self.instance.default_irpf_bp if self.instance.pk else 0
        if current not in dict(irpf_choices):  # e.g. set through the API
            irpf_choices.append((current, f"{current / 100:.2f} %".replace(".", ",")))
        self.fields["default_irpf_bp"] = forms.TypedChoiceField(
            label="Retención IRPF por defecto",
            choices=irpf_choices,
            coerce=int,
            required=False,
            empty_value=0,
            help_text="Se propone al crear cada factura de este contribuyente.",
        )

    def clean_irpf_regime(self) -> str:
        """Blank: the default of the NIF (:func:`factu.models.default_irpf_regime`). An
        entity's NIF pays no IRPF by estimación: it cannot take one."""
        regime = self.cleaned_data.get("irpf_regime") or ""
        nif = self.cleaned_data.get("nif") or self.instance.nif or ""
        if not regime:
            return default_irpf_regime(nif) if nif else ""
        if nif and not is_natural_person_nif(nif) and regime != Taxpayer.IrpfRegime.NOT_APPLICABLE:
            raise forms.ValidationError(
                "Una sociedad u otra entidad no tributa por IRPF en estimación directa ni "
                "objetiva: elija «No aplica»."
            )
        return regime

    def clean_verifactu_mode(self) -> str:
        value = self.cleaned_data.get("verifactu_mode") or self.instance.verifactu_mode
        return value or Taxpayer.VerifactuMode.VERIFACTU

    def clean(self):
        """A switch to NO VERI*FACTU needs a certificate that signs: the engine says, through
        ``verifactu_mode_checked``, why not, and the form shows it on the mode's field."""
        cleaned = super().clean()
        requested = cleaned.get("verifactu_mode")
        if requested and requested != self._saved_mode:
            for _, problem in verifactu_mode_checked.send(
                sender=Taxpayer, taxpayer=self.instance, mode=requested
            ):
                if problem:
                    self.add_error("verifactu_mode", problem)
                    break
        return cleaned

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

    def clean_iban(self) -> str:
        return normalize_iban(self.cleaned_data.get("iban", ""))

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise forms.ValidationError("Use el código de país de dos letras (ES, PT, FR…).")
        return country

    def save(self, commit: bool = True) -> Taxpayer | None:
        """A new taxpayer starts in the chosen mode; an existing one changes it only through
        the ``verifactu_mode_requested`` signal, whose receiver (``verifactu.modes``) applies
        the year-end rule and logs events 01/02. A refusal of the receiver (a
        ``ValidationError``, e.g. the certificate went away since ``clean``) undoes the whole
        save and becomes the form's error: then ``None`` is returned."""
        self.instance.account = self.account
        requested = self.cleaned_data.get("verifactu_mode")
        if self._saved_mode is None:
            return super().save(commit)
        try:
            with transaction.atomic():
                return self._save_and_request(requested, commit)
        except ValidationError as exc:
            self.instance.refresh_from_db()
            self._update_errors(exc)
            return None

    def _save_and_request(self, requested: str | None, commit: bool) -> Taxpayer:
        self.instance.verifactu_mode = self._saved_mode  # never changed by a plain save
        taxpayer = super().save(commit)
        if not commit:
            return taxpayer
        if (requested and requested != self._saved_mode) or taxpayer.verifactu_until:
            # The mode rule lives with the records (verifactu.modes), which listens for this.
            responses = verifactu_mode_requested.send(
                sender=Taxpayer, taxpayer=taxpayer, mode=requested
            )
            self.mode_change = next((r for _, r in responses if r is not None), None)
        return taxpayer


def _password_field(label: str = "Contraseña") -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Al menos 8 caracteres; que no sea solo números ni una contraseña común.",
    )


class SignUpEmailForm(forms.Form):
    """Signing up, step one: the address the confirmation link goes to."""

    email = forms.EmailField(
        label="Correo electrónico",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def clean_email(self) -> str:
        return services.normalize_email(self.cleaned_data["email"])


class SignUpForm(NoControlCharactersForm, forms.Form):
    """Signing up, step two (from the emailed link): the fields of
    :func:`factu.services.sign_up` but the email, which the link carries; the service has the
    last word."""

    full_name = forms.CharField(
        label="Su nombre", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = _password_field()
    account_kind = forms.ChoiceField(
        label="¿Quién va a facturar?",
        choices=Account.Kind.choices,
        initial=Account.Kind.AUTONOMO,
        widget=forms.RadioSelect,
        help_text="Una gestoría lleva la facturación de varios contribuyentes.",
    )
    account_name = forms.CharField(
        label="Nombre de la cuenta",
        max_length=200,
        help_text="Cómo la verá en Factu: su nombre, el de su empresa o el de su gestoría.",
    )
    taxpayer_nif = forms.CharField(
        label="NIF del primer contribuyente",
        max_length=20,
        help_text="El NIF con el que se emitirán las facturas. Una gestoría podrá añadir más.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "spellcheck": "false"}),
    )
    taxpayer_name = forms.CharField(label="Nombre o razón social", max_length=120)

    def clean_taxpayer_nif(self) -> str:
        return validate_nif(self.cleaned_data["taxpayer_nif"])


class InvitationForm(NoControlCharactersForm, forms.Form):
    email = forms.EmailField(
        label="Correo electrónico", widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )
    role = forms.ChoiceField(label="Rol", choices=Role.choices, initial=Role.ACCOUNTANT)

    def __init__(self, *args, actor_role: str, **kwargs):
        super().__init__(*args, **kwargs)
        if actor_role != Role.OWNER:
            self.fields["role"].choices = [c for c in Role.choices if c[0] != Role.OWNER]


class RoleForm(forms.Form):
    role = forms.ChoiceField(label="Rol", choices=Role.choices)


class AcceptInvitationForm(forms.Form):
    """A new person joining through an invitation: their name and a password."""

    full_name = forms.CharField(
        label="Su nombre", max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    password = _password_field("Elija una contraseña")


class RevokeTokensMixin(forms.Form):
    """A new password, and whether to revoke the user's API tokens with it (checked by
    default: after a suspected leak, whatever had the old password may have made tokens)."""

    revoke_tokens = forms.BooleanField(
        label="Revocar también todos mis tokens de la API",
        required=False,
        initial=True,
        help_text="Los programas que los usan dejarán de funcionar hasta que cree tokens nuevos.",
    )

    def save(self, commit: bool = True):
        services.set_password(
            self.user,
            self.cleaned_data["new_password1"],
            revoke_tokens=self.cleaned_data.get("revoke_tokens", False),
        )
        return self.user


class PasswordResetSetForm(RevokeTokensMixin, SetPasswordForm):
    """The last step of a password reset (Django's view)."""


class PasswordChangeWithTokensForm(RevokeTokensMixin, PasswordChangeForm):
    """Settings → Contraseña: the current password, a new one."""


class BrandingForm(NoControlCharactersForm, forms.Form):
    """A taxpayer's branding; the rules (logo bytes, colour) are :mod:`factu.branding`'s."""

    logo = forms.FileField(
        label="Logotipo",
        required=False,
        help_text="PNG o JPEG, hasta 1 MB y 2000 píxeles de lado. Sale arriba a la derecha "
        "del PDF.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg"}),
    )
    remove_logo = forms.BooleanField(label="Quitar el logotipo actual", required=False)
    contact_email = forms.EmailField(
        label="Correo de contacto",
        required=False,
        help_text="Sale en el PDF; sus clientes responden a esta dirección a las facturas que "
        "les enviemos.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    contact_phone = forms.CharField(
        label="Teléfono de contacto",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    footer_text = forms.CharField(
        label="Texto al pie",
        max_length=300,
        required=False,
        help_text="Al pie de cada página del PDF (hasta 300 caracteres).",
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    accent_color = forms.CharField(
        label="Color de acento",
        max_length=7,
        required=False,
        help_text="#RRGGBB, por ejemplo #1A5FB4: las líneas y el título del PDF. Vacío: gris "
        "oscuro.",
        widget=forms.TextInput(
            attrs={"size": 8, "spellcheck": "false", "autocapitalize": "characters"}
        ),
    )

    def __init__(self, *args, has_logo: bool = False, may_manage: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["logo"].widget = forms.FileInput(attrs={"accept": "image/png,image/jpeg"})
        if not has_logo:
            del self.fields["remove_logo"]
        if not may_manage:  # where the clients' answers go: as the IBAN (TaxpayerForm)
            self.fields["contact_email"].disabled = True
            self.fields[
                "contact_email"
            ].help_text += " Solo el propietario o un administrador la cambia."

    def clean_accent_color(self) -> str:
        return normalize_accent(self.cleaned_data.get("accent_color", ""))

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo:
            check_logo(logo)
        return logo
