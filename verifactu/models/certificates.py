"""What the engine sends with: client certificates (encrypted at rest) and how the account's
representative certificate may speak for a taxpayer."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from factu.models import Account, Taxpayer


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
