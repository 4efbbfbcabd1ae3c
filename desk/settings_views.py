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
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from factu.access import account_view
from factu.text import NoControlCharactersForm
from factu.uploads import accepts_upload
from verifactu import installations, representation
from verifactu.certificates import store_certificate
from verifactu.models import Certificate, ComputerSystem, Representation

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


class CertificateForm(NoControlCharactersForm, forms.Form):
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
    """The certificates, each marked: in use (the taxpayer's newest valid one naming its NIF,
    or a representative certificate chosen for some taxpayer) and whether it proves."""
    rows = list(
        Certificate.objects.filter(account=account)
        .select_related("taxpayer")
        .defer("encrypted_data", "encrypted_password")
        .order_by("taxpayer__name", "-uploaded_at")
    )
    chosen = set(
        Representation.objects.filter(account=account, certificate__isnull=False).values_list(
            "certificate_id", flat=True
        )
    )
    now = timezone.now()
    latest: set = set()
    for cert in rows:
        cert.tone, cert.status = expiry_status(cert.not_valid_after, now)
        valid = cert.not_valid_after > now
        if cert.taxpayer_id:
            cert.proves = cert.holder_nif == cert.taxpayer.nif
            cert.current = valid and cert.taxpayer_id not in latest
            if cert.current:
                latest.add(cert.taxpayer_id)
            cert.in_use = cert.current and cert.proves
        else:
            cert.proves = True
            cert.in_use = cert.current = valid and cert.pk in chosen
    return rows


# The password is in the POST and, once cleaned, in this view's locals and below.
@accepts_upload(MAX_CERTIFICATE_BYTES)
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
            "expiring": [c for c in rows if c.current and c.tone == "warn"],
            "can_manage": request.membership.can_manage,
            "deployment_certificate": bool(settings.AEAT_CERT_FILE),
            "warning_days": EXPIRY_WARNING_DAYS,
        },
    )


def _certificate_label(cert: Certificate) -> str:
    who = cert.representative_name or cert.holder_name
    nif = cert.holder_nif or cert.representative_nif
    return f"{who} ({nif}) · hasta {cert.not_valid_after:%d/%m/%Y}"


class RepresentationForm(NoControlCharactersForm, forms.Form):
    kind = forms.ChoiceField(
        label="¿Cómo representa a este contribuyente?",
        choices=[("", "—"), *Representation.Kind.choices],
        required=False,
    )
    certificate = forms.ChoiceField(
        label="Certificado de representante que presenta", required=False
    )
    reference = forms.CharField(label="Referencia del apoderamiento", required=False, max_length=60)
    scope = forms.CharField(
        label="Ámbito del apoderamiento",
        required=False,
        max_length=200,
        help_text="Por ejemplo GENERALLEY58 o el trámite de VERI*FACTU.",
    )
    valid_until = forms.DateField(
        label="Vigente hasta (opcional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    document = forms.FileField(
        label="Documento de representación firmado por el cliente (colaborador social)",
        required=False,
        help_text="PDF, PNG o JPEG. Se guarda cifrado.",
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        self.certificates = {
            str(c.pk): c for c in representation.representative_certificates(account.pk)
        }
        self.fields["certificate"].choices = [
            ("", "Ninguno"),
            *((pk, _certificate_label(c)) for pk, c in self.certificates.items()),
        ]

    def clean_document(self):
        upload = self.cleaned_data.get("document")
        if not upload:
            return None
        try:
            return upload.name, representation.read_document(upload)
        except ValidationError as error:
            raise ValidationError(error.message_dict["document"]) from None


@account_view()
def representation_list(request: HttpRequest) -> HttpResponse:
    """Each taxpayer: may its records be sent to the AEAT, on what proof, or what is missing."""
    rows = [
        (taxpayer, representation.sending_right(taxpayer))
        for taxpayer in request.account.taxpayers.order_by("name", "id")
    ]
    return render(
        request,
        "desk/settings_representation.html",
        {"rows": rows, "sandbox": representation.sandbox_active()},
    )


@accepts_upload(lambda: settings.REPRESENTATION_DOCUMENT_MAX_BYTES)
@never_cache
@account_view(manage=True)
def representation_edit(request: HttpRequest, taxpayer_id) -> HttpResponse:
    """Record how the account's representative certificate speaks for one taxpayer."""
    taxpayer = get_object_or_404(request.account.taxpayers, pk=taxpayer_id)
    current = Representation.objects.filter(taxpayer=taxpayer).first()
    initial = {}
    if current is not None:
        initial = {
            "kind": current.kind,
            "certificate": str(current.certificate_id or ""),
            "reference": current.reference,
            "scope": current.scope,
            "valid_until": current.valid_until,
        }
    can_manage = request.membership.can_manage
    posted = request.method == "POST"  # only owners and admins get here (account_view)
    form = RepresentationForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        account=request.account,
        initial=initial,
    )
    if posted and form.is_valid():
        data = form.cleaned_data
        document = data["document"]
        try:
            representation.record_representation(
                taxpayer,
                user=request.user,
                kind=data["kind"] or "",
                certificate=form.certificates.get(data["certificate"]),
                reference=data["reference"],
                scope=data["scope"],
                valid_until=data["valid_until"],
                document=document[1] if document else None,
                document_name=document[0] if document else "",
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            right = representation.sending_right(taxpayer)
            if right.allowed:
                messages.success(request, f"Representación guardada. {right.reason}.")
            else:
                messages.warning(
                    request, f"Representación guardada, pero aún no basta. {right.reason}"
                )
            return redirect(
                "representation_edit", account_slug=request.account.slug, taxpayer_id=taxpayer.pk
            )
    return render(
        request,
        "desk/settings_representation_edit.html",
        {
            "taxpayer": taxpayer,
            "form": form,
            "right": representation.sending_right(taxpayer),
            "current": current,
            "can_manage": can_manage,
            "problems": representation.representation_problems(current) if current else [],
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
