"""Tenancy: who may see and change what.

An ``Account`` is the customer (an autónomo, a company or a gestoría). People reach it
through a ``Membership`` with a role. The ``Taxpayer`` (obligado tributario) is whose
invoices they are: an autónomo's account has one, a gestoría's account many.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone

from factu.addresses import address_line
from factu.iban import grouped, validate_iban
from factu.nif import is_natural_person_nif, validate_nif


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in with their email address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("correo electrónico", unique=True)
    full_name = models.CharField("nombre", max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Account(models.Model):
    class Kind(models.TextChoices):
        AUTONOMO = "autonomo", "Autónomo"
        COMPANY = "company", "Empresa"
        GESTORIA = "gestoria", "Gestoría"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField("nombre", max_length=200)
    slug = models.SlugField("identificador", max_length=60, unique=True)
    kind = models.CharField("tipo", max_length=20, choices=Kind.choices, default=Kind.AUTONOMO)
    manages_several_taxpayers = models.BooleanField(
        "gestiono varios contribuyentes",
        default=False,
        help_text="Muestra en el menú la mesa AEAT y la lista de contribuyentes aunque la "
        "cuenta tenga uno solo.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def shows_taxpayer_pages(self, taxpayer_count: int) -> bool:
        """Whether the navigation offers the AEAT desk and the taxpayers' pages.

        A one-taxpayer autónomo or company sees each invoice's AEAT status on the invoice and
        edits its fiscal data under Settings, so the menu keeps them out of the way; a
        gestoría, an account with several taxpayers, or one that asked for it
        (:attr:`manages_several_taxpayers`) sees them. Their URLs answer either way.
        """
        return (
            self.kind == self.Kind.GESTORIA or self.manages_several_taxpayers or taxpayer_count > 1
        )


class Role(models.TextChoices):
    OWNER = "owner", "Propietario"
    ADMIN = "admin", "Administrador"
    ACCOUNTANT = "accountant", "Contable"
    VIEWER = "viewer", "Solo lectura"

    @classmethod
    def may_write(cls, role: str | None) -> bool:
        """Whether ``role`` may create and change business data (invoices, clients,
        taxpayers, expenses): an allow-list, so a role nobody placed here (a new one, or a
        value no choice knows) reads only. The pages and both APIs ask this."""
        return role in (cls.OWNER, cls.ADMIN, cls.ACCOUNTANT)


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField("rol", max_length=20, choices=Role.choices, default=Role.VIEWER)
    current_taxpayer = models.ForeignKey(
        "Taxpayer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "account"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.account} ({self.role})"

    @property
    def can_write(self) -> bool:
        """Create and change business data: :meth:`Role.may_write`."""
        return Role.may_write(self.role)

    @property
    def can_manage(self) -> bool:
        """Account settings: members, API tokens."""
        return self.role in (Role.OWNER, Role.ADMIN)


class Taxpayer(models.Model):
    """The obligado tributario whose invoices are issued and registered with the AEAT."""

    class VerifactuMode(models.TextChoices):
        VERIFACTU = "verifactu", "VERI*FACTU"
        NO_VERIFACTU = "no_verifactu", "NO VERI*FACTU"

    class IrpfRegime(models.TextChoices):
        """How the taxpayer's activity pays IRPF: only estimación directa files the 130
        (objetiva files the 131; a company pays Impuesto sobre Sociedades)."""

        DIRECT_NORMAL = "direct_normal", "Estimación directa normal"
        DIRECT_SIMPLIFIED = "direct_simplified", "Estimación directa simplificada"
        OBJECTIVE = "objective", "Estimación objetiva (módulos)"
        NOT_APPLICABLE = "not_applicable", "No aplica (sociedad u otra entidad)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="taxpayers")
    nif = models.CharField("NIF", max_length=9, validators=[validate_nif])
    name = models.CharField("nombre o razón social", max_length=120)
    address = models.CharField("dirección", max_length=200, blank=True)
    city = models.CharField("municipio", max_length=100, blank=True)
    postal_code = models.CharField("código postal", max_length=10, blank=True)
    province = models.CharField("provincia", max_length=100, blank=True)
    country = models.CharField("país", max_length=2, default="ES")
    verifactu_mode = models.CharField(
        "modalidad", max_length=20, choices=VerifactuMode.choices, default=VerifactuMode.VERIFACTU
    )
    verifactu_until = models.DateField(
        "VERI*FACTU hasta",
        null=True,
        blank=True,
        help_text="Pedido el paso a NO VERI*FACTU tras usar VERI*FACTU en el año: sigue en "
        "VERI*FACTU hasta este día (31 de diciembre) y cambia el 1 de enero. Lo gestiona "
        "verifactu.modes.change_mode.",
    )
    default_irpf_bp = models.PositiveSmallIntegerField(
        "retención IRPF por defecto",
        default=0,
        help_text="En puntos básicos: 1500 = 15 %, 700 = 7 % (nuevos autónomos).",
    )
    irpf_regime = models.CharField(
        "régimen de IRPF",
        max_length=20,
        choices=IrpfRegime.choices,
        blank=True,
        help_text="Decide si se prepara el modelo 130: solo en estimación directa.",
    )
    iban = models.CharField(
        "IBAN",
        max_length=34,
        blank=True,
        validators=[validate_iban],
        help_text="La cuenta donde cobra: se imprime en sus facturas.",
    )
    cash_criterion = models.BooleanField(
        "régimen especial del criterio de caja",
        default=False,
        help_text="Acogido al criterio de caja (RECC, clave 07): el IVA repercutido de las "
        "facturas que emita mientras esté marcado se declara en el modelo 303 cuando se cobra, "
        "o el 31 de diciembre del año siguiente al de la operación si aún no se ha cobrado.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "nif"], name="taxpayer_unique_nif")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.nif})"

    def save(self, *args, **kwargs) -> None:
        if not self.irpf_regime:
            self.irpf_regime = default_irpf_regime(self.nif)
        super().save(*args, **kwargs)

    @property
    def files_modelo_130(self) -> bool:
        """Whether this taxpayer files the 130 (pago fraccionado of estimación directa)."""
        return self.irpf_regime in (
            self.IrpfRegime.DIRECT_NORMAL,
            self.IrpfRegime.DIRECT_SIMPLIFIED,
        )

    @property
    def address_line(self) -> str:
        """The address on one line (:func:`factu.addresses.address_line`)."""
        return address_line(self)

    @property
    def iban_display(self) -> str:
        """The IBAN in groups of four, as printed; empty when there is none."""
        return grouped(self.iban)


def default_irpf_regime(nif: str) -> str:
    """A person (DNI, NIE, K/L/M) starts in estimación directa simplificada, the usual
    regime of an autónomo; an entity files no 130."""
    if is_natural_person_nif(nif):
        return Taxpayer.IrpfRegime.DIRECT_SIMPLIFIED
    return Taxpayer.IrpfRegime.NOT_APPLICABLE


INVITATION_VALID_DAYS = 7


class Invitation(models.Model):
    """An invitation to join an account with a role, sent by email.

    Only the SHA-256 of the token is stored: the raw token travels once, in the email's link.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField("correo electrónico")
    role = models.CharField("rol", max_length=20, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} → {self.account} ({self.role})"

    def is_expired(self, now=None) -> bool:
        return (now or timezone.now()) >= self.expires_at

    def is_pending(self, now=None) -> bool:
        return self.accepted_at is None and not self.is_expired(now)


class WorkerHeartbeat(models.Model):
    """The last time a Celery worker ran the beat-scheduled heartbeat task.

    The dashboard warns when it is stale: without a worker, no record reaches the AEAT.
    """

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"


class Job(models.Model):
    """A background job with progress, run by a Celery task that takes its id.

    Generic machinery (:mod:`factu.jobs` claims, advances and finishes it); the apps above
    own the kinds' work and name the task of each kind (:func:`factu.jobs.register`): CSV
    imports and the gestoría's ZIP (``transfers``), re-sending records (``desk``). The
    kinds are plain strings here, so ``factu`` imports neither. A job belongs to one account
    and (except a re-submission over several taxpayers) one taxpayer. Uploaded and built
    files live under ``MEDIA_ROOT`` with random names; no URL reaches them but a download
    view that checks the account first.
    """

    class Kind(models.TextChoices):
        IMPORT_CLIENTS = "import_clients", "Importar clientes"
        IMPORT_INVOICES = "import_invoices", "Importar facturas históricas"
        EXPORT_ZIP = "export_zip", "Exportar para la gestoría"
        EXPORT_QUARTER = "export_quarter", "Cierre del trimestre (todos los contribuyentes)"
        RESUBMIT = "resubmit", "Reenviar registros a la AEAT"

    class Status(models.TextChoices):
        QUEUED = "queued", "En cola"
        RUNNING = "running", "En curso"
        DONE = "done", "Terminado"
        FAILED = "failed", "Fallido"

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all", "Todo o nada: si alguna fila falla, no se importa nada"
        VALID_ONLY = "valid", "Solo las filas válidas: se importan y se informa de las demás"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    # None for a job over several taxpayers (a re-submission, the quarter close).
    taxpayer = models.ForeignKey(
        Taxpayer, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    mode = models.CharField(max_length=5, choices=Mode.choices, blank=True)
    # What the job was asked: the upload's name, the export's year and quarter, or the
    # fiscal invoices to send again with their taxpayers' names.
    params = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # The outcome: counts, the detected encoding/delimiter, and every rejected row as
    # {"row": n, "field": column, "message": text}.
    report = models.JSONField(default=dict, blank=True)
    # Paths relative to MEDIA_ROOT: the uploaded CSV and the ZIP built (exports/...).
    source_path = models.CharField(max_length=200, blank=True)
    result_path = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["account", "-created_at"], name="job_account_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def is_import(self) -> bool:
        return self.kind in (self.Kind.IMPORT_CLIENTS, self.Kind.IMPORT_INVOICES)

    @property
    def is_resubmit(self) -> bool:
        return self.kind == self.Kind.RESUBMIT

    @property
    def is_export(self) -> bool:
        return self.kind in (self.Kind.EXPORT_ZIP, self.Kind.EXPORT_QUARTER)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, self.done * 100 // self.total)

    @property
    def errors(self) -> list[dict]:
        return self.report.get("errors", []) if isinstance(self.report, dict) else []

    @property
    def downloadable(self) -> bool:
        return self.status == self.Status.DONE and bool(self.result_path)


class Branding(models.Model):
    """How a taxpayer's documents look: logo, contact, footer and accent colour.

    Presentation only, never fiscal data: an issued invoice's PDF shows the branding as it is
    today. The rules (what a logo may be, what a colour looks like) are in
    :mod:`factu.branding`; the logo lives under ``MEDIA_ROOT/branding/`` with a random name and
    is served only after an account check.
    """

    taxpayer = models.OneToOneField(
        Taxpayer, on_delete=models.CASCADE, primary_key=True, related_name="branding"
    )
    logo = models.FileField("logotipo", upload_to="branding/", blank=True)
    logo_content_type = models.CharField(max_length=20, blank=True, editable=False)
    contact_email = models.EmailField(
        "correo de contacto",
        blank=True,
        help_text="En el PDF, y la dirección a la que responden sus clientes cuando les "
        "enviamos una factura.",
    )
    contact_phone = models.CharField("teléfono de contacto", max_length=30, blank=True)
    footer_text = models.CharField(
        "texto al pie",
        max_length=300,
        blank=True,
        help_text="Al pie de cada página: registro mercantil, condiciones, una despedida…",
    )
    accent_color = models.CharField(
        "color de acento",
        max_length=7,
        blank=True,
        help_text="En formato #RRGGBB, por ejemplo #1A5FB4. Vacío: gris oscuro.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Marca de {self.taxpayer}"
