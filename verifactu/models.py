"""The VERI*FACTU engine's data: what a record says, where it sits in AEAT's chain, and
what the AEAT answered.

A ``FiscalInvoice`` holds the fiscal facts of one invoice (from an invoice issued in Factu or
from a ``/api/v1`` payload); each of its ``BillingRecord`` rows is one AEAT record about it
(the registration, corrections, a cancellation). Money is integer cents here; the literal
strings that were hashed and written to the XML are stored beside them, never recomputed.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone

from factu.models import Account, Taxpayer


class ImmutableRecordError(Exception):
    """Raised on any attempt to change or delete what a chained record hashed or sent."""


class ComputerSystem(models.Model):
    """An installation, inside one account, of the deployment's SistemaInformatico.

    The software every record states (producer, name, IdSistemaInformatico, version) is the
    deployment's, from settings (:func:`verifactu.installations.software`). What is the
    account's is the installation: ``installation_number`` (NumeroInstalacion) is derived
    from the account's id and the installation's ``label``
    (:func:`verifactu.installations.installation_number`), so no two accounts can ever send
    records of one (NIF, installation) to the AEAT. Rows from before that rule keep the
    number their chains were opened with (migration 0017). ``producer_name`` to ``version``
    are what the installation was created with, kept as history; records do not read them.

    Two of its flags are not declared but true of every record Factu builds:
    ``TipoUsoPosibleSoloVerifactu`` is N (Factu also runs NO VERI*FACTU) and
    ``IndicadorMultiplesOT`` says whether the installation keeps the chains of more than one
    obligado when the record is built (``Chain.multiple_taxpayers``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="computer_systems")
    label = models.CharField("etiqueta", max_length=40)
    producer_name = models.CharField("productor", max_length=120, blank=True)
    producer_nif = models.CharField("NIF del productor", max_length=9, blank=True)
    name = models.CharField("nombre del sistema", max_length=30, blank=True)
    system_id = models.CharField("IdSistemaInformatico", max_length=2, blank=True)
    version = models.CharField("versión", max_length=50, blank=True)
    installation_number = models.CharField("número de instalación", max_length=100)
    multi_taxpayer_capable = models.BooleanField("multi obligado posible", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    # TipoUsoPosibleSoloVerifactu of every record: N, since Factu can run NO VERI*FACTU.
    only_verifactu = False

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "label"], name="computer_system_unique_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} (instalación {self.installation_number})"

    @property
    def installation(self) -> dict[str, str]:
        """AEAT's key of the installation, the same values that key its chains: the
        deployment's producer NIF and IdSistemaInformatico, and this NumeroInstalacion."""
        return {
            "producer_nif": settings.FACTU_SIF_PRODUCER_NIF,
            "system_id": settings.FACTU_SIF_ID,
            "installation_number": self.installation_number,
        }

    @property
    def multiple_taxpayers(self) -> bool:
        """Whether the installation keeps chains of more than one obligado now (one query):
        what ``IndicadorMultiplesOT`` of its next record says."""
        return Chain.objects.filter(**self.installation, multiple_taxpayers=True).exists()


class Chain(models.Model):
    """AEAT's chain: one per obligado NIF and SIF installation, keyed by those values.

    Keying by values rather than by rows means a chain cannot fork. Installation numbers are
    namespaced by account (:mod:`verifactu.installations`), so a NIF registered in two
    accounts has a chain in each, on different installations, and a chain is only ever
    reached by the account that opened it. The row is also the lock appenders take.
    """

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="chains")
    issuer_nif = models.CharField(max_length=9)
    issuer_name = models.CharField(max_length=120, blank=True)
    producer_nif = models.CharField(max_length=9)
    system_id = models.CharField(max_length=2)
    installation_number = models.CharField(max_length=100)
    length = models.PositiveIntegerField(default=0)
    last_huella = models.CharField(max_length=64, blank=True)
    # No index: nothing looks a chain up by its head, and without one the update that moves
    # the head at every append (the trigger of migration 0008) is a HOT update, leaving no
    # dead entries in the chain's indexes.
    head = models.ForeignKey(
        "BillingRecord",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # What the next record quotes of the head (RegistroAnterior: the NIF is the chain's and
    # the huella is last_huella), kept on the row appenders lock so appending reads no record.
    head_invoice_number = models.CharField(max_length=60, blank=True)
    head_invoice_date_text = models.CharField(max_length=10, blank=True)
    # IndicadorMultiplesOT of the chain's records: the installation (producer NIF,
    # IdSistemaInformatico, NumeroInstalacion) keeps chains of more than one obligado. Set on
    # every chain of the installation when its second chain is opened (records.lock_chain),
    # so a registration reads it with the row it locks anyway.
    multiple_taxpayers = models.BooleanField(default=False)
    # The next attempt: after the AEAT's TiempoEsperaEnvio, or the back-off after a fault.
    next_flush_at = models.DateTimeField(null=True, blank=True)
    flush_claimed_until = models.DateTimeField(null=True, blank=True)
    # A run of transient faults (verifactu.faults): since when, and the latest; both are
    # cleared by the next answer. Nullable, so adding them leaves SQLite's table (and the
    # trigger of 0008 that updates it) alone.
    faulting_since = models.DateTimeField(null=True, blank=True)
    last_fault_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issuer_nif", "producer_nif", "system_id", "installation_number"],
                name="chain_unique_key",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.issuer_nif} @ {self.producer_nif}/{self.system_id}/{self.installation_number}"
        )


class FiscalInvoice(models.Model):
    """The fiscal facts of one invoice of one taxpayer; the v1 API's ``{id}``."""

    class Source(models.TextChoices):
        FACTU = "factu", "Factura emitida en Factu"
        API_V1 = "api_v1", "API VERI*FACTU"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    # Indexed by the unique (taxpayer, number) and (taxpayer, date) indexes it leads (0010).
    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.PROTECT, related_name="fiscal_invoices", db_index=False
    )
    computer_system = models.ForeignKey(ComputerSystem, on_delete=models.PROTECT)
    source = models.CharField(max_length=10, choices=Source.choices)
    issuer_nif = models.CharField(max_length=9)
    issuer_name = models.CharField(max_length=120)
    invoice_number = models.CharField(max_length=60)
    invoice_date = models.DateField()
    invoice_type = models.CharField(max_length=2)
    description = models.CharField(max_length=500)
    operation_date = models.DateField(null=True, blank=True)
    issued_by = models.CharField(max_length=12, blank=True)
    third_party_nif = models.CharField(max_length=9, blank=True)
    third_party_name = models.CharField(max_length=120, blank=True)
    regime_types = models.JSONField(default=list, blank=True)
    reverse_charge = models.BooleanField(default=False)
    recipient_nif = models.CharField(max_length=9, blank=True)
    recipient_name = models.CharField(max_length=120, blank=True)
    recipient_country = models.CharField(max_length=2, blank=True)
    recipient_id_type = models.CharField(max_length=2, blank=True)
    recipient_id = models.CharField(max_length=20, blank=True)
    not_subject_amount_cents = models.BigIntegerField(null=True, blank=True)
    not_subject_cause = models.CharField(max_length=2, blank=True)
    breakdown = models.JSONField(
        help_text="Lines: tax_type, regime_type, operation_type, base_cents, rate_bp, "
        "tax_cents, surcharge_rate_bp, surcharge_cents and, when given, base_cost_cents "
        "(BaseImponibleACoste) (integers; rates in basis points)."
    )
    total_amount_cents = models.BigIntegerField()
    total_tax_amount_cents = models.BigIntegerField()
    rectification_type = models.CharField(max_length=1, blank=True)
    rectified_invoices = models.JSONField(default=list, blank=True)
    replaced_invoices = models.JSONField(default=list, blank=True)
    rectification_base_cents = models.BigIntegerField(null=True, blank=True)
    rectification_tax_cents = models.BigIntegerField(null=True, blank=True)
    rectification_surcharge_cents = models.BigIntegerField(null=True, blank=True)
    # The number of the current :class:`FiscalInvoiceVersion`; the fiscal columns above are
    # that version's facts. Version 1 is the registration; a subsanación with corrected data
    # makes the next one (the only writer of these columns after creation).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    # The IRPF withheld, as the v1 API was told it: printed on the PDF (retención and the
    # amount to pay) and never part of a billing record (ImporteTotal excludes it), so not a
    # fact a version snapshots or a subsanación changes.
    irpf_rate_bp = models.PositiveSmallIntegerField(null=True, blank=True)
    irpf_amount_cents = models.BigIntegerField(null=True, blank=True)

    # Not facts of the record: who keeps it, where its records go, bookkeeping, and IRPF.
    NOT_FACTS = frozenset(
        {
            "id",
            "account",
            "taxpayer",
            "computer_system",
            "source",
            "version",
            "created_at",
            "irpf_rate_bp",
            "irpf_amount_cents",
        }
    )

    class Meta:
        ordering = ["-invoice_date", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer", "invoice_number"], name="fiscal_invoice_unique_number"
            )
        ]
        indexes = [models.Index(fields=["taxpayer", "-invoice_date", "-id"])]

    def __str__(self) -> str:
        return f"{self.invoice_number} ({self.issuer_nif})"

    @property
    def latest_record(self) -> BillingRecord | None:
        return self.records.order_by("-position").first()

    @property
    def registration(self) -> BillingRecord | None:
        """The latest RegistroAlta: what AEAT holds of the invoice, and what the QR shows."""
        return self.records.filter(kind=BillingRecord.Kind.ALTA).order_by("-position").first()

    @property
    def qr_url(self) -> str:
        """The cotejo URL, built from the literals of the registered record (SPEC §2)."""
        alta = self.registration
        return alta.qr_url if alta is not None else ""

    @property
    def no_verifactu(self) -> bool:
        """Whether the invoice's registration was generated in NO VERI*FACTU mode.

        The mode of the record, not the taxpayer's mode today: an invoice registered (and sent)
        under VERI*FACTU keeps ``ValidarQR`` after a later switch, and vice versa.
        """
        alta = self.registration
        if alta is None:
            return self.taxpayer.verifactu_mode == Taxpayer.VerifactuMode.NO_VERIFACTU
        return alta.no_verifactu

    @classmethod
    def fact_fields(cls) -> list[models.Field]:
        """The columns that hold the invoice's fiscal facts (what a version snapshots)."""
        return [f for f in cls._meta.concrete_fields if f.name not in cls.NOT_FACTS]

    def facts_snapshot(self) -> dict:
        """The current fiscal columns, JSON-ready (dates as ISO strings)."""
        return {f.attname: f.value_from_object(self) for f in self.fact_fields()}


class FiscalInvoiceVersion(models.Model):
    """One immutable version of a fiscal invoice's facts, and why it was made.

    Version 1 is what was registered; each subsanación with corrected data adds the next,
    linked to the one it replaces, naming who made it (a user, or an API token by its id and
    label), when, why, and whether the user stated that the invoice as delivered to the
    client already carried these data. ``record`` is the RegistroAlta that registered it.
    Version 1 is written when the first correction is made (registration stays one insert).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fiscal_invoice = models.ForeignKey(
        FiscalInvoice, on_delete=models.PROTECT, related_name="versions"
    )
    number = models.PositiveIntegerField()
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    facts = models.JSONField(encoder=DjangoJSONEncoder)
    record = models.OneToOneField(
        "BillingRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    matches_delivered_invoice = models.BooleanField(default=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    token_id = models.UUIDField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fiscal_invoice_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiscal_invoice", "number"], name="fiscal_invoice_version_unique"
            ),
            models.CheckConstraint(
                condition=(Q(number=1) & Q(replaces__isnull=True))
                | (Q(number__gt=1) & Q(replaces__isnull=False)),
                name="fiscal_invoice_version_replaces_iff_not_first",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiscal_invoice} v{self.number}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Fiscal invoice versions are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Fiscal invoice versions are never deleted.")

    def as_invoice(self) -> FiscalInvoice:
        """An unsaved fiscal invoice carrying this version's facts (to read them as facts)."""
        invoice = FiscalInvoice(
            pk=self.fiscal_invoice_id,
            account_id=self.fiscal_invoice.account_id,
            taxpayer_id=self.fiscal_invoice.taxpayer_id,
            computer_system_id=self.fiscal_invoice.computer_system_id,
            version=self.number,
        )
        for field in FiscalInvoice.fact_fields():
            if field.attname in self.facts:
                setattr(invoice, field.attname, field.to_python(self.facts[field.attname]))
        return invoice


class RecordStatus(models.TextChoices):
    QUEUED = "queued", "En cola"
    SENDING = "sending", "Enviando"
    ACCEPTED = "accepted", "Aceptado"
    ACCEPTED_WITH_ERRORS = "accepted_with_errors", "Aceptado con errores"
    REJECTED = "rejected", "Rechazado"
    ERROR = "error", "Error"


class BillingRecord(models.Model):
    """One AEAT billing record (RegistroAlta or RegistroAnulacion), chained and immutable.

    Every value that went into the huella is kept as the literal string written to the XML,
    and the XML itself is stored as generated: nothing hashed or sent is ever recomputed.
    """

    class Kind(models.TextChoices):
        ALTA = "alta", "Alta"
        ANULACION = "anulacion", "Anulación"

    class RecordType(models.TextChoices):
        REGISTRATION = "registration", "Registro"
        CORRECTION = "correction", "Subsanación"
        CANCELLATION = "cancellation", "Anulación"

    HASHED_FIELDS = (
        "fiscal_invoice_id",
        "chain_id",
        "position",
        "previous_id",
        "kind",
        "record_type",
        "issuer_nif",
        "invoice_number",
        "invoice_date_text",
        "invoice_type",
        "cuota_total_text",
        "importe_total_text",
        "previous_huella",
        "generated_at_text",
        "huella",
        "subsanacion",
        "rechazo_previo",
        "sin_registro_previo",
        "ref_externa",
        "xml",
    )
    # Fixed at creation like what was hashed (the database trigger guards them all).
    IMMUTABLE_FIELDS = (*HASHED_FIELDS, "no_verifactu")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    fiscal_invoice = models.ForeignKey(
        FiscalInvoice, on_delete=models.PROTECT, related_name="records"
    )
    # Indexed by the unique (chain, position) index it leads (0010).
    chain = models.ForeignKey(
        Chain, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    position = models.PositiveIntegerField()
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_record"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    record_type = models.CharField(max_length=12, choices=RecordType.choices)
    issuer_nif = models.CharField(max_length=9)
    invoice_number = models.CharField(max_length=60)
    invoice_date_text = models.CharField(max_length=10)
    invoice_type = models.CharField(max_length=2, blank=True)
    cuota_total_text = models.CharField(max_length=20, blank=True)
    importe_total_text = models.CharField(max_length=20, blank=True)
    previous_huella = models.CharField(max_length=64, blank=True)
    generated_at_text = models.CharField(max_length=25)
    huella = models.CharField(max_length=64)
    subsanacion = models.CharField(max_length=1, blank=True)
    rechazo_previo = models.CharField(max_length=1, blank=True)
    sin_registro_previo = models.CharField(max_length=1, blank=True)
    ref_externa = models.CharField(max_length=60, blank=True)
    xml = models.TextField()

    # Generated while the taxpayer ran NO VERI*FACTU: kept and signed, never flushed to the
    # VERI*FACTU endpoint (only sent on an AEAT requerimiento). Set once, at creation; not hashed.
    no_verifactu = models.BooleanField(default=False, editable=False)
    status = models.CharField(
        max_length=24, choices=RecordStatus.choices, default=RecordStatus.QUEUED
    )
    aeat_error_code = models.CharField(max_length=10, blank=True)
    aeat_error_description = models.TextField(blank=True)
    csv = models.CharField(max_length=100, blank=True)
    incidencia = models.BooleanField(default=False)
    submission = models.ForeignKey(
        "Submission",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="records",
        db_index=False,  # the partial index of Meta: a new record (no submission) adds no entry
    )
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["chain_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="record_unique_position"),
            models.CheckConstraint(
                condition=(Q(position=1) & Q(previous__isnull=True))
                | (Q(position__gt=1) & Q(previous__isnull=False)),
                name="record_previous_iff_not_first",
            ),
        ]
        indexes = [
            models.Index(fields=["chain", "status", "position"]),
            # Every record across chains in a state (the beat's reclaim, the desk's counts).
            # A plain index: db_index on a CharField also builds a LIKE index on PostgreSQL,
            # which no query uses and every insert paid for.
            models.Index(fields=["status"], name="record_status"),
            models.Index(
                fields=["submission"],
                name="record_submission",
                condition=Q(submission__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.invoice_number} #{self.position}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            update_fields = kwargs.get("update_fields")
            if update_fields is None:
                raise ImmutableRecordError(
                    "A billing record is saved only with update_fields naming status fields."
                )
            immutable = self.IMMUTABLE_FIELDS
            touched = set(update_fields) & {f.removesuffix("_id") for f in immutable}
            touched |= set(update_fields) & set(immutable)
            if touched:
                raise ImmutableRecordError(
                    f"Billing records are immutable; refused change of {sorted(touched)}."
                )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Billing records are never deleted.")

    @property
    def qr_url(self) -> str:
        """The cotejo URL of this RegistroAlta, from the literals it was hashed with (SPEC §2)."""
        from django.conf import settings

        from verifactu.qr import qr_url

        return qr_url(
            self.issuer_nif,
            self.invoice_number,
            self.invoice_date_text,
            self.importe_total_text,
            production=settings.AEAT_QR_PRODUCTION,
            verifactu=not self.no_verifactu,
        )

    @property
    def exported_xml(self) -> str:
        """The XML that leaves Factu: the XAdES-signed copy once the worker has signed the
        record (NO VERI*FACTU, where the law requires it), else the record as hashed."""
        try:
            return self.signature.signed_xml
        except RecordSignature.DoesNotExist:
            return self.xml


class Submission(models.Model):
    """One RegFactuSistemaFacturacion call: what was sent, what came back, how long."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, related_name="submissions")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    record_count = models.PositiveIntegerField(default=0)
    endpoint = models.CharField(max_length=300)
    request_xml = models.TextField()
    response_xml = models.TextField(blank=True)
    http_status = models.PositiveIntegerField(null=True, blank=True)
    estado_envio = models.CharField(max_length=25, blank=True)
    csv = models.CharField(max_length=100, blank=True)
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    fault_code = models.CharField(max_length=20, blank=True)
    fault_string = models.TextField(blank=True)
    transport_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Envío {self.started_at:%Y-%m-%d %H:%M:%S} ({self.record_count} registros)"


class Certificate(models.Model):
    """A client certificate for mutual TLS with the AEAT, encrypted at rest.

    With a taxpayer it is that obligado's own; without one it is the account's representative
    certificate (a gestoría acting for its clients), named in the envelope's Representante.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="certificates")
    taxpayer = models.ForeignKey(
        Taxpayer, null=True, blank=True, on_delete=models.CASCADE, related_name="certificates"
    )
    representative_nif = models.CharField(max_length=9, blank=True)
    representative_name = models.CharField(max_length=120, blank=True)
    subject = models.CharField(max_length=300)
    # Whom the certificate names (verifactu.representation.certificate_identity): an entity's
    # NIF from organizationIdentifier (VATES-…), else a person's from serialNumber (IDCES-…).
    holder_nif = models.CharField(max_length=9, blank=True)
    holder_name = models.CharField(max_length=120, blank=True)
    # A seal (sello de entidad) certificate: the AEAT takes it on its seal endpoints only.
    seal = models.BooleanField(default=False)
    not_valid_after = models.DateTimeField()
    encrypted_data = models.BinaryField()
    encrypted_password = models.BinaryField()
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.subject} (hasta {self.not_valid_after:%d/%m/%Y})"


class Representation(models.Model):
    """How the account's representative certificate may speak for one taxpayer.

    The AEAT takes a representative's certificate for an obligado only if the holder is its
    apoderado (a representation registered at the AEAT: its reference and scope) or a
    colaborador social holding the client's signed representation document, kept here
    (encrypted, like certificates). The certificate serving the taxpayer is chosen here,
    explicitly: one gestoría certificate may serve many clients, each by its own row.
    Whether it holds is :func:`verifactu.representation.sending_right`.
    """

    class Kind(models.TextChoices):
        APODERAMIENTO = "apoderamiento", "Apoderamiento registrado en la AEAT"
        COLABORADOR_SOCIAL = "colaborador_social", "Colaborador social (documento firmado)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    taxpayer = models.OneToOneField(
        Taxpayer, on_delete=models.CASCADE, related_name="representation"
    )
    certificate = models.ForeignKey(
        Certificate,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="representations",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, blank=True)
    reference = models.CharField("referencia del apoderamiento", max_length=60, blank=True)
    scope = models.CharField("ámbito del apoderamiento", max_length=200, blank=True)
    valid_until = models.DateField("vigente hasta", null=True, blank=True)
    encrypted_document = models.BinaryField(blank=True, default=b"")
    document_name = models.CharField(max_length=200, blank=True)
    document_size = models.PositiveIntegerField(default=0)
    document_sha256 = models.CharField(max_length=64, blank=True)
    document_uploaded_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return f"Representación de {self.taxpayer_id} ({self.kind or 'sin tipo'})"


class EventRecord(models.Model):
    """One RegistroEvento of the NO VERI*FACTU event log (EventosSIF.xsd), chained and immutable.

    Chained per obligado NIF and SIF installation, like billing records, with its own
    ``HuellaEvento`` (SPEC §1.1); it hangs off the same :class:`Chain` row, which is also the
    lock appenders take. ``xml`` is the event as generated, without its signature (kept in
    :class:`RecordSignature`, added later by the worker); the hashed literals sit beside it.
    """

    class Tipo(models.TextChoices):
        START_NO_VERIFACTU = "01", "Inicio del funcionamiento como NO VERI*FACTU"
        END_NO_VERIFACTU = "02", "Fin del funcionamiento como NO VERI*FACTU"
        CHECK_RECORDS = "03", "Detección de anomalías en registros de facturación"
        ANOMALY_RECORDS = "04", "Anomalía en registros de facturación"
        CHECK_EVENTS = "05", "Detección de anomalías en registros de evento"
        ANOMALY_EVENTS = "06", "Anomalía en registros de evento"
        BACKUP_RESTORED = "07", "Restauración de copia de seguridad"
        EXPORT_RECORDS = "08", "Exportación de registros de facturación"
        EXPORT_EVENTS = "09", "Exportación de registros de evento"
        SUMMARY = "10", "Registro resumen de eventos"
        OTHER = "90", "Otros tipos de eventos"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    chain = models.ForeignKey(Chain, on_delete=models.PROTECT, related_name="events")
    position = models.PositiveIntegerField()
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_event"
    )
    tipo_evento = models.CharField(max_length=2, choices=Tipo.choices)
    producer_nif = models.CharField(max_length=9)
    system_id = models.CharField(max_length=2)
    version = models.CharField(max_length=50)
    installation_number = models.CharField(max_length=100)
    obligado_nif = models.CharField(max_length=9)
    previous_huella = models.CharField(max_length=64, blank=True)
    generated_at_text = models.CharField(max_length=25)
    huella = models.CharField(max_length=64)
    xml = models.TextField()
    anomaly_key = models.CharField(max_length=120, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["chain_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "position"], name="event_unique_position"),
            models.CheckConstraint(
                condition=(Q(position=1) & Q(previous__isnull=True))
                | (Q(position__gt=1) & Q(previous__isnull=False)),
                name="event_previous_iff_not_first",
            ),
        ]

    def __str__(self) -> str:
        return f"Evento {self.tipo_evento} #{self.position} ({self.obligado_nif})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Event records are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Event records are never deleted.")


class RecordSignature(models.Model):
    """The XAdES-signed copy of one billing record or event record (NO VERI*FACTU).

    The record's own ``xml`` is what was hashed and is never changed; the signed copy (the
    same content plus ``ds:Signature`` as last child) is made by the worker after chaining
    and kept here, once.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    record = models.OneToOneField(
        BillingRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="signature"
    )
    event = models.OneToOneField(
        EventRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="signature"
    )
    signed_xml = models.TextField()
    signed_at = models.DateTimeField()
    certificate_subject = models.CharField(max_length=300)
    certificate_serial = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(record__isnull=False) & Q(event__isnull=True))
                | (Q(record__isnull=True) & Q(event__isnull=False)),
                name="signature_of_record_xor_event",
            )
        ]

    def __str__(self) -> str:
        return f"Firma de {self.record or self.event} ({self.certificate_subject})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Signatures are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Signatures are never deleted.")
