"""AEAT's billing records (RegistroAlta, RegistroAnulacion), chained and immutable, their
statuses and the RegFactuSistemaFacturacion calls that sent them."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q

from factu.text import count_of
from verifactu.qr import qr_url

from .chains import Chain
from .immutable import ImmutableRecordError, UnsignedRecord


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
    # Indexed by (fiscal_invoice, position), which leads with it (0020).
    fiscal_invoice = models.ForeignKey(
        "FiscalInvoice", on_delete=models.PROTECT, related_name="records", db_index=False
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
            # Every record across chains in a state (the beat's reclaim), and one chain's
            # records in a state as exactly as the index above: a per-chain query the planner
            # answers from this one (it thinks the state rare) reads only that chain's rows,
            # never every tenant's records in that state. A plain index: db_index on a
            # CharField also builds a LIKE index on PostgreSQL, which no query uses.
            models.Index(fields=["status", "chain"], name="record_status_chain"),
            # An invoice's records in order: "is there a later one" (its latest record, the
            # desk's and the inbox's anti-join) answered from the index alone.
            models.Index(fields=["fiscal_invoice", "position"], name="record_invoice_position"),
            # The desk's inbox, newest first: the few records that need the accountant, in
            # its order, so that its first 200 are read without sorting thousands. Written
            # only when the AEAT's answer puts a record in one of these states.
            models.Index(
                fields=["-created_at", "-position"],
                name="record_needs_action",
                condition=Q(
                    status__in=(
                        RecordStatus.REJECTED,
                        RecordStatus.ERROR,
                        RecordStatus.ACCEPTED_WITH_ERRORS,
                    )
                ),
            ),
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
        """The XML that leaves Factu: a NO VERI*FACTU record's XAdES-signed copy (signed when
        it was chained), a VERI*FACTU record as hashed. A NO VERI*FACTU record without its
        signature raises :class:`UnsignedRecord`: its unsigned XML is never the legal copy."""
        try:
            return self.signature.signed_xml
        except ObjectDoesNotExist:  # RecordSignature.DoesNotExist
            if self.no_verifactu:
                raise UnsignedRecord() from None
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
        records = count_of(self.record_count, "registro", "registros")
        return f"Envío {self.started_at:%Y-%m-%d %H:%M:%S} ({records})"
