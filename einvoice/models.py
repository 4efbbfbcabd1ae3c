"""What einvoice stores about issued invoices: their e-invoices, made once and stored as they
were offered, and the answers a client gives about them.

One e-invoice row per invoice and format (UBL, Facturae). A row is never updated: what the
client got is what stays, and it changes only through a rectificativa, which is its own
invoice with its own rows (a subsanación of the billing record changes no row). A format that
cannot be offered is stored too, not offered, with the reason in Spanish.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import EInvoiceFormat
from einvoice.status import B2BStatus
from factu.models import Account
from invoicing.models import Invoice


class ImmutableEInvoice(Exception):
    """Raised on any attempt to change a stored e-invoice."""


class IssuedEInvoiceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableEInvoice("Una factura electrónica guardada no se modifica.")


class IssuedEInvoice(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="einvoices")
    format = models.CharField(max_length=10, choices=EInvoiceFormat.choices)
    content = models.BinaryField(blank=True, default=b"")
    sha256 = models.CharField(max_length=64, blank=True)
    filename = models.CharField(max_length=120, blank=True)
    signed = models.BooleanField(default=False)
    offered = models.BooleanField(default=False)
    reason = models.TextField(
        blank=True,
        help_text="Por qué no se ofrece, o por qué se ofrece sin firmar (en español).",
    )
    findings = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = IssuedEInvoiceQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["invoice", "format"], name="einvoice_one_per_format")
        ]

    def __str__(self) -> str:
        return self.filename or f"{self.invoice_id} {self.format}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise ImmutableEInvoice("Una factura electrónica guardada no se modifica.")
        super().save(*args, **kwargs)


class AnswerSource(models.TextChoices):
    UI = "ui", "Página de la factura"
    API = "api", "API"
    APPLICATION_RESPONSE = "application_response", "Respuesta UBL (ApplicationResponse)"


class IssuedStatusEvent(models.Model):
    """One answer of the client about an issued invoice: received, accepted, rejected (with
    its reason) or paid (with its date and amount). Written only by
    :func:`einvoice.answers.record_client_answer`, which keeps the sequence sane; never
    changed afterwards: the latest answer is the invoice's B2B status."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="b2b_status_events")
    status = models.CharField("estado", max_length=10, choices=B2BStatus.choices)
    at = models.DateTimeField("fecha de la respuesta")
    reason = models.TextField("motivo", blank=True)
    paid_on = models.DateField("fecha de pago", null=True, blank=True)
    paid_cents = models.BigIntegerField("importe pagado", null=True, blank=True)
    source = models.CharField("origen", max_length=20, choices=AnswerSource.choices)
    response_id = models.CharField("ID de la respuesta UBL", max_length=200, blank=True)
    response_code = models.CharField("código UNCL4343", max_length=3, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_label = models.CharField(max_length=120, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "recorded_at", "id"]
        indexes = [models.Index(fields=["invoice", "at"], name="b2b_status_invoice_at")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=B2BStatus.REJECTED) | ~Q(reason=""),
                name="b2b_status_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=B2BStatus.PAID) | Q(paid_cents__gt=0, paid_on__isnull=False),
                name="b2b_status_paid_has_date_and_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} @ {self.at:%Y-%m-%d}"

    @property
    def actor(self) -> str:
        """Who recorded it, as the history shows it."""
        if self.token_label:
            return f"API: {self.token_label}"
        return str(self.user) if self.user else "Sistema"
