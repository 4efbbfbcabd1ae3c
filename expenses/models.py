"""What a taxpayer spends: expenses in integer cents, with their category and receipt."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from factu.models import Account, Taxpayer
from factu.money import share_cents

DEFAULT_CATEGORIES = [
    "Software y tecnología",
    "Suministros",
    "Alquiler",
    "Material de oficina",
    "Servicios profesionales",
    "Viajes y dietas",
    "Formación",
    "Seguros",
    "Publicidad",
    "Vehículo",
    "Otros",
]


class ExpenseCategory(models.Model):
    """A category: the seeded Spanish set (no account) or one an account added."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="expense_categories"
    )
    name = models.CharField("nombre", max_length=80)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "expense categories"
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="category_unique_name"),
            models.UniqueConstraint(
                fields=["name"], condition=Q(account__isnull=True), name="category_unique_global"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Expense(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    taxpayer = models.ForeignKey(Taxpayer, on_delete=models.PROTECT, related_name="expenses")
    date = models.DateField("fecha")
    description = models.CharField("descripción", max_length=300)
    supplier_name = models.CharField("proveedor", max_length=120, blank=True)
    supplier_nif = models.CharField("NIF del proveedor", max_length=20, blank=True)
    amount_cents = models.BigIntegerField("importe total")
    base_cents = models.BigIntegerField("base imponible", null=True, blank=True)
    iva_rate_bp = models.PositiveIntegerField("tipo de IVA", null=True, blank=True)
    iva_cents = models.BigIntegerField("cuota de IVA", null=True, blank=True)
    # A purchase with several IVA rates beside exempt or other-tax lines: the base of the
    # cuotas in ``iva_cents`` when it is not the whole ``base_cents`` (303, box 28).
    iva_base_cents = models.BigIntegerField("base con IVA soportado", null=True, blank=True)
    # Recargo de equivalencia paid, and IGIC or IPSI: part of the cost, never in the 303.
    surcharge_cents = models.BigIntegerField("recargo de equivalencia", default=0, db_default=0)
    other_tax_cents = models.BigIntegerField("IGIC o IPSI", default=0, db_default=0)
    # Inversión del sujeto pasivo: the IVA the buyer accrues itself (303, boxes 12-13) and
    # deducts as any IVA soportado; not paid to the supplier, so not in ``amount_cents``.
    reverse_charge_base_cents = models.BigIntegerField(
        "base con inversión", default=0, db_default=0
    )
    reverse_charge_cents = models.BigIntegerField("cuota autorrepercutida", default=0, db_default=0)
    # IRPF the taxpayer withholds from the supplier and pays to AEAT (modelo 111).
    irpf_base_cents = models.BigIntegerField("base de retención", default=0, db_default=0)
    irpf_withheld_cents = models.BigIntegerField("IRPF retenido", default=0, db_default=0)
    is_deductible = models.BooleanField("deducible", default=True)
    deductible_bp = models.PositiveIntegerField("porcentaje deducible", default=10000)
    category = models.ForeignKey(
        ExpenseCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="expenses"
    )
    paid = models.BooleanField("pagado", default=True)
    receipt = models.FileField("justificante", upload_to="receipts/%Y/%m/", blank=True)
    # What the receipt's bytes turned out to be (never the browser's word), and the name the
    # person gave the file, for display only: the stored name is random.
    receipt_content_type = models.CharField(max_length=40, blank=True)
    receipt_name = models.CharField(max_length=200, blank=True)
    search_text = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["account", "-date", "-id"], name="expense_account_order")]
        constraints = [
            models.CheckConstraint(
                condition=Q(deductible_bp__lte=10000), name="expense_deductible_bp_max"
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.description}"

    @property
    def deductible_cents(self) -> int:
        """What the expense deducts from the IRPF income (the 130, the expense list): base (or
        total) × deductible %; the recargo and the IGIC or IPSI paid are cost too, since the
        303 deducts none of them."""
        if not self.is_deductible:
            return 0
        if self.base_cents is None:
            amount = self.amount_cents
        else:
            amount = self.base_cents + self.surcharge_cents + self.other_tax_cents
        return share_cents(amount, self.deductible_bp)
