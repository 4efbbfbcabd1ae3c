"""Received e-invoices: what a supplier sent, the answers given to it, and the rules that
book a supplier's invoices as expenses of a category.

Amounts are integer cents of the document's currency, signed as ``einvoice.inbound.document``
says (a credit note's are negative). A received invoice's lines and tax breakdown are kept as
JSON of cents (``lines``, ``taxes``): they are the file's statement, shown as it is and never
summed or filtered in SQL; the figures the tax summaries read are the expense's columns, made
from them once (:mod:`einvoice.received_expense`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import models

from einvoice.status import B2BStatus, days_left
from expenses.models import Expense, ExpenseCategory
from factu.models import Account, Taxpayer


class ReceivedFormat(models.TextChoices):
    UBL = "ubl", "UBL"
    CII = "cii", "CII"
    FACTURAE = "facturae", "Facturae"


class ReceivedInvoice(models.Model):
    """One invoice (or credit note) received as a file, for ``taxpayer``, the buyer it names."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(
        Taxpayer, on_delete=models.PROTECT, related_name="received_invoices"
    )
    format = models.CharField("formato", max_length=10, choices=ReceivedFormat.choices)
    is_credit_note = models.BooleanField("abono", default=False)
    file_name = models.CharField("fichero", max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    original = models.BinaryField("fichero original")
    supplier_nif = models.CharField("NIF del proveedor", max_length=40)
    supplier_name = models.CharField("proveedor", max_length=200, blank=True)
    supplier_country = models.CharField(max_length=2, blank=True)
    number = models.CharField("número", max_length=100)
    issue_date = models.DateField("fecha de expedición")
    corrects = models.CharField("rectifica a", max_length=100, blank=True)
    currency = models.CharField("moneda", max_length=3, default="EUR")
    net_cents = models.BigIntegerField("base imponible")
    tax_cents = models.BigIntegerField("impuestos")
    total_cents = models.BigIntegerField("total")
    payable_cents = models.BigIntegerField("a pagar")
    irpf_withheld_cents = models.BigIntegerField("IRPF retenido", default=0)
    surcharge_cents = models.BigIntegerField("recargo de equivalencia", default=0)
    lines = models.JSONField("líneas", default=list)
    taxes = models.JSONField("desglose de impuestos", default=list)
    withholdings = models.JSONField("retenciones", default=list)
    surcharges = models.JSONField("recargos", default=list)
    signature_present = models.BooleanField("firmada", default=False)
    # Filled by the signature check (einvoice.signing.verify_signature) when the file is signed.
    signature_valid = models.BooleanField("firma válida", null=True, blank=True)
    signature_signer = models.CharField("firmante", max_length=300, blank=True)
    signature_detail = models.TextField("resultado de la verificación", blank=True)
    signature_checked_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        "estado", max_length=10, choices=B2BStatus.choices, default=B2BStatus.RECEIVED
    )
    received_on = models.DateField("fecha de recepción")
    received_at = models.DateTimeField("recibida", auto_now_add=True)
    expense = models.OneToOneField(
        Expense,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="received_invoice",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["account", "-received_at", "-id"], name="received_account_order")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["taxpayer", "supplier_nif", "number", "issue_date"],
                name="received_invoice_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier_name or self.supplier_nif} {self.number}"

    @property
    def answered(self) -> bool:
        return self.status != B2BStatus.RECEIVED

    def days_left(self, today: dt.date) -> int:
        """Days left to accept or reject it (``einvoice.status.days_left``)."""
        return days_left(self.received_on, today)


class ReceivedInvoiceEvent(models.Model):
    """An answer the user gave the supplier: accepted, rejected (with the reason), paid (with
    the date and amount). Kept, never edited: the status is the latest one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice = models.ForeignKey(ReceivedInvoice, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=10, choices=B2BStatus.choices)
    reason = models.TextField("motivo", blank=True)
    paid_on = models.DateField("fecha de pago", null=True, blank=True)
    paid_cents = models.BigIntegerField("importe pagado", null=True, blank=True)
    by = models.CharField("quién", max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.status}"


class SupplierRule(models.Model):
    """Received invoices of ``supplier_nif`` become expenses of ``category`` on import."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    supplier_nif = models.CharField("NIF del proveedor", max_length=40)
    category = models.ForeignKey(ExpenseCategory, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["supplier_nif"]
        constraints = [
            models.UniqueConstraint(fields=["account", "supplier_nif"], name="supplier_rule_unique")
        ]

    def __str__(self) -> str:
        return f"{self.supplier_nif} → {self.category_id}"
