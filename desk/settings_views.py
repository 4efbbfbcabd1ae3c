"""Settings → Certificados and Settings → Sistema informático.

They live here, not in ``factu``, because they read ``verifactu`` models (``factu`` never
imports the other apps). Uploading goes through :func:`verifactu.certificates.store_certificate`,
which opens the PKCS#12 with its password and keeps both encrypted; neither is ever rendered
again (the form's password widget does not echo it, and no page shows the bytes).
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from factu.access import account_view
from verifactu import installations
from verifactu.certificates import store_certificate
from verifactu.models import Certificate, ComputerSystem

EXPIRY_WARNING_DAYS = 30
MAX_CERTIFICATE_BYTES = 256 * 1024
REPRESENTATIVE = "representante"


def expiry_status(not_valid_after, now=None) -> tuple[str, str]:
    """``(tone, label)`` for a certificate's expiry: ok, warn (≤ 30 days) or bad (expired)."""
    now = now or timezone.now()
    if not_valid_after <= now:
        return "bad", "Caducado"
    left = not_valid_after - now
    if left <= timedelta(days=EXPIRY_WARNING_DAYS):
        days = left.days
        when = "hoy" if days == 0 else f"en {days} día{'s' if days != 1 else ''}"
        return "warn", f"Caduca {when}"
    return "ok", "Vigente"


class CertificateForm(forms.Form):
    owner = forms.ChoiceField(label="¿De quién es el certificado?")
    file = forms.FileField(
        label="Certificado (.p12 o .pfx)",
        help_text="El archivo PKCS#12 con el certificado y su clave privada.",
        widget=forms.ClearableFileInput(attrs={"accept": ".p12,.pfx"}),
    )
    password = forms.CharField(
        label="Contraseña del certificado",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
        help_text="Se guarda cifrada y no se vuelve a mostrar.",
    )
    representative_nif = forms.CharField(
        label="NIF del representante",
        required=False,
        max_length=20,
        help_text="Solo para el certificado de representante (p. ej. el de la gestoría).",
    )
    representative_name = forms.CharField(
        label="Nombre del representante", required=False, max_length=120
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.taxpayers = {str(t.pk): t for t in account.taxpayers.order_by("name", "id")}
        self.fields["owner"].choices = [
            *((pk, f"{t.name} ({t.nif})") for pk, t in self.taxpayers.items()),
            (REPRESENTATIVE, "Representante de la cuenta (apoderado de sus contribuyentes)"),
        ]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_CERTIFICATE_BYTES:
            raise ValidationError("El archivo es demasiado grande para ser un certificado.")
        return upload


def _certificate_rows(account) -> list[Certificate]:
    rows = list(
        Certificate.objects.filter(account=account)
        .select_related("taxpayer")
        .defer("encrypted_data", "encrypted_password")
        .order_by("taxpayer__name", "-uploaded_at")
    )
    now = timezone.now()
    latest: set = set()
    for cert in rows:
        cert.tone, cert.status = expiry_status(cert.not_valid_after, now)
        key = cert.taxpayer_id or REPRESENTATIVE
        cert.in_use = key not in latest and cert.not_valid_after > now
        if cert.in_use:
            latest.add(key)
    return rows


# The password is in the POST and, once cleaned, in this view's locals and below.
@sensitive_variables()
@sensitive_post_parameters("password")
@never_cache
@account_view(manage=True)
def certificate_list(request: HttpRequest) -> HttpResponse:
    """The account's certificates with their expiry; owners and admins upload new ones."""
    form = CertificateForm(request.POST or None, request.FILES or None, account=request.account)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        taxpayer = form.taxpayers.get(data["owner"])
        try:
            cert = store_certificate(
                request.account,
                data["file"].read(),
                data["password"],
                taxpayer=taxpayer,
                representative_nif=data["representative_nif"],
                representative_name=data["representative_name"],
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                form.add_error(None, error)
            else:  # validate_nif's own error: the representative's NIF
                form.add_error("representative_nif", error)
        else:
            whose = taxpayer.name if taxpayer else f"{cert.representative_name} (representante)"
            messages.success(request, f"Certificado de {whose} guardado: {cert.subject}.")
            tone, label = expiry_status(cert.not_valid_after)
            if tone != "ok":
                messages.warning(
                    request,
                    f"Atención: este certificado caduca el "
                    f"{timezone.localtime(cert.not_valid_after):%d/%m/%Y}. "
                    "Renuévelo antes para que los envíos a la AEAT no se detengan.",
                )
            return redirect("certificate_list", account_slug=request.account.slug)
    rows = _certificate_rows(request.account)
    return render(
        request,
        "desk/settings_certificates.html",
        {
            "form": form,
            "certificates": rows,
            "expiring": [c for c in rows if c.in_use and c.tone == "warn"],
            "can_manage": request.membership.can_manage,
            "deployment_certificate": bool(settings.AEAT_CERT_FILE),
            "warning_days": EXPIRY_WARNING_DAYS,
        },
    )


@account_view()
def computer_systems(request: HttpRequest) -> HttpResponse:
    """The deployment's software, which every record states, and the account's installations
    of it: Factu's own (created at the first invoice issued in Factu) and the API's."""
    systems = list(ComputerSystem.objects.filter(account=request.account).order_by("created_at"))
    own = next((s for s in systems if s.label == installations.DEFAULT_LABEL), None)
    return render(
        request,
        "desk/settings_systems.html",
        {
            "software": installations.software(),
            "own": own,
            "own_number": installations.default_installation_number(request.account),
            "others": [s for s in systems if s is not own],
        },
    )
