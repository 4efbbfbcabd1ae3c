"""What einvoice stores.

Issued invoices: their e-invoices, made once and stored as they were offered, and the answers
a client gives about them. One e-invoice row per invoice and format (UBL, Facturae). A row is
never updated: what the client got is what stays, and it changes only through a rectificativa,
which is its own invoice with its own rows (a subsanación of the billing record changes no
row). A format that cannot be offered is stored too, not offered, with the reason in Spanish.

Received invoices: what a supplier sent, the answers given to it, and the rules that book a
supplier's invoices as expenses of a category. Amounts are integer cents of the document's
currency, signed as ``einvoice.inbound.document`` says (a credit note's are negative). A
received invoice's lines and tax breakdown are kept as JSON of cents (``lines``, ``taxes``):
they are the file's statement, shown as it is and never summed or filtered in SQL; the figures
the tax summaries read are the expense's columns, made from them once
(:mod:`einvoice.received_expense`).
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from clients.models import EInvoiceFormat
from einvoice.status import B2BStatus, days_left
from expenses.models import Expense, ExpenseCategory
from factu.models import Account, Taxpayer
from invoicing.models import Invoice


class ImmutableEInvoice(Exception):
    """Raised on any attempt to change a stored e-invoice."""


class IssuedEInvoiceQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ImmutableEInvoice("Una factura electrónica guardada no se modifica.")

    def delete(self):
        raise ImmutableEInvoice("Una factura electrónica guardada no se borra.")


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

    def delete(self, *args, **kwargs):
        """Never: a deleted row would be made again from today's data on the next request."""
        raise ImmutableEInvoice("Una factura electrónica guardada no se borra.")


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
