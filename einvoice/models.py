"""The e-invoices of an issued invoice, made once and stored as they were offered.

One row per invoice and format (UBL, Facturae). A row is never updated: what the client got is
what stays, and it changes only through a rectificativa, which is its own invoice with its
own rows (a subsanación of the billing record changes no row). A format that cannot be
offered is stored too, not offered, with the reason in Spanish.
"""

from __future__ import annotations

import uuid

from django.db import models

from clients.models import EInvoiceFormat
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
        blank=True, help_text="Por qué no se ofrece (en español), vacío si se ofrece."
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
