"""The NO VERI*FACTU side: the chained event log (RegistroEvento), the XAdES-signed copies
of billing records and events, and the certificates that signed them."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from factu.models import Account

from .chains import Chain
from .immutable import ImmutableRecordError
from .records import BillingRecord


class EventRecord(models.Model):
    """One RegistroEvento of the NO VERI*FACTU event log (EventosSIF.xsd), chained and immutable.

    Chained per obligado NIF and SIF installation, like billing records, with its own
    ``HuellaEvento`` (SPEC §1.1); it hangs off the same :class:`Chain` row, which is also the
    lock appenders take. ``xml`` is the event as generated, without its signature (kept in
    :class:`RecordSignature`, made in the transaction that appends the event); the hashed
    literals sit beside it.
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


class SignerCertificate(models.Model):
    """A certificate that signed for an obligado NIF of an account, kept as it was.

    Created (get-or-create, in the signing transaction) the first time the certificate signs
    for a chain of that (account, NIF), with its validity period, so every later check of a
    signature compares the certificate in its ``KeyInfo`` with the one kept here
    (:func:`verifactu.signers.signature_problem`), not with whatever certificate the taxpayer
    has today. Immutable: never changed nor deleted (model guards and a trigger).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    obligado_nif = models.CharField(max_length=9)
    der = models.BinaryField()
    fingerprint = models.CharField(max_length=64)  # SHA-256 of ``der``, lower-case hex
    subject = models.CharField(max_length=300)
    serial = models.CharField(max_length=64)
    not_valid_before = models.DateTimeField()
    not_valid_after = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "obligado_nif", "fingerprint"], name="signer_unique_per_nif"
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} ({self.obligado_nif})"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableRecordError("Signer certificates are immutable.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Signer certificates are never deleted.")


class RecordSignature(models.Model):
    """The XAdES-signed copy of one billing record or event record (NO VERI*FACTU).

    The record's own ``xml`` is what was hashed and is never changed; the signed copy (the
    same content plus ``ds:Signature`` as last child) is made in the transaction that chains
    the item, right after it (:mod:`verifactu.signatures`), and kept here, once. ``signer``
    is the certificate that signed, as kept for the chain's (account, NIF); it is empty only
    on signatures older than migration 0018 whose certificate could not be read back.
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
    signer = models.ForeignKey(
        SignerCertificate,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="signatures",
    )

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
